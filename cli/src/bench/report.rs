//! The budgets and how a run is shown: which figure each budget reads, which
//! budgets a short run enforces, the readable table, and the JSON line.

use std::fmt::Write as _;

use serde::Serialize;

use super::child::Tuning;
use super::limits::Limits;
use super::machine::Machine;
use super::phases::{
    BacklogFigures, ColdFigures, FaultFigures, ScenarioFigures, TwoDestinationFigures,
};

/// `track` on the caller's thread, median: 1 µs.
pub const TRACK_P50_NS: u64 = 1_000;
/// `track` on the caller's thread, 99th percentile: 4 µs.
pub const TRACK_P99_NS: u64 = 4_000;
/// `enqueue` of a complete event on the caller's thread, median: 0.5 µs.
pub const ENQUEUE_P50_NS: u64 = 500;
/// The longest wait of one call for room: `record_wait` (5 ms by default)
/// and 1 ms for the scheduler to run the caller again.
pub const ROOM_WAIT_MAX_US: u64 = cairn::config::DEFAULT_RECORD_WAIT.as_micros() as u64 + 1_000;
/// The budget of a figure that is shown, not checked.
const REPORTED: &str = "reported";
/// Delivered end to end, as a share of the same run's SQLite insert rate: 70%.
pub const DELIVERED_SHARE_OF_SQLITE: f64 = 0.7;
/// Time until the collector has a burst, as a multiple of the same run's raw
/// limit (encoding, inserting and posting the same events one after the
/// other, at the rates measured): 1.2.
pub const COLLECTED_OVER_RAW_LIMIT: f64 = 1.2;
/// With two destinations, each one's delivered rate against one
/// destination's (issue 15): at least 80%.
pub const TWO_DESTINATIONS_RATE_SHARE: f64 = 0.8;
/// With two destinations, `track`'s p50 against one destination's: the
/// recording cost is unchanged, within 10% (issue 15's words; every run
/// so far was within 6%).
pub const TWO_DESTINATIONS_TRACK_RATIO: f64 = 1.1;
/// A backlog drained after an outage, as a share of the same run's loopback
/// POST rate: 50%. The drain is timed from the first batch the collector
/// stores once back, so the rest of the client's retry wait (random, within
/// its backoff window) is reported apart instead of making the rate a draw.
pub const DRAIN_SHARE_OF_POST: f64 = 0.5;
/// The fault phase's events all delivered, with the defaults and the
/// server's own `Retry-After`: within 30 s, the shutdown time issue 14 asks
/// them to fit in.
pub const FAULTS_DELIVERED_S: f64 = 30.0;
/// Peak RSS with the collector down: 32 MiB.
pub const BACKLOG_RSS_KIB: u64 = 32 * 1024;
/// Wire bytes per event with gzip: 40.
pub const WIRE_BYTES_GZIP: f64 = 40.0;
/// From `build()` to the first upload with 100,000 queued: 50 ms.
pub const COLD_START_S: f64 = 0.050;

/// One budget or count and whether the run met it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// The figure measured, readable.
    pub measured: String,
    /// The budget, readable.
    pub budget: String,
    /// Met.
    pub passed: bool,
    /// Counted in the verdict (a short run reports timing budgets without enforcing them).
    pub enforced: bool,
}

