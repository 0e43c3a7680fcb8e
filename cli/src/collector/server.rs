//! What the collector does with each request: routing, faults, write-key
//! check, body decoding and the answer.
//!
//! Every connection gets its own thread, so a stalled batch never holds up
//! another connection or `GET /stats`. The order for a `POST /v1/batch` is:
//! take the fault (outage first, then the queue); `DropConnection` closes
//! before reading the body; otherwise the body is read, a `Status` fault is
//! answered as is, a `Stall` waits, then the request is judged (write key,
//! then gzip, JSON and the `batch` array), its events are stored, and it is
//! answered, or, for `StoreThenDrop`, the connection is closed instead.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use flate2::read::GzDecoder;
use serde_json::{json, Value};

use super::formats::Format;
use super::http::{Conn, Head, Idle, ReadError, MAX_BODY_BYTES};
use super::{check_event, scan, Digest, Fault, Finished, Retain, Shared, EVENT_TYPES};

/// How often an idle connection checks whether the collector is stopping.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// A kept-alive connection with no request for this long is closed.
const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(60);

/// The answer to a CORS preflight for `/v1/batch`.
const PREFLIGHT: &[(&str, &str)] = &[
    ("Access-Control-Allow-Methods", "POST"),
    (
        "Access-Control-Allow-Headers",
        "Content-Type, Authorization, Content-Encoding",
    ),
    ("Access-Control-Max-Age", "600"),
];

/// Accepts connections until the collector stops, one thread each.
pub(crate) fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping() {
            return;
        }
        let Ok(stream) = stream else {
            // A client that vanished between connect and accept; nothing to serve.
            continue;
        };
        let for_thread = Arc::clone(&shared);
        match std::thread::Builder::new()
            .name("collector-conn".into())
            .spawn(move || serve(stream, &for_thread))
        {
            Ok(handle) => shared.track_connection(handle),
            Err(e) => {
                eprintln!("collector: cannot start a thread for a connection ({e}); it is closed")
            }
        }
    }
}

/// What happened to the connection after one request.
enum After {
    /// Answered; the client may send another request.
    KeepOpen,
    /// Answered (or not) and the connection must close.
    Close,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Ok(mut conn) = Conn::new(stream) else {
        return;
    };
    let mut idle_since = Instant::now();
    while !shared.stopping() {
        match conn.wait_for_request(IDLE_POLL) {
            Ok(Idle::Ready) => {}
            Ok(Idle::Nothing) if idle_since.elapsed() < KEEP_ALIVE_IDLE => continue,
            Ok(Idle::Nothing | Idle::Closed) | Err(_) => return,
        }
        let head = match conn.read_head() {
            Ok(head) => head,
            Err(ReadError::Malformed(why)) => {
                let _ = conn.respond(400, &[], &error_body(&why), false);
                return;
            }
            Err(ReadError::TooLarge(_) | ReadError::Io(_)) => return,
        };
        let format = Format::of_path(&head.path);
        let after = match (format, head.path.as_str(), head.method.as_str()) {
            (Some(format), _, "POST") => batch(&mut conn, &head, shared, format),
            // A CORS preflight (a page on another origin sending JSON with an
            // Authorization header); cairn's browser build needs none.
            (Some(_), _, "OPTIONS") => answer_other(&mut conn, &head, 204, PREFLIGHT, ""),
            (Some(_), path, _) => answer_other(
                &mut conn,
                &head,
                405,
                &[("Allow", "POST")],
                &error_body(&format!("use POST {path}")),
            ),
            (None, "/stats", "GET" | "HEAD") => {
                let stats = serde_json::to_string(&shared.stats()).unwrap_or_default();
                answer_other(&mut conn, &head, 200, &[], &stats)
            }
            (None, "/stats", _) => answer_other(
                &mut conn,
                &head,
                405,
                &[("Allow", "GET")],
                &error_body("use GET /stats"),
            ),
            (None, path, _) => {
                let why = format!(
                    "no such path `{path}`: this collector serves POST /v1/batch (Segment), /2/httpapi and /batch (Amplitude), /batch/ (PostHog) and GET /stats"
                );
                answer_other(&mut conn, &head, 404, &[], &error_body(&why))
            }
        };
        match after {
            After::KeepOpen => idle_since = Instant::now(),
            After::Close => return,
        }
    }
}

