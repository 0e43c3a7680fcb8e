//! The client side of every end-to-end phase, run in a process of its own
//! (the bench binary re-executes itself with `bench --child <spec>`), so its
//! peak memory is the client's alone: the collector, the limits and the
//! audit stay in the parent.
//!
//! This module decides what the child does and says: it builds a
//! `cairn::Client` with the phase's tuning, records the scenario on one
//! thread timing every `track`, waits for durability and delivery, and
//! reports each milestone as one JSON line on standard output (wall-clock
//! microseconds, so the parent can line them up with what its collector
//! saw). [`spawn`] is the parent's half: it starts a child and hands over
//! its messages as they arrive.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::cpu::{self, ThreadCpu};
use super::latency::{Latency, Summary};
use super::{rss, workload};

/// The client settings a phase runs with (everything else is cairn's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuning {
    /// `gzip`.
    pub gzip: bool,
    /// `flush_at`.
    pub flush_at: usize,
    /// `max_batch_events`.
    pub max_batch_events: usize,
    /// `max_batch_bytes`.
    pub max_batch_bytes: usize,
    /// `retry_base_delay`, in ms.
    pub retry_base_ms: u64,
    /// `max_retry_delay`, in ms.
    pub max_retry_ms: u64,
    /// `max_queue_events`.
    pub max_queue_events: u64,
    /// `max_queue_bytes`.
    pub max_queue_bytes: u64,
}

/// What a child process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Record the scenario, commit, and (if `deliver`) flush until delivered;
    /// otherwise stop at once, leaving the events queued in the file.
    Record {
        /// Wait for delivery before exiting.
        deliver: bool,
    },
    /// Build a client on a file that already holds a backlog and wait until
    /// it is delivered (cold start).
    Drain,
}

/// Everything a child needs, passed as JSON on its command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// What to do.
    pub phase: Phase,
    /// The collector's base URL.
    pub endpoint: String,
    /// The buffer file.
    pub storage: PathBuf,
    /// Events to record (the `identify` comes on top, halfway).
    pub events: u64,
    /// Client settings.
    pub tuning: Tuning,
    /// How long flush and commit may wait, in seconds.
    pub timeout_s: u64,
    /// Record complete events with `enqueue`, each with its own user id
    /// (the backend path), instead of `track`.
    #[serde(default)]
    pub enqueue: bool,
    /// A second destination's base URL (Segment's format, named `second`):
    /// the same events delivered to both from one buffer.
    #[serde(default)]
    pub second_endpoint: Option<String>,
}

/// What a child reports at the end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Latency of each `track` on the caller's thread.
    pub track: Summary,
    /// Latency of the one `identify`, ns.
    pub identify_ns: u64,
    /// Calls that returned an error (none expected).
    pub call_errors: u64,
    /// Seconds from the first call to the last call's return.
    pub record_s: f64,
    /// Seconds from the first call until `commit()` said all are on disk.
    pub durable_s: f64,
    /// Seconds from the first call (or from `build()`, for a drain) until
    /// `flush()` said all are delivered.
    pub flushed_s: f64,
    /// Seconds `build()` took.
    pub build_s: f64,
    /// Events the client says were acknowledged.
    pub delivered: u64,
    /// Events still queued at the end.
    pub remaining: u64,
    /// Requests the client made (`stats().requests`).
    pub requests: u64,
    /// Failed attempts it retried.
    pub retries: u64,
    /// Events it dropped, any reason.
    pub dropped: u64,
    /// Peak resident set of the child, KiB, when every event was on disk.
    pub peak_rss_kib_durable: u64,
    /// Peak resident set of the child at the end, KiB.
    pub peak_rss_kib: u64,
    /// Buffer file size (with WAL) when every event was on disk.
    pub file_bytes_durable: u64,
    /// CPU time of each thread of the child at the end (the caller is the
    /// main thread, named after the program).
    pub threads: Vec<ThreadCpu>,
    /// How long event calls waited for room (`stats().waited_for_room`).
    #[serde(default)]
    pub waited_for_room: cairn::RoomWaits,
}

impl Outcome {
    /// CPU seconds of the threads whose name is `name`.
    pub fn cpu_s(&self, name: &str) -> f64 {
        self.threads
            .iter()
            .filter(|t| t.name == name)
            .map(|t| t.cpu_s)
            .sum()
    }