/// The client settings each kind of phase ran with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tunings {
    /// The scenario (and the gzip-off run, with `gzip` false).
    pub scenario: Tuning,
    /// Backlog and cold start.
    pub backlog: Tuning,
    /// Faults.
    pub faults: Tuning,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `full` or `short`.
    pub mode: &'static str,
    /// The command line that produced it.
    pub command: String,
    /// cairn's version.
    pub version: &'static str,
    /// The machine and its load.
    pub machine: Machine,
    /// This run's limits.
    pub limits: Limits,
    /// Client settings per phase.
    pub tunings: Tunings,
    /// The scenario at each size, gzip on.
    pub scenarios: Vec<ScenarioFigures>,
    /// The scenario with gzip off.
    pub gzip_off: Option<ScenarioFigures>,
    /// The scenario recorded with `enqueue`, per-event identity.
    pub enqueue: Option<ScenarioFigures>,
    /// The scenario with two destinations fed from one buffer.
    pub two_destinations: Option<TwoDestinationFigures>,
    /// Backlog with the collector down.
    pub backlog: Option<BacklogFigures>,
    /// Cold start.
    pub cold: Option<ColdFigures>,
    /// Faults.
    pub faults: Option<FaultFigures>,
    /// Phases that could not run, and why.
    pub errors: Vec<String>,
    /// Budgets and counts.
    pub checks: Vec<Check>,
    /// Seconds the whole run took.
    pub elapsed_s: f64,
}

impl Report {
    /// Enforced checks that passed and failed.
    pub fn verdict(&self) -> (usize, usize) {
        let enforced = self.checks.iter().filter(|c| c.enforced);
        let passed = enforced.clone().filter(|c| c.passed).count();
        (passed, enforced.count() - passed)
    }

