//! The native runtime: [`Client`], what backend services use and what the
//! bindings wrap.
//!
//! A recording call validates its input on the caller's thread, stamps the
//! message id and timestamp, and hands the call to a worker thread over a
//! bounded channel: it never waits on disk or network. The worker owns the
//! [`Engine`](crate::engine::Engine), the store and the identity state; it
//! commits every call waiting in the channel in one transaction (group
//! commit), and passes uploads to each destination's upload threads (a
//! compressor, then an HTTP thread: `http.rs`) so a slow server never
//! stalls recording. This module decides threads and channels only; every
//! delivery rule is the engine's.

mod clock;
pub(crate) mod fork;
mod gzip;
mod http;
mod paths;
mod published;
mod resolver;
mod room;
mod spill;
mod storage_path;
mod worker;

use std::cell::Cell;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cat;
use crate::config::{ClientBuilder, Config};
use crate::consent::ConsentState;
use crate::error::{Error, Result};
use crate::model::{self, Call, EventKind, Subject};
use crate::plan::TrackingPlan;
use crate::recorder::Forgotten;
use crate::stats::{DropReason, Stats};

use spill::Pushed;
use worker::Command;

#[doc(hidden)]
pub use clock::TimeSource;
pub(crate) use storage_path::check as check_storage_path;

/// What a `flush` or `shutdown` achieved before it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushReport {
    /// Events the backend acknowledged while the call waited.
    pub delivered: u64,
    /// Events not delivered when it returned: queued on disk (sent later),
    /// plus any held in memory while the disk fails (`stats().memory_events`),
    /// which are lost if the process ends before the disk recovers.
    pub remaining: u64,
}

/// What the worker publishes after every step, for calls that must not wait on it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) stats: Stats,
    pub(crate) anonymous_id: String,
    pub(crate) user_id: Option<String>,
}

/// A cairn client: records events and delivers them in the background.
///
/// Cheap to share: it is `Send + Sync`; wrap it in an `Arc` to use it from
/// several threads. Dropping it commits what is pending and stops the worker
/// without waiting for delivery (events stay on disk for the next start);
/// call [`shutdown`](Self::shutdown) to give delivery a chance first.
pub struct Client {
    tx: SyncSender<Command>,
    clocks: Arc<clock::Clocks>,
    /// The fork count this client was built under (runtime/fork.rs).
    generation: u64,
    room: Arc<room::Room>,
    config: Arc<Config>,
    snapshot: Arc<published::Published>,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The tracking plan strict mode checks calls against on the caller's
    /// thread (the worker holds its own copy for the policies).
    plan: RwLock<Option<Arc<TrackingPlan>>>,
    _path: paths::PathGuard,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.config.endpoint)
            .field("storage_path", &self.config.storage_path)
            .finish()
    }
}

impl ClientBuilder {
    /// Validates the settings and starts the worker, which opens the buffer
    /// file and loads its state in the background: `build()` does no disk
    /// work beyond metadata checks of the path (`stat`, `statfs`) and taking
    /// its lock file, so it can be called on an app's main thread. Recording
    /// calls made before the load is done wait in the calls channel;
    /// [`stats`](Client::stats), [`anonymous_id`](Client::anonymous_id) and
    /// [`user_id`](Client::user_id) wait for it (milliseconds; tens of them
    /// with a large backlog).
    ///
    /// A file that cannot be opened *for now* (a full disk; a file or
    /// directory that is read-only or not ours, since permissions can be
    /// fixed while the app runs; a lock held by another program) does not
    /// fail `build()`: events are held in memory and the file is retried, as
    /// `stats().storage` shows, and `flush`/`shutdown` count them as
    /// remaining. A `storage_path` that can *never* hold the file fails.
    ///
    /// Fails with [`Error::InvalidConfig`] naming a bad setting,
    /// [`Error::StorageInUse`] when another `Client` in this process uses the
    /// same file, [`Error::StorageLocked`] when another process does, or
    /// [`Error::Storage`] saying what to change when the path is a directory
    /// (or a device, a pipe), its directory does not exist or is a file, it
    /// lies on a special file system that cannot hold files (`/proc`,
    /// `/sys`), or a thread cannot be started.
    pub fn build(self) -> Result<Client> {
        self.build_with_time_source(Arc::new(clock::SystemClocks::new()))
    }

