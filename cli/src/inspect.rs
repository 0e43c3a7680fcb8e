//! `cairn inspect`: shows what a device's buffer file holds, as text for a
//! person or JSON for a script.
//!
//! The reading is `cairn::store::inspect` (read-only, safe on a file a killed
//! app left behind); this module only renders it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use cairn::store::inspect::{inspect, Inspection};
use cairn::time::iso8601_ms;
use serde_json::Value;

/// Inspects `path` and renders the report; `json` selects the JSON form.
pub fn run(path: &Path, events: usize, json: bool, now_ms: i64) -> Result<String, String> {
    let report = inspect(path, events).map_err(|e| e.to_string())?;
    if json {
        return serde_json::to_string_pretty(&report).map_err(|e| e.to_string());
    }
    Ok(render(&report, now_ms))
}

fn ago(now_ms: i64, at_ms: i64) -> String {
    let secs = (now_ms - at_ms) / 1000;
    match secs {
        s if s < 0 => format!("in {}", human_secs(-s)),
        s => format!("{} ago", human_secs(s)),
    }
}

fn human_secs(s: i64) -> String {
    match s {
        s if s < 90 => format!("{s} s"),
        s if s < 5_400 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n < 10_000 => format!("{n} B"),
        n if n < 10_000_000 => format!("{} KB", n / 1_000),
        n => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("-")
}

/// The delivery condition a buffer file records (the engine's persisted
/// `delivery` state), as the report's `delivery` lines: stopped by the
/// server, failing with its next retry and last error, or fine, then the
/// last refused batch. `cairn send` prints the same lines to say why events
/// did not go out, so both tools use one wording.
pub fn delivery_lines(state: &BTreeMap<String, Value>, now_ms: i64) -> Vec<String> {
    let delivery = state.get("delivery").cloned().unwrap_or(Value::Null);
    condition_lines(&delivery, now_ms)
}

/// The `delivery` lines of one persisted delivery condition.
fn condition_lines(delivery: &Value, now_ms: i64) -> Vec<String> {
    let delivery = delivery.clone();
    let mut lines = Vec::new();
    let failures = delivery["failures"].as_u64().unwrap_or(0);
    if delivery["auth_failed"].as_bool() == Some(true) {
        lines.push(format!(
            "delivery   STOPPED: the server refused the write key ({})",
            text(&delivery, "last_error")
        ));
    } else if failures > 0 {
        let next = delivery["next_retry_at_ms"]
            .as_i64()
            .map_or("-".to_string(), |t| {
                format!("{} ({})", iso8601_ms(t), ago(now_ms, t))
            });
        lines.push(format!(
            "delivery   {failures} failed attempts in a row; next retry {next}; last error: {}",
            text(&delivery, "last_error")
        ));
    } else {
        lines.push("delivery   no failure pending".to_string());
    }
    if let Some(rej) = delivery["last_rejection"].as_str() {
        lines.push(format!("           last refused batch: {rej}"));
    }
    lines
}

/// The human-readable report.
pub fn render(r: &Inspection, now_ms: i64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cairn buffer {}  (schema v{}, {} + WAL {}, integrity {})",
        r.path.display(),
        r.schema_version,
        bytes(r.file_bytes),
        bytes(r.wal_bytes),
        r.integrity
    );
    let _ = writeln!(
        o,
        "  {}",
        if r.in_use {
            "in use by a running process"
        } else {
            "not in use (no running client holds it)"
        }
    );

    let _ = write!(
        o,
        "queue      {} events, {}",
        r.queued_events,
        bytes(r.queued_bytes)
    );
    if let (Some(old), Some(new)) = (r.oldest_created_ms, r.newest_created_ms) {
        let _ = write!(
            o,
            "; oldest {} ({}), newest {}",
            iso8601_ms(old),
            ago(now_ms, old),
            iso8601_ms(new)
        );
    }
    o.push('\n');
    if r.delivered_waiting_events > 0 {
        let _ = writeln!(
            o,
            "           and {} delivered events, freed with their table once it is delivered whole",
            r.delivered_waiting_events
        );
    }

    if r.destinations.is_empty() {
        for line in delivery_lines(&r.state, now_ms) {
            let _ = writeln!(o, "{line}");
        }
    }

    let d = r.state.get("dropped").cloned().unwrap_or(Value::Null);
    let _ = writeln!(o, "dropped    {}", drop_counts(&d));

    for dest in &r.destinations {
        let _ = writeln!(
            o,
            "destination {}: {} events queued, {} (cursor #{})",
            dest.name,
            dest.queued_events,
            bytes(dest.queued_bytes),
            dest.cursor
        );
        for line in condition_lines(&dest.delivery, now_ms) {
            let _ = writeln!(o, "  {line}");
        }
        if !dest.dropped.is_null() {
            let _ = writeln!(o, "  dropped    {}", drop_counts(&dest.dropped));
        }
    }

    for line in violation_lines(r.state.get(cairn::plan::VIOLATIONS_STATE_KEY)) {
        let _ = writeln!(o, "{line}");
    }

    let id = r.state.get("identity").cloned().unwrap_or(Value::Null);
    let anon = text(&id, "anonymous_id");
    let mirror = match &r.mirrored_anonymous_id {
        Some(m) if m == anon => "mirror file matches".to_string(),
        Some(m) => format!("mirror file says {m}"),
        None => "no mirror file".to_string(),
    };
    let traits = id["traits"].as_object().map_or(0, |t| t.len());
    let _ = writeln!(
        o,
        "identity   anonymous {anon}  user {}  traits {traits}  group {}  ({mirror})",
        text(&id, "user_id"),
        text(&id, "group_id")
    );

    let consent = r.state.get("consent").cloned().unwrap_or(Value::Null);
    let cats: Vec<String> = consent["categories"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "consent    {}  opted out: {}",
        if cats.is_empty() {
            "no categories".to_string()
        } else {
            cats.join(" ")
        },
        if consent["opted_out"].as_bool() == Some(true) {
            "YES"
        } else {
            "no"
        }
    );
    match r.state.get("session") {
        Some(s) if s["id"].is_i64() => {
            let _ = writeln!(
                o,
                "session    {} (last event {})",
                s["id"],
                s["last_event_ms"].as_i64().map_or("-".into(), iso8601_ms)
            );
        }
        _ => {
            let _ = writeln!(o, "session    none");
        }
    }
    for aside in &r.moved_aside {
        let _ = writeln!(
            o,
            "note       a corrupt earlier file was kept as {}",
            aside.display()
        );
    }
    if !r.events.is_empty() {
        let _ = writeln!(o, "events (first {}, oldest first)", r.events.len());
        for e in &r.events {
            let name = e["event"].as_str().or(e["name"].as_str()).unwrap_or("");
            let who = e["userId"]
                .as_str()
                .map(|u| format!("user {u}"))
                .unwrap_or_else(|| format!("anon {}", text(e, "anonymousId")));
            // A JSON value ignores the width: pad the number's text.
            let seq = e["_seq"].to_string();
            let _ = writeln!(
                o,
                "  #{:<6} {}  {:<8} {:<24} {}  {}",
                seq,
                text(e, "timestamp"),
                text(e, "type"),
                name,
                who,
                text(e, "messageId")
            );
        }
    }
    o
}

