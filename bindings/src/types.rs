//! The plain values that cross the FFI: consent states, `stats()`, flush
//! reports and what `forget` erased. Each mirrors a core type field for
//! field; this module only converts.

/// The user's decision for one consent category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConsentState {
    /// The user agreed.
    Granted,
    /// The user refused.
    Denied,
    /// The user has not decided yet.
    Unknown,
}

impl From<ConsentState> for cairn::ConsentState {
    fn from(s: ConsentState) -> Self {
        match s {
            ConsentState::Granted => cairn::ConsentState::Granted,
            ConsentState::Denied => cairn::ConsentState::Denied,
            ConsentState::Unknown => cairn::ConsentState::Unknown,
        }
    }
}

/// The backend format a client delivers to (the core's `DestinationKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DestinationKind {
    /// Segment or RudderStack `POST /v1/batch` (the default).
    Segment,
    /// Amplitude HTTP V2 `POST /2/httpapi`, or the Batch API `POST /batch`
    /// with `batch_api`.
    Amplitude {
        /// Post to `/batch` instead of `/2/httpapi`.
        batch_api: bool,
        /// Amplitude's `options.min_id_length`; null keeps Amplitude's 5.
        min_id_length: Option<u32>,
    },
    /// PostHog `POST /batch/`.
    PostHog,
}

impl From<DestinationKind> for cairn::DestinationKind {
    fn from(d: DestinationKind) -> Self {
        match d {
            DestinationKind::Segment => cairn::DestinationKind::Segment,
            DestinationKind::Amplitude {
                batch_api,
                min_id_length,
            } => cairn::DestinationKind::Amplitude {
                batch_api,
                min_id_length,
            },
            DestinationKind::PostHog => cairn::DestinationKind::PostHog,
        }
    }
}

/// One more place events go, besides the config's own `endpoint` (the
/// core's `Destination`): each is delivered on its own from the one buffer,
/// with its own cursor, batches and retries (see docs/destinations.md).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DestinationConfig {
    /// The name its delivery progress is kept under in the buffer file:
    /// keep it stable across releases. Unique within a client, and not
    /// `default` (the name of the config's own destination).
    pub name: String,
    /// The backend format it speaks.
    pub kind: DestinationKind,
    /// Its base URL, `http://` or `https://`.
    pub endpoint: String,
    /// Write key (Segment) or project API key (Amplitude, PostHog).
    pub key: String,
    /// Takes only events whose name is one of these (exact, or a prefix
    /// ending in `*`, as in `Order *`); empty: every name. Calls without a
    /// name (identify, group, alias) are not concerned.
    #[uniffi(default)]
    pub allow_events: Vec<String>,
    /// Never takes events whose name is one of these (exact or prefix `*`).
    #[uniffi(default)]
    pub deny_events: Vec<String>,
    /// Takes only these call types (`track`, `identify`, `alias`, `group`,
    /// `screen`, `page`); empty: every type.
    #[uniffi(default)]
    pub call_types: Vec<String>,
    /// Takes an event only when every one of these consent categories was
    /// granted when it was recorded; revoking one purges this destination's
    /// queued events (only its own).
    #[uniffi(default)]
    pub consent_categories: Vec<String>,
    /// Most events in one of its batches; null: the client's `max_batch_events`.
    #[uniffi(default)]
    pub max_batch_events: Option<u32>,
}

/// What a `flush` or `shutdown` achieved before it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct FlushReport {
    /// Events the backend acknowledged while the call waited.
    pub delivered: u64,
    /// Events still queued when it returned (they stay on disk and go out later).
    pub remaining: u64,
}

impl From<cairn::FlushReport> for FlushReport {
    fn from(r: cairn::FlushReport) -> Self {
        FlushReport {
            delivered: r.delivered,
            remaining: r.remaining,
        }
    }
}

/// What `forget` erased, so the app can ask the backend to delete the same
/// user server-side.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Forgotten {
    /// Every anonymous id the erased events and identity carried.
    pub anonymous_ids: Vec<String>,
    /// Every user id they carried.
    pub user_ids: Vec<String>,
    /// Events removed from the buffer and from memory.
    pub events_erased: u64,
}

