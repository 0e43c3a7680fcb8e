//! The worker thread: owns the engine, the recorder and the store, and turns
//! commands from the API into their inputs.
//!
//! Each wake-up it takes the commands waiting, [`COMMIT_CHUNK`] at a time
//! (up to [`GROUP_COMMIT_MAX`] a wake-up), and wakes callers waiting for
//! room after each take (see `room.rs`), so they get a chunk's room back in
//! one go rather than one slot per call handled, and wait for one chunk to
//! be handled, not for a whole wake-up's worth (with 2,000 calls taken at
//! once, a caller in a burst waited about 14 ms for each take; an event
//! call waits at most `record_wait`, 5 ms by default), and while calls
//! stream in it naps for [`GATHER`] between wake-ups instead of blocking on
//! the channel, so a call seldom has to wake it; it then
//! feeds recorded calls to the [`Recorder`] in order, and commits them with
//! any identity, consent or session change in one transaction. Then it lets
//! the engine start an upload, answers `flush` callers whose events are
//! delivered (or whose time is up), and publishes a fresh snapshot for
//! `stats()`. It also keeps the anonymous-id mirror file beside the database.
//!
//! Upload results come on a channel of their own and are handled first in
//! every wake-up: queued behind the app's calls in a full channel, each one
//! waited for several group commits (and held the HTTP thread meanwhile), so
//! delivery crawled while the app recorded fast.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::clock::Clocks;
use super::gzip::Heads;
use super::http;
use super::published::{EndOnDrop, Published};
use super::room::{Room, WakeOnExit};
use super::{FlushReport, Snapshot};
use crate::config::Config;
use crate::consent::ConsentState;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::model::Call;
use crate::recorder::{Forgotten, Recorder, RecorderSettings};
use crate::stats::DropReason;
use crate::store::ReopeningStore;
use crate::wire::HttpResponse;

/// Most commands handled in one wake-up, before the worker looks at its
/// timers, flush callers and `stats()` snapshot again.
pub(crate) const GROUP_COMMIT_MAX: usize = 2_000;

/// Within one wake-up, commands are taken and committed this many at a time, and the
/// upload results that came meanwhile are handled and the next upload
/// started between those commits: with one commit per wake-up, delivery
/// could start one batch per 2,000 calls committed and fell behind a fast
/// recorder (docs/performance.md).
pub(crate) const COMMIT_CHUNK: usize = 125;

/// A wake-up that found at least this many commands waiting means calls are
/// streaming in: the worker then naps for [`GATHER`] before taking more.
pub(crate) const GATHER_AFTER: usize = 16;

/// How long the worker naps while calls stream in. A worker blocked on an
/// empty channel must be woken by the next call, a futex syscall that costs
/// that call several microseconds; napping instead (it does not register
/// with the calls channel, only with the upload results') lets callers send
/// without waking anyone, and gathers bigger group commits. It delays a
/// commit by at most this much; an upload result ends it early.
pub(crate) const GATHER: Duration = Duration::from_micros(500);

/// Rows of a backlog found at start counted per wake-up: about 3 ms of
/// reading on this project's test machine. Counting 100,000 rows at once
/// took 35 ms, during which calls waited uncommitted (and a kill -9 took
/// them); counted in steps, they are committed between steps.
pub(crate) const BACKLOG_STEP: usize = 8_192;

/// What the API and the HTTP thread tell the worker.
// `Record` is not boxed: a box is one more allocation made on the caller's
// thread and freed on this one, and with glibc those cross-thread frees
// contend for the caller's malloc arena lock; unboxed, track's p99 under a
// sustained stream fell from about 10 µs to under 2 µs
// (docs/performance.md). The channel's slots grow to the size of a `Call`
// (about 2.5 MB for 10,000).
// `allow`, not `expect`: whether the lint fires depends on the features
// (with every feature on, `Refused`'s error is as large as a call), the
// target and the toolchain's clippy.
#[allow(
    clippy::large_enum_variant,
    reason = "calls travel unboxed, one allocation fewer per call (see above)"
)]
pub(crate) enum Command {
    Record(Call),
    /// A call and the mark to store with it, in the same transaction
    /// ([`Client::enqueue_marked`](super::Client::enqueue_marked)). Boxed:
    /// rare, and the channel's slots stay a call's size.
    RecordMarked(Box<(Call, String)>),
    Reset,
    SetAnonymousId(String),
    SetContext(Map<String, Value>),
    SetConsent(String, ConsentState),
    OptOut(bool),
    Forget(Sender<Forgotten>),
    Dropped(DropReason),
    /// A call strict mode refused on the caller's thread (an
    /// `Error::PlanViolation`): counted, not recorded.
    Refused(crate::error::Error),
    SetTrackingPlan(Option<std::sync::Arc<crate::plan::TrackingPlan>>),
    Commit(Sender<bool>),
    Flush {
        deadline: Instant,
        reply: Sender<FlushReport>,
    },
    Shutdown {
        deadline: Instant,
        reply: Sender<FlushReport>,
    },
    /// An upload result is waiting on the results channel (sent with
    /// `try_send`: when the channel is full the worker is busy and looks
    /// at the results at its next wake-up anyway).
    Wake,
}

