//! Amplitude HTTP V2 `POST /2/httpapi`, and the Batch API `POST /batch`.
//!
//! Body: `{"api_key":"…","events":[…],"options":{"min_id_length":N}}`, no
//! auth header. This module decides how a stored Segment-spec event becomes
//! an Amplitude event (see docs/destinations.md for the table) and what each
//! status of Amplitude's documented answers means for the batch: a 400 that
//! lists the indices of bad events refuses only those, a 429 that names
//! throttled users or devices holds back only their events. What to do with
//! those outcomes (drop, resend, back off, keep order) is the engine's.
//!
//! The batch's user and device ids are remembered from [`Wire::encode`] to
//! [`Wire::classify`]: a 429 names throttled *ids*, and the engine works in
//! *positions* in the batch.

use crate::prelude::*;

use core::cell::Cell;

use super::{
    group_type, parse_retry_after, redacted_detail, HttpRequest, HttpResponse, Outcome, Wire,
};
use crate::cat;
use crate::json::{parse, Json, Object};
use crate::json_text::push_string;
use crate::store::StoredEvent;
use crate::time::iso8601_ms;

use super::{AMPLITUDE_BATCH_API_PATH as BATCH_API_PATH, AMPLITUDE_HTTP_API_PATH as HTTP_API_PATH};
/// The event type Amplitude gives a `screen` call (as its mobile SDKs name it).
pub const SCREEN_EVENT: &str = "[Amplitude] Screen Viewed";
/// The event type Amplitude gives a `page` call (as its browser SDK names it).
pub const PAGE_EVENT: &str = "[Amplitude] Page Viewed";

/// Which of the context's fields become which top-level Amplitude field.
const CONTEXT_FIELDS: [(&str, &str, &str); 8] = [
    ("app", "version", "app_version"),
    ("os", "name", "os_name"),
    ("os", "version", "os_version"),
    ("device", "model", "device_model"),
    ("device", "manufacturer", "device_manufacturer"),
    ("device", "brand", "device_brand"),
    ("network", "carrier", "carrier"),
    ("location", "country", "country"),
];

/// The Amplitude HTTP V2 / Batch format.
pub struct AmplitudeWire {
    url: String,
    api_key: String,
    batch_api: bool,
    min_id_length: Option<u32>,
    /// (user_id, device_id) of each event of the last batch encoded.
    last_ids: Cell<Vec<(Option<String>, Option<String>)>>,
}

impl core::fmt::Debug for AmplitudeWire {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Without the API key: a logged wire must not leak it.
        f.debug_struct("AmplitudeWire")
            .field("url", &self.url)
            .field("min_id_length", &self.min_id_length)
            .finish_non_exhaustive()
    }
}

impl AmplitudeWire {
    /// A format posting to `{endpoint}/2/httpapi`, or to `{endpoint}/batch`
    /// when `batch_api`, with `api_key`. `min_id_length` is sent as
    /// `options.min_id_length` (Amplitude's default is 5 characters).
    pub fn new(endpoint: &str, api_key: &str, batch_api: bool, min_id_length: Option<u32>) -> Self {
        let path = if batch_api {
            BATCH_API_PATH
        } else {
            HTTP_API_PATH
        };
        AmplitudeWire {
            url: cat!(endpoint.trim_end_matches('/'), path),
            api_key: api_key.to_string(),
            batch_api,
            min_id_length,
            last_ids: Cell::new(Vec::new()),
        }
    }
}

/// A string member of `v`, if it is one.
fn text<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v[key].as_str()
}

/// `{"$set": value}`, or nothing when `value` is no object or an empty one.
fn set_of(value: &Json) -> Option<Json> {
    let o = value.as_object().filter(|o| !o.is_empty())?;
    Some(Json::Object(
        [("$set".to_string(), Json::Object(o.clone()))]
            .into_iter()
            .collect(),
    ))
}