impl From<cairn::Forgotten> for Forgotten {
    fn from(f: cairn::Forgotten) -> Self {
        Forgotten {
            anonymous_ids: f.anonymous_ids,
            user_ids: f.user_ids,
            events_erased: f.events_erased,
        }
    }
}

/// Dropped events, counted by reason, over the life of the buffer file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct DropCounts {
    /// Invalid calls (empty name, properties that are not an object, ...).
    pub invalid: u64,
    /// Events over `max_event_bytes`, or refused alone by the server with 413.
    pub oversize: u64,
    /// The oldest events, dropped when the buffer was over its caps.
    pub overflow: u64,
    /// Events older than `max_event_age` before they could be sent.
    pub expired: u64,
    /// Events the server refused for good.
    pub rejected: u64,
    /// Events dropped by denied or revoked consent, opt-out or forget.
    pub consent: u64,
    /// Events lost to a corrupt buffer file (kept aside for inspection).
    pub corrupt: u64,
    /// Events dropped by the tracking plan (`drop` policy, unplanned events
    /// under `unplanned: drop`, or refused by strict mode).
    pub plan_violation: u64,
}

/// How many times one event broke one rule of the tracking plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ViolationCount {
    /// The event name (`track`), or `identify` / `group`.
    pub event: String,
    /// The rule broken (`type`, `required`, ..., `unplanned`).
    pub rule: String,
    /// How many times.
    pub count: u64,
}

/// One recent violation of the tracking plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecentViolation {
    /// The event name (`track`), or `identify` / `group`.
    pub event: String,
    /// The rule broken.
    pub rule: String,
    /// Where: `properties.price`.
    pub path: String,
    /// What: `expected number, got string "9.99"`.
    pub message: String,
}

/// How long event calls waited for room in the queue (the core's `RoomWaits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct RoomWaits {
    /// Event calls that found the queue full and waited.
    pub calls: u64,
    /// Their waits added up, in microseconds.
    pub total_us: u64,
    /// The longest single wait, in microseconds.
    pub longest_us: u64,
}

/// One destination's part of a snapshot, when a client has several, or one
/// whose routing passes events over (the core's `DestinationStats`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DestinationStats {
    /// The destination's name (`default` for the config's own endpoint).
    pub name: String,
    /// Events in the buffer past this destination's cursor: not yet
    /// delivered, dropped or passed over by its routing.
    pub queued_events: u64,
    /// Their size in bytes.
    pub queued_bytes: u64,
    /// Events in its upload now on the wire.
    pub in_flight_events: u64,
    /// Events it acknowledged since this client started.
    pub delivered_events: u64,
    /// Events its routing passed over (not for it) since this client started.
    pub skipped_events: u64,
    /// Upload requests made to it since this client started.
    pub requests: u64,
    /// Its failed attempts scheduled for retry since this client started.
    pub retries: u64,
    /// Milliseconds until its next retry, while one is scheduled.
    pub next_retry_in_ms: Option<u64>,
    /// Its last delivery error, if any.
    pub last_error: Option<String>,
    /// Its last permanent refusal.
    pub last_rejection: Option<String>,
    /// True once it answered 401/403: uploads to it stop, events are kept.
    pub auth_failed: bool,
    /// Its events dropped, by reason, over the life of the buffer file.
    pub dropped: DropCounts,
}

impl From<cairn::DropCounts> for DropCounts {
    fn from(d: cairn::DropCounts) -> Self {
        DropCounts {
            invalid: d.invalid,
            oversize: d.oversize,
            overflow: d.overflow,
            expired: d.expired,
            rejected: d.rejected,
            consent: d.consent,
            corrupt: d.corrupt,
            plan_violation: d.plan_violation,
        }
    }
}

