//! Engine rules under a fake clock: every test drives time by hand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::store::{MemoryStore, QueueSummary, Removed, StoredEvent};
use crate::wire::SegmentWire;

const T0: i64 = 1_800_000_000_000;

/// The engine settings the rules are tested with (the multi-destination
/// tests use them too).
pub(super) fn cfg() -> EngineConfig {
    EngineConfig {
        flush_at: 20,
        flush_interval_ms: 10_000,
        max_batch_events: 100,
        max_batch_bytes: 500_000,
        retry_base_ms: 1_000,
        retry_max_ms: 300_000,
        max_queue_events: 100_000,
        max_queue_bytes: 64 << 20,
        max_event_age_ms: 30 * 24 * 3600 * 1000,
    }
}

/// A store whose writes fail while the shared flag is set (a full disk).
struct FlakyStore {
    inner: MemoryStore,
    fail: Arc<AtomicBool>,
}

impl Store for FlakyStore {
    fn append(
        &mut self,
        e: &[NewEvent],
        s: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        self.inner.fail_writes = self.fail.load(Ordering::SeqCst);
        self.inner.append(e, s)
    }
    fn claim(&mut self, d: &str, n: usize, b: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.claim(d, n, b)
    }
    fn release(&mut self, d: &str) {
        self.inner.release(d)
    }
    fn ack(&mut self, d: &str, s: u64) -> Result<(), StoreError> {
        self.inner.fail_writes = self.fail.load(Ordering::SeqCst);
        self.inner.ack(d, s)
    }
    fn save_acks(&mut self) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Write("disk full".into()));
        }
        Ok(())
    }
    fn drop_oldest(&mut self, e: u64, b: u64) -> Result<Removed, StoreError> {
        self.inner.drop_oldest(e, b)
    }
    fn drop_older_than(&mut self, c: i64) -> Result<Removed, StoreError> {
        self.inner.drop_older_than(c)
    }
    fn clear(&mut self) -> Result<Removed, StoreError> {
        self.inner.clear()
    }
    fn read(&mut self, after: u64, n: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read(after, n)
    }
    fn summary(&mut self) -> Result<QueueSummary, StoreError> {
        self.inner.summary()
    }
    fn get_state(&mut self, k: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_state(k)
    }
}

fn engine_with(cfg: EngineConfig, store: Box<dyn Store + Send>) -> Engine {
    Engine::new(
        cfg,
        store,
        Box::new(SegmentWire::new("http://collector", "key", false)),
        7,
        T0,
    )
}

/// An engine over a [`FlakyStore`] (the default settings), and the flag
/// that makes its writes fail; `failing`: from the start.
fn flaky_engine(failing: bool) -> (Engine, Arc<AtomicBool>) {
    let fail = Arc::new(AtomicBool::new(failing));
    let store = FlakyStore {
        inner: MemoryStore::new(),
        fail: Arc::clone(&fail),
    };
    (engine_with(cfg(), Box::new(store)), fail)
}

fn engine(cfg: EngineConfig) -> Engine {
    engine_with(cfg, Box::new(MemoryStore::new()))
}

fn ev(n: u32, created_ms: i64) -> NewEvent {
    NewEvent {
        message_id: format!("m{n}"),
        created_ms,
        json: format!("{{\"messageId\":\"m{n}\"}}"),
    }
}

fn record(e: &mut Engine, range: std::ops::RangeInclusive<u32>, now: i64) {
    e.record(range.map(|n| ev(n, now)).collect(), vec![], now);
}

/// Message ids inside an upload's body, in order.
fn ids(u: &Upload) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&u.request.body).unwrap();
    v["batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["messageId"].as_str().unwrap().to_string())
        .collect()
}

fn names(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("m{n}")).collect()
}

fn ok() -> Result<HttpResponse, String> {
    status(200, None)
}

fn status(code: u16, retry_after: Option<&str>) -> Result<HttpResponse, String> {
    Ok(HttpResponse {
        status: code,
        retry_after: retry_after.map(str::to_string),
        body: "{\"error\":\"x\"}".into(),
    })
}

#[test]
fn flush_at_closes_a_batch() {
    let mut e = engine(cfg());
    record(&mut e, 1..=19, T0);
    assert!(
        e.poll_upload(T0).is_none(),
        "19 events wait for flush_at = 20"
    );
    record(&mut e, 20..=20, T0);
    let u = e.poll_upload(T0).expect("the 20th event closes the batch");
    assert_eq!(ids(&u), names(1..=20));
}

#[test]
fn flush_interval_closes_a_batch() {
    let mut e = engine(cfg());
    record(&mut e, 1..=1, T0);
    assert_eq!(e.next_wakeup(T0), Some(T0 + 10_000));
    assert!(e.poll_upload(T0 + 9_999).is_none());
    let u = e.poll_upload(T0 + 10_000).expect("interval elapsed");
    assert_eq!(ids(&u), names(1..=1));
}

