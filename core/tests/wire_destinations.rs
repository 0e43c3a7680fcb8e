//! Amplitude and PostHog as a real `Client` sends them, checked by mockito:
//! path, headers and the decoded body (shaped like the vendors' own SDKs'
//! requests), and what the client does with each answer the vendors
//! document: every status row of docs/destinations.md.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn::DestinationKind;
use serde_json::{json, Value};

type Bodies = Arc<Mutex<Vec<Value>>>;

fn decode(req: &mockito::Request) -> Value {
    let raw = req.body().expect("a body");
    let gzipped = req
        .header("content-encoding")
        .iter()
        .any(|v| v.to_str().ok() == Some("gzip"));
    let text = if gzipped {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("gzip body");
        out
    } else {
        raw.clone()
    };
    serde_json::from_slice(&text).expect("JSON body")
}

/// A mock for `path` answering `status` with `body` once (or `hits` times),
/// keeping each decoded request body in `bodies`.
fn answer(
    server: &mut mockito::Server,
    path: &str,
    status: usize,
    body: &str,
    hits: usize,
    bodies: &Bodies,
) -> mockito::Mock {
    let seen = Arc::clone(bodies);
    let body = body.to_string();
    // Recorded as the answer is made: mockito asks every mock's matcher
    // about every request, but answers with one mock only.
    server
        .mock("POST", path)
        .with_status(status)
        .with_header("retry-after", "1")
        .with_body_from_request(move |req| {
            seen.lock().unwrap().push(decode(req));
            body.clone().into()
        })
        .expect(hits)
        .create()
}

fn client(
    server: &mockito::Server,
    dir: &tempfile::TempDir,
    key: &str,
    kind: DestinationKind,
) -> cairn::Client {
    cairn::Client::builder(key)
        .endpoint(server.url())
        .destination(kind)
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(100)
        .retry_base_delay(Duration::from_millis(100))
        .build()
        .unwrap()
}

/// Events `seq` 0..n, user `user-{i}` for even i as in the vendors' samples.
fn record_orders(c: &cairn::Client, users: &[&str]) {
    for (i, user) in users.iter().enumerate() {
        c.identify(user, Value::Null).unwrap();
        c.track(
            "Order Completed",
            json!({"seq": i, "sku": format!("SKU-{i:05}")}),
        )
        .unwrap();
    }
}

/// The `seq` of each track in an Amplitude body, in order.
fn amplitude_seqs(body: &Value) -> Vec<u64> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "Order Completed")
        .map(|e| e["event_properties"]["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn amplitude_request_has_the_http_v2_shape() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    let mock = server
        .mock("POST", "/2/httpapi")
        .match_header("content-type", "application/json")
        .match_header("content-encoding", mockito::Matcher::Missing)
        .match_header("authorization", mockito::Matcher::Missing)
        .match_request({
            let seen = Arc::clone(&bodies);
            move |req| {
                seen.lock().unwrap().push(decode(req));
                true
            }
        })
        .with_status(200)
        .with_body(
            r#"{"code":200,"events_ingested":6,"payload_size_bytes":50,"server_upload_time":1}"#,
        )
        .expect(1)
        .create();
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        &server,
        &dir,
        "amp_key_0123456789",
        DestinationKind::amplitude(),
    );
    c.track(
        "Order Completed",
        json!({"price": 9.99, "is_trial": true, "meta": {"tags": ["a", "b"]}}),
    )
    .unwrap();
    c.identify("user-0", json!({"plan": "pro"})).unwrap();
    c.group("acme", json!({"seats": 3})).unwrap();
    c.screen("Home", json!({})).unwrap();
    c.page("Pricing", json!({"url": "https://example.com/pricing"}))
        .unwrap();
    c.alias("user-00").unwrap();
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (6, 0));
    mock.assert();

    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(body["api_key"], "amp_key_0123456789");
    assert!(body["client_upload_time"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("options").is_none(), "no min_id_length unless set");
    let events = body["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "Order Completed",
            "$identify",
            "$groupidentify",
            "[Amplitude] Screen Viewed",
            "[Amplitude] Page Viewed",
            "$identify"
        ]
    );
    let track = &events[0];
    // The types the sample from Amplitude's own SDK has.
    assert!(track["device_id"].as_str().unwrap().len() >= 5);
    assert!(track.get("user_id").is_none());
    assert!(track["time"].is_i64());
    assert_eq!(track["insert_id"].as_str().unwrap().len(), 36);
    assert!(
        track["session_id"].as_i64().unwrap() > 1_700_000_000_000,
        "session id in ms"
    );
    assert_eq!(track["event_properties"]["price"], 9.99);
    assert_eq!(track["event_properties"]["is_trial"], true);
    assert_eq!(track["event_properties"]["meta"]["tags"][1], "b");
    assert_eq!(track["library"], format!("cairn/{}", cairn::VERSION));
    assert_eq!(events[1]["user_id"], "user-0");
    assert_eq!(events[1]["user_properties"]["$set"]["plan"], "pro");
    assert_eq!(events[2]["groups"]["company"], "acme");
    assert_eq!(events[2]["group_properties"]["$set"]["seats"], 3);
    assert_eq!(
        events[3]["event_properties"]["[Amplitude] Screen Name"],
        "Home"
    );
    assert_eq!(
        events[4]["event_properties"]["[Amplitude] Page URL"],
        "https://example.com/pricing"
    );
    assert_eq!(events[5]["user_id"], "user-00");
    // insert_id is the event's message id, unique per event.
    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| e["insert_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    c.shutdown(Duration::from_secs(1)).unwrap();
}