/// What the HTTP thread reports about one upload.
pub(crate) struct UploadDone {
    pub id: u64,
    pub result: std::result::Result<HttpResponse, super::http::TransportError>,
}

struct Waiter {
    target: u64,
    deadline: Instant,
    delivered_at_start: u64,
    reply: Sender<FlushReport>,
}

struct Worker {
    engine: Engine,
    recorder: Recorder,
    mirror: PathBuf,
    mirrored: String,
    waiters: Vec<Waiter>,
    commit_waiters: Vec<Sender<bool>>,
    forget_waiters: Vec<(Sender<Forgotten>, Forgotten)>,
    shutdown: Option<Waiter>,
    /// Each destination's upload threads (compressor, then HTTP; in the
    /// engine's order), so a slow or down destination holds up only its own
    /// uploads.
    http: Vec<Sender<http::ToHttp>>,
    /// Per destination, the id of the upload its HTTP thread holds for its
    /// turn (`ToHttp::Hold`), until sent or let go.
    held: Vec<Option<u64>>,
    /// What the upload threads share: the purge mark, the heads kept.
    uploads: http::Shared,
    published: Arc<Published>,
    room: Arc<Room>,
    clocks: Arc<Clocks>,
    /// Acks left for the next commit while calls stream in (see `run`).
    acks_deferred: bool,
}

type Started = (
    SyncSender<Command>,
    Arc<Room>,
    Arc<Published>,
    JoinHandle<()>,
);

/// The file beside the database that mirrors the anonymous id, so a lost or
/// corrupt database does not turn a returning visitor into a new one.
pub(crate) fn mirror_path(storage_path: &std::path::Path) -> PathBuf {
    let mut p = storage_path.as_os_str().to_owned();
    p.push(".anonymous-id");
    PathBuf::from(p)
}

/// Checks the storage directory and starts the HTTP and worker threads; the
/// worker opens the store and loads the recorder's state (`Worker::load`).
pub(crate) fn start(config: Arc<Config>, clocks: Arc<Clocks>) -> Result<Started> {
    let path_text = config.storage_path.display().to_string();
    let dir = config
        .storage_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        return Err(Error::Storage {
            path: path_text,
            reason: format!(
                "the directory {} does not exist: create it, or choose another storage_path",
                dir.display()
            ),
        });
    }
    let published = Arc::new(Published::loading());
    let (tx, rx) = mpsc::sync_channel(config.max_pending_calls);
    let room = Arc::new(Room::default());
    // Unbounded, but one upload per destination is in flight at a time.
    let (done_tx, done_rx) = mpsc::channel();
    let shared = http::Shared {
        clocks: Arc::clone(&clocks),
        heads: Arc::new(Heads::new(config.destinations().len())),
        cancel: http::CancelBelow::default(),
    };
    let mut http_tx = Vec::new();
    for _ in 0..config.destinations().len() {
        let (upload_tx, upload_rx) = mpsc::channel();
        http::start(&config, upload_rx, done_tx.clone(), tx.clone(), &shared).map_err(|e| {
            Error::Storage {
                path: path_text.clone(),
                reason: format!("could not start the upload thread: {e}"),
            }
        })?;
        http_tx.push(upload_tx);
    }
    drop(done_tx);
    let wake = WakeOnExit(Arc::clone(&room));
    let ended = EndOnDrop(Arc::clone(&published));
    let (worker_room, worker_published) = (Arc::clone(&room), Arc::clone(&published));
    let handle = std::thread::Builder::new()
        .name("cairn-worker".into())
        .spawn(move || {
            // Dropped last, on a panic too: locals drop in reverse order, so
            // the receiver (rebound below, or consumed by `run`) is gone
            // before waiting callers are woken and they find the channel
            // disconnected rather than full.
            let _wake = wake;
            let _ended = ended;
            let (rx, done_rx) = (rx, done_rx);
            // Loaded here, not in `build()`: with a large backlog the load
            // takes tens of milliseconds, which an app's main thread must
            // not wait for. Calls made meanwhile wait in the channel.
            let worker = {
                let _busy = super::fork::busy();
                Worker::load(
                    config,
                    http_tx,
                    shared,
                    worker_published,
                    worker_room,
                    clocks,
                )
            };
            worker.run(rx, done_rx)
        })
        .map_err(|e| Error::Storage {
            path: path_text,
            reason: format!("could not start the worker thread: {e}"),
        })?;
    Ok((tx, room, published, handle))
}

