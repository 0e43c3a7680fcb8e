//! How a real `Client` answers each kind of server response, against the
//! project's collector on 127.0.0.1: one test per row of the retry table in
//! docs/delivery.md.

use std::time::{Duration, Instant};

use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use cairn_tests::{by_message_id, dead_endpoint, numbers};
use serde_json::json;

fn setup(faults: Vec<Fault>) -> (Collector, cairn::Client, tempfile::TempDir) {
    let server = Collector::start(CollectorConfig {
        write_key: Some("good-key".into()),
        ..Default::default()
    })
    .unwrap();
    server.push_faults(faults);
    let dir = tempfile::tempdir().unwrap();
    let client = client_for(&server.endpoint(), "good-key", &dir);
    (server, client, dir)
}

fn client_for(endpoint: &str, key: &str, dir: &tempfile::TempDir) -> cairn::Client {
    cairn::Client::builder(key)
        .endpoint(endpoint)
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(1_000)
        .retry_base_delay(Duration::from_millis(100))
        .max_retry_delay(Duration::from_secs(2))
        .request_timeout(Duration::from_millis(700))
        .build()
        .unwrap()
}

fn record(c: &cairn::Client, n: u64) {
    for i in 0..n {
        c.track("Numbered", json!({ "n": i })).unwrap();
    }
}

fn ok_twice(server: &Collector, n: u64) {
    let events = server.events();
    assert_eq!(
        numbers(&events)
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64,
        n
    );
    assert!(by_message_id(&events).values().all(|c| *c >= 1));
}

#[test]
fn status_2xx_delivers_and_deletes() {
    let (server, c, _d) = setup(vec![]);
    record(&c, 10);
    let r = c.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.delivered, r.remaining), (10, 0));
    assert_eq!(numbers(&server.events()), (0..10).collect::<Vec<_>>());
    assert_eq!(c.stats().retries, 0);
}

#[test]
fn statuses_408_429_and_5xx_are_retried_with_the_same_events() {
    for status in [408u16, 429, 500, 502, 503] {
        let (server, c, _d) = setup(vec![Fault::Status(status)]);
        record(&c, 5);
        let r = c.flush(Duration::from_secs(10)).unwrap();
        assert_eq!((r.delivered, r.remaining), (5, 0), "status {status}");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "status {status}: one refusal, one retry");
        assert_eq!(reqs[0].status, status);
        let first: Vec<_> = reqs[0]
            .batch()
            .iter()
            .map(|e| e["messageId"].clone())
            .collect();
        let second: Vec<_> = reqs[1]
            .batch()
            .iter()
            .map(|e| e["messageId"].clone())
            .collect();
        assert_eq!(
            first, second,
            "status {status}: the retry resends the same batch"
        );
        assert_eq!(c.stats().retries, 1);
    }
}

#[test]
fn retry_after_is_honoured() {
    let (server, c, _d) = setup(vec![Fault::StatusRetryAfter(429, "1".into())]);
    record(&c, 3);
    let start = Instant::now();
    let r = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(r.remaining, 0);
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited the server's 1 s, not the 100 ms backoff: {:?}",
        start.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_timeout_is_retried() {
    let (server, c, _d) = setup(vec![Fault::Stall(Duration::from_millis(1_500))]);
    record(&c, 3);
    let r = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(r.remaining, 0);
    assert!(c.stats().retries >= 1);
    // The stalled request may have been stored after the client gave up: a
    // duplicate with the same message ids, never a different one.
    ok_twice(&server, 3);
}

#[test]
fn refused_connections_are_retried_until_the_server_appears() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = dead_endpoint();
    let c = client_for(&endpoint, "good-key", &dir);
    record(&c, 4);
    let r = c.flush(Duration::from_millis(600)).unwrap();
    assert_eq!(r.remaining, 4, "nothing lost while nobody listens");
    assert!(
        c.stats().last_error.unwrap().contains("failed"),
        "{:?}",
        c.stats()
    );
    assert!(c.stats().retries >= 1);
}

#[test]
fn a_reset_connection_is_retried_and_a_lost_ack_duplicates_with_the_same_id() {
    let (server, c, _d) = setup(vec![Fault::DropConnection, Fault::StoreThenDrop]);
    record(&c, 6);
    let r = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(r.remaining, 0);
    let events = server.events();
    assert_eq!(
        events.len(),
        12,
        "stored once before the lost ack, once after"
    );
    assert!(
        by_message_id(&events).values().all(|n| *n == 2),
        "each duplicate shares its messageId"
    );
}

#[test]
fn status_413_splits_the_batch() {
    let (server, c, _d) = setup(vec![Fault::Status(413)]);
    record(&c, 8);
    let r = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((r.delivered, r.remaining), (8, 0));
    let sizes: Vec<usize> = server.requests().iter().map(|r| r.batch().len()).collect();
    assert_eq!(sizes, vec![8, 4, 4], "the refused batch goes out in halves");
    assert_eq!(numbers(&server.events()), (0..8).collect::<Vec<_>>());
}

