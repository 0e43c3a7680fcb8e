//! PostHog `POST /batch/`.
//!
//! Body: `{"api_key":"…","batch":[{event, distinct_id, properties,
//! timestamp, uuid}],"sent_at":"…"}`, no auth header. This module decides
//! how a stored Segment-spec event becomes a PostHog event (see
//! docs/destinations.md for the table), which `uuid` a message id becomes,
//! and what PostHog's statuses mean; what to do about them is the engine's.
//!
//! `uuid` is PostHog's dedup key and must be a UUID. cairn's own message ids
//! are UUIDs (version 8, see [`crate::ids`]) and are sent as they are; an id
//! an app or a backfill brought (any text) is turned into a version-8 UUID
//! made from a hash of it, so a retry still carries the same `uuid`, and
//! the original goes along as the property `$cairn_message_id`.

use crate::prelude::*;

use super::{group_type, parse_retry_after, HttpRequest, HttpResponse, Outcome, Wire};
use crate::cat;
use crate::json::{parse, Json, Object};
use crate::json_text::push_string;
use crate::store::StoredEvent;
use crate::time::iso8601_ms;

use super::POSTHOG_BATCH_PATH as BATCH_PATH;

/// The PostHog batch format.
#[derive(Debug, Clone)]
pub struct PostHogWire {
    url: String,
    api_key: String,
    gzip: bool,
}

impl PostHogWire {
    /// A format posting to `{endpoint}/batch/` with the project `api_key`.
    pub fn new(endpoint: &str, api_key: &str, gzip: bool) -> Self {
        PostHogWire {
            url: cat!(endpoint.trim_end_matches('/'), BATCH_PATH),
            api_key: api_key.to_string(),
            gzip,
        }
    }
}

/// True for `8-4-4-4-12` hexadecimal digits, the shape PostHog accepts.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The `uuid` sent for `message_id`: the id itself when it is a UUID,
/// otherwise a version-8 UUID from two FNV-1a hashes of it (the same id
/// always gives the same UUID).
pub fn uuid_for(message_id: &str) -> String {
    if is_uuid(message_id) {
        return message_id.to_ascii_lowercase();
    }
    let fnv = |seed: u64| {
        message_id.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
        })
    };
    let bits =
        (u128::from(fnv(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(fnv(0x6c62_272e_07bb_0142));
    // Version 8 in bits 76..80, the RFC 9562 variant in bits 62..64.
    let bits = (bits & !(0xF << 76) & !(0b11 << 62)) | (0x8 << 76) | (0b10 << 62);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(char::from(HEX[((bits >> (124 - 4 * i)) & 0xF) as usize]));
    }
    out
}

fn text<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v[key].as_str()
}

