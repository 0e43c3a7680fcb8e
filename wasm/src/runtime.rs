//! The browser runtime: the counterpart of the core's native worker. It owns
//! one [`Engine`] and one [`Recorder`] over this tab's [`BrowserStore`], and
//! turns what the page and the browser do into their inputs.
//!
//! It decides only what is particular to a browser page, and leaves every
//! delivery, retry, identity and consent rule to the engine and recorder:
//! - each call is committed at once (a tab can close right after it);
//! - what an upload looks like to `fetch` ([`Outgoing`]: a CORS-simple
//!   request, `keepalive` when it fits the browser's 64 KiB allowance);
//! - what happens when the page goes away ([`Runtime::hand_off`]);
//! - adopting the queue of a tab that is gone ([`Runtime::adopt`]), and
//!   following identity, consent and `forget()` changes made in another tab
//!   ([`Runtime::sync_shared`]).
//!
//! It does no I/O of its own: time comes in as `now_ms`, requests go out as
//! data and their answers come back in, so every path is tested on the host
//! with a fake clock. Timers, `fetch`, beacons, page events and Web Locks are
//! the JS layer's (`js/index.js`).

use crate::prelude::*;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicI64, Ordering};

use cairn::consent::{self, Consent, Gate};
use cairn::engine::{Engine, EngineConfig, Upload};
use cairn::identity::{self, Identity};
use cairn::json::{self, Json, Object};
use cairn::json_text::push_string;
use cairn::model::{check_name, object_from_text, Call, Subject};
use cairn::recorder::{Recorder, RecorderSettings};
use cairn::stats::{DropCounts, DropReason};
use cairn::store::NewEvent;
use cairn::text::{i64_text, parse_i64};
use cairn::wire::{HttpResponse, SegmentWire};
use cairn::{cat, ConsentState, Error, Forgotten};

use crate::kv::{Backend, Kv};
use crate::options;
use crate::store::{shared_state_key, BrowserStore, Keys, TIDY_KEYS};

/// Largest request body sent with `keepalive` or as a beacon: browsers
/// refuse more than 64 KiB in flight per page, and this leaves room.
pub const KEEPALIVE_MAX_BYTES: usize = 64_000;
/// Without Web Locks, a tab that has not shown it is alive for this long is
/// taken for gone and its queue may be adopted: 10 minutes (timers of hidden
/// tabs may run only once a minute).
pub const STALE_TAB_MS: i64 = 10 * 60 * 1000;
/// Shared state key: when `forget()` last ran in any tab (ms since epoch).
pub const FORGOTTEN_KEY: &str = "forgotten";

/// The page's tracking-plan verdict on one call (js/plan.js), for
/// [`Runtime::record_judged`].
#[cfg(feature = "tracking-plan")]
pub enum PageVerdict {
    /// Recorded, with these violations (JSON array text) in its
    /// `context.violations`, if any.
    Keep(Option<Box<str>>),
    /// Dropped by the plan's `drop` policy: counted `plan_violation`.
    Drop,
    /// Refused by strict mode: counted `plan_violation`; the page throws.
    Refuse,
}

/// An upload for `fetch` (or a beacon) to carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Answer with [`Runtime::on_response`] / [`Runtime::on_error`] and this id.
    pub id: u64,
    /// Where to `POST` it.
    pub url: String,
    /// The JSON body. It carries the write key, so it needs no
    /// `Authorization` header: sent as `text/plain`, it is a CORS-simple
    /// request (no preflight, and allowed in a beacon).
    pub body: String,
    /// Events in it.
    pub events: usize,
    /// Whether it may go with `keepalive` (it fits the browser's allowance).
    pub keepalive: bool,
}

impl Outgoing {
    fn from_upload(up: Upload) -> Self {
        // The body was encoded from a `String`, so it is UTF-8; were it not,
        // bytes outside ASCII become U+FFFD (without `from_utf8_lossy`'s
        // code in the browser build).
        let body = String::from_utf8(up.request.body).unwrap_or_else(|e| {
            e.as_bytes()
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{FFFD}'
                    }
                })
                .collect()
        });
        let keepalive = body.len() <= KEEPALIVE_MAX_BYTES;
        Outgoing {
            id: up.id,
            url: up.request.url,
            body,
            events: up.events,
            keepalive,
        }
    }
}

/// What [`Runtime::hand_off`] did as the page went away.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandOff {
    /// Events now in the browser's hands (a keepalive request already on
    /// the wire, and beacons it accepted).
    pub handed_off: u64,
    /// Events left in storage for the next page load of this site.
    pub kept: u64,
    /// Why events were kept, if some were.
    pub why_kept: Option<String>,
    /// The uploads on the wire to cancel, whose answers are not to be
    /// reported: their events stay queued for the next page load, so a
    /// request that still reached the server would deliver them twice.
    pub cancel: Ids,
}

/// Upload ids: at most one in the default package (one destination).
#[cfg(not(feature = "destinations"))]
pub type Ids = Option<u64>;
/// Upload ids: one per destination at most.
#[cfg(feature = "destinations")]
pub type Ids = Vec<u64>;

