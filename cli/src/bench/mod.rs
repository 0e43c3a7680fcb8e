//! `cairn bench`: cairn end to end against this machine's own limits.
//!
//! One run measures, in order: the machine's limits ([`limits`]); the
//! scenario (one caller thread records N events, then flushes) at each size;
//! the same with gzip off; a backlog recorded while the collector is down and
//! drained when it comes back; a cold start on a file holding 100,000 queued
//! events; and a collector injecting faults. Every client runs in a child
//! process of its own ([`child`]) so its peak memory is its own. The run ends
//! with a readable table, the path of the JSON file holding every figure
//! ([`default_json_path`], or `--json-out`), and `bench: N passed, M
//! failed`; the exit code is non-zero when an enforced budget is missed.
//!
//! This module decides the plan (sizes and client settings per phase, what a
//! short run leaves out); [`phases`] runs each phase and [`report`] holds
//! the budgets. See `docs/performance.md` for the figures and what they mean.

pub mod audit;
pub mod child;
pub mod cpu;
pub mod latency;
pub mod limits;
pub mod machine;
pub mod phases;
pub mod report;
pub mod rss;
pub mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use child::Tuning;
use report::{Report, Tunings};

use crate::collector::{Collector, CollectorConfig, Retain};

/// The phases a run can be limited to (`--only`).
pub const PHASES: [&str; 7] = [
    "scenario",
    "enqueue",
    "gzip-off",
    "two-destinations",
    "backlog",
    "cold",
    "faults",
];

/// Arguments of `cairn bench`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BenchArgs {
    /// The test suite's version: N = 100,000 in every phase; fails on lost or
    /// unexplained duplicate events and on the memory and wire budgets, and
    /// reports timing budgets without failing on them.
    #[arg(long)]
    pub short: bool,
    /// Scenario sizes, comma-separated (default 100000,1000000; short: 100000).
    #[arg(long, value_delimiter = ',', value_name = "N,...")]
    pub events: Option<Vec<u64>>,
    /// Events recorded with the collector down (default 1000000; short: 100000).
    #[arg(long, value_name = "N")]
    pub backlog: Option<u64>,
    /// Run only these phases (scenario, enqueue, gzip-off, two-destinations,
    /// backlog, cold, faults).
    #[arg(long, value_delimiter = ',', value_name = "PHASE,...")]
    pub only: Option<Vec<String>>,
    /// Write every figure as one JSON line to FILE (`-`: standard output).
    /// Default: bench/last.json in the cargo target directory the binary
    /// was built in (target/bench/last.json), or cairn-bench.json in the
    /// current directory for a binary elsewhere.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Internal: run one phase's client in this process (JSON spec).
    #[arg(long, hide = true, value_name = "SPEC")]
    pub child: Option<String>,
}

/// The scenario's client: cairn's defaults, every one of them (issue 14:
/// the figures a user gets are the ones that count).
pub const SCENARIO: Tuning = Tuning {
    gzip: cairn::config::DEFAULT_GZIP,
    flush_at: cairn::config::DEFAULT_FLUSH_AT,
    max_batch_events: cairn::config::DEFAULT_MAX_BATCH_EVENTS,
    max_batch_bytes: cairn::config::DEFAULT_MAX_BATCH_BYTES,
    retry_base_ms: cairn::config::DEFAULT_RETRY_BASE_DELAY.as_millis() as u64,
    max_retry_ms: cairn::config::DEFAULT_MAX_RETRY_DELAY.as_millis() as u64,
    max_queue_events: cairn::config::DEFAULT_MAX_QUEUE_EVENTS,
    max_queue_bytes: cairn::config::DEFAULT_MAX_QUEUE_BYTES,
};

/// Backlog: the defaults but for the queue caps, raised to hold the
/// backlog (a million events by default): the default caps keep 100,000
/// events / 64 MiB and drop the oldest beyond as `overflow`, which is right
/// for a device but is not the drain this phase measures.
pub const BACKLOG: Tuning = Tuning {
    max_queue_events: 10_000_000,
    max_queue_bytes: 8 << 30,
    ..SCENARIO
};

/// Faults: the defaults, with the server's own `Retry-After`.
pub const FAULTS: Tuning = SCENARIO;

/// Events recorded in the fault phase: 20,000, as issue 14 states the budget.
pub const FAULT_EVENTS: u64 = 20_000;

/// The scenario's tuning for `n` events: the defaults, with the queue caps
/// of [`BACKLOG`] when `n` is more than the default cap holds (the defaults
/// would drop the oldest as `overflow` while a fast burst outruns the
/// collector).
pub fn scenario_tuning(n: u64) -> Tuning {
    if n > cairn::config::DEFAULT_MAX_QUEUE_EVENTS {
        BACKLOG
    } else {
        SCENARIO
    }
}

