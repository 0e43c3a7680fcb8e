//! Wire formats: how a batch becomes an HTTP request, and what a response means.
//!
//! One module per backend format. Each [`Wire`] encodes a batch of stored
//! events into an [`HttpRequest`] and classifies an [`HttpResponse`] into an
//! [`Outcome`]. What to *do* with an outcome (retry when, split how, count
//! what) is the engine's decision; sending the bytes is the runtime's.
//!
//! Formats: [`SegmentWire`] (Segment and RudderStack `/v1/batch`, the
//! default), [`AmplitudeWire`] (HTTP V2 `/2/httpapi` or Batch `/batch`) and
//! [`PostHogWire`] (`/batch/`). Each reads the stored event, which is always
//! Segment-spec JSON, and writes its backend's shape.

use crate::prelude::*;

#[cfg(feature = "wire-amplitude")]
mod amplitude;
#[cfg(feature = "wire-posthog")]
mod posthog;
mod segment;

#[cfg(feature = "wire-amplitude")]
pub use amplitude::AmplitudeWire;
#[cfg(feature = "wire-posthog")]
pub use posthog::{is_uuid as posthog_is_uuid, uuid_for as posthog_uuid_for, PostHogWire};

/// The path of Amplitude's HTTP V2 API.
pub const AMPLITUDE_HTTP_API_PATH: &str = "/2/httpapi";
/// The path of Amplitude's Batch API (higher limits, for large volumes).
pub const AMPLITUDE_BATCH_API_PATH: &str = "/batch";
/// The path of PostHog's batch API, with the trailing slash its SDKs send.
pub const POSTHOG_BATCH_PATH: &str = "/batch/";
pub use segment::SegmentWire;

use crate::store::StoredEvent;

/// How much of an error response's body is kept for `stats()` and logs.
pub const MAX_ERROR_BODY_BYTES: usize = 512;

/// How much of a response's body a runtime reads for [`Wire::classify`]:
/// 64 KiB, room for Amplitude's lists of the refused events' positions in
/// a batch of 2,000.
pub const MAX_RESPONSE_BODY_BYTES: usize = 64 * 1024;

/// Keys shorter than this are not looked for in error bodies: too short to
/// tell from ordinary text (and no secret: real keys are 27 to 47 characters).
pub(crate) const MIN_REDACTED_KEY_BYTES: usize = 8;

#[cfg(any(feature = "wire-amplitude", feature = "wire-posthog"))]
/// The trait of a `group` call that names its group type (Amplitude's
/// `groups` key, PostHog's `$group_type`); without it the type is
/// [`DEFAULT_GROUP_TYPE`].
pub const GROUP_TYPE_TRAIT: &str = "group_type";
/// The group type of a `group` call whose traits name none.
pub const DEFAULT_GROUP_TYPE: &str = "company";

/// The group type of a `group` call with `traits`.
#[cfg(any(feature = "wire-amplitude", feature = "wire-posthog"))]
pub(crate) fn group_type(traits: &crate::json::Json) -> &str {
    traits[GROUP_TYPE_TRAIT]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_GROUP_TYPE)
}

#[cfg(feature = "wire-amplitude")]
/// Sorts positions and removes repeats by inserting into a sorted list (the
/// browser build carries no sorting code).
pub(crate) fn sort_unique_indices(indices: &mut Vec<usize>) {
    let mut sorted: Vec<usize> = Vec::with_capacity(indices.len());
    for i in indices.drain(..) {
        if let Err(at) = sorted.binary_search(&i) {
            sorted.insert(at, i);
        }
    }
    *indices = sorted;
}

/// An HTTP request for the runtime to send, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Full URL to `POST` to.
    pub url: String,
    /// Headers, `Content-Encoding` excepted (see [`gzip`](Self::gzip)).
    pub headers: Vec<(&'static str, String)>,
    /// The uncompressed body.
    pub body: Vec<u8>,
    /// Whether the runtime should gzip the body and add `Content-Encoding: gzip`.
    pub gzip: bool,
    /// Natively: where the body's tail starts. The head before it is made
    /// of the batch's events alone, so the runtime may compress it ahead,
    /// and once for every destination whose head has the same bytes; the
    /// tail (the send time, a key) is added as the request leaves. The
    /// body's length when nothing in it depends on the time of sending.
    #[cfg(feature = "native")]
    pub tail_from: usize,
    /// Natively: where the send time sits in the body, in the tail
    /// (ISO-8601 UTC with milliseconds, as [`crate::time::iso8601_ms`]
    /// writes it). The runtime writes the time the request leaves in its
    /// place.
    #[cfg(feature = "native")]
    pub sent_at: Option<core::ops::Range<usize>>,
}

/// What came back from the server, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, if present.
    pub retry_after: Option<String>,
    /// The body, or its start (at most [`MAX_RESPONSE_BODY_BYTES`]). Wires
    /// cut it to [`MAX_ERROR_BODY_BYTES`] for error reports.
    pub body: String,
}

