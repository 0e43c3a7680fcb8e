//! Configuration: every tunable, its default, and the rules it must satisfy.
//!
//! The defaults are written here once, as constants; the docs and the
//! configuration reference quote these constants. [`ClientBuilder`] collects
//! settings and [`ClientBuilder::config`] validates them into a [`Config`],
//! naming the offending builder method in the error. What the settings *do*
//! is decided elsewhere (batching and retries in the engine, storage in the
//! store); this module only holds and checks them.

use crate::prelude::*;

use core::time::Duration;
#[cfg(feature = "std")]
use std::path::PathBuf;

use serde_json::Value;

use crate::cat;
use crate::consent::ConsentState;
use crate::destination::{Destination, DestinationKind};
use crate::error::{Error, Result};
use crate::json::{Json, Object};
use crate::model::{MAX_NAME_BYTES, MAX_PAYLOAD_DEPTH};
use crate::plan::TrackingPlan;
use alloc::sync::Arc;

/// Where the builder's tracking plan comes from.
#[derive(Clone, PartialEq)]
#[cfg_attr(feature = "std", derive(Debug))]
enum PlanSource {
    // Text and files are the native API's: the browser compiles the page's
    // plan itself (with its RegExp engine), so its build carries no second
    // path to the compiler.
    #[cfg(feature = "std")]
    Text(String),
    #[cfg(feature = "std")]
    File(PathBuf),
    Compiled(Arc<TrackingPlan>),
}

/// Events queued before a batch is sent at once: 20.
pub const DEFAULT_FLUSH_AT: usize = 20;
/// Longest time an event waits before its batch is sent anyway: 10 s.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// Most events in one upload: 1,000. Batches are this big only under a
/// backlog (while one upload is on the wire, the next takes everything
/// queued meanwhile, up to this and [`DEFAULT_MAX_BATCH_BYTES`]): each
/// round trip then carries ten times what it did at 100, which is most of
/// what a burst or a drain is waiting on (docs/performance.md). Amplitude's
/// batch limit (2,000) and Segment's 500 KB both hold it.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 1_000;
/// Most bytes in one upload body before compression: 500,000 (Segment accepts 500 KB).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 500_000;
/// Largest single event once encoded: 32,000 bytes (Segment accepts 32 KB).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32_000;
/// How long one HTTP request may take, connect to last byte: 15 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Upload bodies are gzip-compressed by default.
pub const DEFAULT_GZIP: bool = true;
/// The retry window of the first failures: up to 500 ms (full jitter: a
/// random delay in `0..=500 ms`, at least 100 ms).
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(500);
/// Failures in a row that each wait within the base window before it starts
/// doubling: 3. A server that fails half its requests at random (the
/// benchmark's fault mix) fails 3 in a row one time in 8; doubling from the
/// first failure made such streaks cost tens of seconds and 20,000 events
/// took minutes to deliver, while a server that is really down is still
/// backed off to [`DEFAULT_MAX_RETRY_DELAY`] within about 13 failures.
pub const RETRY_STEADY_FAILURES: u32 = 3;
/// Each failure past [`RETRY_STEADY_FAILURES`] doubles the retry window.
/// A failure whose wait the server set (`Retry-After`) does not: the server
/// is up and pacing its clients, so it gets exactly the wait it asked for.
pub const RETRY_BACKOFF_FACTOR: u32 = 2;
/// No retry waits longer than 5 minutes, whatever `Retry-After` says.
pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// Most events kept in the buffer; past it the oldest are dropped as `overflow`: 100,000.
pub const DEFAULT_MAX_QUEUE_EVENTS: u64 = 100_000;
/// Most bytes kept in the buffer; past it the oldest are dropped as `overflow`: 64 MiB.
pub const DEFAULT_MAX_QUEUE_BYTES: u64 = 64 * 1024 * 1024;
/// Events older than this are dropped as `expired` instead of sent: 30 days.
pub const DEFAULT_MAX_EVENT_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Calls waiting for the worker before a recording call waits for room: 10,000.
pub const DEFAULT_MAX_PENDING_CALLS: usize = 10_000;
/// Longest a `track`, `screen`, `page` or `enqueue` call waits for room when
/// the worker is that far behind: 5 ms. Past it the call is held in memory
/// behind the others (at most 8 MiB of them), and past that the event is
/// dropped and counted `overflow`: an app's thread is never stalled for
/// longer by analytics. The timed wait itself ends 1 ms early (a quarter of
/// `record_wait` when that is under 4 ms), the time a busy device may take
/// to run the thread again once its timer fires. Calls that change
/// identity or consent (`identify`, `alias`, `group`, `reset`, consent) are
/// never dropped for room; they wait until the worker takes its next calls,
/// which it does every few hundred calls handled (about a millisecond;
/// docs/architecture.md).
pub const DEFAULT_RECORD_WAIT: Duration = Duration::from_millis(5);
/// A session ends after this long without events: 30 minutes.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// `Session Started` / `Session Ended` events are off by default.
pub const DEFAULT_SESSION_EVENTS: bool = false;
/// `identify` with a different user id resets first (new anonymous id) by default.
pub const DEFAULT_RESET_ON_USER_SWITCH: bool = true;
/// Strict mode is off by default: a call that breaks the tracking plan is
/// handled by the plan's policy, not refused with an error.
pub const DEFAULT_STRICT_TRACKING_PLAN: bool = false;
/// The buffer file used when no `storage_path` is given: `cairn.db` in the
/// current directory.
pub const DEFAULT_STORAGE_FILE: &str = "cairn.db";

/// Marks a non-object `context` until `config()` reports it.
const INVALID_CONTEXT_KEY: &str = "\u{0}invalid-context";

/// Hard limits a setting may not cross, whatever the caller asks.
mod limits {
    /// Amplitude accepts at most 2,000 events a request; no backend we know takes more.
    pub const MAX_BATCH_EVENTS: usize = 2_000;
    /// The shortest flush interval that still batches anything.
    pub const MIN_FLUSH_INTERVAL_MS: u64 = 10;
    /// The longest any duration setting may be (ten years): the engine
    /// counts time in milliseconds since 1970 in an `i64`, and a
    /// `Duration::MAX` added to it would overflow.
    pub const MAX_DURATION: core::time::Duration =
        core::time::Duration::from_secs(10 * 365 * 24 * 3600);
}