    /// Fills in [`checks`](Self::checks) from the figures; `timings` says
    /// whether timing budgets count.
    pub fn judge(&mut self, timings: bool) {
        let mut checks = Vec::new();
        let mut push =
            |name: String, measured: String, budget: &str, passed: bool, enforced: bool| {
                checks.push(Check {
                    name,
                    measured,
                    budget: budget.to_string(),
                    passed,
                    enforced,
                });
            };
        for e in &self.errors {
            push(
                format!("phase ran: {e}"),
                "error".into(),
                "runs",
                false,
                true,
            );
        }
        let mut audits: Vec<(String, super::audit::Audit)> = self
            .scenarios
            .iter()
            .map(|s| (format!("scenario N={}", thousands(s.events)), s.audit))
            .collect();
        audits.extend(self.enqueue.iter().map(|s| {
            (
                format!("scenario enqueue N={}", thousands(s.events)),
                s.audit,
            )
        }));
        audits.extend(self.gzip_off.iter().map(|s| {
            (
                format!("scenario gzip off N={}", thousands(s.events)),
                s.audit,
            )
        }));
        if let Some(t) = &self.two_destinations {
            for (i, a) in t.audit.iter().enumerate() {
                audits.push((
                    format!(
                        "two destinations N={}, destination {}",
                        thousands(t.events),
                        i + 1
                    ),
                    *a,
                ));
            }
        }
        audits.extend(
            self.backlog
                .iter()
                .map(|b| (format!("backlog N={}", thousands(b.events)), b.audit)),
        );
        audits.extend(self.cold.iter().map(|c| {
            (
                format!("cold start {} queued", thousands(c.queued)),
                c.audit,
            )
        }));
        audits.extend(
            self.faults
                .iter()
                .map(|f| (format!("faults N={}", thousands(f.events)), f.audit)),
        );
        for (phase, a) in audits {
            push(
                format!("{phase}: lost, unexplained duplicates"),
                format!(
                    "{} lost, {} duplicates ({} unexplained)",
                    a.lost, a.duplicates, a.unexplained
                ),
                "0 lost, 0 unexplained",
                a.ok(),
                true,
            );
        }
        let bursts = self
            .scenarios
            .iter()
            .filter(|s| s.events <= cairn::config::DEFAULT_MAX_QUEUE_EVENTS)
            .max_by_key(|s| s.events)
            .into_iter()
            .chain(self.enqueue.iter());
        for s in bursts {
            let call = if s.enqueue { "enqueue" } else { "track" };
            let n = thousands(s.events);
            let t = &s.client.track;
            let raw = self.limits.raw_limit_s(s.events + 1);
            push(
                format!("{call}: collector has all (N={n}) / raw limit"),
                format!(
                    "{:.2} s / {:.2} s = {:.2}×",
                    s.collected_s,
                    raw,
                    s.collected_s / raw
                ),
                "≤ 1.2×",
                s.collected_s <= COLLECTED_OVER_RAW_LIMIT * raw,
                timings,
            );
            let share = s.delivered_per_s / self.limits.sqlite_rows_per_s;
            push(
                format!("{call}: delivered end to end (N={n}) / SQLite insert rate"),
                format!(
                    "{}/s = {:.0}%",
                    thousands(s.delivered_per_s as u64),
                    share * 100.0
                ),
                "≥ 70%",
                share >= DELIVERED_SHARE_OF_SQLITE,
                timings,
            );
            let w = &s.client.waited_for_room;
            push(
                format!("{call}: longest wait for room, one call (N={n})"),
                format!(
                    "{:.2} ms ({} calls waited, {:.1} ms in all)",
                    w.longest_us as f64 / 1e3,
                    thousands(w.calls),
                    w.total_us as f64 / 1e3
                ),
                "≤ record_wait + 1 ms = 6 ms",
                w.longest_us <= ROOM_WAIT_MAX_US,
                timings,
            );
            // The whole call, the scheduler's preemptions included: reported,
            // not a budget (on 2 cores the caller shares a CPU with the
            // worker, the HTTP thread and the collector).
            push(
                format!("{call} p99.9 / max, one call (N={n})"),
                format!("{} / {:.2} ms", micros(t.p999_ns), t.max_ns as f64 / 1e6),
                REPORTED,
                true,
                false,
            );
            if s.enqueue {
                push(
                    format!("enqueue p50, complete event (N={n})"),
                    micros(t.p50_ns),
                    "≤ 0.5 µs",
                    t.p50_ns <= ENQUEUE_P50_NS,
                    timings,
                );
            }
        }
        if let Some(s) = self.scenarios.iter().max_by_key(|s| s.events) {
            let t = &s.client.track;
            let n = thousands(s.events);
            push(
                format!("track p50 (N={n})"),
                micros(t.p50_ns),
                "≤ 1 µs",
                t.p50_ns <= TRACK_P50_NS,
                timings,
            );
            push(
                format!("track p99 (N={n})"),
                micros(t.p99_ns),
                "≤ 4 µs",
                t.p99_ns <= TRACK_P99_NS,
                timings,
            );
            push(
                format!("wire bytes per event, gzip (N={n})"),
                format!("{:.1} B", s.wire_bytes_per_event),
                "≤ 40 B",
                s.wire_bytes_per_event <= WIRE_BYTES_GZIP,
                true,
            );
        }
        // Issue 15: with two destinations the recording cost per event stays
        // that of one, and each destination gets at least 80% of one's rate.
        let one = self.two_destinations.as_ref().and_then(|t| {
            self.scenarios
                .iter()
                .find(|s| s.events == t.events && !s.enqueue)
                .map(|s| (t, s))
        });
        if let Some((t, s)) = one {
            let n = thousands(t.events);
            for (i, rate) in t.delivered_per_s.iter().enumerate() {
                let share = rate / s.delivered_per_s;
                push(
                    format!(
                        "two destinations: destination {} delivered/s (N={n}) / one destination's",
                        i + 1
                    ),
                    format!(
                        "{}/s / {}/s = {:.0}%",
                        thousands(*rate as u64),
                        thousands(s.delivered_per_s as u64),
                        share * 100.0
                    ),
                    "≥ 80%",
                    share >= TWO_DESTINATIONS_RATE_SHARE,
                    timings,
                );
            }
            let (two, one) = (t.client.track.p50_ns, s.client.track.p50_ns);
            push(
                format!("two destinations: track p50 (N={n}) / one destination's"),
                format!("{} / {}", micros(two), micros(one)),
                &format!("≤ {TWO_DESTINATIONS_TRACK_RATIO}×"),
                two as f64 <= TWO_DESTINATIONS_TRACK_RATIO * one.max(1) as f64,
                timings,
            );
        }
        if let Some(b) = &self.backlog {
            push(
                format!("peak RSS, collector down (N={})", thousands(b.events)),
                format!("{:.1} MiB", b.peak_rss_kib_down as f64 / 1024.0),
                "≤ 32 MiB",
                b.peak_rss_kib_down <= BACKLOG_RSS_KIB,
                true,
            );
            let rate = b.events as f64 / b.drain_s;
            let share = rate / self.limits.post_events_per_s();
            push(
                format!(
                    "backlog drained (N={}) / loopback POST rate",
                    thousands(b.events)
                ),
                format!("{}/s = {:.0}%", thousands(rate as u64), share * 100.0),
                "≥ 50%",
                share >= DRAIN_SHARE_OF_POST,
                timings,
            );
            // Not in the drain's rate: how long the client took to find the
            // collector back is its retry policy (a random wait within a
            // window that doubles with each failure in a row), not speed.
            push(
                format!(
                    "backlog: first batch stored after the collector came back (N={})",
                    thousands(b.events)
                ),
                format!("{:.2} s", b.found_back_s),
                REPORTED,
                true,
                false,
            );
        }
        if let Some(f) = &self.faults {
            push(
                format!("faults: all delivered (N={})", thousands(f.events)),
                format!("{:.1} s", f.flushed_s),
                "≤ 30 s",
                f.flushed_s <= FAULTS_DELIVERED_S,
                timings,
            );
        }
        if let Some(c) = &self.cold {
            push(
                format!(
                    "cold start, build() to first upload ({} queued)",
                    thousands(c.queued)
                ),
                format!("{:.1} ms", c.first_upload_s * 1e3),
                "≤ 50 ms",
                c.first_upload_s <= COLD_START_S,
                timings,
            );
        }
        self.checks = checks;
    }

