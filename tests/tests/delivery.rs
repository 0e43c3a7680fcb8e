//! A real `Client` against the project's collector on 127.0.0.1, and a buffer
//! file handed from one process to the next.

use std::process::Command;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig};
use cairn_tests::{by_message_id, dead_endpoint, numbers};
use serde_json::json;

fn collector() -> Collector {
    Collector::start(CollectorConfig {
        write_key: Some("e2e".into()),
        ..Default::default()
    })
    .expect("collector starts")
}

#[test]
fn every_event_arrives_exactly_once_in_order_with_the_right_ids() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(7)
        .max_batch_events(10)
        .build()
        .unwrap();
    client.page("Home", json!({"path": "/"})).unwrap();
    for n in 0..300u64 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    client
        .identify("user-42", json!({"email": "a@example.com"}))
        .unwrap();
    client.track("After Identify", json!({})).unwrap();
    client.alias("user-42-new").unwrap();
    client.group("org-1", json!({"name": "Acme"})).unwrap();
    client.screen("Settings", json!({})).unwrap();
    let report = client.flush(Duration::from_secs(20)).unwrap();
    // `flush_at(7)` starts uploads while the loop records, so the report counts
    // only what was acknowledged while flush waited; the total is in stats().
    assert_eq!(report.remaining, 0);
    assert!(report.delivered <= 306, "{report:?}");
    assert_eq!(client.stats().delivered_events, 306);
    let events = server.events();
    assert_eq!(events.len(), 306);
    assert!(
        by_message_id(&events).values().all(|c| *c == 1),
        "no duplicates"
    );
    assert_eq!(
        numbers(&events),
        (0..300).collect::<Vec<_>>(),
        "in recording order"
    );

    let anon = events[0]["anonymousId"].as_str().unwrap().to_string();
    assert!(
        events.iter().all(|e| e["anonymousId"] == anon.as_str()),
        "one anonymous id throughout"
    );
    assert!(
        events[..301].iter().all(|e| e.get("userId").is_none()),
        "no userId before identify"
    );
    let kinds: Vec<&str> = events[301..]
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["identify", "track", "alias", "group", "screen"]);
    assert_eq!(events[301]["userId"], "user-42");
    assert_eq!(events[302]["userId"], "user-42");
    assert_eq!(events[303]["previousId"], "user-42");
    assert_eq!(events[303]["userId"], "user-42-new");
    assert_eq!(events[304]["groupId"], "org-1");
    assert_eq!(events[305]["userId"], "user-42-new");
    assert!(server.requests().iter().all(|r| r.gzip && r.status == 200));
    assert!(server.requests().len() >= 31, "batches of at most 10");
    // "As long as it takes" is a valid timeout, not an overflow.
    client.track("Last", json!({})).unwrap();
    let report = client.flush(Duration::MAX).unwrap();
    assert_eq!((report.delivered, report.remaining), (1, 0));
    client.shutdown(Duration::MAX).unwrap();
}

#[test]
fn anonymous_id_and_user_survive_a_restart() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let build = || {
        cairn::Client::builder("e2e")
            .endpoint(server.endpoint())
            .storage_path(&path)
            .build()
            .unwrap()
    };
    let c = build();
    c.identify("u-1", json!({})).unwrap();
    c.shutdown(Duration::from_secs(10)).unwrap();
    drop(c);
    let c = build();
    c.track("Later", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();
    let events = server.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["userId"], "u-1");
    assert_eq!(events[1]["anonymousId"], events[0]["anonymousId"]);
    c.reset().unwrap();
    c.track("After Reset", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();
    let events = server.events();
    assert!(events[2].get("userId").is_none());
    assert_ne!(events[2]["anonymousId"], events[0]["anonymousId"]);
}

#[test]
fn a_second_process_delivers_what_the_first_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let out = Command::new(env!("CARGO_BIN_EXE_cairn-test-child"))
        .args([
            "record",
            db.to_str().unwrap(),
            &dead_endpoint(),
            "0",
            "1000",
        ])
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("done\n"));

    let server = collector();
    let client = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(&db)
        .build()
        .unwrap();
    // The backlog starts going out as soon as the worker has loaded it, so a
    // first look may find any part of it already delivered.
    let first = client.stats();
    assert_eq!(
        first.queued_events + first.delivered_events,
        1000,
        "the backlog is found at start: {first:?}"
    );
    let report = client.flush(Duration::from_secs(30)).unwrap();
    // The backlog starts going out at build, before flush is called.
    assert_eq!(report.remaining, 0);
    assert_eq!(client.stats().delivered_events, 1000);
    let events = server.events();
    assert_eq!(
        numbers(&events),
        (0..1000).collect::<Vec<_>>(),
        "all 1,000, once each, in order"
    );
    assert_eq!(by_message_id(&events).len(), 1000);
}