/// A validated configuration. Build it with [`ClientBuilder`].
#[derive(Clone, PartialEq)]
pub struct Config {
    /// The backend's write key (Segment/RudderStack source key).
    pub write_key: String,
    /// The tracking plan every call is checked against (none: no checks,
    /// no cost).
    pub tracking_plan: Option<Arc<TrackingPlan>>,
    /// Whether a call that breaks the plan is refused with
    /// [`Error::PlanViolation`] (see [`ClientBuilder::strict_tracking_plan`]).
    pub strict_tracking_plan: bool,
    /// Base URL of the backend, without a trailing slash, e.g. `https://api.example.com`.
    pub endpoint: String,
    /// The backend's format (Segment unless [`ClientBuilder::destination`]
    /// said otherwise); see [`Config::destinations`].
    pub destination: DestinationKind,
    /// Which events the builder's own destination takes.
    #[cfg(feature = "lanes")]
    pub routing: crate::routing::Routing,
    /// The destinations added with [`ClientBuilder::add_destination`], validated.
    #[cfg(feature = "lanes")]
    pub more_destinations: Vec<Destination>,
    /// The SQLite file that buffers events (with `std`; the browser keeps its own).
    #[cfg(feature = "std")]
    pub storage_path: PathBuf,
    /// See [`DEFAULT_FLUSH_AT`].
    pub flush_at: usize,
    /// See [`DEFAULT_FLUSH_INTERVAL`].
    pub flush_interval: Duration,
    /// See [`DEFAULT_MAX_BATCH_EVENTS`].
    pub max_batch_events: usize,
    /// See [`DEFAULT_MAX_BATCH_BYTES`].
    pub max_batch_bytes: usize,
    /// See [`DEFAULT_MAX_EVENT_BYTES`].
    pub max_event_bytes: usize,
    /// See [`DEFAULT_REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`DEFAULT_GZIP`].
    pub gzip: bool,
    /// See [`DEFAULT_RETRY_BASE_DELAY`].
    pub retry_base_delay: Duration,
    /// See [`DEFAULT_MAX_RETRY_DELAY`].
    pub max_retry_delay: Duration,
    /// See [`DEFAULT_MAX_QUEUE_EVENTS`].
    pub max_queue_events: u64,
    /// See [`DEFAULT_MAX_QUEUE_BYTES`].
    pub max_queue_bytes: u64,
    /// See [`DEFAULT_MAX_EVENT_AGE`].
    pub max_event_age: Duration,
    /// See [`DEFAULT_MAX_PENDING_CALLS`].
    pub max_pending_calls: usize,
    /// See [`DEFAULT_RECORD_WAIT`]. Native only: the browser has no worker
    /// thread to wait for.
    #[cfg(feature = "std")]
    pub record_wait: Duration,
    /// See [`DEFAULT_SESSION_TIMEOUT`].
    pub session_timeout: Duration,
    /// See [`DEFAULT_SESSION_EVENTS`].
    pub session_events: bool,
    /// See [`DEFAULT_RESET_ON_USER_SWITCH`].
    pub reset_on_user_switch: bool,
    /// Consent categories and their state before the user said anything.
    pub consent: Vec<(String, ConsentState)>,
    /// Categories the destination needs granted before events are stored and sent.
    pub required_consent: Vec<String>,
    /// Context every event carries (app, device, os, locale...).
    pub context: Object,
    /// The anonymous id to use on first start, instead of a new UUID.
    pub anonymous_id: Option<String>,
}

/// Collects settings for a client; every setter is optional except
/// [`endpoint`](Self::endpoint). Created by `Client::builder(write_key)` (or
/// [`ClientBuilder::new`] where the native runtime is not built).
#[derive(Clone)]
pub struct ClientBuilder {
    write_key: String,
    tracking_plan: Option<PlanSource>,
    strict_tracking_plan: bool,
    endpoint: Option<String>,
    destination: DestinationKind,
    #[cfg(feature = "lanes")]
    routing: crate::routing::Routing,
    #[cfg(feature = "lanes")]
    more_destinations: Vec<Destination>,
    #[cfg(feature = "std")]
    storage_path: Option<PathBuf>,
    flush_at: usize,
    flush_interval: Duration,
    max_batch_events: usize,
    max_batch_bytes: usize,
    max_event_bytes: usize,
    request_timeout: Duration,
    gzip: bool,
    retry_base_delay: Duration,
    max_retry_delay: Duration,
    max_queue_events: u64,
    max_queue_bytes: u64,
    max_event_age: Duration,
    max_pending_calls: usize,
    #[cfg(feature = "std")]
    record_wait: Duration,
    session_timeout: Duration,
    session_events: bool,
    reset_on_user_switch: bool,
    consent: Vec<(String, ConsentState)>,
    required_consent: Vec<String>,
    context: Object,
    anonymous_id: Option<String>,
}

impl ClientBuilder {
    /// Starts a configuration with every default, for `write_key`.
    pub fn new(write_key: impl Into<String>) -> Self {
        ClientBuilder {
            write_key: write_key.into(),
            tracking_plan: None,
            strict_tracking_plan: DEFAULT_STRICT_TRACKING_PLAN,
            endpoint: None,
            destination: DestinationKind::Segment,
            #[cfg(feature = "lanes")]
            routing: crate::routing::Routing::default(),
            #[cfg(feature = "lanes")]
            more_destinations: Vec::new(),
            #[cfg(feature = "std")]
            storage_path: None,
            flush_at: DEFAULT_FLUSH_AT,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            gzip: DEFAULT_GZIP,
            retry_base_delay: DEFAULT_RETRY_BASE_DELAY,
            max_retry_delay: DEFAULT_MAX_RETRY_DELAY,
            max_queue_events: DEFAULT_MAX_QUEUE_EVENTS,
            max_queue_bytes: DEFAULT_MAX_QUEUE_BYTES,
            max_event_age: DEFAULT_MAX_EVENT_AGE,
            max_pending_calls: DEFAULT_MAX_PENDING_CALLS,
            #[cfg(feature = "std")]
            record_wait: DEFAULT_RECORD_WAIT,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            session_events: DEFAULT_SESSION_EVENTS,
            reset_on_user_switch: DEFAULT_RESET_ON_USER_SWITCH,
            consent: Vec::new(),
            required_consent: Vec::new(),
            context: Object::new(),
            anonymous_id: None,
        }
    }

    /// The backend's base URL (required), `http://` or `https://`; cairn posts
    /// to `{endpoint}/v1/batch`. `build()` refuses a URL that does not parse,
    /// carries white space, credentials, a query or a fragment, or already
    /// ends in `/v1/batch` (see docs/configuration.md).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The backend's format (default [`DestinationKind::Segment`], which
    /// RudderStack and other compatible backends accept too). With
    /// [`DestinationKind::Amplitude`] the key given to the builder is the
    /// Amplitude API key and events go to `{endpoint}/2/httpapi` (or
    /// `/batch`); with [`DestinationKind::PostHog`] it is the project API
    /// key and events go to `{endpoint}/batch/`. See docs/destinations.md.
    ///
    /// ```
    /// use cairn::{ClientBuilder, DestinationKind};
    /// let config = ClientBuilder::new("AMPLITUDE_API_KEY")
    ///     .endpoint("https://api2.amplitude.com")
    ///     .destination(DestinationKind::amplitude())
    ///     .config()
    ///     .unwrap();
    /// assert_eq!(config.destinations()[0].kind.path(), "/2/httpapi");
    /// ```
    pub fn destination(mut self, kind: DestinationKind) -> Self {
        self.destination = kind;
        self
    }

