//! Segment / RudderStack `POST /v1/batch`.
//!
//! Body: `{"batch":[...],"sentAt":"<ISO-8601>","writeKey":"..."}`, with Basic
//! auth (the write key as user, an empty password). Stored events are already
//! the JSON objects Segment's spec describes, so encoding splices them into
//! the body without parsing them again. `sentAt` is the send time of *this*
//! attempt, so the backend can correct a device's clock skew
//! (`timestamp = receivedAt - (sentAt - originalTimestamp)`).

use crate::prelude::*;

use super::{
    body_prefix, names_the_endpoint, parse_retry_after, wrong_endpoint, HttpRequest, HttpResponse,
    Outcome, Wire, MIN_REDACTED_KEY_BYTES,
};
use crate::cat;
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
        let mut authorization = String::from("Basic ");
        push_base64(&mut authorization, &[write_key.as_bytes(), b":"].concat());
        SegmentWire {
            url: cat!(endpoint.trim_end_matches('/'), "/v1/batch"),
            write_key: write_key.to_string(),
            authorization,
            gzip,
        }
    }
}

impl SegmentWire {
    /// `body` with the write key, and the Basic token made of it, replaced
    /// by `<write key>`: a server that echoes what it was sent ("write key
    /// `…` is not valid") must not put the key into `stats().last_error`, the
    /// logs or the buffer file's delivery state (`cairn inspect`).
    fn redacted(&self, body: &str) -> String {
        let token = self
            .authorization
            .strip_prefix("Basic ")
            .unwrap_or_default();
        let secrets = [self.write_key.as_str(), token];
        let mut out = String::with_capacity(body.len());
        let mut skip_to = 0;
        for (i, c) in body.char_indices() {
            if i < skip_to {
                continue;
            }
            let rest = body.as_bytes().get(i..).unwrap_or_default();
            let found = secrets
                .iter()
                .find(|s| s.len() >= MIN_REDACTED_KEY_BYTES && rest.starts_with(s.as_bytes()));
            match found {
                Some(s) => {
                    out.push_str("<write key>");
                    skip_to = i + s.len();
                }
                None => out.push(c),
            }
        }
        out
    }
}

