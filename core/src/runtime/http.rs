//! A destination's upload threads: a compressor, which gzips each batch
//! (and the batch prepared ahead while the one before is out), and the HTTP
//! thread, which sends them with ureq, one at a time, and hands the
//! responses back to the worker as data.
//!
//! They decide nothing about what a response means (the wire module does)
//! and keep no state beyond the connection pool and the one batch held for
//! its turn, so a slow or stalled server only ever holds up these threads,
//! never recording.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::Arc;

use flate2::{Compress, Compression, FlushCompress, Status};

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

/// An upload with its body as it goes on the wire (gzip when asked).
struct Outgoing {
    upload: Upload,
    /// Why compressing it failed, if it did.
    failed: Option<std::io::Error>,
}

/// What the compressor hands the HTTP thread.
enum Ready {
    Send(Outgoing),
    Hold(Outgoing),
    Go(u64),
    Forget(u64),
}

/// `upload` with its body compressed when it asks for gzip.
fn compressed(gzip: &mut Gzip, mut upload: Upload) -> Outgoing {
    if !upload.request.gzip {
        return Outgoing {
            upload,
            failed: None,
        };
    }
    match gzip.compress(&upload.request.body) {
        Ok(body) => {
            upload.request.body = body;
            Outgoing {
                upload,
                failed: None,
            }
        }
        Err(e) => Outgoing {
            upload,
            failed: Some(e),
        },
    }
}

/// Uploads with an id at or below this are not sent (their events were
/// purged by a consent revocation, an opt-out or `forget()` before they left).
pub(crate) type CancelBelow = Arc<AtomicU64>;

/// Starts a destination's compressor and HTTP thread. Results go to
/// `done`; `wake` then nudges the worker (never blocking: a full channel
/// means the worker is up anyway).
pub(crate) fn start(
    config: &Config,
    rx: Receiver<ToHttp>,
    done: Sender<UploadDone>,
    wake: SyncSender<Command>,
    cancel: CancelBelow,
) -> std::io::Result<()> {
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
            let mut gzip = Gzip::new();
            for message in rx {
                let ready = match message {
                    ToHttp::Send(upload) => Ready::Send(compressed(&mut gzip, upload)),
                    ToHttp::Hold(upload) => Ready::Hold(compressed(&mut gzip, upload)),
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
                        (outgoing.upload.id, deliver(&agent, outgoing, &cancel))
                    }
                    Ready::Go(id) => match held.take() {
                        Some(outgoing) if outgoing.upload.id == id => {
                            (id, deliver(&agent, outgoing, &cancel))
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

/// Sends `outgoing` unless its events were purged or it could not be compressed.
fn deliver(
    agent: &ureq::Agent,
    outgoing: Outgoing,
    cancel: &CancelBelow,
) -> Result<HttpResponse, TransportError> {
    if outgoing.upload.id <= cancel.load(Ordering::SeqCst) {
        return Err(TransportError::Purged);
    }
    match outgoing.failed {
        Some(e) => Err(TransportError::Compress(e)),
        None => send(agent, &outgoing.upload.request),
    }
}

/// Sends `req`, whose body is gzip already when it asks for gzip.
fn send(agent: &ureq::Agent, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let mut builder = agent.post(&req.url);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let response = if req.gzip {
        builder
            .header("Content-Encoding", "gzip")
            .send(&req.body[..])
    } else {
        builder.send(&req.body[..])
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

/// The compressor thread's compressor, reset for each batch: making one per
/// batch allocated and cleared its window and tables every time (about 5%
/// of the thread's time in `cairn bench`).
struct Gzip(Compress);

impl Gzip {
    fn new() -> Self {
        // 15: zlib's largest window, as `GzEncoder` uses.
        Gzip(Compress::new_gzip(Compression::fast(), 15))
    }

    /// `body` as one gzip stream (header and trailer included).
    fn compress(&mut self, body: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0.reset();
        let mut out = Vec::with_capacity(body.len() / 4 + 64);
        loop {
            let (read, written) = (self.0.total_in(), self.0.total_out());
            let room = out.capacity() > out.len();
            let input = body.get(read as usize..).unwrap_or_default();
            match self.0.compress_vec(input, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(out),
                // With room left and nothing done, it never would: an error
                // rather than a loop.
                Ok(_) if room && (self.0.total_in(), self.0.total_out()) == (read, written) => {
                    return Err(std::io::Error::other("gzip made no progress"))
                }
                // Out of room: more, and go on where it stopped.
                Ok(_) => out.reserve(out.capacity().max(4096)),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    }
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
            body: b"{}".to_vec(),
            gzip: true,
        };
        let err = send(&agent, &req).unwrap_err();
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

    /// One compressor serves batch after batch: each comes out as a whole
    /// gzip stream of its own body, small and large alike.
    #[test]
    fn one_compressor_makes_a_whole_gzip_stream_per_batch() {
        let mut gzip = Gzip::new();
        let large: Vec<u8> = (0..300_000u32)
            .flat_map(|n| format!("{{\"n\":{n}}},").into_bytes())
            .collect();
        for body in [
            &b"{}"[..],
            &large[..],
            &b"{\"batch\":[]}"[..],
            &large[..1000],
        ] {
            let packed = gzip.compress(body).unwrap();
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            assert_eq!(unpacked, body);
        }
    }
}
