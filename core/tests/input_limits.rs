//! What a strict JSON backend refuses is refused at the call, on every
//! recording path (the `serde_json::Value` API, the text API, complete
//! events), with a clear error, and counted `invalid`: one bad value never
//! reaches a batch, where the backend's 400 would take good events with it.

use std::time::Duration;

use cairn::model::{MAX_NAME_BYTES, MAX_PAYLOAD_DEPTH};
use cairn::{Client, Error};
use serde_json::{json, Value};

fn client(dir: &std::path::Path) -> Client {
    Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(dir.join("cairn.db"))
        .flush_at(1_000)
        .build()
        .unwrap()
}

/// `{"a": {"a": ... 1}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!({ "a": v });
    }
    v
}

fn invalid(result: cairn::Result<()>, words: &str) {
    match result {
        Err(Error::InvalidEvent(why)) => assert!(why.contains(words), "{words:?} not in {why:?}"),
        other => panic!("expected InvalidEvent with {words:?}, got {other:?}"),
    }
}

#[test]
fn every_recording_path_refuses_what_a_strict_backend_refuses() {
    // The test's own clones and drops of a 1,000-deep value recurse, in
    // serde_json: a big stack for them, not for cairn.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(refuses_what_a_strict_backend_refuses)
        .unwrap()
        .join()
        .unwrap();
}

fn refuses_what_a_strict_backend_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let c = client(dir.path());
    let deep = nested(1_000);
    let mut refused_events = 0;
    let mut refuse = |result, words| {
        invalid(result, words);
        refused_events += 1;
    };

    // Nesting: 124 levels, so that a batch (three levels around each event's
    // properties) stays within the 127 serde_json's parser accepts.
    refuse(c.track("Deep", deep.clone()), "nested more than 124 levels");
    refuse(
        c.identify("u-1", deep.clone()),
        "nested more than 124 levels",
    );
    refuse(c.group("g-1", deep.clone()), "nested more than 124 levels");
    refuse(c.screen("S", deep.clone()), "nested more than 124 levels");
    refuse(c.page("P", deep.clone()), "nested more than 124 levels");
    refuse(
        c.enqueue(&json!({"type": "track", "event": "x", "userId": "u", "properties": deep})),
        "nested more than 124 levels",
    );
    refuse(
        c.enqueue(&json!({"type": "track", "event": "x", "userId": "u", "context": deep})),
        "nested more than 124 levels",
    );
    let deep_text = format!("{}{}", "{\"a\":".repeat(200), "}".repeat(200));
    refuse(
        c.track_json("Deep", &deep_text),
        "nested more than 124 levels",
    );

    // Numbers a 64-bit float cannot hold.
    refuse(c.track_json("Huge", r#"{"n": 1e999}"#), "out of range");
    refuse(c.identify_json("u-1", r#"{"n": -1e999}"#), "out of range");
    refuse(
        c.group_json("g-1", &format!("{{\"n\": {}}}", "9".repeat(400))),
        "out of range",
    );
    refuse(
        c.enqueue_json(r#"{"type":"track","event":"x","userId":"u","properties":{"n":1e999}}"#),
        "out of range",
    );

    // Ids and names: at most MAX_NAME_BYTES.
    let long = "x".repeat(MAX_NAME_BYTES + 1);
    refuse(c.track(&long, Value::Null), "over the limit of 1024");
    refuse(c.identify(&long, Value::Null), "over the limit of 1024");
    refuse(c.alias(&long), "over the limit of 1024");
    refuse(c.group(&long, Value::Null), "over the limit of 1024");
    for field in ["userId", "anonymousId", "messageId"] {
        let mut e = json!({"type": "track", "event": "x", "userId": "u"});
        e[field] = json!(long);
        refuse(c.enqueue(&e), "over the limit of 1024");
    }
    refuse(
        c.enqueue(&json!({"type": "alias", "userId": "u", "previousId": long})),
        "over the limit of 1024",
    );

    // Not events (nothing counted), but they would spoil every later event.
    invalid(c.set_anonymous_id(&long), "over the limit of 1024");
    invalid(
        c.set_anonymous_id(&"x".repeat(1 << 20)),
        "over the limit of 1024",
    );
    invalid(
        c.set_context(json!({ "deep": deep })),
        "nested more than 124 levels",
    );
    invalid(c.set_context_json(r#"{"n": 1e999}"#), "out of range");

    // Right at the limits: accepted, and later events are not dropped.
    c.set_anonymous_id(&"a".repeat(MAX_NAME_BYTES)).unwrap();
    c.track("Deep Enough", nested(MAX_PAYLOAD_DEPTH)).unwrap();
    c.track_json("Big", r#"{"n": 1.7976931348623157e308, "tiny": 1e-999}"#)
        .unwrap();
    c.identify(&"u".repeat(MAX_NAME_BYTES), Value::Null)
        .unwrap();
    c.track("After", json!({})).unwrap();
    assert!(c.commit(Duration::from_secs(10)).unwrap());
    let s = c.stats();
    assert_eq!(
        (s.dropped.invalid, s.dropped.oversize, s.queued_events),
        (refused_events, 0, 4),
        "{s:?}"
    );
    drop(deep);
}

/// Properties, traits and context nested as deep as cairn accepts reach a
/// `serde_json` backend in a batch it can read: the batch's three levels
/// around them (`{"batch":[{"properties":…}]}`) stay within the 127 levels
/// `serde_json` accepts. With a limit one level deeper, its 400 refused the
/// whole batch.
#[test]
fn payloads_at_the_depth_limit_reach_a_serde_json_backend() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let mut server = mockito::Server::new();
    let parsed: Arc<Mutex<Vec<Result<Value, String>>>> = Arc::default();
    let seen = Arc::clone(&parsed);
    let mock = server
        .mock("POST", "/v1/batch")
        .match_request(move |req| {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(req.body().expect("a body").as_slice())
                .read_to_end(&mut raw)
                .expect("gzip");
            let v = serde_json::from_slice::<Value>(&raw).map_err(|e| e.to_string());
            seen.lock().unwrap().push(v);
            true
        })
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .create();
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder("k")
        .endpoint(server.url())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(1_000)
        .context(nested(MAX_PAYLOAD_DEPTH - 1))
        .build()
        .unwrap();
    c.track("Deep", nested(MAX_PAYLOAD_DEPTH)).unwrap();
    c.identify("u-1", nested(MAX_PAYLOAD_DEPTH)).unwrap();
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (2, 0));
    mock.assert();
    for body in parsed.lock().unwrap().iter() {
        let body = body.as_ref().expect("serde_json reads the batch");
        assert_eq!(body["batch"].as_array().map(Vec::len), Some(2));
    }
    c.shutdown(Duration::from_secs(1)).unwrap();
}
