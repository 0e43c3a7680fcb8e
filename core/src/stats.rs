//! What `stats()` shows: the queue, delivery progress, errors, and every
//! dropped event counted by reason.
//!
//! This module only defines the shapes; the engine fills them in, and the
//! runtime adds what it counts on the caller's thread (invalid calls).

use crate::prelude::*;

use serde::{Deserialize, Serialize};

use crate::json::{self, Json};
use crate::json_text::{push_key, push_string};
use crate::plan::PlanStats;

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
    /// The buffer file became corrupt and these events could not be read
    /// back from it (the moved-aside copy is kept for inspection; the
    /// readable ones are sent). In the browser: queued events gone from
    /// `localStorage` (cleared, written over) or unreadable.
    Corrupt,
    /// The event broke the tracking plan under the `drop` policy (or is not
    /// in it under `unplanned: drop`), or strict mode refused the call.
    PlanViolation,
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
    /// See [`DropReason::PlanViolation`].
    #[serde(default)]
    pub plan_violation: u64,
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
            DropReason::PlanViolation => &mut self.plan_violation,
        };
        *slot += n;
    }

    /// All drops together.
    pub fn total(&self) -> u64 {
        self.invalid
            + self.oversize
            + self.overflow
            + self.expired
            + self.rejected
            + self.consent
            + self.corrupt
            + self.plan_violation
    }

    /// Every reason with its count, in the persisted order.
    pub fn by_reason(&self) -> [(DropReason, &'static str, u64); 8] {
        [
            (DropReason::Invalid, "invalid", self.invalid),
            (DropReason::Oversize, "oversize", self.oversize),
            (DropReason::Overflow, "overflow", self.overflow),
            (DropReason::Expired, "expired", self.expired),
            (DropReason::Rejected, "rejected", self.rejected),
            (DropReason::Consent, "consent", self.consent),
            (DropReason::Corrupt, "corrupt", self.corrupt),
            (
                DropReason::PlanViolation,
                "plan_violation",
                self.plan_violation,
            ),
        ]
    }

    /// Appends the persisted form, `{"invalid":0,…,"corrupt":0}`, to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (_, name, n) in self.by_reason() {
            push_key(out, name);
            crate::text::push_u64(out, n);
        }
        out.push('}');
    }

    /// The persisted form.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Reads the persisted form; every reason but `corrupt` and
    /// `plan_violation` (added later) must be there. `None` if the text is not drop counts.
    pub fn from_json(text: &str) -> Option<Self> {
        let v = json::parse(text).ok()?;
        let mut d = DropCounts::default();
        for (reason, name, _) in DropCounts::default().by_reason() {
            let n = match v.get(name) {
                None if matches!(reason, DropReason::Corrupt | DropReason::PlanViolation) => 0,
                other => other?.as_u64()?,
            };
            d.add(reason, n);
        }
        Some(d)
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

/// How long event calls waited for room in the worker's queue, since the
/// client started (native clients; the browser's calls never wait). A call
/// waits when the disk commits slower than the app records, and never past
/// `record_wait` (5 ms by default): then it is spilled or counted
/// `overflow`. Identity calls (identify, alias, group) and flushes are not
/// counted here: they wait until there is room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomWaits {
    /// Event calls that found the queue full and waited.
    pub calls: u64,
    /// Their waits added up, in microseconds.
    pub total_us: u64,
    /// The longest single wait, in microseconds.
    pub longest_us: u64,
}

