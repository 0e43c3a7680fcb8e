//! Consent, opt-out and forget through a real `Client`, a real SQLite file and
//! a real collector on 127.0.0.1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn::ConsentState;
use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use serde_json::json;

fn collector() -> Collector {
    Collector::start(CollectorConfig::default()).expect("collector starts")
}

fn builder(server: &Collector, path: &std::path::Path) -> cairn::ClientBuilder {
    cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(path)
        .flush_at(1)
        .flush_interval(Duration::from_millis(50))
}

/// The store's files: the database, its WAL and its shared memory.
fn store_files(db: &std::path::Path) -> [std::path::PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Everything `files` hold, one after the other.
fn read_all(files: &[std::path::PathBuf]) -> Vec<u8> {
    files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap_or_default())
        .collect()
}

/// Records the 60 events of a user about to be purged, as a backend service
/// does: the ids are in the events only, not in the device's identity.
fn record_secrets(c: &cairn::Client) {
    for n in 0..60 {
        c.enqueue(&json!({
            "type": "track", "event": "Viewed", "userId": "user-revoked-4711",
            "properties": {"n": n, "email": "revoked-person@example.com"},
        }))
        .unwrap();
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn forget_leaves_no_trace_in_the_database_wal_or_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    server.set_down(Some(Fault::Status(503)));
    let c = builder(&server, &db).build().unwrap();
    c.identify(
        "user-secret-4711",
        json!({"email": "secret-person@example.com", "plan": "pro"}),
    )
    .unwrap();
    for n in 0..200 {
        c.track(
            "Viewed",
            json!({"n": n, "note": "secret-person@example.com"}),
        )
        .unwrap();
    }
    // Complete events whose context names the user: the file keeps a
    // context once for the events that share it (a `commons` row).
    for n in 0..20 {
        c.enqueue(&json!({
            "type": "track", "event": "Exported", "userId": "user-secret-4711",
            "properties": {"n": n},
            "context": {"traits": {"email": "secret-context@example.com"}},
        }))
        .unwrap();
    }
    assert!(c.commit(Duration::from_secs(5)).unwrap());
    let old_anon = c.anonymous_id();
    let files = [
        db.clone(),
        dir.path().join("cairn.db-wal"),
        dir.path().join("cairn.db.anonymous-id"),
    ];
    let before: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap_or_default())
        .collect();
    assert!(
        contains(&before, "user-secret-4711")
            && contains(&before, &old_anon)
            && contains(&before, "secret-context@example.com"),
        "the test can see the data before"
    );

    let forgotten = c.forget(Duration::from_secs(10)).unwrap();
    assert_eq!(forgotten.user_ids, vec!["user-secret-4711".to_string()]);
    assert!(forgotten.anonymous_ids.contains(&old_anon));
    assert!(forgotten.events_erased >= 221, "{forgotten:?}");
    // What the caller reads right after forget() returns already shows it.
    assert_ne!(c.anonymous_id(), old_anon, "a new anonymous id at once");
    assert_eq!(c.user_id(), None, "no user id at once");
    assert_eq!(
        c.stats().queued_events,
        0,
        "stats show the erased queue at once"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        for secret in [
            "user-secret-4711",
            "secret-person@example.com",
            "secret-context@example.com",
            old_anon.as_str(),
        ] {
            assert!(
                !contains(&bytes, secret),
                "{secret} is still in {}",
                f.display()
            );
        }
    }
    server.set_down(None);
    c.track("Fresh", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();
    let events = server.events();
    assert_eq!(events.len(), 1, "nothing of the forgotten user was sent");
    assert_ne!(events[0]["anonymousId"], old_anon.as_str());
    assert!(events[0].get("userId").is_none());
}

#[test]
fn revoking_consent_or_opting_out_leaves_no_trace_of_the_purged_events() {
    for revoke in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cairn.db");
        let server = collector();
        // Nothing is delivered: every event is still queued when purged.
        server.set_down(Some(Fault::Status(503)));
        let c = builder(&server, &db)
            .consent("analytics", ConsentState::Granted)
            .required_consent(["analytics"])
            .build()
            .unwrap();
        record_secrets(&c);
        assert!(c.commit(Duration::from_secs(5)).unwrap());
        let files = store_files(&db);
        assert!(
            contains(&read_all(&files), "user-revoked-4711"),
            "the test can see the data before"
        );

        if revoke {
            c.set_consent("analytics", ConsentState::Denied).unwrap();
        } else {
            c.opt_out(true).unwrap();
        }
        assert!(c.commit(Duration::from_secs(10)).unwrap());
        assert_eq!(c.stats().queued_events, 0);
        for f in &files {
            let bytes = std::fs::read(f).unwrap_or_default();
            for secret in ["user-revoked-4711", "revoked-person@example.com"] {
                assert!(
                    !contains(&bytes, secret),
                    "{}: {secret} is still in {} ({} bytes)",
                    if revoke { "revoked" } else { "opted out" },
                    f.display(),
                    bytes.len()
                );
            }
        }
    }
}