    /// Delivers to one more destination from the same buffer (call once per
    /// destination, up to [`MAX_DESTINATIONS`] in all with the builder's
    /// own, which stays the one named
    /// [`DEFAULT_DESTINATION`](crate::destination::DEFAULT_DESTINATION)).
    /// Each has its own cursor, batches, backoff and routing: one that is
    /// down never delays the others, and an event leaves the buffer once
    /// every destination has delivered it, dropped it or passed it over.
    ///
    /// ```
    /// use cairn::destination::{Destination, DestinationKind};
    /// let config = cairn::Client::builder("SEGMENT_WRITE_KEY")
    ///     .endpoint("https://api.segment.io")
    ///     .add_destination(
    ///         Destination::new("amplitude", DestinationKind::amplitude(), "https://api2.amplitude.com", "AMPLITUDE_API_KEY")
    ///             .allow_events(["Order *", "Signed Up"])
    ///             .consent_categories(["analytics"]),
    ///     )
    ///     .config()
    ///     .unwrap();
    /// assert_eq!(config.destinations().len(), 2);
    /// ```
    #[cfg(feature = "lanes")]
    pub fn add_destination(mut self, destination: Destination) -> Self {
        self.more_destinations.push(destination);
        self
    }

    /// Which events the builder's own destination (the one at `endpoint`,
    /// named [`DEFAULT_DESTINATION`](crate::destination::DEFAULT_DESTINATION))
    /// takes: every event by default; see [`Destination::allow_events`] and
    /// its siblings. A rule that does not validate is refused naming its
    /// field, e.g. "invalid config `call_types`: unknown call type `Track`: …".
    ///
    /// ```
    /// use cairn::routing::Routing;
    /// let config = cairn::Client::builder("SEGMENT_WRITE_KEY")
    ///     .endpoint("https://api.segment.io")
    ///     .routing(Routing {
    ///         allow_events: vec!["Order *".into()],
    ///         ..Routing::default()
    ///     })
    ///     .config()
    ///     .unwrap();
    /// assert_eq!(config.destinations()[0].routing.allow_events, ["Order *"]);
    /// ```
    #[cfg(feature = "lanes")]
    pub fn routing(mut self, routing: crate::routing::Routing) -> Self {
        self.routing = routing;
        self
    }
    /// The SQLite file that buffers events (default [`DEFAULT_STORAGE_FILE`]).
    #[cfg(feature = "std")]
    pub fn storage_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.storage_path = Some(path.into());
        self
    }
    /// Send a batch as soon as this many events are queued (default [`DEFAULT_FLUSH_AT`]).
    pub fn flush_at(mut self, events: usize) -> Self {
        self.flush_at = events;
        self
    }
    /// Send queued events at the latest this long after the first of them
    /// arrived (default [`DEFAULT_FLUSH_INTERVAL`]).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }
    /// Most events in one upload (default [`DEFAULT_MAX_BATCH_EVENTS`], at most 2,000).
    pub fn max_batch_events(mut self, events: usize) -> Self {
        self.max_batch_events = events;
        self
    }
    /// Most bytes in one upload before compression (default [`DEFAULT_MAX_BATCH_BYTES`]).
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes;
        self
    }
    /// Largest single event once encoded (default [`DEFAULT_MAX_EVENT_BYTES`]).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }
    /// Time limit of one HTTP request (default [`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// Compress upload bodies with gzip (default [`DEFAULT_GZIP`]).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }
    /// Window of the first retry (default [`DEFAULT_RETRY_BASE_DELAY`]); it
    /// doubles with each failure up to `max_retry_delay`.
    pub fn retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = delay;
        self
    }
    /// Longest wait between retries, `Retry-After` included (default [`DEFAULT_MAX_RETRY_DELAY`]).
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay = delay;
        self
    }
    /// Most events kept in the buffer (default [`DEFAULT_MAX_QUEUE_EVENTS`]).
    pub fn max_queue_events(mut self, events: u64) -> Self {
        self.max_queue_events = events;
        self
    }
    /// Most bytes kept in the buffer (default [`DEFAULT_MAX_QUEUE_BYTES`]):
    /// the JSON of the queued events. Delivered events waiting in the file
    /// to be freed with the rest of their table are not counted (see
    /// docs/architecture.md, "Delivered rows go a table at a time").
    pub fn max_queue_bytes(mut self, bytes: u64) -> Self {
        self.max_queue_bytes = bytes;
        self
    }
    /// Oldest an event may be and still be sent (default [`DEFAULT_MAX_EVENT_AGE`]).
    pub fn max_event_age(mut self, age: Duration) -> Self {
        self.max_event_age = age;
        self
    }
    /// Calls that may wait for the worker before a recording call waits for
    /// room (default [`DEFAULT_MAX_PENDING_CALLS`]).
    pub fn max_pending_calls(mut self, calls: usize) -> Self {
        self.max_pending_calls = calls;
        self
    }
    /// Longest an event call (`track`, `screen`, `page`, `enqueue`) waits for
    /// room when the worker is behind (default [`DEFAULT_RECORD_WAIT`]);
    /// then its event is held in memory (up to 8 MiB more), and past that
    /// dropped as `overflow`. `Duration::ZERO` never waits: for threads that
    /// must not block, such as a UI thread or a request handler with a
    /// latency budget.
    #[cfg(feature = "std")]
    pub fn record_wait(mut self, wait: Duration) -> Self {
        self.record_wait = wait;
        self
    }

    /// A session ends after this long without events (default [`DEFAULT_SESSION_TIMEOUT`]).
    /// Its last activity is written to storage when it moved by a 360th of
    /// this (at most 5 s), not with every event: after a restart a session
    /// may end up to that much early.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }
    /// Record `Session Started` / `Session Ended` events (default [`DEFAULT_SESSION_EVENTS`]).
    pub fn session_events(mut self, on: bool) -> Self {
        self.session_events = on;
        self
    }
    /// Whether `identify` with a different user id first resets the identity,
    /// so two people on one device are never merged (default [`DEFAULT_RESET_ON_USER_SWITCH`]).
    pub fn reset_on_user_switch(mut self, on: bool) -> Self {
        self.reset_on_user_switch = on;
        self
    }
    /// Declares a consent category and its state before the user decides
    /// (usually [`ConsentState::Unknown`]); a stored decision overrides it.
    pub fn consent(mut self, category: impl Into<String>, initial: ConsentState) -> Self {
        let category = category.into();
        self.consent.retain(|(c, _)| *c != category);
        self.consent.push((category, initial));
        self
    }
    /// The categories the destination needs granted before any event is
    /// stored or sent (default: none).
    pub fn required_consent<I, S>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_consent = categories.into_iter().map(Into::into).collect();
        self
    }
    /// Context carried by every event, e.g. `{"app": {"name": "Shop", "version": "2.1"}}`.
    /// Must be a JSON object.
    pub fn context(self, context: Value) -> Self {
        self.context_value(Json::from(&context))
    }
    /// [`context`](Self::context) with cairn's own JSON value (the browser
    /// build reads the page's options with it). Must be a JSON object.
    pub fn context_value(mut self, context: Json) -> Self {
        self.context = match context {
            Json::Object(m) => m,
            other => [(INVALID_CONTEXT_KEY.to_string(), other)]
                .into_iter()
                .collect(),
        };
        self
    }
    /// The anonymous id to use on first start instead of a new UUID (for
    /// example one the web app already set).
    pub fn anonymous_id(mut self, id: impl Into<String>) -> Self {
        self.anonymous_id = Some(id.into());
        self
    }

    /// The tracking plan (its JSON text, see docs/tracking-plans.md) every
    /// call is checked against before it is stored. `build()` compiles it
    /// once and fails naming where a plan is wrong (an unsupported keyword,
    /// a bad `$ref`, ...). Replace it later with `set_tracking_plan`.
    #[cfg(feature = "std")]
    pub fn tracking_plan(mut self, plan_json: impl Into<String>) -> Self {
        self.tracking_plan = Some(PlanSource::Text(plan_json.into()));
        self
    }

    /// [`tracking_plan`](Self::tracking_plan) read from a file at `build()`.
    #[cfg(feature = "std")]
    pub fn tracking_plan_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tracking_plan = Some(PlanSource::File(path.into()));
        self
    }

    /// [`tracking_plan`](Self::tracking_plan) already compiled (the browser
    /// compiles its `pattern`s with the page's `RegExp`).
    pub fn tracking_plan_compiled(mut self, plan: Arc<TrackingPlan>) -> Self {
        self.tracking_plan = Some(PlanSource::Compiled(plan));
        self
    }

    /// Strict mode (default [`DEFAULT_STRICT_TRACKING_PLAN`], off): a call
    /// that breaks the tracking plan returns [`Error::PlanViolation`] and
    /// records nothing, whatever the plan's policy, so a developer sees it
    /// at the call, in the IDE and in tests. For debug builds and tests.
    pub fn strict_tracking_plan(mut self, on: bool) -> Self {
        self.strict_tracking_plan = on;
        self
    }

    /// The path the destination posts to, without a trailing slash: what
    /// the endpoint must not already end in.
    fn batch_path(&self) -> &'static str {
        // The default browser package can only speak Segment: no match to carry.
        if cfg!(any(
            feature = "std",
            feature = "wire-amplitude",
            feature = "wire-posthog"
        )) {
            self.destination.path().trim_end_matches('/')
        } else {
            BATCH_PATH
        }
    }

    /// Checks the destinations added with
    /// [`add_destination`](Self::add_destination) and the routing of the
    /// builder's own; returns them with their endpoints normalised.
    #[cfg(feature = "lanes")]
    fn check_destinations(&self) -> Result<Vec<Destination>> {
        // Texts built with `cat!`, not `format!`: the browser's
        // `destinations` package carries no formatting machinery.
        let bad = |reason: String| Error::InvalidConfig {
            field: "destinations",
            reason,
        };
        // The own destination's routing is options of the builder's own:
        // named as such (`call_types`), not as one of `destinations`.
        self.routing
            .validate_fields()
            .map_err(|(field, e)| Error::InvalidConfig {
                field,
                reason: e.message(),
            })?;
        if self.more_destinations.len() + 1 > MAX_DESTINATIONS {
            return Err(bad(cat!(
                self.more_destinations.len() + 1,
                " destinations, more than the ",
                MAX_DESTINATIONS,
                " a client delivers to"
            )));
        }
        let mut names = vec![crate::destination::DEFAULT_DESTINATION];
        let mut out = Vec::with_capacity(self.more_destinations.len());
        for d in &self.more_destinations {
            let name = d.name.as_str();
            if name.trim().is_empty()
                || name.len() > crate::model::MAX_NAME_BYTES
                || name.chars().any(char::is_control)
            {
                return Err(bad(cat!(
                    "a destination's name is empty, over ",
                    crate::model::MAX_NAME_BYTES,
                    " bytes or holds a control character: name each one (its delivery progress is kept under the name)"
                )));
            }
            if names.contains(&name) {
                return Err(bad(cat!(
                    "two destinations are named `",
                    name,
                    "`: each needs its own name (`",
                    crate::destination::DEFAULT_DESTINATION,
                    "` is the builder's own)"
                )));
            }
            names.push(name);
            let kind = d.kind.name();
            if !d.kind.built_in() {
                return Err(bad(cat!(
                    name,
                    ": ",
                    kind,
                    " is not in this build: enable cairn's feature `wire-",
                    kind,
                    "`"
                )));
            }
            if let DestinationKind::Amplitude {
                min_id_length: Some(0),
                ..
            } = d.kind
            {
                return Err(bad(cat!(
                    name,
                    ": Amplitude's min_id_length must be at least 1: pass None for Amplitude's default of 5"
                )));
            }
            if d.key.trim().is_empty() {
                return Err(bad(cat!(
                    name,
                    ": the key is empty: pass the write key or API key of that project"
                )));
            }
            if d.max_batch_events
                .is_some_and(|n| n == 0 || n > limits::MAX_BATCH_EVENTS)
            {
                return Err(bad(cat!(
                    name,
                    ": max_batch_events must be between 1 and ",
                    limits::MAX_BATCH_EVENTS
                )));
            }
            d.routing
                .validate()
                .map_err(|e| bad(cat!(name, ": ", e.message())))?;
            let endpoint = validate_endpoint(&d.endpoint, d.kind.path().trim_end_matches('/'))
                .map_err(|r| bad(cat!(name, ": endpoint ", r)))?;
            let mut d = d.clone();
            d.endpoint = endpoint;
            out.push(d);
        }
        Ok(out)
    }

    /// Checks every setting and returns the validated [`Config`], or an
    /// [`Error::InvalidConfig`] naming the first setting that is wrong.
    pub fn config(&self) -> Result<Config> {
        fn bad(field: &'static str, reason: impl Into<String>) -> Error {
            Error::InvalidConfig {
                field,
                reason: reason.into(),
            }
        }
        if self.write_key.trim().is_empty() {
            return Err(bad(
                "write_key",
                "is empty: pass the write key of your source",
            ));
        }
        let endpoint = match &self.endpoint {
            None => {
                return Err(bad(
                    "endpoint",
                    "is required: pass your backend's base URL, e.g. https://api.segment.io",
                ))
            }
            Some(e) => validate_endpoint(e, self.batch_path()).map_err(|r| bad("endpoint", r))?,
        };
        // Without std and without the wires (the default browser package)
        // nothing can choose another destination: the checks stay out of it.
        #[cfg(any(feature = "std", feature = "wire-amplitude", feature = "wire-posthog"))]
        if !self.destination.built_in() {
            return Err(bad(
                "destination",
                cat!(
                    self.destination.name(),
                    " is not in this build: enable cairn's feature `wire-",
                    self.destination.name(),
                    "` (for the browser package, cairn-wasm's feature `",
                    self.destination.name(),
                    "`)"
                ),
            ));
        }
        #[cfg(any(feature = "std", feature = "wire-amplitude", feature = "wire-posthog"))]
        if let DestinationKind::Amplitude {
            min_id_length: Some(0),
            ..
        } = self.destination
        {
            return Err(bad(
                "destination",
                "Amplitude's min_id_length must be at least 1: pass None for Amplitude's default of 5",
            ));
        }
        #[cfg(feature = "lanes")]
        let more_destinations = self.check_destinations()?;
        if self.flush_at == 0 {
            return Err(bad("flush_at", "must be at least 1"));
        }
        if self.max_batch_events == 0 || self.max_batch_events > limits::MAX_BATCH_EVENTS {
            return Err(bad(
                "max_batch_events",
                cat!(
                    "must be between 1 and ",
                    limits::MAX_BATCH_EVENTS,
                    ", got ",
                    self.max_batch_events
                ),
            ));
        }
        if self.flush_interval.as_millis() < u128::from(limits::MIN_FLUSH_INTERVAL_MS) {
            return Err(bad(
                "flush_interval",
                cat!("must be at least ", limits::MIN_FLUSH_INTERVAL_MS, " ms"),
            ));
        }
        if self.max_event_bytes < 256 {
            return Err(bad(
                "max_event_bytes",
                cat!("must be at least 256 bytes, got ", self.max_event_bytes),
            ));
        }
        if self.max_batch_bytes < self.max_event_bytes + 1024 {
            return Err(bad(
                "max_batch_bytes",
                cat!(
                    "must leave room for one full event: at least max_event_bytes + 1024 = ",
                    self.max_event_bytes + 1024,
                    ", got ",
                    self.max_batch_bytes
                ),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(bad("request_timeout", "must be longer than zero"));
        }
        if self.retry_base_delay.is_zero() {
            return Err(bad(
                "retry_base_delay",
                "must be longer than zero, or a dead server is hammered",
            ));
        }
        if self.max_retry_delay < self.retry_base_delay {
            return Err(bad("max_retry_delay", "must be at least retry_base_delay"));
        }
        if self.max_queue_events == 0 {
            return Err(bad("max_queue_events", "must be at least 1"));
        }
        if self.max_queue_bytes < self.max_event_bytes as u64 {
            return Err(bad(
                "max_queue_bytes",
                "must hold at least one event of max_event_bytes",
            ));
        }
        if self.max_event_age.is_zero() {
            return Err(bad("max_event_age", "must be longer than zero"));
        }
        let durations = [
            ("flush_interval", self.flush_interval),
            ("request_timeout", self.request_timeout),
            ("retry_base_delay", self.retry_base_delay),
            ("max_retry_delay", self.max_retry_delay),
            ("max_event_age", self.max_event_age),
            ("session_timeout", self.session_timeout),
            #[cfg(feature = "std")]
            ("record_wait", self.record_wait),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, d)| *d > limits::MAX_DURATION) {
            return Err(bad(field, "must be at most ten years (3650 days)"));
        }
        if self.max_pending_calls == 0 {
            return Err(bad("max_pending_calls", "must be at least 1"));
        }
        if self.session_timeout.is_zero() {
            return Err(bad("session_timeout", "must be longer than zero"));
        }
        if self.context.contains_key(INVALID_CONTEXT_KEY) {
            return Err(bad(
                "context",
                "must be a JSON object like {\"app\": {\"version\": \"2.1\"}}",
            ));
        }
        for name in self
            .consent
            .iter()
            .map(|(c, _)| c)
            .chain(self.required_consent.iter())
        {
            if name.trim().is_empty() {
                return Err(bad("consent", "a consent category name is empty"));
            }
            if name.len() > MAX_NAME_BYTES {
                return Err(bad(
                    "consent",
                    cat!(
                        "a consent category name is ",
                        name.len(),
                        " bytes, over the limit of ",
                        MAX_NAME_BYTES
                    ),
                ));
            }
        }
        if self
            .anonymous_id
            .as_ref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(bad(
                "anonymous_id",
                "is empty: leave it unset to get a new UUID",
            ));
        }
        if let Some(a) = self
            .anonymous_id
            .as_ref()
            .filter(|a| a.len() > MAX_NAME_BYTES)
        {
            return Err(bad(
                "anonymous_id",
                cat!(
                    "is ",
                    a.len(),
                    " bytes, over the limit of ",
                    MAX_NAME_BYTES,
                    " bytes for a name or an id"
                ),
            ));
        }
        if crate::model::check_context(&self.context).is_err() {
            return Err(bad(
                "context",
                cat!(
                    "is nested more than ",
                    MAX_PAYLOAD_DEPTH,
                    " levels deep, which backends refuse: flatten it"
                ),
            ));
        }
        #[cfg(feature = "std")]
        let storage_path = self
            .storage_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STORAGE_FILE));
        #[cfg(feature = "std")]
        if storage_path.as_os_str().is_empty() {
            return Err(bad(
                "storage_path",
                "is empty: pass a file path such as app-data/cairn.db",
            ));
        }
        let tracking_plan = match &self.tracking_plan {
            None => None,
            Some(PlanSource::Compiled(p)) => Some(Arc::clone(p)),
            #[cfg(feature = "std")]
            Some(PlanSource::Text(text)) => Some(Arc::new(
                TrackingPlan::parse(text).map_err(|e| bad("tracking_plan", e.text()))?,
            )),
            #[cfg(feature = "std")]
            Some(PlanSource::File(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    bad(
                        "tracking_plan",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                Some(Arc::new(TrackingPlan::parse(&text).map_err(|e| {
                    bad("tracking_plan", format!("{}: {}", path.display(), e.text()))
                })?))
            }
        };
        Ok(Config {
            write_key: self.write_key.clone(),
            tracking_plan,
            strict_tracking_plan: self.strict_tracking_plan,
            endpoint,
            destination: self.destination,
            #[cfg(feature = "lanes")]
            routing: self.routing.clone(),
            #[cfg(feature = "lanes")]
            more_destinations,
            #[cfg(feature = "std")]
            storage_path,
            flush_at: self.flush_at,
            flush_interval: self.flush_interval,
            max_batch_events: self.max_batch_events,
            max_batch_bytes: self.max_batch_bytes,
            max_event_bytes: self.max_event_bytes,
            request_timeout: self.request_timeout,
            gzip: self.gzip,
            retry_base_delay: self.retry_base_delay,
            max_retry_delay: self.max_retry_delay,
            max_queue_events: self.max_queue_events,
            max_queue_bytes: self.max_queue_bytes,
            max_event_age: self.max_event_age,
            max_pending_calls: self.max_pending_calls,
            #[cfg(feature = "std")]
            record_wait: self.record_wait,
            session_timeout: self.session_timeout,
            session_events: self.session_events,
            reset_on_user_switch: self.reset_on_user_switch,
            consent: self.consent.clone(),
            required_consent: self.required_consent.clone(),
            context: self.context.clone(),
            anonymous_id: self.anonymous_id.clone(),
        })
    }
}