/// Drop counts by reason, as `invalid 0 · oversize 0 · …`.
fn drop_counts(d: &Value) -> String {
    let reasons = [
        "invalid",
        "oversize",
        "overflow",
        "expired",
        "rejected",
        "consent",
        "corrupt",
        "plan_violation",
    ];
    let parts: Vec<String> = reasons
        .iter()
        .map(|k| format!("{k} {}", d[k].as_u64().unwrap_or(0)))
        .collect();
    parts.join(" · ")
}

/// Tracking-plan violations (persisted by the recorder under
/// `plan_violations`): counts per event and rule, then the latest ones with
/// their path, newest last.
fn violation_lines(state: Option<&Value>) -> Vec<String> {
    let Some(v) = state else {
        return Vec::new();
    };
    let counts: Vec<String> = v["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} {} × {}",
                c["event"].as_str().unwrap_or("?"),
                c["rule"].as_str().unwrap_or("?"),
                c["count"].as_u64().unwrap_or(0)
            )
        })
        .collect();
    if counts.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("violations {}", counts.join(" · "))];
    for r in v["recent"].as_array().into_iter().flatten() {
        let path = r["path"].as_str().unwrap_or("");
        let message = r["message"].as_str().unwrap_or("");
        let what = if path.is_empty() {
            message.to_string()
        } else {
            format!("{path}: {message}")
        };
        lines.push(format!(
            "  latest   {}: {what}",
            r["event"].as_str().unwrap_or("?")
        ));
    }
    lines
}
