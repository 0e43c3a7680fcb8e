//! The event: what a recording call says, how it is checked, and how it is
//! written out in Segment's spec.
//!
//! A [`Call`] is built and validated on the caller's thread: names must be
//! non-empty, properties and traits must be JSON objects, and the event must
//! fit in `max_event_bytes`. It carries its message id and timestamp from the
//! moment of the call. Identity (`userId`, `anonymousId`, `previousId`) and
//! context are applied later, in order, by whoever owns the identity state
//! (see [`crate::identity`]); [`encode`] then writes the final JSON once.

use crate::prelude::*;

use serde_json::Value;

use crate::cat;
use crate::error::{Error, Result};
use crate::json::{Object, RawJson};
use crate::json_text::{push_key, push_string};
use crate::time::push_iso8601_ms;

/// Longest event name, screen or page name, user id or group id, in bytes.
pub const MAX_NAME_BYTES: usize = 1_024;

/// The kinds of call in Segment's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Something the user did (`event` + `properties`).
    Track,
    /// Who the user is (`userId` + `traits`).
    Identify,
    /// A new id for the same user (`userId` + `previousId`).
    Alias,
    /// The user belongs to a group (`groupId` + `traits`).
    Group,
    /// A mobile screen was viewed (`name` + `properties`).
    Screen,
    /// A web page was viewed (`name` + `properties`).
    Page,
}

impl EventKind {
    /// The `type` field on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Track => "track",
            EventKind::Identify => "identify",
            EventKind::Alias => "alias",
            EventKind::Group => "group",
            EventKind::Screen => "screen",
            EventKind::Page => "page",
        }
    }
}

/// One validated recording call, before identity is applied.
#[derive(Debug, Clone)]
pub struct Call {
    /// Which call it is.
    pub kind: EventKind,
    /// Event name (track) or screen/page name.
    pub name: Option<String>,
    /// `properties` (track, screen, page).
    pub properties: Option<RawJson>,
    /// `traits` (identify, group).
    pub traits: Option<RawJson>,
    /// The user id given to identify, or the new id given to alias.
    pub user_id: Option<String>,
    /// The group id given to group.
    pub group_id: Option<String>,
    /// Dedup key, fixed at the call and kept through every retry.
    pub message_id: String,
    /// Wall-clock milliseconds since the epoch at the call.
    pub timestamp_ms: i64,
    /// Ids given with the event itself (see [`Call::from_event`]): the
    /// device's identity is then neither applied nor changed.
    pub explicit: Option<ExplicitIds>,
    /// Context given with the event itself, merged over the client's context.
    pub context: Option<Object>,
}

/// Ids a complete event brings with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExplicitIds {
    /// `userId`.
    pub user_id: Option<String>,
    /// `anonymousId`.
    pub anonymous_id: Option<String>,
    /// `previousId` (alias).
    pub previous_id: Option<String>,
}

impl Call {
    fn new(kind: EventKind, timestamp_ms: i64) -> Self {
        Call {
            kind,
            name: None,
            properties: None,
            traits: None,
            user_id: None,
            group_id: None,
            message_id: crate::ids::message_id(),
            timestamp_ms,
            explicit: None,
            context: None,
        }
    }