/// 250 events in batches of 100, each answered before the next leaves;
/// with `claim_next`, each next batch is read while one is on the wire (as
/// the browser does).
fn drain_a_backlog_in_order(claim_next: bool) {
    let mut e = engine(cfg());
    record(&mut e, 1..=250, T0);
    let mut seen = Vec::new();
    for expected in [100, 100, 50] {
        let u = e.poll_upload(T0).unwrap();
        assert_eq!(u.events, expected);
        if claim_next {
            e.claim_next(T0);
            e.claim_next(T0);
        }
        assert!(e.poll_upload(T0).is_none(), "never two uploads in flight");
        seen.extend(ids(&u));
        e.on_upload_result(u.id, ok(), T0);
    }
    assert_eq!(seen, names(1..=250), "sent once each, in recording order");
    assert_eq!(e.stats(T0).queued_events, 0);
    assert_eq!(e.stats(T0).delivered_events, 250);
    assert!(e.poll_upload(T0 + 1_000_000).is_none());
}

#[test]
fn max_batch_events_splits_a_backlog_in_order() {
    drain_a_backlog_in_order(false);
}

/// The browser reads the next batch while one is on the wire
/// (`claim_next`): what leaves, and in which order, is what leaves without it.
#[test]
fn the_batch_claimed_while_one_is_on_the_wire_goes_next_in_order() {
    drain_a_backlog_in_order(true);
}

#[test]
fn max_batch_bytes_caps_a_batch() {
    let mut c = cfg();
    c.max_batch_bytes = 2_500;
    let mut e = engine(c);
    let big = |n: u32| NewEvent {
        message_id: format!("m{n}"),
        created_ms: T0,
        json: format!("{{\"messageId\":\"m{n}\",\"p\":\"{}\"}}", "x".repeat(1_000)),
    };
    e.record((1..=3).map(big).collect(), vec![], T0);
    // 3 KB queued is over max_batch_bytes: due at once, and cut to two events.
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(1..=2));
    assert!(u.request.body.len() <= 2_500 + 100);
}

#[test]
fn explicit_flush_sends_below_flush_at() {
    let mut e = engine(cfg());
    record(&mut e, 1..=3, T0);
    assert!(e.poll_upload(T0).is_none());
    e.flush();
    assert_eq!(e.next_wakeup(T0), Some(T0));
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(1..=3));
    assert!(!e.delivered_through(3));
    e.on_upload_result(u.id, ok(), T0);
    assert!(e.delivered_through(3));
}

#[test]
fn a_failed_batch_is_retried_before_newer_events_with_the_same_ids() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let first = e.poll_upload(T0).unwrap();
    // The server stored the batch but the ack was lost (connection reset).
    e.on_upload_result(first.id, Err("connection reset".into()), T0);
    record(&mut e, 21..=60, T0);
    let retry_at = e.next_wakeup(T0).unwrap();
    assert!(
        retry_at > T0 && retry_at <= T0 + 1_000,
        "first retry within the 1 s window"
    );
    assert!(
        e.poll_upload(retry_at - 1).is_none(),
        "nothing overtakes a batch waiting to be retried"
    );
    let again = e.poll_upload(retry_at).unwrap();
    assert_eq!(
        ids(&again),
        ids(&first),
        "the duplicate carries the same message ids"
    );
    e.on_upload_result(again.id, ok(), retry_at);
    let next = e.poll_upload(retry_at).unwrap();
    assert_eq!(ids(&next)[0], "m21");
    assert_eq!(e.stats(retry_at).retries, 1);
}

#[test]
fn backoff_grows_and_honours_retry_after_within_the_cap() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let mut now = T0;
    let mut windows = Vec::new();
    for _ in 0..12 {
        let u = e.poll_upload(now).unwrap();
        e.on_upload_result(u.id, status(503, None), now);
        let at = e.next_wakeup(now).unwrap();
        windows.push(at - now);
        now = at;
    }
    for (i, w) in windows.iter().enumerate() {
        // The first RETRY_STEADY_FAILURES wait within the base window; each
        // later failure doubles it.
        let base = cfg().retry_base_ms as i64;
        let cap = (base << (i as u32 + 1).saturating_sub(RETRY_STEADY_FAILURES)).min(300_000);
        assert!(
            *w >= 100 && *w <= cap,
            "retry {i}: waited {w} ms, window {cap}"
        );
    }
    assert!(
        windows[8..].iter().any(|w| *w > 16_000),
        "late retries wait long: {windows:?}"
    );

    let u = e.poll_upload(now).unwrap();
    e.on_upload_result(u.id, status(429, Some("7")), now);
    assert_eq!(
        e.next_wakeup(now),
        Some(now + 7_000),
        "Retry-After in seconds is honoured"
    );
    now += 7_000;
    let u = e.poll_upload(now).unwrap();
    e.on_upload_result(u.id, status(503, Some("86400")), now);
    assert_eq!(
        e.next_wakeup(now),
        Some(now + 300_000),
        "Retry-After is clamped to max_retry_delay"
    );
    now += 300_000;
    let u = e.poll_upload(now).unwrap();
    e.on_upload_result(u.id, status(503, Some("0")), now);
    assert_eq!(
        e.next_wakeup(now),
        Some(now + 100),
        "Retry-After: 0 is floored, no hot loop"
    );
}

