//! The collector over real TCP on 127.0.0.1: decoding, auth, every fault,
//! /stats, bad bodies, the NDJSON file and keep-alive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use flate2::write::GzEncoder;
use serde_json::{json, Value};

const KEY: &str = "test-key";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn event(n: usize) -> Value {
    json!({
        "type": "track", "event": format!("Event {n}"), "properties": {"n": n},
        "anonymousId": "anon-1", "messageId": format!("m-{n}"),
        "timestamp": "2026-01-31T12:00:00.000Z", "context": {"library": {"name": "test"}}
    })
}

fn batch(events: &[Value]) -> Value {
    json!({ "batch": events, "sentAt": "2026-01-31T12:00:01.000Z", "writeKey": KEY })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// What a response carried: status, `Retry-After`, body.
type Answer = (u16, Option<String>, String);

fn post_raw(
    agent: &ureq::Agent,
    c: &Collector,
    body: &[u8],
    gzipped: bool,
    key: &str,
) -> Result<Answer, ureq::Error> {
    let mut req = agent
        .post(format!("{}/v1/batch", c.endpoint()))
        .header("Content-Type", "application/json")
        .header("Authorization", basic(key));
    if gzipped {
        req = req.header("Content-Encoding", "gzip");
    }
    let resp = req.send(body)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.into_body().read_to_string()?;
    Ok((status, retry_after, text))
}

fn post(
    agent: &ureq::Agent,
    c: &Collector,
    body: &Value,
    gzipped: bool,
) -> Result<Answer, ureq::Error> {
    let bytes = body.to_string().into_bytes();
    let bytes = if gzipped { gzip(&bytes) } else { bytes };
    post_raw(agent, c, &bytes, gzipped, KEY)
}

fn get_stats(c: &Collector) -> Value {
    let body = agent()
        .get(format!("{}/stats", c.endpoint()))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Sends one plain batch over a fresh raw socket and returns every byte the
/// server wrote before closing.
fn raw_exchange(c: &Collector, events: &[Value]) -> std::io::Result<Vec<u8>> {
    let body = batch(events).to_string();
    let mut s = TcpStream::connect(("127.0.0.1", c.port()))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let head = format!(
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body.as_bytes())?;
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => Ok(got),
        // A reset is also "closed without an answer", as long as nothing came first.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(got),
        Err(e) => Err(e),
    }
}

#[test]
fn plain_and_gzip_bodies_are_decoded_and_stored() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    let (status, _, body) = post(&a, &c, &batch(&[event(1), event(2)]), false).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"success": true})
    );
    let (status, _, _) = post(&a, &c, &batch(&[event(3)]), true).unwrap();
    assert_eq!(status, 200);

    assert_eq!(c.events(), vec![event(1), event(2), event(3)]);
    assert_eq!(c.message_ids(), vec!["m-1", "m-2", "m-3"]);
    let reqs = c.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!((reqs[0].gzip, reqs[1].gzip), (false, true));
    assert_eq!(reqs[1].body["batch"][0], event(3));
    assert_eq!(reqs[1].batch().len(), 1);
    assert_eq!((reqs[0].status, reqs[0].path.as_str()), (200, "/v1/batch"));
    assert_eq!(reqs[1].header("content-encoding"), Some("gzip"));
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    assert!(c.endpoint().starts_with("http://127.0.0.1:") && c.port() != 0);
}

#[test]
fn write_key_mismatch_gets_401_and_stores_nothing() {
    let c = Collector::start(CollectorConfig {
        write_key: Some(KEY.into()),
        ..Default::default()
    })
    .unwrap();
    let a = agent();
    let body = batch(&[event(1)]).to_string();
    let (status, _, text) = post_raw(&a, &c, body.as_bytes(), false, "wrong-key").unwrap();
    assert_eq!(status, 401);
    let err: Value = serde_json::from_str(&text).unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("`wrong-key`"),
        "{text}"
    );
    // No Authorization header at all.
    let resp = a
        .post(format!("{}/v1/batch", c.endpoint()))
        .send(body.as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(c.events().is_empty());
    // The right key is accepted.
    assert_eq!(post(&a, &c, &batch(&[event(2)]), true).unwrap().0, 200);
    assert_eq!(c.events(), vec![event(2)]);
    let statuses: Vec<u16> = c.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 401, 200]);
    // The refused body is still decoded for inspection.
    assert_eq!(c.requests()[0].body["batch"][0], event(1));
}

