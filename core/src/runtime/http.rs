//! A destination's upload threads: a compressor, which gzips each batch's
//! head (and the head of the batch prepared ahead while the one before is
//! out; see gzip.rs), and the HTTP thread, which writes the send time into
//! each request as it leaves, sends them with ureq, one at a time, and
//! hands the responses back to the worker as data.
//!
//! They decide nothing about what a response means (the wire module does)
//! and keep no state beyond the connection pool and the one batch held for
//! its turn, so a slow or stalled server only ever holds up these threads,
//! never recording.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;

use super::clock::Clocks;
use super::gzip::{self, DeflatedHead, Deflater, Heads};
use super::resolver::SharedResolver;
use super::worker::{Command, UploadDone};
use crate::config::Config;
use crate::engine::Upload;
use crate::wire::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY_BYTES};

/// Why an upload got no response from the server. The engine sees only its
/// text (it is sans-IO and built for the browser too); the type keeps the
/// cause for everything before it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The upload's events were purged (consent revoked, opt-out, `forget()`)
    /// before it left.
    #[error("not sent: its events were purged")]
    Purged,
    /// Compressing the batch failed.
    #[error("could not compress the batch: {0}")]
    Compress(#[source] std::io::Error),
    /// The batch prepared ahead was not kept for its turn (never expected:
    /// the engine hands over only what it prepared); it is encoded again.
    #[error("the batch prepared ahead was not kept; it is sent again")]
    NotHeld,
    /// The request failed before a response: refused, reset, timed out, a
    /// name that does not resolve.
    #[error("request to {url} failed: {source}")]
    Request {
        /// Where the batch was going.
        url: String,
        /// What ureq said.
        source: ureq::Error,
    },
}

/// What the worker hands a destination's upload threads.
#[derive(Debug)]
pub(crate) enum ToHttp {
    /// Send this upload (compressed first when it asks for gzip).
    Send(Upload),
    /// Compress this upload (`Engine::prepare_next`) and keep it for its
    /// turn: the batch before it is out.
    Hold(Upload),
    /// Send the upload held with this id: the answer before it came.
    Go(u64),
    /// Drop the upload held with this id: it will not be sent (its events
    /// were purged, or it is encoded again), so it is not kept in memory.
    Forget(u64),
}

/// An upload as the compressor hands it on: with gzip, its request's body
/// is only the tail, and `head` the rest, deflated.
struct Outgoing {
    upload: Upload,
    head: Option<Arc<DeflatedHead>>,
    /// Why compressing it failed, if it did.
    failed: Option<std::io::Error>,
}

impl Outgoing {
    /// The body as it goes on the wire, with `sent_ms` as its send time.
    fn body(&mut self, sent_ms: i64) -> Vec<u8> {
        let request = &mut self.upload.request;
        let mut body = std::mem::take(&mut request.body);
        if let Some(at) = request.sent_at.take() {
            // Where the body starts now: the head went to the compressor.
            let from = if self.head.is_some() {
                request.tail_from
            } else {
                0
            };
            let at = at.start.checked_sub(from).zip(at.end.checked_sub(from));
            // A range outside the body would be the wire's mistake: the time
            // it wrote stays, rather than a panic.
            if let Some((start, end)) = at.filter(|&(s, e)| s <= e && e <= body.len()) {
                body.splice(start..end, crate::time::iso8601_ms(sent_ms).into_bytes());
            }
        }
        match &self.head {
            Some(head) => gzip::member(head, &body),
            None => body,
        }
    }
}

/// What the compressor hands the HTTP thread.
enum Ready {
    Send(Outgoing),
    Hold(Outgoing),
    Go(u64),
    Forget(u64),
}

/// `upload` with its head deflated when it asks for gzip (by this
/// compressor, or by another destination's that had the same head).
fn compressed(heads: &Heads, deflater: &mut Deflater, mut upload: Upload) -> Outgoing {
    if !upload.request.gzip {
        return Outgoing {
            upload,
            head: None,
            failed: None,
        };
    }
    let request = &mut upload.request;
    let tail = request
        .body
        .split_off(request.tail_from.min(request.body.len()));
    let head = std::mem::replace(&mut request.body, tail);
    match heads.deflate(deflater, head) {
        Ok(head) => Outgoing {
            upload,
            head: Some(head),
            failed: None,
        },
        Err(e) => Outgoing {
            upload,
            head: None,
            failed: Some(e),
        },
    }
}

