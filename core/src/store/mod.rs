//! The durable queue and the small key-value state, behind one trait.
//!
//! The store decides how events and state are kept: in one transaction per
//! append, in the order given, each with a sequence number that never repeats
//! for the life of the file. It does **not** decide when to send, retry or drop
//! anything: the engine does, and asks the store to carry it out.
//!
//! Delivery progress is kept per destination as a cursor, `acked_through`: the
//! highest sequence number that destination has finished with (delivered or
//! dropped). Events are sent in order, so everything at or below the cursor is
//! done for that destination, and a row is deleted once every destination's
//! cursor has passed it.
//!
//! # Several destinations
//!
//! Several destinations share the one queue: each has its own cursor and its
//! own claims, and nothing else is kept per destination. No row says which
//! destinations an event is for: routing (event names, call types, consent
//! categories) is decided by the engine when it sends, from the event
//! itself (its `type`, its name, the `context.consent.categoryPreferences`
//! stamped at the call, as in Segment's consent model), and an event a
//! destination does not take is passed by its cursor like a delivered one.
//! So the one-destination case writes exactly what it wrote before (no
//! column, no row per event and destination), and a second destination
//! costs one cursor row, not a new schema.
//!
//! What an event's JSON shares with others (its context) may be kept once
//! for all of them ([`compact`] decides the split): a store gives back
//! exactly the JSON it was given.
//!
//! Destinations are declared with [`Store::set_destinations`]: a name new to
//! the file starts at the slowest cursor (it receives every event still
//! queued), a name no longer declared is forgotten with its cursor (its
//! progress no longer keeps rows). Each drop over the caps or by age reports
//! what it took from each destination ([`Store::take_losses`]): the rows past
//! that destination's cursor.
//!
//! Claims are held in memory: [`Store::claim`] hands out the next events after
//! the cursor *and* after anything already claimed, so a batch is never handed
//! out twice while it is in flight. A claim is given back with
//! [`Store::release`] (to be sent again) or settled with [`Store::ack`]. A
//! crash forgets claims, so everything past the cursor is sent again: that is
//! the at-least-once half of the promise, and the message id makes the
//! duplicate harmless.

use crate::prelude::*;

#[cfg(feature = "native")]
mod checkpoint;
#[cfg(feature = "native")]
mod commons;
pub mod compact;
#[cfg(feature = "native")]
mod generations;
#[cfg(feature = "native")]
pub mod inspect;
#[cfg(feature = "std")]
mod memory;
#[cfg(feature = "native")]
mod recent;
#[cfg(feature = "native")]
mod reopening;
#[cfg(feature = "native")]
mod row_sizes;
#[cfg(feature = "native")]
mod salvage;
#[cfg(feature = "native")]
mod sqlite;
#[cfg(feature = "native")]
mod sqlite_error;

#[cfg(feature = "std")]
pub use memory::MemoryStore;
#[cfg(feature = "native")]
pub use reopening::ReopeningStore;
#[cfg(feature = "native")]
pub use sqlite::{SqliteStore, LOWEST_CURSOR};

/// The one destination of the first version.
pub const DEFAULT_DESTINATION: &str = "default";

/// An event ready to be stored: encoded for the wire, identity applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's message id (its dedup key on the backend).
    pub message_id: String,
    /// Wall-clock milliseconds since the epoch at which the app recorded it.
    pub created_ms: i64,
    /// The event as JSON, exactly as it goes inside a batch.
    pub json: String,
}

/// An event as stored, with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the queue; strictly increasing in recording order.
    pub seq: u64,
    /// The event's message id.
    pub message_id: String,
    /// Wall-clock milliseconds at which the app recorded it.
    pub created_ms: i64,
    /// The event as JSON.
    pub json: String,
}

/// Counts over everything stored (claimed or not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSummary {
    /// Events stored.
    pub events: u64,
    /// Sum of their JSON sizes in bytes.
    pub bytes: u64,
    /// Recording time of the oldest, if any.
    pub oldest_created_ms: Option<i64>,
    /// The highest sequence number ever given out (0 for a new store).
    pub last_seq: u64,
}

/// What a drop removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Events removed.
    pub events: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What one drop removed of one destination's events: the rows it had not
