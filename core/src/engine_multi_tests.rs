//! Several destinations over one buffer, under a fake clock: each lane
//! delivers on its own, a row goes once every destination is done with it.

use super::tests::cfg;
use super::*;
use crate::store::{contract::SECOND, MemoryStore, SqliteStore};
use crate::wire::SegmentWire;

const T0: i64 = 1_800_000_000_000;

fn target(name: &str, routing: Routing) -> Target {
    Target {
        name: name.into(),
        wire: Box::new(SegmentWire::new(
            &format!("http://{name}.collector"),
            "key",
            false,
        )),
        routing,
        max_batch_events: 100,
        max_batch_bytes: 500_000,
    }
}

fn two(cfg: EngineConfig, store: Box<dyn Store + Send>, second: Routing) -> Engine {
    let mut e = Engine::starting_with(
        cfg,
        store,
        vec![
            target(DEFAULT_DESTINATION, Routing::default()),
            target(SECOND, second),
        ],
        7,
        T0,
    );
    e.load_backlog(usize::MAX, T0);
    e
}

/// Event `n`: a track named `name`, with consent `prefs` stamped.
fn ev_named(n: u32, name: &str, prefs: &str) -> NewEvent {
    NewEvent {
        message_id: format!("m{n}"),
        created_ms: T0,
        json: format!(
            r#"{{"type":"track","event":"{name}","messageId":"m{n}","context":{{"consent":{{"categoryPreferences":{prefs}}}}}}}"#
        ),
    }
}

fn record(e: &mut Engine, range: core::ops::RangeInclusive<u32>, now: i64) {
    e.record(
        range.map(|n| ev_named(n, "Viewed", "{}")).collect(),
        vec![],
        now,
    );
}

fn ids(u: &Upload) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&u.request.body).unwrap();
    v["batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_string())
        .collect()
}

fn names(range: core::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("m{n}")).collect()
}

fn status(code: u16) -> Result<HttpResponse, String> {
    Ok(HttpResponse {
        status: code,
        retry_after: None,
        body: String::new(),
    })
}

/// Every upload due now, as (destination, upload).
fn due(e: &mut Engine, now: i64) -> Vec<Upload> {
    core::iter::from_fn(|| e.poll_upload(now)).collect()
}

#[test]
fn a_destination_that_is_down_never_delays_the_other() {
    let mut e = two(cfg(), Box::new(MemoryStore::new()), Routing::default());
    let mut down_seen: Vec<String> = Vec::new();
    let mut up_seen: Vec<String> = Vec::new();
    let mut now = T0;
    // 200 events over a minute; the second destination answers 503 until
    // T0 + 60 s.
    for round in 0..10u32 {
        record(&mut e, round * 20 + 1..=round * 20 + 20, now);
        for _ in 0..20 {
            for u in due(&mut e, now) {
                if u.destination == 0 {
                    up_seen.extend(ids(&u));
                    e.on_upload_result(u.id, status(200), now);
                } else if now < T0 + 60_000 {
                    e.on_upload_result(u.id, status(503), now);
                } else {
                    down_seen.extend(ids(&u));
                    e.on_upload_result(u.id, status(200), now);
                }
            }
            now += 300;
        }
    }
    assert_eq!(
        up_seen,
        names(1..=200),
        "the first got everything at once, in order"
    );
    assert!(
        down_seen.is_empty(),
        "nothing reached the second while down"
    );
    let s = e.stats(now);
    assert_eq!(s.destinations[0].queued_events, 0);
    assert_eq!(s.destinations[1].queued_events, 200);
    assert_eq!(s.queued_events, 200, "the rows stay for the second");
    assert!(s.destinations[1].retries > 0 && s.destinations[1].last_error.is_some());
    assert_eq!(s.destinations[0].retries, 0);
    // Up again: the second gets everything once, in order.
    now = T0 + 60_000;
    for _ in 0..2_000 {
        for u in due(&mut e, now) {
            assert_eq!(u.destination, 1, "the first has nothing left");
            down_seen.extend(ids(&u));
            e.on_upload_result(u.id, status(200), now);
        }
        if e.queued_events() == 0 {
            break;
        }
        now += 1_000;
    }
    assert_eq!(down_seen, names(1..=200));
    let s = e.stats(now);
    assert_eq!((s.queued_events, s.delivered_events), (0, 400));
    assert_eq!(s.destinations[1].delivered_events, 200);
    assert!(e.delivered_through(e.last_seq()));
}