/// A category only the second destination needs, revoked after the first
/// delivered everything: the purge moves that destination's cursor, and
/// the rows it leaves delivered everywhere are deleted, but their bytes
/// stay in the file's free pages and the WAL unless the file is compacted
/// (`compact_leaves_no_delivered_row_on_disk` in the SQLite store covers
/// such rows still waiting in a table). None of them may stay on disk.
#[test]
fn revoking_a_category_one_destination_needs_leaves_no_trace_of_what_it_purged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let main = collector();
    let warehouse = collector();
    warehouse.set_down(Some(Fault::Status(503)));
    let c = builder(&main, &db)
        .add_destination(
            cairn::destination::Destination::new(
                "warehouse",
                cairn::destination::DestinationKind::Segment,
                warehouse.endpoint(),
                "wk",
            )
            .consent_categories(["analytics"]),
        )
        .consent("analytics", ConsentState::Granted)
        .build()
        .unwrap();
    record_secrets(&c);
    assert!(main.wait_for_events(60, Duration::from_secs(10)));
    // One more, queued for the main destination: the file is not emptied.
    main.set_down(Some(Fault::Status(503)));
    c.track("Later", json!({})).unwrap();
    assert!(c.commit(Duration::from_secs(5)).unwrap());
    let files = store_files(&db);
    assert!(
        contains(&read_all(&files), "user-revoked-4711"),
        "the test can see the data before"
    );

    c.set_consent("analytics", ConsentState::Denied).unwrap();
    assert!(c.commit(Duration::from_secs(10)).unwrap());
    let stats = c.stats();
    assert_eq!(
        stats.queued_events, 1,
        "the main destination's event stays: {stats:?}"
    );
    for secret in ["user-revoked-4711", "revoked-person@example.com"] {
        assert!(
            !contains(&read_all(&files), secret),
            "{secret} is still on disk"
        );
    }
    main.set_down(None);
    c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(main.events().len(), 61);
    assert!(warehouse.events().is_empty());
}

#[test]
fn opt_out_sends_zero_requests_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    {
        let c = builder(&server, &db).build().unwrap();
        c.opt_out(true).unwrap();
        for n in 0..20 {
            c.track("Opted Out", json!({"n": n})).unwrap();
        }
        c.flush(Duration::from_millis(500)).unwrap();
        assert_eq!(c.stats().dropped.consent, 20);
        c.shutdown(Duration::from_millis(200)).unwrap();
    }
    let c = builder(&server, &db).build().unwrap();
    c.track("After Restart", json!({})).unwrap();
    c.flush(Duration::from_millis(500)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        server.requests().len(),
        0,
        "opt-out persists: not one request"
    );
    assert_eq!(c.stats().queued_events, 0, "nothing stored");
    c.opt_out(false).unwrap();
    c.track("Resumed", json!({})).unwrap();
    c.flush(Duration::from_secs(5)).unwrap();
    assert_eq!(server.events().len(), 1);
}

#[test]
fn denied_consent_sends_zero_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = collector();
    let c = builder(&server, &dir.path().join("cairn.db"))
        .consent("analytics", ConsentState::Denied)
        .required_consent(["analytics"])
        .build()
        .unwrap();
    for n in 0..10 {
        c.track("Denied", json!({"n": n})).unwrap();
    }
    c.identify("u", json!({})).unwrap();
    c.flush(Duration::from_millis(500)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.requests().len(), 0);
    assert_eq!(c.stats().dropped.consent, 11);
}