/// Answers a request that is not a batch, after reading (and discarding) any body.
fn answer_other(
    conn: &mut Conn,
    head: &Head,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> After {
    if conn.read_body(head).is_err() {
        let _ = conn.respond(
            400,
            &[],
            &error_body("could not read the request body"),
            false,
        );
        return After::Close;
    }
    respond(conn, head, status, headers, body)
}

fn respond(
    conn: &mut Conn,
    head: &Head,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> After {
    match conn.respond(status, headers, body, head.keep_alive) {
        Ok(()) if head.keep_alive => After::KeepOpen,
        _ => After::Close,
    }
}

fn batch(conn: &mut Conn, head: &Head, shared: &Shared, format: Format) -> After {
    let (index, fault) = shared.begin_request(&head.path, &head.headers);
    if fault == Some(Fault::DropConnection) {
        conn.drop_connection();
        let refused = Some("fault: DropConnection".to_string());
        shared.finish_request(
            index,
            Finished {
                status: 0,
                body: Value::Null,
                refused,
            },
        );
        return After::Close;
    }
    let raw = match conn.read_body(head) {
        Ok(raw) => raw,
        Err(e) => {
            let (status, why) = match e {
                ReadError::Malformed(why) => (400, why),
                ReadError::TooLarge(n) => (
                    413,
                    format!("body of {n} bytes is over the collector's limit of {MAX_BODY_BYTES}"),
                ),
                ReadError::Io(e) => (0, format!("could not read the body: {e}")),
            };
            if status != 0 {
                let _ = conn.respond(status, &[], &error_body(&why), false);
            }
            shared.finish_request(
                index,
                Finished {
                    status,
                    body: Value::Null,
                    refused: Some(why),
                },
            );
            return After::Close;
        }
    };
    match fault {
        Some(Fault::Status(status)) => {
            return injected(conn, head, shared, index, &raw, status, None)
        }
        Some(Fault::StatusRetryAfter(status, ref after)) => {
            return injected(conn, head, shared, index, &raw, status, Some(after));
        }
        Some(Fault::Stall(d)) => stall(shared, d),
        Some(Fault::Refuse(ref marker) | Fault::Crash(ref marker)) => {
            let holds_marker = decode(head, &raw).is_ok_and(|body| {
                body.get(format.events_key())
                    .and_then(Value::as_array)
                    .is_some_and(|events| {
                        events
                            .iter()
                            .any(|e| e.to_string().contains(marker.as_str()))
                    })
            });
            if holds_marker {
                let status = if matches!(fault, Some(Fault::Crash(_))) {
                    500
                } else {
                    400
                };
                return injected(conn, head, shared, index, &raw, status, None);
            }
        }
        _ => {}
    }
    let judged = match (shared.retain(), format) {
        (Retain::Everything, _) => judge(head, &raw, shared.write_key(), format),
        (Retain::Digests, Format::Segment) => judge_digests(head, &raw, shared.write_key()),
        (Retain::Digests, _) => digested(judge(head, &raw, shared.write_key(), format)),
    };
    let status = judged.status;
    let refused = judged.error.clone();
    match judged.events {
        Some(Accepted::Events(events)) => shared.store(events),
        Some(Accepted::Digests { digests, invalid }) => shared.store_digests(digests, invalid),
        None => {}
    }
    if fault == Some(Fault::StoreThenDrop) {
        conn.drop_connection();
        let why = match refused {
            Some(why) => format!("fault: StoreThenDrop, nothing stored: {why}"),
            None => "fault: StoreThenDrop, events stored".to_string(),
        };
        shared.finish_request(
            index,
            Finished {
                status: 0,
                body: judged.body,
                refused: Some(why),
            },
        );
        return After::Close;
    }
    let answer = match &refused {
        None => json!({ "success": true }).to_string(),
        Some(why) => error_body(why),
    };
    shared.finish_request(
        index,
        Finished {
            status,
            body: judged.body,
            refused,
        },
    );
    respond(conn, head, status, &[], &answer)
}

/// Answers an injected status without storing anything.
fn injected(
    conn: &mut Conn,
    head: &Head,
    shared: &Shared,
    index: usize,
    raw: &[u8],
    status: u16,
    retry_after: Option<&str>,
) -> After {
    let body = decode(head, raw).unwrap_or(Value::Null);
    let why = match retry_after {
        Some(after) => format!("fault: status {status}, Retry-After {after}"),
        None => format!("fault: status {status}"),
    };
    shared.finish_request(
        index,
        Finished {
            status,
            body,
            refused: Some(why),
        },
    );
    let headers: Vec<(&str, &str)> = retry_after
        .map(|a| ("Retry-After", a))
        .into_iter()
        .collect();
    respond(
        conn,
        head,
        status,
        &headers,
        &error_body(&format!("injected fault: HTTP {status}")),
    )
}

/// Sleeps `d`, in slices, so a stopping collector is not held up.
fn stall(shared: &Shared, d: Duration) {
    let until = Instant::now() + d;
    while !shared.stopping() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// What an accepted batch leaves to store.
enum Accepted {
    /// The events themselves ([`Retain::Everything`]).
    Events(Vec<Value>),
    /// Their digests, and how many failed the checks ([`Retain::Digests`]).
    Digests { digests: Vec<Digest>, invalid: u64 },
}

/// The verdict on a batch request.
struct Judged {
    status: u16,
    /// The decoded body, or `Null`.
    body: Value,
    /// The events to store, when accepted.
    events: Option<Accepted>,
    /// Why it was refused, when it was.
    error: Option<String>,
}

fn judge(head: &Head, raw: &[u8], write_key: Option<&str>, format: Format) -> Judged {
    let decoded = decode(head, raw);
    let refuse = |status: u16, why: String, body: Value| Judged {
        status,
        body,
        events: None,
        error: Some(why),
    };
    if let Some(key) = write_key {
        let checked = match (format, &decoded) {
            (Format::Segment, _) => check_write_key(head.header("authorization"), key),
            (_, Ok(body)) => format.check_body_key(body, key),
            (_, Err(_)) => Ok(()),
        };
        if let Err(why) = checked {
            return refuse(401, why, decoded.unwrap_or(Value::Null));
        }
    }
    let value = match decoded {
        Ok(v) => v,
        Err((status, why)) => return refuse(status, why, Value::Null),
    };
    let key = format.events_key();
    let batch = match &value {
        Value::Object(map) => match map.get(key) {
            Some(Value::Array(events)) => events.clone(),
            Some(other) => {
                return refuse(
                    400,
                    format!("`{key}` is {}, not an array of events", kind_of(other)),
                    value,
                )
            }
            None => {
                return refuse(
                    400,
                    format!("body has no `{key}` array: send {{\"{key}\": [...]}}"),
                    value,
                )
            }
        },
        other => {
            let why = format!(
                "body is {}, not a JSON object with a `{key}` array",
                kind_of(other)
            );
            return refuse(400, why, value);
        }
    };
    let batch = batch.into_iter().map(|e| format.to_segment(e)).collect();
    Judged {
        status: 200,
        body: value,
        events: Some(Accepted::Events(batch)),
        error: None,
    }
}

/// The body of a batch as [`Retain::Digests`] reads it: in one pass, each
/// event read for the few fields a digest needs and the rest skipped.
#[derive(serde::Deserialize)]
struct LeanBody<'a> {
    #[serde(borrow)]
    batch: Vec<LeanEvent<'a>>,
}

/// The fields of one event a digest needs; everything else is skipped.
#[derive(serde::Deserialize)]
struct LeanEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    event_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    properties: Option<LeanProperties>,
}

#[derive(serde::Deserialize)]
struct LeanProperties {
    #[serde(default)]
    index: Option<serde_json::Number>,
}

/// A verdict of [`judge`] with its events turned into digests, each one
/// checked in full (the slow path, for bodies the lean reading refused).
fn digested(mut judged: Judged) -> Judged {
    if let Some(Accepted::Events(events)) = judged.events.take() {
        let invalid = events.iter().filter(|e| !check_event(e).is_empty()).count() as u64;
        judged.events = Some(Accepted::Digests {
            digests: events.iter().map(Digest::of).collect(),
            invalid,
        });
    }
    judged.body = Value::Null;
    judged
}

/// Like [`judge`], keeping only a [`Digest`] per event and no body. A body
/// the lean reading cannot take goes through [`judge`] for its error.
fn judge_digests(head: &Head, raw: &[u8], write_key: Option<&str>) -> Judged {
    if let Some(key) = write_key {
        if let Err(why) = check_write_key(head.header("authorization"), key) {
            return Judged {
                status: 401,
                body: Value::Null,
                events: None,
                error: Some(why),
            };
        }
    }
    let text = match gunzip(head, raw) {
        Ok(text) => text,
        Err((status, why)) => {
            return Judged {
                status,
                body: Value::Null,
                events: None,
                error: Some(why),
            }
        }
    };
    // The full check on a sample, one event a batch: the first, found where
    // cairn writes it (a body in another shape goes the slow way).
    let Some(events) = batch_events(&text) else {
        return digested(judge(head, raw, write_key, Format::Segment));
    };
    let Some(first) = first_event(events) else {
        return digested(judge(head, raw, write_key, Format::Segment));
    };
    let first_bad =
        serde_json::from_str::<Value>(first.get()).map_or(true, |v| !check_event(&v).is_empty());
    // Found by searching (scan.rs), but for one body in SAMPLE_EVERY,
    // which is read in full and compared.
    let sampled = BODIES
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(scan::SAMPLE_EVERY);
    let scanned = scan::scan(events);
    let (digests, mut invalid) = match scanned {
        Some(digests) if !sampled => (digests, 0),
        _ => {
            let Ok(read) = read_digests(&text) else {
                // An event that is not an object, say: the full reading flags it.
                return digested(judge(head, raw, write_key, Format::Segment));
            };
            match scanned {
                // The scan misread a body: every event counts invalid, and
                // the bench's audit fails.
                Some(found) if found != read => {
                    eprintln!("collector: the scan found a batch's events otherwise than reading it did ({} against {}): all counted invalid", found.len(), read.len());
                    let n = read.len() as u64;
                    (read, n)
                }
                _ => (read, 0),
            }
        }
    };
    invalid += digests
        .iter()
        .enumerate()
        .filter(|(i, d)| {
            d.message_id.is_empty()
                || !EVENT_TYPES.contains(&d.event_type.as_str())
                || (*i == 0 && first_bad)
        })
        .count() as u64;
    let invalid = invalid.min(digests.len() as u64);
    Judged {
        status: 200,
        body: Value::Null,
        events: Some(Accepted::Digests { digests, invalid }),
        error: None,
    }
}

/// Bodies judged by [`judge_digests`] in this process, to pick the sample
/// read in full.
static BODIES: AtomicU64 = AtomicU64::new(0);

/// Each event's digest, reading the body as JSON in one pass.
fn read_digests(text: &[u8]) -> serde_json::Result<Vec<Digest>> {
    let body = serde_json::from_slice::<LeanBody>(text)?;
    Ok(body
        .batch
        .into_iter()
        .map(|lean| Digest {
            event_type: lean.event_type.unwrap_or_default().into_owned(),
            message_id: lean.message_id.unwrap_or_default().into_owned(),
            index: lean
                .properties
                .and_then(|p| p.index)
                .and_then(|n| n.as_u64()),
        })
        .collect())
}

/// The events of a body that opens `{"batch":[`, as cairn writes it
/// (white space allowed): the text after the `[`; `None` for any other
/// shape.
fn batch_events(text: &[u8]) -> Option<&[u8]> {
    fn after<'t>(text: &'t [u8], what: &[u8]) -> Option<&'t [u8]> {
        text.trim_ascii_start().strip_prefix(what)
    }
    after(text, b"{")
        .and_then(|t| after(t, b"\"batch\""))
        .and_then(|t| after(t, b":"))
        .and_then(|t| after(t, b"["))
}