/// What a response means for the batch that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend has the events: delete them.
    Delivered,
    /// A temporary failure: send the same events again later. `after_ms` is
    /// the server's `Retry-After`, if it gave one.
    Retry {
        /// The delay the server asked for, in milliseconds.
        after_ms: Option<u64>,
        /// What went wrong, for `stats().last_error`.
        reason: String,
    },
    /// The batch is too large for the server: send it in halves.
    Split,
    /// The server refuses something in the batch (a 400: an event it cannot
    /// read; or another 4xx that is not about the endpoint, such as 409 or
    /// 422): a batch of several events is sent again in halves until the
    /// refused events are alone; a single refused event is dropped, counted
    /// as `rejected`. The others are delivered.
    Refused {
        /// Status and the start of the body.
        reason: String,
    },
    /// The server refuses the events at these positions in the batch (an
    /// Amplitude 400 listing them): drop only those, counted as `rejected`
    /// with `reason`; send the others again at once. (With feature
    /// `wire-amplitude`, the one wire that answers per event.)
    #[cfg(feature = "wire-amplitude")]
    RefusedEvents {
        /// Positions in the batch, sorted, without repeats.
        indices: Vec<usize>,
        /// Status and the start of the body.
        reason: String,
    },
    /// The server is throttling the users or devices of the events at these
    /// positions (an Amplitude 429): those wait out a backoff, the others of
    /// the batch are sent again at once. No positions: the whole batch waits.
    #[cfg(feature = "wire-amplitude")]
    Throttled {
        /// Positions in the batch, sorted, without repeats.
        indices: Vec<usize>,
        /// The delay the server asked for, in milliseconds.
        after_ms: Option<u64>,
        /// Status and the start of the body.
        reason: String,
    },
    /// The server refuses every event of the batch for good (an Amplitude
    /// 400 listing them all): drop them, counted as `rejected`.
    #[cfg(feature = "wire-amplitude")]
    Reject {
        /// Status and the start of the body.
        reason: String,
    },
    /// The write key is wrong: stop sending, keep every event.
    AuthFailed {
        /// Status and the start of the body.
        reason: String,
    },
}

/// A backend's wire format.
pub trait Wire: Send {
    /// Builds the request carrying `events`, with `now_ms` as the send time.
    fn encode(&self, events: &[StoredEvent], now_ms: i64) -> HttpRequest;
    /// Says what `response` means for the batch it answers.
    fn classify(&self, response: &HttpResponse, now_ms: i64) -> Outcome;
    /// Whether an answer may settle or hold single events of the batch
    /// (Amplitude's per-event lists): the next batch then depends on it.
    fn answers_per_event(&self) -> bool {
        false
    }
}

/// Reads `Retry-After` as delta-seconds or as an HTTP date; `None` when absent
/// or unreadable (the normal backoff applies then).
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if let Some(secs) = crate::text::parse_u64(value) {
        return Some(secs.saturating_mul(1000));
    }
    let at_ms = crate::time::parse_http_date_ms(value)?;
    Some(at_ms.saturating_sub(now_ms).max(0) as u64)
}

/// Cuts an error body to [`MAX_ERROR_BODY_BYTES`] on a character boundary.
pub fn body_prefix(body: &str) -> &str {
    if body.len() <= MAX_ERROR_BODY_BYTES {
        return body;
    }
    let mut end = MAX_ERROR_BODY_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body.get(..end).unwrap_or_default()
}

/// True for the statuses that say the request went to the wrong place, not
/// that its events are bad: 404, 405 and 410 (a typo in the endpoint, an
/// API that moved) and 415 (a server that takes no gzip). Dropping the batch
/// would lose every event until someone noticed; they are kept and retried.
pub(crate) fn names_the_endpoint(status: u16) -> bool {
    matches!(status, 404 | 405 | 410 | 415)
}

/// The [`Outcome`] of a status [`names_the_endpoint`]: retried with backoff,
/// the events kept, the error saying where to look.
pub(crate) fn wrong_endpoint(detail: String) -> Outcome {
    Outcome::Retry {
        after_ms: None,
        reason: crate::cat!(detail, ": check the endpoint"),
    }
}

/// `HTTP {status}: {start of body}`, with the key cut out of the body (a
/// server that echoes the request must not put it into `stats()`).
#[cfg(any(feature = "wire-amplitude", feature = "wire-posthog"))]
pub(crate) fn redacted_detail(r: &HttpResponse, key: &str) -> String {
    // Redacted whole, then cut: a key across the cut would leave its first
    // half in the report otherwise.
    let mut whole = r.body.trim().to_string();
    if key.len() >= MIN_REDACTED_KEY_BYTES {
        whole = whole.replace(key, "<api key>");
    }
    let body = body_prefix(&whole);
    if body.is_empty() {
        crate::cat!("HTTP ", r.status)
    } else {
        crate::cat!("HTTP ", r.status, ": ", body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's probe for a poison event is an upload of no events:
    /// every wire makes it a request of its own format, with its key.
    #[cfg(all(feature = "wire-amplitude", feature = "wire-posthog"))]
    #[test]
    fn every_wire_encodes_an_empty_batch_as_a_request_of_its_format() {
        let wires: [(Box<dyn Wire>, &str); 3] = [
            (Box::new(SegmentWire::new("http://h", "k", true)), "batch"),
            (
                Box::new(AmplitudeWire::new("http://h", "k", false, None)),
                "events",
            ),
            (Box::new(PostHogWire::new("http://h", "k", false)), "batch"),
        ];
        for (wire, list) in wires {
            let r = wire.encode(&[], 0);
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v[list], serde_json::json!([]), "{v}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("120", 0), Some(120_000));
        // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770_000),
            Some(7_000)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_790_000),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn body_prefix_respects_char_boundaries() {
        let s = "é".repeat(400);
        let p = body_prefix(&s);
        assert!(p.len() <= MAX_ERROR_BODY_BYTES && p.chars().all(|c| c == 'é'));
    }
}