impl From<cairn::DestinationStats> for DestinationStats {
    fn from(d: cairn::DestinationStats) -> Self {
        DestinationStats {
            name: d.name,
            queued_events: d.queued_events,
            queued_bytes: d.queued_bytes,
            in_flight_events: d.in_flight_events,
            delivered_events: d.delivered_events,
            skipped_events: d.skipped_events,
            requests: d.requests,
            retries: d.retries,
            next_retry_in_ms: d.next_retry_in_ms,
            last_error: d.last_error,
            last_rejection: d.last_rejection,
            auth_failed: d.auth_failed,
            dropped: d.dropped.into(),
        }
    }
}

/// A snapshot of the queue, delivery and drops (the core's `Stats`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Stats {
    /// Events committed to the buffer and not yet delivered (in flight included).
    pub queued_events: u64,
    /// Their size in bytes (JSON, uncompressed).
    pub queued_bytes: u64,
    /// Age of the oldest queued event, in milliseconds.
    pub oldest_queued_age_ms: Option<u64>,
    /// Events held in memory because the disk is failing (not yet durable).
    pub memory_events: u64,
    /// Events in the upload now on the wire.
    pub in_flight_events: u64,
    /// Events the backend acknowledged since this client started.
    pub delivered_events: u64,
    /// Upload requests made since this client started.
    pub requests: u64,
    /// Failed attempts scheduled for retry since this client started.
    pub retries: u64,
    /// Milliseconds until the next retry, while one is scheduled.
    pub next_retry_in_ms: Option<u64>,
    /// The last delivery or storage error, if any.
    pub last_error: Option<String>,
    /// The last permanent refusal by the server (status and start of body).
    pub last_rejection: Option<String>,
    /// True once the server answered 401/403: uploads stop, events are kept.
    pub auth_failed: bool,
    /// `None` while the buffer file works; what the store reported while
    /// writes fail (new events are then held in memory).
    pub storage_error: Option<String>,
    /// Dropped events by reason.
    pub dropped: DropCounts,
    /// Tracking-plan violations per event and rule, over the life of the buffer file.
    pub plan_violations: Vec<ViolationCount>,
    /// The latest violations (at most 10), oldest first.
    pub recent_violations: Vec<RecentViolation>,
    /// How long event calls waited for room in the queue.
    pub waited_for_room: RoomWaits,
    /// Each destination, when the client has more than one or its one
    /// destination has routing (its `skipped_events` then counts what the
    /// routing passed over); empty with one that takes every event: the
    /// fields above are then that destination's. The fields above add
    /// up every destination: queued counts the buffer file, delivered and
    /// requests sum over destinations, and a drop by a destination counts
    /// once for each destination that dropped it.
    pub destinations: Vec<DestinationStats>,
}

impl From<cairn::Stats> for Stats {
    fn from(s: cairn::Stats) -> Self {
        Stats {
            queued_events: s.queued_events,
            queued_bytes: s.queued_bytes,
            oldest_queued_age_ms: s.oldest_queued_age_ms,
            memory_events: s.memory_events,
            in_flight_events: s.in_flight_events,
            delivered_events: s.delivered_events,
            requests: s.requests,
            retries: s.retries,
            next_retry_in_ms: s.next_retry_in_ms,
            last_error: s.last_error,
            last_rejection: s.last_rejection,
            auth_failed: s.auth_failed,
            storage_error: match s.storage {
                cairn::StorageState::Ok => None,
                cairn::StorageState::Failing { error } => Some(error),
            },
            dropped: s.dropped.into(),
            plan_violations: s
                .plan
                .violations
                .into_iter()
                .map(|c| ViolationCount {
                    event: c.event,
                    rule: c.rule,
                    count: c.count,
                })
                .collect(),
            recent_violations: s
                .plan
                .recent
                .into_iter()
                .map(|r| RecentViolation {
                    event: r.event,
                    rule: r.rule,
                    path: r.path,
                    message: r.message,
                })
                .collect(),
            waited_for_room: RoomWaits {
                calls: s.waited_for_room.calls,
                total_us: s.waited_for_room.total_us,
                longest_us: s.waited_for_room.longest_us,
            },
            destinations: s.destinations.into_iter().map(Into::into).collect(),
        }
    }
}