/// The Amplitude event for one stored event.
fn event(e: &StoredEvent) -> (Object, Option<String>, Option<String>) {
    // Stored events are JSON cairn wrote itself; one that does not parse
    // (a damaged row) still goes out with its id and time, and Amplitude's
    // 400 names it, so it is dropped and counted, not lost silently.
    let v = parse(&e.json).unwrap_or_default();
    let mut o = Object::new();
    let put = |o: &mut Object, k: &str, v: Json| {
        o.insert(k.to_string(), v);
    };
    let user_id = text(&v, "userId").map(str::to_string);
    let device_id = text(&v, "anonymousId").map(str::to_string);
    if let Some(u) = &user_id {
        put(&mut o, "user_id", u.as_str().into());
    }
    if let Some(d) = &device_id {
        put(&mut o, "device_id", d.as_str().into());
    }
    put(&mut o, "time", e.created_ms.into());
    put(&mut o, "insert_id", e.message_id.as_str().into());
    let context = &v["context"];
    // Session ids are the session's start in ms, as Amplitude's own; 0 is
    // "no session" (an event brought whole by a backend).
    if let Some(s) = context["sessionId"].as_i64().filter(|s| *s > 0) {
        put(&mut o, "session_id", s.into());
    }
    if let (Some(name), Some(version)) = (
        text(&context["library"], "name"),
        text(&context["library"], "version"),
    ) {
        put(&mut o, "library", cat!(name, "/", version).into());
    }
    for (outer, inner, field) in CONTEXT_FIELDS {
        if let Some(value) = text(&context[outer], inner) {
            put(&mut o, field, value.into());
        }
    }
    if let Some(l) = text(context, "locale") {
        put(&mut o, "language", l.into());
    }
    if let Some(ip) = text(context, "ip") {
        put(&mut o, "ip", ip.into());
    }
    let properties = || v["properties"].as_object().cloned().unwrap_or_default();
    let kind = text(&v, "type").unwrap_or("track");
    let name = text(&v, "name").or_else(|| text(&v, "event"));
    match kind {
        "identify" => {
            put(&mut o, "event_type", "$identify".into());
            if let Some(set) = set_of(&v["traits"]) {
                put(&mut o, "user_properties", set);
            }
        }
        // Amplitude has no alias call in this API: an event carrying both
        // the new user id and the device id is what links them.
        "alias" => put(&mut o, "event_type", "$identify".into()),
        "group" => {
            put(&mut o, "event_type", "$groupidentify".into());
            let group_id = text(&v, "groupId").unwrap_or_default();
            let groups: Object = [(group_type(&v["traits"]).to_string(), group_id.into())]
                .into_iter()
                .collect();
            put(&mut o, "groups", groups.into());
            if let Some(set) = set_of(&v["traits"]) {
                put(&mut o, "group_properties", set);
            }
        }
        "screen" => {
            put(&mut o, "event_type", SCREEN_EVENT.into());
            let mut p = properties();
            if let Some(n) = name {
                p.insert("[Amplitude] Screen Name".into(), n.into());
            }
            put(&mut o, "event_properties", p.into());
        }
        "page" => {
            put(&mut o, "event_type", PAGE_EVENT.into());
            let mut p = properties();
            for (from, to) in [
                ("url", "[Amplitude] Page URL"),
                ("path", "[Amplitude] Page Path"),
                ("title", "[Amplitude] Page Title"),
            ] {
                if let Some(value) = p.get(from).and_then(Json::as_str).map(str::to_string) {
                    p.insert(to.into(), value.into());
                }
            }
            if let Some(n) = name {
                p.insert("[Amplitude] Page Name".into(), n.into());
            }
            put(&mut o, "event_properties", p.into());
        }
        _ => {
            put(&mut o, "event_type", name.unwrap_or_default().into());
            put(&mut o, "event_properties", properties().into());
        }
    }
    (o, user_id, device_id)
}

impl Wire for AmplitudeWire {
    fn answers_per_event(&self) -> bool {
        true
    }

