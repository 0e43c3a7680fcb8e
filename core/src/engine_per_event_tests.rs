//! Engine rules for answers about single events of a batch (Amplitude's 400
//! with index lists, its 429 naming throttled users), under a fake clock,
//! driven through the real Amplitude wire and a memory store.

use super::*;
use crate::store::MemoryStore;
use crate::wire::AmplitudeWire;

const T0: i64 = 1_800_000_000_000;

fn engine() -> Engine {
    let cfg = EngineConfig {
        flush_at: 5,
        flush_interval_ms: 10_000,
        max_batch_events: 5,
        max_batch_bytes: 500_000,
        retry_base_ms: 1_000,
        retry_max_ms: 300_000,
        max_queue_events: 100_000,
        max_queue_bytes: 64 << 20,
        max_event_age_ms: 30 * 24 * 3600 * 1000,
    };
    Engine::new(
        cfg,
        Box::new(MemoryStore::new()),
        Box::new(AmplitudeWire::new("http://collector", "key", false, None)),
        7,
        T0,
    )
}

/// Records events `m{n}` for each (n, user).
fn record(e: &mut Engine, events: &[(u32, &str)], now: i64) {
    let events = events
        .iter()
        .map(|(n, user)| NewEvent {
            message_id: format!("m{n}"),
            created_ms: now,
            json: format!(r#"{{"type":"track","event":"e","userId":"{user}"}}"#),
        })
        .collect();
    e.record(events, vec![], now);
}

/// The `insert_id`s of an upload, in order.
fn ids(u: &Upload) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&u.request.body).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["insert_id"].as_str().unwrap().to_string())
        .collect()
}

fn names(ns: &[u32]) -> Vec<String> {
    ns.iter().map(|n| format!("m{n}")).collect()
}

fn answer(status: u16, retry_after: Option<&str>, body: &str) -> Result<HttpResponse, String> {
    Ok(HttpResponse {
        status,
        retry_after: retry_after.map(str::to_string),
        body: body.into(),
    })
}

const USERS: [(u32, &str); 5] = [
    (1, "user-a"),
    (2, "user-hot"),
    (3, "user-b"),
    (4, "user-hot"),
    (5, "user-c"),
];

#[test]
fn a_400_naming_events_drops_only_those_and_resends_the_rest_at_once() {
    let mut e = engine();
    record(&mut e, &USERS, T0);
    let u = e.poll_upload(T0).expect("flush_at reached");
    assert_eq!(ids(&u), names(&[1, 2, 3, 4, 5]));
    let body = r#"{"code":400,"error":"Request missing required field","events_with_invalid_fields":{"time":[3]},"events_with_missing_fields":{"event_type":[1]}}"#;
    e.on_upload_result(u.id, answer(400, None, body), T0);
    let s = e.stats(T0);
    assert_eq!(s.dropped.rejected, 2);
    assert_eq!(s.queued_events, 3);
    assert!(s
        .last_rejection
        .unwrap()
        .contains("events_with_invalid_fields"));
    // No backoff: the server has not failed, two events were bad.
    let u = e.poll_upload(T0).expect("the rest goes at once");
    assert_eq!(ids(&u), names(&[1, 3, 5]));
    e.on_upload_result(u.id, answer(200, None, r#"{"code":200}"#), T0);
    let s = e.stats(T0);
    assert_eq!(
        (s.delivered_events, s.queued_events, s.dropped.rejected),
        (3, 0, 2)
    );
    // The refused rows are gone from the store, and later events flow as usual.
    assert_eq!(e.store_mut().summary().unwrap().events, 0);
    record(
        &mut e,
        &[(6, "u6"), (7, "u7"), (8, "u8"), (9, "u9"), (10, "u10")],
        T0,
    );
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(&[6, 7, 8, 9, 10]));
}

#[test]
fn a_400_naming_every_event_drops_the_batch() {
    let mut e = engine();
    record(&mut e, &USERS[..2], T0);
    e.flush();
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(
        u.id,
        answer(
            400,
            None,
            r#"{"code":400,"events_with_invalid_fields":{"time":[0,1]}}"#,
        ),
        T0,
    );
    let s = e.stats(T0);
    assert_eq!((s.dropped.rejected, s.queued_events), (2, 0));
    assert!(e.poll_upload(T0).is_none());
    assert_eq!(e.store_mut().summary().unwrap().events, 0);
}

#[test]
fn a_refused_event_found_on_a_resend_is_dropped_too() {
    let mut e = engine();
    record(&mut e, &USERS, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(u.id, answer(400, None, r#"{"silenced_events":[0]}"#), T0);
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(&[2, 3, 4, 5]));
    // Positions are of the resent batch: 1 is m3.
    e.on_upload_result(u.id, answer(400, None, r#"{"silenced_events":[1]}"#), T0);
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(&[2, 4, 5]));
    e.on_upload_result(u.id, answer(200, None, ""), T0);
    let s = e.stats(T0);
    assert_eq!(
        (s.delivered_events, s.dropped.rejected, s.queued_events),
        (3, 2, 0)
    );
}

#[test]
fn a_429_naming_users_holds_back_only_their_events_and_keeps_their_order() {
    let mut e = engine();
    record(&mut e, &USERS, T0);
    let u = e.poll_upload(T0).unwrap();
    let body = r#"{"code":429,"error":"Too many requests for some devices and users","throttled_users":{"user-hot":31},"throttled_events":[1,3]}"#;
    e.on_upload_result(u.id, answer(429, Some("30"), body), T0);
    let u = e.poll_upload(T0).expect("the others go at once");
    assert_eq!(ids(&u), names(&[1, 3, 5]));
    e.on_upload_result(u.id, answer(200, None, ""), T0);
    assert_eq!(e.stats(T0).delivered_events, 3);
    // Newer events wait behind the held ones.
    record(&mut e, &[(6, "user-d")], T0 + 1_000);
    e.flush();
    assert!(e.poll_upload(T0 + 29_999).is_none(), "held for Retry-After");
    assert_eq!(e.next_wakeup(T0 + 1_000), Some(T0 + 30_000));
    let u = e.poll_upload(T0 + 30_000).expect("the backoff is over");
    assert_eq!(ids(&u), names(&[2, 4, 6]));
    e.on_upload_result(u.id, answer(200, None, ""), T0 + 30_000);
    let s = e.stats(T0 + 30_000);
    assert_eq!((s.delivered_events, s.queued_events), (6, 0));
    assert_eq!(s.dropped, Default::default());
    assert_eq!(e.store_mut().summary().unwrap().events, 0);
}

#[test]
fn a_429_naming_nobody_backs_off_the_whole_batch() {
    let mut e = engine();
    record(&mut e, &USERS, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(
        u.id,
        answer(
            429,
            Some("10"),
            r#"{"code":429,"error":"Too many requests"}"#,
        ),
        T0,
    );
    assert!(e.poll_upload(T0 + 9_999).is_none());
    let u = e.poll_upload(T0 + 10_000).unwrap();
    assert_eq!(ids(&u), names(&[1, 2, 3, 4, 5]));
    assert_eq!(e.stats(T0).retries, 1);
}

#[test]
fn a_413_splits_an_amplitude_batch() {
    let mut e = engine();
    record(&mut e, &USERS, T0);
    let u = e.poll_upload(T0).unwrap();
    e.on_upload_result(u.id, answer(413, None, ""), T0);
    let u = e.poll_upload(T0).unwrap();
    assert_eq!(ids(&u), names(&[1, 2, 3]));
}