/// Uploads with an id at or below this are not sent (their events were
/// purged by a consent revocation, an opt-out or `forget()` before they left).
pub(crate) type CancelBelow = Arc<AtomicU64>;

/// What a client's upload threads share.
#[derive(Clone)]
pub(crate) struct Shared {
    /// Each request's send time is read here as it leaves.
    pub(crate) clocks: Arc<Clocks>,
    /// Heads deflated lately, for destinations that send the same bytes.
    pub(crate) heads: Arc<Heads>,
    /// Uploads at or below this id are not sent.
    pub(crate) cancel: CancelBelow,
}

/// Starts a destination's compressor and HTTP thread. Results go to
/// `done`; `wake` then nudges the worker (never blocking: a full channel
/// means the worker is up anyway).
pub(crate) fn start(
    config: &Config,
    rx: Receiver<ToHttp>,
    done: Sender<UploadDone>,
    wake: SyncSender<Command>,
    shared: &Shared,
) -> std::io::Result<()> {
    let (clocks, heads, cancel) = (
        Arc::clone(&shared.clocks),
        Arc::clone(&shared.heads),
        Arc::clone(&shared.cancel),
    );
    let agent_config = ureq::Agent::config_builder()
        .timeout_global(Some(config.request_timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(format!("cairn/{}", crate::VERSION))
        .build();
    let resolver = SharedResolver::default();
    let agent = ureq::Agent::with_parts(
        agent_config,
        ureq::unversioned::transport::DefaultConnector::default(),
        resolver.clone(),
    );
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("cairn-gzip".into())
        .spawn(move || {
            let mut deflater = Deflater::new();
            for message in rx {
                let ready = match message {
                    ToHttp::Send(upload) => Ready::Send(compressed(&heads, &mut deflater, upload)),
                    ToHttp::Hold(upload) => Ready::Hold(compressed(&heads, &mut deflater, upload)),
                    ToHttp::Go(id) => Ready::Go(id),
                    ToHttp::Forget(id) => Ready::Forget(id),
                };
                if ready_tx.send(ready).is_err() {
                    return;
                }
            }
        })?;
    std::thread::Builder::new()
        .name("cairn-http".into())
        .spawn(move || {
            let mut held: Option<Outgoing> = None;
            for ready in ready_rx {
                let (id, result) = match ready {
                    Ready::Hold(outgoing) => {
                        held = Some(outgoing);
                        continue;
                    }
                    Ready::Forget(id) => {
                        held = held.filter(|o| o.upload.id != id);
                        continue;
                    }
                    // Whatever goes, a batch held before it is stale.
                    Ready::Send(outgoing) => {
                        held = None;
                        (
                            outgoing.upload.id,
                            deliver(&agent, outgoing, &cancel, &clocks),
                        )
                    }
                    Ready::Go(id) => match held.take() {
                        Some(outgoing) if outgoing.upload.id == id => {
                            (id, deliver(&agent, outgoing, &cancel, &clocks))
                        }
                        _ => (id, Err(TransportError::NotHeld)),
                    },
                };
                if let Err(TransportError::Request { .. }) = result {
                    // The host may have moved: look it up again next time.
                    resolver.forget();
                }
                if done.send(UploadDone { id, result }).is_err() {
                    return;
                }
                // Full: the worker has calls to handle and takes the result first.
                // Disconnected: the worker is gone and the loop ends with `rx`.
                let _ = wake.try_send(Command::Wake);
            }
        })?;
    Ok(())
}

/// Sends `outgoing`, stamped with the time it leaves, unless its events
/// were purged or it could not be compressed.
fn deliver(
    agent: &ureq::Agent,
    mut outgoing: Outgoing,
    cancel: &CancelBelow,
    clocks: &Clocks,
) -> Result<HttpResponse, TransportError> {
    if outgoing.upload.id <= cancel.load(Ordering::SeqCst) {
        return Err(TransportError::Purged);
    }
    if let Some(e) = outgoing.failed.take() {
        return Err(TransportError::Compress(e));
    }
    let body = outgoing.body(clocks.stamp_ms());
    send(agent, &outgoing.upload.request, &body)
}

/// Sends `req` with `body`, which is gzip already when it asks for gzip.
fn send(
    agent: &ureq::Agent,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, TransportError> {
    let mut builder = agent.post(&req.url);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let response = if req.gzip {
        builder.header("Content-Encoding", "gzip").send(body)
    } else {
        builder.send(body)
    };
    let response = response.map_err(|source| TransportError::Request {
        url: req.url.clone(),
        source,
    })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    // Reading the body lets the connection be reused; only its start is
    // kept, long enough for a per-event answer (Amplitude's index lists).
    let _ = response
        .into_body()
        .into_reader()
        .take(MAX_RESPONSE_BODY_BYTES as u64)
        .read_to_end(&mut body);
    Ok(HttpResponse {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused connection is a `Request` error that names the URL and
    /// keeps ureq's error (and the OS error under it) as its source.
    #[test]
    fn a_refused_connection_keeps_its_cause() {
        // A port that was just free: nothing listens on it any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1/batch");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let req = HttpRequest {
            url: url.clone(),
            headers: vec![],
            body: Vec::new(),
            gzip: true,
            tail_from: 0,
            sent_at: None,
        };
        let err = send(&agent, &req, b"{}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("request to {url} failed: ")),
            "{err}"
        );
        let TransportError::Request { source, .. } = &err else {
            panic!("not a request error: {err:?}");
        };
        let io = match source {
            ureq::Error::Io(io) => io.kind(),
            other => panic!("not an I/O error: {other:?}"),
        };
        assert_eq!(io, std::io::ErrorKind::ConnectionRefused);
        assert!(std::error::Error::source(&err).is_some());
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use crate::store::StoredEvent;
    use crate::wire::{SegmentWire, Wire};
    use std::io::Read;

    const ENCODED_MS: i64 = 1_764_900_000_000;
    const SENT_MS: i64 = ENCODED_MS + 3_600_000;

    fn upload(gzip: bool) -> Upload {
        let events: Vec<StoredEvent> = (1..=3)
            .map(|seq| StoredEvent {
                seq,
                message_id: format!("m{seq}"),
                created_ms: ENCODED_MS,
                json: format!("{{\"type\":\"track\",\"event\":\"E{seq}\"}}"),
            })
            .collect();
        Upload {
            id: 1,
            destination: 0,
            request: SegmentWire::new("http://h", "key", gzip).encode(&events, ENCODED_MS),
            events: 3,
            prepared: false,
        }
    }

    fn sent_at(body: &[u8]) -> serde_json::Value {
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["batch"].as_array().unwrap().len(), 3);
        assert_eq!(json["writeKey"], "key");
        json["sentAt"].clone()
    }

    /// The body that leaves carries the time it leaves, gzip or not.
    #[test]
    fn the_body_carries_the_time_it_leaves() {
        let sent = crate::time::iso8601_ms(SENT_MS);
        let mut plain = compressed(&Heads::new(1), &mut Deflater::new(), upload(false));
        assert_eq!(sent_at(&plain.body(SENT_MS)), sent.as_str());
        let mut packed = compressed(&Heads::new(1), &mut Deflater::new(), upload(true));
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(&packed.body(SENT_MS)[..])
            .read_to_end(&mut body)
            .unwrap();
        assert_eq!(sent_at(&body), sent.as_str());
    }

    /// A send-time range outside the body (the wire's mistake) leaves the
    /// time it wrote, and no panic.
    #[test]
    fn a_send_time_outside_the_body_is_left_alone() {
        let mut outgoing = compressed(&Heads::new(1), &mut Deflater::new(), upload(false));
        outgoing.upload.request.sent_at = Some(10_000..10_024);
        let encoded = crate::time::iso8601_ms(ENCODED_MS);
        assert_eq!(sent_at(&outgoing.body(SENT_MS)), encoded.as_str());
    }
}