/// Most destinations one client delivers to (its own and those added).
pub const MAX_DESTINATIONS: usize = 8;

/// The path cairn appends to the endpoint for Segment's batch API.
pub const BATCH_PATH: &str = "/v1/batch";

impl Config {
    /// Where events go: first the builder's own destination, named
    /// [`DEFAULT_DESTINATION`](crate::destination::DEFAULT_DESTINATION),
    /// made of [`destination`](Self::destination), the endpoint and the key;
    /// then those added with [`ClientBuilder::add_destination`].
    pub fn destinations(&self) -> Vec<Destination> {
        #[cfg_attr(
            not(feature = "lanes"),
            expect(unused_mut, reason = "several destinations need the `lanes` feature")
        )]
        let mut own = Destination::new(
            crate::destination::DEFAULT_DESTINATION,
            self.destination,
            self.endpoint.clone(),
            self.write_key.clone(),
        );
        #[cfg(feature = "lanes")]
        {
            own.routing = self.routing.clone();
            let mut all = vec![own];
            all.extend(self.more_destinations.iter().cloned());
            all
        }
        #[cfg(not(feature = "lanes"))]
        vec![own]
    }
}

/// Checks the endpoint and returns it without a trailing slash. It must be
/// an `http://` or `https://` URL with a host (and a port from 1 to 65535, if
/// one), no white space or control character anywhere (a newline read from
/// a file or an environment variable is refused, not cut off), no
/// credentials (cairn sends the write key as Basic auth itself), no query or
/// fragment, and a path that does not already end in `batch_path` (the
/// destination's: [`BATCH_PATH`] for Segment, `/2/httpapi` for Amplitude...;
/// cairn appends it: `…/v1/batch/v1/batch` would answer 404 to every batch).
///
/// Errors show the URL with any `user:password@` cut out, so credentials
/// never reach a log. The native build parses with the `url` crate (WHATWG
/// URL rules, as browsers); the browser build, which must stay small, checks
/// the same rules on a hand-written split of the URL.
fn validate_endpoint(raw: &str, batch_path: &str) -> core::result::Result<String, String> {
    validate_endpoint_with(raw, batch_path, parse_endpoint)
}

