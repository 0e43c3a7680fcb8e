//! `cairn send`: sends NDJSON events through the SDK, for backfills and
//! scripts.
//!
//! Each line is a complete Segment-spec event, recorded with
//! `Client::enqueue`: its own ids, `messageId` and `timestamp` are kept, and
//! a line without a `messageId` gets one derived from the input and the line
//! ([`line_id`]), so a re-run names every event the same and the backend can
//! drop copies. With `--storage` the buffer outlives the command and
//! [`resume`] notes how far the input went, so running an interrupted send
//! again takes each line once. Delivery, retries and drops are the SDK's;
//! this module reads lines, shows progress and sums up, saying why events did
//! not go out in `cairn inspect`'s words.

pub mod line_id;
pub mod resume;

use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cairn::DropCounts;
use serde_json::Value;

use line_id::{LineIds, Source};
use resume::{Digest, Progress};

/// How old an event `cairn send` still sends: 10 years (the SDK's default,
/// 30 days, is for live events).
pub const BACKFILL_MAX_EVENT_AGE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Most lines handed to the client between two notes of progress: as many
/// as the client's `flush_at`, so a batch of lines not yet noted is rarely
/// on the wire. A note is also taken whenever the input has no more bytes
/// read ahead (before a read that may wait on a slow pipe).
pub const CHECKPOINT_LINES: u64 = 100;

/// Bytes of input read ahead.
const READ_AHEAD: usize = 64 * 1024;

/// How long one commit of the buffer may take before the send gives up.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a send could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No temporary directory for the buffer.
    #[error(
        "cannot create a temporary directory for the buffer: {0}; give one with --storage FILE"
    )]
    TempDir(std::io::Error),
    /// The input could not be read.
    #[error("cannot read line {line} of the input: {source}")]
    Read {
        /// The line being read (1-based).
        line: u64,
        /// What the system said.
        source: std::io::Error,
    },
    /// The client could not be built, commit or flush.
    #[error(transparent)]
    Client(#[from] cairn::Error),
    /// The progress file could not be read or written.
    #[error(
        "cannot use the progress file {0}: {1}; delete it to send the input from its first line"
    )]
    Progress(PathBuf, String),
    /// A progress file is there, for another input.
    #[error(
        "this input is not the one an earlier send on this buffer read {through_line} lines of \
         ({recorded}): its lines differ. Run that input again to finish it, use another \
         --storage FILE for this one, or delete {progress} to send this one from its first line"
    )]
    InputChanged {
        /// The input the progress file names.
        recorded: String,
        /// How far it went.
        through_line: u64,
        /// The progress file.
        progress: PathBuf,
    },
}

/// What `cairn send` was asked to do.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Backend base URL.
    pub endpoint: String,
    /// Write key (Segment) or API key (Amplitude, PostHog).
    pub write_key: String,
    /// The backend's format.
    pub destination: cairn::DestinationKind,
    /// More destinations the same events go to (`--also-to`), each on its own.
    pub also_to: Vec<cairn::Destination>,
    /// The buffer file; a temporary one when `None`.
    pub storage: Option<PathBuf>,
    /// How long to wait for delivery at the end, and for room in the
    /// buffer while reading (see [`FULL_SHARE`]).
    pub timeout: Duration,
    /// Most events the buffer holds (the client's `max_queue_events`).
    pub max_queue_events: u64,
}

/// The share of the buffer's caps (`max_queue_events`, and cairn's default
/// `max_queue_bytes`) past which reading waits for the backend: 9/10. A
/// buffer past its cap drops its oldest events; a backfill of more lines
/// than the cap, to a backend slower than the disk or down, lost them so.
/// Reading now waits while the backend takes events, and stops once it has
/// taken none for `--timeout` seconds: the lines read are kept and noted, so
/// the same command run again goes on from there.
pub const FULL_SHARE: (u64, u64) = (9, 10);