/// Appends `bytes` in standard base64 with padding (RFC 4648, section 4),
/// for the Basic credentials. Hand-written: the `base64` crate's encoder
/// brought an `expect` with `Debug` formatting into the browser build.
fn push_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
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
        #[cfg(feature = "native")]
        let tail_from = body.len();
        body.push_str("],\"sentAt\":\"");
        #[cfg(feature = "native")]
        let sent_from = body.len();
        body.push_str(&iso8601_ms(now_ms));
        #[cfg(feature = "native")]
        let sent_at = Some(sent_from..body.len());
        body.push_str("\",\"writeKey\":");
        push_string(&mut body, &self.write_key);
        body.push('}');
        HttpRequest {
            url: self.url.clone(),
            headers: vec![
                ("Content-Type", "application/json".into()),
                ("Authorization", self.authorization.clone()),
                ("User-Agent", cat!("cairn/", crate::VERSION)),
            ],
            body: body.into_bytes(),
            gzip: self.gzip,
            #[cfg(feature = "native")]
            tail_from,
            #[cfg(feature = "native")]
            sent_at,
        }
    }

    fn classify(&self, r: &HttpResponse, now_ms: i64) -> Outcome {
        let detail = || {
            // Redacted whole, then cut: a key across the cut would leave
            // its first half in the report otherwise.
            let whole = self.redacted(r.body.trim());
            let body = body_prefix(&whole);
            if body.is_empty() {
                cat!("HTTP ", r.status)
            } else {
                cat!("HTTP ", r.status, ": ", body)
            }
        };
        match r.status {
            200..=299 => Outcome::Delivered,
            413 => Outcome::Split,
            401 | 403 => Outcome::AuthFailed {
                reason: cat!(detail(), ": check the write key"),
            },
            408 | 429 | 500..=599 => Outcome::Retry {
                after_ms: r
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now_ms)),
                reason: detail(),
            },
            // Segment and RudderStack answer 400 to a batch holding an event
            // they cannot read: the others in it are fine. Any other 4xx may
            // be one event's too: halves find it, the rest go.
            s @ 400..=499 if !names_the_endpoint(s) => Outcome::Refused { reason: detail() },
            // Said of the endpoint, not of the events (a 404, a redirect):
            // keep them and retry.
            _ => wrong_endpoint(detail()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn ev(seq: u64, json: &str) -> StoredEvent {
        StoredEvent {
            seq,
            message_id: format!("m{seq}"),
            created_ms: 0,
            json: json.into(),
        }
    }

    fn resp(status: u16, retry_after: Option<&str>) -> HttpResponse {
        HttpResponse {
            status,
            retry_after: retry_after.map(str::to_string),
            body: "nope".into(),
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (text, want) in [
            ("", ""),
            ("a:", "YTo="),
            ("wk:", "d2s6"),
            ("WRITE_KEY:", "V1JJVEVfS0VZOg=="),
            ("clé-ü:", "Y2zDqS3DvDo="),
        ] {
            let mut out = String::new();
            push_base64(&mut out, text.as_bytes());
            assert_eq!(out, want);
            assert_eq!(out, base64::engine::general_purpose::STANDARD.encode(text));
        }
    }

    #[test]
    fn encodes_batch_body_and_headers() {
        let w = SegmentWire::new("http://h:1/", "wk\"1", true);
        let r = w.encode(
            &[ev(1, r#"{"type":"track"}"#), ev(2, r#"{"type":"page"}"#)],
            0,
        );
        assert_eq!(r.url, "http://h:1/v1/batch");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["batch"][1]["type"], "page");
        assert_eq!(v["sentAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["writeKey"], "wk\"1");
        let auth = &r.headers.iter().find(|h| h.0 == "Authorization").unwrap().1;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(decoded, b"wk\"1:");
        assert!(r.gzip);
    }

    #[test]
    fn the_write_key_never_reaches_an_error_text() {
        let key = "wk_live_s3cret_0123456789";
        let w = SegmentWire::new("http://h", key, false);
        let token = "d2tfbGl2ZV9zM2NyZXRfMDEyMzQ1Njc4OTo=";
        for (status, body) in [
            (401, format!("write key `{key}` is not valid")),
            (
                400,
                format!("{{\"echo\": \"Basic {token}\", \"k\": \"{key}{key}\"}}"),
            ),
            (503, format!("ünïcødé {key}")),
            // The key across the 512-byte cut of the report.
            (500, format!("{}{key} is not valid", "x".repeat(500))),
            (500, format!("{}Basic {token}", "x".repeat(505))),
        ] {
            let r = HttpResponse {
                status,
                retry_after: None,
                body,
            };
            let reason = match w.classify(&r, 0) {
                Outcome::AuthFailed { reason }
                | Outcome::Refused { reason }
                | Outcome::Retry { reason, .. } => reason,
                other => panic!("{other:?}"),
            };
            // Not even a part of it: its first 8 bytes.
            assert!(
                !reason.contains(&key[..8]) && !reason.contains(&token[..8]),
                "{reason}"
            );
            // Where the report was cut inside the placeholder, its start.
            assert!(
                reason.contains("<write key>") || reason.ends_with('<'),
                "{reason}"
            );
        }
        // A short key is left alone: it cannot be told from ordinary text.
        let w = SegmentWire::new("http://h", "key", false);
        assert_eq!(
            w.classify(&resp(422, None), 0),
            Outcome::Refused {
                reason: "HTTP 422: nope".into()
            }
        );
    }

    #[test]
    fn classifies_the_status_matrix() {
        let w = SegmentWire::new("http://h", "k", false);
        assert_eq!(w.classify(&resp(200, None), 0), Outcome::Delivered);
        assert_eq!(w.classify(&resp(204, None), 0), Outcome::Delivered);
        assert_eq!(w.classify(&resp(413, None), 0), Outcome::Split);
        assert!(matches!(
            w.classify(&resp(401, None), 0),
            Outcome::AuthFailed { .. }
        ));
        assert!(matches!(
            w.classify(&resp(403, None), 0),
            Outcome::AuthFailed { .. }
        ));
        assert!(
            matches!(w.classify(&resp(400, None), 0), Outcome::Refused { ref reason } if reason == "HTTP 400: nope")
        );
        // The endpoint is wrong, not the events: kept and retried.
        for s in [404, 405, 410, 415] {
            assert_eq!(
                w.classify(&resp(s, None), 0),
                Outcome::Retry {
                    after_ms: None,
                    reason: format!("HTTP {s}: nope: check the endpoint")
                },
                "{s}"
            );
        }
        // Any other 4xx may be one event's: halves find it.
        for s in [402, 409, 422, 451] {
            assert!(
                matches!(w.classify(&resp(s, None), 0), Outcome::Refused { .. }),
                "{s}"
            );
        }
        assert!(matches!(
            w.classify(&resp(429, Some("7")), 0),
            Outcome::Retry {
                after_ms: Some(7000),
                ..
            }
        ));
        assert!(matches!(
            w.classify(&resp(408, None), 0),
            Outcome::Retry { after_ms: None, .. }
        ));
        assert!(matches!(
            w.classify(&resp(503, None), 0),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            w.classify(&resp(302, None), 0),
            Outcome::Retry { .. }
        ));
    }
}
