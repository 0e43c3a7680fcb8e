//! The worker thread: owns the engine, the store and the identity, and turns
//! commands from the API into engine inputs.
//!
//! Each wake-up it takes every command waiting (up to [`GROUP_COMMIT_MAX`]),
//! stamps the recorded calls with the identity in force at that point, and
//! commits them with any identity change in one transaction. Then it lets the
//! engine start an upload, answers `flush` callers whose events are delivered
//! (or whose time is up), and publishes a fresh `stats()` snapshot.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use super::clock::wall_ms;
use super::http;
use super::FlushReport;
use crate::config::Config;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::identity::{self, Identity};
use crate::model::{encode, Call, Stamp};
use crate::stats::{DropReason, Stats};
use crate::store::{NewEvent, SqliteStore, Store};
use crate::wire::{HttpResponse, SegmentWire};

/// Most commands committed in one transaction.
pub(crate) const GROUP_COMMIT_MAX: usize = 2_000;

/// What the API and the HTTP thread tell the worker.
pub(crate) enum Command {
    Record(Box<Call>),
    Reset,
    Dropped(DropReason),
    Flush { deadline: Instant, reply: Sender<FlushReport> },
    Shutdown { deadline: Instant, reply: Sender<FlushReport> },
    UploadDone { id: u64, result: std::result::Result<HttpResponse, String> },
}

struct Waiter {
    target: u64,
    deadline: Instant,
    delivered_at_start: u64,
    reply: Sender<FlushReport>,
}

struct Worker {
    config: Arc<Config>,
    engine: Engine,
    identity: Identity,
    context: Box<RawValue>,
    pending: Vec<NewEvent>,
    pending_state: Vec<(String, Option<String>)>,
    waiters: Vec<Waiter>,
    shutdown: Option<Waiter>,
    http: Sender<crate::engine::Upload>,
    stats: Arc<Mutex<Stats>>,
}

type Started = (SyncSender<Command>, Arc<Mutex<Stats>>, JoinHandle<()>);

/// Opens the store, loads the identity and starts the worker and HTTP threads.
pub(crate) fn start(config: Arc<Config>) -> Result<Started> {
    let mut store = SqliteStore::open(&config.storage_path).map_err(|e| Error::Storage {
        path: config.storage_path.display().to_string(),
        reason: format!("{e}; check that the directory exists and is writable"),
    })?;
    if let Some(aside) = store.moved_aside() {
        log::warn!("cairn: the buffer file was corrupt and was moved to {}", aside.display());
    }
    let mut initial_state = Vec::new();
    let identity = match store.get_state(identity::STATE_KEY).ok().flatten().and_then(|t| Identity::from_json(&t)) {
        Some(id) => id,
        None => {
            let id = Identity::new();
            initial_state.push((identity::STATE_KEY.to_string(), Some(id.to_json())));
            id
        }
    };
    let now = wall_ms();
    let wire = SegmentWire::new(&config.endpoint, &config.write_key, config.gzip);
    let seed = uuid::Uuid::new_v4().as_u64_pair().0;
    let mut engine = Engine::new(EngineConfig::from(config.as_ref()), Box::new(store), Box::new(wire), seed, now);
    engine.record(Vec::new(), initial_state, now);
    let stats = Arc::new(Mutex::new(engine.stats(now)));

    let (tx, rx) = mpsc::sync_channel(config.max_pending_calls);
    let (http_tx, http_rx) = mpsc::channel();
    http::start(&config, http_rx, tx.clone()).map_err(|e| Error::Storage {
        path: config.storage_path.display().to_string(),
        reason: format!("could not start the upload thread: {e}"),
    })?;
    let context = library_context();
    let worker = Worker {
        config,
        engine,
        identity,
        context,
        pending: Vec::new(),
        pending_state: Vec::new(),
        waiters: Vec::new(),
        shutdown: None,
        http: http_tx,
        stats: Arc::clone(&stats),
    };
    let handle = std::thread::Builder::new()
        .name("cairn-worker".into())
        .spawn(move || worker.run(rx))
        .map_err(|e| Error::Storage { path: String::new(), reason: format!("could not start the worker thread: {e}") })?;
    Ok((tx, stats, handle))
}

fn library_context() -> Box<RawValue> {
    let ctx = serde_json::json!({ "library": { "name": crate::LIBRARY_NAME, "version": crate::VERSION } });
    // A JSON value always serializes to valid raw JSON.
    serde_json::value::to_raw_value(&ctx).unwrap_or_else(|_| RawValue::from_string("{}".into()).expect("{} is valid JSON"))
}