    /// CPU seconds of the caller's (main) thread: every thread not cairn's own
    /// (named exactly, so a binary renamed `cairn-…` still counts its main
    /// thread, which takes the program's name).
    pub fn caller_cpu_s(&self) -> f64 {
        self.threads
            .iter()
            .filter(|t| !["cairn-worker", "cairn-http", "cairn-gzip"].contains(&t.name.as_str()))
            .map(|t| t.cpu_s)
            .sum()
    }
}

/// One line a child writes on standard output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// The first call is about to be made.
    Started {
        /// Wall clock, µs since the epoch.
        wall_us: u64,
    },
    /// `commit()` returned: every call is on disk.
    Durable {
        /// Wall clock, µs since the epoch.
        wall_us: u64,
        /// Peak resident set so far, KiB.
        peak_rss_kib: u64,
    },
    /// `build()` is about to be called.
    Building {
        /// Wall clock, µs since the epoch.
        wall_us: u64,
    },
    /// The phase is over.
    Done(Box<Outcome>),
    /// The phase could not run.
    Failed {
        /// Why.
        error: String,
    },
}

/// Wall-clock microseconds since the epoch: comparable across processes.
pub fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn say(message: &Message) {
    // Serializing plain structs and numbers cannot fail.
    let line = serde_json::to_string(message).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    // The parent reading our output is gone if this fails: nothing to report to.
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

/// Runs `spec` in this (child) process; the exit code says whether it ran.
pub fn run(spec: &Spec) -> std::process::ExitCode {
    let result = match spec.phase {
        Phase::Record { deliver } => record(spec, deliver),
        Phase::Drain => drain(spec),
    };
    match result {
        Ok(outcome) => {
            say(&Message::Done(Box::new(outcome)));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            say(&Message::Failed {
                error: e.to_string(),
            });
            std::process::ExitCode::from(2)
        }
    }
}

fn builder(spec: &Spec) -> cairn::ClientBuilder {
    let t = &spec.tuning;
    let mut builder = cairn::Client::builder("bench-write-key");
    if let Some(second) = &spec.second_endpoint {
        builder = builder.add_destination(cairn::Destination::new(
            "second",
            cairn::DestinationKind::Segment,
            second.clone(),
            "bench-write-key",
        ));
    }
    builder
        .endpoint(spec.endpoint.clone())
        .storage_path(&spec.storage)
        .gzip(t.gzip)
        .flush_at(t.flush_at)
        .max_batch_events(t.max_batch_events)
        .max_batch_bytes(t.max_batch_bytes)
        .retry_base_delay(Duration::from_millis(t.retry_base_ms))
        .max_retry_delay(Duration::from_millis(t.max_retry_ms))
        .max_queue_events(t.max_queue_events)
        .max_queue_bytes(t.max_queue_bytes)
}

fn record(spec: &Spec, deliver: bool) -> Result<Outcome, Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(spec.timeout_s);
    let build_start = Instant::now();
    let client = builder(spec).build()?;
    let mut out = Outcome {
        build_s: build_start.elapsed().as_secs_f64(),
        ..Outcome::default()
    };
    let mut latency = Latency::new()?;
    let half = spec.events / 2;
    say(&Message::Started { wall_us: wall_us() });
    let t0 = Instant::now();
    for i in 0..spec.events {
        if i == half {
            let t = Instant::now();
            if client
                .identify(workload::USER_ID, workload::traits())
                .is_err()
            {
                out.call_errors += 1;
            }
            out.identify_ns = t.elapsed().as_nanos() as u64;
        }
        // The app builds its properties (or its event) before the call;
        // only the call is timed.
        let properties = workload::properties(i);
        let name = workload::name(i);
        let r = if spec.enqueue {
            let event = workload::complete_event(i, name, properties);
            let t = Instant::now();
            let r = client.enqueue(&event);
            latency.record(t.elapsed().as_nanos() as u64);
            r
        } else {
            let t = Instant::now();
            let r = client.track(name, properties);
            latency.record(t.elapsed().as_nanos() as u64);
            r
        };
        if r.is_err() {
            out.call_errors += 1;
        }
    }
    out.record_s = t0.elapsed().as_secs_f64();
    out.track = latency.summary();
    client.commit(timeout)?;
    out.durable_s = t0.elapsed().as_secs_f64();
    out.peak_rss_kib_durable = rss::peak_kib();
    out.file_bytes_durable = rss::buffer_file_bytes(&spec.storage);
    say(&Message::Durable {
        wall_us: wall_us(),
        peak_rss_kib: out.peak_rss_kib_durable,
    });
    if deliver {
        let report = client.flush(timeout)?;
        out.flushed_s = t0.elapsed().as_secs_f64();
        out.remaining = report.remaining;
    }
    finish(&client, &mut out);
    if !deliver {
        out.remaining = client.stats().queued_events;
    }
    // Stop without waiting: what is queued stays in the file (the cold start's backlog).
    client.shutdown(Duration::ZERO)?;
    out.peak_rss_kib = rss::peak_kib();
    Ok(out)
}