#[test]
fn failures_the_server_paced_with_retry_after_do_not_grow_the_backoff() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let mut now = T0;
    let fail = |e: &mut Engine, now: &mut i64, retry_after: Option<&str>| {
        let u = e.poll_upload(*now).unwrap();
        e.on_upload_result(u.id, status(503, retry_after), *now);
        let at = e.next_wakeup(*now).unwrap();
        let waited = at - *now;
        *now = at;
        waited
    };
    for _ in 0..RETRY_STEADY_FAILURES {
        fail(&mut e, &mut now, None);
    }
    for _ in 0..20 {
        assert_eq!(
            fail(&mut e, &mut now, Some("1")),
            1_000,
            "Retry-After is the wait"
        );
    }
    // Twenty paced failures later, the next unpaced one is only the first
    // past the steady ones: its window is twice the base, not 2^20 times.
    let waited = fail(&mut e, &mut now, None);
    let window = 2 * cfg().retry_base_ms as i64;
    assert!(
        (100..=window).contains(&waited),
        "waited {waited} ms, window {window}"
    );
}

#[test]
fn an_hour_of_outage_makes_few_requests() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let end = T0 + 3_600_000;
    let mut now = T0;
    let mut requests = 0;
    while now < end {
        if let Some(u) = e.poll_upload(now) {
            requests += 1;
            e.on_upload_result(u.id, Err("connection refused".into()), now);
        }
        now = e.next_wakeup(now).unwrap().max(now + 1);
    }
    // Windows double to the 5-minute cap: at least 3600/300 = 12 requests, and
    // with full jitter about 3600/150 + 9 ≈ 33 on average.
    assert!(
        (12..=60).contains(&requests),
        "{requests} requests in an hour"
    );
    assert_eq!(e.stats(now).queued_events, 20, "nothing was dropped");
}

#[test]
fn status_413_splits_down_to_one_event_then_drops_it_as_oversize() {
    let mut e = engine(cfg());
    record(&mut e, 1..=8, T0);
    e.flush();
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(u.events, 8);
    e.on_upload_result(u.id, status(413, None), T0);
    let half = e
        .poll_upload(T0)
        .expect("halves go out at once, no backoff");
    assert_eq!(ids(&half), names(1..=4));
    e.on_upload_result(half.id, ok(), T0);
    let other = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&other), names(5..=8));
    // m5..m8 is still too large: 2, then 1, then m5 alone is dropped.
    e.on_upload_result(other.id, status(413, None), T0);
    let two = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&two), names(5..=6));
    e.on_upload_result(two.id, status(413, None), T0);
    let one = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&one), names(5..=5));
    e.on_upload_result(one.id, status(413, None), T0);
    let rest = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&rest)[0], "m6");
    e.on_upload_result(rest.id, ok(), T0);
    let mut remaining = Vec::new();
    while let Some(u) = e.poll_upload(T0) {
        remaining.extend(ids(&u));
        e.on_upload_result(u.id, ok(), T0);
    }
    assert_eq!(remaining, names(7..=8));
    let s = e.stats(T0);
    assert_eq!(
        (s.dropped.oversize, s.delivered_events, s.queued_events),
        (1, 7, 0)
    );
}

#[test]
fn status_404_keeps_the_batch_and_retries_it_saying_to_check_the_endpoint() {
    let mut e = engine(cfg());
    record(&mut e, 1..=40, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(u.id, status(404, None), T0);
    let s = e.stats(T0);
    assert_eq!((s.dropped.rejected, s.queued_events), (0, 40));
    assert!(
        s.last_error
            .as_deref()
            .unwrap()
            .ends_with(": check the endpoint"),
        "{:?}",
        s.last_error
    );
    assert!(e.poll_upload(T0).is_none(), "after a backoff, not at once");
    let later = T0 + 10 * 60_000;
    let again = e.poll_upload(later).expect("retried after the backoff");
    assert_eq!(ids(&again), names(1..=40));
    e.on_upload_result(again.id, ok(), later);
    let s = e.stats(later);
    assert_eq!((s.delivered_events, s.dropped.rejected), (40, 0));
}

#[test]
fn a_422_isolates_the_refused_event_as_a_400_does() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let (delivered, _) = deliver_refusing_with(&mut e, &["m7"], 422, T0);
    let mut want = names(1..=20);
    want.retain(|id| id != "m7");
    assert_eq!(delivered, want);
    let s = e.stats(T0);
    assert_eq!((s.dropped.rejected, s.delivered_events), (1, 19));
}

/// Drives `e` against a backend that answers 400 to any batch holding one of
/// `refused` and 200 to the rest, all at `now` (splits go out at once, with
/// no backoff). Returns the ids delivered, in order, and the requests made.
fn deliver_refusing(e: &mut Engine, refused: &[&str], now: i64) -> (Vec<String>, usize) {
    deliver_refusing_with(e, refused, 400, now)
}