#[test]
fn status_faults_answer_their_status_and_store_nothing() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    c.push_faults([Fault::Status(503), Fault::StatusRetryAfter(429, "7".into())]);
    assert_eq!(c.pending_faults(), 2);

    let (status, retry_after, text) = post(&a, &c, &batch(&[event(1)]), true).unwrap();
    assert_eq!((status, retry_after), (503, None));
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["success"],
        false
    );

    let (status, retry_after, _) = post(&a, &c, &batch(&[event(1)]), false).unwrap();
    assert_eq!((status, retry_after.as_deref()), (429, Some("7")));

    // The queue is empty: back to normal.
    assert_eq!(post(&a, &c, &batch(&[event(1)]), false).unwrap().0, 200);
    assert_eq!(c.events(), vec![event(1)]);
    let reqs = c.requests();
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 429, 200]
    );
    assert_eq!(
        reqs[0].body["batch"][0],
        event(1),
        "refused bodies are still recorded"
    );
    assert_eq!(c.pending_faults(), 0);
}

#[test]
fn drop_connection_closes_without_any_response_and_stores_nothing() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    c.push_faults([Fault::DropConnection, Fault::DropConnection]);

    // Raw socket: not a single byte comes back, in particular no status line.
    let got = raw_exchange(&c, &[event(1)]).unwrap();
    assert!(
        got.is_empty(),
        "expected no response, got {:?}",
        String::from_utf8_lossy(&got)
    );

    // A real HTTP client sees a transport error, not a status.
    let err = post(&agent(), &c, &batch(&[event(2)]), true).unwrap_err();
    assert!(!matches!(err, ureq::Error::StatusCode(_)), "{err:?}");

    assert!(c.events().is_empty());
    let reqs = c.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.status == 0 && r.body.is_null()));
    assert!(reqs[1].gzip);
    // The server is still fine afterwards.
    assert_eq!(
        post(&agent(), &c, &batch(&[event(3)]), false).unwrap().0,
        200
    );
}

#[test]
fn store_then_drop_stores_the_events_but_never_answers() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    c.push_faults([Fault::StoreThenDrop, Fault::StoreThenDrop]);

    let got = raw_exchange(&c, &[event(1)]).unwrap();
    assert!(
        got.is_empty(),
        "expected no response, got {:?}",
        String::from_utf8_lossy(&got)
    );

    let err = post(&agent(), &c, &batch(&[event(2)]), true).unwrap_err();
    assert!(!matches!(err, ureq::Error::StatusCode(_)), "{err:?}");

    // Both batches were stored even though neither was acknowledged; the
    // client's retry makes a duplicate with the same message id.
    assert_eq!(
        post(&agent(), &c, &batch(&[event(2)]), false).unwrap().0,
        200
    );
    assert_eq!(c.message_ids(), vec!["m-1", "m-2", "m-2"]);
    let statuses: Vec<u16> = c.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![0, 0, 200]);
    assert_eq!(c.requests()[1].body["batch"][0], event(2));
}

#[test]
fn stall_delays_the_answer_but_not_stats() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    c.push_faults([Fault::Stall(Duration::from_millis(1500))]);
    let endpoint = c.endpoint();
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        let body = batch(&[event(1)]).to_string();
        let resp = agent()
            .post(format!("{endpoint}/v1/batch"))
            .send(body.as_bytes())
            .unwrap();
        (resp.status().as_u16(), started.elapsed())
    });
    // While the batch stalls, /stats answers at once and shows nothing stored yet.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let stats = get_stats(&c);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "stats took {:?}",
        t.elapsed()
    );
    assert_eq!(
        (stats["requests"].as_u64(), stats["events"].as_u64()),
        (Some(1), Some(0))
    );

    let (status, took) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(
        took >= Duration::from_millis(1400),
        "answered after {took:?}"
    );
    assert_eq!(c.events(), vec![event(1)]);
}

