//! The edges of cairn's input through a real `Client`, a real SQLite file and
//! the project's collector on 127.0.0.1: one event a strict backend refuses
//! never takes the rest of its batch with it, nor does one it answers 500
//! to every time (a poison event, found even over short runs of an app),
//! and the write key a server echoes back never lands in `stats()`, the
//! buffer file or `cairn inspect`.

use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use serde_json::json;

/// 20 numbered events, the 13th carrying the marker `poison-4711`, sent
/// by a real client to `server` (its fault set on that marker) until the
/// buffer is empty. Checks that the other 19 arrived once each, in order,
/// and that the marked one was dropped as `rejected` with a
/// `last_rejection` that starts with `rejection`. Returns the server.
fn the_other_19_arrive(fault: Fault, retry_ms: u64, rejection: &str) -> Collector {
    let server = Collector::start(CollectorConfig::default()).expect("collector starts");
    server.set_down(Some(fault));
    let dir = tempfile::tempdir().unwrap();
    let c = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(20)
        .retry_base_delay(Duration::from_millis(retry_ms))
        .max_retry_delay(Duration::from_millis(retry_ms * 10))
        .build()
        .unwrap();
    for n in 0..20u64 {
        let note = if n == 12 { "poison-4711" } else { "fine" };
        c.track("Numbered", json!({ "n": n, "note": note }))
            .unwrap();
    }
    let report = c.flush(Duration::from_secs(60)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");
    let delivered: Vec<u64> = server
        .events()
        .iter()
        .map(|e| e["properties"]["n"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = (0..20).filter(|&n| n != 12).collect();
    assert_eq!(delivered, want, "the other 19, once each, in order");
    let s = c.stats();
    assert_eq!(
        (s.delivered_events, s.dropped.rejected, s.queued_events),
        (19, 1, 0),
        "{s:?}"
    );
    assert!(
        s.last_rejection
            .as_deref()
            .is_some_and(|r| r.starts_with(rejection)),
        "{s:?}"
    );
    server
}

#[test]
fn one_event_the_backend_refuses_leaves_the_other_19_delivered() {
    // A strict backend: 400 to any batch holding the marker event (a 400
    // is split at once, with no backoff to wait out).
    let server = the_other_19_arrive(Fault::Refuse("poison-4711".into()), 500, "HTTP 400");
    let first = &server.requests()[0];
    assert_eq!(
        (first.batch().len(), first.status),
        (20, 400),
        "the 20 went out as one batch, which the backend refused"
    );
    assert!(
        server.requests().len() <= 12,
        "{} requests to find one event among 20",
        server.requests().len()
    );
}

#[test]
fn a_write_key_the_server_echoes_never_reaches_stats_the_file_or_inspect() {
    // The collector names the key it refuses in its 401 body, as some
    // backends do.
    let server = Collector::start(CollectorConfig {
        write_key: Some("the-right-key-000".into()),
        ..Default::default()
    })
    .expect("collector starts");
    let secret = "wk_wrong_s3cret_4711";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let c = cairn::Client::builder(secret)
        .endpoint(server.endpoint())
        .storage_path(&db)
        .flush_at(1)
        .build()
        .unwrap();
    c.track("Refused Key", json!({})).unwrap();
    let start = std::time::Instant::now();
    while !c.stats().auth_failed && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = c.stats();
    assert!(s.auth_failed, "{s:?}");
    assert_eq!(server.requests()[0].status, 401);
    let last_error = s.last_error.unwrap_or_default();
    assert!(
        last_error.contains("HTTP 401") && last_error.contains("<write key>"),
        "{last_error}"
    );
    assert!(!last_error.contains(secret), "{last_error}");
    c.shutdown(Duration::from_secs(1)).unwrap();
    drop(c);

    let files: Vec<u8> = ["cairn.db", "cairn.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default())
        .collect();
    let in_file = |needle: &str| files.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(in_file("<write key>"), "the delivery state was written");
    assert!(!in_file(secret), "the key is not in the buffer file");
    for json in [false, true] {
        let report = cairn_cli::inspect::run(&db, 10, json, 0).unwrap();
        assert!(report.contains("<write key>"), "{report}");
        assert!(!report.contains(secret), "{report}");
    }
}

/// A poison event: the backend answers 500 to every batch that holds it
/// and takes the rest. Found, proven (the backend answers requests without
/// it) and dropped alone; the others arrive once each, in order.
#[test]
fn one_event_the_backend_answers_500_to_every_time_is_dropped_alone() {
    // Short waits: each step of the proof waits out the backoff.
    let server = the_other_19_arrive(
        Fault::Crash("poison-4711".into()),
        10,
        "HTTP 5xx to this event alone",
    );
    let probes = server
        .requests()
        .iter()
        .filter(|r| r.batch().is_empty())
        .count();
    assert_eq!(probes, cairn::engine::POISON_CONFIRMATIONS as usize);
}

/// A poison event met by an app that runs a few moments at a time (a CLI
/// run per event, a serverless function): each run records one event and
/// shuts down after a few tries. The search for the poison event goes on
/// where the last run left it (it is kept in the buffer file), so it is
/// dropped after some runs and every other event arrives, in order; begun
/// again each run, it never ended and held all of them.
#[test]
fn a_poison_event_is_found_over_short_runs_of_the_app() {
    let server = Collector::start(CollectorConfig::default()).expect("collector starts");
    server.set_down(Some(Fault::Crash("poison-4711".into())));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let mut runs = 0u64;
    let stats = loop {
        let c = cairn::Client::builder("k")
            .endpoint(server.endpoint())
            .storage_path(&db)
            .flush_at(1)
            .retry_base_delay(Duration::from_millis(10))
            .max_retry_delay(Duration::from_millis(100))
            .build()
            .unwrap();
        let note = if runs == 0 { "poison-4711" } else { "fine" };
        c.track("Run", json!({ "n": runs, "note": note })).unwrap();
        // A short run: two or three tries (each retry waits at least 100 ms).
        let _ = c.shutdown(Duration::from_millis(300));
        let s = c.stats();
        drop(c);
        runs += 1;
        if s.dropped.rejected == 1 && s.queued_events == 0 {
            break s;
        }
        assert!(runs < 80, "not found after {runs} runs: {s:?}");
    };
    let delivered: Vec<u64> = server
        .events()
        .iter()
        .map(|e| e["properties"]["n"].as_u64().unwrap())
        .collect();
    let mut firsts = delivered.clone();
    firsts.dedup();
    assert_eq!(
        firsts,
        (1..runs).collect::<Vec<_>>(),
        "every other run's event, in order"
    );
    assert!(
        stats
            .last_rejection
            .as_deref()
            .is_some_and(|r| r.starts_with("HTTP 5xx to this event alone")),
        "{stats:?}"
    );
}
