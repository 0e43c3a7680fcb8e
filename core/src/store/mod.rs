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
//! cursor has passed it. One destination exists today; a second is one more
//! cursor, not a new schema.
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
pub mod inspect;
#[cfg(feature = "std")]
mod memory;
#[cfg(feature = "native")]
mod recent;
#[cfg(feature = "native")]
mod reopening;
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
pub use sqlite::SqliteStore;

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
    }

    /// Runs `ops` against `store` and, after each, checks the store's
    /// consistency ([`Store::check_consistency`]) and that its counts match
    /// the events it gives back; panics naming the step on the first miss.
    pub fn run_ops(store: &mut dyn Store, ops: &[Op]) {
        let mut next = 0u32;
        let mut last_claim: Vec<StoredEvent> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Append(n) => {
                    let events: Vec<NewEvent> = (0..*n)
                        .map(|_| {
                            next += 1;
                            NewEvent {
                                message_id: format!("r{next}"),
                                created_ms: 1_000 + i64::from(next),
                                json: format!(
                                    "{{\"n\":{next},\"pad\":\"{}\"}}",
                                    "x".repeat((next % 7) as usize * 5)
                                ),
                            }
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
                    let claimed = store
                        .claim(DEFAULT_DESTINATION, *max_events, *max_bytes)
                        .unwrap();
                    if !claimed.is_empty() {
                        last_claim = claimed;
                    }
                }
                Op::Release => store.release(DEFAULT_DESTINATION),
                Op::AckClaim => {
                    if let Some(e) = last_claim.last() {
                        store.ack(DEFAULT_DESTINATION, e.seq).unwrap();
                    }
                }
                Op::AckPart => {
                    if let Some(e) = last_claim.first() {
                        store.ack(DEFAULT_DESTINATION, e.seq).unwrap();
                    }
                }
                Op::SaveAcks => store.save_acks().unwrap(),
                Op::DropOldest {
                    keep_events,
                    keep_bytes,
                } => {
                    store.drop_oldest(*keep_events, *keep_bytes).unwrap();
                }
                Op::DropOlderThan(cutoff) => {
                    store.drop_older_than(*cutoff).unwrap();
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
