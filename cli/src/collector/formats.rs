//! The wire formats the collector understands besides Segment's, and how
//! their events read as Segment-spec events.
//!
//! This module decides which request paths speak which format (Segment and
//! RudderStack `/v1/batch`, Amplitude `/2/httpapi` and `/batch`, PostHog
//! `/batch/`), where a body keeps its events and its key, and how each
//! vendor event maps back to a Segment event (the inverse of
//! `core/src/wire/amplitude.rs` and `posthog.rs`), so the rest of the
//! collector (spec checks, printing, counting lost and duplicated events by
//! `messageId`) works the same for every format. A mapped event keeps the
//! vendor's original under `original` and names its format in `destination`.

use serde_json::{json, Map, Value};

/// A batch format, told apart by the request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Segment / RudderStack `POST /v1/batch`.
    Segment,
    /// Amplitude HTTP V2 `POST /2/httpapi` or Batch `POST /batch`.
    Amplitude,
    /// PostHog `POST /batch/`.
    PostHog,
}

impl Format {
    /// The format `path` speaks, if the collector serves it.
    pub fn of_path(path: &str) -> Option<Format> {
        match path {
            "/v1/batch" => Some(Format::Segment),
            "/2/httpapi" | "/batch" => Some(Format::Amplitude),
            "/batch/" => Some(Format::PostHog),
            _ => None,
        }
    }

    /// The name printed next to its events.
    pub fn name(self) -> &'static str {
        match self {
            Format::Segment => "segment",
            Format::Amplitude => "amplitude",
            Format::PostHog => "posthog",
        }
    }

    /// The body member holding the events.
    pub fn events_key(self) -> &'static str {
        match self {
            Format::Amplitude => "events",
            Format::Segment | Format::PostHog => "batch",
        }
    }

    /// Checks the key in the body (`api_key`) against the collector's;
    /// Segment's is checked in the Authorization header instead.
    pub fn check_body_key(self, body: &Value, key: &str) -> Result<(), String> {
        if self == Format::Segment {
            return Ok(());
        }
        match body.get("api_key").and_then(Value::as_str) {
            Some(k) if k == key => Ok(()),
            Some(_) => Err("`api_key` is not this collector's key".into()),
            None => Err("body has no `api_key`: send the project's API key in the body".into()),
        }
    }

    /// `event` as a Segment-spec event (unchanged for Segment).
    pub fn to_segment(self, event: Value) -> Value {
        match self {
            Format::Segment => event,
            Format::Amplitude => from_amplitude(event),
            Format::PostHog => from_posthog(event),
        }
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn iso(ms: i64) -> String {
    cairn::time::iso8601_ms(ms)
}

/// Inserts `key: value` unless `value` is null.
fn put(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        out.insert(key.to_string(), v);
    }
}

fn from_amplitude(e: Value) -> Value {
    let mut out = Map::new();
    let event_type = text(&e, "event_type").unwrap_or_default();
    let props = e.get("event_properties").cloned();
    let kind = match event_type {
        "$identify" => {
            put(
                &mut out,
                "traits",
                e.pointer("/user_properties/$set").cloned(),
            );
            "identify"
        }
        "$groupidentify" => {
            let group = e
                .get("groups")
                .and_then(Value::as_object)
                .and_then(|g| g.values().next().cloned());
            put(&mut out, "groupId", group);
            put(
                &mut out,
                "traits",
                e.pointer("/group_properties/$set").cloned(),
            );
            "group"
        }
        "[Amplitude] Screen Viewed" => {
            put(
                &mut out,
                "name",
                e.pointer("/event_properties/[Amplitude] Screen Name")
                    .cloned(),
            );
            put(&mut out, "properties", props);
            "screen"
        }
        "[Amplitude] Page Viewed" => {
            put(
                &mut out,
                "name",
                e.pointer("/event_properties/[Amplitude] Page Name")
                    .cloned(),
            );
            put(&mut out, "properties", props);
            "page"
        }
        name => {
            out.insert("event".into(), json!(name));
            put(&mut out, "properties", props);
            "track"
        }
    };
    out.insert("type".into(), json!(kind));
    put(&mut out, "userId", e.get("user_id").cloned());
    put(&mut out, "anonymousId", e.get("device_id").cloned());
    put(&mut out, "messageId", e.get("insert_id").cloned());
    put(
        &mut out,
        "timestamp",
        e.get("time").and_then(Value::as_i64).map(|t| json!(iso(t))),
    );
    if let Some(s) = e.get("session_id") {
        out.insert("context".into(), json!({ "sessionId": s }));
    }
    out.insert("destination".into(), json!("amplitude"));
    out.insert("original".into(), e);
    Value::Object(out)
}

