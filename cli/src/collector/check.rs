//! Which events break Segment's spec, and why.
//!
//! The collector stores every event it is sent, but flags the ones a real
//! Segment or RudderStack backend would drop or mangle, so an SDK bug shows up
//! as a readable reason instead of a silent gap in a dashboard. This module
//! decides the rules; it never rejects anything itself.

use serde_json::Value;

/// The event types Segment's spec knows.
pub const EVENT_TYPES: [&str; 6] = ["track", "identify", "alias", "group", "screen", "page"];

/// Lists what is wrong with `event` under Segment's spec; empty when nothing is.
///
/// Checked: the event is an object; `type` is present and one of
/// [`EVENT_TYPES`]; a track has an `event` name; an identify (and every other
/// call but alias) has a `userId` or `anonymousId`; an alias has `previousId`
/// and `userId`; a group has a `groupId`; `messageId` and `timestamp` are
/// present; `properties`, `traits` and `context` are objects when present;
/// `timestamp` (and `originalTimestamp`, `sentAt` when present) are ISO-8601.
pub fn check_event(event: &Value) -> Vec<String> {
    let Some(obj) = event.as_object() else {
        return vec![format!("event is {}, not a JSON object", kind_of(event))];
    };
    let mut problems = Vec::new();
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };

    let kind = match obj.get("type") {
        None => {
            problems.push("missing `type`".to_string());
            None
        }
        Some(Value::String(t)) if EVENT_TYPES.contains(&t.as_str()) => Some(t.as_str()),
        Some(Value::String(t)) => {
            problems.push(format!(
                "unknown type `{t}` (expected one of {})",
                EVENT_TYPES.join(", ")
            ));
            None
        }
        Some(other) => {
            problems.push(format!("`type` is {}, not a string", kind_of(other)));
            None
        }
    };

    match kind {
        Some("track") if text("event").is_none() => {
            problems.push("track without `event` name".into())
        }
        Some("alias") => {
            if text("previousId").is_none() {
                problems.push("alias without `previousId`".into());
            }
            if text("userId").is_none() {
                problems.push("alias without `userId`".into());
            }
        }
        Some("group") if text("groupId").is_none() => {
            problems.push("group without `groupId`".into())
        }
        _ => {}
    }
    if let Some(k) = kind {
        if k != "alias" && text("userId").is_none() && text("anonymousId").is_none() {
            problems.push(format!("{k} without `userId` or `anonymousId`"));
        }
    }

    if text("messageId").is_none() {
        problems.push("missing `messageId` (backends cannot dedup without it)".into());
    }
    match obj.get("timestamp") {
        None => problems.push("missing `timestamp`".into()),
        Some(ts) => check_timestamp("timestamp", ts, &mut problems),
    }
    for key in ["originalTimestamp", "sentAt"] {
        if let Some(ts) = obj.get(key) {
            check_timestamp(key, ts, &mut problems);
        }
    }
    for key in ["properties", "traits", "context"] {
        match obj.get(key) {
            None | Some(Value::Object(_)) => {}
            Some(other) => problems.push(format!("`{key}` is {}, not an object", kind_of(other))),
        }
    }
    problems
}

fn check_timestamp(key: &str, value: &Value, problems: &mut Vec<String>) {
    match value.as_str() {
        Some(s) if is_iso8601(s) => {}
        Some(s) => problems.push(format!(
            "`{key}` `{s}` is not ISO-8601 like 2026-01-31T12:00:00.000Z"
        )),
        None => problems.push(format!(
            "`{key}` is {}, not an ISO-8601 string",
            kind_of(value)
        )),
    }
}