/// [`deliver_refusing`] with the refusing status `code`.
fn deliver_refusing_with(
    e: &mut Engine,
    refused: &[&str],
    code: u16,
    now: i64,
) -> (Vec<String>, usize) {
    let (mut delivered, mut requests) = (Vec::new(), 0);
    while let Some(u) = e.poll_upload(now) {
        requests += 1;
        assert!(requests < 1_000, "no end to the splitting");
        let batch = ids(&u);
        if batch.iter().any(|id| refused.contains(&id.as_str())) {
            e.on_upload_result(u.id, status(code, None), now);
        } else {
            delivered.extend(batch);
            e.on_upload_result(u.id, ok(), now);
        }
    }
    (delivered, requests)
}

#[test]
fn status_400_isolates_the_refused_events_and_delivers_the_rest_in_order() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(u.events, 20);
    e.on_upload_result(u.id, status(400, None), T0);
    let half = e
        .poll_upload(T0)
        .expect("halves go out at once, no backoff");
    assert_eq!(ids(&half), names(1..=10));
    assert!(e
        .stats(T0)
        .last_error
        .unwrap()
        .contains("sending it in halves"));
    e.on_upload_result(half.id, ok(), T0);

    let (delivered, requests) = deliver_refusing(&mut e, &["m13", "m17"], T0);
    let mut want = names(11..=20);
    want.retain(|id| id != "m13" && id != "m17");
    assert_eq!(delivered, want, "the rest arrive, in recording order");
    let s = e.stats(T0);
    assert_eq!(
        (s.dropped.rejected, s.delivered_events, s.queued_events),
        (2, 18, 0),
        "only the refused events are counted rejected"
    );
    assert_eq!(
        s.last_rejection.as_deref(),
        Some("HTTP 400: {\"error\":\"x\"}")
    );
    assert_eq!(s.retries, 0, "a split is not a retry");
    assert!(requests <= 14, "{requests} requests for 10 events");
    // Later batches are full size again.
    record(&mut e, 21..=45, T0);
    let next = e.poll_upload(T0).unwrap();
    assert_eq!(next.events, 25);
}

#[test]
fn after_isolating_a_refused_event_batches_grow_back() {
    let mut e = engine(cfg());
    record(&mut e, 1..=100, T0);
    let (delivered, requests) = deliver_refusing(&mut e, &["m1"], T0);
    assert_eq!(delivered, names(2..=100));
    assert_eq!(e.stats(T0).dropped.rejected, 1);
    // 100, 50, 25, 13, 7, 4, 2, 1 to find m1; then 2, 4, 8, ... for the
    // other 99, not 99 requests of one event each.
    assert!(requests <= 16, "{requests} requests");
}

#[test]
fn a_backend_that_refuses_everything_with_400_costs_about_two_requests_an_event() {
    let mut e = engine(cfg());
    record(&mut e, 1..=40, T0);
    let all = names(1..=40);
    let refused: Vec<&str> = all.iter().map(String::as_str).collect();
    let (delivered, requests) = deliver_refusing(&mut e, &refused, T0);
    assert!(delivered.is_empty());
    let s = e.stats(T0);
    assert_eq!((s.dropped.rejected, s.queued_events), (40, 0));
    assert!(requests <= 2 * 40 + 8, "{requests} requests");
}

#[test]
fn status_401_stops_uploads_and_keeps_every_event() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(u.id, status(401, None), T0);
    record(&mut e, 21..=60, T0);
    assert!(e.poll_upload(T0 + 3_600_000).is_none());
    assert_eq!(e.next_wakeup(T0), None);
    let s = e.stats(T0);
    assert!(s.auth_failed);
    assert_eq!((s.queued_events, s.dropped.total()), (60, 0));
    e.resume();
    assert_eq!(ids(&e.poll_upload(T0).unwrap())[0], "m1");
}

#[test]
fn queue_caps_drop_the_oldest_unsent_as_overflow() {
    let mut c = cfg();
    c.max_queue_events = 10;
    c.flush_at = 1_000;
    let mut e = engine(c);
    record(&mut e, 1..=15, T0);
    let s = e.stats(T0);
    assert_eq!((s.queued_events, s.dropped.overflow), (10, 5));
    e.flush();
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(6..=15));

    let mut c = cfg();
    c.max_queue_bytes = 100;
    c.flush_at = 1_000;
    let mut e = engine(c);
    record(&mut e, 1..=10, T0); // 16 or 17 bytes each
    let s = e.stats(T0);
    assert!(s.queued_bytes <= 100 && s.dropped.overflow > 0, "{s:?}");
}

#[test]
fn old_events_expire_before_they_are_sent() {
    let mut e = engine(cfg());
    let month_ago = T0 - 31 * 24 * 3600 * 1000;
    e.record((1..=5).map(|n| ev(n, month_ago)).collect(), vec![], T0);
    record(&mut e, 6..=7, T0);
    e.flush();
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(6..=7));
    assert_eq!(e.stats(T0).dropped.expired, 5);
}