/// Counters only the browser has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrowserCounters {
    /// Events handed to the browser as the page went away.
    pub handed_off_events: u64,
    /// Events found in the queues of tabs that were gone, and taken over.
    pub adopted_events: u64,
    /// Queues of tabs that were gone, taken over.
    pub adopted_tabs: u64,
}

/// Uploads on the wire: at most one in the default package, which
/// delivers to one destination; one per destination with `destinations`.
#[cfg(not(feature = "destinations"))]
type Flights = Option<Flight>;
#[cfg(feature = "destinations")]
type Flights = Vec<Flight>;

#[derive(Debug, Clone, Copy)]
struct Flight {
    id: u64,
    /// Its destination's position (`Upload::destination`).
    #[cfg(feature = "destinations")]
    destination: usize,
    events: usize,
    keepalive: bool,
}

/// One tab's recorder and engine over browser storage.
pub struct Runtime<B: Backend + 'static> {
    kv: Kv<B>,
    keys: Keys,
    engine: Engine,
    recorder: Recorder,
    settings: RecorderSettings,
    max_event_bytes: usize,
    request_timeout_ms: u64,
    extra_context: Object,
    in_flight: Flights,
    /// The wall clock as events are stamped with it: the last reading,
    /// held through a step back of at most a second
    /// (`cairn::time::next_stamp`, as natively).
    now: i64,
    /// The clock the engine's timers run on: the wall clock at start, moved
    /// on by each later reading's step forward only. A clock set back (by
    /// the user, or corrected by the network) holds no retry or flush back
    /// until it catches up, as it would if timers ran on `now`.
    timer: i64,
    /// The last wall-clock reading, to measure the next step from.
    last_wall: i64,
    /// `now`, where the engine reads the wall clock (`sentAt`, expiry, ages).
    stamp: Arc<AtomicI64>,
    counters: BrowserCounters,
    seen_forgotten: Option<String>,
}

/// The JSON answer a keepalive request or beacon stands for: the browser has
/// the batch, and its real answer can no longer be read.
fn handed_off_response() -> HttpResponse {
    HttpResponse {
        status: 200,
        retry_after: None,
        body: "handed to the browser as the page went away".into(),
    }
}

const TOO_LARGE_ON_THE_WIRE: &str = "an upload too large for keepalive is on the wire";
const KEPT_FOR_NEXT_LOAD: &str = ": events stay queued for the next page load";