/// [`validate_endpoint`] with the URL read by `parse`: the tests run the
/// rules with both readers and compare.
fn validate_endpoint_with(
    raw: &str,
    batch_path: &str,
    parse: impl Fn(&str) -> core::result::Result<ParsedEndpoint, String>,
) -> core::result::Result<String, String> {
    let shown = without_credentials(raw);
    // ASCII white space only: the Unicode tables cost the browser build
    // kilobytes, and any other space is refused by the URL parser.
    if raw
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_control())
    {
        return Err(cat!(
            "`",
            shown.trim(),
            "` contains white space or a control character (a newline read from a file or an environment variable?): remove it"
        ));
    }
    let scheme_ok = ["http://", "https://"].iter().any(|p| {
        raw.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    });
    if !scheme_ok {
        return Err(cat!("`", shown, "` must start with http:// or https://"));
    }
    let url = parse(raw).map_err(|why| {
        cat!(
            "`",
            shown,
            "` is not a valid URL (",
            why,
            "): give the backend's base URL, e.g. https://api.segment.io"
        )
    })?;
    if url.credentials {
        return Err(cat!(
            "`",
            shown,
            "` carries credentials (user:password@): remove them; cairn sends the write key as Basic auth itself"
        ));
    }
    if url.query_or_fragment {
        return Err(cat!(
            "`",
            shown,
            "` must not carry a query or fragment: give the base URL only"
        ));
    }
    let base = url.normalized.trim_end_matches('/');
    let ends_in_batch = base.len() >= batch_path.len()
        && base
            .get(base.len() - batch_path.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(batch_path));
    if ends_in_batch && url.path.trim_end_matches('/').len() >= batch_path.len() {
        let suggested = base
            .get(..base.len() - batch_path.len())
            .unwrap_or_default();
        return Err(cat!(
            "`",
            shown,
            "` already ends in ",
            batch_path,
            ", which cairn appends itself: pass the base URL `",
            suggested,
            "`"
        ));
    }
    Ok(base.to_string())
}