/// The `--destination` names: `segment` (also RudderStack), `amplitude`
/// (HTTP V2), `amplitude-batch` (Amplitude's Batch API), `posthog`.
pub fn parse_destination(name: &str) -> Result<cairn::DestinationKind, String> {
    use cairn::DestinationKind as D;
    match name {
        "segment" | "rudderstack" => Ok(D::Segment),
        "amplitude" => Ok(D::amplitude()),
        "amplitude-batch" => Ok(D::Amplitude {
            batch_api: true,
            min_id_length: None,
        }),
        "posthog" => Ok(D::PostHog),
        other => Err(format!(
            "`{other}` is not a destination: use segment, amplitude, amplitude-batch or posthog"
        )),
    }
}

/// One `--also-to` value: `[NAME=]KIND,ENDPOINT,KEY`, KIND as for
/// `--destination`; NAME defaults to KIND's name (`amplitude`, `posthog`,
/// `segment`) and is what the buffer keeps that destination's progress under.
pub fn parse_also_to(value: &str) -> Result<cairn::Destination, String> {
    let usage =
        "expected [NAME=]KIND,ENDPOINT,KEY, e.g. amplitude,https://api2.amplitude.com,API_KEY";
    let mut parts = value.splitn(3, ',');
    let (Some(first), Some(endpoint), Some(key)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("`{value}`: {usage}"));
    };
    let (name, kind) = match first.split_once('=') {
        Some((name, kind)) => (name.trim().to_string(), kind.trim()),
        None => (String::new(), first.trim()),
    };
    let kind = parse_destination(kind)?;
    let name = if name.is_empty() {
        kind.name().to_string()
    } else {
        name
    };
    if endpoint.trim().is_empty() || key.trim().is_empty() {
        return Err(format!(
            "`{value}`: the endpoint and the key are needed; {usage}"
        ));
    }
    Ok(cairn::Destination::new(
        name,
        kind,
        endpoint.trim(),
        key.trim(),
    ))
}

/// How a send went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendSummary {
    /// Lines read (blank ones skipped).
    pub lines: u64,
    /// Lines not sent again because an earlier run on the same buffer had
    /// taken them (noted in its progress file, or queued in the buffer).
    pub skipped: u64,
    /// Events found queued in the buffer at the start (left by an earlier run).
    pub backlog: u64,
    /// Lines refused before recording, with their line numbers (first 10).
    pub refused: Vec<(u64, String)>,
    /// Events the backend acknowledged (the first destination's, with several).
    pub delivered: u64,
    /// With `--also-to`: each destination's name, events delivered to it and
    /// events still queued for it.
    pub destinations: Vec<(String, u64, u64)>,
    /// Upload attempts that failed and were retried.
    pub retried: u64,
    /// Drops by reason during this run, as the SDK counted them.
    pub dropped: DropCounts,
    /// Events still queued at the end.
    pub remaining: u64,
    /// Of those, events only in memory: the buffer file could not be
    /// written (they go when the command ends).
    pub in_memory: u64,
    /// The buffer file, when one was given (what is queued stays there).
    pub storage: Option<PathBuf>,
    /// Why events did not go out: the buffer's delivery condition, in
    /// `cairn inspect`'s words (empty when all went out).
    pub why: Vec<String>,
    /// The last line read when reading stopped early, the buffer nearly full
    /// and the backend taking nothing (see [`FULL_SHARE`]).
    pub stopped_at: Option<u64>,
}

impl SendSummary {
    /// True when every line was delivered.
    pub fn all_delivered(&self) -> bool {
        self.remaining == 0
            && self.dropped.total() == 0
            && self.refused.is_empty()
            && self.stopped_at.is_none()
    }