#[test]
fn amplitude_batch_api_and_min_id_length() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    let mock = answer(&mut server, "/batch", 200, r#"{"code":200}"#, 1, &bodies);
    let dir = tempfile::tempdir().unwrap();
    let c = client(
        &server,
        &dir,
        "amp_key",
        DestinationKind::Amplitude {
            batch_api: true,
            min_id_length: Some(1),
        },
    );
    c.track("x", Value::Null).unwrap();
    assert_eq!(c.flush(Duration::from_secs(10)).unwrap().delivered, 1);
    mock.assert();
    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(body["options"]["min_id_length"], 1);
}

#[test]
fn amplitude_400_drops_only_the_events_it_names_and_resends_the_rest() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    // Positions 1 and 3 of the first batch: the tracks of user-0 and user-1.
    let refused = answer(
        &mut server,
        "/2/httpapi",
        400,
        r#"{"code":400,"error":"Request missing required field","events_with_invalid_fields":{"time":[1]},"events_with_missing_fields":{"event_type":[3]},"silenced_events":[]}"#,
        1,
        &bodies,
    );
    let ok = answer(
        &mut server,
        "/2/httpapi",
        200,
        r#"{"code":200}"#,
        1,
        &bodies,
    );
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "amp_key", DestinationKind::amplitude());
    record_orders(&c, &["user-0", "user-1", "user-2"]);
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (4, 0));
    refused.assert();
    ok.assert();
    let bodies = bodies.lock().unwrap();
    assert_eq!(amplitude_seqs(&bodies[0]), [0, 1, 2]);
    assert_eq!(
        amplitude_seqs(&bodies[1]),
        [2],
        "only the unnamed track is resent"
    );
    assert_eq!(bodies[1]["events"].as_array().unwrap().len(), 4);
    let s = c.stats();
    assert_eq!(s.dropped.rejected, 2);
    assert!(s
        .last_rejection
        .unwrap()
        .contains("events_with_invalid_fields"));
}

#[test]
fn amplitude_413_sends_the_batch_in_halves() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    let too_large = answer(
        &mut server,
        "/2/httpapi",
        413,
        r#"{"code":413,"error":"Payload too large"}"#,
        1,
        &bodies,
    );
    let ok = answer(
        &mut server,
        "/2/httpapi",
        200,
        r#"{"code":200}"#,
        2,
        &bodies,
    );
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "amp_key", DestinationKind::amplitude());
    record_orders(&c, &["user-0", "user-1"]);
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (4, 0));
    too_large.assert();
    ok.assert();
    let sizes: Vec<usize> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["events"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 2, 2]);
}