/// What the endpoint rules need to know of a parsed URL.
struct ParsedEndpoint {
    /// It has a user name or a password.
    credentials: bool,
    /// It has a `?query` or a `#fragment` (even an empty one).
    query_or_fragment: bool,
    /// Its path (`/` when it has none).
    path: String,
    /// The whole URL as the parser writes it back.
    normalized: String,
}

/// Parses with the `url` crate: host names, IPv6 literals, ports and percent
/// escapes as a browser reads them.
#[cfg(feature = "native")]
fn parse_endpoint(raw: &str) -> core::result::Result<ParsedEndpoint, String> {
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host name".into());
    }
    Ok(ParsedEndpoint {
        credentials: !url.username().is_empty() || url.password().is_some(),
        query_or_fragment: url.query().is_some() || url.fragment().is_some(),
        path: url.path().to_string(),
        normalized: url.as_str().to_string(),
    })
}

/// The browser build's split of the URL: what cairn's own rules need
/// (credentials, query or fragment, the path), without the `url` crate and
/// its IDNA tables. The npm package's `Cairn.load` hands the core the URL
/// as the browser's own parser writes it back (`new URL(endpoint).href`,
/// the WHATWG rules the `url` crate follows: host, IPv6 literal and port
/// checked, `\` read as `/`, dot segments resolved), so the split only
/// ever sees a normalized URL, the one the page's `fetch` will use; the
/// differential tests (config_endpoint_tests.rs) hold it to the `url`
/// crate's reading.
#[cfg(not(feature = "native"))]
fn parse_endpoint(raw: &str) -> core::result::Result<ParsedEndpoint, String> {
    split_endpoint(raw)
}