impl Worker {
    /// Opens the store, loads the recorder's state, commits what loading
    /// changed (a new anonymous id, an expired session) and publishes the
    /// first snapshot.
    fn load(
        config: Arc<Config>,
        http: Vec<Sender<http::ToHttp>>,
        uploads: http::Shared,
        published: Arc<Published>,
        room: Arc<Room>,
        clocks: Arc<Clocks>,
    ) -> Worker {
        // A file that cannot be opened now (read-only, locked, disk full) does
        // not stop the client: events wait in memory and the file is retried.
        let mut store = ReopeningStore::open(&config.storage_path);
        store.limit_wal(config.max_queue_bytes);
        if let Some(aside) = store.store().and_then(|s| s.moved_aside()) {
            log::warn!(
                "cairn: the buffer file was corrupt and was moved to {}",
                aside.display()
            );
        }
        if let Some(e) = store.open_error() {
            log::warn!(
                "cairn: cannot open the buffer file {} yet, holding events in memory: {e}",
                config.storage_path.display()
            );
        }
        let mirror = mirror_path(&config.storage_path);
        let mirrored = std::fs::read_to_string(&mirror)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        let now = clocks.timer_ms();
        let mut recorder = Recorder::load(
            RecorderSettings::from(config.as_ref()),
            &mut store,
            mirrored.clone(),
        );
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut engine = Engine::starting_with(
            EngineConfig::from(config.as_ref()),
            Box::new(store),
            crate::engine::Target::all_of(&config, config.gzip),
            seed,
            now,
        );
        // Timers run on `now` (monotonic); sentAt, expiry and ages need the
        // wall clock (runtime/clock.rs).
        let wall = Arc::clone(&clocks);
        engine.set_wall_clock(Box::new(move || wall.stamp_ms()));
        recorder.commit(&mut engine, now);
        let mut worker = Worker {
            engine,
            recorder,
            mirror,
            mirrored: mirrored.unwrap_or_default(),
            waiters: Vec::new(),
            commit_waiters: Vec::new(),
            forget_waiters: Vec::new(),
            shutdown: None,
            held: http.iter().map(|_| None).collect(),
            http,
            uploads,
            published,
            room,
            clocks,
            acks_deferred: false,
        };
        worker.publish();
        worker.write_mirror();
        worker
    }