    /// A complete Segment-spec event, as a backend or a backfill has it:
    /// `type` is required, with what that type needs (`event` for track,
    /// `groupId` for group, `userId` and `previousId` for alias, `userId` or
    /// `anonymousId` for identify). Its `userId`, `anonymousId`,
    /// `previousId`, `messageId`, `timestamp` and `context` are kept;
    /// missing ones are filled in (a new message id, the time now, the
    /// device's anonymous id when the event names no user at all).
    pub fn from_event(event: &Value, now_ms: i64) -> Result<Self> {
        let obj = event.as_object().ok_or_else(|| {
            Error::InvalidEvent(cat!("an event must be a JSON object, got ", kind_of(event)))
        })?;
        let text = |k: &str| -> Result<Option<String>> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::InvalidEvent(cat!(
                    "`",
                    k,
                    "` must be a string, got ",
                    kind_of(other)
                ))),
            }
        };
        let kind = match text("type")?.as_deref() {
            Some("track") => EventKind::Track,
            Some("identify") => EventKind::Identify,
            Some("alias") => EventKind::Alias,
            Some("group") => EventKind::Group,
            Some("screen") => EventKind::Screen,
            Some("page") => EventKind::Page,
            Some(other) => {
                return Err(Error::InvalidEvent(cat!(
                    "unknown `type` \"",
                    other,
                    "\": use track, identify, alias, group, screen or page"
                )))
            }
            None => {
                return Err(Error::InvalidEvent(
                    "`type` is missing: use track, identify, alias, group, screen or page".into(),
                ))
            }
        };
        let timestamp_ms = match text("timestamp")? {
            Some(t) => crate::time::parse_iso8601_ms(&t).ok_or_else(|| {
                Error::InvalidEvent(cat!(
                    "`timestamp` \"",
                    t,
                    "\" is not ISO-8601, e.g. 2026-11-22T07:17:49.123Z"
                ))
            })?,
            None => now_ms,
        };
        let props = object_from_value("properties", obj.get("properties").unwrap_or(&Value::Null))?;
        let traits = object_from_value("traits", obj.get("traits").unwrap_or(&Value::Null))?;
        let user_id = text("userId")?;
        let mut call = match kind {
            EventKind::Track => {
                let name = text("event")?.ok_or_else(|| {
                    Error::InvalidEvent("a track event needs `event` (its name)".into())
                })?;
                Call::track(&name, props, timestamp_ms)?
            }
            EventKind::Screen => Call::screen(
                &text("name")?.unwrap_or_else(|| "Screen".into()),
                props,
                timestamp_ms,
            )?,
            EventKind::Page => Call::page(&text("name")?.unwrap_or_default(), props, timestamp_ms)?,
            EventKind::Identify => {
                let mut c = Call::new(EventKind::Identify, timestamp_ms);
                c.user_id = user_id.clone();
                c.traits = traits;
                c
            }
            EventKind::Group => {
                let g = text("groupId")?
                    .ok_or_else(|| Error::InvalidEvent("a group event needs `groupId`".into()))?;
                Call::group(&g, traits, timestamp_ms)?
            }
            EventKind::Alias => {
                let u = user_id.clone().ok_or_else(|| {
                    Error::InvalidEvent("an alias event needs `userId` (the new id)".into())
                })?;
                if text("previousId")?.is_none() {
                    return Err(Error::InvalidEvent(
                        "an alias event needs `previousId`".into(),
                    ));
                }
                Call::alias(&u, timestamp_ms)?
            }
        };
        let explicit = ExplicitIds {
            user_id,
            anonymous_id: text("anonymousId")?,
            previous_id: text("previousId")?,
        };
        if kind == EventKind::Identify
            && explicit.user_id.is_none()
            && explicit.anonymous_id.is_none()
        {
            return Err(Error::InvalidEvent(
                "an identify event needs `userId` or `anonymousId`".into(),
            ));
        }
        if let Some(id) = text("messageId")? {
            call.message_id = id;
        }
        call.context = match obj.get("context") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(Object::from(m)),
            Some(other) => {
                return Err(Error::InvalidEvent(cat!(
                    "`context` must be a JSON object, got ",
                    kind_of(other)
                )))
            }
        };
        call.explicit = Some(explicit);
        Ok(call)
    }

    /// A `track` call.
    pub fn track(event: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        let mut c = Call::new(EventKind::Track, timestamp_ms);
        c.name = Some(checked_name("event name", event)?);
        c.properties = properties;
        Ok(c)
    }

    /// A `screen` call.
    pub fn screen(name: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        let mut c = Call::new(EventKind::Screen, timestamp_ms);
        c.name = Some(checked_name("screen name", name)?);
        c.properties = properties;
        Ok(c)
    }

    /// A `page` call; the name may be empty (a page view without a name).
    pub fn page(name: &str, properties: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        let mut c = Call::new(EventKind::Page, timestamp_ms);
        if !name.trim().is_empty() {
            c.name = Some(checked_name("page name", name)?);
        }
        c.properties = properties;
        Ok(c)
    }

    /// An `identify` call.
    pub fn identify(user_id: &str, traits: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        // Ids from here on share nothing with the ids of the previous user.
        crate::ids::rotate();
        let mut c = Call::new(EventKind::Identify, timestamp_ms);
        c.user_id = Some(checked_name("user_id", user_id)?);
        c.traits = traits;
        Ok(c)
    }

    /// An `alias` call: `new_id` becomes the user id.
    pub fn alias(new_id: &str, timestamp_ms: i64) -> Result<Self> {
        crate::ids::rotate();
        let mut c = Call::new(EventKind::Alias, timestamp_ms);
        c.user_id = Some(checked_name("new_id", new_id)?);
        Ok(c)
    }

    /// A `group` call.
    pub fn group(group_id: &str, traits: Option<RawJson>, timestamp_ms: i64) -> Result<Self> {
        let mut c = Call::new(EventKind::Group, timestamp_ms);
        c.group_id = Some(checked_name("group_id", group_id)?);
        c.traits = traits;
        Ok(c)
    }

    /// Bytes this call adds to its event: names, ids, properties and traits.
    /// The envelope (ids, timestamp, context) comes on top.
    pub fn payload_bytes(&self) -> usize {
        let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let raw = |r: &Option<RawJson>| r.as_ref().map_or(0, |r| r.get().len());
        let ctx = self.context.as_ref().map_or(0, |c| c.to_text().len());
        len(&self.name)
            + len(&self.user_id)
            + len(&self.group_id)
            + raw(&self.properties)
            + raw(&self.traits)
            + ctx
    }

    /// Fails with [`Error::EventTooLarge`] when the payload alone is over `max_event_bytes`.
    pub fn check_size(&self, max_event_bytes: usize) -> Result<()> {
        let size = self.payload_bytes();
        if size > max_event_bytes {
            return Err(Error::EventTooLarge {
                size,
                limit: max_event_bytes,
            });
        }
        Ok(())
    }
}

