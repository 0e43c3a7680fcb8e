//! A local Segment/RudderStack-compatible collector: `POST /v1/batch` and
//! `GET /stats` on 127.0.0.1, for the `cairn collect` command, the demo and
//! end-to-end tests.
//!
//! This module decides the collector's public face and its memory: what it
//! keeps (every event and every batch request, in arrival order), which
//! faults it injects next, and how a caller waits for events. Speaking HTTP is
//! `http`'s job, what a request means is `server`'s, what breaks the spec is
//! `check`'s and how a line looks is `print`'s.
//!
//! ```no_run
//! use std::time::Duration;
//! use cairn_cli::collector::{Collector, CollectorConfig, Fault};
//!
//! let collector = Collector::start(CollectorConfig::default())?;
//! collector.push_faults([Fault::Status(503), Fault::StoreThenDrop]);
//! // ... point a cairn::Client at collector.endpoint() and record events ...
//! assert!(collector.wait_for_events(3, Duration::from_secs(5)));
//! # Ok::<(), std::io::Error>(())
//! ```

mod check;
pub mod formats;
mod http;
mod print;
mod scan;
mod server;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

pub use check::{check_event, is_iso8601, EVENT_TYPES};

/// Where the collector's readable lines go when `print` is on: standard
/// output by default, or any writer (the demo and tests pass a shared buffer).
pub type Output = Arc<Mutex<dyn Write + Send>>;

/// How to run a [`Collector`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Port on 127.0.0.1 to listen on; 0 picks any free port (see [`Collector::port`]).
    pub port: u16,
    /// When set, a batch whose Basic-auth user is not this key is answered 401
    /// and nothing of it is stored.
    pub write_key: Option<String>,
    /// When set, every stored event is appended to this file as one NDJSON line.
    pub out: Option<PathBuf>,
    /// Print one readable line per stored event (and per refused batch).
    pub print: bool,
    /// What is kept of each event; see [`Retain`].
    pub retain: Retain,
}

/// What the collector keeps of each event it stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Retain {
    /// The whole event as JSON, and every request's decoded body: what tests
    /// and `cairn collect` read back. Costs a parsed tree per event.
    #[default]
    Everything,
    /// Only a [`Digest`] of each event, and no request bodies: for load
    /// tests, where keeping millions of parsed events would make the
    /// receiving end the bottleneck. Each event's `type` and `messageId` are
    /// still checked (a missing id or an unknown type counts as invalid);
    /// the full spec check runs on the first event of every batch.
    Digests,
}

/// The part of a stored event that says which event it is: enough to count
/// lost and duplicated events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The event's `type` (`track`, `identify`, ...).
    pub event_type: String,
    /// Its `messageId` (`""` when it had none).
    pub message_id: String,
    /// Its `properties.index`, when that is a non-negative integer: load
    /// generators number their events with it.
    pub index: Option<u64>,
}

impl Digest {
    /// The digest of a whole event.
    pub fn of(event: &Value) -> Digest {
        let text = |k: &str| {
            event
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        Digest {
            event_type: text("type"),
            message_id: text("messageId"),
            index: event
                .get("properties")
                .and_then(|p| p.get("index"))
                .and_then(Value::as_u64),
        }
    }
}

/// A misbehaviour to inject into the answer to a `/v1/batch` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a short JSON error body; store nothing.
    Status(u16),
    /// Like [`Fault::Status`], with a `Retry-After` header carrying the string.
    StatusRetryAfter(u16, String),
    /// Store the events, then close the connection without any response: an
    /// acknowledgement lost on the way back. The client should send them
    /// again, with the same message ids.
    StoreThenDrop,
    /// Close the connection without reading the body or answering; store nothing.
    DropConnection,
    /// Wait this long, then handle the request normally (store, answer 200).
    Stall(Duration),
    /// Answer 400 to a batch holding an event whose JSON text contains this
    /// string, storing nothing of it; handle other batches normally. What a
    /// strict backend does with one event it cannot read: set it with
    /// [`Collector::set_down`] to refuse every batch that carries a marker.
    Refuse(String),
    /// Answer 500 to a batch holding an event whose JSON text contains this
    /// string, storing nothing of it; handle other batches (an empty one
    /// too) normally. What a backend does with an event that crashes its
    /// handler: a poison event.
    Crash(String),
}

/// One request to `/v1/batch`, as it arrived and as it was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// The request path, without query string (`/v1/batch`).
    pub path: String,
    /// Every header, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// Whether the body was sent with `Content-Encoding: gzip`.
    pub gzip: bool,
    /// The decoded (gunzipped) JSON body, or `Value::Null` if it could not be
    /// read or parsed (or was never read, for [`Fault::DropConnection`]).
    pub body: Value,
    /// The status answered; 0 when the connection was dropped without an
    /// answer (or while the answer is still being prepared, during a stall).
    pub status: u16,
}

