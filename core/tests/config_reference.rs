//! docs/configuration.md's table of options is generated from the code's
//! constants; this test fails when the two drift apart.
//!
//! To regenerate after changing a default:
//! `CAIRN_BLESS=1 cargo test -p cairn --test config_reference`.

use std::time::Duration;

use cairn::config::*;
use cairn::engine::{
    MEMORY_FALLBACK_BYTES, MEMORY_FALLBACK_EVENTS, MIN_RETRY_DELAY, STORAGE_RETRY_INTERVAL,
};
use cairn::recorder::{MAX_HELD_BYTES, MAX_HELD_EVENTS};

const BEGIN: &str = "<!-- BEGIN GENERATED: options (core/tests/config_reference.rs) -->";
const END: &str = "<!-- END GENERATED: options -->";

fn d(x: Duration) -> String {
    let s = x.as_secs();
    match () {
        _ if x.subsec_millis() != 0 || s == 0 => format!("{} ms", x.as_millis()),
        _ if s.is_multiple_of(86_400) => format!("{} days", s / 86_400),
        _ if s.is_multiple_of(60) && s >= 120 => format!("{} min", s / 60),
        _ => format!("{s} s"),
    }
}

fn n(x: u64) -> String {
    let s = x.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn table() -> String {
    let retry = format!("Window of each of the first {RETRY_STEADY_FAILURES} retries in a row (full jitter, at least {}); it doubles per failure after that. A `Retry-After` is the wait instead, and does not grow the window.", d(MIN_RETRY_DELAY));
    let more = format!("More destinations from the same buffer (at most {MAX_DESTINATIONS} in all), each with its own cursor, batches, backoff and routing (names, call types, consent categories); `routing` is the builder's own destination's ([destinations.md](destinations.md#routing-the-builders-own-destination)); in the bindings its four lists are options of the config (`allow_events`, `deny_events`, `call_types`, `consent_categories`).");
    let rows: Vec<(&str, String, &str)> = vec![
        ("`endpoint`", "required".into(), "Base URL of the backend (`http://` or `https://`); events go to `{endpoint}/v1/batch` (rules below the table)."),
        ("`destination`", format!("{:?}", cairn::DestinationKind::default()), "The backend's format: `Segment` (also RudderStack), `Amplitude { batch_api, min_id_length }` (`/2/httpapi`, or `/batch`) or `PostHog` (`/batch/`); the key is then that project's API key ([destinations.md](destinations.md))."),
        ("`add_destination(Destination)` / `routing(Routing)`", "none: one destination".into(), &more),
        ("`storage_path`", format!("`{DEFAULT_STORAGE_FILE}`"), "The SQLite buffer file. One client per file; its directory must exist."),
        ("`flush_at`", format!("{} events", n(DEFAULT_FLUSH_AT as u64)), "Send as soon as this many are queued. Lower: fresher data, more requests; higher: fewer, larger requests."),
        ("`flush_interval`", d(DEFAULT_FLUSH_INTERVAL), "Send at the latest this long after the first queued event. Lower: fresher data and more radio wake-ups on phones."),
        ("`max_batch_events`", format!("{} events", n(DEFAULT_MAX_BATCH_EVENTS as u64)), "Most events in one request (at most 2,000). Batches are this big only under a backlog (while a request is on the wire, the next takes what queued meanwhile): each round trip then carries more."),
        ("`max_batch_bytes`", format!("{} bytes", n(DEFAULT_MAX_BATCH_BYTES as u64)), "Most bytes in one request before compression (Segment accepts 500 KB)."),
        ("`max_event_bytes`", format!("{} bytes", n(DEFAULT_MAX_EVENT_BYTES as u64)), "Largest event; a bigger one is refused at the call (`EventTooLarge`) and counted as `oversize`."),
        ("`request_timeout`", d(DEFAULT_REQUEST_TIMEOUT), "Time limit of one request; a timeout is retried like a 5xx."),
        ("`gzip`", DEFAULT_GZIP.to_string(), "Compress request bodies (bytes per event measured in docs/performance.md) at a little CPU."),
        ("`retry_base_delay`", d(DEFAULT_RETRY_BASE_DELAY), &retry),
        ("`max_retry_delay`", d(DEFAULT_MAX_RETRY_DELAY), "Longest wait between retries, `Retry-After` included. Lower: faster recovery, more requests during an outage."),
        ("`max_queue_events`", format!("{} events", n(DEFAULT_MAX_QUEUE_EVENTS)), "Buffer cap; past it the oldest unsent events are dropped as `overflow`."),
        ("`max_queue_bytes`", format!("{} bytes", n(DEFAULT_MAX_QUEUE_BYTES)), "Buffer cap in bytes (64 MiB) of queued events; past it the oldest go, as `overflow`. Delivered events waiting to be freed with their table are not counted ([architecture](architecture.md#the-store)). It also bounds the WAL beside the file during a sustained burst (at least 8 MiB, at most 64 MiB)."),
        ("`max_event_age`", d(DEFAULT_MAX_EVENT_AGE), "Events older than this are dropped as `expired` instead of sent."),
        ("`max_pending_calls`", format!("{} calls", n(DEFAULT_MAX_PENDING_CALLS as u64)), "Calls waiting for the worker before a call waits for room (back-pressure). Also bounds what a kill -9 can lose."),
        ("`record_wait`", d(DEFAULT_RECORD_WAIT), "Longest `track`/`screen`/`page`/`enqueue` waits for room; then its event is held in memory (8 MiB), past that dropped as `overflow`. `0` never waits (UI threads). Identity and consent calls always wait."),
        ("`session_timeout`", d(DEFAULT_SESSION_TIMEOUT), "A new session starts after this long without events."),
        ("`session_events`", DEFAULT_SESSION_EVENTS.to_string(), "Record `Session Started` / `Session Ended` events."),
        ("`reset_on_user_switch`", DEFAULT_RESET_ON_USER_SWITCH.to_string(), "`identify` with a different user id resets first, so two people on one device are never merged."),
        ("`consent(category, state)`", "none".into(), "Consent categories and their state before the user decides."),
        ("`required_consent([...])`", "none".into(), "Categories the destination needs granted before anything is stored or sent."),
        ("`context(json)`", "`{}`".into(), "Context every event carries (app, device, os, locale...)."),
        ("`anonymous_id(id)`", "a new UUID v4".into(), "The anonymous id to use on first start."),
        ("`tracking_plan(json)` / `tracking_plan_file(path)`", "none".into(), "The tracking plan every call is checked against ([tracking-plans.md](tracking-plans.md)); without one no plan code runs."),
        ("`strict_tracking_plan`", DEFAULT_STRICT_TRACKING_PLAN.to_string(), "A call that breaks the plan fails with `PlanViolation` and records nothing (debug builds, tests)."),
    ];
    let mut t = String::from("| option | default | what it trades off |\n| --- | --- | --- |\n");
    for (name, default, what) in rows {
        t.push_str(&format!("| {name} | {default} | {what} |\n"));
    }
    t.push_str("\nFixed limits (not settings):\n\n| limit | value |\n| --- | --- |\n");
    t.push_str(&format!(
        "| retry backoff factor | ×{RETRY_BACKOFF_FACTOR} |\n"
    ));
    t.push_str(&format!(
        "| shortest retry wait | {} |\n",
        d(MIN_RETRY_DELAY)
    ));
    t.push_str(&format!(
        "| events held in memory while the disk fails | {} events / {} bytes |\n",
        n(MEMORY_FALLBACK_EVENTS as u64),
        n(MEMORY_FALLBACK_BYTES as u64)
    ));
    t.push_str(&format!(
        "| failing disk retried every | {} |\n",
        d(STORAGE_RETRY_INTERVAL)
    ));
    t.push_str(&format!(
        "| events held while consent is undecided | {} events / {} bytes |\n",
        n(MAX_HELD_EVENTS as u64),
        n(MAX_HELD_BYTES as u64)
    ));
    t
}

#[test]
fn configuration_reference_matches_the_constants() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("docs/configuration.md exists");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/configuration.md lacks the {BEGIN} ... {END} markers");
    };
    let current = &doc[b + BEGIN.len()..e];
    let wanted = format!("\n{}", table());
    if current != wanted {
        if std::env::var_os("CAIRN_BLESS").is_some() {
            let new = format!("{}{}{}{}", &doc[..b], BEGIN, wanted, &doc[e..]);
            std::fs::write(path, new).unwrap();
            return;
        }
        panic!("docs/configuration.md is out of date with the constants: run CAIRN_BLESS=1 cargo test -p cairn --test config_reference\n--- generated ---\n{wanted}");
    }
}