#[test]
fn a_failing_store_holds_events_in_memory_and_writes_them_later_in_order() {
    let (mut e, fail) = flaky_engine(false);
    record(&mut e, 1..=2, T0);
    fail.store(true, Ordering::SeqCst);
    assert_eq!(e.record(vec![ev(3, T0)], vec![], T0), Recorded::InMemory);
    fail.store(false, Ordering::SeqCst);
    // Still failing from the engine's view until the retry interval passes.
    assert_eq!(e.record(vec![ev(4, T0)], vec![], T0), Recorded::InMemory);
    let s = e.stats(T0);
    assert!(matches!(s.storage, StorageState::Failing { .. }));
    assert_eq!(s.memory_events, 2);
    let retry = e.next_wakeup(T0).unwrap();
    assert_eq!(retry, T0 + STORAGE_RETRY_INTERVAL.as_millis() as i64);
    e.flush();
    // The store is tried again before anything is sent; held events follow
    // the stored ones, in order.
    let u = e.poll_upload(retry).unwrap();
    assert_eq!(ids(&u), names(1..=4));
    let s = e.stats(retry);
    assert_eq!(
        (s.storage, s.memory_events, s.queued_events),
        (StorageState::Ok, 0, 4)
    );
}

#[test]
fn saving_acks_on_every_wake_up_does_not_postpone_the_storage_retry() {
    let (mut e, fail) = flaky_engine(true);
    assert_eq!(e.record(vec![ev(1, T0)], vec![], T0), Recorded::InMemory);
    let retry = e.next_wakeup(T0).unwrap();
    for t in (T0..retry).step_by(250) {
        e.save_acks(t);
    }
    assert_eq!(
        e.next_wakeup(retry - 1),
        Some(retry),
        "the disk is still tried again on time"
    );
    fail.store(false, Ordering::SeqCst);
    e.poll_upload(retry);
    let s = e.stats(retry);
    assert_eq!(
        (s.storage, s.memory_events, s.queued_events),
        (StorageState::Ok, 0, 1)
    );
}

#[test]
fn memory_fallback_is_bounded_and_counts_overflow() {
    let (mut e, _failing) = flaky_engine(true);
    let n = MEMORY_FALLBACK_EVENTS as u32 + 5;
    record(&mut e, 1..=n, T0);
    let s = e.stats(T0);
    assert_eq!(s.memory_events, MEMORY_FALLBACK_EVENTS as u64);
    assert_eq!(s.dropped.overflow, 5);
}

#[test]
fn a_backlog_found_at_start_is_sent_at_once() {
    let mut store = MemoryStore::new();
    store
        .append(&(1..=3).map(|n| ev(n, T0)).collect::<Vec<_>>(), &[])
        .unwrap();
    let mut e = engine_with(cfg(), Box::new(store));
    assert_eq!(e.next_wakeup(T0), Some(T0));
    assert_eq!(ids(&e.poll_upload(T0).unwrap()), names(1..=3));
}