#[test]
fn a_flush_waits_for_every_destination_but_not_for_one_refusing_the_key() {
    let mut e = two(cfg(), Box::new(MemoryStore::new()), Routing::default());
    record(&mut e, 1..=3, T0);
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ups.len(), 2, "both at once: {ups:?}");
    let last = e.last_seq();
    e.on_upload_result(ups[0].id, status(200), T0);
    assert!(!e.delivered_through(last), "the second has not answered");
    e.on_upload_result(ups[1].id, status(401), T0);
    assert!(
        e.delivered_through(last),
        "a stopped destination waits for no one"
    );
    assert!(!e.auth_failed(), "uploads go on to the first");
    assert!(e.stats(T0).destinations[1].auth_failed);
}

#[test]
fn routing_sends_each_destination_only_its_events_and_the_rows_go_once_both_passed() {
    let orders = Routing {
        allow_events: vec!["Order *".into()],
        ..Routing::default()
    };
    let mut e = two(cfg(), Box::new(MemoryStore::new()), orders);
    let events: Vec<NewEvent> = (1..=10)
        .map(|n| {
            ev_named(
                n,
                if n % 3 == 0 {
                    "Order Completed"
                } else {
                    "Viewed"
                },
                "{}",
            )
        })
        .collect();
    e.record(events, vec![], T0);
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ups.len(), 2);
    assert_eq!(ids(&ups[0]), names(1..=10));
    assert_eq!(ids(&ups[1]), ["m3", "m6", "m9"]);
    e.on_upload_result(ups[1].id, status(200), T0);
    let s = e.stats(T0);
    assert_eq!(s.destinations[1].queued_events, 0, "m10 passed over too");
    assert_eq!(s.destinations[1].skipped_events, 7);
    assert_eq!(s.queued_events, 10, "the first still needs them");
    e.on_upload_result(ups[0].id, status(200), T0);
    assert_eq!(e.stats(T0).queued_events, 0);
    // A batch with nothing for the second moves its cursor without a request.
    e.record(vec![ev_named(11, "Viewed", "{}")], vec![], T0);
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].destination, 0);
    e.on_upload_result(ups[0].id, status(200), T0);
    let s = e.stats(T0);
    assert_eq!((s.queued_events, s.destinations[1].requests), (0, 1));
}

