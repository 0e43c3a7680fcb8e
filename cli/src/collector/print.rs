//! The collector's human-readable output: one line per event, and one per
//! request it did not accept.
//!
//! This module decides only how a line looks:
//! `HH:MM:SS.mmm  type      name               who          k=v k=v k=v ⚠ reasons`.
//! Times are UTC wall-clock, to the millisecond.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Properties (or traits) shown per line.
const MAX_SHOWN_PROPERTIES: usize = 3;
/// Longest value shown before it is cut with `…`.
const MAX_VALUE_CHARS: usize = 24;

/// The current UTC time of day as `HH:MM:SS.mmm`.
pub fn clock() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000
    )
}

/// One line describing `event`, with `problems` from `check_event` appended
/// after a `⚠` when there are any.
pub fn event_line(time: &str, event: &Value, problems: &[String]) -> String {
    let str_of = |key: &str| event.get(key).and_then(Value::as_str);
    let kind = str_of("type").unwrap_or("?");
    let name = match kind {
        "track" => str_of("event"),
        "group" => str_of("groupId"),
        "alias" => str_of("previousId"),
        "identify" => str_of("userId"),
        _ => str_of("name"),
    };
    let name = match (kind, name) {
        ("alias", Some(prev)) => {
            format!("{} → {}", cut(prev), cut(str_of("userId").unwrap_or("?")))
        }
        (_, Some(n)) => cut(n),
        (_, None) => "-".to_string(),
    };
    let who = match (str_of("userId"), str_of("anonymousId")) {
        (Some(u), _) => format!("user={}", cut(u)),
        (None, Some(a)) => format!("anon={}", cut(short_id(a))),
        (None, None) => "nobody".to_string(),
    };
    let bag = event.get("properties").or_else(|| event.get("traits"));
    let props: Vec<String> = bag
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .take(MAX_SHOWN_PROPERTIES)
                .map(|(k, v)| format!("{k}={}", show_value(v)))
                .collect()
        })
        .unwrap_or_default();
    let mut line = format!(
        "{time}  {kind:<8}  {name:<22}  {who:<16}  {}",
        props.join(" ")
    );
    let trimmed = line.trim_end().len();
    line.truncate(trimmed);
    // Events that came in another backend's format say which.
    if let Some(destination) = str_of("destination") {
        line.push_str("  → ");
        line.push_str(destination);
    }
    if !problems.is_empty() {
        line.push_str(" ⚠ ");
        line.push_str(&problems.join("; "));
    }
    line
}

/// One line for a `/v1/batch` request that was not stored (fault, auth, bad body).
pub fn refused_line(time: &str, status: u16, why: &str) -> String {
    if status == 0 {
        format!("{time}  ✗ connection dropped without an answer ({why})")
    } else {
        format!("{time}  ✗ answered {status} ({why})")
    }
}

fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => cut(s),
        other => cut(&other.to_string()),
    }
}

/// The first 8 characters of a UUID-like id: enough to tell visitors apart.
fn short_id(id: &str) -> &str {
    match id.char_indices().nth(8) {
        Some((i, _)) if id.len() > 12 => &id[..i],
        _ => id,
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_VALUE_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clock_has_the_right_shape() {
        let c = clock();
        assert_eq!(c.len(), 12, "{c}");
        assert_eq!((&c[2..3], &c[5..6], &c[8..9]), (":", ":", "."));
    }

    #[test]
    fn shows_type_name_who_and_three_properties() {
        let e = json!({"type": "track", "event": "Order Completed", "userId": "u-7",
                       "properties": {"a": 1, "b": "two", "c": true, "d": 4}});
        let line = event_line("12:00:00.000", &e, &[]);
        assert!(
            line.starts_with("12:00:00.000  track     Order Completed"),
            "{line}"
        );
        assert!(
            line.contains("user=u-7") && line.contains("a=1 b=two c=true") && !line.contains("d=4"),
            "{line}"
        );
        assert!(!line.contains('⚠'));
    }

    #[test]
    fn shows_anonymous_ids_short_and_problems() {
        let e = json!({"type": "track", "anonymousId": "0f6b1c2d-aaaa-bbbb-cccc-123456789abc"});
        let line = event_line("t", &e, &["track without `event` name".into()]);
        assert!(
            line.contains("anon=0f6b1c2d ") && line.ends_with(" ⚠ track without `event` name"),
            "{line}"
        );
        let a = json!({"type": "alias", "previousId": "u-1", "userId": "u-2"});
        assert!(event_line("t", &a, &[]).contains("u-1 → u-2"));
    }

    #[test]
    fn long_values_are_cut() {
        let e = json!({"type": "page", "name": "x".repeat(40), "userId": "u"});
        assert!(event_line("t", &e, &[]).contains(&format!("{}…", "x".repeat(23))));
    }
}