    /// The closing report.
    pub fn render(&self) -> String {
        let d = &self.dropped;
        let mut s = format!(
            "sent {} of {} events · {} retried requests · dropped: invalid {}, oversize {}, overflow {}, expired {}, rejected {}, consent {} · still queued {}",
            self.delivered,
            self.lines - self.skipped + self.backlog,
            self.retried,
            d.invalid,
            d.oversize,
            d.overflow,
            d.expired,
            d.rejected,
            d.consent,
            self.remaining
        );
        for (name, delivered, queued) in &self.destinations {
            s.push_str(&format!(
                "\n  to {name}: {delivered} delivered, {queued} still queued"
            ));
        }
        for (line, why) in &self.refused {
            s.push_str(&format!("\n  line {line}: {why}"));
        }
        if self.skipped > 0 {
            let noted = self.storage.as_deref().map_or_else(String::new, |p| {
                format!(" (noted in {})", resume::progress_path(p).display())
            });
            s.push_str(&format!(
                "\nskipped {} lines an earlier run on this buffer had taken{noted}",
                self.skipped
            ));
        }
        if let Some(line) = self.stopped_at {
            s.push_str(&format!(
                "\nstopped reading after line {line}: the buffer is nearly full and the backend \
                 took no event for the --timeout; nothing was dropped. {}",
                match &self.storage {
                    Some(_) => "Run the same command again to send the rest of the input",
                    None => "Run with --storage FILE: the same command run again then goes on from there",
                }
            ));
        }
        if !self.why.is_empty() {
            s.push_str("\nwhy not sent:");
            for line in &self.why {
                s.push_str(&format!("\n  {line}"));
            }
        }
        if self.remaining > 0 {
            s.push('\n');
            s.push_str(&match &self.storage {
                None => format!(
                    "the {} events not sent are lost: without --storage their buffer was a \
                     temporary file, deleted as this command ends. Run with --storage FILE to \
                     keep them; the same command run again then sends them and skips the lines \
                     already taken",
                    self.remaining
                ),
                Some(p) if self.in_memory > 0 => format!(
                    "the {} events not sent are lost as this command ends: {} of them could not \
                     be written to {} (see why above), and were held in memory. No line was noted \
                     as taken that is not in the file: once the file can be written, the same \
                     command run again sends them",
                    self.remaining,
                    self.in_memory,
                    p.display()
                ),
                Some(p) => format!(
                    "the {} events not sent are kept in {}: run the same command again to send \
                     them (the lines already taken are skipped)",
                    self.remaining,
                    p.display()
                ),
            });
        }
        s
    }
}

/// Drops counted between two snapshots of a buffer's life-long counts.
fn drops_since(end: &DropCounts, start: &DropCounts) -> DropCounts {
    DropCounts {
        invalid: end.invalid.saturating_sub(start.invalid),
        oversize: end.oversize.saturating_sub(start.oversize),
        overflow: end.overflow.saturating_sub(start.overflow),
        expired: end.expired.saturating_sub(start.expired),
        rejected: end.rejected.saturating_sub(start.rejected),
        consent: end.consent.saturating_sub(start.consent),
        corrupt: end.corrupt.saturating_sub(start.corrupt),
        plan_violation: end.plan_violation.saturating_sub(start.plan_violation),
    }
}

/// How far the input went, and where that is written down.
struct Notes<'a> {
    file: Option<PathBuf>,
    source: &'a Source,
    /// The last line covered by the progress file.
    noted: u64,
}

impl Notes<'_> {
    /// Commits what was handed to the client, then notes lines 1 to `line`
    /// as taken. Only after the commit: a line noted is in the buffer (or
    /// already delivered), so a re-run may skip it.
    fn checkpoint(
        &mut self,
        client: &cairn::Client,
        line: u64,
        digest: &Digest,
    ) -> Result<(), SendError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if line <= self.noted {
            return Ok(());
        }
        // `false`: the disk is failing and the events wait in memory; they
        // are not noted until a later commit has them on disk.
        if client.commit(COMMIT_TIMEOUT)? {
            resume::save(file, &self.at(line, digest))?;
            self.noted = line;
        }
        Ok(())
    }

    /// The progress of lines 1 to `line` of this input.
    fn at(&self, line: u64, digest: &Digest) -> Progress {
        Progress {
            source: self.source.name(),
            through_line: line,
            digest: digest.text(),
        }
    }

    /// What `line`'s event carries into the buffer (`enqueue_marked`): its
    /// progress, when there is a progress file to resume by.
    fn mark(&self, line: u64, digest: &Digest) -> Option<String> {
        self.file.as_ref()?;
        serde_json::to_string(&self.at(line, digest)).ok()
    }
}