#[test]
fn a_stale_result_is_ignored() {
    let mut e = engine(cfg());
    record(&mut e, 1..=20, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(u.id + 100, ok(), T0);
    assert_eq!(e.stats(T0).in_flight_events, 20);
    e.on_upload_result(u.id, ok(), T0);
    assert_eq!(e.stats(T0).delivered_events, 20);
}

#[test]
fn drop_counts_persist_in_the_store() {
    let mut e = engine(cfg());
    e.count_external_drop(DropReason::Invalid, 2, T0);
    let text = e.store_mut().get_state(DROPS_STATE_KEY).unwrap().unwrap();
    let d: DropCounts = serde_json::from_str(&text).unwrap();
    assert_eq!(d.invalid, 2);
}

#[test]
fn sort_unique_matches_sort_and_dedup() {
    let ids: Vec<String> = ["b", "a", "c", "a", "", "b", "é", "a"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut want = ids.clone();
    want.sort_unstable();
    want.dedup();
    let mut got = ids;
    sort_unique(&mut got);
    assert_eq!(got, want);
    let mut empty: Vec<String> = Vec::new();
    sort_unique(&mut empty);
    assert!(empty.is_empty());
}

#[test]
fn a_retry_gives_back_the_batch_claimed_after_it() {
    let mut e = engine(cfg());
    record(&mut e, 1..=150, T0);
    let first = e.poll_upload(T0).unwrap();
    e.claim_next(T0);
    e.on_upload_result(first.id, status(500, None), T0);
    // Events recorded meanwhile join the batches after the retry.
    record(&mut e, 151..=160, T0);
    let at = e.next_wakeup(T0).unwrap();
    let again = e.poll_upload(at).unwrap();
    assert_eq!(ids(&again), names(1..=100), "the retry is the same batch");
    e.on_upload_result(again.id, ok(), at);
    let next = e.poll_upload(at).unwrap();
    assert_eq!(
        ids(&next),
        names(101..=160),
        "claimed again, with the newer events"
    );
}

#[test]
fn a_400_splits_the_batch_on_the_wire_not_the_one_claimed_after_it() {
    let mut e = engine(cfg());
    record(&mut e, 1..=40, T0);
    e.flush();
    let mut now = T0;
    let mut delivered = Vec::new();
    let mut refused = 0;
    while let Some(u) = e.poll_upload(now) {
        e.claim_next(now);
        let got = ids(&u);
        let answer = if got.iter().any(|id| id == "m7") {
            status(400, None)
        } else {
            ok()
        };
        if answer.as_ref().is_ok_and(|r| r.status == 400) && got.len() == 1 {
            refused += 1;
        }
        if answer.as_ref().is_ok_and(|r| r.status == 200) {
            delivered.extend(got);
        }
        e.on_upload_result(u.id, answer, now);
        now = e.next_wakeup(now).unwrap_or(now).max(now);
    }
    let mut expected = names(1..=40);
    expected.retain(|id| id != "m7");
    assert_eq!(delivered, expected, "every other event, once, in order");
    assert_eq!(refused, 1);
    assert_eq!(e.stats(now).dropped.rejected, 1);
}

#[test]
fn the_caps_and_a_purge_treat_a_claimed_batch_as_the_one_on_the_wire() {
    let mut c = cfg();
    c.max_queue_events = 150;
    c.max_batch_events = 50;
    let mut e = engine(c);
    record(&mut e, 1..=150, T0);
    let first = e.poll_upload(T0).unwrap();
    e.claim_next(T0);
    // 50 more: the caps drop the oldest events that are neither on the
    // wire nor claimed after it.
    record(&mut e, 151..=200, T0);
    assert_eq!(e.stats(T0).dropped.overflow, 50);
    e.on_upload_result(first.id, ok(), T0);
    let second = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&second), names(51..=100), "the claimed batch was kept");
    e.on_upload_result(second.id, ok(), T0);
    let third = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&third)[0], "m151", "101 to 150 went to the cap");

    // A purge takes the claimed batch with the rest.
    e.claim_next(T0);
    assert_eq!(e.purge(DropReason::Consent, T0), 50);
    e.on_upload_result(third.id, ok(), T0);
    record(&mut e, 201..=210, T0);
    e.flush();
    let after = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&after), names(201..=210), "nothing purged is sent");
}

#[test]
fn a_store_failing_while_a_batch_is_claimed_ahead_skips_none_of_it() {
    store_failing_while_a_batch_is_ahead(false);
}

/// The same with the batch ahead prepared (native): the failure drops it,
/// so the runtime lets its copy go, and it is claimed and encoded again.
#[cfg(feature = "native")]
#[test]
fn a_store_failing_while_a_batch_is_prepared_drops_it_and_skips_none() {
    store_failing_while_a_batch_is_ahead(true);
}

fn store_failing_while_a_batch_is_ahead(prepared: bool) {
    let (mut e, fail) = flaky_engine(false);
    record(&mut e, 1..=250, T0);
    let first = e.poll_upload(T0).unwrap();
    e.claim_next(T0);
    #[cfg(feature = "native")]
    if prepared {
        assert!(e.prepare_next(T0).is_some());
    }
    // A write fails (a full disk) while 101..=200 are claimed ahead.
    fail.store(true, Ordering::SeqCst);
    assert_eq!(e.record(vec![ev(251, T0)], vec![], T0), Recorded::InMemory);
    #[cfg(feature = "native")]
    assert_eq!(e.prepared_upload(0), None, "dropped with the failure");
    let _ = prepared;
    fail.store(false, Ordering::SeqCst);
    e.on_upload_result(first.id, ok(), T0);
    let mut now = T0 + STORAGE_RETRY_INTERVAL.as_millis() as i64;
    let mut seen = ids(&first);
    e.flush();
    while let Some(u) = e.poll_upload(now) {
        seen.extend(ids(&u));
        e.on_upload_result(u.id, ok(), now);
        now += 1;
    }
    assert_eq!(seen, names(1..=251), "every event once, in order");
    assert_eq!(e.stats(now).queued_events, 0);
}

/// Drives `e` against a backend whose answer to each request (the ids it
/// carries; none for a probe) `answer` gives, moving the clock to each next
/// wake-up, until nothing is queued or `max_requests` were made. Returns the
/// ids delivered in order, the requests made, the probes among them and the
/// clock at the end.
fn drive(
    e: &mut Engine,
    answer: impl FnMut(&[String]) -> u16,
    max_requests: usize,
) -> (Vec<String>, usize, usize, i64) {
    drive_from(e, answer, max_requests, T0)
}

/// [`drive`] with the clock starting at `start`.
fn drive_from(
    e: &mut Engine,
    mut answer: impl FnMut(&[String]) -> u16,
    max_requests: usize,
    start: i64,
) -> (Vec<String>, usize, usize, i64) {
    let (mut delivered, mut requests, mut probes, mut now) = (Vec::new(), 0, 0, start);
    e.flush();
    while requests < max_requests {
        let Some(u) = e.poll_upload(now) else {
            match e.next_wakeup(now) {
                Some(at) if e.queued_events() > 0 => {
                    now = now.max(at);
                    continue;
                }
                _ => break,
            }
        };
        requests += 1;
        let batch = ids(&u);
        probes += usize::from(u.events == 0);
        let code = answer(&batch);
        if (200..300).contains(&code) {
            delivered.extend(batch);
        }
        e.on_upload_result(u.id, status(code, None), now);
    }
    (delivered, requests, probes, now)
}