/// True for an ISO-8601 / RFC 3339 date-time with an offset:
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`.
pub fn is_iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (Some(_year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2))
    else {
        return false;
    };
    if !(at(4, b'-')
        && at(7, b'-')
        && (at(10, b'T') || at(10, b't'))
        && at(13, b':')
        && at(16, b':'))
    {
        return false;
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let rest = &s[i + 1..];
            let (h, m) = match rest.len() {
                5 if rest.as_bytes()[2] == b':' => (digits(i + 1, 2), digits(i + 4, 2)),
                4 => (digits(i + 1, 2), digits(i + 3, 2)),
                _ => return false,
            };
            matches!((h, m), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid_track() -> Value {
        json!({
            "type": "track", "event": "Order Completed", "properties": {"total": 1},
            "anonymousId": "a-1", "messageId": "m-1",
            "timestamp": "2026-01-31T12:00:00.123Z", "originalTimestamp": "2026-01-31T12:00:00.123Z",
            "context": {"library": {"name": "cairn"}}
        })
    }

    #[test]
    fn a_valid_event_has_no_problems() {
        assert_eq!(check_event(&valid_track()), Vec::<String>::new());
    }

    #[test]
    fn flags_track_without_event() {
        let mut e = valid_track();
        e.as_object_mut().unwrap().remove("event");
        let p = check_event(&e);
        assert_eq!(p, vec!["track without `event` name".to_string()]);
    }

    #[test]
    fn flags_each_rule() {
        let has = |e: Value, needle: &str| {
            let p = check_event(&e);
            assert!(
                p.iter().any(|r| r.contains(needle)),
                "expected `{needle}` in {p:?} for {e}"
            );
        };
        has(json!([1]), "not a JSON object");
        has(
            json!({"messageId": "m", "timestamp": "2026-01-01T00:00:00Z"}),
            "missing `type`",
        );
        has(json!({"type": "boom"}), "unknown type `boom`");
        has(
            json!({"type": "identify", "traits": {}}),
            "identify without `userId` or `anonymousId`",
        );
        has(
            json!({"type": "alias", "userId": "u"}),
            "alias without `previousId`",
        );
        has(
            json!({"type": "alias", "previousId": "p"}),
            "alias without `userId`",
        );
        has(
            json!({"type": "group", "userId": "u"}),
            "group without `groupId`",
        );
        has(
            json!({"type": "page", "userId": "u"}),
            "missing `messageId`",
        );
        has(
            json!({"type": "page", "userId": "u"}),
            "missing `timestamp`",
        );
        has(
            json!({"type": "page", "userId": "u", "properties": [1]}),
            "`properties` is an array",
        );
        has(
            json!({"type": "identify", "userId": "u", "traits": "x"}),
            "`traits` is a string",
        );
        has(
            json!({"type": "screen", "userId": "u", "context": 3}),
            "`context` is a number",
        );
        has(
            json!({"type": "screen", "userId": "u", "timestamp": "yesterday"}),
            "not ISO-8601",
        );
        has(
            json!({"type": "screen", "userId": "u", "timestamp": 1700000000}),
            "`timestamp` is a number",
        );
    }

    #[test]
    fn a_valid_alias_and_group_pass() {
        let base = json!({"messageId": "m", "timestamp": "2026-01-01T00:00:00Z"});
        let with = |extra: Value| {
            let mut e = base.clone();
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            check_event(&e)
        };
        assert!(with(json!({"type": "alias", "previousId": "a", "userId": "b"})).is_empty());
        assert!(with(json!({"type": "group", "groupId": "g", "anonymousId": "a"})).is_empty());
        assert!(with(json!({"type": "identify", "userId": "u"})).is_empty());
    }

    #[test]
    fn iso8601_forms() {
        for ok in [
            "2026-01-31T12:00:00Z",
            "2026-01-31T12:00:00.1Z",
            "2026-01-31T12:00:00.123456+02:00",
            "2026-01-31T12:00:00-0530",
        ] {
            assert!(is_iso8601(ok), "{ok}");
        }
        for bad in [
            "2026-01-31",
            "2026-13-01T00:00:00Z",
            "2026-01-31T12:00:00",
            "2026-01-31 12:00:00Z",
            "2026-01-31T12:00:00.Z",
            "2026-01-31T24:00:00Z",
            "2026-01-31T12:00:00+2",
            "x",
        ] {
            assert!(!is_iso8601(bad), "{bad}");
        }
    }
}