fn drain(spec: &Spec) -> Result<Outcome, Box<dyn std::error::Error>> {
    let timeout = Duration::from_secs(spec.timeout_s);
    say(&Message::Building { wall_us: wall_us() });
    let t0 = Instant::now();
    let client = builder(spec).build()?;
    let mut out = Outcome {
        build_s: t0.elapsed().as_secs_f64(),
        ..Outcome::default()
    };
    let report = client.flush(timeout)?;
    out.flushed_s = t0.elapsed().as_secs_f64();
    out.remaining = report.remaining;
    finish(&client, &mut out);
    client.shutdown(Duration::ZERO)?;
    out.peak_rss_kib = rss::peak_kib();
    Ok(out)
}

fn finish(client: &cairn::Client, out: &mut Outcome) {
    out.threads = cpu::threads();
    let stats = client.stats();
    out.delivered = stats.delivered_events;
    out.requests = stats.requests;
    out.retries = stats.retries;
    out.dropped = stats.dropped.total();
    out.waited_for_room = stats.waited_for_room;
}

/// A running child, as the parent sees it.
pub struct Running {
    process: std::process::Child,
    messages: Receiver<(Message, Instant)>,
    /// The final message, once [`finished`](Running::finished) has seen it.
    done: std::cell::RefCell<Option<Outcome>>,
}

/// Starts `bench --child <spec>` from this same executable.
pub fn spawn(spec: &Spec) -> std::io::Result<Running> {
    let exe = std::env::current_exe()?;
    let json = serde_json::to_string(spec).map_err(std::io::Error::other)?;
    let mut command = Command::new(exe);
    if std::env::var_os(super::REEXEC_MARK).is_some() {
        // Set for the collector's sake only: the client runs as it was given.
        command
            .env_remove("MALLOC_ARENA_MAX")
            .env_remove(super::REEXEC_MARK);
    }
    let mut process = command
        .args(["bench", "--child", &json])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = process
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("child has no stdout"))?;
    let (tx, messages) = mpsc::channel();
    std::thread::Builder::new()
        .name("bench-child-out".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let message = serde_json::from_str(&line).unwrap_or_else(|e| Message::Failed {
                    error: format!("unreadable line from the child ({e}): {line}"),
                });
                if tx.send((message, Instant::now())).is_err() {
                    return;
                }
            }
        })?;
    Ok(Running {
        process,
        messages,
        done: std::cell::RefCell::new(None),
    })
}

impl Running {
    /// The next message, with the instant it arrived; an error if the child
    /// said nothing for `timeout` or exited.
    pub fn next(&self, timeout: Duration) -> Result<(Message, Instant), String> {
        match self.messages.recv_timeout(timeout) {
            Ok((Message::Failed { error }, _)) => Err(format!("the bench child failed: {error}")),
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("the bench child said nothing for {timeout:?}"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err("the bench child exited without finishing".into())
            }
        }
    }

    /// The child's final report if it has arrived, without waiting (other
    /// messages read meanwhile are passed over).
    pub fn finished(&self) -> Option<Outcome> {
        if let Some(o) = self.done.borrow().as_ref() {
            return Some(o.clone());
        }
        while let Ok((message, _)) = self.messages.try_recv() {
            if let Message::Done(o) = message {
                *self.done.borrow_mut() = Some((*o).clone());
                return Some(*o);
            }
        }
        None
    }

    /// Reads messages until the final one and waits for the process to exit.
    pub fn outcome(mut self, timeout: Duration) -> Result<Outcome, String> {
        if let Some(o) = self.done.get_mut().take() {
            // The child has said everything; its exit status adds nothing.
            let _ = self.process.wait();
            return Ok(o);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Ok((Message::Done(outcome), _)) => {
                    // The child has said everything; its exit status adds nothing.
                    let _ = self.process.wait();
                    return Ok(*outcome);
                }
                Ok(_) => continue,
                Err(e) => {
                    // Do not leave a stuck child behind.
                    let _ = self.process.kill();
                    let _ = self.process.wait();
                    return Err(e);
                }
            }
        }
    }

    /// Stops the child (used when the parent gives up on a phase).
    pub fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
