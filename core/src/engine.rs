//! The engine: every rule about batching, sending, retrying, splitting,
//! dropping and ordering, as a state machine with no threads, sockets or
//! clock of its own.
//!
//! Inputs go in ([`Engine::record`], [`Engine::flush`],
//! [`Engine::on_upload_result`]), requests come out ([`Engine::poll_upload`]),
//! and [`Engine::next_wakeup`] says when the engine next has something to do.
//! Time is always passed in as `now_ms`, the clock the engine's timers
//! (flush interval, backoff, storage retries) run on: a runtime passes a
//! monotonic clock, so setting the wall clock never stalls a retry. What an
//! event or request says about time (`sentAt`, expiry by age, an HTTP-date
//! `Retry-After`, ages in stats) is read from the wall clock given with
//! [`Engine::set_wall_clock`] (without one, `now_ms` serves as both, as in
//! tests). The engine talks to its
//! [`Store`] synchronously; the store is the only thing it touches.
//!
//! The rules, each written once here:
//! - A batch is sent when `flush_at` events are queued, when a full batch of
//!   `max_batch_bytes` is queued, when the first queued event has waited
//!   `flush_interval`, on `flush()`, or at start-up when a backlog is found.
//! - Each destination has its own delivery state machine (a lane): its
//!   cursor, batch limits, backoff, retry and split state, routing and drop
//!   counts. One upload is in flight at a time per destination, so events go
//!   out to each in recording order and the same events are never on the
//!   wire twice at once to one destination; a destination that is down
//!   holds back only its own lane. A row leaves the buffer once every
//!   destination is done with it (delivered, dropped, or passed over by its
//!   routing, `crate::routing`).
//! - With one destination the engine writes, counts and reports exactly as
//!   before there were several (`stats().destinations` stays empty).
//! - A failed batch is retried before anything newer is sent, after a
//!   backoff with full jitter: within `retry_base_delay` for the first
//!   [`RETRY_STEADY_FAILURES`] failures in a row, doubling after that, capped
//!   at `max_retry_delay`. A server's `Retry-After` is the wait, exactly
//!   (floored at [`MIN_RETRY_DELAY`], capped), and does not grow the window.
//! - 413 splits the batch in halves, down to one event, which is then dropped
//!   as `oversize`. A 400 (an event the backend cannot read) splits the same
//!   way until the refused events are alone: they are dropped as `rejected`,
//!   the rest is delivered, and once past the refused ones batches grow back
//!   (doubling) to full size. Other permanent refusals drop the batch as
//!   `rejected`; 401/403 stop uploads and keep every event.
//! - A batch answered 5xx [`POISON_SUSPECT_AFTER`] times in a row goes in
//!   halves (after the backoff) down to one event; that event is then
//!   suspect, and the server is probed with an upload of no events before
//!   each next try of it. Probes answered (not 5xx) after each of
//!   [`POISON_CONFIRMATIONS`] more failures prove it a poison event: it is
//!   dropped as `rejected` and the queue goes on. A probe answered 5xx, or
//!   not at all, clears the suspicion: the server is down. The search (the
//!   count, the batch limit, the suspect) is kept with the lane's delivery
//!   state and taken up again after a restart (native builds).
//! - Splitting keeps order: the pieces are the queue's front, one upload at
//!   a time, so events still arrive in recording order, less the refused.
//! - A backend that names the refused events of a batch (Amplitude's 400)
//!   has only those dropped as `rejected`; the rest of the batch is sent
//!   again at once. One that names throttled users or devices (Amplitude's
//!   429) has their events wait out the backoff while the rest of the batch
//!   is sent at once; newer events wait behind the held ones, so each
//!   device's order is kept. Events settled this way ahead of the cursor are
//!   remembered in memory and left out of later claims until the cursor
//!   passes them (`engine_ahead.rs`; after a crash they are sent again,
//!   with the same ids).
//! - Over `max_queue_events` / `max_queue_bytes` the oldest unsent events go
//!   (`overflow`); events older than `max_event_age` go before being sent
//!   (`expired`). The caps hold for the whole file; each destination counts
//!   the removed events it had not finished with.
//! - A consent category revoked purges the queue of the destinations that
//!   need it (`purge_for_category`), counted `consent` for each; the others
//!   keep theirs.
//! - When the store fails, new events are held in memory (bounded, overflow
//!   counted) and written once the store works again, in order.

use crate::prelude::*;

use alloc::collections::VecDeque;
use core::time::Duration;

use crate::cat;
use crate::config::{Config, RETRY_BACKOFF_FACTOR, RETRY_STEADY_FAILURES};
use crate::json::Json;
#[cfg(feature = "lanes")]
use crate::routing::Routing;
#[cfg(feature = "lanes")]
use crate::stats::DestinationStats;
use crate::stats::{
    DropCounts, DropReason, Stats, StorageState, DELIVERY_STATE_KEY, DROPS_STATE_KEY,
};
use crate::store::{NewEvent, Removed, Store, StoreError, DEFAULT_DESTINATION};
use crate::wire::{HttpRequest, HttpResponse, Outcome, Wire};

/// Most events held in memory while the store fails.
pub const MEMORY_FALLBACK_EVENTS: usize = 10_000;
/// Most bytes held in memory while the store fails: 8 MiB.
pub const MEMORY_FALLBACK_BYTES: usize = 8 * 1024 * 1024;
/// How often a failing store is tried again: every 5 s.
pub const STORAGE_RETRY_INTERVAL: Duration = Duration::from_secs(5);
/// The shortest wait before a retry, whatever the jitter draws: 100 ms.
pub const MIN_RETRY_DELAY: Duration = Duration::from_millis(100);
/// 5xx answers in a row to the batch at the head of a destination's queue
/// before it is sent in halves, and to a lone event before the server is
/// probed without it (see [`POISON_CONFIRMATIONS`]): 5.
pub const POISON_SUSPECT_AFTER: u32 = 5;
/// Probes without the suspect event (an upload of no events) that the
/// server must answer with anything but a 5xx, each after the event alone
/// was answered 5xx again, before the event is dropped as one the server
/// cannot take (counted `rejected`): 5. A server that answers 5xx at random
/// (30% of requests) drops a good event this way about once in 300,000
/// lone-event batches; one that is down answers the probes 5xx too, and
/// nothing is dropped.
pub const POISON_CONFIRMATIONS: u32 = 5;
/// Expired events are looked for at most this often: every 60 s.
pub const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The settings the engine acts on, taken from a [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// See [`Config::flush_at`].
    pub flush_at: usize,
    /// See [`Config::flush_interval`], in ms.
    pub flush_interval_ms: u64,
    /// See [`Config::max_batch_events`].
    pub max_batch_events: usize,
    /// See [`Config::max_batch_bytes`].
    pub max_batch_bytes: usize,
    /// See [`Config::retry_base_delay`], in ms.
    pub retry_base_ms: u64,
    /// See [`Config::max_retry_delay`], in ms.
    pub retry_max_ms: u64,
    /// See [`Config::max_queue_events`].
    pub max_queue_events: u64,
    /// See [`Config::max_queue_bytes`].
    pub max_queue_bytes: u64,
    /// See [`Config::max_event_age`], in ms.
    pub max_event_age_ms: u64,
}

impl From<&Config> for EngineConfig {
    fn from(c: &Config) -> Self {
        EngineConfig {
            flush_at: c.flush_at,
            flush_interval_ms: c.flush_interval.as_millis() as u64,
            max_batch_events: c.max_batch_events,
            max_batch_bytes: c.max_batch_bytes,
            retry_base_ms: c.retry_base_delay.as_millis() as u64,
            retry_max_ms: c.max_retry_delay.as_millis() as u64,
            max_queue_events: c.max_queue_events,
            max_queue_bytes: c.max_queue_bytes,
            max_event_age_ms: c.max_event_age.as_millis() as u64,
        }
    }
}

/// An upload for the runtime to perform; answer it with
/// [`Engine::on_upload_result`] and the same `id`.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Matches the result to this upload.
    pub id: u64,
    /// Which destination it goes to: its position in the engine's list (0
    /// with one). Uploads of different destinations may be on the wire at
    /// once; a runtime sends each destination's on its own, so a slow one
    /// never holds up another.
    pub destination: usize,
    /// What to send.
    pub request: HttpRequest,
    /// How many events it carries.
    pub events: usize,
    /// Natively: this is the upload handed over earlier by
    /// [`Engine::prepare_next`] with this `id` (its `request` is then left
    /// empty): send that one now.
    #[cfg(feature = "native")]
    pub prepared: bool,
}

/// An upload encoded ahead, waiting for the answer before it. Its send
/// time is written by the runtime as it leaves ([`HttpRequest::sent_at`]),
/// so it may wait any time.
#[cfg(feature = "native")]
#[derive(Debug)]
struct Prepared {
    flight: InFlight,
    events: usize,
}

/// Whether recorded events reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Committed; the value is the sequence number of the last one.
    Durable(u64),
    /// Held in memory because the store is failing; written later.
    InMemory,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    /// Its events were purged while on the wire: settle without counting.
    purged: bool,
    /// An upload of no events, asking whether the server answers without
    /// the suspect event ([`Suspect`]).
    probe: bool,
    last_seq: u64,
    events: u64,
    bytes: u64,
    /// Events of the claim its routing passed over (not for this
    /// destination): `(seq, bytes)`, passed by the cursor with the batch.
    #[cfg(feature = "lanes")]
    skipped: Vec<(u64, u64)>,
    /// How many events the claim held (those left out as settled included):
    /// a resend of the same range claims as many.
    #[cfg(feature = "wire-amplitude")]
    claimed: usize,
    /// Sequence number and size of each event sent, in batch order: what a
    /// position in a per-event answer refers to.
    #[cfg(feature = "wire-amplitude")]
    sent: Vec<(u64, u64)>,
}