impl ReceivedRequest {
    /// The first header named `name` (give it lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The events of this request's `batch`, if its body had one.
    pub fn batch(&self) -> &[Value] {
        self.body
            .get("batch")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
}

/// The counters `GET /stats` answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CollectorStats {
    /// Requests to `/v1/batch`, whatever their answer.
    pub requests: u64,
    /// Events stored (duplicates included).
    pub events: u64,
    /// Stored events that break Segment's spec (see [`check_event`]).
    pub invalid: u64,
}

/// A running collector. It stops when [`stop`](Self::stop)ped or dropped.
pub struct Collector {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// What the server threads and the [`Collector`] handle share.
pub(crate) struct Shared {
    write_key: Option<String>,
    print: bool,
    retain: Retain,
    output: Output,
    stop: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    events: Vec<Value>,
    digests: Vec<Digest>,
    requests: Vec<ReceivedRequest>,
    invalid: u64,
    faults: VecDeque<Fault>,
    down: Option<Fault>,
    out: Option<OutFile>,
    /// When the first events since the last clear were stored.
    first_stored: Option<Instant>,
}

struct OutFile {
    path: PathBuf,
    file: File,
    failed: bool,
}

impl Collector {
    /// Binds 127.0.0.1 on `config.port` and serves in background threads
    /// (one per connection), printing to standard output when `config.print`
    /// is on.
    ///
    /// Fails when the port is taken or the `out` file cannot be opened for
    /// appending; the error says which.
    pub fn start(config: CollectorConfig) -> io::Result<Collector> {
        Collector::start_with_output(config, Arc::new(Mutex::new(io::stdout())))
    }