impl Worker {
    fn run(mut self, rx: Receiver<Command>) {
        loop {
            let now = wall_ms();
            let first = match self.wait_time(now) {
                Some(d) => rx.recv_timeout(d),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match first {
                Ok(cmd) => {
                    self.handle(cmd);
                    for cmd in rx.try_iter().take(GROUP_COMMIT_MAX) {
                        self.handle(cmd);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Every Client is gone: commit what is pending and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    self.commit();
                    return;
                }
            }
            self.commit();
            self.pump();
            self.answer_waiters();
            self.publish();
            if self.finish_shutdown() {
                return;
            }
        }
    }

    /// How long to sleep: until the engine's next wake-up or the nearest
    /// flush deadline; `None` waits for the next command.
    fn wait_time(&self, now: i64) -> Option<Duration> {
        let engine = self.engine.next_wakeup(now).map(|t| Duration::from_millis((t - now).max(0) as u64));
        let deadline = self.waiters.iter().chain(self.shutdown.iter()).map(|w| w.deadline).min();
        let deadline = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match (engine, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Record(call) => self.stamp(&call),
            Command::Reset => {
                self.identity.reset();
                self.pending_state.push((identity::STATE_KEY.into(), Some(self.identity.to_json())));
            }
            Command::Dropped(reason) => self.engine.count_external_drop(reason, 1, wall_ms()),
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
            Command::UploadDone { id, result } => self.engine.on_upload_result(id, result, wall_ms()),
        }
    }

    fn waiter(&self, deadline: Instant, reply: Sender<FlushReport>) -> Waiter {
        Waiter { target: self.engine.last_seq(), deadline, delivered_at_start: self.engine.delivered(), reply }
    }

    /// Applies identity to `call` in recording order and encodes its event.
    fn stamp(&mut self, call: &Call) {
        let before = self.identity.clone();
        let ids = self.identity.apply(call);
        let stamp = Stamp {
            anonymous_id: &ids.anonymous_id,
            user_id: ids.user_id.as_deref(),
            previous_id: ids.previous_id.as_deref(),
            group_id: ids.group_id.as_deref(),
            context: &self.context,
        };
        let json = encode(call, &stamp);
        if self.identity != before {
            self.pending_state.push((identity::STATE_KEY.into(), Some(self.identity.to_json())));
        }
        if json.len() > self.config.max_event_bytes {
            log::warn!("cairn: event {} is {} bytes with its envelope, over max_event_bytes; dropped", call.message_id, json.len());
            self.engine.count_external_drop(DropReason::Oversize, 1, wall_ms());
            return;
        }
        self.pending.push(NewEvent { message_id: call.message_id.clone(), created_ms: call.timestamp_ms, json });
    }

    fn commit(&mut self) {
        if self.pending.is_empty() && self.pending_state.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.pending);
        let state = std::mem::take(&mut self.pending_state);
        self.engine.record(events, state, wall_ms());
    }

    fn pump(&mut self) {
        while let Some(upload) = self.engine.poll_upload(wall_ms()) {
            let id = upload.id;
            if self.http.send(upload).is_err() {
                // The HTTP thread is gone (it only stops when the worker
                // does); report the upload as failed so it is retried.
                self.engine.on_upload_result(id, Err("upload thread stopped".into()), wall_ms());
                break;
            }
        }
    }

    fn report(&self, w: &Waiter) -> FlushReport {
        FlushReport {
            delivered: self.engine.delivered() - w.delivered_at_start,
            remaining: self.engine.queued_events(),
        }
    }

    fn answer_waiters(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.waiters.len() {
            let w = &self.waiters[i];
            if self.engine.delivered_through(w.target) || now >= w.deadline || self.engine.auth_failed() {
                let w = self.waiters.swap_remove(i);
                // The caller may have given up waiting; nothing to do then.
                let _ = w.reply.send(self.report(&w));
            } else {
                i += 1;
            }
        }
    }

    fn finish_shutdown(&mut self) -> bool {
        let Some(w) = &self.shutdown else { return false };
        let done = self.engine.delivered_through(w.target) || Instant::now() >= w.deadline || self.engine.auth_failed();
        if !done {
            return false;
        }
        if let Some(w) = self.shutdown.take() {
            let _ = w.reply.send(self.report(&w));
        }
        for w in std::mem::take(&mut self.waiters) {
            let _ = w.reply.send(self.report(&w));
        }
        true
    }

    fn publish(&mut self) {
        let s = self.engine.stats(wall_ms());
        match self.stats.lock() {
            Ok(mut slot) => *slot = s,
            Err(poisoned) => *poisoned.into_inner() = s,
        }
    }
}