impl InFlight {
    /// Upload `id` of `events`, the last `last_seq`: what is left of a claim
    /// of `claimed` events once its routing passed over `skipped`.
    fn batch(
        id: u64,
        last_seq: u64,
        events: &[crate::store::StoredEvent],
        #[cfg(feature = "lanes")] skipped: Vec<(u64, u64)>,
        #[cfg(feature = "wire-amplitude")] claimed: usize,
    ) -> InFlight {
        InFlight {
            id,
            purged: false,
            probe: false,
            last_seq,
            events: events.len() as u64,
            bytes: events.iter().map(|e| e.json.len() as u64).sum(),
            #[cfg(feature = "lanes")]
            skipped,
            #[cfg(feature = "wire-amplitude")]
            claimed,
            #[cfg(feature = "wire-amplitude")]
            sent: events
                .iter()
                .map(|e| (e.seq, e.json.len() as u64))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SplitLimit {
    max_events: usize,
    until_seq: u64,
    /// Whether batches may grow back once past `refused_through` (while
    /// looking for events a 400 refused; not after a 413, whose batches are
    /// too large as a whole).
    grow: bool,
    /// The last event of the latest batch refused with a 400: a refused
    /// event lies at or before it.
    refused_through: u64,
}

/// A lone event the server answered 5xx to [`POISON_SUSPECT_AFTER`] times
/// in a row: before each next try the server is probed without it. Kept in
/// the lane's delivery state with the count and the batch limit that led
/// to it (native builds, `engine_search.rs`), so an app that runs a few
/// seconds at a time still gets to the proof over several runs.
#[derive(Debug)]
struct Suspect {
    /// Its sequence number.
    seq: u64,
    /// The upload it last went out in; `None` after a restart until it
    /// has failed again (a probe counts only after it failed).
    flight: Option<InFlight>,
    /// Probes answered (not 5xx) since it became suspect, each after it
    /// failed again.
    confirmed: u32,
    /// The next upload is a probe.
    probe_next: bool,
}

/// One destination the engine delivers to: its name (its cursor's in the
/// store), its wire, its routing and its batch limits.
pub struct Target {
    /// The name its delivery progress is kept under.
    pub name: String,
    /// The format it speaks.
    pub wire: Box<dyn Wire>,
    /// Which events it takes (with `lanes`).
    #[cfg(feature = "lanes")]
    pub routing: Routing,
    /// Most events in one of its batches (at most the engine's `max_batch_events`).
    pub max_batch_events: usize,
    /// Most bytes in one of its batches (at most the engine's `max_batch_bytes`).
    pub max_batch_bytes: usize,
}

#[cfg(feature = "lanes")]
impl Target {
    /// The targets of `config`'s destinations, in order (its own first),
    /// each with its wire (compressing with `gzip`), routing and batch
    /// limit. A destination whose wire this build lacks (the config refuses
    /// it) speaks Segment.
    pub fn all_of(config: &Config, gzip: bool) -> Vec<Target> {
        config
            .destinations()
            .into_iter()
            .map(|d| Target {
                wire: d.wire(gzip).unwrap_or_else(|| {
                    Box::new(crate::wire::SegmentWire::new(&d.endpoint, &d.key, gzip))
                }),
                max_batch_events: d.max_batch_events.unwrap_or(config.max_batch_events),
                max_batch_bytes: config.max_batch_bytes,
                routing: d.routing,
                name: d.name,
            })
            .collect()
    }
}

/// The delivery state machine of one destination: its cursor, batch
/// limits, backoff and retry state. A destination that is down holds back
/// only its own lane.
struct Lane {
    /// Its name (with `lanes`; the default browser build's one lane is
    /// [`DEFAULT_DESTINATION`]).
    #[cfg(feature = "lanes")]
    name: String,
    wire: Box<dyn Wire>,
    #[cfg(feature = "lanes")]
    routing: Routing,
    max_batch_events: usize,
    max_batch_bytes: usize,
    /// Events past this lane's cursor, and their bytes, kept with several
    /// destinations (with one they are the engine's, the file's counts).
    #[cfg(feature = "lanes")]
    queued_events: u64,
    #[cfg(feature = "lanes")]
    queued_bytes: u64,
    acked_through: u64,
    waiting_since: Option<i64>,
    flush_through: u64,
    in_flight: Option<InFlight>,
    /// The batch after the one on the wire, claimed while it was there
    /// ([`Engine::claim_next`]): sent as soon as the answer comes.
    next_batch: Option<crate::store::Claimed>,
    /// Natively, the next batch encoded ahead ([`Engine::prepare_next`]).
    #[cfg(feature = "native")]
    prepared: Option<Prepared>,
    retry_at: Option<i64>,
    failures: u32,
    /// Of `failures`, those whose wait the server set with `Retry-After`:
    /// they do not grow the backoff window.
    paced_failures: u32,
    split: Option<SplitLimit>,
    /// 5xx answers in a row to the batch at the head of its queue.
    server_errors: u32,
    /// A lone event the server seems unable to take (see [`Suspect`]).
    suspect: Option<Suspect>,
    /// The store holds a search for a poison event (`server_errors`,
    /// `split` or `suspect`) for it: written again once that is over.
    search_saved: bool,
    halted: Option<String>,
    /// Events past the cursor settled or held by per-event answers.
    ahead: Ahead,
    /// A consent purge could not move its cursor in the store, or events
    /// held in memory (the store failing) were recorded before it: done
    /// when the store works again, and nothing is sent until then.
    #[cfg(feature = "lanes")]
    purge_on_recovery: bool,
    /// Ranges of sequence numbers `(first, last)` it received already
    /// from elsewhere (a browser tab that was gone, whose queue this one
    /// took over): its claims pass over them as over events its routing
    /// does not take, so they are not sent to it twice.
    #[cfg(feature = "lanes")]
    delivered_elsewhere: Vec<(u64, u64)>,
    /// Its drops and the events its routing passed over (with several).
    #[cfg(feature = "lanes")]
    dropped: DropCounts,
    delivered: u64,
    #[cfg(feature = "lanes")]
    skipped: u64,
    requests: u64,
    retries: u64,
    /// Its own last error and refusal, kept with several destinations (with
    /// one, the engine's are its).
    #[cfg(feature = "lanes")]
    last_error: Option<String>,
    #[cfg(feature = "lanes")]
    last_rejection: Option<String>,
}

impl Lane {
    /// The lane of `t`, its batch limits within the engine's.
    #[cfg(feature = "lanes")]
    fn new(t: Target, cfg: &EngineConfig) -> Self {
        let mut lane = Lane::with_wire(
            t.wire,
            t.max_batch_events.clamp(1, cfg.max_batch_events.max(1)),
            t.max_batch_bytes.clamp(1, cfg.max_batch_bytes.max(1)),
        );
        lane.name = t.name;
        lane.routing = t.routing;
        lane
    }

    /// The lane of the one destination [`DEFAULT_DESTINATION`], taking
    /// every event.
    #[allow(
        clippy::default_constructed_unit_structs,
        reason = "`Ahead` is a unit struct only without a per-event wire (the default browser package): one `default()` serves both"
    )]
    fn with_wire(wire: Box<dyn Wire>, max_batch_events: usize, max_batch_bytes: usize) -> Self {
        Lane {
            #[cfg(feature = "lanes")]
            name: DEFAULT_DESTINATION.to_string(),
            wire,
            #[cfg(feature = "lanes")]
            routing: Routing::default(),
            max_batch_events,
            max_batch_bytes,
            #[cfg(feature = "lanes")]
            queued_events: 0,
            #[cfg(feature = "lanes")]
            queued_bytes: 0,
            acked_through: 0,
            waiting_since: None,
            flush_through: 0,
            in_flight: None,
            next_batch: None,
            #[cfg(feature = "native")]
            prepared: None,
            retry_at: None,
            failures: 0,
            paced_failures: 0,
            split: None,
            server_errors: 0,
            suspect: None,
            search_saved: false,
            halted: None,
            ahead: Ahead::default(),
            #[cfg(feature = "lanes")]
            purge_on_recovery: false,
            #[cfg(feature = "lanes")]
            delivered_elsewhere: Vec::new(),
            #[cfg(feature = "lanes")]
            dropped: DropCounts::default(),
            delivered: 0,
            #[cfg(feature = "lanes")]
            skipped: 0,
            requests: 0,
            retries: 0,
            #[cfg(feature = "lanes")]
            last_error: None,
            #[cfg(feature = "lanes")]
            last_rejection: None,
        }
    }

    /// Its name, which its cursor is kept under.
    fn name(&self) -> &str {
        #[cfg(feature = "lanes")]
        {
            &self.name
        }
        #[cfg(not(feature = "lanes"))]
        DEFAULT_DESTINATION
    }

    /// Takes `events` and `bytes` off this lane's own queue count.
    #[cfg(feature = "lanes")]
    fn passed(&mut self, events: u64, bytes: u64) {
        self.queued_events -= events.min(self.queued_events);
        self.queued_bytes -= bytes.min(self.queued_bytes);
    }

    /// Forgets every queued event and the retry state (a purge).
    fn emptied(&mut self) {
        if let Some(f) = self.in_flight.as_mut() {
            f.purged = true;
        }
        #[cfg(feature = "lanes")]
        {
            self.delivered_elsewhere.clear();
            self.queued_events = 0;
            self.queued_bytes = 0;
        }
        self.waiting_since = None;
        self.retry_at = None;
        self.failures = 0;
        self.paced_failures = 0;
        self.split = None;
        self.server_errors = 0;
        self.suspect = None;
        self.ahead.clear();
        self.next_batch = None;
        #[cfg(feature = "native")]
        {
            self.prepared = None;
        }
    }

    /// Whether it holds a batch claimed after the one on the wire (read
    /// ahead, or prepared from it).
    fn claimed_ahead(&self) -> bool {
        #[cfg(feature = "native")]
        if self.prepared.is_some() {
            return true;
        }
        self.next_batch.is_some()
    }

    /// The state key of its delivery condition: `delivery` for the one
    /// default destination (as before there were several), else
    /// `delivery:<name>`.
    fn delivery_key(&self) -> String {
        #[cfg(feature = "lanes")]
        if self.name != DEFAULT_DESTINATION {
            return cat!(DELIVERY_STATE_KEY, ":", self.name.as_str());
        }
        DELIVERY_STATE_KEY.to_string()
    }

    /// The state key of its drop counts, kept with several destinations.
    #[cfg(feature = "lanes")]
    fn drops_key(&self) -> String {
        cat!(DROPS_STATE_KEY, ":", self.name.as_str())
    }
}

/// The sans-IO delivery engine: one buffer, one delivery state machine
/// (a lane) per destination.
pub struct Engine {
    cfg: EngineConfig,
    store: Box<dyn Store + Send>,
    lanes: Lanes,
    rng: u64,
    /// Events in the buffer file (any destination still needs them).
    queued_events: u64,
    queued_bytes: u64,
    last_seq: u64,
    next_expiry_check: i64,
    memory: VecDeque<NewEvent>,
    memory_bytes: usize,
    memory_state: Vec<(String, Option<String>)>,
    storage_error: Option<String>,
    storage_retry_at: i64,
    dropped: DropCounts,
    last_error: Option<String>,
    last_rejection: Option<String>,
    next_id: u64,
    wall_clock: Option<WallClock>,
    /// The store's backlog is still being counted (`load_backlog`).
    loading: bool,
    /// The last sequence number in the store at start: the backlog's end.
    backlog_last_seq: u64,
    /// Events appended while the backlog was being counted.
    appended_while_loading: u64,
}

/// The lanes: as many as destinations with `lanes` (native, and the
/// browser's `destinations` package); one in the default browser build,
/// which delivers to one (an array, so none of the code serving several
/// reaches the download).
#[cfg(feature = "lanes")]
type Lanes = Vec<Lane>;
#[cfg(not(feature = "lanes"))]
type Lanes = One;

/// The one lane of the browser build, with the few slice methods the engine
/// uses over lanes; its iterators are `once`, which compile to straight
/// code (the page is built for size, where loops are not unrolled).
#[cfg(not(feature = "lanes"))]
struct One(Lane);

#[cfg(not(feature = "lanes"))]
impl One {
    fn iter(&self) -> core::iter::Once<&Lane> {
        core::iter::once(&self.0)
    }
    fn len(&self) -> usize {
        1
    }
}

#[cfg(not(feature = "lanes"))]
impl core::ops::Index<usize> for One {
    type Output = Lane;
    fn index(&self, _: usize) -> &Lane {
        &self.0
    }
}

#[cfg(not(feature = "lanes"))]
impl core::ops::IndexMut<usize> for One {
    fn index_mut(&mut self, _: usize) -> &mut Lane {
        &mut self.0
    }
}

#[cfg(not(feature = "lanes"))]
impl<'a> IntoIterator for &'a mut One {
    type Item = &'a mut Lane;
    type IntoIter = core::iter::Once<&'a mut Lane>;
    fn into_iter(self) -> Self::IntoIter {
        core::iter::once(&mut self.0)
    }
}

#[cfg(not(feature = "lanes"))]
impl<'a> IntoIterator for &'a One {
    type Item = &'a Lane;
    type IntoIter = core::iter::Once<&'a Lane>;
    fn into_iter(self) -> Self::IntoIter {
        core::iter::once(&self.0)
    }
}

/// `for $lane in &mut $lanes $body`: natively a loop over the lanes; in
/// the browser build the one lane, without a loop (built for size, where
/// even a loop over one item stays a loop).
macro_rules! each_lane {
    ($lanes:expr, |$lane:ident| $body:block) => {
        #[cfg(feature = "lanes")]
        for $lane in $lanes.iter_mut() $body
        #[cfg(not(feature = "lanes"))]
        {
            let $lane = &mut $lanes.0;
            $body
        }
    };
}

/// Lane `i`'s position: `i` natively, always the one lane in the browser
/// build (a constant index, so no bounds check reaches the download).
#[inline(always)]
const fn at(i: usize) -> usize {
    if cfg!(feature = "lanes") {
        i
    } else {
        0
    }
}

/// Reads the wall clock, in milliseconds since the Unix epoch.
pub type WallClock = Box<dyn Fn() -> i64 + Send>;

impl Engine {
    /// An engine over `store`, sending with `wire` to the one destination
    /// [`DEFAULT_DESTINATION`]. `seed` drives the retry jitter (any value;
    /// tests fix it). A backlog found in the store is sent at once.
    pub fn new(
        cfg: EngineConfig,
        store: Box<dyn Store + Send>,
        wire: Box<dyn Wire>,
        seed: u64,
        now_ms: i64,
    ) -> Self {
        let mut e = Self::starting(cfg, store, wire, seed, now_ms);
        e.load_backlog(usize::MAX, now_ms);
        e
    }