/// finished with (past its cursor). Several destinations need the `lanes`
/// feature (the default browser build delivers to one).
#[cfg(feature = "lanes")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    /// The destination's name.
    pub destination: String,
    /// The rows removed past its cursor, events and bytes: what leaves its
    /// queue.
    pub removed: Removed,
    /// Of those, the events its routing takes (see
    /// [`Store::set_routing`]): the events it lost, counted as its drops.
    /// The others were never going to it.
    pub routed_events: u64,
}

/// A repair a store made on its own (a corrupt file moved aside and what
/// could be read salvaged, a deleted file re-created), reported once through
/// [`Store::take_repair`] so the engine can count the loss and show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Queued events the repair could not save: counted dropped `corrupt`.
    pub lost: u64,
    /// What happened and where the old file went, for `stats().last_error`.
    pub message: String,
}

/// A failure of the storage medium, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The disk or the file system refused a write (full, read-only, gone).
    Write(String),
    /// The file is not a usable database (corrupt, or not cairn's).
    Corrupt(String),
    /// Another process holds the file's lock longer than the busy timeout.
    Busy(String),
    /// Anything else the store could not do.
    Other(String),
}

impl StoreError {
    /// The error's text, as `Display` writes it (built without the
    /// formatting machinery, which the browser build does not carry).
    pub fn message(&self) -> String {
        let (what, detail) = match self {
            StoreError::Write(d) => ("storage write failed: ", d),
            StoreError::Corrupt(d) => ("storage file is corrupt: ", d),
            StoreError::Busy(d) => ("storage file is locked by another process: ", d),
            StoreError::Other(d) => ("storage error: ", d),
        };
        crate::cat!(what, detail.as_str())
    }
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl core::error::Error for StoreError {}

/// The durable queue and key-value state. Implemented by [`SqliteStore`]
/// (native), [`MemoryStore`] (tests, and a fallback) and the browser build's
/// own store.
pub trait Store {
    /// Appends `events` in order and applies `state` changes (`None` deletes
    /// the key), all in one transaction. Returns the sequence number of the
    /// last event appended (or the current last one if `events` is empty).
    fn append(
        &mut self,
        events: &[NewEvent],
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError>;

    /// [`append`](Self::append), handing the events over: a store that keeps
    /// the newest rows in memory takes them rather than copying them. On
    /// success `events` may be left empty; on failure it is as it was.
    fn append_owned(
        &mut self,
        events: &mut Vec<NewEvent>,
        state: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.append(events, state)
    }

    /// Claims the next events for `destination`, in order: at most
    /// `max_events`, and no more than `max_bytes` of JSON except that the
    /// first event is always included. Events already claimed and not
    /// released are skipped.
    fn claim(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// [`claim`](Self::claim), as a batch other destinations may share: a
    /// store that keeps recent claims answers a destination whose cursor
    /// meets one of them with the same rows (same events, same order, not
    /// copied). By default, a claim of its own.
    #[cfg(feature = "native")]
    fn claim_shared(
        &mut self,
        destination: &str,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<Claimed, StoreError> {
        self.claim(destination, max_events, max_bytes)
            .map(alloc::sync::Arc::new)
    }

    /// Gives back every claim of `destination` so those events are claimed again.
    fn release(&mut self, destination: &str);

    /// Marks `destination` done with every event up to `through_seq`, and
    /// deletes the rows no destination still needs. A store may hold the
    /// ack in memory until [`save_acks`](Store::save_acks) or its next
    /// append; claims, counts and reads see it at once either way.
    fn ack(&mut self, destination: &str, through_seq: u64) -> Result<(), StoreError>;

    /// Makes acks taken so far durable. A crash before that sends their
    /// events again (same message ids), as a lost ack would.
    fn save_acks(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Declares the destinations delivered to, by name. A name the store
    /// does not know yet starts at the slowest known cursor (it receives
    /// every event still queued); a known name not declared is forgotten
    /// with its cursor, and the rows only it still needed are deleted. One
    /// destination needs no declaration (its missing cursor is 0). A store
    /// that keeps one destination only refuses several (the default).
    #[cfg(feature = "lanes")]
    fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
        if names.len() > 1 {
            return Err(StoreError::Other(
                "this store keeps the progress of one destination only".into(),
            ));
        }
        Ok(())
    }

    /// The events past `destination`'s cursor and their bytes (read at start,
    /// when several destinations share the queue; with one it is the
    /// [`summary`](Self::summary)'s count).
    #[cfg(feature = "lanes")]
    fn pending(&mut self, destination: &str) -> Result<Removed, StoreError> {
        let _ = destination;
        let s = self.summary()?;
        Ok(Removed {
            events: s.events,
            bytes: s.bytes,
        })
    }

    /// What the last [`drop_oldest`](Self::drop_oldest) or
    /// [`drop_older_than`](Self::drop_older_than) removed of each declared
    /// destination's events, when more than one is declared (taken once);
    /// empty otherwise: with one destination the drop's [`Removed`] is its loss.
    #[cfg(feature = "lanes")]
    fn take_losses(&mut self) -> Vec<Loss> {
        Vec::new()
    }

    /// Which events `destination` takes, so that its [`Loss`]es count only
    /// its own events (the store reads the bodies of dropped rows for it).
    /// Without it, every row past its cursor is its own.
    #[cfg(feature = "lanes")]
    fn set_routing(&mut self, destination: &str, routing: &crate::routing::Routing) {
        let _ = (destination, routing);
    }

    /// Deletes the oldest unclaimed events until at most `keep_events` events
    /// and `keep_bytes` bytes are stored (claimed ones included in the count).
    fn drop_oldest(&mut self, keep_events: u64, keep_bytes: u64) -> Result<Removed, StoreError>;

    /// Deletes unclaimed events recorded before `cutoff_ms`.
    fn drop_older_than(&mut self, cutoff_ms: i64) -> Result<Removed, StoreError>;

    /// Deletes every event, claimed or not (opt-out, `forget()`).
    fn clear(&mut self) -> Result<Removed, StoreError>;

    /// Reads up to `max_events` events after `after_seq`, in order, without
    /// claiming them (for inspection and for listing ids before a purge).
    fn read(&mut self, after_seq: u64, max_events: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Called before a failing store is tried again: repairs what it can (a
    /// file deleted or replaced under it, a corrupt file). Returns how many
    /// queued events could not be saved (they stay in the moved-aside file),
    /// except those a store reports through [`take_repair`](Store::take_repair).
    fn recover(&mut self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// The repair this store made on its own since last asked (when opened,
    /// or in the middle of an append or a claim), if any; taken once. The
    /// engine asks after opening, after every append and after `recover`.
    fn take_repair(&mut self) -> Option<Repair> {
        None
    }

    /// Rewrites the file so that deleted content is gone from disk as well.
    fn compact(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Does up to `max_keys` of the cleanup the store put off so that
    /// deliveries go faster, and says whether some remains. The browser's
    /// store removes delivered events' keys this way once no upload is out;
    /// other stores put nothing off.
    fn tidy(&mut self, max_keys: usize) -> bool {
        let _ = max_keys;
        false
    }

    /// Counts what is stored.
    fn summary(&mut self) -> Result<QueueSummary, StoreError>;

    /// Counts up to `max_rows` more of the events that were queued when the
    /// store was opened, for a store that leaves that count for later
    /// (`SqliteStore::open_counting_later`); true once every one is in
    /// [`summary`](Self::summary). Stores that count as they open have
    /// nothing to do.
    fn count_backlog(&mut self, max_rows: usize) -> Result<bool, StoreError> {
        let _ = max_rows;
        Ok(true)
    }

    /// Reads one state value.
    fn get_state(&mut self, key: &str) -> Result<Option<String>, StoreError>;

    /// Checks that what the store keeps in memory about its contents (counts,
    /// cursors, claims, copies of rows) agrees with what it stored; `Err`
    /// names the first disagreement. The store contract runs it after every
    /// operation of a random workload ([`contract::run_ops`]). Tests only.
    #[cfg(any(test, feature = "store-contract"))]
    fn check_consistency(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// A claimed batch as the engine holds it until it is sent. Natively it is
/// shared: destinations whose claims meet send the same rows
/// ([`Store::claim_shared`]), and one that must leave some out works on its
/// own copy ([`claimed_mut`]). The browser holds a plain vector: its store
/// reads each destination's claims from `localStorage` on their own, and
/// the sharing would only add to the download.
#[cfg(feature = "native")]
pub type Claimed = alloc::sync::Arc<Vec<StoredEvent>>;

/// A claimed batch as the engine holds it until it is sent (the browser).
#[cfg(not(feature = "native"))]
pub type Claimed = Vec<StoredEvent>;

/// The rows of `batch` to change: a copy of its own if another destination
/// shares them.
pub fn claimed_mut(batch: &mut Claimed) -> &mut Vec<StoredEvent> {
    #[cfg(feature = "native")]
    return alloc::sync::Arc::make_mut(batch);
    #[cfg(not(feature = "native"))]
    batch
}

/// Keeps as many leading events as fit in `max_bytes` of JSON, always at
/// least one: what [`Store::claim`] does to the events it read, so a single
/// event larger than the budget still goes out rather than blocking the queue.
pub fn cut_to_bytes(events: &mut Vec<StoredEvent>, max_bytes: usize) {
    let mut total = 0usize;
    let mut keep = 0usize;
    for e in events.iter() {
        if keep > 0 && total + e.json.len() > max_bytes {
            break;
        }
        total += e.json.len();
        keep += 1;
    }
    events.truncate(keep);
}

#[cfg(any(test, feature = "store-contract"))]
pub mod contract {
    //! Behaviour every [`Store`] must show, as checks that panic on the first
    //! violation: run against each implementation, this crate's and those
    //! written elsewhere (the browser's). Built for tests only (the
    //! `store-contract` feature); each check wants a fresh, empty store.
    use super::*;

    /// Event `i`: message id `m{i}`, created at `1000 + i` ms, 8 bytes of JSON
    /// for `i` below 10.
    pub fn ev(i: u32) -> NewEvent {
        NewEvent {
            message_id: format!("m{i}"),
            created_ms: 1_000 + i64::from(i),
            json: format!("{{\"n\":{i}}}"),
        }
    }

    /// Event `i` (message id `r{i}`, created at `1000 + i` ms) as the
    /// recorder writes it (see [`compact`]): `head` (an object not closed),
    /// its middle, then `context`.
    pub fn recorded(i: u32, head: &str, context: &str) -> NewEvent {
        let message_id = format!("r{i}");
        let created_ms = 1_000 + i64::from(i);
        let mut middle = String::new();
        compact::write_middle(&mut middle, &message_id, created_ms);
        NewEvent {
            json: format!("{head}{middle},\"context\":{context}}}"),
            message_id,
            created_ms,
        }
    }

    /// Event `i` as the recorder writes it: its context changes every 6
    /// events, and every 7th has one of its own, so a store that shares
    /// contexts makes, reuses and lets go of them.
    pub fn shaped_ev(i: u32) -> NewEvent {
        let context = if i % 7 == 3 { i } else { i / 6 % 3 };
        let pad = "x".repeat((i % 7) as usize * 5);
        recorded(
            i,
            &format!("{{\"n\":{i},\"pad\":\"{pad}\""),
            &format!("{{\"c\":{context}}}"),
        )
    }

    /// Claims hand out events in order and never twice while claimed; acks delete, releases give back; sequence numbers are never reused.
    pub fn append_claim_ack(store: &mut dyn Store) {
        let last = store
            .append(&(1..=5).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        assert_eq!(last, 5);
        let b1 = store.claim(DEFAULT_DESTINATION, 2, 10_000).unwrap();
        assert_eq!(
            b1.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(),
            ["m1", "m2"]
        );
        // A claimed batch is not handed out again while it is claimed.
        let b2 = store.claim(DEFAULT_DESTINATION, 2, 10_000).unwrap();
        assert_eq!(
            b2.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(),
            ["m3", "m4"]
        );
        store.ack(DEFAULT_DESTINATION, b1[1].seq).unwrap();
        assert_eq!(store.summary().unwrap().events, 3);
        // Released events come back, in order.
        store.release(DEFAULT_DESTINATION);
        let b3 = store.claim(DEFAULT_DESTINATION, 10, 10_000).unwrap();
        assert_eq!(
            b3.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(),
            ["m3", "m4", "m5"]
        );
        store.ack(DEFAULT_DESTINATION, b3[2].seq).unwrap();
        let s = store.summary().unwrap();
        assert_eq!((s.events, s.bytes, s.last_seq), (0, 0, 5));
        // Sequence numbers are never reused, even after the queue emptied.
        assert_eq!(store.append(&[ev(6)], &[]).unwrap(), 6);
    }

    /// A claim keeps within its byte budget but always takes the first event.
    pub fn byte_cap_keeps_first(store: &mut dyn Store) {
        store
            .append(&(1..=3).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let b = store.claim(DEFAULT_DESTINATION, 10, 1).unwrap();
        assert_eq!(b.len(), 1, "the first event always fits");
        let b = store.claim(DEFAULT_DESTINATION, 10, 16).unwrap();
        assert_eq!(b.len(), 2, "two 8-byte events fit in 16");
    }

    /// Dropping the oldest, by count or by age, leaves events in flight alone.
    pub fn drops_skip_claimed(store: &mut dyn Store) {
        store
            .append(&(1..=10).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let claimed = store.claim(DEFAULT_DESTINATION, 2, 10_000).unwrap();
        let r = store.drop_oldest(6, u64::MAX).unwrap();
        assert_eq!(r.events, 4);
        store.release(DEFAULT_DESTINATION);
        let left = store.claim(DEFAULT_DESTINATION, 100, 100_000).unwrap();
        let ids: Vec<_> = left.iter().map(|e| e.message_id.as_str()).collect();
        assert_eq!(
            ids,
            ["m1", "m2", "m7", "m8", "m9", "m10"],
            "claimed {claimed:?} kept, oldest unclaimed dropped"
        );
        store.release(DEFAULT_DESTINATION);
        let r = store.drop_older_than(1_008).unwrap();
        assert_eq!(r.events, 3, "m1, m2, m7 are older than 1008");
    }

    /// The second destination of the checks with several.
    pub const SECOND: &str = "second";

    fn ids(events: &[StoredEvent]) -> Vec<&str> {
        events.iter().map(|e| e.message_id.as_str()).collect()
    }

    /// Two destinations share the queue: each claims every event in order on
    /// its own, a row goes once both are done with it, a drop says whose
    /// events it took, a destination no longer declared holds no rows, and
    /// one new to the store receives what is still queued.
    pub fn two_destinations(store: &mut dyn Store) {
        store
            .set_destinations(&[DEFAULT_DESTINATION, SECOND])
            .unwrap();
        store
            .append(&(1..=6).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        let a = store.claim(DEFAULT_DESTINATION, 10, 10_000).unwrap();
        assert_eq!(ids(&a), ["m1", "m2", "m3", "m4", "m5", "m6"]);
        let b = store.claim(SECOND, 2, 10_000).unwrap();
        assert_eq!(ids(&b), ["m1", "m2"], "each destination claims on its own");
        store.ack(DEFAULT_DESTINATION, 6).unwrap();
        assert_eq!(
            store.summary().unwrap().events,
            6,
            "the second destination still needs them"
        );
        store.ack(SECOND, 2).unwrap();
        assert_eq!(store.summary().unwrap().events, 4);
        store.save_acks().unwrap();
        let b = store.claim(SECOND, 1, 10_000).unwrap();
        assert_eq!(ids(&b), ["m3"]);
        // The oldest not in flight go (m4), and only the second had not
        // finished with it.
        let r = store.drop_oldest(3, u64::MAX).unwrap();
        assert_eq!(r.events, 1);
        let losses: Vec<(String, u64)> = store
            .take_losses()
            .into_iter()
            .map(|l| (l.destination, l.removed.events))
            .collect();
        assert_eq!(
            losses,
            [
                (DEFAULT_DESTINATION.to_string(), 0),
                (SECOND.to_string(), 1)
            ]
        );
        assert!(store.take_losses().is_empty(), "reported once");
        store.release(SECOND);
        let b = store.claim(SECOND, 10, 10_000).unwrap();
        assert_eq!(ids(&b), ["m3", "m5", "m6"]);
        // Forgotten: its progress no longer keeps rows.
        store.set_destinations(&[DEFAULT_DESTINATION]).unwrap();
        assert_eq!(store.summary().unwrap().events, 0);
        store
            .append(&(7..=8).map(ev).collect::<Vec<_>>(), &[])
            .unwrap();
        // New to the store: starts where the slowest stands.
        store
            .set_destinations(&[DEFAULT_DESTINATION, SECOND])
            .unwrap();
        assert_eq!(ids(&store.claim(SECOND, 10, 10_000).unwrap()), ["m7", "m8"]);
        assert_eq!(
            ids(&store.claim(DEFAULT_DESTINATION, 10, 10_000).unwrap()),
            ["m7", "m8"]
        );
        store.ack(SECOND, 8).unwrap();
        assert_eq!(store.summary().unwrap().events, 2);
        store.ack(DEFAULT_DESTINATION, 8).unwrap();
        assert_eq!(store.summary().unwrap().events, 0);
    }

    /// One step of a random workload for [`run_ops`].
    #[derive(Debug, Clone)]
    pub enum Op {
        /// Appends this many events (JSON of varied sizes), with a state change.
        Append(u8),
        /// Claims for the default destination.
        Claim {
            /// At most this many events.
            max_events: usize,
            /// About this many bytes (the first event always).
            max_bytes: usize,
        },
        /// Gives back the claims.
        Release,
        /// Acks through the last event of the last claim.
        AckClaim,
        /// Acks through the first event of the last claim (part of a batch,
        /// as after a 413 split).
        AckPart,
        /// Saves the acks taken.
        SaveAcks,
        /// Drops the oldest unclaimed events down to these caps.
        DropOldest {
            /// Events to keep at most.
            keep_events: u64,
            /// Bytes to keep at most.
            keep_bytes: u64,
        },
        /// Drops unclaimed events recorded before this time (events are
        /// recorded at 1,000 ms plus their number).
        DropOlderThan(i64),
        /// Deletes everything.
        Clear,
        /// Reads events without claiming them.
        Read,
        /// Counts up to this many more rows of a backlog left uncounted.
        CountBacklog(usize),
        /// Rewrites the file.
        Compact,
        /// The next operations act for the next destination declared (with
        /// [`run_ops_on`]; with one, nothing changes).
        Switch,
    }

    /// A fixed workload over two destinations ([`run_ops_on`]): claims,
    /// partial acks, drops by caps and age, releases and a clear, switching
    /// between the two, so each store's per-destination cursors, claims and
    /// losses are checked against what it gives back.
    pub fn two_destinations_workload(store: &mut dyn Store) {
        let claim = |n| Op::Claim {
            max_events: n,
            max_bytes: 10_000,
        };
        let ops = [
            Op::Append(9),
            claim(4),
            Op::AckClaim,
            Op::Switch,
            claim(2),
            Op::DropOldest {
                keep_events: 3,
                keep_bytes: u64::MAX,
            },
            Op::AckPart,
            Op::Switch,
            Op::Append(4),
            Op::DropOlderThan(1_012),
            claim(20),
            Op::AckClaim,
            Op::Switch,
            Op::Release,
            claim(20),
            Op::AckClaim,
            Op::Clear,
            Op::Append(3),
            claim(1),
            Op::AckClaim,
        ];
        run_ops_on(store, &[DEFAULT_DESTINATION, SECOND], &ops);
    }

    /// Runs `ops` against `store` and, after each, checks the store's
    /// consistency ([`Store::check_consistency`]) and that its counts match
    /// the events it gives back; panics naming the step on the first miss.
    pub fn run_ops(store: &mut dyn Store, ops: &[Op]) {
        run_ops_on(store, &[DEFAULT_DESTINATION], ops);
    }

    /// [`run_ops`] with `destinations` declared first; [`Op::Switch`] moves
    /// the claims and acks that follow to the next one.
    pub fn run_ops_on(store: &mut dyn Store, destinations: &[&str], ops: &[Op]) {
        store.set_destinations(destinations).unwrap();
        let mut next = 0u32;
        let mut current = 0usize;
        let mut last_claims: Vec<Vec<StoredEvent>> = vec![Vec::new(); destinations.len()];
        // Each destination's floor as the contract states it: past its acks
        // and its claims not given back.
        let mut acked = vec![0u64; destinations.len()];
        let mut claimed_through = vec![0u64; destinations.len()];
        for (step, op) in ops.iter().enumerate() {
            let dest = destinations[current];
            let last_claim = &mut last_claims[current];
            match op {
                Op::Append(n) => {
                    let events: Vec<NewEvent> = (0..*n)
                        .map(|_| {
                            next += 1;
                            shaped_ev(next)
                        })
                        .collect();
                    store
                        .append(
                            &events,
                            &[(format!("k{}", next % 3), Some(next.to_string()))],
                        )
                        .unwrap();
                }
                Op::Claim {
                    max_events,
                    max_bytes,
                } => {
                    let floor = acked[current].max(claimed_through[current]);
                    let claimed = store.claim(dest, *max_events, *max_bytes).unwrap();
                    // The claim is the next events after the floor, in order
                    // (a store that shares claims between destinations too).
                    if !claimed.is_empty() {
                        let next = store.read(floor, claimed.len()).unwrap();
                        assert_eq!(
                            claimed, next,
                            "step {step}: {dest}'s claim after {floor} is not the next events, in {ops:?}"
                        );
                        assert!(claimed.len() <= *max_events);
                        claimed_through[current] = claimed.last().map_or(0, |e| e.seq);
                        *last_claim = claimed;
                    }
                }
                Op::Release => {
                    store.release(dest);
                    claimed_through[current] = 0;
                }
                Op::AckClaim => {
                    if let Some(e) = last_claim.last() {
                        store.ack(dest, e.seq).unwrap();
                        acked[current] = acked[current].max(e.seq);
                    }
                }
                Op::AckPart => {
                    if let Some(e) = last_claim.first() {
                        store.ack(dest, e.seq).unwrap();
                        acked[current] = acked[current].max(e.seq);
                    }
                }
                Op::SaveAcks => store.save_acks().unwrap(),
                Op::DropOldest {
                    keep_events,
                    keep_bytes,
                } => {
                    let r = store.drop_oldest(*keep_events, *keep_bytes).unwrap();
                    check_losses(store, destinations, r, step);
                    // Within the caps now, or nothing left that it could drop:
                    // every event left is in a claim still out.
                    let s = store.summary().unwrap();
                    if s.events > *keep_events || s.bytes > *keep_bytes {
                        let out = (0..destinations.len())
                            .filter(|&d| claimed_through[d] > acked[d])
                            .map(|d| claimed_through[d])
                            .max()
                            .unwrap_or(0);
                        let left = store.read(0, usize::MAX >> 1).unwrap();
                        assert!(
                            left.iter().all(|e| e.seq <= out),
                            "step {step}: over the caps after a drop, with events after the claims out ({out}) left: {ops:?}"
                        );
                    }
                }
                Op::DropOlderThan(cutoff) => {
                    let r = store.drop_older_than(*cutoff).unwrap();
                    check_losses(store, destinations, r, step);
                }
                Op::Clear => {
                    store.clear().unwrap();
                }
                Op::Read => {
                    store.read(0, 10).unwrap();
                }
                Op::CountBacklog(rows) => {
                    store.count_backlog(*rows).unwrap();
                }
                Op::Compact => store.compact().unwrap(),
                Op::Switch => current = (current + 1) % destinations.len(),
            }
            if let Err(e) = store.check_consistency() {
                panic!("after step {step} ({op:?}) of {ops:?}: {e}");
            }
        }
        // The counts the store keeps are the events it gives back.
        store.count_backlog(usize::MAX).unwrap();
        let s = store.summary().unwrap();
        let all = store.read(0, usize::MAX >> 1).unwrap();
        assert_eq!(
            (s.events, s.bytes),
            (
                all.len() as u64,
                all.iter().map(|e| e.json.len() as u64).sum::<u64>()
            ),
            "summary against the stored events after {ops:?}"
        );
        assert!(all.last().is_none_or(|e| e.seq <= s.last_seq));
    }

    /// With several destinations, a drop reports each one's loss: none more
    /// than the drop removed, and the slowest lost all of it (every row left
    /// in the store is past the slowest cursor).
    fn check_losses(store: &mut dyn Store, destinations: &[&str], r: Removed, step: usize) {
        let losses = store.take_losses();
        if destinations.len() < 2 {
            assert!(
                losses.is_empty(),
                "step {step}: losses with one destination"
            );
            return;
        }
        if r.events == 0 {
            return;
        }
        assert_eq!(losses.len(), destinations.len(), "step {step}: {losses:?}");
        assert!(
            losses
                .iter()
                .all(|l| l.removed.events <= r.events && l.removed.bytes <= r.bytes),
            "step {step}: {losses:?} against {r:?}"
        );
        assert_eq!(
            losses.iter().map(|l| l.removed.events).max(),
            Some(r.events),
            "step {step}: the slowest lost every row: {losses:?} against {r:?}"
        );
    }

    /// State values are written, read back and removed.
    pub fn state_roundtrip(store: &mut dyn Store) {
        store
            .append(
                &[],
                &[
                    ("a".into(), Some("1".into())),
                    ("b".into(), Some("2".into())),
                ],
            )
            .unwrap();
        store.append(&[], &[("b".into(), None)]).unwrap();
        assert_eq!(store.get_state("a").unwrap().as_deref(), Some("1"));
        assert_eq!(store.get_state("b").unwrap(), None);
    }
}
