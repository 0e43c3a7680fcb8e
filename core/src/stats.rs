//! What `stats()` shows: the queue, delivery progress, errors, and every
//! dropped event counted by reason.
//!
//! This module only defines the shapes; the engine fills them in, and the
//! runtime adds what it counts on the caller's thread (invalid calls).

use serde::{Deserialize, Serialize};

/// The state key under which drop counts are persisted.
pub const DROPS_STATE_KEY: &str = "dropped";
/// The state key under which the delivery condition (failures, next retry,
/// last errors) is persisted for `cairn inspect`.
pub const DELIVERY_STATE_KEY: &str = "delivery";

/// Why an event was dropped. Every dropped event is counted under one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The call was invalid (empty name, properties not an object, ...).
    Invalid,
    /// The event was over `max_event_bytes`, or the server refused it alone with 413.
    Oversize,
    /// The buffer was over `max_queue_events` or `max_queue_bytes`; the oldest went.
    Overflow,
    /// The event was older than `max_event_age` before it could be sent.
    Expired,
    /// The server refused the batch for good (a 4xx other than 401/403/408/413/429).
    Rejected,
    /// Consent for the event's category was denied or revoked, or the user
    /// opted out or was forgotten.
    Consent,
    /// The buffer file became corrupt; its events could not be read back and
    /// stay in the moved-aside copy for inspection.
    Corrupt,
}

/// Dropped events, counted by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounts {
    /// See [`DropReason::Invalid`].
    pub invalid: u64,
    /// See [`DropReason::Oversize`].
    pub oversize: u64,
    /// See [`DropReason::Overflow`].
    pub overflow: u64,
    /// See [`DropReason::Expired`].
    pub expired: u64,
    /// See [`DropReason::Rejected`].
    pub rejected: u64,
    /// See [`DropReason::Consent`].
    pub consent: u64,
    /// See [`DropReason::Corrupt`].
    #[serde(default)]
    pub corrupt: u64,
}

impl DropCounts {
    /// Adds `n` drops for `reason`.
    pub fn add(&mut self, reason: DropReason, n: u64) {
        let slot = match reason {
            DropReason::Invalid => &mut self.invalid,
            DropReason::Oversize => &mut self.oversize,
            DropReason::Overflow => &mut self.overflow,
            DropReason::Expired => &mut self.expired,
            DropReason::Rejected => &mut self.rejected,
            DropReason::Consent => &mut self.consent,
            DropReason::Corrupt => &mut self.corrupt,
        };
        *slot += n;
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.invalid + self.oversize + self.overflow + self.expired + self.rejected + self.consent + self.corrupt
    }
}

/// Health of the on-disk buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StorageState {
    /// Events are committed to the file.
    Ok,
    /// Writes fail; new events are held in memory (bounded) and the disk is
    /// tried again periodically.
    Failing {
        /// What the store reported.
        error: String,
    },
}

/// A snapshot of a client's queue and delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Events the backend has acknowledged, since this client started.
    pub delivered_events: u64,
    /// Upload requests made, since this client started.
    pub requests: u64,
    /// Failed attempts that were scheduled for retry, since this client started.
    pub retries: u64,
    /// Milliseconds until the next retry, while one is scheduled.
    pub next_retry_in_ms: Option<u64>,
    /// The last delivery or storage error, if any.
    pub last_error: Option<String>,
    /// The last permanent refusal by the server (status and start of body).
    pub last_rejection: Option<String>,
    /// True once the server answered 401/403: uploads stop, events are kept.
    pub auth_failed: bool,
    /// Health of the on-disk buffer.
    pub storage: StorageState,
    /// Dropped events by reason, over the life of the buffer file.
    pub dropped: DropCounts,
}