    fn encode(&self, events: &[StoredEvent], now_ms: i64) -> HttpRequest {
        let size: usize = events.iter().map(|e| e.json.len() + 64).sum();
        let mut body = String::with_capacity(size + 128);
        let mut ids = Vec::with_capacity(events.len());
        body.push_str("{\"api_key\":");
        push_string(&mut body, &self.api_key);
        body.push_str(",\"events\":[");
        for (i, e) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let (o, user, device) = event(e);
            o.write(&mut body);
            ids.push((user, device));
        }
        #[cfg(feature = "native")]
        let tail_from = body.len();
        body.push(']');
        if let Some(n) = self.min_id_length {
            body.push_str(",\"options\":{\"min_id_length\":");
            body.push_str(&cat!(u64::from(n)));
            body.push('}');
        }
        #[cfg(feature = "native")]
        let mut sent_at = None;
        if !self.batch_api {
            body.push_str(",\"client_upload_time\":\"");
            #[cfg(feature = "native")]
            let sent_from = body.len();
            body.push_str(&iso8601_ms(now_ms));
            #[cfg(feature = "native")]
            {
                sent_at = Some(sent_from..body.len());
            }
            body.push('"');
        }
        body.push('}');
        self.last_ids.set(ids);
        HttpRequest {
            url: self.url.clone(),
            headers: vec![
                ("Content-Type", "application/json".into()),
                ("Accept", "*/*".into()),
                ("User-Agent", cat!("cairn/", crate::VERSION)),
            ],
            body: body.into_bytes(),
            // Amplitude's ingestion documents no compressed bodies.
            gzip: false,
            #[cfg(feature = "native")]
            tail_from,
            #[cfg(feature = "native")]
            sent_at,
        }
    }

    fn classify(&self, r: &HttpResponse, now_ms: i64) -> Outcome {
        let detail = || redacted_detail(r, &self.api_key);
        let after_ms = || {
            r.retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, now_ms))
        };
        match r.status {
            200..=299 => Outcome::Delivered,
            413 => Outcome::Split,
            401 | 403 => Outcome::AuthFailed {
                reason: cat!(detail(), ": check the Amplitude API key"),
            },
            400 => {
                let body = parse(&r.body).unwrap_or_default();
                if text(&body, "missing_field") == Some("api_key")
                    || text(&body, "error").is_some_and(|e| e.contains("API key"))
                {
                    return Outcome::AuthFailed {
                        reason: cat!(detail(), ": check the Amplitude API key"),
                    };
                }
                let mut indices = Vec::new();
                for key in ["events_with_invalid_fields", "events_with_missing_fields"] {
                    if let Some(fields) = body[key].as_object() {
                        for (_, list) in fields.iter() {
                            push_indices(&mut indices, list);
                        }
                    }
                }
                push_indices(&mut indices, &body["silenced_events"]);
                if indices.is_empty() {
                    // Not readable per event: find the bad ones by halves.
                    Outcome::Refused { reason: detail() }
                } else {
                    super::sort_unique_indices(&mut indices);
                    Outcome::RefusedEvents {
                        indices,
                        reason: detail(),
                    }
                }
            }
            429 => {
                let body = parse(&r.body).unwrap_or_default();
                let mut indices = Vec::new();
                push_indices(&mut indices, &body["throttled_events"]);
                let named = |key: &str, id: &Option<String>| {
                    id.as_deref()
                        .is_some_and(|id| body[key].as_object().is_some_and(|m| m.contains_key(id)))
                };
                let ids = self.last_ids.take();
                for (i, (user, device)) in ids.iter().enumerate() {
                    if named("throttled_users", user)
                        || named("exceeded_daily_quota_users", user)
                        || named("throttled_devices", device)
                        || named("exceeded_daily_quota_devices", device)
                    {
                        indices.push(i);
                    }
                }
                self.last_ids.set(ids);
                super::sort_unique_indices(&mut indices);
                Outcome::Throttled {
                    indices,
                    after_ms: after_ms(),
                    reason: detail(),
                }
            }
            408 | 500..=599 => Outcome::Retry {
                after_ms: after_ms(),
                reason: detail(),
            },
            // Not Amplitude's own: halves find an event refused alone.
            s @ 402..=499 if !super::names_the_endpoint(s) => Outcome::Refused { reason: detail() },
            // A 404, a redirect: said of the endpoint, not of the events.
            _ => super::wrong_endpoint(detail()),
        }
    }
}