/// The split itself, built natively for the differential tests that hold
/// it to the `url` crate's reading.
#[cfg(any(test, not(feature = "native")))]
fn split_endpoint(raw: &str) -> core::result::Result<ParsedEndpoint, String> {
    let after_scheme = raw.get(authority_start(raw)..).unwrap_or_default();
    let authority_end = end_of_authority(after_scheme);
    let authority = after_scheme.get(..authority_end).unwrap_or_default();
    let rest = after_scheme.get(authority_end..).unwrap_or_default();
    let credentials = authority.contains('@');
    if authority.is_empty() || authority.ends_with('@') {
        return Err("empty host".into());
    }
    let path_end = rest
        .bytes()
        .position(|b| matches!(b, b'?' | b'#'))
        .unwrap_or(rest.len());
    let path = rest.get(..path_end).unwrap_or_default();
    Ok(ParsedEndpoint {
        credentials,
        query_or_fragment: path_end < rest.len(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        normalized: raw.to_string(),
    })
}

/// Where the authority of `after_scheme` ends: at the first `/`, `\`, `?`
/// or `#` (a browser reads `\` as `/` in an http(s) URL). A byte search: a
/// `find` over a set of chars costs the browser build a searcher of its own.
fn end_of_authority(after_scheme: &str) -> usize {
    after_scheme
        .bytes()
        .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
        .unwrap_or(after_scheme.len())
}

/// Where the authority starts, as a browser finds it: after the scheme's
/// `:` and every `/` or `\` that follows (`http:///user:pw@host` has
/// credentials; tabs and newlines are dropped by a browser before it reads
/// a URL), or at 0 when the first `:` is not followed by one (`user:pw@host`
/// is hidden whole). Only error texts depend on this finding every user
/// info a browser would read; the split reads URLs the browser wrote back.
fn authority_start(url: &str) -> usize {
    let b = url.as_bytes();
    let Some(colon) = b.iter().position(|&c| c == b':') else {
        return 0;
    };
    let after = b.get(colon + 1..).unwrap_or_default();
    if !matches!(after.first(), Some(b'/' | b'\\')) {
        return 0;
    }
    colon
        + 1
        + after
            .iter()
            .take_while(|&&c| matches!(c, b'/' | b'\\' | b'\t' | b'\n' | b'\r'))
            .count()
}

/// `url` with anything before an `@` in its authority (`user:password`)
/// replaced by `***`, for error messages.
pub(crate) fn without_credentials(url: &str) -> String {
    let start = authority_start(url);
    let after = url.get(start..).unwrap_or_default();
    let authority = after.get(..end_of_authority(after)).unwrap_or_default();
    match authority.rfind('@') {
        Some(at) => cat!(
            url.get(..start).unwrap_or_default(),
            "***",
            after.get(at..).unwrap_or_default()
        ),
        None => url.to_string(),
    }
}

/// `Debug` for a type holding the write key, with the key left out: a
/// config or builder printed to a log must not leak it. The pattern names
/// every field, so a field added later is a compile error here until it is
/// listed too.
#[cfg(feature = "std")]
macro_rules! debug_without_write_key {
    ([$($ty:ident),*] $fields:tt) => {
        $(debug_without_write_key!($ty $fields);)*
    };
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let $ty { write_key: _, $($field),* } = self;
                f.debug_struct(stringify!($ty))
                    .field("write_key", &"<redacted>")
                    $(.field(stringify!($field), $field))*
                    .finish()
            }
        }
    };
}