    /// Like [`start`](Self::start), printing readable lines to `output`
    /// instead of standard output.
    pub fn start_with_output(config: CollectorConfig, output: Output) -> io::Result<Collector> {
        let out = match &config.out {
            None => None,
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "cannot open the events file {} for appending: {e}",
                                path.display()
                            ),
                        )
                    })?;
                Some(OutFile {
                    path: path.clone(),
                    file,
                    failed: false,
                })
            }
        };
        let listener = TcpListener::bind(("127.0.0.1", config.port)).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::AddrInUse {
                "; another program uses it: choose another port, or 0 for any free one"
            } else {
                ""
            };
            io::Error::new(
                e.kind(),
                format!("cannot listen on 127.0.0.1:{}: {e}{hint}", config.port),
            )
        })?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            write_key: config.write_key,
            print: config.print,
            retain: config.retain,
            output,
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                out,
                ..State::default()
            }),
            changed: Condvar::new(),
            connections: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("collector-{}", addr.port()))
            .spawn(move || server::accept_loop(listener, for_thread))?;
        Ok(Collector {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The base URL to give a client: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// The port it listens on (the one picked when the config said 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every event stored so far, in arrival order, duplicates included
    /// (none under [`Retain::Digests`]: see [`digests`](Self::digests)).
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// A [`Digest`] of every event stored so far, in arrival order,
    /// whatever [`Retain`] says.
    pub fn digests(&self) -> Vec<Digest> {
        let state = self.shared.lock();
        match self.shared.retain {
            Retain::Everything => state.events.iter().map(Digest::of).collect(),
            Retain::Digests => state.digests.clone(),
        }
    }

    /// The `messageId` of every stored event, in arrival order (`""` when an
    /// event has none).
    pub fn message_ids(&self) -> Vec<String> {
        self.digests().into_iter().map(|d| d.message_id).collect()
    }

    /// Every request to `/v1/batch` so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The counters `GET /stats` answers.
    pub fn stats(&self) -> CollectorStats {
        self.shared.stats()
    }

    /// Queues faults: each next `/v1/batch` request consumes one, in order.
    /// Once the queue is empty requests are served normally (stored, 200).
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().faults.extend(faults);
    }

    /// Faults queued and not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.len()
    }

    /// While `Some`, every `/v1/batch` request gets this fault (an outage),
    /// ahead of any queued fault; `None` brings the server back.
    pub fn set_down(&self, fault: Option<Fault>) {
        self.shared.lock().down = fault;
    }

    /// Forgets stored events, requests, counters and queued faults (not the
    /// outage set by [`set_down`](Self::set_down)), so one collector can
    /// serve several test phases.
    pub fn clear(&self) {
        let mut state = self.shared.lock();
        state.events.clear();
        state.digests.clear();
        state.requests.clear();
        state.invalid = 0;
        state.faults.clear();
        state.first_stored = None;
    }

    /// When the first events since the start or the last
    /// [`clear`](Self::clear) were stored (`None`: none yet): how long a
    /// client took to find the collector back after an outage.
    pub fn first_stored_at(&self) -> Option<Instant> {
        self.shared.lock().first_stored
    }

    /// Waits until at least `n` events are stored; true if they were within `timeout`.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.stored() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.changed.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Stops listening, closes connections and waits for the server threads
    /// (a stall in progress is cut short). Dropping the collector does the same.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept loop blocks in accept(): a connection wakes it to see the flag.
        if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
            // A panic in the accept thread was already reported by the panic hook.
            let _ = accept.join();
        }
        let handles = std::mem::take(
            &mut *self
                .shared
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What a `/v1/batch` request turned out to be, for [`Shared::finish_request`].
pub(crate) struct Finished {
    pub status: u16,
    pub body: Value,
    /// Why it was not stored, for the printed line; `None` when it was.
    pub refused: Option<String>,
}

impl State {
    /// Events stored, whichever way they are kept.
    fn stored(&self) -> usize {
        self.events.len() + self.digests.len()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub(crate) fn write_key(&self) -> Option<&str> {
        self.write_key.as_deref()
    }

    pub(crate) fn retain(&self) -> Retain {
        self.retain
    }

    /// Stores the digests of a batch taken under [`Retain::Digests`], with
    /// how many of its events were found invalid.
    pub(crate) fn store_digests(&self, digests: Vec<Digest>, invalid: u64) {
        if digests.is_empty() {
            return;
        }
        let mut state = self.lock();
        state.invalid += invalid;
        state.first_stored.get_or_insert_with(Instant::now);
        state.digests.extend(digests);
        drop(state);
        self.changed.notify_all();
    }

    pub(crate) fn stats(&self) -> CollectorStats {
        let state = self.lock();
        CollectorStats {
            requests: state.requests.len() as u64,
            events: state.stored() as u64,
            invalid: state.invalid,
        }
    }

    /// Keeps a connection thread's handle so [`Collector::stop`] can join it;
    /// forgets the ones that have finished.
    pub(crate) fn track_connection(&self, handle: JoinHandle<()>) {
        let mut conns = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conns.retain(|h| !h.is_finished());
        conns.push(handle);
    }

    /// Records a new `/v1/batch` request and picks its fault: the outage if
    /// the server is down, else the next queued one. Returns the request's index.
    pub(crate) fn begin_request(
        &self,
        path: &str,
        headers: &[(String, String)],
    ) -> (usize, Option<Fault>) {
        let mut state = self.lock();
        let fault = match &state.down {
            Some(f) => Some(f.clone()),
            None => state.faults.pop_front(),
        };
        let gzip = headers
            .iter()
            .any(|(n, v)| n == "content-encoding" && v.eq_ignore_ascii_case("gzip"));
        state.requests.push(ReceivedRequest {
            path: path.to_string(),
            headers: headers.to_vec(),
            gzip,
            body: Value::Null,
            status: 0,
        });
        (state.requests.len() - 1, fault)
    }

    /// Fills in what request `index` carried and how it was answered, and
    /// prints a line when it was refused.
    pub(crate) fn finish_request(&self, index: usize, done: Finished) {
        {
            let mut state = self.lock();
            if let Some(r) = state.requests.get_mut(index) {
                r.status = done.status;
                r.body = done.body;
            }
        }
        if let Some(why) = done.refused {
            self.print_line(&print::refused_line(&print::clock(), done.status, &why));
        }
    }

    /// Stores `events` in order: flags, counts, appends to the NDJSON file,
    /// prints, and wakes [`Collector::wait_for_events`].
    pub(crate) fn store(&self, events: Vec<Value>) {
        if events.is_empty() {
            return;
        }
        let time = print::clock();
        let mut state = self.lock();
        let mut ndjson = String::new();
        let mut lines = String::new();
        for event in &events {
            let problems = check_event(event);
            if !problems.is_empty() {
                state.invalid += 1;
            }
            if state.out.is_some() {
                ndjson.push_str(&event.to_string());
                ndjson.push('\n');
            }
            if self.print {
                lines.push_str(&print::event_line(&time, event, &problems));
                lines.push('\n');
                for v in print::violation_lines(event) {
                    lines.push_str(&v);
                    lines.push('\n');
                }
            }
        }
        if let Some(out) = state.out.as_mut() {
            if let Err(e) = out.file.write_all(ndjson.as_bytes()) {
                if !out.failed {
                    eprintln!(
                        "collector: cannot append to {}: {e}; events are still kept in memory",
                        out.path.display()
                    );
                }
                out.failed = true;
            }
        }
        if self.print {
            // Printing under the state lock keeps lines in arrival order.
            let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
            // A closed terminal or pipe must not stop the collector.
            let _ = output
                .write_all(lines.as_bytes())
                .and_then(|_| output.flush());
        }
        if !events.is_empty() {
            state.first_stored.get_or_insert_with(Instant::now);
        }
        state.events.extend(events);
        drop(state);
        self.changed.notify_all();
    }

    fn print_line(&self, line: &str) {
        if !self.print {
            return;
        }
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        // A closed terminal or pipe must not stop the collector.
        let _ = writeln!(output, "{line}").and_then(|_| output.flush());
    }
}