    fn run(mut self, rx: Receiver<Command>, done: Receiver<UploadDone>) {
        let mut taken: Vec<Command> = Vec::with_capacity(COMMIT_CHUNK);
        let mut streaming = false;
        loop {
            if streaming {
                // The nap waits on the upload results, not on the calls: an
                // answer ends it, and the next upload leaves at once instead
                // of up to GATHER later (delivery is one batch at a time, so
                // that wait was on every batch's path).
                let answered = done.recv_timeout(GATHER);
                let _busy = super::fork::busy();
                if let Ok(UploadDone { id, result }) = answered {
                    self.engine
                        .on_upload_result(id, result.map_err(|e| e.to_string()), self.now());
                    self.take_upload_results(&done);
                    self.pump();
                }
            }
            let now = self.now();
            let first = if self.room.spill.active() {
                // Spilled calls wait (runtime/spill.rs): no sleeping.
                rx.try_recv().map_err(|e| match e {
                    mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                    mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            } else {
                match self.wait_time(now) {
                    Some(d) => rx.recv_timeout(d),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                }
            };
            // SQLite from here to the next wait: a fork waits for it
            // (runtime/fork.rs).
            let _busy = super::fork::busy();
            let first = match first {
                Ok(cmd) => Ok(Some(cmd)),
                Err(RecvTimeoutError::Timeout) if self.room.spill.active() => Ok(None),
                Err(e) => Err(e),
            };
            match first {
                Ok(cmd) => {
                    taken.extend(cmd);
                    let mut handled = 0;
                    loop {
                        // Taken a chunk at a time, and callers waiting for
                        // room woken after each take (runtime/room.rs): a
                        // caller waits for one chunk to be handled, not for
                        // a whole group commit (docs/architecture.md). The
                        // spill's calls come once the channel is empty: the
                        // channel's were made before it filled.
                        let want = COMMIT_CHUNK - taken.len();
                        taken.extend(rx.try_iter().take(want));
                        if taken.len() < COMMIT_CHUNK && self.room.spill.active() {
                            self.room.spill.take(COMMIT_CHUNK - taken.len(), &mut taken);
                        }
                        let drained = taken.len() < COMMIT_CHUNK;
                        self.room.took();
                        handled += taken.len();
                        if self.take_upload_results(&done) {
                            self.pump();
                        }
                        for cmd in taken.drain(..) {
                            self.handle(cmd);
                        }
                        if drained || handled >= GROUP_COMMIT_MAX {
                            break;
                        }
                        self.commit();
                    }
                    streaming = handled >= GATHER_AFTER;
                }
                Err(RecvTimeoutError::Timeout) => {
                    streaming = false;
                    self.take_upload_results(&done);
                }
                // Every Client is gone: commit what is pending and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    self.commit();
                    // The store closes (saving acks) while still busy.
                    drop(self);
                    return;
                }
            }
            self.commit();
            let overflowed = self.room.take_overflowed();
            if overflowed > 0 {
                log::warn!(
                    "cairn: {overflowed} events dropped as overflow: the app records faster than the buffer file takes them, and record_wait ran out"
                );
                self.engine
                    .count_external_drop(DropReason::Overflow, overflowed, self.now());
            }
            if self.engine.loading() {
                // One step of counting the backlog per wake-up, after the
                // calls that came meanwhile are committed (see BACKLOG_STEP).
                let now = self.now();
                self.engine.load_backlog(BACKLOG_STEP, now);
            }
            self.pump();
            // While calls stream in, the next commit (a nap away) saves the
            // acks with its events in one transaction; a transaction of
            // their own each wake-up cost the worker about 4% of its time
            // with two destinations. The wait is capped meanwhile (see
            // `wait_time`), so they are saved within a nap once calls stop.
            // A flush or shutdown about to be answered has them saved first.
            self.acks_deferred = streaming && self.waiters.is_empty() && self.shutdown.is_none();
            if !self.acks_deferred {
                self.engine.save_acks(self.now());
            }
            // Publish first: a caller woken by its flush reply then reads
            // stats() that include what the flush did.
            self.publish();
            self.answer_waiters();
            if self.finish_shutdown(&done) {
                drop(self);
                return;
            }
        }
    }

    /// How long to sleep: until the engine's next wake-up or the nearest
    /// flush deadline; `None` waits for the next command.
    fn wait_time(&self, now: i64) -> Option<Duration> {
        let engine = self
            .engine
            .next_wakeup(now)
            .map(|t| Duration::from_millis((t - now).max(0) as u64));
        let engine = match (engine, self.acks_deferred) {
            (Some(d), true) => Some(d.min(GATHER)),
            (None, true) => Some(GATHER),
            (d, false) => d,
        };
        let deadline = self
            .waiters
            .iter()
            .chain(self.shutdown.iter())
            .map(|w| w.deadline)
            .min();
        let deadline = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match (engine, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle(&mut self, cmd: Command) {
        let now = self.now();
        match cmd {
            Command::Record(call) => self.recorder.record(call, &mut self.engine, now),
            Command::RecordMarked(marked) => {
                let (call, mark) = *marked;
                let before = self.recorder.pending_events();
                self.recorder.record(call, &mut self.engine, now);
                // Only an event on its way to this commit moves the mark: one
                // held for an undecided consent category is not committed yet.
                if self.recorder.pending_events() > before {
                    self.recorder.set_mark(mark);
                }
            }
            Command::Reset => self.recorder.reset(),
            Command::SetAnonymousId(id) => self.recorder.set_anonymous_id(&id),
            Command::SetContext(ctx) => self.recorder.set_context(ctx),
            Command::SetConsent(category, state) => {
                self.recorder
                    .set_consent(&category, state, &mut self.engine, now)
            }
            Command::OptOut(on) => self.recorder.opt_out(on, &mut self.engine, now),
            Command::Forget(reply) => {
                let forgotten = self.recorder.forget(&mut self.engine, now);
                self.write_mirror();
                // Answered after the snapshot is refreshed, so the caller's
                // next anonymous_id() and stats() already show the erasure.
                self.forget_waiters.push((reply, forgotten));
            }
            Command::Dropped(reason) => self.engine.count_external_drop(reason, 1, now),
            Command::Refused(error) => self.recorder.count_refused(&error, &mut self.engine, now),
            Command::SetTrackingPlan(plan) => self.recorder.set_tracking_plan(plan),
            Command::Commit(reply) => {
                self.commit();
                // Answered after the stats snapshot is refreshed, like flush.
                self.commit_waiters.push(reply);
            }
            Command::Flush { deadline, reply } => {
                self.commit();
                self.engine.flush();
                self.waiters.push(self.waiter(deadline, reply));
            }
            Command::Shutdown { deadline, reply } => {
                self.commit();
                self.engine.flush();
                self.shutdown = Some(self.waiter(deadline, reply));
            }
            Command::Wake => {}
        }
        if let Some(id) = self.engine.purged_upload() {
            (self.uploads.cancel).fetch_max(id, std::sync::atomic::Ordering::SeqCst);
            // Purged events (consent revoked, `forget()`) are not kept in
            // memory for a destination that might have shared them.
            self.uploads.heads.forget();
        }
    }

    /// Handles the upload results that came in; true if there were any.
    fn take_upload_results(&mut self, done: &Receiver<UploadDone>) -> bool {
        let mut any = false;
        for UploadDone { id, result } in done.try_iter() {
            self.engine
                .on_upload_result(id, result.map_err(|e| e.to_string()), self.now());
            any = true;
        }
        any
    }

    fn waiter(&self, deadline: Instant, reply: Sender<FlushReport>) -> Waiter {
        Waiter {
            target: self.engine.last_seq(),
            deadline,
            delivered_at_start: self.engine.delivered(),
            reply,
        }
    }

    /// The engine's clock: timers and backoff (runtime/clock.rs).
    fn now(&self) -> i64 {
        self.clocks.timer_ms()
    }

    fn commit(&mut self) {
        let now = self.now();
        self.recorder.commit(&mut self.engine, now);
        self.write_mirror();
    }

    /// Keeps the mirror file equal to the anonymous id in force.
    fn write_mirror(&mut self) {
        let anon = self.recorder.anonymous_id();
        if anon == self.mirrored {
            return;
        }
        let mut tmp = self.mirror.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let written = std::fs::write(&tmp, anon).and_then(|_| std::fs::rename(&tmp, &self.mirror));
        match written {
            Ok(()) => self.mirrored = anon.to_string(),
            // The database holds the id too; the mirror is a second copy.
            Err(e) => log::warn!("cairn: could not write {}: {e}", self.mirror.display()),
        }
    }

    /// Starts the uploads the engine has due, unless a shutdown's time is up:
    /// an upload started then would be abandoned on the wire, and its
    /// events sent again by the next client.
    fn pump(&mut self) {
        if self
            .shutdown
            .as_ref()
            .is_some_and(|w| Instant::now() >= w.deadline)
        {
            return;
        }
        self.let_go_of_dropped_uploads();
        while let Some(upload) = self.engine.poll_upload(self.now()) {
            let (id, destination) = (upload.id, upload.destination);
            if let Some(held) = self.held.get_mut(destination) {
                // Sent now (Go), or stale and replaced by what is sent.
                *held = None;
            }
            let message = if upload.prepared {
                http::ToHttp::Go(id)
            } else {
                http::ToHttp::Send(upload)
            };
            let sent = match self.http.get(destination) {
                Some(http) => http.send(message).is_ok(),
                None => false,
            };
            if !sent {
                // The HTTP thread only stops when the worker does; report the
                // upload as failed so it is retried if we go on.
                self.engine
                    .on_upload_result(id, Err("upload thread stopped".into()), self.now());
                break;
            }
        }
        // With a backlog, the next batch is read and encoded here and
        // compressed by the destination's compressor thread while this one
        // is out, so it leaves as the answer comes (docs/architecture.md).
        self.engine.claim_next_in_backlog(self.now());
        while let Some(upload) = self.engine.prepare_next(self.now()) {
            let (id, destination) = (upload.id, upload.destination);
            if let (Some(http), Some(held)) =
                (self.http.get(destination), self.held.get_mut(destination))
            {
                // A thread gone is found by the next send.
                let _ = http.send(http::ToHttp::Hold(upload));
                *held = Some(id);
            }
        }
    }

    /// Tells each HTTP thread holding an upload the engine dropped (a retry,
    /// a split, a purge, a failing store) to let it go: its events, purged
    /// ones included, are not kept in memory until the next upload
    /// replaces it.
    fn let_go_of_dropped_uploads(&mut self) {
        for (destination, held) in self.held.iter_mut().enumerate() {
            let Some(id) = *held else { continue };
            if self.engine.prepared_upload(destination) != Some(id) {
                if let Some(http) = self.http.get(destination) {
                    let _ = http.send(http::ToHttp::Forget(id));
                }
                *held = None;
            }
        }
    }

    fn report(&self, w: &Waiter) -> FlushReport {
        FlushReport {
            delivered: self.engine.delivered() - w.delivered_at_start,
            // Events held in memory for a failing disk are not delivered
            // either, and die with the process unless the disk recovers.
            remaining: self.engine.queued_events() + self.engine.memory_events(),
        }
    }

    fn answer_waiters(&mut self) {
        for (reply, forgotten) in self.forget_waiters.drain(..) {
            // The caller may have stopped waiting; the erasure happened anyway.
            let _ = reply.send(forgotten);
        }
        if !self.commit_waiters.is_empty() {
            // Durable when nothing is held in memory for a failing disk.
            let durable = self.engine.stats(self.now()).memory_events == 0;
            for reply in self.commit_waiters.drain(..) {
                let _ = reply.send(durable);
            }
        }
        let now = Instant::now();
        let mut i = 0;
        while i < self.waiters.len() {
            let w = &self.waiters[i];
            if self.engine.delivered_through(w.target)
                || now >= w.deadline
                || self.engine.auth_failed()
            {
                let w = self.waiters.swap_remove(i);
                // The caller may have given up waiting; nothing to do then.
                let _ = w.reply.send(self.report(&w));
            } else {
                i += 1;
            }
        }
    }

    fn finish_shutdown(&mut self, results: &Receiver<UploadDone>) -> bool {
        let Some(w) = &self.shutdown else {
            return false;
        };
        let done = self.engine.delivered_through(w.target)
            || Instant::now() >= w.deadline
            || self.engine.auth_failed();
        if !done {
            return false;
        }
        let until = w.deadline.min(Instant::now()) + super::ANSWER_GRACE;
        self.await_upload_in_flight(results, until);
        if let Some(w) = self.shutdown.take() {
            let _ = w.reply.send(self.report(&w));
        }
        for w in std::mem::take(&mut self.waiters) {
            let _ = w.reply.send(self.report(&w));
        }
        true
    }

    /// Waits until `until` (a shutdown's deadline plus
    /// [`ANSWER_GRACE`](super::ANSWER_GRACE)) for the answer to the upload
    /// on the wire, if any, and records it: the backend may already have
    /// stored those events, and leaving without the answer would have the
    /// next client send them again.
    fn await_upload_in_flight(&mut self, results: &Receiver<UploadDone>, until: Instant) {
        while self.engine.upload_in_flight() {
            let left = until.saturating_duration_since(Instant::now());
            match results.recv_timeout(left) {
                Ok(UploadDone { id, result }) => {
                    let now = self.now();
                    self.engine
                        .on_upload_result(id, result.map_err(|e| e.to_string()), now);
                }
                // Not answered in time: the events stay in the file and go
                // out again with the same message ids (the backend dedups).
                Err(_) => break,
            }
        }
        let now = self.now();
        self.engine.save_acks(now);
        self.commit();
        self.publish();
    }

    fn publish(&mut self) {
        if self.engine.loading() {
            // Getters wait for the first snapshot that knows the backlog.
            return;
        }
        let mut stats = self.engine.stats(self.now());
        stats.plan = self.recorder.plan_stats().clone();
        let s = Snapshot {
            stats,
            anonymous_id: self.recorder.anonymous_id().to_string(),
            user_id: self.recorder.identity().user_id.clone(),
        };
        self.published.set(s);
    }
}