#[test]
fn amplitude_429_holds_back_the_throttled_user_only() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    let throttled = answer(
        &mut server,
        "/2/httpapi",
        429,
        r#"{"code":429,"error":"Too many requests for some devices and users","eps_threshold":30,"throttled_users":{"user-hot":31},"throttled_devices":{},"throttled_events":[]}"#,
        1,
        &bodies,
    );
    let ok = answer(
        &mut server,
        "/2/httpapi",
        200,
        r#"{"code":200}"#,
        2,
        &bodies,
    );
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "amp_key", DestinationKind::amplitude());
    record_orders(&c, &["user-a", "user-hot", "user-b"]);
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (6, 0));
    throttled.assert();
    ok.assert();
    let bodies = bodies.lock().unwrap();
    let users = |b: &Value| -> Vec<String> {
        b["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["user_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        users(&bodies[1]),
        ["user-a", "user-a", "user-b", "user-b"],
        "the others at once"
    );
    assert_eq!(
        users(&bodies[2]),
        ["user-hot", "user-hot"],
        "after Retry-After"
    );
    assert_eq!(c.stats().dropped, cairn::DropCounts::default());
}

#[test]
fn amplitude_429_naming_nobody_and_5xx_retry_the_batch() {
    for status in [429, 500, 502, 503, 504] {
        let mut server = mockito::Server::new();
        let bodies = Bodies::default();
        let failing = answer(
            &mut server,
            "/2/httpapi",
            status,
            r#"{"code":0}"#,
            1,
            &bodies,
        );
        let ok = answer(
            &mut server,
            "/2/httpapi",
            200,
            r#"{"code":200}"#,
            1,
            &bodies,
        );
        let dir = tempfile::tempdir().unwrap();
        let c = client(&server, &dir, "amp_key", DestinationKind::amplitude());
        record_orders(&c, &["user-0"]);
        let report = c.flush(Duration::from_secs(10)).unwrap();
        assert_eq!((report.delivered, report.remaining), (2, 0), "{status}");
        failing.assert();
        ok.assert();
        let bodies = bodies.lock().unwrap();
        assert_eq!(
            bodies[0]["events"], bodies[1]["events"],
            "{status}: same events"
        );
        assert_eq!(c.stats().retries, 1);
    }
}

#[test]
fn amplitude_wrong_api_key_stops_uploads_and_keeps_events() {
    for (status, body) in [
        (
            400,
            r#"{"code":400,"error":"Invalid API key: amp_key","missing_field":"api_key"}"#,
        ),
        (401, ""),
    ] {
        let mut server = mockito::Server::new();
        let bodies = Bodies::default();
        let mock = answer(&mut server, "/2/httpapi", status, body, 1, &bodies);
        let dir = tempfile::tempdir().unwrap();
        let c = client(&server, &dir, "amp_key", DestinationKind::amplitude());
        c.track("x", Value::Null).unwrap();
        let report = c.flush(Duration::from_secs(2)).unwrap();
        assert_eq!((report.delivered, report.remaining), (0, 1), "{status}");
        mock.assert();
        let s = c.stats();
        assert!(s.auth_failed, "{status}");
        assert!(s
            .last_error
            .unwrap()
            .contains("check the Amplitude API key"));
    }
}

