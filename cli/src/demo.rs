//! `cairn demo`: the README quickstart, end to end, with no outside service.
//!
//! It starts two [`Collector`]s on 127.0.0.1, one speaking Segment's
//! `/v1/batch` and one Amplitude's HTTP V2, points a real `cairn::Client` at
//! both (two destinations fed from one buffer file in a temporary
//! directory), records a short scripted story, takes the Segment collector
//! down for a moment to show that Amplitude's events go on meanwhile, with
//! retries and `stats()`, brings it back, and checks that every recorded
//! event arrived exactly once at each, by `messageId`, in the order it was
//! recorded. This module decides the story and the check; the collectors
//! and the client do the work.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::collector::{Collector, CollectorConfig, Fault, Output};

/// The write key the demo's client sends and its Segment collector checks.
pub const DEMO_WRITE_KEY: &str = "demo-write-key";
/// The API key the demo's client sends and its Amplitude collector checks.
pub const DEMO_AMPLITUDE_KEY: &str = "demo-amplitude-key";
/// How long the demo lets the client retry against the downed collector.
const OUTAGE: Duration = Duration::from_millis(1500);
/// How long a flush may wait once the collector is up.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the demo could not run (as opposed to running and finding a problem,
/// which [`DemoReport::ok`] reports).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The local collector could not start.
    #[error("could not start the local collector on 127.0.0.1: {0}")]
    Collector(io::Error),
    /// The temporary directory for the buffer file could not be created.
    #[error("could not create a temporary directory for the event buffer: {0} (check TMPDIR)")]
    TempDir(io::Error),
    /// The cairn client refused a setting or a call.
    #[error("the cairn client failed: {0}")]
    Client(#[from] cairn::Error),
}

/// What the demo recorded, what arrived, and whether that is exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// Events the script recorded.
    pub recorded: usize,
    /// Events the client reports as acknowledged, by both destinations.
    pub delivered: u64,
    /// Events the collector stored, duplicates included.
    pub received: usize,
    /// Distinct `messageId`s among them.
    pub unique: usize,
    /// Stored events whose `messageId` had already arrived.
    pub duplicates: usize,
    /// Whether the distinct events match the script, in recording order.
    pub in_order: bool,
    /// Failed attempts the client scheduled for retry.
    pub retries: u64,
    /// `/v1/batch` requests the collector did not accept (the outage).
    pub refused_requests: usize,
    /// Events the client dropped, whatever the reason.
    pub dropped: u64,
    /// Stored events the collector flagged as breaking Segment's spec.
    pub invalid: u64,
    /// Events the Amplitude collector stored, duplicates included.
    pub amplitude_received: usize,
    /// Distinct `messageId`s (Amplitude's `insert_id`) among them.
    pub amplitude_unique: usize,
    /// Whether they arrived in the order the Segment collector has them.
    pub amplitude_in_order: bool,
    /// Wall time the demo took.
    pub elapsed: Duration,
}

impl DemoReport {
    /// Every recorded event arrived once and only once.
    pub fn exactly_once(&self) -> bool {
        self.received == self.recorded && self.unique == self.recorded && self.duplicates == 0
    }

    /// Every recorded event arrived once and only once at the Amplitude collector too.
    pub fn amplitude_exactly_once(&self) -> bool {
        self.amplitude_received == self.recorded && self.amplitude_unique == self.recorded
    }

    /// The demo shows what it promises: exactly once and in order at both
    /// collectors, nothing dropped or flagged.
    pub fn ok(&self) -> bool {
        self.exactly_once()
            && self.in_order
            && self.amplitude_exactly_once()
            && self.amplitude_in_order
            && self.dropped == 0
            && self.invalid == 0
    }
}

/// One scripted call, and how it shows on the wire: `(type, label)`.
struct Step {
    kind: &'static str,
    label: &'static str,
    props: Value,
}

fn step(kind: &'static str, label: &'static str, props: Value) -> Step {
    Step { kind, label, props }
}

/// Runs the demo, printing to standard output.
pub fn run() -> Result<DemoReport, DemoError> {
    run_with_output(Arc::new(Mutex::new(io::stdout())))
}