// With `std` only: `storage_path` exists there, and the browser build,
// which has no logger, never prints a config.
#[cfg(feature = "std")]
debug_without_write_key!([Config, ClientBuilder] {
    tracking_plan,
    strict_tracking_plan,
    endpoint,
    destination,
    routing,
    more_destinations,
    storage_path,
    flush_at,
    flush_interval,
    max_batch_events,
    max_batch_bytes,
    max_event_bytes,
    request_timeout,
    gzip,
    retry_base_delay,
    max_retry_delay,
    max_queue_events,
    max_queue_bytes,
    max_event_age,
    max_pending_calls,
    record_wait,
    session_timeout,
    session_events,
    reset_on_user_switch,
    consent,
    required_consent,
    context,
    anonymous_id
});

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        ClientBuilder::new("key").endpoint("http://127.0.0.1:9/")
    }

    #[test]
    fn added_destinations_are_checked_with_their_fix() {
        use crate::destination::{Destination, DestinationKind};
        let amp = |name: &str, endpoint: &str| {
            Destination::new(name, DestinationKind::amplitude(), endpoint, "amp-key")
        };
        let err = |b: ClientBuilder| b.config().unwrap_err().to_string();
        let c = builder()
            .add_destination(
                amp("amplitude", "https://api2.amplitude.com/").allow_events(["Order *"]),
            )
            .config()
            .unwrap();
        let all = c.destinations();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].endpoint, "https://api2.amplitude.com", "normalised");
        assert_eq!(all[1].routing.allow_events, ["Order *"]);
        assert!(
            err(builder().add_destination(amp("default", "https://a.example")))
                .contains("two destinations are named `default`")
        );
        assert!(
            err(builder().add_destination(amp(" ", "https://a.example"))).contains("name each one")
        );
        assert!(
            err(builder().add_destination(amp("a", "https://a.example/2/httpapi")))
                .contains("a: endpoint")
        );
        assert!(
            err(builder().add_destination(amp("a", "https://a.example").call_types(["Track"])))
                .contains("use track, identify")
        );
        assert!(err(builder().add_destination(Destination::new(
            "p",
            DestinationKind::PostHog,
            "https://eu.i.posthog.com",
            " "
        )))
        .contains("p: the key is empty"));
        let mut many = builder();
        for n in 0..MAX_DESTINATIONS {
            many = many.add_destination(amp(&format!("d{n}"), "https://a.example"));
        }
        assert!(err(many).contains("more than the 8"));
    }

    #[test]
    fn the_own_routing_is_refused_naming_its_field() {
        use crate::routing::Routing;
        let err = |r: Routing| builder().routing(r).config().unwrap_err().to_string();
        assert_eq!(
            err(Routing {
                call_types: vec!["Track".into()],
                ..Routing::default()
            }),
            "invalid config `call_types`: unknown call type `Track`: use track, identify, alias, group, screen or page"
        );
        assert!(err(Routing {
            deny_events: vec!["Or*der".into()],
            ..Routing::default()
        })
        .starts_with("invalid config `deny_events`: event name pattern `Or*der`"));
        let c = builder()
            .routing(Routing {
                allow_events: vec!["Order *".into()],
                ..Routing::default()
            })
            .config()
            .unwrap();
        assert_eq!(c.destinations()[0].routing.allow_events, ["Order *"]);
    }

    #[test]
    fn defaults_are_the_documented_constants() {
        let c = builder().config().unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:9");
        assert_eq!(c.flush_at, 20);
        assert_eq!(c.flush_interval, Duration::from_secs(10));
        assert_eq!(c.max_batch_events, 1_000);
        assert_eq!(c.record_wait, Duration::from_millis(5));
        assert_eq!(c.max_batch_bytes, 500_000);
        assert_eq!(c.max_event_bytes, 32_000);
        assert!(c.gzip);
        assert_eq!(c.storage_path, PathBuf::from("cairn.db"));
    }

    /// `{"app": {"a": {"a": ... 1}}}`: the context object and `depth`
    /// objects below it.
    fn deep_context(depth: usize) -> Value {
        let mut v = serde_json::json!(1);
        for _ in 1..depth {
            v = serde_json::json!({ "a": v });
        }
        serde_json::json!({ "app": v })
    }

    fn endpoint_error(url: &str) -> String {
        match builder().endpoint(url).config() {
            Err(Error::InvalidConfig { field, reason }) => {
                assert_eq!(field, "endpoint", "{reason}");
                reason
            }
            other => panic!("{url:?}: expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn endpoints_are_parsed_as_urls() {
        for (url, words) in [
            ("http://[::1", "invalid IPv6 address"),
            ("http://127.0.0.1:99999", "invalid port number"),
            ("http://localhost:8080\n", "white space or a control character"),
            (" http://localhost", "white space or a control character"),
            ("http://local host", "white space or a control character"),
            ("localhost:8080", "must start with http:// or https://"),
            ("ftp://x", "must start with http:// or https://"),
            ("https://", "not a valid URL"),
            ("https://x/?a=1", "query or fragment"),
            ("https://x/#top", "query or fragment"),
            (
                "https://api.segment.io/v1/batch",
                "already ends in /v1/batch, which cairn appends itself: pass the base URL `https://api.segment.io`",
            ),
            (
                "https://rs.example.com/data/v1/batch/",
                "pass the base URL `https://rs.example.com/data`",
            ),
        ] {
            let reason = endpoint_error(url);
            assert!(reason.contains(words), "{url:?}: {reason}");
        }
        for (url, want) in [
            ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
            (
                "https://rs.example.com/data/",
                "https://rs.example.com/data",
            ),
            ("http://v1/batch", "http://v1/batch"),
        ] {
            let c = builder().endpoint(url).config().unwrap();
            assert_eq!(c.endpoint, want, "{url}");
        }
        // The url crate writes host names back in lower case; the browser
        // build's check keeps the URL as given (`fetch` reads it either way).
        #[cfg(feature = "native")]
        assert_eq!(
            builder()
                .endpoint("https://API.Example.com")
                .config()
                .unwrap()
                .endpoint,
            "https://api.example.com"
        );
    }

    #[test]
    fn the_write_key_never_shows_in_debug_output() {
        let b = ClientBuilder::new("wk-secret-123").endpoint("http://127.0.0.1:9");
        let c = b.config().unwrap();
        for shown in [format!("{b:?}"), format!("{c:?}")] {
            assert!(!shown.contains("wk-secret-123"), "{shown}");
            assert!(
                shown.contains("<redacted>") && shown.contains("127.0.0.1:9"),
                "{shown}"
            );
        }
    }

    #[test]
    fn credentials_in_the_endpoint_never_reach_the_error() {
        for url in [
            "https://user:s3cret-pass@api.example.com",
            "https://s3cret-pass@api.example.com/path",
            "https://user:s3cret-pass@api.example.com:99999",
            "https://user:s3cret-pass@api.example.com/v1/batch",
            "https://user:s3cret-pass@api.example.com\n",
            "ftp://user:s3cret-pass@api.example.com",
        ] {
            let reason = endpoint_error(url);
            assert!(!reason.contains("s3cret-pass"), "{url:?}: {reason}");
            assert!(reason.contains("***@api.example.com"), "{url:?}: {reason}");
        }
        assert!(endpoint_error("https://u:p@h").contains("carries credentials"));
    }

    #[test]
    fn limits_on_ids_and_depth_hold_right_at_the_limit() {
        let c = builder()
            .anonymous_id("a".repeat(1024))
            .context(deep_context(124))
            .config()
            .unwrap();
        assert_eq!(c.anonymous_id.map(|a| a.len()), Some(1024));
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        let cases: Vec<(ClientBuilder, &str)> = vec![
            (ClientBuilder::new(" ").endpoint("http://x"), "write_key"),
            (ClientBuilder::new("k"), "endpoint"),
            (builder().endpoint("ftp://x"), "endpoint"),
            (builder().endpoint("https://"), "endpoint"),
            (builder().endpoint("https://x/?a=1"), "endpoint"),
            (builder().flush_at(0), "flush_at"),
            (builder().max_batch_events(0), "max_batch_events"),
            (builder().max_batch_events(5000), "max_batch_events"),
            (
                builder().flush_interval(Duration::from_millis(1)),
                "flush_interval",
            ),
            (builder().max_event_bytes(10), "max_event_bytes"),
            (builder().max_batch_bytes(1000), "max_batch_bytes"),
            (builder().request_timeout(Duration::ZERO), "request_timeout"),
            (
                builder().retry_base_delay(Duration::ZERO),
                "retry_base_delay",
            ),
            (
                builder().max_retry_delay(Duration::from_millis(1)),
                "max_retry_delay",
            ),
            (builder().max_queue_events(0), "max_queue_events"),
            (builder().max_queue_bytes(1), "max_queue_bytes"),
            (builder().max_event_age(Duration::ZERO), "max_event_age"),
            (builder().max_pending_calls(0), "max_pending_calls"),
            (builder().storage_path(""), "storage_path"),
            (builder().session_timeout(Duration::ZERO), "session_timeout"),
            (builder().flush_interval(Duration::MAX), "flush_interval"),
            (builder().max_event_age(Duration::MAX), "max_event_age"),
            (builder().request_timeout(Duration::MAX), "request_timeout"),
            (builder().context(serde_json::json!([1])), "context"),
            (builder().consent(" ", ConsentState::Unknown), "consent"),
            (builder().anonymous_id(""), "anonymous_id"),
            (builder().anonymous_id("a".repeat(1025)), "anonymous_id"),
            (
                builder().consent("c".repeat(1025), ConsentState::Unknown),
                "consent",
            ),
            (builder().context(deep_context(125)), "context"),
        ];
        for (b, field) in cases {
            match b.config() {
                Err(Error::InvalidConfig { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}");
                    assert!(!reason.is_empty());
                }
                other => panic!("{field}: expected InvalidConfig, got {other:?}"),
            }
        }
    }
}

#[cfg(all(test, feature = "native"))]
#[path = "config_endpoint_tests.rs"]
mod endpoint_tests;