#[test]
fn a_single_event_refused_with_413_is_dropped_as_oversize() {
    let (server, c, _d) = setup(vec![Fault::Status(413)]);
    record(&c, 1);
    let r = c.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.delivered, r.remaining), (0, 0));
    assert_eq!(c.stats().dropped.oversize, 1);
    assert_eq!(server.events().len(), 0);
}

#[test]
fn status_400_splits_the_batch_to_find_the_refused_events() {
    // The 400 answered the batch of 5, not an event in it: both halves go
    // through, and nothing is dropped (tests/tests/input_edges.rs has a
    // backend that keeps refusing one event).
    let (server, c, _d) = setup(vec![Fault::Status(400)]);
    record(&c, 5);
    let r = c.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((r.delivered, r.remaining), (5, 0));
    let sizes: Vec<usize> = server.requests().iter().map(|r| r.batch().len()).collect();
    assert_eq!(sizes, vec![5, 3, 2], "the refused batch goes out in halves");
    assert_eq!(numbers(&server.events()), (0..5).collect::<Vec<_>>());
    assert_eq!(c.stats().dropped.rejected, 0);
}

#[test]
fn a_404_keeps_the_events_and_they_go_once_the_endpoint_answers() {
    let (server, c, _d) = setup(vec![Fault::Status(404)]);
    record(&c, 5);
    let r = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!((r.delivered, r.remaining), (5, 0), "retried, not dropped");
    let s = c.stats();
    assert_eq!(s.dropped.rejected, 0);
    assert_eq!(s.last_rejection, None);
    assert_eq!(s.retries, 1);
    assert_eq!(numbers(&server.events()), (0..5).collect::<Vec<_>>());
}

#[test]
fn statuses_401_and_403_stop_uploads_and_keep_every_event() {
    for status in [401u16, 403] {
        let dir = tempfile::tempdir().unwrap();
        let server = Collector::start(CollectorConfig {
            write_key: Some("good-key".into()),
            ..Default::default()
        })
        .unwrap();
        let endpoint = server.endpoint();
        if status == 403 {
            server.push_faults(vec![Fault::Status(403)]);
        }
        let key = if status == 401 { "bad-key" } else { "good-key" };
        {
            let c = client_for(&endpoint, key, &dir);
            record(&c, 7);
            c.flush(Duration::from_secs(3)).unwrap();
            std::thread::sleep(Duration::from_millis(400));
            let s = c.stats();
            assert!(s.auth_failed, "status {status}: {s:?}");
            assert_eq!(
                (s.queued_events, s.dropped.total()),
                (7, 0),
                "status {status}: never dropped for a bad key"
            );
            assert_eq!(
                server.requests().len(),
                1,
                "status {status}: no retry storm"
            );
            c.shutdown(Duration::from_millis(100)).unwrap();
        }
        // A restart with the right key sends them all.
        let c = client_for(&endpoint, "good-key", &dir);
        // The backlog goes out as soon as it is loaded, possibly before the
        // worker takes the flush: the report's `delivered` counts only what
        // the flush waited for, so the check is what is left and what arrived.
        let r = c.flush(Duration::from_secs(5)).unwrap();
        assert_eq!(r.remaining, 0, "status {status}: {:?}", c.stats());
        assert_eq!(c.stats().delivered_events, 7, "status {status}");
        assert_eq!(server.events().len(), 7, "status {status}");
    }
}

/// A backlog drained while the server fails now and then: the batch behind
/// the one on the wire is read, encoded and compressed ahead, yet every
/// event arrives, first in recording order, and one sent again (an answer
/// lost after storing) keeps its message id.
#[test]
fn a_backlog_drained_through_failures_arrives_in_recording_order() {
    let ok = || Fault::Stall(Duration::ZERO);
    let (server, c, _d) = setup(vec![
        ok(),
        Fault::Status(500),
        ok(),
        Fault::StoreThenDrop,
        ok(),
        Fault::StatusRetryAfter(429, "0".into()),
        ok(),
        Fault::DropConnection,
        ok(),
        Fault::Status(503),
    ]);
    let n = 6_000;
    record(&c, n);
    let r = c.flush(Duration::from_secs(30)).unwrap();
    assert_eq!((r.delivered, r.remaining), (n, 0));
    let events = server.events();
    let mut first_seen = std::collections::HashSet::new();
    let mut firsts = Vec::new();
    let mut id_of = std::collections::HashMap::new();
    for e in &events {
        let id = e["messageId"].as_str().unwrap().to_string();
        let number = e["properties"]["n"].as_u64().unwrap();
        assert_eq!(
            *id_of.entry(id.clone()).or_insert(number),
            number,
            "an event sent again keeps its message id"
        );
        if first_seen.insert(id) {
            firsts.push(number);
        }
    }
    assert_eq!(
        firsts,
        (0..n).collect::<Vec<_>>(),
        "first arrivals in recording order"
    );
    assert!(
        events.len() as u64 > n,
        "the answer lost after storing sent a batch twice"
    );
}