    /// [`new`](Self::new), leaving the count of a backlog found in the store
    /// to [`load_backlog`](Self::load_backlog): until it is done the engine
    /// records and commits as usual but starts no upload and drops nothing
    /// for the caps, since it does not know yet how much is queued.
    // `Ahead` is a unit struct without the Amplitude wire (the browser's
    // default build), a map with it: `default()` serves both.
    #[allow(
        clippy::default_constructed_unit_structs,
        reason = "a unit struct only in some builds"
    )]
    pub fn starting(
        cfg: EngineConfig,
        store: Box<dyn Store + Send>,
        wire: Box<dyn Wire>,
        seed: u64,
        now_ms: i64,
    ) -> Self {
        let lane = Lane::with_wire(wire, cfg.max_batch_events, cfg.max_batch_bytes);
        #[cfg(feature = "lanes")]
        let lanes = vec![lane];
        #[cfg(not(feature = "lanes"))]
        let lanes = One(lane);
        Self::with_lanes(cfg, store, lanes, seed, now_ms)
    }

    /// [`starting`](Self::starting) for several destinations sharing the
    /// store's one queue, each delivered on its own ([`Target`]; names must
    /// differ). Declares them to the store: one new to the file starts at the
    /// slowest cursor, one no longer given is forgotten.
    #[cfg(feature = "lanes")]
    pub fn starting_with(
        cfg: EngineConfig,
        store: Box<dyn Store + Send>,
        targets: Vec<Target>,
        seed: u64,
        now_ms: i64,
    ) -> Self {
        let lanes = targets.into_iter().map(|t| Lane::new(t, &cfg)).collect();
        Self::with_lanes(cfg, store, lanes, seed, now_ms)
    }

    fn with_lanes(
        cfg: EngineConfig,
        store: Box<dyn Store + Send>,
        lanes: Lanes,
        seed: u64,
        now_ms: i64,
    ) -> Self {
        let mut e = Engine {
            cfg,
            store,
            lanes,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
            queued_events: 0,
            queued_bytes: 0,
            last_seq: 0,
            next_expiry_check: now_ms,
            memory: VecDeque::new(),
            memory_bytes: 0,
            memory_state: Vec::new(),
            storage_error: None,
            storage_retry_at: 0,
            dropped: DropCounts::default(),
            last_error: None,
            last_rejection: None,
            next_id: 1,
            wall_clock: None,
            loading: true,
            backlog_last_seq: 0,
            appended_while_loading: 0,
        };
        #[cfg(feature = "lanes")]
        {
            let names: Vec<&str> = e.lanes.iter().map(|l| l.name.as_str()).collect();
            if let Err(err) = e.store.set_destinations(&names) {
                e.storage_failed(err, now_ms);
            }
            for lane in &e.lanes {
                e.store.set_routing(&lane.name, &lane.routing);
            }
        }
        match e.store.summary() {
            Ok(s) => {
                e.queued_events = s.events;
                e.queued_bytes = s.bytes;
                e.last_seq = s.last_seq;
                e.backlog_last_seq = s.last_seq;
            }
            Err(err) => e.storage_failed(err, now_ms),
        }
        if let Ok(Some(text)) = e.store.get_state(DROPS_STATE_KEY) {
            if let Some(d) = DropCounts::from_json(&text) {
                e.dropped = d;
            }
        }
        #[cfg(feature = "lanes")]
        if e.several() {
            for i in 0..e.lanes.len() {
                let key = e.lanes[at(i)].drops_key();
                if let Some(d) = e
                    .store
                    .get_state(&key)
                    .ok()
                    .flatten()
                    .and_then(|t| DropCounts::from_json(&t))
                {
                    e.lanes[at(i)].dropped = d;
                }
            }
        }
        #[cfg(feature = "native")]
        for i in 0..e.lanes.len() {
            e.resume_search(i);
        }
        // A corrupt file salvaged when the store was opened.
        e.take_repair(now_ms);
        e
    }

    /// True with more than one destination (never in a build without
    /// `lanes`, the default browser package: what serves several compiles
    /// out there).
    fn several(&self) -> bool {
        cfg!(feature = "lanes") && self.lanes.len() > 1
    }

    /// Counts up to `max_rows` more of the backlog the store held at start
    /// ([`Store::count_backlog`]); true once the engine knows its queue and
    /// works as usual. A backlog is then sent at once.
    pub fn load_backlog(&mut self, max_rows: usize, now_ms: i64) -> bool {
        if !self.loading {
            return true;
        }
        let counted = self.store.count_backlog(max_rows);
        // Counting reads the whole backlog, and may find it damaged.
        self.take_repair(now_ms);
        match counted {
            Ok(false) => return false,
            Ok(true) => {}
            // Counted again when the store recovers (`retry_storage`).
            Err(err) => self.storage_failed(err, now_ms),
        }
        self.loading = false;
        if self.storage_error.is_none() {
            match self.store.summary() {
                Ok(s) => {
                    self.queued_events = s.events;
                    self.queued_bytes = s.bytes;
                    self.last_seq = self.last_seq.max(s.last_seq);
                    self.count_lanes(now_ms);
                    // The backlog goes out at once; calls recorded while it
                    // was counted wait for flush_at or flush_interval as any.
                    if s.events > self.appended_while_loading {
                        let through = self.backlog_last_seq;
                        each_lane!(self.lanes, |lane| {
                            lane.flush_through = lane.flush_through.max(through);
                            lane.waiting_since.get_or_insert(now_ms);
                        });
                    }
                }
                Err(err) => self.storage_failed(err, now_ms),
            }
            self.enforce_caps(now_ms);
        }
        true
    }

    /// Sets each lane's queue from the store: the file's counts with one
    /// destination, the rows past each cursor with several.
    fn count_lanes(&mut self, now_ms: i64) {
        // With one destination its queue is the file's: nothing to count.
        if self.several() {
            #[cfg(feature = "lanes")]
            for i in 0..self.lanes.len() {
                let name = self.lanes[at(i)].name.clone();
                match self.store.pending(&name) {
                    Ok(r) => {
                        self.lanes[at(i)].queued_events = r.events;
                        self.lanes[at(i)].queued_bytes = r.bytes;
                    }
                    Err(err) => self.storage_failed(err, now_ms),
                }
            }
        }
        let _ = now_ms;
    }

    /// True until [`load_backlog`](Self::load_backlog) has counted the
    /// backlog found at start.
    pub fn loading(&self) -> bool {
        self.loading
    }

    /// Where the engine reads the wall clock (for `sentAt`, expiry, ages and
    /// HTTP-date `Retry-After`) when the `now_ms` it is given is a monotonic
    /// timer clock, as the native runtime's is.
    pub fn set_wall_clock(&mut self, clock: WallClock) {
        self.wall_clock = Some(clock);
    }

    /// The wall clock now; `now_ms` when none was given.
    fn wall_ms(&self, now_ms: i64) -> i64 {
        self.wall_clock.as_ref().map_or(now_ms, |read| read())
    }

    /// Mutable access to the store, for state the runtime keeps beside events.
    pub fn store_mut(&mut self) -> &mut dyn Store {
        self.store.as_mut()
    }

    /// Commits `events` (in order) and `state` changes in one transaction.
    /// When the store fails they are held in memory instead, and written
    /// before anything newer once it works again.
    pub fn record(
        &mut self,
        mut events: Vec<NewEvent>,
        state: Vec<(String, Option<String>)>,
        now_ms: i64,
    ) -> Recorded {
        if self.storage_error.is_none() {
            // Counted first: the store may take the events.
            let (count, bytes) = (
                events.len() as u64,
                events.iter().map(|e| e.json.len() as u64).sum::<u64>(),
            );
            match self.store.append_owned(&mut events, &state) {
                Ok(last) => {
                    self.note_appended(count, bytes, last, now_ms);
                    self.take_repair(now_ms);
                    self.enforce_caps(now_ms);
                    return Recorded::Durable(last);
                }
                Err(err) => self.storage_failed(err, now_ms),
            }
        }
        self.hold_in_memory(events, state);
        Recorded::InMemory
    }

    fn note_appended(&mut self, count: u64, bytes: u64, last: u64, now_ms: i64) {
        if count == 0 {
            return;
        }
        if self.loading {
            self.appended_while_loading += count;
        }
        self.queued_events += count;
        self.queued_bytes += bytes;
        self.last_seq = last;
        #[cfg(feature = "lanes")]
        let several = self.several();
        each_lane!(self.lanes, |lane| {
            #[cfg(feature = "lanes")]
            if several {
                lane.queued_events += count;
                lane.queued_bytes += bytes;
            }
            lane.waiting_since.get_or_insert(now_ms);
        });
    }

    fn hold_in_memory(&mut self, events: Vec<NewEvent>, state: Vec<(String, Option<String>)>) {
        self.memory_state.extend(state);
        for e in events {
            self.memory_bytes += e.json.len();
            self.memory.push_back(e);
        }
        let mut overflow = 0;
        while self.memory.len() > MEMORY_FALLBACK_EVENTS
            || self.memory_bytes > MEMORY_FALLBACK_BYTES
        {
            match self.memory.pop_front() {
                Some(e) => {
                    self.memory_bytes -= e.json.len();
                    overflow += 1;
                }
                None => break,
            }
        }
        if overflow > 0 {
            self.dropped.add(DropReason::Overflow, overflow);
        }
    }

    fn storage_failed(&mut self, err: StoreError, now_ms: i64) {
        if self.storage_error.is_none() {
            log::warn!("cairn: event buffer failing, holding events in memory: {err}");
        }
        let text = err.message();
        self.last_error = Some(text.clone());
        self.storage_error = Some(text);
        // A batch claimed ahead (or prepared from it) is read again from a
        // store that works again: given back, or the next claim would start
        // past its events.
        for i in 0..self.lanes.len() {
            if self.lanes[at(i)].claimed_ahead() {
                self.release(i);
            }
        }
        self.storage_retry_at = now_ms + STORAGE_RETRY_INTERVAL.as_millis() as i64;
    }

    /// Tries a failing store again, writing held events first.
    fn retry_storage(&mut self, now_ms: i64) {
        if self.storage_error.is_none() || now_ms < self.storage_retry_at {
            return;
        }
        // A backlog whose count a failure interrupted is counted whole now:
        // the summary read below must see every queued event.
        match self.store.recover().and_then(|lost| {
            self.store.count_backlog(usize::MAX)?;
            Ok(lost)
        }) {
            Ok(lost) => {
                self.count_lost(lost);
                self.take_repair(now_ms);
            }
            Err(err) => {
                self.storage_failed(err, now_ms);
                return;
            }
        }
        let events: Vec<NewEvent> = self.memory.iter().cloned().collect();
        let state = core::mem::take(&mut self.memory_state);
        let counters = self.drops_state();
        let mut with_counters = state.clone();
        with_counters.push(counters);
        match self.store.append(&events, &with_counters) {
            Ok(last) => {
                self.storage_error = None;
                self.memory.clear();
                self.memory_bytes = 0;
                #[cfg(feature = "lanes")]
                self.finish_purges(last, now_ms);
                // Counts may be stale after a failure; read them back.
                if let Ok(s) = self.store.summary() {
                    self.queued_events = s.events;
                    self.queued_bytes = s.bytes;
                    self.last_seq = s.last_seq.max(last);
                    self.count_lanes(now_ms);
                    #[cfg(feature = "lanes")]
                    for i in 0..self.lanes.len() {
                        if self.queued_of(i).0 > 0 {
                            self.lanes[at(i)].waiting_since.get_or_insert(now_ms);
                        }
                    }
                    #[cfg(not(feature = "lanes"))]
                    if s.events > 0 {
                        self.lanes[0].waiting_since.get_or_insert(now_ms);
                    }
                }
                self.enforce_caps(now_ms);
            }
            Err(err) => {
                self.memory_state = state;
                self.storage_failed(err, now_ms);
            }
        }
    }

    /// Shows a repair the store made on its own (a corrupt file salvaged, a
    /// deleted file re-created) in `last_error`, and counts what it lost.
    fn take_repair(&mut self, now_ms: i64) {
        if let Some(repair) = self.store.take_repair() {
            self.last_error = Some(repair.message);
            self.count_drop(DropReason::Corrupt, repair.lost, now_ms);
            // What the store lost is queued no more (until the backlog is
            // counted, the counts are the loading's to make).
            if repair.lost > 0 && !self.loading {
                self.refresh_file_counts(now_ms);
                self.count_lanes(now_ms);
            }
        }
    }

    /// Counts events lost with a corrupt file; written with the next append.
    fn count_lost(&mut self, lost: u64) {
        if lost > 0 {
            log::warn!("cairn: {lost} queued events were in a corrupt buffer file, moved aside for inspection");
            self.dropped.add(DropReason::Corrupt, lost);
        }
    }

    fn enforce_caps(&mut self, now_ms: i64) {
        // Until the backlog is counted the queue's size is not known: the
        // caps are applied once it is (`load_backlog`).
        if self.loading {
            return;
        }
        if self.queued_events <= self.cfg.max_queue_events
            && self.queued_bytes <= self.cfg.max_queue_bytes
        {
            return;
        }
        match self
            .store
            .drop_oldest(self.cfg.max_queue_events, self.cfg.max_queue_bytes)
        {
            Ok(r) => self.dropped_rows(r, DropReason::Overflow, now_ms),
            Err(err) => self.storage_failed(err, now_ms),
        }
    }

    /// Rows the store removed (over the caps, or expired): off the file's
    /// counts and off each lane's, counted under `reason` for the client
    /// and for each destination that had not finished with them and whose
    /// routing takes them.
    fn dropped_rows(&mut self, r: Removed, reason: DropReason, now_ms: i64) {
        // The caps or the age limit may have taken a suspect poison event:
        // its proof starts again (it must not be dropped twice).
        each_lane!(self.lanes, |lane| {
            lane.suspect = None;
        });
        self.queued_events -= r.events.min(self.queued_events);
        self.queued_bytes -= r.bytes.min(self.queued_bytes);
        #[cfg(feature = "lanes")]
        if self.several() {
            for loss in self.store.take_losses() {
                if let Some(lane) = self.lanes.iter_mut().find(|l| l.name == loss.destination) {
                    lane.passed(loss.removed.events, loss.removed.bytes);
                    // Rows its routing would have passed over were not its
                    // events: they leave its queue without counting as its drops.
                    if loss.routed_events > 0 {
                        lane.dropped.add(reason, loss.routed_events);
                    }
                }
            }
        }
        #[cfg(feature = "lanes")]
        for i in 0..self.lanes.len() {
            if self.queued_of(i).0 == 0 {
                self.lanes[at(i)].waiting_since = None;
            }
        }
        #[cfg(not(feature = "lanes"))]
        if self.queued_events == 0 {
            self.lanes[0].waiting_since = None;
        }
        self.count_drop(reason, r.events, now_ms);
    }

    fn drops_state(&self) -> (String, Option<String>) {
        (DROPS_STATE_KEY.to_string(), Some(self.dropped.to_json()))
    }

    /// Counts `n` drops and persists the counters (each destination's too,
    /// with several).
    fn count_drop(&mut self, reason: DropReason, n: u64, now_ms: i64) {
        if n == 0 {
            return;
        }
        self.dropped.add(reason, n);
        #[cfg(feature = "lanes")]
        let counters = {
            let mut counters = vec![self.drops_state()];
            if self.several() {
                for lane in &self.lanes {
                    counters.push((lane.drops_key(), Some(lane.dropped.to_json())));
                }
            }
            counters
        };
        #[cfg(not(feature = "lanes"))]
        let counters = self.drops_state();
        if self.storage_error.is_none() {
            #[cfg(not(feature = "lanes"))]
            let counters = [counters];
            if let Err(err) = self.store.append(&[], &counters) {
                self.storage_failed(err, now_ms);
            }
        } else {
            #[cfg(feature = "lanes")]
            self.memory_state.extend(counters);
            #[cfg(not(feature = "lanes"))]
            self.memory_state.push(counters);
        }
    }

    /// Counts `n` drops by lane `i` (refused, oversize) for it and for the client.
    fn count_lane_drop(&mut self, i: usize, reason: DropReason, n: u64, now_ms: i64) {
        #[cfg(feature = "lanes")]
        if n > 0 && self.several() {
            self.lanes[at(i)].dropped.add(reason, n);
        }
        let _ = i;
        self.count_drop(reason, n, now_ms);
    }

    /// Counts drops made outside the engine (invalid calls on the caller's thread).
    pub fn count_external_drop(&mut self, reason: DropReason, n: u64, now_ms: i64) {
        self.count_drop(reason, n, now_ms);
    }

    /// Deletes every queued event, the one on the wire included (its answer
    /// is then ignored), and the events held in memory; counts them under
    /// `reason`. Returns how many went.
    pub fn purge(&mut self, reason: DropReason, now_ms: i64) -> u64 {
        let in_memory = self.memory.len() as u64;
        self.memory.clear();
        self.memory_bytes = 0;
        let stored = if self.storage_error.is_none() {
            match self.store.clear() {
                Ok(r) => r.events,
                Err(err) => {
                    self.storage_failed(err, now_ms);
                    0
                }
            }
        } else {
            0
        };
        #[cfg(feature = "lanes")]
        let several = self.several();
        each_lane!(self.lanes, |lane| {
            #[cfg(feature = "lanes")]
            if several && lane.queued_events > 0 {
                lane.dropped.add(reason, lane.queued_events);
            }
            lane.emptied();
        });
        self.queued_events = 0;
        self.queued_bytes = 0;
        self.count_drop(reason, stored + in_memory, now_ms);
        stored + in_memory
    }

    /// Purges the queue of the destinations that need `category` (it was
    /// revoked): their cursors pass every queued event, counted `consent`
    /// for them; the other destinations keep theirs. Returns how many
    /// events the destinations lost together.
    #[cfg(feature = "lanes")]
    pub fn purge_for_category(&mut self, category: &str, now_ms: i64) -> u64 {
        let mut lost = 0;
        for i in 0..self.lanes.len() {
            if !self.lanes[at(i)].routing.needs(category) {
                continue;
            }
            let name = self.lanes[at(i)].name.clone();
            self.release(i);
            // Tried even while the store fails (an ack is kept in memory
            // until saved): the purged events must not be claimed again.
            let moved = match self.store.ack(&name, self.last_seq) {
                Ok(()) => true,
                Err(err) => {
                    self.storage_failed(err, now_ms);
                    false
                }
            };
            // Events held in memory were recorded before the revocation too.
            let held = if self.storage_error.is_some() {
                self.memory.len() as u64
            } else {
                0
            };
            self.lanes[at(i)].purge_on_recovery = !moved || held > 0;
            let n = self.queued_of(i).0 + held;
            let last = self.last_seq;
            let lane = &mut self.lanes[at(i)];
            lane.acked_through = lane.acked_through.max(last);
            lane.emptied();
            lost += n;
            self.count_lane_drop(i, DropReason::Consent, n, now_ms);
        }
        if lost > 0 {
            self.refresh_file_counts(now_ms);
        }
        lost
    }

    /// Moves the cursor of each destination whose consent purge waited for
    /// the store through `last` (the held events just written included).
    #[cfg(feature = "lanes")]
    fn finish_purges(&mut self, last: u64, now_ms: i64) {
        for i in 0..self.lanes.len() {
            if !self.lanes[at(i)].purge_on_recovery {
                continue;
            }
            let name = self.lanes[at(i)].name.clone();
            match self.store.ack(&name, last) {
                Ok(()) => {
                    let lane = &mut self.lanes[at(i)];
                    lane.acked_through = lane.acked_through.max(last);
                    lane.purge_on_recovery = false;
                }
                Err(err) => self.storage_failed(err, now_ms),
            }
        }
    }

    /// Reads the file's counts back after cursors moved (several
    /// destinations: a row leaves the file only once all are done with it).
    fn refresh_file_counts(&mut self, now_ms: i64) {
        match self.store.summary() {
            Ok(s) => {
                self.queued_events = s.events;
                self.queued_bytes = s.bytes;
            }
            Err(err) => self.storage_failed(err, now_ms),
        }
    }

    /// Notes that destination `name` received the events `first..=last`
    /// already, from elsewhere (the browser's runtime took over the queue
    /// of a tab that was gone, whose progress says so): its claims pass
    /// over them, counted as skipped, instead of sending them twice. Held
    /// in memory until its cursor passes them, which its next claim does.
    #[cfg(feature = "lanes")]
    pub fn delivered_elsewhere(&mut self, name: &str, first: u64, last: u64) {
        if let Some(lane) = self.lanes.iter_mut().find(|l| l.name == name) {
            if first <= last && last > lane.acked_through {
                lane.delivered_elsewhere.push((first, last));
            }
        }
    }

    /// The upload on the wire whose events were purged, if any: the runtime
    /// should not send it if it has not yet.
    pub fn purged_upload(&self) -> Option<u64> {
        let purged = |l: &Lane| l.in_flight.as_ref().filter(|f| f.purged).map(|f| f.id);
        #[cfg(feature = "lanes")]
        {
            self.lanes.iter().filter_map(purged).max()
        }
        #[cfg(not(feature = "lanes"))]
        purged(&self.lanes[0])
    }

    /// Makes the acks of delivered batches durable. Runtimes call it once
    /// the next upload is on its way, so deleting delivered rows never
    /// delays the next request; appends save them too.
    pub fn save_acks(&mut self, now_ms: i64) {
        // A failing store is retried on its own schedule (`retry_storage`),
        // whose append saves the acks too; failing again here every wake-up
        // would keep pushing that retry back.
        if self.storage_error.is_some() {
            return;
        }
        if let Err(err) = self.store.save_acks() {
            self.storage_failed(err, now_ms);
        }
    }

    /// Has the store rewrite its file so purged data leaves no trace on disk.
    pub fn compact(&mut self, now_ms: i64) {
        if let Err(err) = self.store.compact() {
            self.storage_failed(err, now_ms);
        }
    }

    /// Has the store do up to `max_keys` of the cleanup it put off
    /// ([`Store::tidy`]); true while some remains.
    pub fn tidy(&mut self, max_keys: usize) -> bool {
        self.store.tidy(max_keys)
    }

    /// Every `anonymousId` and `userId`/`previousId` found in queued events.
    pub fn ids_in_queue(&mut self) -> (Vec<String>, Vec<String>) {
        let mut anon = Vec::new();
        let mut users = Vec::new();
        let mut collect = |json: &str, user_keys: &[&str]| {
            if let Ok(v) = crate::json::parse(json) {
                if let Some(a) = v["anonymousId"].as_str() {
                    anon.push(a.to_string());
                }
                for k in user_keys {
                    if let Some(u) = v[*k].as_str() {
                        users.push(u.to_string());
                    }
                }
            }
        };
        let mut after = 0;
        while let Ok(page) = self.store.read(after, 1_000) {
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                collect(&e.json, &["userId", "previousId"]);
            }
        }
        for e in &self.memory {
            collect(&e.json, &["userId"]);
        }
        sort_unique(&mut anon);
        sort_unique(&mut users);
        (anon, users)
    }

    /// Sends everything recorded so far as soon as the backoff allows,
    /// regardless of `flush_at` and `flush_interval`.
    pub fn flush(&mut self) {
        let last = self.last_seq;
        each_lane!(self.lanes, |lane| {
            lane.flush_through = lane.flush_through.max(last);
        });
    }

    /// The sequence number of the last committed event.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// True when no event up to `seq` is still waiting to be delivered to
    /// any destination (one stopped by a 401/403 waits for no one).
    pub fn delivered_through(&self, seq: u64) -> bool {
        #[cfg(not(feature = "lanes"))]
        let done = self.lanes[0].acked_through >= seq;
        #[cfg(feature = "lanes")]
        let done =
            self.lanes.iter().enumerate().all(|(i, l)| {
                self.queued_of(i).0 == 0 || l.acked_through >= seq || l.halted.is_some()
            });
        !self.loading && (self.queued_events == 0 || done)
    }

    /// Events acknowledged since start, by every destination together.
    pub fn delivered(&self) -> u64 {
        self.sum(|l| l.delivered)
    }

    /// `figure` added up over the lanes.
    fn sum(&self, figure: impl Fn(&Lane) -> u64) -> u64 {
        #[cfg(feature = "lanes")]
        {
            let mut total = 0;
            for lane in self.lanes.iter() {
                total += figure(lane);
            }
            total
        }
        #[cfg(not(feature = "lanes"))]
        figure(&self.lanes[0])
    }

    /// Events committed and not yet delivered.
    pub fn queued_events(&self) -> u64 {
        self.queued_events
    }

    /// True while an upload is on the wire, waiting for its result.
    pub fn upload_in_flight(&self) -> bool {
        self.lanes.iter().any(|l| l.in_flight.is_some())
    }

    /// Events held in memory because the store is failing: not yet
    /// durable, and lost if the process ends before the store recovers.
    pub fn memory_events(&self) -> u64 {
        self.memory.len() as u64
    }

    /// True while uploads are stopped by a 401/403 (to every destination).
    pub fn auth_failed(&self) -> bool {
        #[cfg(feature = "lanes")]
        {
            self.lanes.iter().all(|l| l.halted.is_some())
        }
        #[cfg(not(feature = "lanes"))]
        self.lanes[0].halted.is_some()
    }

    /// Lifts a stop caused by 401/403 (after the write key was changed).
    pub fn resume(&mut self) {
        each_lane!(self.lanes, |lane| {
            lane.halted = None;
        });
    }

    /// How many destinations the engine delivers to.
    pub fn destinations(&self) -> usize {
        self.lanes.len()
    }

    fn due(&self, i: usize, now_ms: i64) -> bool {
        let lane = &self.lanes[at(i)];
        let (queued, queued_bytes) = self.queued_of(i);
        if queued == 0 {
            return false;
        }
        if let Some(at) = lane.retry_at {
            return now_ms >= at;
        }
        queued >= self.cfg.flush_at as u64
            || queued_bytes >= lane.max_batch_bytes as u64
            || lane.flush_through > lane.acked_through
            || lane
                .waiting_since
                .is_some_and(|w| now_ms >= w + self.cfg.flush_interval_ms as i64)
    }

    /// The next upload to perform, if one is due now: one destination's
    /// (each has at most one on the wire; call again for the others).
    pub fn poll_upload(&mut self, now_ms: i64) -> Option<Upload> {
        self.retry_storage(now_ms);
        if self.loading {
            return None;
        }
        #[cfg(feature = "lanes")]
        {
            for i in 0..self.lanes.len() {
                if let Some(upload) = self.poll_lane(i, now_ms) {
                    return Some(upload);
                }
            }
            None
        }
        #[cfg(not(feature = "lanes"))]
        self.poll_lane(0, now_ms)
    }

    fn poll_lane(&mut self, i: usize, now_ms: i64) -> Option<Upload> {
        {
            let lane = &self.lanes[at(i)];
            if lane.halted.is_some() || lane.in_flight.is_some() || !self.due(i, now_ms) {
                return None;
            }
            #[cfg(feature = "lanes")]
            if lane.purge_on_recovery {
                return None;
            }
        }
        self.drop_expired(now_ms);
        if self.lanes[at(i)]
            .suspect
            .as_ref()
            .is_some_and(|s| s.probe_next)
        {
            return Some(self.probe(i, now_ms));
        }
        #[cfg(feature = "native")]
        if let Some(p) = self.lanes[at(i)].prepared.take() {
            let lane = &mut self.lanes[at(i)];
            lane.requests += 1;
            let id = p.flight.id;
            lane.in_flight = Some(p.flight);
            return Some(Upload {
                id,
                destination: i,
                request: HttpRequest {
                    url: String::new(),
                    headers: Vec::new(),
                    body: Vec::new(),
                    gzip: false,
                    tail_from: 0,
                    sent_at: None,
                },
                events: p.events,
                prepared: true,
            });
        }
        let lane = &self.lanes[at(i)];
        let max_events = match lane.split {
            Some(s) => s.max_events.min(lane.max_batch_events),
            None => lane.max_batch_events,
        };
        let max_bytes = lane.max_batch_bytes;
        let claimed = match self.lanes[at(i)].next_batch.take() {
            Some(next) => Ok(next),
            None => self.claim_batch(i, max_events, max_bytes),
        };
        let mut events = match claimed {
            Ok(ev) => {
                // A deleted file moved to safety before the claim.
                self.take_repair(now_ms);
                ev
            }
            Err(err) => {
                self.storage_failed(err, now_ms);
                return None;
            }
        };
        let Some(last_seq) = events.last().map(|e| e.seq) else {
            // Counts drifted from the store (another writer?): trust the store.
            self.resync(i, now_ms);
            return None;
        };
        #[cfg(feature = "wire-amplitude")]
        let claimed = events.len();
        let lane = &mut self.lanes[at(i)];
        lane.ahead.leave_out(&mut events, now_ms);
        // Events its routing passes over go with the batch's cursor move.
        #[cfg(feature = "lanes")]
        let through = lane.acked_through;
        #[cfg(feature = "lanes")]
        lane.delivered_elsewhere.retain(|r| r.1 > through);
        #[cfg(feature = "lanes")]
        let skipped: Vec<(u64, u64)> =
            if lane.routing.takes_all() && lane.delivered_elsewhere.is_empty() {
                Vec::new()
            } else {
                let mut skipped = Vec::new();
                let (routing, elsewhere) = (&lane.routing, &lane.delivered_elsewhere);
                crate::store::claimed_mut(&mut events).retain(|e| {
                    let takes = !elsewhere.iter().any(|r| (r.0..=r.1).contains(&e.seq))
                        && routing.takes(&e.json);
                    if !takes {
                        skipped.push((e.seq, e.json.len() as u64));
                    }
                    takes
                });
                skipped
            };
        // (Without routing or per-event answers a claim is never emptied.)
        #[cfg(any(feature = "lanes", feature = "wire-amplitude"))]
        if events.is_empty() {
            return self.skip_settled_claim(
                i,
                last_seq,
                #[cfg(feature = "lanes")]
                skipped,
                now_ms,
            );
        }
        let id = self.next_id;
        self.next_id += 1;
        let lane = &mut self.lanes[at(i)];
        lane.requests += 1;
        lane.in_flight = Some(InFlight::batch(
            id,
            last_seq,
            &events,
            #[cfg(feature = "lanes")]
            skipped,
            #[cfg(feature = "wire-amplitude")]
            claimed,
        ));
        let wall = self.wall_ms(now_ms);
        Some(Upload {
            id,
            destination: i,
            request: self.lanes[at(i)].wire.encode(&events, wall),
            events: events.len(),
            #[cfg(feature = "native")]
            prepared: false,
        })
    }

    /// Natively: encodes the batch read ahead ([`claim_next`](Self::claim_next))
    /// of a destination whose upload is on the wire, so that the runtime can
    /// compress it meanwhile; [`poll_upload`](Self::poll_upload) then hands
    /// it over (`prepared`, same `id`) as soon as the answer comes; the
    /// runtime writes its send time then. Only a batch sent whole is
    /// prepared: none for a destination whose routing may leave events out
    /// (a wire that answers per event reads nothing ahead). A retry, a
    /// split, a purge or a failing store drops it with the batch read
    /// ahead. Call until `None`.
    #[cfg(feature = "native")]
    pub fn prepare_next(&mut self, now_ms: i64) -> Option<Upload> {
        for i in 0..self.lanes.len() {
            let lane = &self.lanes[at(i)];
            let waiting = lane.in_flight.as_ref().is_some_and(|f| !f.purged);
            if !waiting
                || lane.prepared.is_some()
                || !lane.routing.takes_all()
                || !lane.delivered_elsewhere.is_empty()
            {
                continue;
            }
            let Some(batch) = self.lanes[at(i)].next_batch.take() else {
                continue;
            };
            let Some(last_seq) = batch.last().map(|e| e.seq) else {
                continue;
            };
            let id = self.next_id;
            self.next_id += 1;
            let flight = InFlight::batch(id, last_seq, &batch, Vec::new(), batch.len());
            let wall = self.wall_ms(now_ms);
            let request = self.lanes[at(i)].wire.encode(&batch, wall);
            let events = batch.len();
            self.lanes[at(i)].prepared = Some(Prepared { flight, events });
            return Some(Upload {
                id,
                destination: i,
                request,
                events,
                prepared: false,
            });
        }
        None
    }

    /// Natively: the id of destination `i`'s upload prepared ahead
    /// ([`prepare_next`](Self::prepare_next)) and not yet handed over, if
    /// any. A runtime holding an upload it prepared under another id (a
    /// retry or a purge dropped it) can let it go.
    #[cfg(feature = "native")]
    pub fn prepared_upload(&self, i: usize) -> Option<u64> {
        (self.lanes.get(i))
            .and_then(|lane| lane.prepared.as_ref())
            .map(|p| p.flight.id)
    }

    /// Claims lane `i`'s next batch; natively, with several destinations,
    /// the same rows as another lane's claim where their cursors meet
    /// ([`Store::claim_shared`]).
    fn claim_batch(
        &mut self,
        i: usize,
        max_events: usize,
        max_bytes: usize,
    ) -> Result<crate::store::Claimed, StoreError> {
        let name = self.lanes[at(i)].name();
        #[cfg(feature = "native")]
        return self.store.claim_shared(name, max_events, max_bytes);
        #[cfg(not(feature = "native"))]
        self.store.claim(name, max_events, max_bytes)
    }

    /// Gives back lane `i`'s claims in the store (the batch on the wire and
    /// the one claimed after it), so that their events are claimed again.
    fn release(&mut self, i: usize) {
        self.lanes[at(i)].next_batch = None;
        #[cfg(feature = "native")]
        {
            self.lanes[at(i)].prepared = None;
        }
        self.store.release(self.lanes[at(i)].name());
    }

    /// While a batch is on the wire, claims (reads) the batch after it, so
    /// that it leaves as soon as the answer comes instead of after its
    /// read: the browser's reads cost about as much as a round trip on
    /// loopback, and a page is idle while it waits. Only the read is done
    /// ahead; the request is built when it is sent (its `sentAt` is then).
    /// A claimed event is kept from the caps' and the age limit's drops as
    /// the batch on the wire is; a retry, a split, a purge or a failing store
    /// gives it back.
    /// Does nothing where the next batch depends on the answer: a batch
    /// sent in parts, a halted lane, or a wire that answers per event.
    pub fn claim_next(&mut self, now_ms: i64) {
        self.claim_ahead(now_ms, false);
    }

    /// [`claim_next`](Self::claim_next) only for the destinations with at
    /// least a full batch queued after the one on the wire: delivery has
    /// fallen behind and the next claim reads the file, so the read is
    /// worth taking off the answer's path, and the batch read ahead is a
    /// full one (not the few events recorded since the upload left). The
    /// native runtime calls this after every upload it starts.
    #[cfg(feature = "native")]
    pub fn claim_next_in_backlog(&mut self, now_ms: i64) {
        self.claim_ahead(now_ms, true);
    }

    fn claim_ahead(&mut self, now_ms: i64, backlog_only: bool) {
        if self.loading || self.storage_error.is_some() {
            return;
        }
        for i in 0..self.lanes.len() {
            if backlog_only {
                let (queued, bytes) = self.queued_of(i);
                let lane = &self.lanes[at(i)];
                let (on_wire, on_wire_bytes) = lane
                    .in_flight
                    .as_ref()
                    .map_or((0, 0), |f| (f.events, f.bytes));
                let full = queued.saturating_sub(on_wire) >= lane.max_batch_events as u64
                    || bytes.saturating_sub(on_wire_bytes) >= lane.max_batch_bytes as u64;
                if !full {
                    continue;
                }
            }
            let lane = &self.lanes[at(i)];
            let waiting = lane.in_flight.as_ref().is_some_and(|f| !f.purged);
            if !waiting
                || lane.next_batch.is_some()
                || lane.split.is_some()
                || lane.halted.is_some()
                || lane.wire.answers_per_event()
            {
                continue;
            }
            let (max_events, max_bytes) = (lane.max_batch_events, lane.max_batch_bytes);
            match self.claim_batch(i, max_events, max_bytes) {
                Ok(next) if !next.is_empty() => self.lanes[at(i)].next_batch = Some(next),
                Ok(_) => {}
                Err(err) => self.storage_failed(err, now_ms),
            }
        }
    }

    /// A claim held nothing to send: every event in it was settled already,
    /// held, or not for this destination. Moves the cursor past what is
    /// settled and tries again; with held events in the way, waits for them.
    #[cfg(any(feature = "lanes", feature = "wire-amplitude"))]
    fn skip_settled_claim(
        &mut self,
        i: usize,
        last_seq: u64,
        #[cfg(feature = "lanes")] skipped: Vec<(u64, u64)>,
        now_ms: i64,
    ) -> Option<Upload> {
        self.release(i);
        let lane = &self.lanes[at(i)];
        let through = lane.ahead.cursor_limit(last_seq);
        if through > lane.acked_through {
            if let Err(err) = self.store.ack(self.lanes[at(i)].name(), through) {
                self.storage_failed(err, now_ms);
                return None;
            }
            let lane = &mut self.lanes[at(i)];
            lane.acked_through = through;
            lane.ahead.passed(through);
            if lane.split.is_some_and(|s| through >= s.until_seq) {
                lane.split = None;
            }
            #[cfg(feature = "lanes")]
            {
                let (n, b) = passed_over(&skipped, through);
                self.lanes[at(i)].skipped += n;
                self.passed(i, n, b);
            }
            if self.queued_of(i).0 == 0 {
                self.lanes[at(i)].waiting_since = None;
            }
            if self.several() {
                self.refresh_file_counts(now_ms);
            }
            return self.poll_lane(i, now_ms);
        }
        let lane = &mut self.lanes[at(i)];
        lane.retry_at = lane.ahead.holding();
        None
    }

    fn resync(&mut self, i: usize, now_ms: i64) {
        match self.store.summary() {
            Ok(s) => {
                self.queued_events = s.events;
                self.queued_bytes = s.bytes;
                self.last_seq = self.last_seq.max(s.last_seq);
            }
            Err(err) => {
                self.storage_failed(err, now_ms);
                return;
            }
        }
        #[cfg(feature = "lanes")]
        if self.several() {
            let name = self.lanes[at(i)].name.clone();
            match self.store.pending(&name) {
                Ok(r) => {
                    let lane = &mut self.lanes[at(i)];
                    lane.queued_events = r.events;
                    lane.queued_bytes = r.bytes;
                }
                Err(err) => self.storage_failed(err, now_ms),
            }
        }
        if self.queued_of(i).0 == 0 {
            self.lanes[at(i)].waiting_since = None;
        }
    }

    fn drop_expired(&mut self, now_ms: i64) {
        if now_ms < self.next_expiry_check {
            return;
        }
        self.next_expiry_check = now_ms + EXPIRY_CHECK_INTERVAL.as_millis() as i64;
        let cutoff = self.wall_ms(now_ms) - self.cfg.max_event_age_ms as i64;
        let oldest = match self.store.summary() {
            Ok(s) => s.oldest_created_ms,
            Err(_) => None,
        };
        if oldest.is_none_or(|o| o >= cutoff) {
            return;
        }
        match self.store.drop_older_than(cutoff) {
            Ok(r) => self.dropped_rows(r, DropReason::Expired, now_ms),
            Err(err) => self.storage_failed(err, now_ms),
        }
    }

    /// Feeds back what happened to upload `id`: the server's response, or a
    /// transport error (refused, reset, timed out) as text.
    pub fn on_upload_result(&mut self, id: u64, result: Result<HttpResponse, String>, now_ms: i64) {
        #[cfg(feature = "lanes")]
        let Some(i) = self
            .lanes
            .iter()
            .position(|l| l.in_flight.as_ref().is_some_and(|f| f.id == id))
        else {
            return;
        };
        #[cfg(not(feature = "lanes"))]
        let i = 0;
        let Some(flight) = self.lanes[at(i)].in_flight.take_if(|f| f.id == id) else {
            return;
        };
        let status = result.as_ref().ok().map(|r| r.status);
        let server_error = status.is_some_and(|s| (500..=599).contains(&s));
        if flight.probe {
            if !flight.purged {
                let reason = match &result {
                    Ok(r) => cat!("HTTP ", r.status),
                    Err(e) => e.clone(),
                };
                self.on_probe_answer(i, status, reason, now_ms);
            }
            return;
        }
        let outcome = match result {
            Ok(resp) => {
                let wall = self.wall_ms(now_ms);
                self.lanes[at(i)].wire.classify(&resp, wall)
            }
            Err(reason) => Outcome::Retry {
                after_ms: None,
                reason,
            },
        };
        // A per-event answer that names none of the batch's events, or all
        // of them, is an answer about the batch.
        #[cfg(feature = "wire-amplitude")]
        let outcome = match outcome {
            Outcome::Throttled {
                indices,
                after_ms,
                reason,
            } if indices.is_empty() || covers_all(&indices, flight.sent.len()) => {
                Outcome::Retry { after_ms, reason }
            }
            Outcome::RefusedEvents { indices, reason }
                if covers_all(&indices, flight.sent.len()) =>
            {
                Outcome::Reject { reason }
            }
            Outcome::RefusedEvents { indices, reason }
                if !indices.iter().any(|i| *i < flight.sent.len()) =>
            {
                Outcome::Refused { reason }
            }
            other => other,
        };
        if flight.purged {
            // Counted when purged; the rows are gone whatever the answer, and
            // the queue counts already left them out.
            self.release(i);
            if let Err(err) = self.store.ack(self.lanes[at(i)].name(), flight.last_seq) {
                self.storage_failed(err, now_ms);
            }
            let lane = &mut self.lanes[at(i)];
            lane.acked_through = lane.acked_through.max(flight.last_seq);
            return;
        }
        match outcome {
            Outcome::Delivered => {
                self.lanes[at(i)].delivered += flight.events;
                self.settle(i, &flight, now_ms);
            }
            Outcome::Retry { after_ms, reason } => {
                self.release(i);
                // The retry carries the same events, not a bigger batch.
                self.limit_next_batches(i, flight.events as usize, flight.last_seq, true);
                let delay = self.failed_attempt(i, after_ms);
                self.lanes[at(i)].retry_at = Some(now_ms + delay as i64);
                self.set_error(i, reason);
                self.count_server_error(i, flight, server_error);
                self.persist_delivery(i, now_ms);
            }
            Outcome::Split if flight.events <= 1 => {
                self.set_error(
                    i,
                    "HTTP 413: one event is too large for the server; dropped as oversize".into(),
                );
                self.count_lane_drop(i, DropReason::Oversize, flight.events, now_ms);
                self.settle(i, &flight, now_ms);
            }
            Outcome::Split => {
                self.release(i);
                self.limit_next_batches(
                    i,
                    (flight.events as usize).div_ceil(2),
                    flight.last_seq,
                    false,
                );
                // Sending the halves is not a failure of the server: no backoff.
                self.lanes[at(i)].retry_at = Some(now_ms);
            }
            Outcome::Refused { reason } if flight.events > 1 => {
                // Some event in it cannot be read; the others can: halves, at
                // once, until the refused ones are alone.
                self.release(i);
                self.limit_next_batches(
                    i,
                    (flight.events as usize).div_ceil(2),
                    flight.last_seq,
                    true,
                );
                let lane = &mut self.lanes[at(i)];
                if let Some(s) = lane.split.as_mut() {
                    s.refused_through = flight.last_seq;
                }
                let text = cat!(
                    reason,
                    " (a batch of ",
                    flight.events,
                    " events: sending it in halves to find the refused ones)"
                );
                self.set_error(i, text);
                self.lanes[at(i)].retry_at = Some(now_ms);
            }
            Outcome::Refused { reason } => self.reject_batch(i, &flight, reason, now_ms),
            #[cfg(feature = "wire-amplitude")]
            Outcome::Reject { reason } => self.reject_batch(i, &flight, reason, now_ms),
            #[cfg(feature = "wire-amplitude")]
            Outcome::RefusedEvents { indices, reason } => {
                let refused: Vec<(u64, u64)> = indices
                    .iter()
                    .filter_map(|i| flight.sent.get(*i).copied())
                    .collect();
                let n = refused.len() as u64;
                if self.errors_of(i).1.as_deref() != Some(reason.as_str()) {
                    log::warn!(
                        "cairn: {} refused {n} of a batch of {} events, dropped; sending the others again: {reason}",
                        self.lanes[at(i)].name(),
                        flight.events
                    );
                }
                self.release(i);
                let lane = &mut self.lanes[at(i)];
                lane.ahead.settle(refused.iter().map(|r| r.0));
                let bytes = refused.iter().map(|r| r.1).sum::<u64>();
                self.passed(i, n, bytes);
                self.count_lane_drop(i, DropReason::Rejected, n, now_ms);
                // The same range again, less the refused: at once, it is no
                // failure of the server.
                self.limit_next_batches(i, flight.claimed, flight.last_seq, true);
                self.lanes[at(i)].retry_at = Some(now_ms);
                self.set_error(i, reason.clone());
                self.set_rejection(i, reason);
                self.persist_delivery(i, now_ms);
                if self.several() {
                    self.refresh_file_counts(now_ms);
                }
            }
            #[cfg(feature = "wire-amplitude")]
            Outcome::Throttled {
                indices,
                after_ms,
                reason,
            } => {
                self.release(i);
                let delay = self.failed_attempt(i, after_ms);
                let held = indices
                    .iter()
                    .filter_map(|i| flight.sent.get(*i).map(|s| s.0));
                self.lanes[at(i)].ahead.hold(held, now_ms + delay as i64);
                // The others of the batch go at once; nothing newer passes
                // the held events.
                self.limit_next_batches(i, flight.claimed, flight.last_seq, true);
                self.lanes[at(i)].retry_at = Some(now_ms);
                self.set_error(i, reason);
                self.persist_delivery(i, now_ms);
            }
            Outcome::AuthFailed { reason } => {
                log::warn!(
                    "cairn: uploads to {} stopped, events kept: {reason}",
                    self.lanes[at(i)].name()
                );
                self.release(i);
                self.set_error(i, reason.clone());
                self.lanes[at(i)].halted = Some(reason);
                self.persist_delivery(i, now_ms);
            }
        }
    }

    /// Lane `i`'s last error, also the client's.
    fn set_error(&mut self, i: usize, text: String) {
        #[cfg(feature = "lanes")]
        if self.several() {
            self.lanes[at(i)].last_error = Some(text.clone());
        }
        let _ = i;
        self.last_error = Some(text);
    }

    /// Lane `i`'s last permanent refusal, also the client's.
    fn set_rejection(&mut self, i: usize, text: String) {
        #[cfg(feature = "lanes")]
        if self.several() {
            self.lanes[at(i)].last_rejection = Some(text.clone());
        }
        let _ = i;
        self.last_rejection = Some(text);
    }

    /// Lane `i`'s last error and refusal: its own with several
    /// destinations, the engine's with one.
    fn errors_of(&self, i: usize) -> (&Option<String>, &Option<String>) {
        #[cfg(feature = "lanes")]
        if self.several() {
            let lane = &self.lanes[at(i)];
            return (&lane.last_error, &lane.last_rejection);
        }
        let _ = i;
        (&self.last_error, &self.last_rejection)
    }

    /// Counts a failed attempt and returns how long to wait before the
    /// next: the server's `Retry-After` when it gave one, else the backoff.
    /// An upload of no events for lane `i`: does the server answer without
    /// the suspect event?
    fn probe(&mut self, i: usize, now_ms: i64) -> Upload {
        let id = self.next_id;
        self.next_id += 1;
        let wall = self.wall_ms(now_ms);
        let lane = &mut self.lanes[at(i)];
        lane.requests += 1;
        if let Some(s) = lane.suspect.as_mut() {
            s.probe_next = false;
        }
        lane.in_flight = Some(InFlight {
            id,
            purged: false,
            probe: true,
            last_seq: lane.acked_through,
            events: 0,
            bytes: 0,
            #[cfg(feature = "lanes")]
            skipped: Vec::new(),
            #[cfg(feature = "wire-amplitude")]
            claimed: 0,
            #[cfg(feature = "wire-amplitude")]
            sent: Vec::new(),
        });
        Upload {
            id,
            destination: i,
            request: lane.wire.encode(&[], wall),
            events: 0,
            #[cfg(feature = "native")]
            prepared: false,
        }
    }

    /// The batch `flight` failed and will be sent again: a 5xx answer
    /// (`server_error`) counts towards finding a poison event, the one
    /// event the server cannot take while it takes others. After
    /// [`POISON_SUSPECT_AFTER`] in a row a batch goes in halves (each
    /// counted again), and a lone event becomes suspect: the server is
    /// probed without it before each next try. Any other failure (no
    /// answer, 429, 408) starts the count again.
    fn count_server_error(&mut self, i: usize, flight: InFlight, server_error: bool) {
        let lane = &mut self.lanes[at(i)];
        if !server_error {
            lane.server_errors = 0;
            lane.suspect = None;
            return;
        }
        if let Some(s) = lane.suspect.as_mut() {
            if flight.events == 1 && flight.last_seq == s.seq {
                // Failed again alone: probe before the next try.
                s.probe_next = true;
                s.flight = Some(flight);
                return;
            }
            // Not the suspect alone (a restart claimed another batch): the
            // search goes on from this batch.
            lane.suspect = None;
        }
        lane.server_errors += 1;
        if lane.server_errors < POISON_SUSPECT_AFTER {
            return;
        }
        lane.server_errors = 0;
        if flight.events > 1 {
            self.limit_next_batches(
                i,
                (flight.events as usize).div_ceil(2),
                flight.last_seq,
                true,
            );
            if let Some(s) = self.lanes[at(i)].split.as_mut() {
                s.refused_through = s.refused_through.max(flight.last_seq);
            }
        } else {
            lane.suspect = Some(Suspect {
                seq: flight.last_seq,
                flight: Some(flight),
                confirmed: 0,
                probe_next: true,
            });
        }
    }

    /// The server answered a probe (`status`), or not (`None`, with
    /// `reason`). Answered without the suspect event, it counts as proof
    /// that the event is what fails; after [`POISON_CONFIRMATIONS`] the
    /// event is dropped as `rejected`. A 5xx or no answer: the server is
    /// down, not the event, which is no longer suspect.
    fn on_probe_answer(&mut self, i: usize, status: Option<u16>, reason: String, now_ms: i64) {
        let up = status.is_some_and(|s| !(500..=599).contains(&s));
        let lane = &mut self.lanes[at(i)];
        if !up {
            lane.suspect = None;
            let delay = self.failed_attempt(i, None);
            self.lanes[at(i)].retry_at = Some(now_ms + delay as i64);
            self.set_error(i, reason);
            self.persist_delivery(i, now_ms);
            return;
        }
        let Some(s) = lane.suspect.as_mut() else {
            return;
        };
        s.confirmed += 1;
        // The event again, at once: it is the one to prove it fails.
        lane.retry_at = Some(now_ms);
        if s.confirmed < POISON_CONFIRMATIONS {
            self.persist_delivery(i, now_ms);
            return;
        }
        // (Probes follow a failure of the event, which holds its upload.)
        let Some(flight) = lane.suspect.take().and_then(|s| s.flight) else {
            return;
        };
        let text = cat!(
            "HTTP 5xx to this event alone, again and again, while the server answered without it (",
            reason,
            "): dropped as one it cannot take"
        );
        self.reject_batch(i, &flight, text, now_ms);
        self.lanes[at(i)].retry_at = Some(now_ms);
    }

    fn failed_attempt(&mut self, i: usize, after_ms: Option<u64>) -> u64 {
        let lane = &mut self.lanes[at(i)];
        lane.failures = lane.failures.saturating_add(1);
        lane.retries += 1;
        match after_ms {
            // Floored too: `Retry-After: 0` or a past date must not
            // turn into a hot loop.
            Some(ms) => {
                lane.paced_failures = lane.paced_failures.saturating_add(1);
                ms.clamp(MIN_RETRY_DELAY.as_millis() as u64, self.cfg.retry_max_ms)
            }
            None => self.backoff_delay(i),
        }
    }

    /// Caps batches at `max_events` until the events through `until_seq` are
    /// settled (a retry resends the same batch; a 413 or a 400 sends halves).
    /// `grow`: batches may grow back once past the refused events (a 400);
    /// a 413 anywhere in the range keeps them small.
    fn limit_next_batches(&mut self, i: usize, max_events: usize, until_seq: u64, grow: bool) {
        let lane = &mut self.lanes[at(i)];
        lane.split = Some(match lane.split {
            Some(s) => SplitLimit {
                max_events: s.max_events.min(max_events),
                until_seq: s.until_seq.max(until_seq),
                grow: s.grow && grow,
                refused_through: s.refused_through,
            },
            None => SplitLimit {
                max_events,
                until_seq,
                grow,
                refused_through: 0,
            },
        });
    }

    /// Writes the delivery condition (failures, next retry, last errors) to
    /// the store, so a buffer left by a killed app still tells its story.
    fn persist_delivery(&mut self, i: usize, now_ms: i64) {
        if self.storage_error.is_some() {
            return;
        }
        // Written in wall-clock terms: whoever reads them later (the next
        // start, `cairn inspect`) has no use for this process's timer clock.
        let wall = self.wall_ms(now_ms);
        let (last_error, last_rejection) = self.errors_of(i);
        let lane = &self.lanes[at(i)];
        #[cfg_attr(
            not(feature = "native"),
            allow(unused_mut, reason = "only native builds add the poison search")
        )]
        let mut state: crate::json::Object = [
            ("failures", Json::from(u64::from(lane.failures))),
            (
                "next_retry_at_ms",
                lane.retry_at
                    .filter(|_| lane.failures > 0)
                    .map_or(Json::Null, |at| Json::from(at - now_ms + wall)),
            ),
            ("last_error", Json::from(last_error.clone())),
            ("last_rejection", Json::from(last_rejection.clone())),
            ("auth_failed", Json::from(lane.halted.is_some())),
            ("written_at_ms", Json::from(wall)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        #[cfg(feature = "native")]
        self.save_search(i, &mut state);
        let state = state.to_text();
        let key = self.lanes[at(i)].delivery_key();
        if let Err(err) = self.store.append(&[], &[(key, Some(state.to_string()))]) {
            self.storage_failed(err, now_ms);
        }
    }

    /// Drops every event of `flight` as `rejected` for `reason`.
    fn reject_batch(&mut self, i: usize, flight: &InFlight, reason: String, now_ms: i64) {
        if self.errors_of(i).1.as_deref() != Some(reason.as_str()) {
            log::warn!(
                "cairn: {} refused a batch of {} events, dropped: {reason}",
                self.lanes[at(i)].name(),
                flight.events
            );
        }
        self.set_error(i, reason.clone());
        self.set_rejection(i, reason);
        self.count_lane_drop(i, DropReason::Rejected, flight.events, now_ms);
        self.persist_delivery(i, now_ms);
        self.settle(i, flight, now_ms);
    }

    /// The batch is finished with (delivered or dropped): move the cursor,
    /// up to the first held event if one lies in the batch's range.
    fn settle(&mut self, i: usize, flight: &InFlight, now_ms: i64) {
        let lane = &mut self.lanes[at(i)];
        lane.server_errors = 0;
        lane.suspect = None;
        let holding = lane.ahead.holding().is_some();
        let recovered = (lane.failures > 0 || lane.search_saved) && !holding;
        if !holding {
            lane.failures = 0;
            lane.paced_failures = 0;
        }
        lane.retry_at = None;
        let through = lane.ahead.cursor_limit(flight.last_seq);
        if through < flight.last_seq {
            // Held events lie in the batch's range: the cursor stops before
            // the first; what was delivered past it is remembered.
            #[cfg(feature = "wire-amplitude")]
            lane.ahead
                .settle(flight.sent.iter().map(|s| s.0).filter(|s| *s > through));
            self.release(i);
        }
        // (`through` is never below the cursor: held events lie past it.)
        if let Err(err) = self.store.ack(self.lanes[at(i)].name(), through) {
            // The events stay in the file and go out again later, with the
            // same message ids: a duplicate the backend removes.
            self.release(i);
            self.storage_failed(err, now_ms);
            return;
        }
        let lane = &mut self.lanes[at(i)];
        lane.acked_through = lane.acked_through.max(through);
        let acked = lane.acked_through;
        lane.ahead.passed(acked);
        #[cfg(feature = "lanes")]
        let (skipped, skipped_bytes) = passed_over(&flight.skipped, through);
        #[cfg(not(feature = "lanes"))]
        let (skipped, skipped_bytes) = (0, 0);
        #[cfg(feature = "lanes")]
        {
            self.lanes[at(i)].skipped += skipped;
        }
        self.passed(i, flight.events + skipped, flight.bytes + skipped_bytes);
        let queued = self.queued_of(i).0;
        let lane = &mut self.lanes[at(i)];
        let max_batch_events = lane.max_batch_events;
        match lane.split.as_mut() {
            Some(s) if lane.acked_through >= s.until_seq => lane.split = None,
            // Past the refused events: the rest of the range is likely fine,
            // so a few doublings send it, instead of one event at a time.
            Some(s) if s.grow && lane.acked_through >= s.refused_through => {
                s.max_events = s.max_events.saturating_mul(2).min(max_batch_events);
            }
            _ => {}
        }
        if queued == 0 {
            lane.waiting_since = None;
        } else if let Some(at) = lane.ahead.holding() {
            lane.retry_at = Some(at);
        } else if lane.split.is_some() {
            lane.retry_at = Some(now_ms);
        }
        if self.several() {
            self.refresh_file_counts(now_ms);
        }
        // After the batch limit is settled: the state written says whether
        // a search for a poison event goes on.
        if recovered {
            self.persist_delivery(i, now_ms);
        }
    }

    /// Events and bytes past lane `i`'s cursor: its own count with several
    /// destinations, the file's with one.
    fn queued_of(&self, i: usize) -> (u64, u64) {
        #[cfg(feature = "lanes")]
        if self.several() {
            let lane = &self.lanes[at(i)];
            return (lane.queued_events, lane.queued_bytes);
        }
        let _ = i;
        (self.queued_events, self.queued_bytes)
    }

    /// Lane `i`'s cursor passed `events` more (delivered, dropped, passed
    /// over): off its count, and with one destination off the file's (its
    /// rows go; with several the file's counts are read back).
    fn passed(&mut self, i: usize, events: u64, bytes: u64) {
        #[cfg(feature = "lanes")]
        if self.several() {
            self.lanes[at(i)].passed(events, bytes);
            return;
        }
        let _ = i;
        self.queued_events -= events.min(self.queued_events);
        self.queued_bytes -= bytes.min(self.queued_bytes);
    }

    /// Full jitter: a uniform delay in `[0, min(cap, base * factor^e)]`,
    /// floored at [`MIN_RETRY_DELAY`], where `e` counts lane `i`'s failures
    /// in a row past the first [`RETRY_STEADY_FAILURES`], those the server
    /// paced with `Retry-After` left out.
    fn backoff_delay(&mut self, i: usize) -> u64 {
        let lane = &self.lanes[at(i)];
        let exp = (lane.failures - lane.paced_failures.min(lane.failures))
            .saturating_sub(RETRY_STEADY_FAILURES)
            .min(30);
        let window = self
            .cfg
            .retry_base_ms
            .saturating_mul(u64::from(RETRY_BACKOFF_FACTOR).saturating_pow(exp))
            .min(self.cfg.retry_max_ms);
        let draw = self.next_random() % (window + 1);
        draw.max(MIN_RETRY_DELAY.as_millis() as u64)
            .min(self.cfg.retry_max_ms)
    }

    /// splitmix64: small, fast, and good enough for jitter.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// When the engine next wants `poll_upload` called, if ever (without new
    /// input). `Some(t)` with `t <= now_ms` means now.
    pub fn next_wakeup(&self, now_ms: i64) -> Option<i64> {
        if self.loading {
            return Some(now_ms);
        }
        let mut next = self.storage_error.as_ref().map(|_| self.storage_retry_at);
        #[cfg(feature = "lanes")]
        for i in 0..self.lanes.len() {
            next = earliest(next, self.lane_wakeup(i, now_ms));
        }
        #[cfg(not(feature = "lanes"))]
        {
            next = earliest(next, self.lane_wakeup(0, now_ms));
        }
        next
    }

    /// When lane `i` next has an upload to start, if ever.
    fn lane_wakeup(&self, i: usize, now_ms: i64) -> Option<i64> {
        let lane = &self.lanes[at(i)];
        if lane.halted.is_some() || lane.in_flight.is_some() || self.queued_of(i).0 == 0 {
            None
        } else if let Some(at) = lane.retry_at {
            Some(at)
        } else if self.due(i, now_ms) {
            Some(now_ms)
        } else {
            lane.waiting_since
                .map(|w| w + self.cfg.flush_interval_ms as i64)
        }
    }

    /// A snapshot for `stats()`.
    pub fn stats(&mut self, now_ms: i64) -> Stats {
        let oldest = if self.queued_events > 0 {
            self.store.summary().ok().and_then(|s| s.oldest_created_ms)
        } else {
            None
        };
        let retry_in = |lane: &Lane| {
            lane.retry_at
                .filter(|_| lane.failures > 0)
                .map(|at| (at - now_ms).max(0) as u64)
        };
        // Listed with several destinations, and with one that routes: its
        // `skipped_events` is the only place the events its routing passed
        // over show. With one, the queue, errors and drops are the engine's.
        #[cfg(feature = "lanes")]
        let destinations = if self.several() || !self.lanes[0].routing.takes_all() {
            let one = !self.several();
            self.lanes
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let (queued_events, queued_bytes) = self.queued_of(i);
                    DestinationStats {
                        name: l.name.clone(),
                        queued_events,
                        queued_bytes,
                        in_flight_events: l.in_flight.as_ref().map_or(0, |f| f.events),
                        delivered_events: l.delivered,
                        skipped_events: l.skipped,
                        requests: l.requests,
                        retries: l.retries,
                        next_retry_in_ms: retry_in(l),
                        last_error: if one { &self.last_error } else { &l.last_error }.clone(),
                        last_rejection: if one {
                            &self.last_rejection
                        } else {
                            &l.last_rejection
                        }
                        .clone(),
                        auth_failed: l.halted.is_some(),
                        dropped: if one { self.dropped } else { l.dropped },
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        #[cfg(feature = "lanes")]
        let next_retry = self.lanes.iter().filter_map(retry_in).min();
        #[cfg(not(feature = "lanes"))]
        let next_retry = retry_in(&self.lanes[0]);
        Stats {
            queued_events: self.queued_events,
            queued_bytes: self.queued_bytes,
            oldest_queued_age_ms: oldest.map(|o| (self.wall_ms(now_ms) - o).max(0) as u64),
            memory_events: self.memory.len() as u64,
            in_flight_events: self.sum(|l| l.in_flight.as_ref().map_or(0, |f| f.events)),
            delivered_events: self.delivered(),
            requests: self.sum(|l| l.requests),
            retries: self.sum(|l| l.retries),
            next_retry_in_ms: next_retry,
            last_error: self.last_error.clone(),
            last_rejection: self.last_rejection.clone(),
            auth_failed: self.sum(|l| u64::from(l.halted.is_some())) > 0,
            storage: match &self.storage_error {
                None => StorageState::Ok,
                Some(e) => StorageState::Failing { error: e.clone() },
            },
            dropped: self.dropped,
            // The recorder counts violations; its owner adds them.
            plan: Default::default(),
            // Counted on the callers' threads, not by the engine.
            waited_for_room: Default::default(),
            #[cfg(feature = "lanes")]
            destinations,
        }
    }
}

/// The earlier of two times, either of which may be missing.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Of the events a routing passed over, those at or below `through`
/// (the cursor moved past them), and their bytes.
#[cfg(feature = "lanes")]
fn passed_over(skipped: &[(u64, u64)], through: u64) -> (u64, u64) {
    skipped
        .iter()
        .filter(|s| s.0 <= through)
        .fold((0, 0), |(n, b), s| (n + 1, b + s.1))
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The one loss cairn cannot count in the file: the disk is failing,
        // so say it where the app's logs can.
        if !self.memory.is_empty() {
            log::warn!(
                "cairn: {} events held in memory are lost with this client: the buffer file could not be written ({})",
                self.memory.len(),
                self.storage_error.as_deref().unwrap_or("unknown error")
            );
        }
    }
}

/// True when the sorted, repeat-free `indices` name every one of `len` positions.
#[cfg(feature = "wire-amplitude")]
fn covers_all(indices: &[usize], len: usize) -> bool {
    indices.iter().filter(|i| **i < len).count() >= len
}

/// Sorts `ids` and removes repeats, as `sort_unstable` + `dedup` would, by
/// inserting each into a sorted list of the distinct ones (a binary search:
/// ids repeat a lot and are few once distinct), so the browser build carries
/// no sorting code.
pub(crate) fn sort_unique(ids: &mut Vec<String>) {
    let mut distinct: Vec<String> = Vec::new();
    for id in ids.drain(..) {
        if let Err(at) = distinct.binary_search(&id) {
            distinct.insert(at, id);
        }
    }
    *ids = distinct;
}

// At the end of the file: the page package's location data for the code
// above stays as it was (its size moves with line numbers).
#[cfg(feature = "lanes")]
impl Engine {
    /// Adds `drops` to destination `name`'s own drop counts: what it lost
    /// elsewhere (the browser's runtime took over the queue of a tab that
    /// was gone, with its counts). Its share of the file-wide counts comes
    /// with [`count_external_drop`](Self::count_external_drop), which also
    /// writes these.
    pub fn add_destination_drops(&mut self, name: &str, drops: &DropCounts) {
        let several = self.several();
        if let Some(lane) = self.lanes.iter_mut().find(|l| several && l.name == name) {
            lane.dropped.merge(drops);
        }
    }
}

#[path = "engine_ahead.rs"]
mod ahead;

#[cfg(feature = "native")]
#[path = "engine_search.rs"]
mod search;
use ahead::Ahead;

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;

#[cfg(all(test, feature = "wire-amplitude"))]
#[path = "engine_per_event_tests.rs"]
mod per_event_tests;

#[cfg(all(test, feature = "native"))]
#[path = "engine_multi_tests.rs"]
mod multi_tests;