/// Appends the whole numbers of the JSON array `list` to `out`.
fn push_indices(out: &mut Vec<usize>, list: &Json) {
    if let Json::Array(items) = list {
        out.extend(items.iter().filter_map(Json::as_u64).map(|i| i as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, json: &str) -> StoredEvent {
        StoredEvent {
            seq,
            message_id: format!("m{seq}"),
            created_ms: 1_795_329_207_646,
            json: json.into(),
        }
    }

    fn resp(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            retry_after: None,
            body: body.into(),
        }
    }

    fn body(w: &AmplitudeWire, events: &[StoredEvent]) -> serde_json::Value {
        serde_json::from_slice(&w.encode(events, 0).body).unwrap()
    }

    #[test]
    fn encodes_a_track_as_the_sample_has_it() {
        let w = AmplitudeWire::new("http://h:1/", "KEY", false, None);
        let r = w.encode(
            &[ev(
                1,
                r#"{"type":"track","event":"Order Completed","properties":{"price":9.99,"meta":{"tags":["a"]}},"userId":"user-0","anonymousId":"anon-1","messageId":"m1","context":{"library":{"name":"cairn","version":"0.1"},"sessionId":1795329200000,"os":{"name":"iOS"}}}"#,
            )],
            0,
        );
        assert_eq!(r.url, "http://h:1/2/httpapi");
        assert!(!r.gzip);
        assert!(r.headers.iter().all(|h| h.0 != "Authorization"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["api_key"], "KEY");
        assert_eq!(v["client_upload_time"], "1970-01-01T00:00:00.000Z");
        assert!(v.get("options").is_none());
        let e = &v["events"][0];
        assert_eq!(e["event_type"], "Order Completed");
        assert_eq!(e["user_id"], "user-0");
        assert_eq!(e["device_id"], "anon-1");
        assert_eq!(e["time"], 1_795_329_207_646_i64);
        assert_eq!(e["insert_id"], "m1");
        assert_eq!(e["session_id"], 1_795_329_200_000_i64);
        assert_eq!(e["event_properties"]["price"], 9.99);
        assert_eq!(e["event_properties"]["meta"]["tags"][0], "a");
        assert_eq!(e["library"], "cairn/0.1");
        assert_eq!(e["os_name"], "iOS");
    }

    #[test]
    fn batch_api_and_min_id_length() {
        let w = AmplitudeWire::new("http://h", "KEY", true, Some(3));
        let r = w.encode(&[ev(1, r#"{"type":"track","event":"a","userId":"u1"}"#)], 0);
        assert_eq!(r.url, "http://h/batch");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["options"]["min_id_length"], 3);
        assert!(v.get("client_upload_time").is_none());
    }

    #[test]
    fn maps_every_call() {
        let w = AmplitudeWire::new("http://h", "KEY", false, None);
        let v = body(
            &w,
            &[
                ev(
                    1,
                    r#"{"type":"identify","traits":{"plan":"pro"},"userId":"user-1","anonymousId":"anon-1"}"#,
                ),
                ev(
                    2,
                    r#"{"type":"group","groupId":"acme","traits":{"group_type":"org","seats":3},"userId":"user-1"}"#,
                ),
                ev(
                    3,
                    r#"{"type":"screen","name":"Home","properties":{"a":1},"anonymousId":"anon-1"}"#,
                ),
                ev(
                    4,
                    r#"{"type":"page","name":"Docs","properties":{"url":"https://x/d"},"anonymousId":"anon-1"}"#,
                ),
                ev(
                    5,
                    r#"{"type":"alias","userId":"user-2","previousId":"user-1","anonymousId":"anon-1"}"#,
                ),
                ev(
                    6,
                    r#"{"type":"group","groupId":"acme","traits":{},"userId":"user-1"}"#,
                ),
            ],
        );
        let e = &v["events"];
        assert_eq!(e[0]["event_type"], "$identify");
        assert_eq!(e[0]["user_properties"]["$set"]["plan"], "pro");
        assert_eq!(e[1]["event_type"], "$groupidentify");
        assert_eq!(e[1]["groups"]["org"], "acme");
        assert_eq!(e[1]["group_properties"]["$set"]["seats"], 3);
        assert_eq!(e[2]["event_type"], SCREEN_EVENT);
        assert_eq!(e[2]["event_properties"]["[Amplitude] Screen Name"], "Home");
        assert_eq!(e[2]["event_properties"]["a"], 1);
        assert_eq!(e[3]["event_type"], PAGE_EVENT);
        assert_eq!(
            e[3]["event_properties"]["[Amplitude] Page URL"],
            "https://x/d"
        );
        assert_eq!(e[4]["event_type"], "$identify");
        assert_eq!(
            (e[4]["user_id"].as_str(), e[4]["device_id"].as_str()),
            (Some("user-2"), Some("anon-1"))
        );
        assert_eq!(e[5]["groups"]["company"], "acme");
        assert!(e[5].get("group_properties").is_none());
    }

    #[test]
    fn a_400_with_indices_refuses_only_those() {
        let w = AmplitudeWire::new("http://h", "KEY", false, None);
        let out = w.classify(
            &resp(
                400,
                r#"{"code":400,"error":"Request missing required field","events_with_invalid_fields":{"time":[3,1]},"events_with_missing_fields":{"event_type":[1,4]},"silenced_events":[7]}"#,
            ),
            0,
        );
        match out {
            Outcome::RefusedEvents { indices, reason } => {
                assert_eq!(indices, vec![1, 3, 4, 7]);
                assert!(reason.starts_with("HTTP 400: "), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // No index list: the batch is searched by halves.
        assert!(matches!(
            w.classify(&resp(400, r#"{"code":400,"error":"Invalid JSON"}"#), 0),
            Outcome::Refused { .. }
        ));
        // A wrong key stops uploads.
        assert!(matches!(
            w.classify(
                &resp(
                    400,
                    r#"{"code":400,"error":"Invalid API key: x","missing_field":"api_key"}"#
                ),
                0
            ),
            Outcome::AuthFailed { .. }
        ));
    }

    #[test]
    fn a_429_holds_back_the_named_ids_only() {
        let w = AmplitudeWire::new("http://h", "KEY", false, None);
        w.encode(
            &[
                ev(1, r#"{"type":"track","event":"a","userId":"u-quota"}"#),
                ev(
                    2,
                    r#"{"type":"track","event":"a","userId":"u-fine","anonymousId":"d-fine"}"#,
                ),
                ev(3, r#"{"type":"track","event":"a","anonymousId":"d-hot"}"#),
                ev(4, r#"{"type":"track","event":"a","userId":"u-fine"}"#),
                ev(5, r#"{"type":"track","event":"a","userId":"u-hot"}"#),
            ],
            0,
        );
        let r = HttpResponse {
            status: 429,
            retry_after: Some("30".into()),
            body: r#"{"code":429,"error":"Too many requests for some devices and users","eps_threshold":30,"throttled_devices":{"d-hot":31},"throttled_users":{"u-hot":32},"throttled_events":[3],"exceeded_daily_quota_users":{"u-quota":500000},"exceeded_daily_quota_devices":{}}"#.into(),
        };
        assert_eq!(
            w.classify(&r, 0),
            Outcome::Throttled {
                indices: vec![0, 2, 3, 4],
                after_ms: Some(30_000),
                reason: cat!("HTTP 429: ", r.body.as_str()),
            }
        );
        // Naming nobody: the whole batch backs off.
        assert!(matches!(
            w.classify(&resp(429, r#"{"code":429,"error":"Too many requests"}"#), 0),
            Outcome::Throttled { ref indices, .. } if indices.is_empty()
        ));
    }

    #[test]
    fn classifies_the_other_statuses() {
        let w = AmplitudeWire::new("http://h", "KEY", false, None);
        assert_eq!(
            w.classify(&resp(200, r#"{"code":200}"#), 0),
            Outcome::Delivered
        );
        assert_eq!(w.classify(&resp(413, ""), 0), Outcome::Split);
        for s in [500, 502, 503, 504, 408] {
            assert!(
                matches!(w.classify(&resp(s, ""), 0), Outcome::Retry { .. }),
                "{s}"
            );
        }
        assert!(matches!(
            w.classify(&resp(401, ""), 0),
            Outcome::AuthFailed { .. }
        ));
        assert!(matches!(
            w.classify(&resp(404, ""), 0),
            Outcome::Retry { ref reason, .. } if reason == "HTTP 404: check the endpoint"
        ));
        assert!(matches!(
            w.classify(&resp(409, ""), 0),
            Outcome::Refused { .. }
        ));
    }

    #[test]
    fn the_api_key_never_reaches_an_error_text() {
        let key = "0123456789abcdef0123456789abcdef";
        let w = AmplitudeWire::new("http://h", key, false, None);
        match w.classify(&resp(503, &format!("bad key {key}")), 0) {
            Outcome::Retry { reason, .. } => {
                assert!(
                    !reason.contains(key) && reason.contains("<api key>"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        // Across the 512-byte cut of the report: not even its first half.
        let across = format!("{}{key}", "x".repeat(500));
        match w.classify(&resp(503, &across), 0) {
            Outcome::Retry { reason, .. } => {
                assert!(!reason.contains(&key[..8]), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