#[test]
fn complete_events_keep_their_own_ids_and_leave_the_device_identity_alone() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("c.db"))
        .build()
        .unwrap();
    client.identify("device-user", json!({})).unwrap();
    client
        .enqueue(&json!({"type": "track", "event": "Invoice Paid", "userId": "customer-1", "messageId": "inv-1",
                         "timestamp": "2026-01-02T03:04:05.678Z", "properties": {"amount": 12.5}, "context": {"ip": "10.0.0.1"}}))
        .unwrap();
    client
        .enqueue_json(r#"{"type":"identify","userId":"customer-2","traits":{"plan":"team"}}"#)
        .unwrap();
    let err = client.enqueue_json(r#"{"type":"track"}"#).unwrap_err();
    assert!(err.to_string().contains("needs `event`"), "{err}");
    client.track("Device Event", json!({})).unwrap();
    client
        .enqueue_json(r#"{"type":"track","event":"No Ids Given"}"#)
        .unwrap();
    client.flush(Duration::from_secs(10)).unwrap();
    let events = server.events();
    assert_eq!(events.len(), 5);
    assert_eq!(
        (&events[4]["anonymousId"], events[4].get("userId")),
        (&json!(client.anonymous_id()), None),
        "an event with neither id takes the device's anonymous id, and only that"
    );
    let paid = &events[1];
    assert_eq!(paid["userId"], "customer-1");
    assert!(
        paid.get("anonymousId").is_none(),
        "the device's anonymous id is not glued onto a customer's event"
    );
    assert_eq!(paid["messageId"], "inv-1");
    assert_eq!(paid["timestamp"], "2026-01-02T03:04:05.678Z");
    assert_eq!(paid["context"]["ip"], "10.0.0.1");
    assert_eq!(paid["context"]["library"]["name"], "cairn");
    assert_eq!(events[2]["userId"], "customer-2");
    assert_eq!(
        events[3]["userId"], "device-user",
        "the device identity did not change"
    );
    assert_eq!(client.stats().dropped.invalid, 1);
}

/// `build()` leaves opening the file and loading its state to the worker;
/// what an app does right after it must still see that state, and what it
/// records at once must queue behind the backlog, not be lost or reordered.
#[test]
fn calls_made_right_after_build_see_the_loaded_state_and_follow_the_backlog() {
    const BACKLOG: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let first = cairn::Client::builder("e2e")
        .endpoint(dead_endpoint())
        .storage_path(&path)
        .build()
        .unwrap();
    first.identify("u-7", json!({})).unwrap();
    for n in 0..BACKLOG {
        first.track("Before", json!({ "n": n })).unwrap();
    }
    assert!(first.commit(Duration::from_secs(20)).unwrap());
    let anonymous_id = first.anonymous_id();
    drop(first);

    let server = collector();
    let second = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(&path)
        .max_batch_events(1_000)
        .build()
        .unwrap();
    // No wait of any kind between build() and these calls.
    for n in BACKLOG..BACKLOG + 10 {
        second.track("After", json!({ "n": n })).unwrap();
    }
    assert_eq!(second.anonymous_id(), anonymous_id);
    assert_eq!(second.user_id().as_deref(), Some("u-7"));
    let stats = second.stats();
    assert!(
        stats.queued_events + stats.delivered_events >= BACKLOG,
        "the first snapshot already counts the backlog: {stats:?}"
    );
    let report = second.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");
    let events = server.events();
    assert!(by_message_id(&events).values().all(|c| *c == 1));
    assert_eq!(numbers(&events), (0..BACKLOG + 10).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["userId"] == "u-7"));
}

/// A backend records for thousands of users through one client: their
/// events must not be tied together by the device's session, context or a
/// shared message-id prefix.
#[test]
fn complete_events_of_many_users_share_no_session_context_or_id_prefix() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("c.db"))
        .context(json!({"app": {"version": "2.1"}}))
        .build()
        .unwrap();
    client.track("Device Event", json!({})).unwrap();
    for n in 0..50 {
        client
            .enqueue(
                &json!({"type": "track", "event": "Order Paid", "userId": format!("customer-{n}")}),
            )
            .unwrap();
    }
    client
        .enqueue(
            &json!({"type": "track", "event": "With Context", "userId": "customer-x",
                         "context": {"ip": "10.0.0.1"}}),
        )
        .unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).unwrap().remaining, 0);
    let events = server.events();
    assert_eq!(events.len(), 52);
    let device = &events[0];
    assert!(device["context"]["sessionId"].is_i64());
    assert_eq!(device["context"]["app"]["version"], "2.1");
    for e in &events[1..51] {
        let context = e["context"].as_object().unwrap();
        assert_eq!(
            context.keys().collect::<Vec<_>>(),
            ["library"],
            "a complete event carries only what it brought plus the library: {context:?}"
        );
        assert_eq!(context["library"]["name"], "cairn");
    }
    assert_eq!(
        events[51]["context"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["ip", "library"]
    );
    let prefixes: std::collections::HashSet<&str> = events[1..51]
        .iter()
        .map(|e| &e["messageId"].as_str().unwrap()[..23])
        .collect();
    assert_eq!(prefixes.len(), 50, "no two customers' ids share a prefix");
}

/// While calls stream in, the worker leaves the acks of delivered batches to
/// its next commit; once the calls stop they must still reach the file
/// within moments, without a flush: a process killed a second later must not
/// send the delivered events again.
#[test]
fn delivered_events_leave_the_file_soon_after_a_burst_ends_without_a_flush() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let client = cairn::Client::builder("e2e")
        .endpoint(server.endpoint())
        .storage_path(&path)
        .build()
        .unwrap();
    for n in 0..3_000u64 {
        client.track("Burst", json!({ "n": n })).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while client.stats().delivered_events < 3_000 {
        assert!(std::time::Instant::now() < deadline, "{:?}", client.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    // The client stays open (no flush, no shutdown): only the worker's own
    // save can empty the file.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let seen = cairn::store::inspect::inspect(&path, 0).unwrap();
        if seen.queued_events == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "delivered 2 s ago, but the file still queues {} events (cursors {:?})",
            seen.queued_events,
            seen.cursors
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(numbers(&server.events()), (0..3_000).collect::<Vec<_>>());
    drop(client);
}