#[test]
fn set_down_hits_every_request_until_cleared_and_goes_before_queued_faults() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    c.push_faults([Fault::Status(500)]);
    c.set_down(Some(Fault::Status(503)));
    for _ in 0..3 {
        assert_eq!(post(&a, &c, &batch(&[event(1)]), false).unwrap().0, 503);
    }
    c.set_down(None);
    assert_eq!(
        post(&a, &c, &batch(&[event(1)]), false).unwrap().0,
        500,
        "the queued fault is still there"
    );
    assert_eq!(post(&a, &c, &batch(&[event(1)]), false).unwrap().0, 200);
    assert_eq!(c.events().len(), 1);

    c.set_down(Some(Fault::DropConnection));
    assert!(post(&a, &c, &batch(&[event(2)]), false).is_err());
    assert!(post(&a, &c, &batch(&[event(2)]), false).is_err());
    c.set_down(None);
    assert_eq!(post(&a, &c, &batch(&[event(2)]), false).unwrap().0, 200);
}

#[test]
fn stats_counts_requests_events_and_invalid_events() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    assert_eq!(
        get_stats(&c),
        json!({"requests": 0, "events": 0, "invalid": 0})
    );
    let mut bad = event(2);
    bad.as_object_mut().unwrap().remove("event");
    post(&a, &c, &batch(&[event(1), bad]), true).unwrap();
    c.push_faults([Fault::Status(500)]);
    post(&a, &c, &batch(&[event(3)]), false).unwrap();
    assert_eq!(
        get_stats(&c),
        json!({"requests": 2, "events": 2, "invalid": 1})
    );
    assert_eq!(c.stats().invalid, 1);
    // Flagged, not rejected.
    assert_eq!(c.events().len(), 2);
    c.clear();
    assert_eq!(
        get_stats(&c),
        json!({"requests": 0, "events": 0, "invalid": 0})
    );
}

#[test]
fn malformed_bodies_get_400_with_a_reason() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    let cases: [(&[u8], bool, &str); 5] = [
        (b"this is not json", false, "not valid JSON"),
        (b"[1,2]", false, "not a JSON object"),
        (br#"{"events":[]}"#, false, "no `batch` array"),
        (br#"{"batch":{"a":1}}"#, false, "not an array"),
        (b"plainly not gzip", true, "not valid gzip"),
    ];
    for (body, gzipped, needle) in cases {
        let (status, _, text) = post_raw(&a, &c, body, gzipped, KEY).unwrap();
        assert_eq!(status, 400, "{text}");
        let err: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(err["success"], false);
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{text} lacks {needle}"
        );
    }
    assert!(c.events().is_empty());
    let reqs = c.requests();
    assert!(reqs.iter().all(|r| r.status == 400));
    assert!(reqs[0].body.is_null() && reqs[1].body == json!([1, 2]));
}

