//! The parent's half of each end-to-end phase: set the collector up (healthy,
//! down, or faulty), start the client in a child process, time what the
//! collector sees against the child's milestones, and audit the deliveries.
//!
//! Times that span both processes are differences of wall-clock
//! microseconds (the child stamps its milestones, the parent stamps what its
//! collector saw); everything else is timed with `Instant` on one side.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::audit::{audit, Audit};
use super::child::{self, wall_us, Message, Outcome, Phase, Spec, Tuning};
use crate::collector::{Collector, Fault};

/// What one scenario run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScenarioFigures {
    /// Track calls recorded.
    pub events: u64,
    /// Whether uploads were gzip-compressed.
    pub gzip: bool,
    /// Whether the calls were `enqueue` of complete events (else `track`).
    pub enqueue: bool,
    /// The child's own figures (latency, durable, flushed, RSS...).
    pub client: Outcome,
    /// Seconds from the first call until the collector had every event.
    pub collected_s: f64,
    /// Events delivered per second, end to end (`expected / collected_s`).
    pub delivered_per_s: f64,
    /// `/v1/batch` requests the collector received.
    pub requests: u64,
    /// Request body bytes (as sent, compressed or not) per delivered event.
    pub wire_bytes_per_event: f64,
    /// CPU seconds the collector's process used from the child's start until
    /// it had every event (the parent does nothing else meanwhile).
    pub collector_cpu_s: f64,
    /// Lost and duplicated.
    pub audit: Audit,
}

impl ScenarioFigures {
    /// CPU microseconds per delivered event: caller (building properties and
    /// calling track), worker, upload threads (compressor and HTTP),
    /// collector.
    pub fn cpu_us_per_event(&self) -> [f64; 4] {
        cpu_us_per_event(self.events, &self.client, self.collector_cpu_s)
    }
}

/// CPU microseconds per delivered event of `events` (the identify too):
/// caller, worker, upload threads, and `collector_s` of the receiving end.
fn cpu_us_per_event(events: u64, client: &Outcome, collector_s: f64) -> [f64; 4] {
    let per = |s: f64| s * 1e6 / (events + 1) as f64;
    [
        per(client.caller_cpu_s()),
        per(client.cpu_s("cairn-worker")),
        per(client.cpu_s("cairn-gzip") + client.cpu_s("cairn-http")),
        per(collector_s),
    ]
}

/// What the backlog phase measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BacklogFigures {
    /// Events recorded while the collector was down.
    pub events: u64,
    /// Peak RSS of the client, KiB, with every event on disk and the collector still down.
    pub peak_rss_kib_down: u64,
    /// Buffer file (with WAL) when every event was on disk, bytes.
    pub file_bytes: u64,
    /// Seconds to record them all durably.
    pub durable_s: f64,
    /// Seconds from the collector coming back until the client's first
    /// batch after it was stored: what was left of the client's retry wait
    /// (full jitter, a window doubling with each failure in a row).
    pub found_back_s: f64,
    /// Seconds from that first batch until the collector had every event:
    /// the drain itself, which the budget divides the backlog by.
    pub drain_s: f64,
    /// The client's own figures.
    pub client: Outcome,
    /// Lost and duplicated.
    pub audit: Audit,
}

/// What the cold start measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ColdFigures {
    /// Events queued in the file before `build()`.
    pub queued: u64,
    /// Seconds `build()` took.
    pub build_s: f64,
    /// Seconds from calling `build()` until the collector saw the first request.
    pub first_upload_s: f64,
    /// Seconds from `build()` until the whole backlog was delivered.
    pub drained_s: f64,
    /// Lost and duplicated.
    pub audit: Audit,
}

/// What the fault phase measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultFigures {
    /// Events recorded.
    pub events: u64,
    /// Requests the collector received.
    pub requests: u64,
    /// Of those, answered 500.
    pub status_500: u64,
    /// Answered 429 with Retry-After.
    pub status_429: u64,
    /// Stored, then closed without an answer.
    pub stored_unanswered: u64,
    /// Closed without reading.
    pub dropped_connections: u64,
    /// Seconds from the first call until `flush()` said all were delivered.
    pub flushed_s: f64,
    /// The client's own figures.
    pub client: Outcome,
    /// Lost and duplicated.
    pub audit: Audit,
}