#[test]
fn posthog_request_has_the_batch_shape() {
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    let mock = server
        .mock("POST", "/batch/")
        .match_header("content-type", "application/json")
        .match_header("content-encoding", "gzip")
        .match_header("authorization", mockito::Matcher::Missing)
        .match_request({
            let seen = Arc::clone(&bodies);
            move |req| {
                seen.lock().unwrap().push(decode(req));
                true
            }
        })
        .with_status(200)
        .with_body(r#"{"status":1}"#)
        .expect(1)
        .create();
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "phc_key", DestinationKind::PostHog);
    c.track(
        "Order Completed",
        json!({"price": 9.99, "meta": {"tags": ["a"]}}),
    )
    .unwrap();
    c.identify("user-0", json!({"plan": "pro"})).unwrap();
    c.alias("user-00").unwrap();
    c.screen("Home", json!({})).unwrap();
    c.page("Pricing", json!({"url": "https://example.com/pricing"}))
        .unwrap();
    c.group("acme", json!({"seats": 3})).unwrap();
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (6, 0));
    mock.assert();

    let body = bodies.lock().unwrap()[0].clone();
    assert_eq!(body["api_key"], "phc_key");
    assert!(body["sent_at"].as_str().unwrap().ends_with('Z'));
    let batch = body["batch"].as_array().unwrap();
    let names: Vec<&str> = batch.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Order Completed",
            "$identify",
            "$create_alias",
            "$screen",
            "$pageview",
            "$groupidentify"
        ]
    );
    let anon = batch[0]["distinct_id"].as_str().unwrap();
    assert!(!anon.is_empty());
    for e in batch {
        // uuid is the message id, a UUID as PostHog requires.
        assert!(
            cairn::wire::posthog_is_uuid(e["uuid"].as_str().unwrap()),
            "{e}"
        );
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(e["properties"]["$lib"], "cairn");
        assert_eq!(e["properties"]["$lib_version"], cairn::VERSION);
    }
    assert_eq!(batch[0]["properties"]["price"], 9.99);
    assert_eq!(batch[0]["properties"]["meta"]["tags"][0], "a");
    assert_eq!(batch[1]["distinct_id"], "user-0");
    assert_eq!(batch[1]["properties"]["$anon_distinct_id"], anon);
    assert_eq!(batch[1]["properties"]["$set"]["plan"], "pro");
    assert_eq!(batch[2]["distinct_id"], "user-0");
    assert_eq!(batch[2]["properties"]["alias"], "user-00");
    assert_eq!(batch[3]["properties"]["$screen_name"], "Home");
    assert_eq!(
        batch[4]["properties"]["$current_url"],
        "https://example.com/pricing"
    );
    assert_eq!(batch[5]["properties"]["$group_key"], "acme");
    assert_eq!(batch[5]["properties"]["$group_set"]["seats"], 3);
    c.shutdown(Duration::from_secs(1)).unwrap();
}

#[test]
fn posthog_answers_per_status() {
    // 413: halves; 5xx and 429: the same batch again; 401: stop, keep.
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    answer(&mut server, "/batch/", 413, "", 1, &bodies);
    answer(&mut server, "/batch/", 503, "", 1, &bodies);
    answer(&mut server, "/batch/", 429, "", 1, &bodies);
    let ok = answer(&mut server, "/batch/", 200, r#"{"status":1}"#, 2, &bodies);
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "phc_key", DestinationKind::PostHog);
    record_orders(&c, &["user-0", "user-1"]);
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (4, 0));
    ok.assert();
    let sizes: Vec<usize> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["batch"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [4, 2, 2, 2, 2]);

    let mut server = mockito::Server::new();
    let refused = answer(
        &mut server,
        "/batch/",
        401,
        r#"{"type":"authentication_error"}"#,
        1,
        &bodies,
    );
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "phc_key", DestinationKind::PostHog);
    c.track("x", Value::Null).unwrap();
    let report = c.flush(Duration::from_secs(2)).unwrap();
    assert_eq!(report.remaining, 1);
    refused.assert();
    assert!(c.stats().auth_failed);
}

#[test]
fn posthog_400_drops_the_unreadable_event_only() {
    // PostHog names no positions: halves until the refused one is alone.
    let mut server = mockito::Server::new();
    let bodies = Bodies::default();
    answer(
        &mut server,
        "/batch/",
        400,
        r#"{"type":"validation_error"}"#,
        2,
        &bodies,
    );
    let ok = answer(&mut server, "/batch/", 200, r#"{"status":1}"#, 1, &bodies);
    let dir = tempfile::tempdir().unwrap();
    let c = client(&server, &dir, "phc_key", DestinationKind::PostHog);
    record_orders(&c, &["user-0"]);
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((report.delivered, report.remaining), (1, 0));
    ok.assert();
    assert_eq!(c.stats().dropped.rejected, 1);
}

#[test]
fn a_destination_path_in_the_endpoint_is_refused_clearly() {
    for (kind, url) in [
        (
            DestinationKind::amplitude(),
            "https://api2.amplitude.com/2/httpapi",
        ),
        (DestinationKind::PostHog, "https://us.i.posthog.com/batch/"),
    ] {
        let err = cairn::ClientBuilder::new("k")
            .endpoint(url)
            .destination(kind)
            .config()
            .unwrap_err()
            .to_string();
        assert!(err.contains("which cairn appends itself"), "{err}");
    }
    let err = cairn::ClientBuilder::new("k")
        .endpoint("https://api2.amplitude.com")
        .destination(DestinationKind::Amplitude {
            batch_api: false,
            min_id_length: Some(0),
        })
        .config()
        .unwrap_err()
        .to_string();
    assert!(err.contains("min_id_length must be at least 1"), "{err}");
}