/// One destination's part of a snapshot, when a client has several, or
/// one whose routing passes events over (with the `lanes` feature: native
/// builds and the browser's `destinations` package).
#[cfg(feature = "lanes")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationStats {
    /// The destination's name.
    pub name: String,
    /// Events in the buffer past this destination's cursor: not yet
    /// delivered, dropped or passed over by its routing.
    pub queued_events: u64,
    /// Their size in bytes.
    pub queued_bytes: u64,
    /// Events in its upload now on the wire.
    pub in_flight_events: u64,
    /// Events it acknowledged, since this client started.
    pub delivered_events: u64,
    /// Events its routing rules passed over (not for it), since this client started.
    pub skipped_events: u64,
    /// Upload requests made to it, since this client started.
    pub requests: u64,
    /// Its failed attempts scheduled for retry, since this client started.
    pub retries: u64,
    /// Milliseconds until its next retry, while one is scheduled.
    pub next_retry_in_ms: Option<u64>,
    /// Its last delivery error, if any.
    pub last_error: Option<String>,
    /// Its last permanent refusal.
    pub last_rejection: Option<String>,
    /// True once it answered 401/403: uploads to it stop, events are kept.
    pub auth_failed: bool,
    /// Its events dropped, by reason, over the life of the buffer file
    /// (`overflow` and `expired`: the rows removed that it had not finished
    /// with; `consent`: purged when a category it needs was revoked).
    pub dropped: DropCounts,
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
    /// Tracking-plan violations per event and rule, and the latest ones,
    /// over the life of the buffer file (empty without a plan).
    #[serde(default)]
    pub plan: PlanStats,
    /// How long event calls waited for room (see [`RoomWaits`]).
    #[serde(default)]
    pub waited_for_room: RoomWaits,
    /// Each destination, when the client has more than one or its one
    /// destination has routing (then its entry's `skipped_events` counts
    /// what the routing passed over); empty with one that takes every
    /// event: the fields above are then that destination's. The fields above add
    /// up every destination: queued counts the buffer file, delivered and
    /// requests sum over destinations, and a drop by a destination (refused,
    /// purged for its consent) counts once for each that dropped it.
    #[cfg(feature = "lanes")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<DestinationStats>,
}

/// Appends `,"key":n` (`null` for none).
fn number(out: &mut String, key: &str, n: Option<u64>) {
    push_key(out, key);
    match n {
        Some(n) => crate::text::push_u64(out, n),
        None => out.push_str("null"),
    }
}

/// Appends `,"key":"text"` (`null` for none).
fn text(out: &mut String, key: &str, s: &Option<String>) {
    push_key(out, key);
    Json::from(s.clone()).write(out);
}

#[cfg(feature = "lanes")]
impl DestinationStats {
    /// Appends this destination's part as a JSON object, with the field
    /// names above (as serde writes them; a test holds the two together).
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        push_key(out, "name");
        push_string(out, &self.name);
        number(out, "queued_events", Some(self.queued_events));
        number(out, "queued_bytes", Some(self.queued_bytes));
        number(out, "in_flight_events", Some(self.in_flight_events));
        number(out, "delivered_events", Some(self.delivered_events));
        number(out, "skipped_events", Some(self.skipped_events));
        number(out, "requests", Some(self.requests));
        number(out, "retries", Some(self.retries));
        number(out, "next_retry_in_ms", self.next_retry_in_ms);
        text(out, "last_error", &self.last_error);
        text(out, "last_rejection", &self.last_rejection);
        push_key(out, "auth_failed");
        out.push_str(if self.auth_failed { "true" } else { "false" });
        push_key(out, "dropped");
        self.dropped.write_json(out);
        out.push('}');
    }
}

impl Stats {
    /// The snapshot as JSON, with the field names above (`snake_case`),
    /// `storage` as `{"state":"ok"}` or `{"state":"failing","error":…}`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        number(&mut out, "queued_events", Some(self.queued_events));
        number(&mut out, "queued_bytes", Some(self.queued_bytes));
        number(&mut out, "oldest_queued_age_ms", self.oldest_queued_age_ms);
        number(&mut out, "memory_events", Some(self.memory_events));
        number(&mut out, "in_flight_events", Some(self.in_flight_events));
        number(&mut out, "delivered_events", Some(self.delivered_events));
        number(&mut out, "requests", Some(self.requests));
        number(&mut out, "retries", Some(self.retries));
        number(&mut out, "next_retry_in_ms", self.next_retry_in_ms);
        text(&mut out, "last_error", &self.last_error);
        text(&mut out, "last_rejection", &self.last_rejection);
        push_key(&mut out, "auth_failed");
        out.push_str(if self.auth_failed { "true" } else { "false" });
        push_key(&mut out, "storage");
        match &self.storage {
            StorageState::Ok => out.push_str("{\"state\":\"ok\"}"),
            StorageState::Failing { error } => {
                out.push_str("{\"state\":\"failing\",\"error\":");
                push_string(&mut out, error);
                out.push('}');
            }
        }
        push_key(&mut out, "dropped");
        self.dropped.write_json(&mut out);
        // Without the `plan` feature (the default browser package) there
        // are no plans, and no code to write their counts.
        if cfg!(feature = "plan") {
            push_key(&mut out, "plan");
            out.push_str(&self.plan.to_json());
        }
        // The browser's calls never wait: no code for it in the page.
        if cfg!(feature = "std") {
            let w = &self.waited_for_room;
            push_key(&mut out, "waited_for_room");
            out.push('{');
            number(&mut out, "calls", Some(w.calls));
            number(&mut out, "total_us", Some(w.total_us));
            number(&mut out, "longest_us", Some(w.longest_us));
            out.push('}');
        }
        #[cfg(feature = "lanes")]
        if !self.destinations.is_empty() {
            push_key(&mut out, "destinations");
            for (i, d) in self.destinations.iter().enumerate() {
                out.push(if i == 0 { '[' } else { ',' });
                d.write_json(&mut out);
            }
            out.push(']');
        }
        out.push('}');
        out
    }
}