/// The first event of a batch's `events` ([`batch_events`]).
fn first_event(events: &[u8]) -> Option<&serde_json::value::RawValue> {
    serde_json::Deserializer::from_slice(events)
        .into_iter::<&serde_json::value::RawValue>()
        .next()?
        .ok()
}

/// Gunzips (when `Content-Encoding: gzip`) and parses the body as JSON.
fn decode(head: &Head, raw: &[u8]) -> Result<Value, (u16, String)> {
    let text = gunzip(head, raw)?;
    serde_json::from_slice(&text).map_err(|e| (400, format!("body is not valid JSON: {e}")))
}

/// The body's bytes, gunzipped when `Content-Encoding: gzip`; an empty body
/// or an unknown encoding is refused.
fn gunzip(head: &Head, raw: &[u8]) -> Result<Vec<u8>, (u16, String)> {
    let text = match head
        .header("content-encoding")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("identity") | Some("") => raw.to_vec(),
        Some("gzip") | Some("x-gzip") => {
            // cairn's batches gunzip to about 15 times their size: one
            // allocation instead of a doubling series.
            let mut out = Vec::with_capacity(raw.len().saturating_mul(16).min(MAX_BODY_BYTES));
            GzDecoder::new(raw)
                .take(MAX_BODY_BYTES as u64 * 4)
                .read_to_end(&mut out)
                .map_err(|e| {
                    (
                        400,
                        format!("body says Content-Encoding: gzip but is not valid gzip: {e}"),
                    )
                })?;
            out
        }
        Some(other) => {
            return Err((
                415,
                format!("Content-Encoding `{other}` is not supported: send gzip or no encoding"),
            ))
        }
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err((400, "body is empty: send {\"batch\": [...]}".into()));
    }
    Ok(text)
}

