//! The request a real `Client` sends, checked by mockito: path, headers,
//! Basic auth, and a gzip body that decodes to the documented JSON.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("body is gzip");
    out
}

#[test]
fn batch_request_has_documented_path_headers_and_body() {
    let mut server = mockito::Server::new();
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("wk_test:")
    );
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&bodies);
    let mock = server
        .mock("POST", "/v1/batch")
        .match_header("authorization", auth.as_str())
        .match_header("content-type", "application/json")
        .match_header("content-encoding", "gzip")
        .match_request(move |req| {
            let raw = gunzip(req.body().expect("a body"));
            let v: Value = serde_json::from_slice(&raw).expect("JSON body");
            seen.lock().unwrap().push(v);
            true
        })
        .with_status(200)
        .with_body(r#"{"success":true}"#)
        .expect(1)
        .create();

    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("wk_test")
        .endpoint(server.url())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(100)
        .build()
        .unwrap();
    client.identify("user-1", json!({"plan": "pro"})).unwrap();
    client.track("Signed Up", json!({"source": "ad"})).unwrap();
    client.page("Pricing", json!({"path": "/pricing"})).unwrap();
    let report = client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (3, 0));
    mock.assert();

    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(body["writeKey"], "wk_test");
    assert!(body["sentAt"].as_str().unwrap().ends_with('Z'));
    let batch = body["batch"].as_array().unwrap();
    let kinds: Vec<&str> = batch.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["identify", "track", "page"]);
    assert_eq!(batch[0]["traits"]["plan"], "pro");
    assert_eq!(batch[1]["event"], "Signed Up");
    assert_eq!(batch[1]["properties"]["source"], "ad");
    assert_eq!(batch[2]["name"], "Pricing");
    for e in batch {
        assert_eq!(e["userId"], "user-1");
        assert_eq!(e["anonymousId"], batch[0]["anonymousId"]);
        assert_eq!(e["context"]["library"]["name"], "cairn");
        assert_eq!(e["context"]["library"]["version"], cairn::VERSION);
        assert_eq!(e["messageId"].as_str().unwrap().len(), 36);
        let ts = e["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-11-22T07:17:49.123Z".len(), "{ts}");
    }
    client.shutdown(Duration::from_secs(1)).unwrap();
}

#[test]
fn plain_body_when_gzip_is_off() {
    let mut server = mockito::Server::new();
    let mock = server
        .mock("POST", "/v1/batch")
        .match_header("content-encoding", mockito::Matcher::Missing)
        .match_request(|req| serde_json::from_slice::<Value>(req.body().unwrap()).is_ok())
        .with_status(200)
        .create();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("k")
        .endpoint(server.url())
        .storage_path(dir.path().join("c.db"))
        .gzip(false)
        .build()
        .unwrap();
    client.track("x", Value::Null).unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).unwrap().delivered, 1);
    mock.assert();
}

#[test]
fn invalid_calls_fail_fast_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(dir.path().join("c.db"))
        .max_event_bytes(1_000)
        .max_batch_bytes(10_000)
        .build()
        .unwrap();
    let err = client.track("", json!({})).unwrap_err();
    assert!(err.to_string().contains("event name is empty"), "{err}");
    let err = client
        .track("x", json!(["not", "an", "object"]))
        .unwrap_err();
    assert!(
        err.to_string().contains("properties must be a JSON object"),
        "{err}"
    );
    let err = client.track_json("x", r#"{"v": NaN}"#).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let err = client
        .track("x", json!({"big": "x".repeat(2_000)}))
        .unwrap_err();
    assert!(
        matches!(err, cairn::Error::EventTooLarge { limit: 1_000, .. }),
        "{err}"
    );
    // Counted once the worker has taken the calls in; flush waits for that.
    client.flush(Duration::from_millis(100)).unwrap();
    let s = client.stats();
    assert_eq!(
        (s.dropped.invalid, s.dropped.oversize, s.queued_events),
        (3, 1, 0)
    );
}

#[test]
fn second_client_on_the_same_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let a = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(&path)
        .build()
        .unwrap();
    let err = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(&path)
        .build()
        .unwrap_err();
    assert!(matches!(err, cairn::Error::StorageInUse { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("already used by another cairn Client"));
    drop(a);
    // Released once the first client is gone.
    cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(&path)
        .build()
        .unwrap();
}

#[test]
fn unopenable_storage_path_is_a_clear_error() {
    let err = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path("/nonexistent-dir/for/sure/cairn.db")
        .build()
        .unwrap_err();
    assert!(matches!(err, cairn::Error::Storage { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("/nonexistent-dir/for/sure/cairn.db"),
        "{err}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
}
