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
}

impl From<cairn::Stats> for Stats {
    fn from(s: cairn::Stats) -> Self {
        let d = s.dropped;
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
            dropped: DropCounts {
                invalid: d.invalid,
                oversize: d.oversize,
                overflow: d.overflow,
                expired: d.expired,
                rejected: d.rejected,
                consent: d.consent,
                corrupt: d.corrupt,
            },
        }
    }
}