/// Checks `Authorization: Basic base64(key:)` against the collector's key.
fn check_write_key(header: Option<&str>, key: &str) -> Result<(), String> {
    let Some(header) = header else {
        return Err("missing Authorization header: send `Basic base64(WRITE_KEY:)`".into());
    };
    let token = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or_else(|| "Authorization is not Basic: send `Basic base64(WRITE_KEY:)`".to_string())?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| "Authorization Basic token is not valid base64".to_string())?;
    let decoded = String::from_utf8_lossy(&decoded);
    let user = decoded.split_once(':').map_or(decoded.as_ref(), |(u, _)| u);
    if user == key {
        Ok(())
    } else {
        Err(format!(
            "write key `{user}` is not the one this collector accepts"
        ))
    }
}

fn error_body(why: &str) -> String {
    json!({ "success": false, "error": why }).to_string()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> Head {
        Head {
            method: "POST".into(),
            path: "/v1/batch".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            keep_alive: true,
        }
    }

    fn basic(user: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
        )
    }

    #[test]
    fn the_first_event_is_found_only_where_cairn_writes_it() {
        let first = |t: &str| {
            batch_events(t.as_bytes())
                .and_then(first_event)
                .map(|r| r.get().to_string())
        };
        assert_eq!(
            first(r#"{"batch":[{"a":[1,{"b":"]"}]},{"c":2}],"sentAt":"x"}"#).as_deref(),
            Some(r#"{"a":[1,{"b":"]"}]}"#)
        );
        assert_eq!(first(" {\n \"batch\" : [ {} ] }").as_deref(), Some("{}"));
        assert_eq!(first(r#"{"sentAt":"x","batch":[{}]}"#), None);
        assert_eq!(first(r#"{"batch":[]}"#), None);
        assert_eq!(first(r#"{"batch":[{"a":}]}"#), None);
    }

    /// The scan (collector/scan.rs) finds what reading the JSON finds, in
    /// bodies as cairn writes them (or leaves a body with an event missing
    /// its id to the reading), whatever the strings hold: property
    /// values and names with quotes, backslashes, the keys' own bytes and
    /// any other character; nested objects (with no `type`, `messageId` or
    /// `index` key of their own, which the scan cannot vouch for and the
    /// sample read in full catches).
    mod scan_against_reading {
        use super::super::{batch_events, read_digests, scan};
        use proptest::prelude::*;
        use serde_json::{json, Map, Value};

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                Just(r#"{"type":"track","#.to_string()),
                Just(r#""messageId":"m-0""#.to_string()),
                Just(r#""index":3,"#.to_string()),
                "[a-z\\\"{}:,]{0,12}",
            ]
        }

        /// A property name: anything but the keys the scan looks for.
        fn key() -> impl Strategy<Value = String> {
            "[a-z_]{1,7}".prop_filter("a key the scan looks for", |k| k != "type" && k != "index")
        }

        fn nested() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                text().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
                Just(Value::Null),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
            })
        }

        prop_compose! {
            fn event()(
                kind in prop::sample::select(super::super::EVENT_TYPES.to_vec()),
                name in text(),
                index in prop::option::of(any::<u64>()),
                props in prop::collection::vec((key(), nested()), 0..4),
                id in prop::option::weighted(0.9, "[a-z0-9-]{1,36}"),
                context in nested(),
            ) -> String {
                let mut properties: Map<String, Value> = props.into_iter().collect();
                if let Some(i) = index {
                    properties.insert("index".into(), i.into());
                }
                // The order cairn writes: type first, properties before the
                // message id, the context last.
                let id = id.map(|id| format!(r#""messageId":{},"#, json!(id))).unwrap_or_default();
                format!(
                    r#"{{"type":{},"event":{},"properties":{},"userId":"u",{id}"timestamp":"t","context":{}}}"#,
                    json!(kind), json!(name), Value::Object(properties), context
                )
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(400)
            })]
            #[test]
            fn the_scan_finds_what_reading_finds(events in prop::collection::vec(event(), 1..6)) {
                let body = format!(r#"{{"batch":[{}],"sentAt":"t"}}"#, events.join(","));
                let read = read_digests(body.as_bytes()).unwrap();
                let found = scan::scan(batch_events(body.as_bytes()).unwrap());
                if read.iter().all(|d| !d.message_id.is_empty()) {
                    prop_assert_eq!(found, Some(read));
                } else {
                    // An event without an id is left to the full reading.
                    prop_assert_eq!(found, None);
                }
            }
        }
    }

    #[test]
    fn write_key_check() {
        assert!(check_write_key(Some(&basic("k1")), "k1").is_ok());
        assert!(check_write_key(Some(&basic("k2")), "k1")
            .unwrap_err()
            .contains("`k2`"));
        assert!(check_write_key(None, "k1")
            .unwrap_err()
            .contains("missing Authorization"));
        assert!(check_write_key(Some("Bearer x"), "k1")
            .unwrap_err()
            .contains("not Basic"));
        assert!(check_write_key(Some("Basic !!!"), "k1")
            .unwrap_err()
            .contains("base64"));
    }

    #[test]
    fn judges_bodies() {
        let h = head(&[]);
        let ok = judge(
            &h,
            br#"{"batch":[{"type":"track"}]}"#,
            None,
            Format::Segment,
        );
        assert_eq!(ok.status, 200);
        assert!(matches!(ok.events, Some(Accepted::Events(e)) if e.len() == 1));
        for (body, needle) in [
            (&b"nope"[..], "not valid JSON"),
            (b"", "body is empty"),
            (b"[1]", "an array, not a JSON object"),
            (br#"{"events":[]}"#, "no `batch` array"),
            (br#"{"batch":"x"}"#, "`batch` is a string"),
        ] {
            let j = judge(&h, body, None, Format::Segment);
            assert_eq!(j.status, 400);
            assert!(
                j.error.as_deref().unwrap_or("").contains(needle),
                "{:?} lacks {needle}",
                j.error
            );
        }
        let br = judge(
            &head(&[("content-encoding", "br")]),
            b"{}",
            None,
            Format::Segment,
        );
        assert_eq!(br.status, 415);
        let auth = judge(&h, br#"{"batch":[]}"#, Some("k"), Format::Segment);
        assert_eq!((auth.status, auth.body["batch"].is_array()), (401, true));
    }
}