#[test]
fn other_paths_are_404_and_wrong_methods_405() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let a = agent();
    let r = a.get(format!("{}/v1/track", c.endpoint())).call().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = a.get(format!("{}/v1/batch", c.endpoint())).call().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = a
        .post(format!("{}/nope", c.endpoint()))
        .send(&b"{}"[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn out_file_gets_one_ndjson_line_per_event_and_print_one_readable_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.ndjson");
    let printed: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let config = CollectorConfig {
        out: Some(path.clone()),
        print: true,
        ..Default::default()
    };
    let c = Collector::start_with_output(config, printed.clone()).unwrap();
    let mut bad = event(3);
    bad.as_object_mut().unwrap().remove("event");
    post(
        &agent(),
        &c,
        &batch(&[event(1), event(2), bad.clone()]),
        true,
    )
    .unwrap();
    c.push_faults([Fault::Status(503)]);
    post(&agent(), &c, &batch(&[event(4)]), true).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![event(1), event(2), bad]);

    let printed = String::from_utf8(printed.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 4, "{printed}");
    assert!(
        lines[0].contains("track")
            && lines[0].contains("Event 1")
            && lines[0].contains("anon=anon-1")
            && lines[0].contains("n=1")
    );
    assert!(
        lines[2].contains("⚠ track without `event` name"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains("answered 503"), "{}", lines[3]);
    // HH:MM:SS.mmm first.
    assert_eq!(lines[0].as_bytes()[2], b':');
    assert_eq!(lines[0].as_bytes()[8], b'.');
}

#[test]
fn an_unwritable_out_file_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("events.ndjson");
    let err = Collector::start(CollectorConfig {
        out: Some(path),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot open the events file"),
        "{err}"
    );
}

#[test]
fn a_taken_port_is_a_clear_start_error() {
    let first = Collector::start(CollectorConfig::default()).unwrap();
    let err = Collector::start(CollectorConfig {
        port: first.port(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", first.port())),
        "{err}"
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", c.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for n in 0..2 {
        let body = batch(&[event(n)]).to_string();
        let req = format!(
            "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("{\"success\":true}"),
            "{answer}"
        );
    }
    // Chunked bodies are read too.
    let body = batch(&[event(9)]).to_string();
    let req = format!("POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.contains("Connection: close"),
        "{answer}"
    );
    assert_eq!(c.events().len(), 3);
}

#[test]
fn wait_for_events_times_out_and_stop_releases_the_port() {
    let c = Collector::start(CollectorConfig::default()).unwrap();
    let t = Instant::now();
    assert!(!c.wait_for_events(1, Duration::from_millis(200)));
    assert!(t.elapsed() >= Duration::from_millis(200));
    let endpoint = c.endpoint();
    let waiter = {
        let port = c.port();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let body = batch(&[event(1), event(2)]).to_string();
            agent()
                .post(format!("http://127.0.0.1:{port}/v1/batch"))
                .send(body.as_bytes())
                .unwrap();
        })
    };
    assert!(c.wait_for_events(2, Duration::from_secs(5)));
    waiter.join().unwrap();
    let port = c.port();
    let t = Instant::now();
    c.stop();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        t.elapsed()
    );
    assert!(agent().get(format!("{endpoint}/stats")).call().is_err());
    // The port is free again.
    let again = Collector::start(CollectorConfig {
        port,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(again.port(), port);
}

#[test]
fn digests_mode_keeps_what_identifies_each_event_and_still_refuses_bad_bodies() {
    use cairn_cli::collector::{Digest, Retain};
    let c = Collector::start(CollectorConfig {
        retain: Retain::Digests,
        ..CollectorConfig::default()
    })
    .unwrap();
    let a = agent();
    let mut numbered = event(7);
    numbered["properties"] = json!({"index": 7, "nested": {"index": 99}});
    let mut no_id = event(8);
    no_id.as_object_mut().unwrap().remove("messageId");
    let mut no_name = event(1);
    no_name.as_object_mut().unwrap().remove("event");
    // A retried batch: the same events twice, gzip and plain.
    for gzipped in [true, false] {
        let (status, _, _) = post(
            &a,
            &c,
            &batch(&[no_name.clone(), numbered.clone(), no_id.clone()]),
            gzipped,
        )
        .unwrap();
        assert_eq!(status, 200);
    }
    assert!(c.events().is_empty(), "no whole events are kept");
    assert!(
        c.requests()
            .iter()
            .all(|r| r.body.is_null() && r.status == 200),
        "nor request bodies"
    );
    let digest = |id: &str, index: Option<u64>| Digest {
        event_type: "track".into(),
        message_id: id.into(),
        index,
    };
    let once = [
        digest("m-1", None),
        digest("m-7", Some(7)),
        digest("", None),
    ];
    assert_eq!(c.digests(), [once.clone(), once].concat());
    assert_eq!(c.message_ids(), vec!["m-1", "m-7", "", "m-1", "m-7", ""]);
    // Per batch: the missing messageId, and the first event's full check (no `event` name).
    assert_eq!(
        get_stats(&c),
        json!({"requests": 2, "events": 6, "invalid": 4})
    );
    assert!(c.wait_for_events(6, Duration::from_millis(10)));
    let (status, _, text) = post_raw(&a, &c, br#"{"batch":[1]}"#, false, KEY).unwrap();
    assert_eq!(
        status, 200,
        "an event that is not an object is stored and flagged, as in full mode: {text}"
    );
    assert_eq!(
        (c.stats().events, c.stats().invalid, c.events().len()),
        (7, 5, 0)
    );
    let (status, _, text) = post_raw(&a, &c, b"not json", false, KEY).unwrap();
    assert_eq!(status, 400);
    assert!(text.contains("not valid JSON"), "{text}");
    c.clear();
    assert!(c.digests().is_empty());
}