/// Runs `cairn bench` (or, with `--child`, one phase's client).
pub fn main(args: BenchArgs) -> ExitCode {
    if let Some(spec) = &args.child {
        return match serde_json::from_str::<child::Spec>(spec) {
            Ok(spec) => child::run(&spec),
            Err(e) => {
                eprintln!("error: bad --child spec: {e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(code) = collector_allocator() {
        return code;
    }
    if let Some(bad) = args
        .only
        .iter()
        .flatten()
        .find(|p| !PHASES.contains(&p.as_str()))
    {
        eprintln!(
            "error: unknown phase `{bad}` in --only: use {}",
            PHASES.join(", ")
        );
        return ExitCode::from(2);
    }
    let json_out = args.json_out.clone().unwrap_or_else(default_json_path);
    let result = run(&args);
    finish(result, &json_out, &mut std::io::stdout().lock())
}

/// Where the JSON goes without `--json-out`: `bench/last.json` in the cargo
/// target directory the running binary was built in (its profile
/// directory's parent, which holds cargo's `CACHEDIR.TAG`), else
/// `cairn-bench.json` in the current directory.
pub fn default_json_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let target = exe.parent()?.parent()?;
            target
                .join("CACHEDIR.TAG")
                .is_file()
                .then(|| target.join("bench").join("last.json"))
        })
        .unwrap_or_else(|| PathBuf::from("cairn-bench.json"))
}

/// Shows a run's outcome on `out`: the table, where the JSON went (the
/// JSON itself only when `json_out` is `-`: it is some 6 KB on one line,
/// too much for a test log) and the closing `bench: N passed, M failed`.
pub fn finish(
    result: Result<Report, String>,
    json_out: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> ExitCode {
    // What cannot be written to standard output has nowhere else to go.
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            let _ = writeln!(out, "bench: 0 passed, 1 failed");
            return ExitCode::from(2);
        }
    };
    let _ = write!(out, "{}", report.table());
    let json = serde_json::to_string(&report).unwrap_or_default();
    if json_out.as_os_str() == "-" {
        let _ = writeln!(out, "{json}");
    } else {
        let written = json_out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(json_out, format!("{json}\n")));
        match written {
            Ok(()) => {
                let _ = writeln!(out, "bench: every figure as JSON in {}", json_out.display());
            }
            Err(e) => eprintln!("error: cannot write {}: {e}", json_out.display()),
        }
    }
    let (passed, failed) = report.verdict();
    let _ = writeln!(out, "bench: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Set in the bench's own environment when it re-executed itself with one malloc arena for its collector.
pub const REEXEC_MARK: &str = "CAIRN_BENCH_ARENAS";

/// The collector keeps every event it receives, from a thread per
/// connection; glibc gives each such thread a heap of its own that grows a
/// page range at a time (an `mprotect` each), which took two thirds of the
/// collector's time here. One shared heap (`MALLOC_ARENA_MAX=1`) makes the
/// collector about three times faster, so the bench re-executes itself with
/// it; the clients under test run with the environment the bench was given.
/// `None` when this process is already set up (or cannot re-execute).
fn collector_allocator() -> Option<ExitCode> {
    if std::env::var_os(REEXEC_MARK).is_some() || std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let status = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "1")
        .env(REEXEC_MARK, "1")
        .status()
        .ok()?;
    Some(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::from(1),
    })
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cairn {}", args.join(" "))
}