/// The PostHog event for one stored event.
fn event(e: &StoredEvent) -> Object {
    // A damaged row still goes out with its id and time; PostHog decides.
    let v = parse(&e.json).unwrap_or_default();
    let user = text(&v, "userId");
    let anon = text(&v, "anonymousId");
    let mut distinct_id = user.or(anon).unwrap_or_default();
    let mut p = v["properties"].as_object().cloned().unwrap_or_default();
    let context = &v["context"];
    let name = text(&v, "name");
    let put = |p: &mut Object, k: &str, value: Json| {
        p.insert(k.to_string(), value);
    };
    let event = match text(&v, "type").unwrap_or("track") {
        "identify" => {
            if let Some(a) = anon.filter(|a| Some(*a) != user) {
                put(&mut p, "$anon_distinct_id", a.into());
            }
            if let Some(t) = v["traits"].as_object() {
                put(&mut p, "$set", t.clone().into());
            }
            "$identify".to_string()
        }
        "alias" => {
            // PostHog's alias: the earlier id is the event's distinct id and
            // `alias` the new one, as posthog-python's `alias()` sends it.
            let previous = text(&v, "previousId").or(anon).unwrap_or_default();
            distinct_id = previous;
            put(&mut p, "distinct_id", previous.into());
            put(&mut p, "alias", user.unwrap_or_default().into());
            "$create_alias".to_string()
        }
        "group" => {
            let kind = group_type(&v["traits"]);
            let key = text(&v, "groupId").unwrap_or_default();
            put(&mut p, "$group_type", kind.into());
            put(&mut p, "$group_key", key.into());
            if let Some(t) = v["traits"].as_object() {
                put(&mut p, "$group_set", t.clone().into());
            }
            "$groupidentify".to_string()
        }
        "screen" => {
            if let Some(n) = name {
                put(&mut p, "$screen_name", n.into());
            }
            "$screen".to_string()
        }
        "page" => {
            let url = p
                .get("url")
                .and_then(Json::as_str)
                .or_else(|| text(&context["page"], "url"))
                .map(str::to_string);
            if let Some(u) = url {
                put(&mut p, "$current_url", u.into());
            }
            if let Some(n) = name {
                put(&mut p, "$title", n.into());
            }
            "$pageview".to_string()
        }
        _ => text(&v, "event").unwrap_or_default().to_string(),
    };
    if let Some(lib) = text(&context["library"], "name") {
        put(&mut p, "$lib", lib.into());
    }
    if let Some(version) = text(&context["library"], "version") {
        put(&mut p, "$lib_version", version.into());
    }
    if let Some(s) = context["sessionId"].as_i64().filter(|s| *s > 0) {
        put(&mut p, "$session_id", cat!(s).into());
    }
    let uuid = uuid_for(&e.message_id);
    if uuid != e.message_id {
        put(&mut p, "$cairn_message_id", e.message_id.as_str().into());
    }
    [
        ("event", Json::from(event)),
        ("distinct_id", distinct_id.into()),
        ("properties", p.into()),
        ("timestamp", iso8601_ms(e.created_ms).into()),
        ("uuid", uuid.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

impl Wire for PostHogWire {
    fn encode(&self, events: &[StoredEvent], now_ms: i64) -> HttpRequest {
        let size: usize = events.iter().map(|e| e.json.len() + 64).sum();
        let mut body = String::with_capacity(size + 128);
        body.push_str("{\"api_key\":");
        push_string(&mut body, &self.api_key);
        body.push_str(",\"batch\":[");
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            event(e).write(&mut body);
        }
        #[cfg(feature = "native")]
        let tail_from = body.len();
        body.push_str("],\"sent_at\":\"");
        #[cfg(feature = "native")]
        let sent_from = body.len();
        body.push_str(&iso8601_ms(now_ms));
        #[cfg(feature = "native")]
        let sent_at = Some(sent_from..body.len());
        body.push_str("\"}");
        HttpRequest {
            url: self.url.clone(),
            headers: vec![
                ("Content-Type", "application/json".into()),
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
        let detail = || super::redacted_detail(r, &self.api_key);
        match r.status {
            200..=299 => Outcome::Delivered,
            413 => Outcome::Split,
            401 | 403 => Outcome::AuthFailed {
                reason: cat!(detail(), ": check the PostHog project API key"),
            },
            408 | 429 | 500..=599 => Outcome::Retry {
                after_ms: r
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now_ms)),
                reason: detail(),
            },
            // PostHog answers 400 to a batch it cannot read: find the
            // events it refuses by halves, as for Segment.
            s @ 400..=499 if !super::names_the_endpoint(s) => Outcome::Refused { reason: detail() },
            // A 404, a redirect: said of the endpoint, not of the events.
            _ => super::wrong_endpoint(detail()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, id: &str, json: &str) -> StoredEvent {
        StoredEvent {
            seq,
            message_id: id.into(),
            created_ms: 1_795_329_206_601,
            json: json.into(),
        }
    }

    fn resp(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            retry_after: None,
            body: String::new(),
        }
    }

    const ID: &str = "01a201f5-a957-8705-b5c4-b5cb6d449179";

    #[test]
    fn encodes_a_track_as_the_sample_has_it() {
        let w = PostHogWire::new("http://h:1/", "phc_KEY", true);
        let r = w.encode(
            &[ev(
                1,
                ID,
                r#"{"type":"track","event":"Order Completed","properties":{"price":9.99,"meta":{"tags":["a"]}},"userId":"user-0","anonymousId":"anon-1","context":{"library":{"name":"cairn","version":"0.1"}}}"#,
            )],
            0,
        );
        assert_eq!(r.url, "http://h:1/batch/");
        assert!(r.gzip);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["api_key"], "phc_KEY");
        assert_eq!(v["sent_at"], "1970-01-01T00:00:00.000Z");
        let e = &v["batch"][0];
        assert_eq!(e["event"], "Order Completed");
        assert_eq!(e["distinct_id"], "user-0");
        assert_eq!(e["uuid"], ID);
        assert_eq!(e["timestamp"], "2026-11-22T06:33:26.601Z");
        assert_eq!(e["properties"]["price"], 9.99);
        assert_eq!(e["properties"]["meta"]["tags"][0], "a");
        assert_eq!(e["properties"]["$lib"], "cairn");
        assert_eq!(e["properties"]["$lib_version"], "0.1");
        assert!(e["properties"].get("$cairn_message_id").is_none());
    }

    #[test]
    fn maps_every_call() {
        let w = PostHogWire::new("http://h", "k", false);
        let r = w.encode(
            &[
                ev(1, ID, r#"{"type":"identify","traits":{"plan":"pro"},"userId":"user-1","anonymousId":"anon-1"}"#),
                ev(2, ID, r#"{"type":"alias","userId":"user-2","previousId":"user-1","anonymousId":"anon-1"}"#),
                ev(3, ID, r#"{"type":"screen","name":"Home","properties":{"a":1},"anonymousId":"anon-1"}"#),
                ev(4, ID, r#"{"type":"page","name":"Docs","properties":{"url":"https://x/d"},"anonymousId":"anon-1"}"#),
                ev(5, ID, r#"{"type":"group","groupId":"acme","traits":{"seats":3},"userId":"user-1"}"#),
                ev(6, ID, r#"{"type":"track","event":"a","anonymousId":"anon-1"}"#),
            ],
            0,
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let b = &v["batch"];
        assert_eq!(b[0]["event"], "$identify");
        assert_eq!(b[0]["distinct_id"], "user-1");
        assert_eq!(b[0]["properties"]["$anon_distinct_id"], "anon-1");
        assert_eq!(b[0]["properties"]["$set"]["plan"], "pro");
        assert_eq!(b[1]["event"], "$create_alias");
        assert_eq!(b[1]["distinct_id"], "user-1");
        assert_eq!(b[1]["properties"]["alias"], "user-2");
        assert_eq!(b[2]["event"], "$screen");
        assert_eq!(b[2]["properties"]["$screen_name"], "Home");
        assert_eq!(b[2]["properties"]["a"], 1);
        assert_eq!(b[3]["event"], "$pageview");
        assert_eq!(b[3]["properties"]["$current_url"], "https://x/d");
        assert_eq!(b[4]["event"], "$groupidentify");
        assert_eq!(b[4]["properties"]["$group_type"], "company");
        assert_eq!(b[4]["properties"]["$group_key"], "acme");
        assert_eq!(b[4]["properties"]["$group_set"]["seats"], 3);
        assert_eq!(b[5]["distinct_id"], "anon-1");
    }

    #[test]
    fn message_ids_become_stable_uuids() {
        assert_eq!(uuid_for(ID), ID);
        assert_eq!(uuid_for(&ID.to_uppercase()), ID);
        let made = uuid_for("node-next-1795324666261-52be9890");
        assert!(is_uuid(&made), "{made}");
        assert_eq!(made.as_bytes()[14], b'8');
        assert!(matches!(made.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(made, uuid_for("node-next-1795324666261-52be9890"));
        assert_ne!(made, uuid_for("node-next-1795324666261-52be9891"));
        let w = PostHogWire::new("http://h", "k", false);
        let r = w.encode(
            &[ev(1, "m-1", r#"{"type":"track","event":"a","userId":"u"}"#)],
            0,
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["batch"][0]["uuid"], uuid_for("m-1"));
        assert_eq!(v["batch"][0]["properties"]["$cairn_message_id"], "m-1");
        // Every id cairn makes is sent as it is.
        for _ in 0..100 {
            let id = crate::ids::random_uuid();
            assert_eq!(uuid_for(&id), id);
        }
    }

    #[test]
    fn classifies_the_status_matrix() {
        let w = PostHogWire::new("http://h", "k", false);
        assert_eq!(w.classify(&resp(200), 0), Outcome::Delivered);
        assert_eq!(w.classify(&resp(413), 0), Outcome::Split);
        assert!(matches!(w.classify(&resp(400), 0), Outcome::Refused { .. }));
        assert!(matches!(
            w.classify(&resp(401), 0),
            Outcome::AuthFailed { .. }
        ));
        assert!(
            matches!(w.classify(&resp(404), 0), Outcome::Retry { ref reason, .. } if reason.ends_with("check the endpoint"))
        );
        assert!(matches!(w.classify(&resp(422), 0), Outcome::Refused { .. }));
        for s in [429, 500, 503, 408] {
            assert!(
                matches!(w.classify(&resp(s), 0), Outcome::Retry { .. }),
                "{s}"
            );
        }
    }
}