#[test]
fn pre_consent_events_arrive_after_grant_with_their_original_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let c = builder(&server, &db)
        .consent("analytics", ConsentState::Unknown)
        .required_consent(["analytics"])
        .build()
        .unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    c.track("Before Consent", json!({})).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    c.commit(Duration::from_secs(5)).unwrap();
    assert_eq!(
        c.stats().queued_events,
        0,
        "not written to disk while undecided"
    );
    assert_eq!(server.requests().len(), 0, "not sent while undecided");
    let granted_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    c.set_consent("analytics", ConsentState::Granted).unwrap();
    c.track("After Consent", json!({})).unwrap();
    c.flush(Duration::from_secs(5)).unwrap();
    let events = server.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event"], "Before Consent");
    let ts = events[0]["timestamp"].as_str().unwrap();
    let expected_prefix = &cairn::time::iso8601_ms(before)[..19];
    assert!(
        ts.starts_with(&expected_prefix[..16]),
        "{ts} vs recorded at {expected_prefix}"
    );
    assert!(
        ts < cairn::time::iso8601_ms(granted_at).as_str(),
        "kept the time of recording, not of the grant"
    );
    assert_eq!(
        events[0]["context"]["consent"]["categoryPreferences"]["analytics"],
        true
    );
}

#[test]
fn revoking_consent_purges_the_buffer_and_stops_sending() {
    let dir = tempfile::tempdir().unwrap();
    let server = collector();
    server.set_down(Some(Fault::Status(503)));
    let c = builder(&server, &dir.path().join("cairn.db"))
        .consent("analytics", ConsentState::Granted)
        .required_consent(["analytics"])
        .build()
        .unwrap();
    for n in 0..30 {
        c.track("Queued", json!({"n": n})).unwrap();
    }
    c.commit(Duration::from_secs(5)).unwrap();
    c.set_consent("analytics", ConsentState::Denied).unwrap();
    c.commit(Duration::from_secs(5)).unwrap();
    // A batch already on the wire cannot be called back: wait for its answer
    // (503) before the server comes back.
    let start = std::time::Instant::now();
    while c.stats().in_flight_events > 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.set_down(None);
    let requests_at_revoke = server.requests().len();
    c.track("After Revoke", json!({})).unwrap();
    c.flush(Duration::from_millis(800)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.events().len(), 0, "nothing stored by the server");
    assert_eq!(
        server.requests().len(),
        requests_at_revoke,
        "no request after the revocation"
    );
    let s = c.stats();
    assert_eq!(s.queued_events, 0);
    assert_eq!(s.dropped.consent, 31);
}

#[test]
fn consent_session_and_user_switch_hold_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let build = || {
        builder(&server, &db)
            .consent("analytics", ConsentState::Unknown)
            .consent("marketing", ConsentState::Unknown)
            .required_consent(["analytics"])
            .build()
            .unwrap()
    };
    {
        let c = build();
        c.set_consent("analytics", ConsentState::Granted).unwrap();
        c.set_consent("marketing", ConsentState::Denied).unwrap();
        c.identify("alice", json!({"plan": "pro"})).unwrap();
        c.track("Alice Before Restart", json!({})).unwrap();
        c.flush(Duration::from_secs(5)).unwrap();
        c.shutdown(Duration::from_secs(1)).unwrap();
    }
    let c = build();
    c.track("Alice After Restart", json!({})).unwrap();
    c.flush(Duration::from_secs(5)).unwrap();
    let events = server.events();
    assert_eq!(
        events.len(),
        3,
        "the grant survived the restart: nothing held"
    );
    let (before, after) = (&events[1], &events[2]);
    assert_eq!(after["userId"], "alice");
    assert_eq!(after["anonymousId"], before["anonymousId"]);
    assert_eq!(
        after["context"]["sessionId"], before["context"]["sessionId"],
        "same session within the timeout"
    );
    assert_eq!(
        after["context"]["consent"]["categoryPreferences"],
        json!({"analytics": true, "marketing": false})
    );

    // Bob logs in on the same device: never merged with Alice.
    c.identify("bob", json!({})).unwrap();
    c.track("Bob", json!({})).unwrap();
    c.flush(Duration::from_secs(5)).unwrap();
    let events = server.events();
    let bob = &events[4];
    assert_eq!(bob["userId"], "bob");
    assert_ne!(
        bob["anonymousId"], after["anonymousId"],
        "a user switch resets the anonymous id"
    );
    assert_ne!(
        bob["context"]["sessionId"], after["context"]["sessionId"],
        "and starts a new session"
    );
    assert_eq!(events[3]["type"], "identify");
    assert_eq!(
        events[3]["anonymousId"], bob["anonymousId"],
        "bob's identify carries bob's new anonymous id"
    );
}