/// A poison event: the server answers 500 to any request that holds it and
/// takes everything else. It is isolated, proven (the server answers
/// requests without it) and dropped as `rejected`, naming its message id;
/// the others are delivered, in order, and nothing else is lost.
#[test]
fn an_event_the_server_answers_500_to_every_time_is_isolated_and_dropped_the_rest_delivered() {
    let mut e = engine(cfg());
    record(&mut e, 1..=40, T0);
    let (delivered, requests, probes, now) = drive(
        &mut e,
        |batch| {
            if batch.iter().any(|id| id == "m23") {
                500
            } else {
                200
            }
        },
        1_000,
    );
    let mut want = names(1..=40);
    want.retain(|id| id != "m23");
    assert_eq!(delivered, want);
    let s = e.stats(now);
    assert_eq!(
        (s.dropped.rejected, s.delivered_events, s.queued_events),
        (1, 39, 0)
    );
    assert_eq!(probes, POISON_CONFIRMATIONS as usize);
    // Each step waits out the backoff (the server may be down): about
    // 40 minutes here, against the queue held until the age limit before.
    assert!(
        now - T0 < 3_600_000,
        "dropped after {} s",
        (now - T0) / 1000
    );
    let why = s.last_rejection.unwrap();
    assert!(why.contains("HTTP 5xx to this event alone"), "{why}");
    // Six halvings of 40, five 500s each, then the proof: about 60.
    assert!(requests < 100, "{requests} requests");
    // Batches grow back past it.
    record(&mut e, 41..=140, now);
    let u = e.poll_upload(now).unwrap();
    assert_eq!(u.events, 100);
}

/// A lone event can become suspect with nothing queued behind it; events
/// recorded meanwhile must not go out with it and be dropped as poison with
/// it: only it is.
#[test]
fn events_recorded_while_a_lone_event_is_suspect_are_not_dropped_with_it() {
    let mut e = engine(cfg());
    let poison = |batch: &[String]| {
        if batch.iter().any(|id| id == "m1") {
            500
        } else {
            200
        }
    };
    record(&mut e, 1..=1, T0);
    let (delivered, _, probes, now) = drive(&mut e, poison, 6);
    assert!(delivered.is_empty());
    assert_eq!(probes, 1, "suspect after 5 failures alone");
    record(&mut e, 2..=6, now);
    let (delivered, _, _, now) = drive_from(&mut e, poison, 1_000, now);
    assert_eq!(delivered, names(2..=6));
    let s = e.stats(now);
    assert_eq!(
        (s.dropped.rejected, s.delivered_events, s.queued_events),
        (1, 5, 0)
    );
}

/// An app that runs a few seconds at a time (a CLI run per event, a page
/// view) makes a handful of requests per run: the search for a poison event
/// goes on where the last run left it, so the event is dropped within a few
/// runs and the others delivered, instead of holding the queue until the
/// age limit (each run started the count again).
#[cfg(feature = "native")]
#[test]
fn a_poison_event_is_found_across_short_runs_of_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let open = || {
        engine_with(
            cfg(),
            Box::new(crate::store::SqliteStore::open(&path).unwrap()),
        )
    };
    let mut e = open();
    record(&mut e, 1..=40, T0);
    let poison = |batch: &[String]| {
        if batch.iter().any(|id| id == "m23") {
            500
        } else {
            200
        }
    };
    let mut delivered = Vec::new();
    let mut runs = 0;
    while e.queued_events() > 0 {
        assert!(
            runs < 40,
            "still queued after {runs} runs: {:?}",
            e.stats(T0)
        );
        let (got, ..) = drive(&mut e, poison, 6);
        delivered.extend(got);
        drop(e);
        e = open();
        runs += 1;
    }
    let mut want = names(1..=40);
    want.retain(|id| id != "m23");
    assert_eq!(delivered, want);
    let s = e.stats(T0);
    assert_eq!((s.dropped.rejected, s.queued_events), (1, 0));
    assert!(runs <= 15, "{runs} runs of 6 requests (11 when written)");
    // The search is over: a later 5xx starts from nothing.
    let saved = e
        .store_mut()
        .get_state(DELIVERY_STATE_KEY)
        .unwrap()
        .unwrap();
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["poison_search"], serde_json::Value::Null, "{saved}");
}

/// A server down for everything (probes too) drops nothing, however long:
/// its events are all delivered, in order, once it is back.
#[test]
fn a_server_that_answers_503_to_everything_drops_nothing() {
    let mut e = engine(cfg());
    record(&mut e, 1..=40, T0);
    let (delivered, _, probes, _) = drive(&mut e, |_| 503, 400);
    assert!(delivered.is_empty());
    assert!(probes > 0, "it did ask without the event");
    let (delivered, _, _, now) = drive(&mut e, |_| 200, 1_000);
    assert_eq!(delivered, names(1..=40));
    let s = e.stats(now);
    assert_eq!((s.dropped.rejected, s.queued_events), (0, 0));
}

