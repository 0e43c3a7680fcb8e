//! Segment / RudderStack `POST /v1/batch`.
//!
//! Body: `{"batch":[...],"sentAt":"<ISO-8601>","writeKey":"..."}`, with Basic
//! auth (the write key as user, an empty password). Stored events are already
//! the JSON objects Segment's spec describes, so encoding splices them into
//! the body without parsing them again. `sentAt` is the send time of *this*
//! attempt, so the backend can correct a device's clock skew
//! (`timestamp = receivedAt - (sentAt - originalTimestamp)`).

use base64::Engine as _;

use super::{body_prefix, parse_retry_after, HttpRequest, HttpResponse, Outcome, Wire};
use crate::json_text::push_string;
use crate::store::StoredEvent;
use crate::time::iso8601_ms;

/// The Segment/RudderStack batch format.
#[derive(Debug, Clone)]
pub struct SegmentWire {
    url: String,
    write_key: String,
    authorization: String,
    gzip: bool,
}

impl SegmentWire {
    /// A format posting to `{endpoint}/v1/batch` with `write_key`.
    pub fn new(endpoint: &str, write_key: &str, gzip: bool) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:"));
        SegmentWire {
            url: format!("{}/v1/batch", endpoint.trim_end_matches('/')),
            write_key: write_key.to_string(),
            authorization: format!("Basic {token}"),
            gzip,
        }
    }
}

impl Wire for SegmentWire {
    fn encode(&self, events: &[StoredEvent], now_ms: i64) -> HttpRequest {
        let size: usize = events.iter().map(|e| e.json.len() + 1).sum();
        let mut body = String::with_capacity(size + 96 + self.write_key.len());
        body.push_str("{\"batch\":[");
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&e.json);
        }
        body.push_str("],\"sentAt\":\"");
        body.push_str(&iso8601_ms(now_ms));
        body.push_str("\",\"writeKey\":");
        push_string(&mut body, &self.write_key);
        body.push('}');
        HttpRequest {
            url: self.url.clone(),
            headers: vec![
                ("Content-Type", "application/json".into()),
                ("Authorization", self.authorization.clone()),
                ("User-Agent", format!("cairn/{}", crate::VERSION)),
            ],
            body: body.into_bytes(),
            gzip: self.gzip,
        }
    }

    fn classify(&self, r: &HttpResponse, now_ms: i64) -> Outcome {
        let detail = || {
            let body = body_prefix(r.body.trim());
            if body.is_empty() { format!("HTTP {}", r.status) } else { format!("HTTP {}: {body}", r.status) }
        };
        match r.status {
            200..=299 => Outcome::Delivered,
            413 => Outcome::Split,
            401 | 403 => Outcome::AuthFailed { reason: format!("{}: check the write key", detail()) },
            408 | 429 | 500..=599 => Outcome::Retry {
                after_ms: r.retry_after.as_deref().and_then(|v| parse_retry_after(v, now_ms)),
                reason: detail(),
            },
            400..=499 => Outcome::Reject { reason: detail() },
            // 1xx/3xx are not answers to a batch POST; treat as temporary.
            _ => Outcome::Retry { after_ms: None, reason: format!("unexpected {}", detail()) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, json: &str) -> StoredEvent {
        StoredEvent { seq, message_id: format!("m{seq}"), created_ms: 0, json: json.into() }
    }

    fn resp(status: u16, retry_after: Option<&str>) -> HttpResponse {
        HttpResponse { status, retry_after: retry_after.map(str::to_string), body: "nope".into() }
    }

    #[test]
    fn encodes_batch_body_and_headers() {
        let w = SegmentWire::new("http://h:1/", "wk\"1", true);
        let r = w.encode(&[ev(1, r#"{"type":"track"}"#), ev(2, r#"{"type":"page"}"#)], 0);
        assert_eq!(r.url, "http://h:1/v1/batch");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["batch"][1]["type"], "page");
        assert_eq!(v["sentAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["writeKey"], "wk\"1");
        let auth = &r.headers.iter().find(|h| h.0 == "Authorization").unwrap().1;
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(decoded, b"wk\"1:");
        assert!(r.gzip);
    }

    #[test]
    fn classifies_the_status_matrix() {
        let w = SegmentWire::new("http://h", "k", false);
        assert_eq!(w.classify(&resp(200, None), 0), Outcome::Delivered);
        assert_eq!(w.classify(&resp(204, None), 0), Outcome::Delivered);
        assert_eq!(w.classify(&resp(413, None), 0), Outcome::Split);
        assert!(matches!(w.classify(&resp(401, None), 0), Outcome::AuthFailed { .. }));
        assert!(matches!(w.classify(&resp(403, None), 0), Outcome::AuthFailed { .. }));
        assert!(matches!(w.classify(&resp(400, None), 0), Outcome::Reject { ref reason } if reason == "HTTP 400: nope"));
        assert!(matches!(w.classify(&resp(422, None), 0), Outcome::Reject { .. }));
        assert!(matches!(w.classify(&resp(429, Some("7")), 0), Outcome::Retry { after_ms: Some(7000), .. }));
        assert!(matches!(w.classify(&resp(408, None), 0), Outcome::Retry { after_ms: None, .. }));
        assert!(matches!(w.classify(&resp(503, None), 0), Outcome::Retry { .. }));
        assert!(matches!(w.classify(&resp(302, None), 0), Outcome::Retry { .. }));
    }
}