/// Sends every line of `input` (read from `source`) and waits for delivery.
pub fn run<R: Read>(
    options: &SendOptions,
    source: &Source,
    input: R,
) -> Result<SendSummary, SendError> {
    let temp = match &options.storage {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(SendError::TempDir)?),
    };
    let path = match (&options.storage, &temp) {
        (Some(p), _) => p.clone(),
        (None, Some(t)) => t.path().join("send.db"),
        (None, None) => unreachable!("one of the two is set above"),
    };
    let progress_file = options.storage.as_deref().map(resume::progress_path);
    let noted = match &progress_file {
        Some(p) => resume::load(p)?,
        None => None,
    };
    // The mark committed with the last event goes further than the note
    // when the run stopped between a commit and its note.
    let earlier = match (noted, options.storage.as_deref().and_then(resume::marked)) {
        (Some(n), Some(m)) if m.source == n.source && m.through_line > n.through_line => Some(m),
        (n, _) => n,
    };
    let queued = options
        .storage
        .as_deref()
        .map(resume::queued_message_ids)
        .unwrap_or_default();
    let mut builder = cairn::Client::builder(&options.write_key);
    for d in &options.also_to {
        builder = builder.add_destination(d.clone());
    }
    let client = builder
        .endpoint(&options.endpoint)
        .destination(options.destination)
        .storage_path(&path)
        .flush_at(CHECKPOINT_LINES as usize)
        .max_queue_events(options.max_queue_events)
        .flush_interval(Duration::from_millis(200))
        // A backfill carries old timestamps on purpose: do not expire them.
        .max_event_age(BACKFILL_MAX_EVENT_AGE)
        .build()?;
    let at_start = client.stats();
    let mut summary = SendSummary {
        backlog: at_start.queued_events,
        storage: options.storage.clone(),
        ..SendSummary::default()
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        if options.storage.is_none() {
            eprintln!(
                "note: no --storage: events not delivered when this command ends are lost \
                 (--storage FILE keeps them for a re-run)"
            );
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let show = |summary: &SendSummary, s: &cairn::Stats| {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} read, {} skipped, {} delivered, {} queued",
                summary.lines, summary.skipped, s.delivered_events, s.queued_events
            ));
            bar.tick();
        }
    };

    let ids = LineIds::new(source);
    let mut notes = Notes {
        file: progress_file.clone(),
        source,
        noted: earlier.as_ref().map_or(0, |p| p.through_line),
    };
    let changed = |p: &Progress| SendError::InputChanged {
        recorded: p.source.clone(),
        through_line: p.through_line,
        progress: progress_file.clone().unwrap_or_default(),
    };
    let mut reader = BufReader::with_capacity(READ_AHEAD, input);
    let mut digest = Digest::new();
    let mut number = 0u64;
    let mut handed = 0u64;
    let mut buf = String::new();
    loop {
        // Before a read that may wait (a slow producer on a pipe), or after
        // many lines: a kill then finds every line handed over noted.
        if (number > notes.noted && reader.buffer().is_empty()) || handed >= CHECKPOINT_LINES {
            notes.checkpoint(&client, number, &digest)?;
            handed = 0;
            if !wait_for_room(&client, options, |s| show(&summary, s))? {
                summary.stopped_at = Some(number);
                break;
            }
        }
        buf.clear();
        let read = reader.read_line(&mut buf).map_err(|e| SendError::Read {
            line: number + 1,
            source: e,
        })?;
        if read == 0 {
            break;
        }
        number += 1;
        let text = buf.strip_suffix('\n').unwrap_or(&buf);
        let text = text.strip_suffix('\r').unwrap_or(text);
        digest.push(text);
        let blank = text.trim().is_empty();
        if !blank {
            summary.lines += 1;
        }
        if let Some(p) = earlier.as_ref().filter(|p| number <= p.through_line) {
            if number == p.through_line && digest.text() != p.digest {
                return Err(changed(p));
            }
            summary.skipped += u64::from(!blank);
            continue;
        }
        if blank {
            continue;
        }
        let result = match serde_json::from_str::<Value>(text) {
            Ok(mut event) => {
                // Committed by an earlier run after its last note.
                if ids
                    .ensure(&mut event, number, text)
                    .is_some_and(|id| queued.contains(&id))
                {
                    summary.skipped += 1;
                    continue;
                }
                match notes.mark(number, &digest) {
                    Some(mark) => client.enqueue_marked(&event, mark),
                    None => client.enqueue(&event),
                }
            }
            // cairn says what is wrong with it, in its own words.
            Err(_) => client.enqueue_json(text),
        };
        handed += 1;
        if let Err(e) = result {
            if summary.refused.len() < 10 {
                summary.refused.push((number, e.to_string()));
            }
        }
        if summary.lines.is_multiple_of(500) {
            show(&summary, &client.stats());
        }
    }
    if let Some(p) = earlier.as_ref().filter(|p| number < p.through_line) {
        return Err(changed(p));
    }
    notes.checkpoint(&client, number, &digest)?;

    // Stopped early: the backend took nothing for the timeout already.
    let deadline = match summary.stopped_at {
        Some(_) => Instant::now(),
        None => Instant::now() + options.timeout,
    };
    loop {
        let report = client.flush(Duration::from_millis(500))?;
        let s = client.stats();
        show(&summary, &s);
        if report.remaining == 0 || Instant::now() >= deadline || s.auth_failed {
            break;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = client.shutdown(Duration::from_millis(200))?;
    let s = client.stats();
    summary.delivered = s
        .destinations
        .first()
        .map_or(s.delivered_events, |d| d.delivered_events);
    summary.destinations = s
        .destinations
        .iter()
        .map(|d| (d.name.clone(), d.delivered_events, d.queued_events))
        .collect();
    summary.retried = s.retries;
    summary.dropped = drops_since(&s.dropped, &at_start.dropped);
    summary.remaining = report.remaining.max(s.queued_events);
    summary.in_memory = s.memory_events;
    if summary.remaining > 0 || summary.dropped.rejected > 0 {
        summary.why = why_not_sent(&path, &s);
    }
    Ok(summary)
}

/// Waits while the buffer is past [`FULL_SHARE`] of its caps, as long as the
/// backend keeps taking events. `false` once it has taken none for
/// `options.timeout` (or refuses the write key): reading stops there.
fn wait_for_room(
    client: &cairn::Client,
    options: &SendOptions,
    show: impl Fn(&cairn::Stats),
) -> Result<bool, SendError> {
    let (part, whole) = FULL_SHARE;
    let max_events = options.max_queue_events / whole * part;
    let max_bytes = cairn::config::DEFAULT_MAX_QUEUE_BYTES / whole * part;
    let mut delivered = None;
    let mut since = Instant::now();
    loop {
        let s = client.stats();
        let room = s.queued_events + CHECKPOINT_LINES <= max_events && s.queued_bytes <= max_bytes;
        // An empty buffer takes the next lines whatever the cap.
        if room || s.queued_events == 0 {
            return Ok(true);
        }
        if s.auth_failed {
            return Ok(false);
        }
        if delivered != Some(s.delivered_events) {
            delivered = Some(s.delivered_events);
            since = Instant::now();
        } else if since.elapsed() >= options.timeout {
            return Ok(false);
        }
        show(&s);
        // Sends what is due and waits a little for it.
        client.flush(Duration::from_millis(200))?;
    }
}

/// The buffer's delivery condition as `cairn inspect` shows it; the last
/// error from `stats()` if the file cannot be read.
fn why_not_sent(path: &Path, stats: &cairn::Stats) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    match cairn::store::inspect::inspect(path, 0) {
        Ok(inspection) => crate::inspect::delivery_lines(&inspection.state, now),
        Err(_) => stats
            .last_error
            .iter()
            .map(|e| format!("delivery   last error: {e}"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_run_counts_what_it_sends_not_what_it_skipped() {
        let s = SendSummary {
            lines: 600,
            skipped: 600,
            backlog: 250,
            delivered: 250,
            storage: Some("b.db".into()),
            ..SendSummary::default()
        };
        let text = s.render();
        assert!(text.starts_with("sent 250 of 250 events"), "{text}");
        assert!(
            text.contains("skipped 600 lines an earlier run on this buffer had taken (noted in b.db.send-progress)"),
            "{text}"
        );
        assert!(s.all_delivered());
    }

    #[test]
    fn drops_are_this_runs() {
        let start = DropCounts {
            rejected: 3,
            invalid: 1,
            ..DropCounts::default()
        };
        let end = DropCounts {
            rejected: 5,
            invalid: 1,
            ..DropCounts::default()
        };
        let d = drops_since(&end, &start);
        assert_eq!((d.rejected, d.invalid, d.total()), (2, 0, 2));
    }
}