// At the end of the file: the page package's location data for the code
// above stays as it was (its size moves with line numbers).
impl DropCounts {
    /// Adds every count of `other` to these.
    pub fn merge(&mut self, other: &DropCounts) {
        self.invalid += other.invalid;
        self.oversize += other.oversize;
        self.overflow += other.overflow;
        self.expired += other.expired;
        self.rejected += other.rejected;
        self.consent += other.consent;
        self.corrupt += other.corrupt;
        self.plan_violation += other.plan_violation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_what_serde_writes() {
        let dropped = DropCounts {
            invalid: 1,
            oversize: 2,
            overflow: 3,
            expired: 4,
            rejected: 5,
            consent: 6,
            corrupt: 7,
            plan_violation: 8,
        };
        let mut s = Stats {
            queued_events: 10,
            queued_bytes: 2_000,
            oldest_queued_age_ms: Some(5),
            memory_events: 0,
            in_flight_events: 3,
            delivered_events: u64::MAX,
            requests: 9,
            retries: 1,
            next_retry_in_ms: None,
            last_error: Some("HTTP 503: \"busy\"\n".into()),
            last_rejection: None,
            auth_failed: true,
            storage: StorageState::Failing {
                error: "disk full".into(),
            },
            dropped,
            plan: PlanStats::default(),
            waited_for_room: RoomWaits {
                calls: 3,
                total_us: 7_001,
                longest_us: 5_000,
            },
            destinations: Vec::new(),
        };
        assert_eq!(s.to_json(), serde_json::to_string(&s).unwrap());
        s.storage = StorageState::Ok;
        s.oldest_queued_age_ms = None;
        s.plan.count(
            "Order Completed",
            &[crate::plan::Violation {
                rule: "type".into(),
                path: "properties.total".into(),
                message: "expected number, got string \"9.99\"".into(),
            }],
        );
        assert_eq!(s.to_json(), serde_json::to_string(&s).unwrap());
        s.destinations.push(DestinationStats {
            name: "amplitude".into(),
            queued_events: 4,
            queued_bytes: 400,
            in_flight_events: 0,
            delivered_events: 6,
            skipped_events: 1,
            requests: 2,
            retries: 1,
            next_retry_in_ms: Some(900),
            last_error: Some("HTTP 503".into()),
            last_rejection: None,
            auth_failed: false,
            dropped,
        });
        assert_eq!(s.to_json(), serde_json::to_string(&s).unwrap());
        let mut second = s.destinations[0].clone();
        (second.name, second.last_rejection) = ("a \"quoted\" name".into(), Some("400".into()));
        s.destinations.push(second);
        assert_eq!(s.to_json(), serde_json::to_string(&s).unwrap());
        assert_eq!(dropped.to_json(), serde_json::to_string(&dropped).unwrap());
        assert_eq!(DropCounts::from_json(&dropped.to_json()), Some(dropped));
        let old = r#"{"invalid":1,"oversize":0,"overflow":0,"expired":0,"rejected":0,"consent":2}"#;
        assert_eq!(
            DropCounts::from_json(old),
            Some(DropCounts {
                invalid: 1,
                consent: 2,
                ..DropCounts::default()
            })
        );
        assert_eq!(DropCounts::from_json(r#"{"invalid":1}"#), None);
        assert_eq!(DropCounts::from_json("nope"), None);
    }
}
