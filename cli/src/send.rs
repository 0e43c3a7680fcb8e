//! `cairn send`: sends NDJSON events through the SDK, for backfills and
//! scripts.
//!
//! Each line is a complete Segment-spec event, recorded with
//! `Client::enqueue` (its own ids, `messageId` and `timestamp` are kept), so a
//! re-run of the same file is deduplicated by the backend. Delivery, retries
//! and drops are the SDK's; this module reads lines, shows progress and sums
//! up.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cairn::DropCounts;

/// How old an event `cairn send` still sends: 10 years (the SDK's default,
/// 30 days, is for live events).
pub const BACKFILL_MAX_EVENT_AGE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// What `cairn send` was asked to do.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Backend base URL.
    pub endpoint: String,
    /// Write key.
    pub write_key: String,
    /// The buffer file; a temporary one when `None`.
    pub storage: Option<PathBuf>,
    /// How long to wait for delivery at the end.
    pub timeout: Duration,
}

/// How a send went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendSummary {
    /// Lines read (blank ones skipped).
    pub lines: u64,
    /// Lines refused before recording, with their line numbers (first 10).
    pub refused: Vec<(u64, String)>,
    /// Events the backend acknowledged.
    pub delivered: u64,
    /// Upload attempts that failed and were retried.
    pub retried: u64,
    /// Drops by reason, as the SDK counted them.
    pub dropped: DropCounts,
    /// Events still queued at the end (kept in the buffer file if one was given).
    pub remaining: u64,
}

impl SendSummary {
    /// True when every line was delivered.
    pub fn all_delivered(&self) -> bool {
        self.remaining == 0 && self.dropped.total() == 0 && self.refused.is_empty()
    }

    /// The closing report.
    pub fn render(&self) -> String {
        let d = &self.dropped;
        let mut s = format!(
            "sent {} of {} events · {} retried requests · dropped: invalid {}, oversize {}, overflow {}, expired {}, rejected {}, consent {} · still queued {}",
            self.delivered, self.lines, self.retried, d.invalid, d.oversize, d.overflow, d.expired, d.rejected, d.consent, self.remaining
        );
        for (line, why) in &self.refused {
            s.push_str(&format!("\n  line {line}: {why}"));
        }
        s
    }
}

/// Sends every line of `input` and waits for delivery.
pub fn run(options: &SendOptions, input: impl BufRead) -> Result<SendSummary, String> {
    let temp = match &options.storage {
        Some(_) => None,
        None => Some(
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?,
        ),
    };
    let path = match (&options.storage, &temp) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => t.path().join("send.db"),
        (None, None) => unreachable!("one of the two is set above"),
    };
    let client = cairn::Client::builder(&options.write_key)
        .endpoint(&options.endpoint)
        .storage_path(&path)
        .flush_at(100)
        .flush_interval(Duration::from_millis(200))
        // A backfill carries old timestamps on purpose: do not expire them.
        .max_event_age(BACKFILL_MAX_EVENT_AGE)
        .build()
        .map_err(|e| e.to_string())?;
    let mut summary = SendSummary::default();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        if let Err(e) = client.enqueue_json(&line) {
            if summary.refused.len() < 10 {
                summary.refused.push((i as u64 + 1, e.to_string()));
            }
        }
        if let Some(bar) = &bar {
            if summary.lines % 500 == 0 {
                let s = client.stats();
                bar.set_message(format!(
                    "{} read, {} delivered, {} queued",
                    summary.lines, s.delivered_events, s.queued_events
                ));
                bar.tick();
            }
        }
    }
    let deadline = Instant::now() + options.timeout;
    loop {
        let report = client
            .flush(Duration::from_millis(500))
            .map_err(|e| e.to_string())?;
        let s = client.stats();
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} read, {} delivered, {} queued",
                summary.lines, s.delivered_events, s.queued_events
            ));
            bar.tick();
        }
        if report.remaining == 0 || Instant::now() >= deadline || s.auth_failed {
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = client
        .shutdown(Duration::from_millis(200))
        .map_err(|e| e.to_string())?;
    let s = client.stats();
    summary.delivered = s.delivered_events;
    summary.retried = s.retries;
    summary.dropped = s.dropped;
    summary.remaining = report.remaining.max(s.queued_events);
    Ok(summary)
}