    /// The readable table.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let m = &self.machine;
        let _ = writeln!(
            o,
            "cairn bench ({}), cairn {}: `{}`",
            self.mode, self.version, self.command
        );
        let _ = writeln!(
            o,
            "machine: {}, {} CPUs, {} MiB, Linux {}; load average {:.2} at start, {:.2} at end; {:.0} s\n",
            m.cpu, m.cpus, m.memory_mib, m.kernel, m.load_start, m.load_end, self.elapsed_s
        );
        let l = &self.limits;
        let _ = writeln!(o, "limits of this machine, this run");
        let _ = writeln!(
            o,
            "  serde_json encode, scenario event ({:.0} B)  {:>12} events/s",
            l.event_bytes,
            thousands(l.encode_per_s as u64)
        );
        let _ = writeln!(
            o,
            "  SQLite insert, WAL, sync=NORMAL, 100/tx   {:>12} rows/s",
            thousands(l.sqlite_rows_per_s as u64)
        );
        let _ = writeln!(
            o,
            "  loopback POST, 100-event batches, ureq    {:>12} batches/s = {} events/s\n",
            thousands(l.post_per_s as u64),
            thousands(l.post_events_per_s() as u64)
        );
        let runs: Vec<&ScenarioFigures> = self
            .scenarios
            .iter()
            .chain(self.enqueue.iter())
            .chain(self.gzip_off.iter())
            .collect();
        if !runs.is_empty() {
            let _ = writeln!(
                o,
                "scenario: one caller thread, N tracks (half after identify), then flush"
            );
            let head: Vec<String> = runs
                .iter()
                .map(|s| {
                    format!(
                        "N={}{}{}",
                        thousands(s.events),
                        if s.enqueue { " enqueue" } else { "" },
                        if s.gzip { "" } else { " no gzip" }
                    )
                })
                .collect();
            row(&mut o, "", &head);
            let col = |f: &dyn Fn(&ScenarioFigures) -> String| {
                runs.iter().map(|s| f(s)).collect::<Vec<_>>()
            };
            row(
                &mut o,
                "track mean / p50 (µs)",
                &col(&|s| {
                    format!(
                        "{:.2} / {:.2}",
                        s.client.track.mean_ns / 1e3,
                        s.client.track.p50_ns as f64 / 1e3
                    )
                }),
            );
            row(
                &mut o,
                "track p99 / p99.9 (µs)",
                &col(&|s| {
                    format!(
                        "{:.2} / {:.2}",
                        s.client.track.p99_ns as f64 / 1e3,
                        s.client.track.p999_ns as f64 / 1e3
                    )
                }),
            );
            row(
                &mut o,
                "track max (ms)",
                &col(&|s| format!("{:.2}", s.client.track.max_ns as f64 / 1e6)),
            );
            row(
                &mut o,
                "calls over 100 µs, total (s)",
                &col(&|s| format!("{:.2}", s.client.track.over_100us_ms / 1e3)),
            );
            row(
                &mut o,
                "recording took (s)",
                &col(&|s| format!("{:.2}", s.client.record_s)),
            );
            row(
                &mut o,
                "all durable after (s)",
                &col(&|s| format!("{:.2}", s.client.durable_s)),
            );
            row(
                &mut o,
                "recorded durably, events/s",
                &col(&|s| thousands(((s.events + 1) as f64 / s.client.durable_s) as u64)),
            );
            row(
                &mut o,
                "  / SQLite insert rate",
                &col(&|s| {
                    format!(
                        "{:.0}%",
                        100.0 * (s.events + 1) as f64 / s.client.durable_s / l.sqlite_rows_per_s
                    )
                }),
            );
            row(
                &mut o,
                "collector has all after (s)",
                &col(&|s| format!("{:.2}", s.collected_s)),
            );
            row(
                &mut o,
                "delivered events/s",
                &col(&|s| thousands(s.delivered_per_s as u64)),
            );
            row(
                &mut o,
                "  / SQLite insert rate",
                &col(&|s| format!("{:.0}%", 100.0 * s.delivered_per_s / l.sqlite_rows_per_s)),
            );
            row(
                &mut o,
                "  / loopback POST rate",
                &col(&|s| format!("{:.0}%", 100.0 * s.delivered_per_s / l.post_events_per_s())),
            );
            row(
                &mut o,
                "CPU µs/event: caller+app",
                &col(&|s| format!("{:.2}", s.cpu_us_per_event()[0])),
            );
            row(
                &mut o,
                "  worker / gzip+http",
                &col(&|s| {
                    format!(
                        "{:.2} / {:.2}",
                        s.cpu_us_per_event()[1],
                        s.cpu_us_per_event()[2]
                    )
                }),
            );
            row(
                &mut o,
                "  collector (receiving end)",
                &col(&|s| format!("{:.2}", s.cpu_us_per_event()[3])),
            );
            row(
                &mut o,
                "peak RSS (MiB)",
                &col(&|s| format!("{:.1}", s.client.peak_rss_kib as f64 / 1024.0)),
            );
            row(&mut o, "requests", &col(&|s| thousands(s.requests)));
            row(
                &mut o,
                "wire bytes/event",
                &col(&|s| format!("{:.1}", s.wire_bytes_per_event)),
            );
            row(
                &mut o,
                "lost / dup / unexplained",
                &col(&|s| {
                    format!(
                        "{} / {} / {}",
                        s.audit.lost, s.audit.duplicates, s.audit.unexplained
                    )
                }),
            );
            o.push('\n');
        }
        if let Some(t) = &self.two_destinations {
            let _ = writeln!(
                o,
                "two destinations from one buffer (N={}): collected in {:.2} s and {:.2} s = {} and {} events/s; track p50 {}, p99 {}",
                thousands(t.events),
                t.collected_s[0],
                t.collected_s[1],
                thousands(t.delivered_per_s[0] as u64),
                thousands(t.delivered_per_s[1] as u64),
                micros(t.client.track.p50_ns),
                micros(t.client.track.p99_ns)
            );
            let [caller, worker, upload, collectors] = t.cpu_us_per_event();
            let _ = writeln!(
                o,
                "  CPU µs an event: caller {caller:.2}, worker {worker:.2}, compressors and HTTP {upload:.2}, both collectors {collectors:.2}\n"
            );
        }
        if let Some(b) = &self.backlog {
            let _ = writeln!(
                o,
                "backlog: collector down while N={} are recorded, then back",
                thousands(b.events)
            );
            let _ = writeln!(
                o,
                "  peak RSS while down {:.1} MiB; buffer file {:.1} MiB; all durable after {:.2} s",
                b.peak_rss_kib_down as f64 / 1024.0,
                b.file_bytes as f64 / 1048576.0,
                b.durable_s
            );
            let _ = writeln!(
                o,
                "  first batch stored {:.2} s after the collector came back (the rest of the retry wait); drained {:.2} s from then ({}/s); peak RSS overall {:.1} MiB",
                b.found_back_s,
                b.drain_s,
                thousands((b.events as f64 / b.drain_s) as u64),
                b.client.peak_rss_kib as f64 / 1024.0
            );
            let t = &b.client.track;
            let _ = writeln!(
                o,
                "  track with no receiver competing for the CPU: p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} ms",
                t.p50_ns as f64 / 1e3,
                t.p99_ns as f64 / 1e3,
                t.p999_ns as f64 / 1e3,
                t.max_ns as f64 / 1e6
            );
            let _ = writeln!(
                o,
                "  lost {} / duplicates {} / unexplained {}\n",
                b.audit.lost, b.audit.duplicates, b.audit.unexplained
            );
        }
        if let Some(c) = &self.cold {
            let _ = writeln!(
                o,
                "cold start: {} events queued by an earlier run",
                thousands(c.queued)
            );
            let _ = writeln!(o, "  build() {:.1} ms; first upload {:.1} ms after build() began; all delivered after {:.2} s", c.build_s * 1e3, c.first_upload_s * 1e3, c.drained_s);
            let _ = writeln!(
                o,
                "  lost {} / duplicates {} / unexplained {}\n",
                c.audit.lost, c.audit.duplicates, c.audit.unexplained
            );
        }
        if let Some(f) = &self.faults {
            let _ = writeln!(o, "faults: N={}, collector answering 30% 500, 10% 429 + Retry-After, 5% stored unanswered, 5% dropped", thousands(f.events));
            let _ = writeln!(o, "  {} requests: {} × 500, {} × 429, {} stored unanswered, {} dropped; client retried {}", f.requests, f.status_500, f.status_429, f.stored_unanswered, f.dropped_connections, f.client.retries);
            let _ = writeln!(
                o,
                "  all delivered after {:.2} s; lost {} / duplicates {} / unexplained {}\n",
                f.flushed_s, f.audit.lost, f.audit.duplicates, f.audit.unexplained
            );
        }
        let _ = writeln!(o, "budgets");
        for c in &self.checks {
            let reported = c.budget == REPORTED;
            let mark = match (c.passed, c.enforced) {
                _ if reported => "    ",
                (true, _) => "ok  ",
                (false, true) => "FAIL",
                (false, false) => "miss",
            };
            let note = if c.enforced || reported {
                ""
            } else {
                "  (timing: reported, not enforced in a short run)"
            };
            let _ = writeln!(
                o,
                "  {mark} {:<58} {:>26}   budget {}{note}",
                c.name, c.measured, c.budget
            );
        }
        o
    }
}

fn row(o: &mut String, label: &str, cells: &[String]) {
    let _ = write!(o, "  {label:<30}");
    for c in cells {
        let _ = write!(o, "{c:>20}");
    }
    o.push('\n');
}

fn micros(ns: u64) -> String {
    format!("{:.2} µs", ns as f64 / 1e3)
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_000), "1,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