/// Checks a site prefix (`storageKey`): it names localStorage keys.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty()
        || prefix.len() > 64
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(cat!(
            "cairn: option `storageKey` \"",
            prefix,
            "\" must be 1 to 64 letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

impl<B: Backend + 'static> Runtime<B> {
    /// Loads the tab `tab` of site prefix `prefix`: validates `options` (the
    /// page's `Cairn.load` options, JSON), restores identity and consent
    /// shared by the site's tabs, and opens this tab's queue.
    /// `mirrored_anonymous_id` is the first-party cookie's copy, used when
    /// storage has no identity. `seed` drives the retry jitter.
    pub fn new(
        kv: Kv<B>,
        prefix: &str,
        tab: &str,
        options_json: &str,
        mirrored_anonymous_id: Option<String>,
        seed: u64,
        now: i64,
    ) -> Result<Self, String> {
        check_prefix(prefix)?;
        let config = options::config_from_text(options_json)?;
        let keys = Keys::new(prefix, tab);
        let mut store = BrowserStore::open(kv.clone(), keys.clone());
        let settings = RecorderSettings::from(&config);
        let mirrored = mirrored_anonymous_id.filter(|a| !a.trim().is_empty());
        let recorder = Recorder::load(settings.clone(), &mut store, mirrored);
        // The browser sends plain bodies (fetch cannot gzip them). A
        // package without the Amplitude and PostHog wires has no
        // `destination` option either: Segment is all it can be asked for.
        #[cfg(any(feature = "amplitude", feature = "posthog"))]
        let wire = match config
            .destinations()
            .into_iter()
            .next()
            .and_then(|d| d.wire(false))
        {
            Some(w) => w,
            // `config_from_text` has refused a destination this build lacks.
            None => Box::new(SegmentWire::new(&config.endpoint, &config.write_key, false)),
        };
        #[cfg(not(any(feature = "amplitude", feature = "posthog")))]
        let wire: Box<dyn cairn::wire::Wire> =
            Box::new(SegmentWire::new(&config.endpoint, &config.write_key, false));
        #[cfg(not(feature = "destinations"))]
        let engine = Engine::new(
            EngineConfig::from(&config),
            Box::new(store),
            wire,
            seed,
            now,
        );
        // Each destination on its own lane, from the one queue.
        #[cfg(feature = "destinations")]
        let engine = {
            drop(wire);
            let mut e = Engine::starting_with(
                EngineConfig::from(&config),
                Box::new(store),
                cairn::engine::Target::all_of(&config, false),
                seed,
                now,
            );
            e.load_backlog(usize::MAX, now);
            e
        };
        let seen_forgotten = kv.get(&shared_state_key(prefix, FORGOTTEN_KEY));
        let stamp = Arc::new(AtomicI64::new(now));
        let mut engine = engine;
        let wall = Arc::clone(&stamp);
        engine.set_wall_clock(Box::new(move || wall.load(Ordering::Relaxed)));
        let mut rt = Runtime {
            kv,
            keys,
            engine,
            recorder,
            settings,
            max_event_bytes: config.max_event_bytes,
            request_timeout_ms: config.request_timeout.as_millis() as u64,
            extra_context: Object::new(),
            in_flight: Flights::default(),
            now,
            timer: now,
            last_wall: now,
            stamp,
            counters: BrowserCounters::default(),
            seen_forgotten,
        };
        rt.commit();
        Ok(rt)
    }

    /// Takes a wall-clock reading: moves the stamp clock (`now`) and the
    /// timer clock on, and returns the timer clock, which the engine and
    /// the recorder run on (as natively: runtime/clock.rs).
    fn tick(&mut self, wall: i64) -> i64 {
        self.timer += (wall - self.last_wall).max(0);
        self.last_wall = wall;
        self.now = cairn::time::next_stamp(self.now, wall);
        self.stamp.store(self.now, Ordering::Relaxed);
        self.timer
    }

    fn commit(&mut self) {
        self.recorder.commit(&mut self.engine, self.timer);
    }

    /// The tab this runtime writes for.
    pub fn tab(&self) -> &str {
        self.keys.tab()
    }

    /// Records one call: `kind` is `track`, `page`, `screen`, `identify`,
    /// `group` or `alias`; `name` the event or page/screen name, the user,
    /// group or new id; `payload` the properties or traits as JSON text
    /// (empty for none). Committed to storage before it returns. An invalid
    /// call is counted as dropped and its error returned.
    pub fn record(&mut self, kind: &str, name: &str, payload: &str, now: i64) -> Result<(), Error> {
        let now = self.tick(now);
        let call = self.call_of(kind, name, payload)?;
        if let Err(e) = self.recorder.check_strict(&call, &mut self.engine, now) {
            // Counted by the check; its counts go to storage now.
            self.commit();
            return Err(e);
        }
        self.recorder.record(call, &mut self.engine, now);
        self.commit();
        Ok(())
    }

    /// Records one call as [`record`](Self::record) does, under the
    /// verdict of the page's tracking-plan checker (js/plan.js), which
    /// keeps the violation counts: `Ok(false)` when consent dropped the
    /// call before its verdict counted (the page then counts nothing).
    /// `payload` is what the plan kept of it (`strip`).
    #[cfg(feature = "tracking-plan")]
    pub fn record_judged(
        &mut self,
        kind: &str,
        name: &str,
        payload: &str,
        verdict: PageVerdict,
        now: i64,
    ) -> Result<bool, Error> {
        let now = self.tick(now);
        let call = self.call_of(kind, name, payload)?;
        let judged = match verdict {
            // Strict mode refuses before consent is asked, as natively.
            PageVerdict::Refuse => {
                self.engine
                    .count_external_drop(DropReason::PlanViolation, 1, now);
                true
            }
            PageVerdict::Drop => {
                self.recorder
                    .record_judged(call, true, None, &mut self.engine, now)
            }
            PageVerdict::Keep(violations) => {
                self.recorder
                    .record_judged(call, false, violations, &mut self.engine, now)
            }
        };
        self.commit();
        Ok(judged)
    }

    /// The call `kind` with `payload` (JSON text) as the core records it,
    /// stamped now; an invalid one is counted as dropped and its error
    /// returned.
    fn call_of(&mut self, kind: &str, name: &str, payload: &str) -> Result<Call, Error> {
        let now = self.now;
        let field = if matches!(kind, "identify" | "group") {
            "traits"
        } else {
            "properties"
        };
        let call = object_from_text(field, payload).and_then(|p| match kind {
            "track" => Call::track(name, p, now),
            "page" => Call::page(name, p, now),
            "screen" => Call::screen(name, p, now),
            "identify" => Call::identify(name, p, now),
            "group" => Call::group(name, p, now),
            "alias" => Call::alias(name, now),
            other => Err(Error::InvalidEvent(cat!("unknown call `", other, "`"))),
        });
        match call.and_then(|c| c.check_size(self.max_event_bytes).map(|_| c)) {
            Ok(call) => Ok(call),
            Err(e) => {
                let reason = if matches!(e, Error::EventTooLarge { .. }) {
                    DropReason::Oversize
                } else {
                    DropReason::Invalid
                };
                self.engine.count_external_drop(reason, 1, self.timer);
                Err(e)
            }
        }
    }

    /// Counts a call the page could not even hand over (its properties
    /// could not be turned into JSON) as dropped, `invalid`.
    pub fn drop_invalid(&mut self, now: i64) {
        let now = self.tick(now);
        self.engine.count_external_drop(DropReason::Invalid, 1, now);
    }

    /// How long one upload may take before it is aborted (`requestTimeout`).
    pub fn request_timeout_ms(&self) -> u64 {
        self.request_timeout_ms
    }

    /// Reads the batch after the one on the wire (see
    /// [`Engine::claim_next`]): the page calls it once the upload has left.
    pub fn claim_next(&mut self, now: i64) {
        let now = self.tick(now);
        self.follow_forget(now);
        self.engine.claim_next(now);
    }

    /// Removes up to [`TIDY_KEYS`] of the keys delivered events keep in
    /// storage until no upload is out (see [`BrowserStore`]); true while
    /// some remain. The page calls it when none of its uploads is out.
    pub fn tidy(&mut self) -> bool {
        self.engine.tidy(TIDY_KEYS)
    }

    /// The next upload to send, if one is due now and none is on the wire.
    pub fn poll(&mut self, now: i64) -> Option<Outgoing> {
        let now = self.tick(now);
        // With several destinations the engine sends one upload per
        // destination at a time, each on its own.
        #[cfg(not(feature = "destinations"))]
        if self.in_flight.is_some() {
            return None;
        }
        // Only when an upload is due, so its events are about to be read:
        // not once for every call recorded meanwhile.
        if self.engine.next_wakeup(now).is_some_and(|at| at <= now) {
            self.follow_forget(now);
        }
        let up = self.engine.poll_upload(now)?;
        #[cfg(feature = "destinations")]
        let destination = up.destination;
        let out = Outgoing::from_upload(up);
        let flight = Flight {
            id: out.id,
            #[cfg(feature = "destinations")]
            destination,
            events: out.events,
            keepalive: out.keepalive,
        };
        #[cfg(not(feature = "destinations"))]
        {
            self.in_flight = Some(flight);
        }
        #[cfg(feature = "destinations")]
        self.in_flight.push(flight);
        Some(out)
    }

    fn settle(&mut self, id: u64, result: Result<HttpResponse, String>, now: i64) {
        let now = self.tick(now);
        #[cfg(not(feature = "destinations"))]
        if self.in_flight.is_some_and(|f| f.id == id) {
            self.in_flight = None;
        }
        #[cfg(feature = "destinations")]
        self.in_flight.retain(|f| f.id != id);
        self.engine.on_upload_result(id, result, now);
    }

    /// The server answered upload `id`.
    pub fn on_response(
        &mut self,
        id: u64,
        status: u16,
        retry_after: Option<String>,
        body: String,
        now: i64,
    ) {
        self.settle(
            id,
            Ok(HttpResponse {
                status,
                retry_after,
                body,
            }),
            now,
        );
    }

    /// Upload `id` failed without an answer (offline, refused, timed out,
    /// blocked by CORS); `reason` is what the browser said.
    pub fn on_error(&mut self, id: u64, reason: &str, now: i64) {
        self.settle(id, Err(cat!("request failed: ", reason)), now);
    }

    /// The upload on the wire whose events were purged (consent revoked,
    /// opt-out, forget): abort it if it can still be stopped.
    pub fn purged_upload(&self) -> Option<u64> {
        self.engine.purged_upload()
    }

    /// When to call [`poll`](Self::poll) next (ms since epoch, counted
    /// from the wall-clock reading `now`), if ever without new input.
    pub fn next_wakeup(&mut self, now: i64) -> Option<i64> {
        let wall = now;
        let now = self.tick(wall);
        // The page waits on its own wall clock: the same wait from its
        // reading, whatever step the wall clock took.
        self.engine.next_wakeup(now).map(|at| wall + (at - now))
    }

    /// Sends everything recorded so far as soon as the backoff allows.
    pub fn flush(&mut self) {
        self.commit();
        self.engine.flush();
    }

    /// Sequence number of the last committed event (for `flush()` waiters).
    pub fn last_seq(&self) -> u64 {
        self.engine.last_seq()
    }

    /// True when nothing up to `seq` still waits to be delivered.
    pub fn delivered_through(&self, seq: u64) -> bool {
        self.engine.delivered_through(seq)
    }

    /// The page is going away (`pagehide`): hands what is queued to the
    /// browser, which sends it after the page is gone.
    ///
    /// - If delivery is failing (a retry is scheduled, or the write key was
    ///   refused), nothing is handed off: a beacon would most likely be lost
    ///   too, and the events stay queued for the next page load. So do
    ///   they when the upload on the wire is too big for `keepalive`.
    ///   An upload on the wire then is to be cancelled ([`HandOff::cancel`]):
    ///   the next page sends its events, and must be the only one to.
    /// - Otherwise an upload already on the wire with `keepalive` is the
    ///   browser's to finish: it counts as handed off.
    /// - Then every queued batch goes to `send` (a beacon or keepalive fetch,
    ///   each under 64 KiB) until the browser refuses one; the rest stays.
    ///
    /// A handed-off batch is deleted from the queue: its answer can never be
    /// read, and keeping it would send it again with every page navigation.
    /// It is lost only if the network fails at that very moment, after the
    /// last delivery succeeded; it is counted in `handedOffEvents`.
    pub fn hand_off(&mut self, now: i64, send: &mut dyn FnMut(&Outgoing) -> bool) -> HandOff {
        let now = self.tick(now);
        self.commit();
        let mut report = HandOff::default();
        let stats = self.engine.stats(now);
        // With several destinations each is judged on its own (`settle_each`).
        #[cfg(feature = "destinations")]
        let several = stats.destinations.len() > 1;
        #[cfg(not(feature = "destinations"))]
        let several = false;
        let failing = if several {
            None
        } else if stats.auth_failed {
            Some("the server refused the write key")
        } else if stats.next_retry_in_ms.is_some() {
            Some("delivery is failing and a retry is scheduled")
        } else {
            None
        };
        #[cfg(not(feature = "destinations"))]
        let unsendable = self
            .in_flight
            .filter(|f| !f.keepalive)
            .and(Some(TOO_LARGE_ON_THE_WIRE));
        #[cfg(feature = "destinations")]
        let unsendable = self
            .in_flight
            .iter()
            .any(|f| !f.keepalive && !several)
            .then_some(TOO_LARGE_ON_THE_WIRE);
        if let Some(why) = failing.or(unsendable) {
            // A retry, or a big upload, may be on the wire: the page cancels
            // it, since its events stay queued and a request that got
            // through anyway would deliver them twice. The page is gone for
            // this runtime (`js/index.js` makes a new one if it comes back),
            // so the flight is not settled here: that saves the browser
            // package bytes it does not have (docs/web.md, "Size").
            #[cfg(not(feature = "destinations"))]
            {
                report.cancel = self.in_flight.map(|f| f.id);
            }
            #[cfg(feature = "destinations")]
            {
                report.cancel = self.in_flight.iter().map(|f| f.id).collect();
            }
            report.kept = self.engine.queued_events();
            report.why_kept = Some(cat!(why, KEPT_FOR_NEXT_LOAD));
            return report;
        }
        self.engine.flush();
        // The failing destinations keep their events for the next page load.
        #[cfg(feature = "destinations")]
        let keep = if several {
            self.settle_each(&stats.destinations, now, &mut report)
        } else {
            Vec::new()
        };
        #[cfg(not(feature = "destinations"))]
        if let Some(f) = self.in_flight {
            self.settle(f.id, Ok(handed_off_response()), now);
            report.handed_off += f.events as u64;
        }
        #[cfg(feature = "destinations")]
        if !several {
            for f in self.in_flight.clone() {
                self.settle(f.id, Ok(handed_off_response()), now);
                report.handed_off += f.events as u64;
            }
        }
        while let Some(up) = self.engine.poll_upload(now) {
            // A failing destination's retry may be due: not as a beacon,
            // which would go out unanswered where requests fail.
            #[cfg(feature = "destinations")]
            if keep.contains(&up.destination) {
                let why = "delivery is failing: kept for the next page load";
                self.engine.on_upload_result(up.id, Err(why.into()), now);
                continue;
            }
            let out = Outgoing::from_upload(up);
            if out.keepalive && send(&out) {
                self.engine
                    .on_upload_result(out.id, Ok(handed_off_response()), now);
                report.handed_off += out.events as u64;
            } else {
                let why = "the browser did not take the batch as the page went away (over its keepalive allowance)";
                self.engine.on_upload_result(out.id, Err(why.into()), now);
                report.why_kept = Some(cat!(why, KEPT_FOR_NEXT_LOAD));
                break;
            }
        }
        report.kept = self.engine.queued_events();
        self.counters.handed_off_events += report.handed_off;
        report
    }

    /// The uploads on the wire at a hand-off with several destinations,
    /// each judged on its own: one whose destination is failing (refused
    /// the write key, or a retry is scheduled), or too large for
    /// keepalive, is cancelled and its events stay for the next page load;
    /// the others are the browser's to finish. Returns the failing
    /// destinations (positions), whose queues stay too; the others' go out
    /// as beacons.
    #[cfg(feature = "destinations")]
    fn settle_each(
        &mut self,
        lanes: &[cairn::DestinationStats],
        now: i64,
        report: &mut HandOff,
    ) -> Vec<usize> {
        let failing = |l: &cairn::DestinationStats| {
            if l.auth_failed {
                Some("the server refused the write key")
            } else if l.next_retry_in_ms.is_some() {
                Some("delivery is failing and a retry is scheduled")
            } else {
                None
            }
        };
        let mut keep = Vec::new();
        for (i, lane) in lanes.iter().enumerate() {
            if let Some(why) = failing(lane) {
                keep.push(i);
                report.why_kept = Some(cat!(lane.name.as_str(), ": ", why, KEPT_FOR_NEXT_LOAD));
            }
        }
        for f in self.in_flight.clone() {
            let Some(lane) = lanes.get(f.destination) else {
                continue;
            };
            let why = failing(lane).or((!f.keepalive).then_some(TOO_LARGE_ON_THE_WIRE));
            if let Some(why) = why {
                report.cancel.push(f.id);
                report.why_kept = Some(cat!(lane.name.as_str(), ": ", why, KEPT_FOR_NEXT_LOAD));
            } else {
                self.settle(f.id, Ok(handed_off_response()), now);
                report.handed_off += f.events as u64;
            }
        }
        keep
    }

    /// Tabs of this site, other than this one, that have something stored.
    /// With `stale_only`, only those that have not shown they are alive for
    /// [`STALE_TAB_MS`] (for browsers without Web Locks).
    pub fn other_tabs(&mut self, now: i64, stale_only: bool) -> Vec<String> {
        self.tick(now);
        let now = self.now;
        let mut tabs = Keys::tabs_in(&self.kv, self.keys.prefix());
        tabs.retain(|t| t != self.keys.tab());
        if stale_only {
            tabs.retain(|t| {
                let alive = self
                    .kv
                    .get(&Keys::new(self.keys.prefix(), t).alive())
                    .and_then(|v| parse_i64(&v))
                    .unwrap_or(0);
                now - alive > STALE_TAB_MS
            });
        }
        tabs
    }

    /// Marks this tab alive now (or gone, with `alive = false`), for tabs
    /// that cannot see its Web Lock.
    pub fn mark_alive(&mut self, now: i64, alive: bool) {
        self.tick(now);
        let value = if alive {
            i64_text(self.now)
        } else {
            "0".into()
        };
        self.kv.set(&self.keys.alive(), &value);
    }

    /// Takes over the queue of tab `tab`, which is gone: its events are
    /// recorded into this tab's queue in their order, with their message ids
    /// and times, and sent at once; its drop counters are added to this
    /// tab's. Events recorded before a `forget()` or while consent is now
    /// refused are erased instead (counted as `consent`). The caller must
    /// hold the gone tab's lock. Returns how many events were taken over.
    pub fn adopt(&mut self, tab: &str, now: i64) -> u64 {
        let now = self.tick(now);
        let keys = Keys::new(self.keys.prefix(), tab);
        if tab == self.keys.tab() || self.kv.keys_with_prefix(&keys.tab_prefix()).is_empty() {
            return 0;
        }
        #[cfg(feature = "destinations")]
        let done = self.take_progress(&keys);
        let (events, drops, unreadable) = BrowserStore::drain_tab(&self.kv, &keys);
        if let Some(d) = drops.and_then(|t| DropCounts::from_json(&t)) {
            for (reason, _, n) in d.by_reason() {
                self.engine.count_external_drop(reason, n, now);
            }
        }
        self.engine
            .count_external_drop(DropReason::Corrupt, unreadable, now);
        let forgotten_at = self
            .kv
            .get(&shared_state_key(self.keys.prefix(), FORGOTTEN_KEY))
            .and_then(|v| parse_i64(&v));
        let refused = self.recorder.consent().gate() == Gate::Drop;
        let kept = |e: &NewEvent| !refused && forgotten_at.is_none_or(|f| e.created_ms >= f);
        // Of the events each destination had, those kept: the first of
        // the kept ones, since a queue is in order.
        #[cfg(feature = "destinations")]
        let done: Vec<(String, u64)> = done
            .into_iter()
            .map(|(name, k, _)| {
                let had = events.iter().take(k).filter(|e| kept(e)).count();
                (name, had as u64)
            })
            .collect();
        let (keep, erased): (Vec<NewEvent>, Vec<NewEvent>) = events.into_iter().partition(kept);
        self.engine
            .count_external_drop(DropReason::Consent, erased.len() as u64, now);
        let n = keep.len() as u64;
        if n > 0 {
            let recorded = self.engine.record(keep, Vec::new(), now);
            // Taken over with the gone tab's progress: a destination is not
            // sent again what it had (held in memory: were the store
            // failing, they would go again, with their ids).
            #[cfg(feature = "destinations")]
            if let cairn::engine::Recorded::Durable(last) = recorded {
                let first = last + 1 - n;
                for (name, had) in done.iter().filter(|d| d.1 > 0) {
                    self.engine
                        .delivered_elsewhere(name, first, first + had - 1);
                }
            }
            #[cfg(not(feature = "destinations"))]
            let _ = recorded;
            self.engine.flush();
        }
        self.counters.adopted_events += n;
        self.counters.adopted_tabs += 1;
        n
    }

    /// Another tab changed shared state (a `storage` event): follow its
    /// consent decisions and opt-out (with the recorder's own rules: a
    /// revocation purges this tab's queue too), its identity, and its
    /// `forget()`.
    pub fn sync_shared(&mut self, now: i64) {
        let now = self.tick(now);
        if self.follow_forget(now) {
            return;
        }
        let prefix = self.keys.prefix().to_string();
        if let Some(text) = self.kv.get(&shared_state_key(&prefix, consent::STATE_KEY)) {
            let mut theirs = Consent::new(&self.settings.consent, &self.settings.required_consent);
            theirs.restore(&text);
            let mine = self.recorder.consent().clone();
            for (category, state) in &theirs.categories {
                if mine.categories.get(category) != Some(state) {
                    self.recorder
                        .set_consent(category, *state, &mut self.engine, now);
                }
            }
            if theirs.opted_out != mine.opted_out {
                self.recorder
                    .opt_out(theirs.opted_out, &mut self.engine, now);
            }
        }
        let theirs = self
            .kv
            .get(&shared_state_key(&prefix, identity::STATE_KEY))
            .and_then(|t| Identity::from_json(&t));
        if theirs.is_some_and(|id| &id != self.recorder.identity())
            && self.recorder.held_events() == 0
        {
            self.reload_recorder();
        }
    }

    /// Follows a `forget()` made in another tab since this tab last looked:
    /// purges this tab's queue (`consent`) and reloads identity. Also
    /// looked at before reading events to send: that tab erased them from
    /// storage before this one hears of it, and finding them gone would
    /// count them `corrupt`.
    fn follow_forget(&mut self, now: i64) -> bool {
        let forgotten = self
            .kv
            .get(&shared_state_key(self.keys.prefix(), FORGOTTEN_KEY));
        if forgotten.is_none() || forgotten == self.seen_forgotten {
            return false;
        }
        self.seen_forgotten = forgotten;
        let held = self.recorder.held_events() as u64;
        self.engine.purge(DropReason::Consent, now);
        self.engine
            .count_external_drop(DropReason::Consent, held, now);
        self.reload_recorder();
        true
    }

    /// Loads identity, consent and session again from shared storage.
    fn reload_recorder(&mut self) {
        self.commit();
        self.recorder = Recorder::load(self.settings.clone(), self.engine.store_mut(), None);
        if !self.extra_context.is_empty() {
            self.recorder.set_context_object(self.extra_context.clone());
        }
        self.commit();
    }

    /// The user's traits in force, as JSON text (a tracking plan's rules
    /// on them are checked by the page, js/plan.js).
    pub fn traits_json(&self) -> String {
        self.recorder.identity().traits.to_text()
    }

    /// Clears user id, traits and group and makes a new anonymous id.
    pub fn reset(&mut self) {
        self.recorder.reset();
        self.commit();
    }

    /// Replaces the anonymous id.
    pub fn set_anonymous_id(&mut self, anonymous_id: &str) -> Result<(), Error> {
        check_name(Subject::AnonymousId, anonymous_id)?;
        self.recorder.set_anonymous_id(anonymous_id);
        self.commit();
        Ok(())
    }

    /// Merges `context` (a JSON object as text) into every later event's
    /// context; a `null` value removes a key.
    pub fn set_context(&mut self, context_json: &str) -> Result<(), Error> {
        // The checks properties get (depth, numbers), then the merge's own reading.
        object_from_text("context", context_json)?;
        let value = json::parse(context_json).map_err(|e| {
            Error::InvalidEvent(cat!("context is not valid JSON (", e.message(), ")"))
        })?;
        let Json::Object(map) = value else {
            return Err(Error::InvalidEvent(
                "context must be an object like {\"app\": {\"version\": \"2.1\"}}".into(),
            ));
        };
        for (k, v) in &map {
            if v.is_null() {
                self.extra_context.remove(k);
            } else {
                self.extra_context.insert(k.clone(), v.clone());
            }
        }
        self.recorder.set_context_object(map);
        Ok(())
    }

    /// Records the user's decision for one consent category.
    pub fn set_consent(
        &mut self,
        category: &str,
        state: ConsentState,
        now: i64,
    ) -> Result<(), Error> {
        check_name(Subject::ConsentCategory, category)?;
        let now = self.tick(now);
        self.recorder
            .set_consent(category, state, &mut self.engine, now);
        Ok(())
    }

    /// Opts out (`true`: nothing more is stored or sent, the queue is
    /// purged; it persists) or back in.
    pub fn opt_out(&mut self, opted_out: bool, now: i64) {
        let now = self.tick(now);
        self.recorder.opt_out(opted_out, &mut self.engine, now);
    }

    /// Erases the user from this browser: this tab's queue, identity, traits,
    /// consent decisions and session, and the queues every other tab of the
    /// site left in storage; tells the site's other open tabs to do the same.
    pub fn forget(&mut self, now: i64) -> Forgotten {
        let now = self.tick(now);
        let mut forgotten = self.recorder.forget(&mut self.engine, now);
        let prefix = self.keys.prefix().to_string();
        // Marked before the other tabs' queues are erased: a tab about to
        // read its events follows the mark first (`follow_forget`), so it
        // counts them `consent`, never finds them gone (`corrupt`).
        let mark = i64_text(self.now);
        self.kv
            .set(&shared_state_key(&prefix, FORGOTTEN_KEY), &mark);
        self.seen_forgotten = Some(mark);
        for tab in Keys::tabs_in(&self.kv, &prefix) {
            if tab == self.keys.tab() {
                continue;
            }
            let (events, _, unreadable) =
                BrowserStore::drain_tab(&self.kv, &Keys::new(&prefix, &tab));
            forgotten.events_erased += events.len() as u64 + unreadable;
            for e in &events {
                if let Ok(v) = json::parse(&e.json) {
                    if let Some(a) = v["anonymousId"].as_str() {
                        forgotten.anonymous_ids.push(a.to_string());
                    }
                    for k in ["userId", "previousId"] {
                        if let Some(u) = v[k].as_str() {
                            forgotten.user_ids.push(u.to_string());
                        }
                    }
                }
            }
        }
        dedup(&mut forgotten.anonymous_ids);
        dedup(&mut forgotten.user_ids);
        forgotten
    }

    /// The anonymous id in force.
    pub fn anonymous_id(&self) -> &str {
        self.recorder.anonymous_id()
    }

    /// The user id in force.
    pub fn user_id(&self) -> Option<&str> {
        self.recorder.identity().user_id.as_deref()
    }

    /// The browser's own counters.
    pub fn counters(&self) -> BrowserCounters {
        self.counters
    }

    /// `stats()` as JSON text: the engine's snapshot (the core's
    /// `snake_case` names; the JS layer renames them) and a `browser` object
    /// with storage health, hand-offs and adoptions.
    pub fn stats_json(&mut self, now: i64) -> String {
        let now = self.tick(now);
        let mut stats = self.engine.stats(now);
        stats.plan = self.recorder.plan_stats().clone();
        let engine = stats.to_json();
        let kv = self.kv.stats();
        let storage = if kv.quota_errors + kv.unavailable_errors == 0 {
            "localStorage"
        } else {
            "memory fallback"
        };
        let error = Json::from(self.kv.last_error());
        let mut tab = String::new();
        push_string(&mut tab, self.keys.tab());
        let browser = cat!(
            "{\"tab\":",
            tab,
            ",\"storage\":\"",
            storage,
            "\",\"quota_errors\":",
            kv.quota_errors,
            ",\"unavailable_errors\":",
            kv.unavailable_errors,
            ",\"volatile_values\":",
            kv.volatile_values,
            ",\"storage_error\":",
            error.to_text(),
            ",\"held_for_consent\":",
            self.recorder.held_events(),
            ",\"handed_off_events\":",
            self.counters.handed_off_events,
            ",\"adopted_events\":",
            self.counters.adopted_events,
            ",\"adopted_tabs\":",
            self.counters.adopted_tabs,
            "}"
        );
        // `engine` is a JSON object: splice `browser` in before its last brace.
        match engine.strip_suffix('}') {
            Some(head) if head.len() > 1 => cat!(head, ",\"browser\":", browser, "}"),
            _ => cat!("{\"browser\":", browser, "}"),
        }
    }
}

/// Removes repeated strings, keeping the first of each (no sorting code).
fn dedup(v: &mut Vec<String>) {
    let mut seen: Vec<String> = Vec::with_capacity(v.len());
    v.retain(|s| {
        if seen.contains(s) {
            false
        } else {
            seen.push(s.clone());
            true
        }
    });
}

/// [`Forgotten`] as JSON text for the page.
pub fn forgotten_json(f: &Forgotten) -> String {
    let list = |v: &Vec<String>| Json::Array(v.iter().map(|s| Json::from(s.as_str())).collect());
    cat!(
        "{\"anonymous_ids\":",
        list(&f.anonymous_ids).to_text(),
        ",\"user_ids\":",
        list(&f.user_ids).to_text(),
        ",\"events_erased\":",
        f.events_erased,
        "}"
    )
}

/// [`HandOff`] as JSON text for the page.
pub fn hand_off_json(h: &HandOff) -> String {
    let why = Json::from(h.why_kept.clone());
    let head = cat!(
        "{\"handed_off\":",
        h.handed_off,
        ",\"kept\":",
        h.kept,
        ",\"why_kept\":",
        why.to_text()
    );
    // The upload to cancel (the default package), or an array of them.
    #[cfg(not(feature = "destinations"))]
    return match h.cancel {
        Some(id) => cat!(head, ",\"cancel\":", id, "}"),
        None => cat!(head, "}"),
    };
    #[cfg(feature = "destinations")]
    {
        let cancel = Json::Array(h.cancel.iter().map(|&id| Json::from(id)).collect());
        cat!(head, ",\"cancel\":", cancel.to_text(), "}")
    }
}

// At the end of the file: the default package's location data for the
// code above stays as it was (its size moves with line numbers).
#[cfg(feature = "destinations")]
impl<B: Backend + 'static> Runtime<B> {
    /// Of gone tab `keys`, how many of its first events each destination is
    /// done with ([`adopt`](Self::adopt) keeps them from being sent twice);
    /// adds each destination's drop counts there to its own here, so that
    /// what it lost in the gone tab still shows.
    fn take_progress(&mut self, keys: &Keys) -> Vec<(String, usize, Option<String>)> {
        let mut progress = BrowserStore::progress(&self.kv, keys);
        for (name, _, drops) in &mut progress {
            if let Some(d) = drops.take().as_deref().and_then(DropCounts::from_json) {
                self.engine.add_destination_drops(name, &d);
            }
        }
        progress
    }
}

#[cfg(test)]
#[path = "runtime_tests.rs"]
mod tests;