/// Starts the client's process for one phase against `collector`.
fn start_child(
    collector: &Collector,
    storage: &Path,
    phase: Phase,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
) -> Result<child::Running, String> {
    start_child_with(collector, storage, phase, events, tuning, timeout, false)
}

/// [`start_child`], recording with `enqueue` when `enqueue` is true.
fn start_child_with(
    collector: &Collector,
    storage: &Path,
    phase: Phase,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
    enqueue: bool,
) -> Result<child::Running, String> {
    child::spawn(&Spec {
        phase,
        endpoint: collector.endpoint(),
        storage: storage.to_path_buf(),
        events,
        tuning,
        timeout_s: timeout.as_secs(),
        enqueue,
        second_endpoint: None,
    })
    .map_err(|e| format!("could not start the bench child: {e}"))
}

/// Waits until the collector has `expected` events. Gives up early when the
/// child finished without delivering them all (its events were dropped, say),
/// rather than waiting out the whole timeout.
fn wait_collected(
    collector: &Collector,
    running: &child::Running,
    expected: u64,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut finished: Option<(Instant, Outcome)> = None;
    while !collector.wait_for_events(expected as usize, Duration::from_millis(200)) {
        if finished.is_none() {
            if let Some(outcome) = running.finished() {
                finished = Some((Instant::now(), outcome));
            }
        }
        let grace_over = finished
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() > Duration::from_secs(3));
        if grace_over || Instant::now() > deadline {
            let got = collector.stats().events;
            let why = match &finished {
                Some((_, o)) => format!(
                    "the client finished with {} delivered, {} dropped, {} still queued",
                    o.delivered, o.dropped, o.remaining
                ),
                None => format!("after {timeout:?}"),
            };
            return Err(format!(
                "the collector had {got} of {expected} events: {why}"
            ));
        }
    }
    Ok(())
}

fn expect_started(running: &child::Running, timeout: Duration) -> Result<u64, String> {
    loop {
        match running.next(timeout)? {
            (Message::Started { wall_us }, _) => return Ok(wall_us),
            (Message::Done(_), _) => {
                return Err("the bench child finished before it started recording".into())
            }
            _ => continue,
        }
    }
}