/// A server that answers 500 at random to 30% of requests, probes
/// included (the fault mix of `cairn bench`): every event is delivered,
/// none taken for poison, over many lone-event batches.
#[test]
fn a_server_that_fails_at_random_drops_nothing() {
    let mut e = engine(EngineConfig {
        flush_at: 1,
        ..cfg()
    });
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut coin = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % 10 < 3
    };
    let mut delivered = Vec::new();
    for n in 1..=2_000 {
        record(&mut e, n..=n, T0);
        let (d, _, _, _) = drive(&mut e, |_| if coin() { 500 } else { 200 }, 10_000);
        delivered.extend(d);
    }
    assert_eq!(delivered, names(1..=2_000));
    assert_eq!(e.stats(T0).dropped.rejected, 0);
}

/// 250 events queued, the first 100 on the wire and 101..=200 read ahead
/// and prepared (native): the engine, the upload out, the one prepared.
#[cfg(feature = "native")]
fn with_a_prepared_batch() -> (Engine, Upload, Upload) {
    let mut e = engine(cfg());
    record(&mut e, 1..=250, T0);
    let first = e.poll_upload(T0).unwrap();
    e.claim_next_in_backlog(T0);
    let prepared = e
        .prepare_next(T0)
        .expect("150 queued after the 100 on the wire");
    (e, first, prepared)
}

/// Natively, with a backlog, the batch after the one on the wire is read
/// and encoded while it is out (`prepare_next`), and handed over as the
/// answer comes: the same events, in order, never two uploads at once.
#[cfg(feature = "native")]
#[test]
fn a_batch_prepared_while_one_is_out_goes_next_as_it_was_encoded() {
    let (mut e, first, prepared) = with_a_prepared_batch();
    assert!(!first.prepared);
    assert_eq!(ids(&prepared), names(101..=200));
    assert!(
        e.prepare_next(T0).is_none(),
        "one prepared upload per destination"
    );
    assert!(e.poll_upload(T0).is_none(), "never two uploads in flight");
    e.on_upload_result(first.id, ok(), T0 + 5);
    let second = e.poll_upload(T0 + 5).unwrap();
    assert!(second.prepared, "the prepared one, not encoded again");
    assert_eq!((second.id, second.events), (prepared.id, 100));
    // 50 left after it: less than a batch, so nothing is read ahead.
    e.claim_next_in_backlog(T0 + 5);
    assert!(e.prepare_next(T0 + 5).is_none());
    e.on_upload_result(second.id, ok(), T0 + 6);
    let third = e.poll_upload(T0 + 6).unwrap();
    assert!(!third.prepared);
    assert_eq!(ids(&third), names(201..=250));
    e.on_upload_result(third.id, ok(), T0 + 7);
    assert_eq!(e.stats(T0 + 7).delivered_events, 250);
    assert_eq!(e.stats(T0 + 7).queued_events, 0);
}

/// A failed upload drops the batch prepared after it: the same batch goes
/// again first, then the next one, read and encoded again.
#[cfg(feature = "native")]
#[test]
fn a_retry_drops_the_prepared_batch_and_keeps_the_order() {
    let (mut e, first, prepared) = with_a_prepared_batch();
    assert_eq!(e.prepared_upload(0), Some(prepared.id));
    e.on_upload_result(first.id, status(500, None), T0);
    assert_eq!(e.prepared_upload(0), None, "the runtime may let it go");
    let at = e.next_wakeup(T0).unwrap();
    let again = e.poll_upload(at).unwrap();
    assert!(!again.prepared);
    assert_eq!(ids(&again), names(1..=100), "the retry is the same batch");
    e.on_upload_result(again.id, ok(), at);
    let next = e.poll_upload(at).unwrap();
    assert!(!next.prepared, "the prepared batch went with the failure");
    assert_eq!(ids(&next), names(101..=200));
}

/// A prepared batch waits for its turn however long the answer before it
/// takes (a device asleep mid-request): it is handed over as encoded, and
/// its request says where its send time sits, which the runtime writes as
/// it leaves.
#[cfg(feature = "native")]
#[test]
fn a_prepared_batch_waits_any_time_for_its_turn() {
    let (mut e, first, prepared) = with_a_prepared_batch();
    let late = T0 + 3_600_000;
    e.on_upload_result(first.id, ok(), late);
    let second = e.poll_upload(late).unwrap();
    assert!(second.prepared, "not encoded again");
    assert_eq!((second.id, second.events), (prepared.id, 100));
    let at = prepared
        .request
        .sent_at
        .clone()
        .expect("a send time to write");
    assert_eq!(
        &prepared.request.body[at],
        crate::time::iso8601_ms(T0).as_bytes()
    );
}