/// Runs the demo, printing its narration and the collector's lines to `output`.
pub fn run_with_output(output: Output) -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    let say = |line: &str| {
        let mut out = output.lock().unwrap_or_else(PoisonError::into_inner);
        // The demo's value is in the report; a closed stdout must not abort it.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    };

    let config = CollectorConfig {
        write_key: Some(DEMO_WRITE_KEY.into()),
        print: true,
        ..CollectorConfig::default()
    };
    let collector =
        Collector::start_with_output(config, Arc::clone(&output)).map_err(DemoError::Collector)?;
    let amplitude_config = CollectorConfig {
        write_key: Some(DEMO_AMPLITUDE_KEY.into()),
        print: true,
        ..CollectorConfig::default()
    };
    let amplitude = Collector::start_with_output(amplitude_config, Arc::clone(&output))
        .map_err(DemoError::Collector)?;
    let dir = tempfile::Builder::new()
        .prefix("cairn-demo-")
        .tempdir()
        .map_err(DemoError::TempDir)?;
    let buffer = dir.path().join("cairn.db");
    let client = cairn::Client::builder(DEMO_WRITE_KEY)
        .endpoint(collector.endpoint())
        .storage_path(&buffer)
        .flush_at(5)
        .flush_interval(Duration::from_millis(300))
        .retry_base_delay(Duration::from_millis(200))
        .max_retry_delay(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(5))
        .consent("analytics", cairn::ConsentState::Unknown)
        .required_consent(["analytics"])
        .add_destination(cairn::Destination::new(
            "amplitude",
            cairn::DestinationKind::amplitude(),
            amplitude.endpoint(),
            DEMO_AMPLITUDE_KEY,
        ))
        .build()?;

    say("cairn demo: a real cairn::Client delivering to two local collectors; no outside service.");
    say(&format!(
        "  Segment    {}/v1/batch  (write key \"{DEMO_WRITE_KEY}\"; one line per event received)",
        collector.endpoint()
    ));
    say(&format!(
        "  Amplitude  {}/2/httpapi  (api_key \"{DEMO_AMPLITUDE_KEY}\"; its lines say amplitude)",
        amplitude.endpoint()
    ));
    say(&format!(
        "  buffer     {}  (SQLite, deleted at the end)",
        buffer.display()
    ));
    say("  client     both destinations from one buffer; flush_at 5, flush_interval 300 ms, gzip, retries from 200 ms up to 1 s");

    let story = [
        step(
            "page",
            "Home",
            json!({ "path": "/", "referrer": "news.example" }),
        ),
        step("screen", "Pricing", json!({ "plan_shown": "pro" })),
        step(
            "track",
            "Plan Viewed",
            json!({ "plan": "pro", "price": 49, "currency": "EUR" }),
        ),
        step("track", "Signup Started", json!({ "source": "pricing" })),
        step(
            "identify",
            "user-42",
            json!({ "email": "ada@example.com", "plan": "pro" }),
        ),
        step("group", "acme", json!({ "name": "Acme Inc.", "seats": 12 })),
        step("alias", "crm-9001", Value::Null),
        step(
            "track",
            "Order Completed",
            json!({ "order_id": "o-1001", "total": 49.0, "currency": "EUR" }),
        ),
        step(
            "track",
            "Invite Sent",
            json!({ "invitee": "grace@example.com" }),
        ),
    ];
    let outage = [
        step(
            "track",
            "Report Exported",
            json!({ "format": "csv", "rows": 1200 }),
        ),
        step("screen", "Settings", Value::Null),
        step("track", "Logged Out", Value::Null),
    ];

    say("");
    say("1. A visitor lands; the cookie banner is still open (consent \"analytics\" unknown)");
    for s in &story[..2] {
        record(&client, s)?;
    }
    client.commit(FLUSH_TIMEOUT)?;
    say(&format!(
        "   2 events recorded → held in memory only: {} on disk, {} requests sent",
        client.stats().queued_events,
        collector.requests().len()
    ));
    say("   the visitor accepts → set_consent(\"analytics\", Granted): they go out with their original timestamps");
    client.set_consent("analytics", cairn::ConsentState::Granted)?;

    say("");
    say(&format!(
        "2. They browse on, sign up, join a team, buy ({} more events)",
        story.len() - 2
    ));
    for s in &story[2..] {
        record(&client, s)?;
    }
    let r = client.flush(FLUSH_TIMEOUT)?;
    say(&format!(
        "   flush() → delivered {}, still queued {}",
        r.delivered, r.remaining
    ));

    say("");
    say(&format!(
        "3. The Segment collector goes down (every request answered 503); {} more events are recorded",
        outage.len()
    ));
    collector.set_down(Some(Fault::Status(503)));
    for s in &outage {
        record(&client, s)?;
    }
    let r = client.flush(OUTAGE)?;
    say(&format!(
        "   flush({:.1} s) → delivered {}, still queued {} (safe in the buffer file)",
        OUTAGE.as_secs_f32(),
        r.delivered,
        r.remaining
    ));
    let s = client.stats();
    for d in &s.destinations {
        let next = d
            .next_retry_in_ms
            .map_or_else(|| "-".to_string(), |ms| format!("{ms} ms"));
        say(&format!(
            "   stats() {:<9}: queued {}, delivered {}, retries {}, next retry in {next}, last_error: {}",
            d.name,
            d.queued_events,
            d.delivered_events,
            d.retries,
            d.last_error.as_deref().unwrap_or("none")
        ));
    }
    say(&format!(
        "   the Amplitude collector has all {} events so far: a destination that is down holds up only itself",
        amplitude.events().len()
    ));

    say("");
    say("4. The Segment collector is back; the client retries on its own");
    collector.set_down(None);
    let r = client.flush(FLUSH_TIMEOUT)?;
    say(&format!(
        "   flush() → delivered {}, still queued {}",
        r.delivered, r.remaining
    ));
    client.shutdown(Duration::from_secs(2))?;
    let stats = client.stats();
    drop(client);

    let script: Vec<&Step> = story.iter().chain(outage.iter()).collect();
    let events = collector.events();
    let refused_requests = collector
        .requests()
        .iter()
        .filter(|r| r.status != 200)
        .count();
    let invalid = collector.stats().invalid + amplitude.stats().invalid;
    let amplitude_events = amplitude.events();
    collector.stop();
    amplitude.stop();
    let report = judge(
        &script,
        &events,
        &amplitude_events,
        &stats,
        refused_requests,
        invalid,
        started.elapsed(),
    );

    say("");
    say("Summary");
    say(&format!(
        "   recorded {}, delivered {} (to both destinations), Segment received {} ({} requests refused while down, {} client retries), dropped {}",
        report.recorded, report.delivered, report.received, report.refused_requests, report.retries, report.dropped
    ));
    if report.exactly_once() {
        say(&format!(
            "   ✔ every event arrived exactly once ({} events)",
            report.recorded
        ));
    } else {
        say(&format!(
            "   ✘ not exactly once: recorded {}, received {}, distinct message ids {}, duplicates {}",
            report.recorded, report.received, report.unique, report.duplicates
        ));
    }
    if report.in_order {
        say("   ✔ in the order they were recorded");
    } else {
        say("   ✘ the events that arrived do not match the script in recording order");
    }
    if report.amplitude_exactly_once() && report.amplitude_in_order {
        say(&format!(
            "   ✔ and exactly once, in the same order, at the Amplitude collector ({} events)",
            report.amplitude_unique
        ));
    } else {
        say(&format!(
            "   ✘ Amplitude collector: received {}, distinct insert ids {}, same order: {}",
            report.amplitude_received, report.amplitude_unique, report.amplitude_in_order
        ));
    }
    if report.invalid > 0 {
        say(&format!(
            "   ✘ {} events break Segment's spec (see ⚠ above)",
            report.invalid
        ));
    }
    say(&format!("   done in {:.1} s", report.elapsed.as_secs_f32()));
    Ok(report)
}