/// Sum of `Content-Length` over the requests the collector received.
fn wire_bytes(collector: &Collector) -> u64 {
    collector
        .requests()
        .iter()
        .filter_map(|r| {
            r.header("content-length")
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// One caller records `events` against a healthy collector; then flush.
pub fn scenario(
    collector: &Collector,
    dir: &Path,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
    enqueue: bool,
) -> Result<ScenarioFigures, String> {
    collector.clear();
    let storage = dir.join(format!(
        "scenario-{events}-{}-{}.db",
        if tuning.gzip { "gzip" } else { "plain" },
        if enqueue { "enqueue" } else { "track" }
    ));
    let cpu_before = super::cpu::process_s();
    let running = start_child_with(
        collector,
        &storage,
        Phase::Record { deliver: true },
        events,
        tuning,
        timeout,
        enqueue,
    )?;
    let started = expect_started(&running, timeout)?;
    let expected = events + 1;
    if let Err(e) = wait_collected(collector, &running, expected, timeout) {
        running.kill();
        return Err(e);
    }
    let collected_s = wall_us().saturating_sub(started) as f64 / 1e6;
    let collector_cpu_s = super::cpu::process_s() - cpu_before;
    let client = running.outcome(timeout)?;
    let received = collector.digests();
    let audit = audit(&received, events);
    drop(received);
    let stats = collector.stats();
    let bytes = wire_bytes(collector);
    Ok(ScenarioFigures {
        events,
        gzip: tuning.gzip,
        enqueue,
        client,
        collected_s,
        delivered_per_s: expected as f64 / collected_s,
        requests: stats.requests,
        wire_bytes_per_event: bytes as f64 / expected as f64,
        collector_cpu_s,
        audit,
    })
}

/// What the two-destination run measured: the scenario with a second
/// destination (a collector of its own), both fed from one buffer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TwoDestinationFigures {
    /// Track calls recorded.
    pub events: u64,
    /// The child's own figures (its `delivered` counts both destinations).
    pub client: Outcome,
    /// Seconds from the first call until each collector had every event.
    pub collected_s: [f64; 2],
    /// Events delivered per second to each destination, end to end.
    pub delivered_per_s: [f64; 2],
    /// CPU seconds the collectors' process used from the child's start
    /// until both had every event: on a machine of 2 CPUs the two
    /// collectors share them with the client.
    pub collectors_cpu_s: f64,
    /// Lost and duplicated, per destination.
    pub audit: [Audit; 2],
}

impl TwoDestinationFigures {
    /// CPU microseconds per event, as [`ScenarioFigures::cpu_us_per_event`]
    /// gives them: caller, worker, upload threads (both destinations'),
    /// collectors (both).
    pub fn cpu_us_per_event(&self) -> [f64; 4] {
        cpu_us_per_event(self.events, &self.client, self.collectors_cpu_s)
    }
}

/// The scenario with two destinations: one caller records `events`, both
/// collectors must receive them all.
pub fn two_destinations(
    collector: &Collector,
    second: &Collector,
    dir: &Path,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
) -> Result<TwoDestinationFigures, String> {
    collector.clear();
    second.clear();
    let storage = dir.join(format!("two-destinations-{events}.db"));
    let cpu_before = super::cpu::process_s();
    let running = child::spawn(&Spec {
        phase: Phase::Record { deliver: true },
        endpoint: collector.endpoint(),
        storage,
        events,
        tuning,
        timeout_s: timeout.as_secs(),
        enqueue: false,
        second_endpoint: Some(second.endpoint()),
    })
    .map_err(|e| format!("could not start the bench child: {e}"))?;
    let started = expect_started(&running, timeout)?;
    let expected = events + 1;
    let deadline = Instant::now() + timeout;
    let mut collected: [Option<f64>; 2] = [None, None];
    while collected.iter().any(Option::is_none) {
        for (i, c) in [collector, second].into_iter().enumerate() {
            if collected[i].is_none() && c.stats().events >= expected {
                collected[i] = Some(wall_us().saturating_sub(started) as f64 / 1e6);
            }
        }
        if Instant::now() > deadline {
            running.kill();
            return Err(format!(
                "after {timeout:?} the collectors had {} and {} of {expected} events",
                collector.stats().events,
                second.stats().events
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let collected_s = collected.map(|c| c.unwrap_or(f64::INFINITY));
    let collectors_cpu_s = super::cpu::process_s() - cpu_before;
    let client = running.outcome(timeout)?;
    let audits = [collector, second].map(|c| audit(&c.digests(), events));
    Ok(TwoDestinationFigures {
        events,
        client,
        collected_s,
        delivered_per_s: collected_s.map(|s| expected as f64 / s),
        collectors_cpu_s,
        audit: audits,
    })
}

/// The collector is down while `events` are recorded; then it comes back.
pub fn backlog(
    collector: &Collector,
    dir: &Path,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
) -> Result<BacklogFigures, String> {
    collector.clear();
    collector.set_down(Some(Fault::DropConnection));
    let storage = dir.join(format!("backlog-{events}.db"));
    let spawned = start_child(
        collector,
        &storage,
        Phase::Record { deliver: true },
        events,
        tuning,
        timeout,
    );
    let running = match spawned {
        Ok(r) => r,
        Err(e) => {
            collector.set_down(None);
            return Err(e);
        }
    };
    let waited = (|| {
        expect_started(&running, timeout)?;
        loop {
            if let (Message::Durable { peak_rss_kib, .. }, _) = running.next(timeout)? {
                return Ok::<u64, String>(peak_rss_kib);
            }
        }
    })();
    // The collector comes back whatever happened, so later phases find it up.
    collector.clear();
    collector.set_down(None);
    let up = Instant::now();
    let peak_rss_kib_down = match waited {
        Ok(kib) => kib,
        Err(e) => {
            running.kill();
            return Err(e);
        }
    };
    let expected = events + 1;
    if let Err(e) = wait_collected(collector, &running, expected, timeout) {
        running.kill();
        return Err(e);
    }
    let done = Instant::now();
    let first = collector.first_stored_at().unwrap_or(up).max(up);
    let found_back_s = first.duration_since(up).as_secs_f64();
    let drain_s = done.duration_since(first).as_secs_f64();
    let client = running.outcome(timeout)?;
    let audit = audit(&collector.digests(), events);
    Ok(BacklogFigures {
        events,
        peak_rss_kib_down,
        file_bytes: client.file_bytes_durable,
        durable_s: client.durable_s,
        found_back_s,
        drain_s,
        client,
        audit,
    })
}

/// A file with `queued` events from an earlier run; time from `build()` to the first upload.
pub fn cold_start(
    collector: &Collector,
    dir: &Path,
    queued: u64,
    tuning: Tuning,
    timeout: Duration,
) -> Result<ColdFigures, String> {
    let storage = dir.join(format!("cold-{queued}.db"));
    collector.clear();
    collector.set_down(Some(Fault::DropConnection));
    let filled = start_child(
        collector,
        &storage,
        Phase::Record { deliver: false },
        queued,
        tuning,
        timeout,
    )
    .and_then(|running| running.outcome(timeout));
    collector.set_down(None);
    collector.clear();
    let filled = filled?;
    if filled.remaining != queued + 1 {
        return Err(format!(
            "cold start: the earlier run left {} events queued, not {}",
            filled.remaining,
            queued + 1
        ));
    }
    let running = start_child(collector, &storage, Phase::Drain, queued, tuning, timeout)?;
    // Watch for the first request from now on, so it cannot slip by unseen.
    let deadline = Instant::now() + timeout;
    let first = loop {
        if collector.stats().requests > 0 {
            break wall_us();
        }
        if Instant::now() > deadline {
            running.kill();
            return Err(format!("cold start: no upload within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_micros(20));
    };
    let building = loop {
        match running.next(timeout)? {
            (Message::Building { wall_us }, _) => break wall_us,
            _ => continue,
        }
    };
    let client = running.outcome(timeout)?;
    Ok(ColdFigures {
        queued: queued + 1,
        build_s: client.build_s,
        first_upload_s: first.saturating_sub(building) as f64 / 1e6,
        drained_s: client.flushed_s,
        audit: audit(&collector.digests(), queued),
    })
}

/// The fault mix of the issue, in a fixed pseudo-random order: 30% 500,
/// 10% 429 with Retry-After, 5% stored but unanswered, 5% dropped
/// connections, the rest answered normally.
pub fn fault_plan(len: usize) -> Vec<Fault> {
    (0..len as u64)
        .map(|i| match super::workload::mix(i ^ 0xFA_0175) % 100 {
            0..=29 => Fault::Status(500),
            30..=39 => Fault::StatusRetryAfter(429, "1".into()),
            40..=44 => Fault::StoreThenDrop,
            45..=49 => Fault::DropConnection,
            _ => Fault::Stall(Duration::ZERO),
        })
        .collect()
}

/// The scenario against a collector that misbehaves per [`fault_plan`].
pub fn faults(
    collector: &Collector,
    dir: &Path,
    events: u64,
    tuning: Tuning,
    timeout: Duration,
) -> Result<FaultFigures, String> {
    collector.clear();
    collector.push_faults(fault_plan(100_000));
    let storage = dir.join(format!("faults-{events}.db"));
    let result = start_child(
        collector,
        &storage,
        Phase::Record { deliver: true },
        events,
        tuning,
        timeout,
    )
    .and_then(|running| running.outcome(timeout));
    let requests = collector.requests();
    let received = collector.digests();
    collector.clear();
    let client = result?;
    let count = |status: u16| requests.iter().filter(|r| r.status == status).count() as u64;
    let plan = fault_plan(requests.len());
    let planned = |fault: Fault| plan.iter().filter(|f| **f == fault).count() as u64;
    Ok(FaultFigures {
        events,
        requests: requests.len() as u64,
        status_500: count(500),
        status_429: count(429),
        stored_unanswered: planned(Fault::StoreThenDrop),
        dropped_connections: planned(Fault::DropConnection),
        flushed_s: client.flushed_s,
        audit: audit(&received, events),
        client,
    })
}