/// Runs every phase the arguments ask for and judges the budgets.
pub fn run(args: &BenchArgs) -> Result<Report, String> {
    let started = Instant::now();
    let short = args.short;
    let sizes = args.events.clone().unwrap_or_else(|| {
        if short {
            vec![100_000]
        } else {
            vec![100_000, 1_000_000]
        }
    });
    let backlog_n = args
        .backlog
        .unwrap_or(if short { 100_000 } else { 1_000_000 });
    let wants = |phase: &str| {
        args.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|p| p == phase))
    };
    let timeout = Duration::from_secs(if short { 150 } else { 900 });
    let dir = tempfile::Builder::new()
        .prefix("cairn-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    // Digests only: a collector that kept millions of parsed events would
    // measure itself, not cairn (see docs/performance.md).
    let config = CollectorConfig {
        retain: Retain::Digests,
        ..CollectorConfig::default()
    };
    let collector =
        Collector::start(config).map_err(|e| format!("cannot start the collector: {e}"))?;
    let machine = machine::Machine::read();

    eprintln!("bench: measuring this machine's limits");
    let amounts = if short {
        limits::Sizes {
            encode: 100_000,
            sqlite: 100_000,
            posts: 100,
        }
    } else {
        limits::Sizes {
            encode: 300_000,
            sqlite: 300_000,
            posts: 300,
        }
    };
    let limits = limits::measure(dir.path(), &collector, amounts)?;

    let mut report = new_report(
        if short { "short" } else { "full" },
        command_line(),
        machine,
        limits,
    );
    let mut errors = Vec::new();
    if wants("scenario") {
        for &n in &sizes {
            eprintln!("bench: scenario, N = {n}");
            match phases::scenario(
                &collector,
                dir.path(),
                n,
                scenario_tuning(n),
                timeout,
                false,
            ) {
                Ok(f) => report.scenarios.push(f),
                Err(e) => errors.push(failed(&format!("scenario N={n}"), e)),
            }
        }
    }
    if wants("enqueue") {
        let n = sizes.iter().copied().min().unwrap_or(100_000);
        eprintln!("bench: scenario with enqueue, per-event identity, N = {n}");
        match phases::scenario(&collector, dir.path(), n, scenario_tuning(n), timeout, true) {
            Ok(f) => report.enqueue = Some(f),
            Err(e) => errors.push(failed("scenario with enqueue", e)),
        }
    }
    if wants("gzip-off") {
        let n = sizes.iter().copied().min().unwrap_or(100_000);
        eprintln!("bench: scenario with gzip off, N = {n}");
        match phases::scenario(
            &collector,
            dir.path(),
            n,
            Tuning {
                gzip: false,
                ..SCENARIO
            },
            timeout,
            false,
        ) {
            Ok(f) => report.gzip_off = Some(f),
            Err(e) => errors.push(failed("scenario gzip off", e)),
        }
    }
    if wants("two-destinations") {
        let n = sizes.iter().copied().min().unwrap_or(100_000);
        eprintln!("bench: scenario with two destinations, N = {n}");
        let second = Collector::start(CollectorConfig {
            retain: Retain::Digests,
            ..CollectorConfig::default()
        })
        .map_err(|e| format!("cannot start the second collector: {e}"))?;
        match phases::two_destinations(
            &collector,
            &second,
            dir.path(),
            n,
            scenario_tuning(n),
            timeout,
        ) {
            Ok(f) => report.two_destinations = Some(f),
            Err(e) => errors.push(failed("scenario with two destinations", e)),
        }
    }
    if wants("backlog") {
        eprintln!("bench: backlog, N = {backlog_n}, collector down");
        match phases::backlog(&collector, dir.path(), backlog_n, BACKLOG, timeout) {
            Ok(f) => report.backlog = Some(f),
            Err(e) => errors.push(failed("backlog", e)),
        }
    }
    if wants("cold") {
        eprintln!("bench: cold start, 100,000 queued");
        match phases::cold_start(
            &collector,
            dir.path(),
            100_000,
            scenario_tuning(100_001),
            timeout,
        ) {
            Ok(f) => report.cold = Some(f),
            Err(e) => errors.push(failed("cold start", e)),
        }
    }
    if wants("faults") {
        let n = FAULT_EVENTS;
        eprintln!("bench: faults, N = {n}");
        match phases::faults(&collector, dir.path(), n, FAULTS, timeout) {
            Ok(f) => report.faults = Some(f),
            Err(e) => errors.push(failed("faults", e)),
        }
    }
    report.errors = errors;
    report.machine.load_end = machine::load();
    report.elapsed_s = started.elapsed().as_secs_f64();
    report.judge(!short);
    Ok(report)
}

/// Says a phase failed and keeps the reason for the report.
fn failed(what: &str, e: String) -> String {
    eprintln!("bench: {what} failed: {e}");
    format!("{what}: {e}")
}

/// A report of this run's settings with no figure yet: the phases fill it in.
fn new_report(
    mode: &'static str,
    command: String,
    machine: machine::Machine,
    limits: limits::Limits,
) -> Report {
    Report {
        mode,
        command,
        version: cairn::VERSION,
        machine,
        limits,
        tunings: Tunings {
            scenario: SCENARIO,
            backlog: BACKLOG,
            faults: FAULTS,
        },
        scenarios: Vec::new(),
        enqueue: None,
        gzip_off: None,
        two_destinations: None,
        backlog: None,
        cold: None,
        faults: None,
        errors: Vec::new(),
        checks: Vec::new(),
        elapsed_s: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut r = new_report(
            "short",
            "cairn bench --short".into(),
            machine::Machine::default(),
            limits::Limits::default(),
        );
        r.errors = vec!["cold start: no collector".into()];
        r.elapsed_s = 1.0;
        r.judge(false);
        r
    }

    #[test]
    fn the_json_goes_to_its_file_and_the_log_keeps_the_table_and_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench").join("last.json");
        let mut out = Vec::new();
        let code = finish(Ok(report()), &path, &mut out);
        assert_eq!(code, ExitCode::from(1));
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("\"tunings\""), "no JSON in the log: {out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.last(), Some(&"bench: 0 passed, 1 failed"), "{out}");
        assert!(
            out.contains(&format!(
                "bench: every figure as JSON in {}",
                path.display()
            )),
            "{out}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["mode"], "short");
        assert_eq!(json["errors"][0], "cold start: no collector");

        // `-` asks for it on standard output, for a script.
        let mut out = Vec::new();
        finish(Ok(report()), std::path::Path::new("-"), &mut out);
        assert!(String::from_utf8(out).unwrap().contains("\"tunings\""));
    }

    #[test]
    fn a_run_that_could_not_start_still_closes_with_its_verdict() {
        let mut out = Vec::new();
        let code = finish(
            Err("cannot start the collector".into()),
            std::path::Path::new("unused.json"),
            &mut out,
        );
        assert_eq!(code, ExitCode::from(2));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "bench: 0 passed, 1 failed\n"
        );
    }
}