    /// [`build`](Self::build) with the clocks read from `time` instead of
    /// the system's: for tests that play a device whose wall clock moves on
    /// while it sleeps, or is set back.
    #[doc(hidden)]
    pub fn build_with_time_source(self, time: Arc<dyn TimeSource>) -> Result<Client> {
        let config = Arc::new(self.config()?);
        storage_path::check(&config.storage_path)?;
        let path = paths::PathGuard::acquire(&config.storage_path)?;
        let clocks = Arc::new(clock::Clocks::new(time));
        let (tx, room, snapshot, handle) = worker::start(Arc::clone(&config), Arc::clone(&clocks))?;
        Ok(Client {
            plan: RwLock::new(config.tracking_plan.clone()),
            tx,
            clocks,
            generation: fork::generation_at_build(),
            room,
            config,
            snapshot,
            worker: Mutex::new(Some(handle)),
            _path: path,
        })
    }
}

/// Scratch buffers above this size are not kept for the next call.
const SCRATCH_KEEP_BYTES: usize = 64 * 1024;

thread_local! {
    // Properties and traits are written here and then copied into the call's
    // own buffer (see `model::Call`), so their JSON text costs no allocation.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// `kind`'s call for `subject` with `payload` (a JSON object or `null`) as
/// its `field`.
fn with_object(
    kind: EventKind,
    subject: &str,
    field: &str,
    payload: &Value,
    now_ms: i64,
) -> Result<Call> {
    SCRATCH.with(|cell| {
        // Taken rather than borrowed: a nested use would find it empty, not panic.
        let mut buf = cell.take();
        let call = match model::write_object(field, payload, &mut buf) {
            Ok(false) => Call::of(kind, subject, None, now_ms),
            // serde_json writes UTF-8: the error is never taken.
            Ok(true) => match std::str::from_utf8(&buf) {
                Ok(text) => Call::of(kind, subject, Some(text), now_ms),
                Err(_) => Err(Error::InvalidEvent(cat!(
                    field,
                    " could not be encoded as UTF-8"
                ))),
            },
            Err(e) => Err(e),
        };
        if buf.capacity() <= SCRATCH_KEEP_BYTES {
            cell.set(buf);
        }
        call
    })
}

/// [`Call::from_event`], its payload written into this thread's scratch buffer.
fn from_event(event: &Value, now_ms: i64) -> Result<Call> {
    SCRATCH.with(|cell| {
        // Taken rather than borrowed: a nested use would find it empty, not panic.
        let mut buf = cell.take();
        let call = Call::from_event_in(event, now_ms, &mut buf);
        if buf.capacity() <= SCRATCH_KEEP_BYTES {
            cell.set(buf);
        }
        call
    })
}

/// [`with_object`] for a payload given as JSON text.
fn with_text(
    kind: EventKind,
    subject: &str,
    field: &str,
    payload_json: &str,
    now_ms: i64,
) -> Result<Call> {
    model::object_text(field, payload_json).and_then(|p| Call::of(kind, subject, p, now_ms))
}

impl Client {
    /// The wall-clock time for the call being made (runtime/clock.rs).
    fn now(&self) -> i64 {
        self.clocks.stamp_ms()
    }

    /// Starts configuring a client for `write_key`; set at least
    /// [`endpoint`](ClientBuilder::endpoint), then call
    /// [`build`](ClientBuilder::build).
    pub fn builder(write_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(write_key)
    }

    /// The validated configuration this client runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Records that the user did `event`, with `properties` (a JSON object, or `null`).
    pub fn track(&self, event: &str, properties: Value) -> Result<()> {
        self.submit(with_object(
            EventKind::Track,
            event,
            "properties",
            &properties,
            self.now(),
        ))
    }

    /// Like [`track`](Self::track), with properties as JSON text (for callers that hold text).
    pub fn track_json(&self, event: &str, properties_json: &str) -> Result<()> {
        self.submit(with_text(
            EventKind::Track,
            event,
            "properties",
            properties_json,
            self.now(),
        ))
    }

    /// Says who the user is: every later event carries `user_id`, and `traits`
    /// (a JSON object, or `null`) are merged into the stored traits.
    pub fn identify(&self, user_id: &str, traits: Value) -> Result<()> {
        self.submit(with_object(
            EventKind::Identify,
            user_id,
            "traits",
            &traits,
            self.now(),
        ))
    }

    /// Like [`identify`](Self::identify), with traits as JSON text.
    pub fn identify_json(&self, user_id: &str, traits_json: &str) -> Result<()> {
        self.submit(with_text(
            EventKind::Identify,
            user_id,
            "traits",
            traits_json,
            self.now(),
        ))
    }

    /// Links the current user (or anonymous id) to `new_id`, which becomes the user id.
    pub fn alias(&self, new_id: &str) -> Result<()> {
        self.submit(Call::alias(new_id, self.now()))
    }

    /// Says the user belongs to `group_id`, with the group's `traits`.
    pub fn group(&self, group_id: &str, traits: Value) -> Result<()> {
        self.submit(with_object(
            EventKind::Group,
            group_id,
            "traits",
            &traits,
            self.now(),
        ))
    }

    /// Like [`group`](Self::group), with traits as JSON text.
    pub fn group_json(&self, group_id: &str, traits_json: &str) -> Result<()> {
        self.submit(with_text(
            EventKind::Group,
            group_id,
            "traits",
            traits_json,
            self.now(),
        ))
    }

    /// Records that a mobile screen `name` was viewed.
    pub fn screen(&self, name: &str, properties: Value) -> Result<()> {
        self.submit(with_object(
            EventKind::Screen,
            name,
            "properties",
            &properties,
            self.now(),
        ))
    }

    /// Like [`screen`](Self::screen), with properties as JSON text.
    pub fn screen_json(&self, name: &str, properties_json: &str) -> Result<()> {
        self.submit(with_text(
            EventKind::Screen,
            name,
            "properties",
            properties_json,
            self.now(),
        ))
    }

    /// Records that a web page `name` was viewed (the name may be empty).
    pub fn page(&self, name: &str, properties: Value) -> Result<()> {
        self.submit(with_object(
            EventKind::Page,
            name,
            "properties",
            &properties,
            self.now(),
        ))
    }

    /// Like [`page`](Self::page), with properties as JSON text.
    pub fn page_json(&self, name: &str, properties_json: &str) -> Result<()> {
        self.submit(with_text(
            EventKind::Page,
            name,
            "properties",
            properties_json,
            self.now(),
        ))
    }

    /// Records a complete Segment-spec event as given, for backend services
    /// (one user per request) and backfills: its `userId`, `anonymousId`,
    /// `previousId`, `messageId`, `timestamp` and `context` are kept, and the
    /// device identity is neither applied nor changed. See
    /// [`Call::from_event`] for what each `type` needs.
    pub fn enqueue(&self, event: &Value) -> Result<()> {
        self.submit(from_event(event, self.now()))
    }

    /// Like [`enqueue`](Self::enqueue), and stores `mark` in the buffer file
    /// in the same transaction as the event, under [`MARK_STATE_KEY`] in its
    /// `state` table: whoever reads the file after a crash finds the mark of
    /// the last event committed, never one whose event is not there.
    /// `cairn send` marks each event with its input line, so a re-run
    /// resumes exactly after it. An event that does not reach that commit
    /// (dropped on the way, or held for an undecided consent category)
    /// leaves the mark where it was.
    #[doc(hidden)]
    pub fn enqueue_marked(&self, event: &Value, mark: String) -> Result<()> {
        self.submit_marked(from_event(event, self.now()), Some(mark))
    }

    /// Like [`enqueue`](Self::enqueue), with the event as JSON text (one NDJSON line).
    pub fn enqueue_json(&self, event_json: &str) -> Result<()> {
        let value: Result<Value> = serde_json::from_str(event_json)
            .map_err(|e| Error::InvalidEvent(format!("the event is not valid JSON ({e})")));
        self.submit(value.and_then(|v| from_event(&v, self.now())))
    }

    /// Forgets the user on this device: clears user id, traits and group and
    /// makes a new anonymous id. Events already recorded keep their ids.
    pub fn reset(&self) -> Result<()> {
        crate::ids::rotate();
        self.send(Command::Reset)
    }

    /// Sends everything recorded so far and waits up to `timeout` for it to be
    /// delivered. Returns what was delivered meanwhile and what is left; what
    /// is left stays on disk and goes out later.
    ///
    /// Returns within `timeout`, or [`Error::Timeout`] if the worker could
    /// not answer by then plus [`ANSWER_GRACE`] (a disk that takes seconds
    /// to commit).
    pub fn flush(&self, timeout: Duration) -> Result<FlushReport> {
        let (reply, rx) = mpsc::channel();
        self.send(Command::Flush {
            deadline: deadline_after(timeout),
            reply,
        })?;
        self.wait_reply(&rx, "flush", timeout)
    }

    /// Flushes for up to `timeout`, then stops the worker. What is not
    /// delivered stays on disk for the next client on this file. Calls made
    /// after this return [`Error::ShutDown`].
    ///
    /// No upload starts after `timeout`; one already on the wire then is
    /// given up to [`ANSWER_GRACE`] more for its answer, which is recorded,
    /// so the next client does not send those events again. Returns within
    /// `timeout` plus that grace, or [`Error::Timeout`] (the worker then
    /// stops on its own once its disk answers).
    pub fn shutdown(&self, timeout: Duration) -> Result<FlushReport> {
        let (reply, rx) = mpsc::channel();
        self.send(Command::Shutdown {
            deadline: deadline_after(timeout),
            reply,
        })?;
        let report = self.wait_reply(&rx, "shutdown", timeout);
        if report.is_ok() {
            // The worker answers as it stops: the join is immediate.
            self.join_worker();
        }
        report
    }

    /// A snapshot of the queue, delivery and drops, as of the worker's last
    /// step (it is refreshed after every step, without touching disk here).
    /// Right after [`build`](ClientBuilder::build) it waits for the worker
    /// to load the buffer file.
    pub fn stats(&self) -> Stats {
        let mut stats = self.snapshot().stats;
        // Counted on the callers' threads as they wait, so read live.
        stats.waited_for_room = self.room.waits();
        stats
    }

    /// Counts a recording call that a front end refused before it reached
    /// cairn (text that cannot become UTF-8, a value JSON cannot hold) as
    /// dropped `invalid` in [`stats()`](Self::stats), as cairn counts the
    /// calls it refuses itself. The Kotlin and Python packages call it; a
    /// Rust caller never needs to.
    pub fn count_invalid_call(&self) {
        // A client that was shut down counts nothing more.
        let _ = self.send(Command::Dropped(DropReason::Invalid));
    }

    /// The anonymous id in force as of the worker's last step.
    pub fn anonymous_id(&self) -> String {
        self.snapshot().anonymous_id
    }

    /// The user id in force as of the worker's last step.
    pub fn user_id(&self) -> Option<String> {
        self.snapshot().user_id
    }

    /// Waits for the worker's first snapshot when it is still loading the
    /// buffer file (runtime/published.rs).
    fn snapshot(&self) -> Snapshot {
        if fork::forked_since(self.generation) {
            let mut s = self
                .snapshot
                .peek()
                .unwrap_or_else(|| published::failing(String::new()));
            let error = Error::Forked.message();
            s.stats.last_error = Some(error.clone());
            s.stats.storage = crate::stats::StorageState::Failing { error };
            return s;
        }
        self.snapshot.get()
    }

    /// Replaces the anonymous id (for example to reuse one the web app set).
    /// Fails with [`Error::InvalidEvent`] when it is blank or over
    /// [`MAX_NAME_BYTES`](crate::model::MAX_NAME_BYTES): every later event
    /// carries it. Not an event: a refusal is not counted in `stats()`.
    pub fn set_anonymous_id(&self, anonymous_id: &str) -> Result<()> {
        model::check_name(Subject::AnonymousId, anonymous_id)?;
        crate::ids::rotate();
        self.send(Command::SetAnonymousId(anonymous_id.to_string()))
    }

    /// Merges `context` (a JSON object, e.g. `{"app": {"version": "2.1"}}`)
    /// into the context of every later event; a `null` value removes a key.
    /// Values nested deeper than the context's share of
    /// [`MAX_PAYLOAD_DEPTH`](crate::model::MAX_PAYLOAD_DEPTH) are refused:
    /// every later event would carry them.
    pub fn set_context(&self, context: Value) -> Result<()> {
        match context {
            Value::Object(map) => {
                model::check_context_map(&map)?;
                self.send(Command::SetContext(map))
            }
            _ => Err(Error::InvalidEvent(
                "context must be a JSON object like {\"app\": {\"version\": \"2.1\"}}".into(),
            )),
        }
    }

    /// Like [`set_context`](Self::set_context), with the context as JSON text.
    pub fn set_context_json(&self, context_json: &str) -> Result<()> {
        let value: Value = serde_json::from_str(context_json)
            .map_err(|e| Error::InvalidEvent(format!("context is not valid JSON ({e})")))?;
        self.set_context(value)
    }

    /// Replaces the tracking plan (its JSON text, see docs/tracking-plans.md)
    /// for every call after this one; events already recorded keep the
    /// verdict they had. Fails with [`Error::InvalidConfig`] (field
    /// `tracking_plan`) naming where the plan is wrong; the plan in force
    /// then stays.
    pub fn set_tracking_plan(&self, plan_json: &str) -> Result<()> {
        let plan = TrackingPlan::parse(plan_json).map_err(|e| Error::InvalidConfig {
            field: "tracking_plan",
            reason: e.text(),
        })?;
        self.use_tracking_plan(Some(Arc::new(plan)))
    }

    /// Removes the tracking plan: later calls are not checked.
    pub fn remove_tracking_plan(&self) -> Result<()> {
        self.use_tracking_plan(None)
    }

    /// The tracking plan in force for the next call.
    pub fn tracking_plan(&self) -> Option<Arc<TrackingPlan>> {
        match self.plan.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn use_tracking_plan(&self, plan: Option<Arc<TrackingPlan>>) -> Result<()> {
        // Both under the lock: concurrent replacements reach the worker in
        // the order strict mode saw them.
        let mut slot = match self.plan.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.send(Command::SetTrackingPlan(plan.clone()))?;
        *slot = plan;
        Ok(())
    }

    /// Records the user's decision for one consent category. Granting the
    /// last undecided category the destination needs releases the events held
    /// in memory (with their original timestamps); denying or revoking one
    /// drops them and purges every not-yet-sent event from the buffer,
    /// compacting its file so nothing of them stays readable on disk.
    pub fn set_consent(&self, category: &str, state: ConsentState) -> Result<()> {
        model::check_name(Subject::ConsentCategory, category)?;
        self.send(Command::SetConsent(category.to_string(), state))
    }

    /// `true`: from this call on nothing is stored or sent, and the buffer is
    /// purged (and compacted, as by [`set_consent`](Self::set_consent)); it
    /// persists across restarts. `false` resumes recording.
    pub fn opt_out(&self, opted_out: bool) -> Result<()> {
        crate::ids::rotate();
        self.send(Command::OptOut(opted_out))
    }

    /// Erases the user from this device: queued events, identity, traits,
    /// group, consent decisions and session, and compacts the buffer file so
    /// nothing of them stays on disk. Returns the ids erased, so the app can
    /// ask the backend to delete them too. Waits up to `timeout` (it touches
    /// disk, so call it off the UI thread).
    pub fn forget(&self, timeout: Duration) -> Result<Forgotten> {
        crate::ids::rotate();
        let (reply, rx) = mpsc::channel();
        self.send(Command::Forget(reply))?;
        rx.recv_timeout(timeout).map_err(|_| Error::Timeout {
            what: "forget",
            timeout,
        })
    }

    /// Waits up to `timeout` until every call made before it is committed to
    /// the buffer file (it then survives the process being killed). Returns
    /// `false` if the events are held in memory because the disk is failing.
    pub fn commit(&self, timeout: Duration) -> Result<bool> {
        let (reply, rx) = mpsc::channel();
        self.send(Command::Commit(reply))?;
        rx.recv_timeout(timeout).map_err(|_| Error::Timeout {
            what: "commit",
            timeout,
        })
    }

    fn wait_reply(
        &self,
        rx: &mpsc::Receiver<FlushReport>,
        what: &'static str,
        timeout: Duration,
    ) -> Result<FlushReport> {
        // The worker answers at the deadline, or (shutdown) once the upload
        // on the wire then is answered, within the grace.
        match rx.recv_timeout(timeout.saturating_add(ANSWER_GRACE + REPLY_MARGIN)) {
            Ok(r) => Ok(r),
            // The worker is stuck on its disk: no honest count to give.
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout { what, timeout }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::ShutDown),
        }
    }

    /// [`Error::Forked`] in a process forked after this client was built.
    fn check_process(&self) -> Result<()> {
        if fork::forked_since(self.generation) {
            return Err(Error::Forked);
        }
        Ok(())
    }

    fn submit(&self, call: Result<Call>) -> Result<()> {
        self.submit_marked(call, None)
    }

    /// Checks `call` and hands it to the worker, with `mark` to commit
    /// with it ([`enqueue_marked`](Self::enqueue_marked)) if any.
    fn submit_marked(&self, call: Result<Call>, mark: Option<String>) -> Result<()> {
        self.check_process()?;
        let call = call.and_then(|c| c.check_size(self.config.max_event_bytes).map(|_| c));
        match call {
            Ok(call) => {
                if self.config.strict_tracking_plan {
                    if let Some(plan) = self.tracking_plan() {
                        if let Err(e) = crate::recorder::strict_check(&plan, &call) {
                            // Counted by the worker; the caller gets the error either way.
                            let _ = self.send(Command::Refused(e.clone()));
                            return Err(e);
                        }
                    }
                }
                match mark {
                    // Never dropped for room: the mark must not outrun it.
                    Some(mark) => self.send(Command::RecordMarked(Box::new((call, mark)))),
                    None if call.changes_identity() => self.send(Command::Record(call)),
                    None => self.send_event(call),
                }
            }
            Err(e) => {
                let reason = match e {
                    Error::EventTooLarge { .. } => DropReason::Oversize,
                    _ => DropReason::Invalid,
                };
                // If the worker is gone the error still reaches the caller.
                let _ = self.send(Command::Dropped(reason));
                Err(e)
            }
        }
    }

    fn send(&self, mut cmd: Command) -> Result<()> {
        self.check_process()?;
        loop {
            if self.room.spill.active() {
                // In order behind the spilled calls (runtime/spill.rs).
                match self.room.spill.push(cmd, 0, false, false) {
                    Pushed::Queued | Pushed::Full => return Ok(()),
                    Pushed::Closed => return Err(Error::ShutDown),
                    Pushed::NotSpilling(back) => cmd = back,
                }
            }
            let seen = self.room.takes();
            match self.tx.try_send(cmd) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Error::ShutDown),
                // A full channel waits for room: back-pressure instead of
                // losing calls. Not in the channel's own `send`, which wakes
                // a blocked sender once per slot freed (runtime/room.rs).
                Err(TrySendError::Full(back)) => {
                    cmd = back;
                    self.room.wait_past(seen);
                }
            }
        }
    }

    /// Sends an event call, waiting at most `record_wait` for room; past
    /// that it is spilled (runtime/spill.rs), and past the spill's bound the
    /// event is dropped and counted `overflow` (see
    /// [`DEFAULT_RECORD_WAIT`](crate::config::DEFAULT_RECORD_WAIT)).
    fn send_event(&self, call: Call) -> Result<()> {
        let mut cmd = Command::Record(call);
        // When this call first had to wait: the clock is read only then, so
        // the common path stays free of it.
        let mut waiting_since = None;
        let result = loop {
            if self.room.spill.active() {
                if self.room.spill.pacing() {
                    // Held to the worker's pace, within record_wait (runtime/spill.rs).
                    let seen = self.room.takes();
                    let since = *waiting_since.get_or_insert_with(Instant::now);
                    self.room
                        .wait_past_until(seen, since + room::timed_wait(self.config.record_wait));
                }
                let bytes = spilled_bytes(&cmd);
                match self.room.spill.push(cmd, bytes, true, false) {
                    Pushed::Queued => break Ok(()),
                    Pushed::Full => {
                        self.room.overflowed();
                        break Ok(());
                    }
                    Pushed::Closed => break Err(Error::ShutDown),
                    Pushed::NotSpilling(back) => cmd = back,
                }
            }
            let seen = self.room.takes();
            match self.tx.try_send(cmd) {
                Ok(()) => break Ok(()),
                Err(TrySendError::Disconnected(_)) => break Err(Error::ShutDown),
                Err(TrySendError::Full(back)) => {
                    cmd = back;
                    let since = *waiting_since.get_or_insert_with(Instant::now);
                    if !self
                        .room
                        .wait_past_until(seen, since + room::timed_wait(self.config.record_wait))
                    {
                        let bytes = spilled_bytes(&cmd);
                        break match self.room.spill.push(cmd, bytes, true, true) {
                            Pushed::Queued => Ok(()),
                            // (Not spilling is not an answer to a start.)
                            Pushed::Full | Pushed::NotSpilling(_) => {
                                self.room.overflowed();
                                Ok(())
                            }
                            Pushed::Closed => Err(Error::ShutDown),
                        };
                    }
                }
            }
        };
        if let Some(since) = waiting_since {
            self.room.waited_since(since);
        }
        result
    }

    fn join_worker(&self) {
        let handle = match self.worker.lock() {
            Ok(mut w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(h) = handle {
            // A panic in the worker has already been reported by the panic
            // hook; there is nothing more to do with it here.
            let _ = h.join();
        }
    }
}

impl Drop for Client {
    /// Commits what is pending and stops the worker without starting an
    /// upload; one already on the wire is given up to [`ANSWER_GRACE`] for
    /// its answer, so a released client never leaves the next one to send
    /// the same events again. In a forked child it does nothing: the worker
    /// is the parent's.
    fn drop(&mut self) {
        if fork::forked_since(self.generation) {
            // Its handle names a thread of the parent's: never join or
            // detach it here.
            let handle = match self.worker.get_mut() {
                Ok(w) => w.take(),
                Err(poisoned) => poisoned.into_inner().take(),
            };
            std::mem::forget(handle);
            return;
        }
        let (reply, _rx) = mpsc::channel();
        if self
            .send(Command::Shutdown {
                deadline: Instant::now(),
                reply,
            })
            .is_ok()
        {
            self.join_worker();
        }
    }
}

/// What a spilled call counts against the spill's bound: its slot and its text.
fn spilled_bytes(cmd: &Command) -> usize {
    let text = match cmd {
        Command::Record(call) => call.payload_bytes(),
        Command::RecordMarked(marked) => marked.0.payload_bytes() + marked.1.len(),
        _ => 0,
    };
    std::mem::size_of::<Command>() + text
}

/// The `state` key [`Client::enqueue_marked`] stores its mark under.
#[doc(hidden)]
pub const MARK_STATE_KEY: &str = "mark";

/// How long a stopping client waits for the answer to an upload already on
/// the wire (and a `flush` or `shutdown` caller for a worker busy on its
/// disk) beyond the timeout it was given: 1 s.
pub const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// What a `flush` or `shutdown` caller allows beyond that for the worker's
/// last commit and its reply.
const REPLY_MARGIN: Duration = Duration::from_millis(500);

/// `now + timeout`, or a century from now for a timeout too long to add
/// (`Duration::MAX` means "wait as long as it takes").
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        // Adding a century to a monotonic clock does not overflow on any
        // platform Rust supports; `now` itself is the last resort.
        .unwrap_or(now)
}