fn checked_name(what: &str, s: &str) -> Result<String> {
    if s.trim().is_empty() {
        return Err(Error::InvalidEvent(cat!(
            what,
            " is empty: give it a name, e.g. \"Order Completed\""
        )));
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(Error::InvalidEvent(cat!(
            what,
            " is ",
            s.len(),
            " bytes, over the limit of ",
            MAX_NAME_BYTES
        )));
    }
    Ok(s.to_string())
}

/// Turns a JSON value into an object payload: `null` means none; anything but
/// an object is an error naming `field` (`properties` or `traits`).
pub fn object_from_value(field: &str, value: &Value) -> Result<Option<RawJson>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) if map.is_empty() => Ok(None),
        // serde_json writes valid JSON: the text needs no second check.
        Value::Object(_) => serde_json::to_string(value)
            .map(|text| Some(RawJson::trusted(text)))
            .map_err(|e| Error::InvalidEvent(format!("{field} could not be encoded: {e}"))),
        other => Err(Error::InvalidEvent(cat!(
            field,
            " must be a JSON object like {\"plan\": \"pro\"}, got ",
            kind_of(other)
        ))),
    }
}

/// Parses JSON text into an object payload, for callers that hold text (the
/// FFI). Empty text and `null` mean none. `NaN` and `Infinity` are named in
/// the error, since they are the usual way a float sneaks in that JSON cannot
/// carry.
pub fn object_from_text(field: &str, text: &str) -> Result<Option<RawJson>> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" || trimmed == "{}" {
        return Ok(None);
    }
    match RawJson::object(trimmed) {
        Ok(raw) => Ok(Some(raw)),
        Err(Ok(kind)) => Err(Error::InvalidEvent(cat!(
            field,
            " must be a JSON object like {\"plan\": \"pro\"}, got ",
            kind
        ))),
        Err(Err(e)) => {
            // A byte search: `str::contains` would bring the substring searcher into the browser build.
            let mentions = |word: &str| {
                trimmed
                    .as_bytes()
                    .windows(word.len())
                    .any(|w| w == word.as_bytes())
            };
            let hint = if mentions("NaN") || mentions("Infinity") {
                ": NaN and Infinity are not JSON numbers; send null or a string instead"
            } else {
                ""
            };
            Err(Error::InvalidEvent(cat!(
                field,
                " is not valid JSON (",
                e.message(),
                ")",
                hint
            )))
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The ids an event carries once identity is applied.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    /// `anonymousId` (absent only on an explicit event that names a user).
    pub anonymous_id: Option<&'a str>,
    /// `userId`, if known.
    pub user_id: Option<&'a str>,
    /// `previousId` (alias only).
    pub previous_id: Option<&'a str>,
    /// `groupId` (group only).
    pub group_id: Option<&'a str>,
    /// The `context` object, already encoded.
    pub context: &'a RawJson,
}

/// Writes the event as Segment's spec has it. `properties` are written as
/// `{}` when absent on track/screen/page, `traits` likewise on identify/group.
/// Fields come in a fixed order: type, event or name, properties or traits,
/// userId, anonymousId, previousId, groupId, messageId, timestamp,
/// originalTimestamp, context.
pub fn encode(call: &Call, stamp: &Stamp<'_>) -> String {
    let raw_len = |r: &Option<RawJson>| r.as_ref().map_or(2, |r| r.get().len());
    let mut out = String::with_capacity(
        200 + raw_len(&call.properties)
            + raw_len(&call.traits)
            + stamp.context.get().len()
            + call.name.as_ref().map_or(0, String::len),
    );
    out.push('{');
    push_key(&mut out, "type");
    push_string(&mut out, call.kind.as_str());
    if let Some(name) = &call.name {
        push_key(
            &mut out,
            if call.kind == EventKind::Track {
                "event"
            } else {
                "name"
            },
        );
        push_string(&mut out, name);
    }
    let payload = match call.kind {
        EventKind::Track | EventKind::Screen | EventKind::Page => {
            Some(("properties", &call.properties))
        }
        EventKind::Identify | EventKind::Group => Some(("traits", &call.traits)),
        EventKind::Alias => None,
    };
    if let Some((key, raw)) = payload {
        push_key(&mut out, key);
        out.push_str(raw.as_ref().map_or("{}", |r| r.get()));
    }
    for (key, value) in [
        ("userId", stamp.user_id),
        ("anonymousId", stamp.anonymous_id),
        ("previousId", stamp.previous_id),
        ("groupId", stamp.group_id),
        ("messageId", Some(call.message_id.as_str())),
    ] {
        if let Some(v) = value {
            push_key(&mut out, key);
            push_string(&mut out, v);
        }
    }
    // Timestamps need no escaping: digits and punctuation.
    for key in ["timestamp", "originalTimestamp"] {
        push_key(&mut out, key);
        out.push('"');
        push_iso8601_ms(&mut out, call.timestamp_ms);
        out.push('"');
    }
    push_key(&mut out, "context");
    out.push_str(stamp.context.get());
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejects_bad_input_with_clear_messages() {
        let e = Call::track("  ", None, 0).unwrap_err().to_string();
        assert!(e.contains("event name is empty"), "{e}");
        let e = object_from_value("properties", &json!([1, 2]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("properties must be a JSON object") && e.contains("an array"),
            "{e}"
        );
        let e = object_from_text("properties", r#"{"x": NaN}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("NaN and Infinity are not JSON numbers"), "{e}");
        let e = object_from_text("traits", "42").unwrap_err().to_string();
        assert!(
            e.contains("traits must be a JSON object") && e.contains("a number"),
            "{e}"
        );
        assert!(Call::identify("", None, 0).is_err());
        assert!(Call::track(&"x".repeat(MAX_NAME_BYTES + 1), None, 0).is_err());
    }

    #[test]
    fn size_check_counts_payload() {
        let props = object_from_value("properties", &json!({"k": "v".repeat(100)})).unwrap();
        let c = Call::track("e", props, 0).unwrap();
        assert!(c.check_size(1000).is_ok());
        assert!(matches!(
            c.check_size(50),
            Err(Error::EventTooLarge { limit: 50, .. })
        ));
    }

    #[test]
    fn complete_events_keep_their_ids_and_time() {
        let e = json!({"type": "track", "event": "Paid", "userId": "u7", "messageId": "m-1",
                       "timestamp": "2026-11-22T07:17:49.123Z", "properties": {"amount": 5}, "context": {"ip": "1.2.3.4"}});
        let c = Call::from_event(&e, 0).unwrap();
        assert_eq!(
            (c.kind, c.message_id.as_str(), c.timestamp_ms),
            (EventKind::Track, "m-1", 1_795_331_869_123)
        );
        let ex = c.explicit.unwrap();
        assert_eq!((ex.user_id.as_deref(), ex.anonymous_id), (Some("u7"), None));
        assert_eq!(c.context.unwrap()["ip"], "1.2.3.4");
        let c = Call::from_event(&json!({"type": "page"}), 42).unwrap();
        assert_eq!(c.timestamp_ms, 42);
        assert_eq!(c.message_id.len(), 36);
        for (bad, why) in [
            (json!([1]), "must be a JSON object"),
            (json!({"event": "x"}), "`type` is missing"),
            (json!({"type": "click"}), "unknown `type`"),
            (json!({"type": "track"}), "needs `event`"),
            (json!({"type": "group"}), "needs `groupId`"),
            (
                json!({"type": "alias", "userId": "u"}),
                "needs `previousId`",
            ),
            (
                json!({"type": "identify"}),
                "needs `userId` or `anonymousId`",
            ),
            (
                json!({"type": "track", "event": "x", "timestamp": "monday"}),
                "not ISO-8601",
            ),
            (
                json!({"type": "track", "event": "x", "userId": 7}),
                "`userId` must be a string",
            ),
            (
                json!({"type": "track", "event": "x", "properties": [1]}),
                "properties must be a JSON object",
            ),
        ] {
            let err = Call::from_event(&bad, 0).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn encodes_segment_fields() {
        let ctx = RawJson::object(r#"{"library":{"name":"cairn","version":"0"}}"#).unwrap();
        let props = object_from_value("properties", &json!({"plan": "pro"})).unwrap();
        let c = Call::track("Signed Up", props, 1_000).unwrap();
        let stamp = Stamp {
            anonymous_id: Some("a1"),
            user_id: Some("u1"),
            previous_id: None,
            group_id: None,
            context: &ctx,
        };
        let v: Value = serde_json::from_str(&encode(&c, &stamp)).unwrap();
        assert_eq!(v["type"], "track");
        assert_eq!(v["event"], "Signed Up");
        assert_eq!(v["properties"]["plan"], "pro");
        assert_eq!(v["userId"], "u1");
        assert_eq!(v["anonymousId"], "a1");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v["context"]["library"]["name"], "cairn");
        assert_eq!(v["messageId"].as_str().unwrap().len(), 36);
        assert!(v.get("traits").is_none() && v.get("name").is_none());

        let g = Call::group("g1", None, 0).unwrap();
        let stamp = Stamp {
            group_id: Some("g1"),
            ..stamp
        };
        let v: Value = serde_json::from_str(&encode(&g, &stamp)).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["groupId"].as_str()),
            (Some("group"), Some("g1"))
        );
        assert_eq!(v["traits"], json!({}));
    }
}