#[test]
fn consent_categories_route_by_the_stamp_and_a_revocation_purges_only_that_destination() {
    let marketing = Routing {
        consent_categories: vec!["marketing".into()],
        ..Routing::default()
    };
    let mut e = two(cfg(), Box::new(MemoryStore::new()), marketing);
    e.record(
        vec![
            ev_named(1, "A", r#"{"marketing":true}"#),
            ev_named(2, "B", r#"{"marketing":false}"#),
            ev_named(3, "C", r#"{"marketing":true}"#),
        ],
        vec![],
        T0,
    );
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(
        ids(&ups[1]),
        ["m1", "m3"],
        "m2 was recorded without consent"
    );
    e.on_upload_result(ups[0].id, status(200), T0);
    e.on_upload_result(ups[1].id, status(200), T0);
    // Queued for both, then marketing is revoked: the second's queue goes.
    e.record(
        (4..=8)
            .map(|n| ev_named(n, "D", r#"{"marketing":true}"#))
            .collect(),
        vec![],
        T0,
    );
    assert_eq!(e.purge_for_category("analytics", T0), 0, "no one needs it");
    assert_eq!(e.purge_for_category("marketing", T0), 5);
    let s = e.stats(T0);
    assert_eq!(s.destinations[1].dropped.consent, 5);
    assert_eq!(s.destinations[0].dropped.consent, 0);
    assert_eq!(
        s.destinations[0].queued_events, 5,
        "the first keeps its queue"
    );
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ups.len(), 1);
    assert_eq!(ids(&ups[0]), names(4..=8));
}

#[test]
fn overflow_counts_for_each_destination_what_it_lost() {
    let mut small = cfg();
    small.max_queue_events = 10;
    let mut e = two(small, Box::new(MemoryStore::new()), Routing::default());
    record(&mut e, 1..=6, T0);
    e.flush();
    let ups = due(&mut e, T0);
    // The first delivers m1..m6; the second fails and waits.
    e.on_upload_result(ups[0].id, status(200), T0);
    e.on_upload_result(ups[1].id, status(503), T0);
    record(&mut e, 7..=14, T0);
    let s = e.stats(T0);
    assert_eq!(s.queued_events, 10, "the cap holds for the whole file");
    assert_eq!(s.dropped.overflow, 4);
    assert_eq!(
        s.destinations[1].dropped.overflow, 4,
        "the second lost m1..m4"
    );
    assert_eq!(s.destinations[0].dropped.overflow, 0, "the first had them");
    assert_eq!(s.destinations[1].queued_events, 10);
    assert_eq!(s.destinations[0].queued_events, 8);
}

/// A destination's overflow counts only the events its routing takes: the
/// rows it would have passed over leave its queue without being its loss.
/// Its own events add up: delivered plus dropped. Both stores.
#[test]
fn overflow_counts_only_the_events_a_destination_takes() {
    let dir = tempfile::tempdir().unwrap();
    let stores: [Box<dyn Store + Send>; 2] = [
        Box::new(MemoryStore::new()),
        Box::new(SqliteStore::open(dir.path().join("cairn.db")).unwrap()),
    ];
    for store in stores {
        let mut small = cfg();
        small.max_queue_events = 10;
        let no_hidden = Routing {
            deny_events: vec!["Hidden*".into()],
            ..Routing::default()
        };
        let mut e = two(small, store, no_hidden);
        // Odd events are "Viewed", even ones "Hidden" (not for the second).
        let batch = |from: u32, to: u32| -> Vec<NewEvent> {
            (from..=to)
                .map(|n| ev_named(n, if n % 2 == 1 { "Viewed" } else { "Hidden" }, "{}"))
                .collect()
        };
        e.record(batch(1, 6), vec![], T0);
        e.flush();
        let ups = due(&mut e, T0);
        e.on_upload_result(ups[0].id, status(200), T0);
        e.on_upload_result(ups[1].id, status(503), T0);
        e.record(batch(7, 14), vec![], T0);
        let s = e.stats(T0);
        assert_eq!(s.dropped.overflow, 4, "m1..m4 left the file");
        assert_eq!(
            s.destinations[1].dropped.overflow, 2,
            "of m1..m4 the second takes m1 and m3 only"
        );
        assert_eq!(s.destinations[0].dropped.overflow, 0);
        assert_eq!(s.destinations[1].queued_events, 10);
        // The second recovers: it receives its events that are left, once.
        let mut now = T0 + 60_000;
        let mut got = Vec::new();
        for _ in 0..10 {
            e.flush();
            for up in due(&mut e, now) {
                if up.request.url.contains(SECOND) {
                    got.extend(ids(&up));
                }
                e.on_upload_result(up.id, status(200), now);
            }
            now += 60_000;
        }
        assert_eq!(got, ["m5", "m7", "m9", "m11", "m13"]);
        let d = &e.stats(now).destinations[1];
        assert_eq!(
            d.delivered_events + d.dropped.overflow,
            7,
            "its seven events: delivered or counted dropped"
        );
        assert_eq!(d.queued_events, 0);
    }
}

#[test]
fn a_restart_resumes_each_destination_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    {
        let mut e = two(
            cfg(),
            Box::new(SqliteStore::open(&path).unwrap()),
            Routing::default(),
        );
        record(&mut e, 1..=30, T0);
        e.flush();
        let ups = due(&mut e, T0);
        e.on_upload_result(ups[0].id, status(200), T0);
        e.on_upload_result(ups[1].id, status(503), T0);
        record(&mut e, 31..=35, T0);
        // Dropped without a clean close of the engine's state: the store's
        // own close saves the acks, as the worker's next commit would.
    }
    let mut e = two(
        cfg(),
        Box::new(SqliteStore::open(&path).unwrap()),
        Routing::default(),
    );
    let s = e.stats(T0);
    assert_eq!(
        (
            s.destinations[0].queued_events,
            s.destinations[1].queued_events
        ),
        (5, 35)
    );
    let ups = due(&mut e, T0);
    assert_eq!(ids(&ups[0]), names(31..=35), "the first goes on");
    assert_eq!(
        ids(&ups[1]),
        names(1..=30),
        "the second starts over its own, with the batch that failed"
    );
    e.on_upload_result(ups[1].id, status(200), T0);
    let next = e.poll_upload(T0).unwrap();
    assert_eq!((next.destination, ids(&next)), (1, names(31..=35)));
}

#[test]
fn a_file_of_one_destination_gains_a_second_that_receives_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    {
        let mut e = Engine::new(
            cfg(),
            Box::new(SqliteStore::open(&path).unwrap()),
            Box::new(SegmentWire::new("http://a", "key", false)),
            7,
            T0,
        );
        record(&mut e, 1..=25, T0);
        let u = e.poll_upload(T0).unwrap();
        assert_eq!(u.destination, 0);
        e.on_upload_result(u.id, status(200), T0);
        record(&mut e, 26..=27, T0);
    }
    let mut e = two(
        cfg(),
        Box::new(SqliteStore::open(&path).unwrap()),
        Routing::default(),
    );
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ids(&ups[0]), names(26..=27));
    assert_eq!(ids(&ups[1]), names(26..=27), "starts where the first stood");
}

#[test]
fn one_destination_with_routing_passes_over_the_rest_and_empties_the_file() {
    let orders = Routing {
        allow_events: vec!["Order *".into()],
        ..Routing::default()
    };
    let mut t = target(DEFAULT_DESTINATION, orders);
    t.max_batch_events = 4;
    let mut e = Engine::starting_with(cfg(), Box::new(MemoryStore::new()), vec![t], 7, T0);
    e.load_backlog(usize::MAX, T0);
    let events: Vec<NewEvent> = (1..=10)
        .map(|n| ev_named(n, if n == 2 { "Order Completed" } else { "Viewed" }, "{}"))
        .collect();
    e.record(events, vec![], T0);
    e.flush();
    let ups = due(&mut e, T0);
    assert_eq!(ups.len(), 1);
    assert_eq!(ids(&ups[0]), ["m2"]);
    e.on_upload_result(ups[0].id, status(200), T0);
    // The rest holds nothing for it: passed over without a request.
    assert!(due(&mut e, T0).is_empty());
    assert_eq!(e.queued_events(), 0, "{:?}", e.stats(T0));
    assert!(e.delivered_through(e.last_seq()));
    assert_eq!(e.next_wakeup(T0), None);
    // Its one entry in the stats shows what the routing passed over.
    let s = e.stats(T0);
    assert_eq!(s.destinations.len(), 1, "{s:?}");
    let d = &s.destinations[0];
    assert_eq!(d.name, DEFAULT_DESTINATION);
    assert_eq!((d.delivered_events, d.skipped_events), (1, 9));
    assert_eq!((d.queued_events, d.requests), (0, 1));
    assert_eq!(d.dropped, s.dropped);
}

#[test]
fn a_revocation_while_the_disk_fails_still_keeps_the_events_from_that_destination() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    /// A memory store whose writes (acks included) fail while the flag is set.
    struct Failing(MemoryStore, Arc<AtomicBool>);
    impl Store for Failing {
        fn append(
            &mut self,
            e: &[NewEvent],
            s: &[(String, Option<String>)],
        ) -> Result<u64, StoreError> {
            self.0.fail_writes = self.1.load(Ordering::SeqCst);
            self.0.append(e, s)
        }
        fn claim(
            &mut self,
            d: &str,
            n: usize,
            b: usize,
        ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
            self.0.claim(d, n, b)
        }
        fn release(&mut self, d: &str) {
            self.0.release(d)
        }
        fn ack(&mut self, d: &str, s: u64) -> Result<(), StoreError> {
            self.0.fail_writes = self.1.load(Ordering::SeqCst);
            self.0.ack(d, s)
        }
        fn set_destinations(&mut self, names: &[&str]) -> Result<(), StoreError> {
            self.0.set_destinations(names)
        }
        fn pending(&mut self, d: &str) -> Result<Removed, StoreError> {
            self.0.pending(d)
        }
        fn drop_oldest(&mut self, e: u64, b: u64) -> Result<Removed, StoreError> {
            self.0.drop_oldest(e, b)
        }
        fn drop_older_than(&mut self, c: i64) -> Result<Removed, StoreError> {
            self.0.drop_older_than(c)
        }
        fn clear(&mut self) -> Result<Removed, StoreError> {
            self.0.clear()
        }
        fn read(&mut self, a: u64, n: usize) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
            self.0.read(a, n)
        }
        fn summary(&mut self) -> Result<crate::store::QueueSummary, StoreError> {
            self.0.summary()
        }
        fn get_state(&mut self, k: &str) -> Result<Option<String>, StoreError> {
            self.0.get_state(k)
        }
    }
    let fail = Arc::new(AtomicBool::new(false));
    let marketing = Routing {
        consent_categories: vec!["marketing".into()],
        ..Routing::default()
    };
    let mut e = two(
        cfg(),
        Box::new(Failing(MemoryStore::new(), Arc::clone(&fail))),
        marketing,
    );
    let granted = |n| ev_named(n, "A", r#"{"marketing":true}"#);
    e.record((1..=3).map(granted).collect(), vec![], T0);
    fail.store(true, Ordering::SeqCst);
    e.record((4..=5).map(granted).collect(), vec![], T0);
    assert_eq!(e.memory_events(), 2);
    assert_eq!(e.purge_for_category("marketing", T0), 5);
    // While the purge waits for the store, nothing goes to the second.
    e.flush();
    assert!(due(&mut e, T0).iter().all(|u| u.destination == 0));
    fail.store(false, Ordering::SeqCst);
    let later = T0 + 10_000;
    let mut to_second = Vec::new();
    for u in due(&mut e, later) {
        if u.destination == 1 {
            to_second.extend(ids(&u));
        }
        e.on_upload_result(u.id, status(200), later);
    }
    e.flush();
    for u in due(&mut e, later) {
        if u.destination == 1 {
            to_second.extend(ids(&u));
        }
        e.on_upload_result(u.id, status(200), later);
    }
    assert!(to_second.is_empty(), "{to_second:?}");
    assert_eq!(e.stats(later).destinations[1].dropped.consent, 5);
}