fn from_posthog(e: Value) -> Value {
    let mut out = Map::new();
    let p = e.get("properties").cloned().unwrap_or_else(|| json!({}));
    let prop = |k: &str| p.get(k).cloned();
    // The app's own properties: PostHog's `$` ones stay in `original`.
    let own: Map<String, Value> = p
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let distinct = e.get("distinct_id").cloned();
    let kind = match text(&e, "event").unwrap_or_default() {
        "$identify" => {
            put(&mut out, "userId", distinct);
            put(&mut out, "anonymousId", prop("$anon_distinct_id"));
            put(&mut out, "traits", prop("$set"));
            "identify"
        }
        "$create_alias" => {
            put(&mut out, "previousId", distinct);
            put(&mut out, "userId", prop("alias"));
            "alias"
        }
        "$groupidentify" => {
            put(&mut out, "userId", distinct);
            put(&mut out, "groupId", prop("$group_key"));
            put(&mut out, "traits", prop("$group_set"));
            "group"
        }
        "$screen" => {
            put(&mut out, "userId", distinct);
            put(&mut out, "name", prop("$screen_name"));
            put(&mut out, "properties", Some(Value::Object(own)));
            "screen"
        }
        "$pageview" => {
            put(&mut out, "userId", distinct);
            put(&mut out, "name", prop("$title"));
            put(&mut out, "properties", Some(Value::Object(own)));
            "page"
        }
        name => {
            out.insert("event".into(), json!(name));
            put(&mut out, "userId", distinct);
            put(&mut out, "properties", Some(Value::Object(own)));
            "track"
        }
    };
    out.insert("type".into(), json!(kind));
    // cairn sends an id that is no UUID as a UUID made from it, and the
    // original beside it: dedup by what the app knows.
    put(
        &mut out,
        "messageId",
        prop("$cairn_message_id").or_else(|| e.get("uuid").cloned()),
    );
    put(&mut out, "timestamp", e.get("timestamp").cloned());
    out.insert("destination".into(), json!("posthog"));
    out.insert("original".into(), e);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_pick_the_format() {
        assert_eq!(Format::of_path("/v1/batch"), Some(Format::Segment));
        assert_eq!(Format::of_path("/2/httpapi"), Some(Format::Amplitude));
        assert_eq!(Format::of_path("/batch"), Some(Format::Amplitude));
        assert_eq!(Format::of_path("/batch/"), Some(Format::PostHog));
        assert_eq!(Format::of_path("/v2/batch"), None);
    }

    #[test]
    fn vendor_events_read_as_segment_events() {
        let a = Format::Amplitude.to_segment(json!({
            "event_type": "$identify", "user_id": "user-1", "device_id": "anon-1",
            "insert_id": "m1", "time": 0, "user_properties": {"$set": {"plan": "pro"}}
        }));
        assert_eq!(a["type"], "identify");
        assert_eq!(a["traits"]["plan"], "pro");
        assert_eq!(a["messageId"], "m1");
        assert_eq!(a["timestamp"], "1970-01-01T00:00:00.000Z");
        assert!(super::super::check_event(&a).is_empty(), "{a}");
        let p = Format::PostHog.to_segment(json!({
            "event": "$create_alias", "distinct_id": "user-1", "uuid": "u",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "properties": {"alias": "user-2", "$cairn_message_id": "m-1"}
        }));
        assert_eq!(
            (
                p["type"].as_str(),
                p["previousId"].as_str(),
                p["userId"].as_str()
            ),
            (Some("alias"), Some("user-1"), Some("user-2"))
        );
        assert_eq!(p["messageId"], "m-1");
        assert!(super::super::check_event(&p).is_empty(), "{p}");
    }
}