fn record(client: &cairn::Client, s: &Step) -> Result<(), cairn::Error> {
    let props = s.props.clone();
    match s.kind {
        "page" => client.page(s.label, props),
        "screen" => client.screen(s.label, props),
        "track" => client.track(s.label, props),
        "identify" => client.identify(s.label, props),
        "group" => client.group(s.label, props),
        _ => client.alias(s.label),
    }
}

/// How an event shows on the wire, to compare with its [`Step`].
fn wire_label(event: &Value) -> (String, String) {
    let text = |k: &str| {
        event
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let kind = text("type");
    let label = match kind.as_str() {
        "track" => text("event"),
        "identify" | "alias" => text("userId"),
        "group" => text("groupId"),
        _ => text("name"),
    };
    (kind, label)
}

/// The second collector's events against the first's: how many arrived,
/// how many distinct message ids, and whether those ids came in the order
/// the first collector has them.
fn compare_order(first: &[Value], second: &[Value]) -> (usize, usize, bool) {
    let distinct = |events: &[Value]| {
        let mut seen = std::collections::HashSet::new();
        events
            .iter()
            .filter_map(|e| e.get("messageId").and_then(Value::as_str))
            .filter(|id| seen.insert(id.to_string()))
            .map(str::to_string)
            .collect::<Vec<String>>()
    };
    let ours = distinct(second);
    (second.len(), ours.len(), ours == distinct(first))
}

fn judge(
    script: &[&Step],
    events: &[Value],
    amplitude_events: &[Value],
    stats: &cairn::Stats,
    refused_requests: usize,
    invalid: u64,
    elapsed: Duration,
) -> DemoReport {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut distinct = Vec::new();
    for e in events {
        let id = e.get("messageId").and_then(Value::as_str).unwrap_or("");
        let count = seen.entry(id).or_insert(0);
        *count += 1;
        if *count == 1 {
            distinct.push(wire_label(e));
        }
    }
    let expected: Vec<(String, String)> = script
        .iter()
        .map(|s| (s.kind.to_string(), s.label.to_string()))
        .collect();
    let (amplitude_received, amplitude_unique, amplitude_in_order) =
        compare_order(events, amplitude_events);
    DemoReport {
        recorded: script.len(),
        delivered: stats.delivered_events,
        received: events.len(),
        unique: seen.len(),
        duplicates: events.len() - seen.len(),
        in_order: distinct == expected,
        retries: stats.retries,
        refused_requests,
        dropped: stats.dropped.total(),
        invalid,
        elapsed,
        amplitude_received,
        amplitude_unique,
        amplitude_in_order,
    }
}
