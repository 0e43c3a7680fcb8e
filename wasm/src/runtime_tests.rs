//! The browser runtime driven by hand on the host: a fake clock, an
//! in-memory `localStorage` shared by "tabs", uploads answered by the test.

use serde_json::{json, Value};

use super::*;
use crate::kv::MemoryBackend;

const T0: i64 = 1_800_000_000_000;

fn opts(extra: Value) -> Value {
    let mut o = json!({ "writeKey": "wk", "endpoint": "http://127.0.0.1:9", "flushAt": 1000, "flushInterval": 10_000 });
    if let (Value::Object(o), Value::Object(e)) = (&mut o, extra) {
        o.extend(e);
    }
    o
}

fn site() -> Kv<MemoryBackend> {
    Kv::new(MemoryBackend::new())
}

fn tab(kv: &Kv<MemoryBackend>, id: &str, extra: Value) -> Runtime<MemoryBackend> {
    Runtime::new(
        kv.clone(),
        "cairn",
        id,
        &opts(extra).to_string(),
        None,
        7,
        T0,
    )
    .unwrap()
}

fn batch(o: &Outgoing) -> Vec<Value> {
    let v: Value = serde_json::from_str(&o.body).unwrap();
    assert_eq!(
        v["writeKey"], "wk",
        "the body carries the write key (no Authorization header in the browser)"
    );
    v["batch"].as_array().unwrap().clone()
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e["event"]
                .as_str()
                .or(e["name"].as_str())
                .unwrap_or(e["type"].as_str().unwrap())
                .to_string()
        })
        .collect()
}

/// Delivered events' keys: each at or below the tab's `s:done`, until the
/// page's tidying (no upload out) removes them all, and `s:done` with them.
fn tidy_all(kv: &Kv<MemoryBackend>, rt: &mut Runtime<MemoryBackend>, tab: &str) {
    let prefix = format!("cairn:t:{tab}:e:");
    let keys = kv.keys_with_prefix(&prefix);
    if !keys.is_empty() {
        let done: u64 = kv
            .get(&format!("cairn:t:{tab}:s:done"))
            .unwrap()
            .parse()
            .unwrap();
        for k in &keys {
            let seq: u64 = k[prefix.len()..].parse().unwrap();
            assert!(
                seq <= done,
                "{k} waits for tidying only once delivered (done: {done})"
            );
        }
    }
    let mut calls = 0;
    while rt.tidy() {
        calls += 1;
    }
    assert!(
        calls <= keys.len() / TIDY_KEYS,
        "{calls} calls for {} keys",
        keys.len()
    );
    assert!(kv.keys_with_prefix(&prefix).is_empty());
    assert_eq!(kv.get(&format!("cairn:t:{tab}:s:done")), None);
}

/// Everything due, delivered with 200; returns the events sent.
fn deliver_all(rt: &mut Runtime<MemoryBackend>, now: i64) -> Vec<Value> {
    rt.flush();
    let mut sent = Vec::new();
    while let Some(o) = rt.poll(now) {
        sent.extend(batch(&o));
        rt.on_response(o.id, 200, None, String::new(), now);
        rt.flush();
    }
    sent
}

fn stats(rt: &mut Runtime<MemoryBackend>) -> Value {
    serde_json::from_str(&rt.stats_json(T0)).unwrap()
}

#[test]
fn calls_are_committed_at_once_and_delivered_in_order() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("page", "Home", r#"{"path":"/"}"#, T0).unwrap();
    rt.record("track", "Signed Up", r#"{"plan":"pro"}"#, T0 + 1)
        .unwrap();
    rt.record("identify", "u1", r#"{"email":"a@b.c"}"#, T0 + 2)
        .unwrap();
    assert_eq!(
        kv.keys_with_prefix("cairn:t:a:e:").len(),
        3,
        "in storage before any upload"
    );
    assert_eq!(
        rt.poll(T0 + 3),
        None,
        "not due yet: flushAt 1000, flushInterval 10 s"
    );
    assert_eq!(rt.next_wakeup(T0 + 3), Some(T0 + 10_000));
    let o = rt.poll(T0 + 10_000).expect("due after flushInterval");
    assert!(o.keepalive && o.url == "http://127.0.0.1:9/v1/batch");
    assert_eq!(
        rt.poll(T0 + 10_000),
        None,
        "one upload on the wire at a time"
    );
    let events = batch(&o);
    assert_eq!(names(&events), ["Home", "Signed Up", "identify"]);
    assert_eq!(events[1]["properties"]["plan"], "pro");
    assert_eq!(events[2]["userId"], "u1");
    rt.on_response(o.id, 200, None, String::new(), T0 + 10_001);
    assert_eq!(
        kv.keys_with_prefix("cairn:t:a:e:").len(),
        3,
        "delivered events' keys wait until no upload is out"
    );
    assert_eq!(
        stats(&mut rt)["queued_events"],
        0,
        "but are no longer queued"
    );
    tidy_all(&kv, &mut rt, "a");
    let s = stats(&mut rt);
    assert_eq!(
        (s["delivered_events"].as_u64(), s["queued_events"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(s["browser"]["tab"], "a");
    assert_eq!(s["browser"]["storage"], "localStorage");
}

#[test]
fn invalid_calls_are_refused_and_counted() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    let e = rt.record("track", " ", "", T0).unwrap_err();
    assert!(e.to_string().contains("event name is empty"), "{e}");
    let e = rt.record("track", "x", "[1]", T0).unwrap_err();
    assert!(
        e.to_string().contains("properties must be a JSON object"),
        "{e}"
    );
    let big = format!(r#"{{"s":"{}"}}"#, "x".repeat(40_000));
    assert!(rt.record("track", "x", &big, T0).is_err());
    assert!(rt.set_context("3").is_err());
    let s = stats(&mut rt);
    assert_eq!(
        (
            s["dropped"]["invalid"].as_u64(),
            s["dropped"]["oversize"].as_u64()
        ),
        (Some(2), Some(1))
    );
}

#[test]
fn the_browser_holds_input_to_the_cores_limits() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    let deep = format!(
        "{}{}",
        "{\"a\":".repeat(126),
        "1".to_string() + &"}".repeat(126)
    );
    for (kind, name, payload, words) in [
        (
            "track",
            "Deep",
            deep.as_str(),
            "nested more than 124 levels",
        ),
        ("track", "Huge", r#"{"n": 1e999}"#, "out of range"),
        (
            "identify",
            "",
            "",
            "user_id is empty: pass the id your backend knows",
        ),
        ("group", &"g".repeat(1025), "", "over the limit of 1024"),
    ] {
        let e = rt.record(kind, name, payload, T0).unwrap_err().to_string();
        assert!(e.contains(words), "{kind} {words}: {e}");
    }
    for e in [
        rt.set_anonymous_id(&"a".repeat(1 << 20)).unwrap_err(),
        rt.set_context(&format!("{{\"d\": {deep}}}")).unwrap_err(),
        rt.set_context(r#"{"n": 1e999}"#).unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(
            e.contains("over the limit") || e.contains("nested more") || e.contains("out of range"),
            "{e}"
        );
    }
    rt.record("track", "Fine", r#"{"n": 1e308}"#, T0).unwrap();
    let s = stats(&mut rt);
    assert_eq!(
        (
            s["dropped"]["invalid"].as_u64(),
            s["queued_events"].as_u64()
        ),
        (Some(4), Some(1))
    );
}

#[test]
fn failures_retry_with_the_same_message_ids() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("track", "A", "", T0).unwrap();
    rt.flush();
    let first = rt.poll(T0).unwrap();
    rt.on_error(first.id, "TypeError: Failed to fetch", T0);
    let s = stats(&mut rt);
    assert!(s["last_error"]
        .as_str()
        .unwrap()
        .contains("Failed to fetch"));
    assert!(s["next_retry_in_ms"].as_u64().is_some());
    let wake = rt.next_wakeup(T0).unwrap();
    let again = rt.poll(wake).expect("retried after the backoff");
    assert_eq!(batch(&again)[0]["messageId"], batch(&first)[0]["messageId"]);
    rt.on_response(again.id, 503, Some("1".into()), String::new(), wake);
    assert_eq!(
        rt.next_wakeup(wake),
        Some(wake + 1_000),
        "Retry-After is the engine's to honour"
    );
}

#[test]
fn page_hide_hands_every_batch_to_the_browser() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({ "maxBatchEvents": 2 }));
    for i in 0..5 {
        rt.record("track", &format!("E{i}"), "", T0).unwrap();
    }
    rt.flush();
    let on_wire = rt.poll(T0).unwrap();
    let mut beacons = Vec::new();
    let report = rt.hand_off(T0, &mut |o: &Outgoing| {
        beacons.push(names(&batch(o)));
        true
    });
    assert_eq!(
        report,
        HandOff {
            handed_off: 5,
            kept: 0,
            why_kept: None,
            cancel: Default::default()
        }
    );
    assert_eq!(
        beacons,
        [vec!["E2", "E3"], vec!["E4"]],
        "the keepalive request already on the wire is not sent twice"
    );
    tidy_all(&kv, &mut rt, "a");
    // Its answer, if the page lives on after all, changes nothing.
    rt.on_response(on_wire.id, 200, None, String::new(), T0);
    assert_eq!(stats(&mut rt)["browser"]["handed_off_events"], 5);
}

#[test]
fn page_hide_keeps_what_the_browser_refuses_and_keeps_all_while_failing() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({ "maxBatchEvents": 1 }));
    for i in 0..3 {
        rt.record("track", &format!("E{i}"), "", T0).unwrap();
    }
    let mut n = 0;
    let report = rt.hand_off(T0, &mut |_| {
        n += 1;
        n == 1
    });
    assert_eq!((report.handed_off, report.kept), (1, 2));
    assert!(report.why_kept.unwrap().contains("did not take"));
    assert_eq!(stats(&mut rt)["queued_events"], 2);
    while rt.tidy() {}
    assert_eq!(kv.keys_with_prefix("cairn:t:a:e:").len(), 2);

    // A retry is scheduled: a beacon now would most likely be lost too.
    let kv = site();
    let mut rt = tab(&kv, "b", json!({}));
    rt.record("track", "Offline", "", T0).unwrap();
    rt.flush();
    let o = rt.poll(T0).unwrap();
    rt.on_error(o.id, "offline", T0);
    let report = rt.hand_off(T0 + 1, &mut |_| {
        panic!("nothing is sent while delivery fails")
    });
    assert_eq!((report.handed_off, report.kept), (0, 1));
    assert!(report.why_kept.unwrap().contains("failing"));
    assert_eq!(report.cancel, Ids::default(), "nothing was on the wire");
}

/// The retry of a failed batch is on the wire as the page goes away (a
/// reload): its events stay for the next page, so the request is cancelled.
/// Had it gone on, and reached the server, the next page would have sent
/// the same events again (seen in the browser suite under load).
#[test]
fn page_hide_cancels_a_retry_on_the_wire_whose_events_it_keeps() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("track", "Offline", "", T0).unwrap();
    rt.flush();
    let first = rt.poll(T0).unwrap();
    rt.on_error(first.id, "offline", T0);
    let wake = rt.next_wakeup(T0).unwrap();
    let retry = rt.poll(wake).expect("the retry is on the wire");
    let report = rt.hand_off(wake + 1, &mut |_| {
        panic!("nothing is sent while delivery fails")
    });
    assert!(
        report.cancel.iter().eq([retry.id].iter()),
        "the retry on the wire is cancelled: {:?}",
        report.cancel
    );
    assert_eq!((report.handed_off, report.kept), (0, 1));
    assert!(report.why_kept.unwrap().contains("failing"));
    assert_eq!(kv.keys_with_prefix("cairn:t:a:e:").len(), 1);
    drop(rt);
    let mut next = tab(&kv, "b", json!({}));
    assert_eq!(next.adopt("a", wake + 10), 1);
    let sent = deliver_all(&mut next, wake + 10);
    assert_eq!(names(&sent), ["Offline"]);
    assert_eq!(sent[0]["messageId"], batch(&retry)[0]["messageId"]);
}

#[test]
fn a_gone_tabs_queue_is_adopted_once_with_its_ids_and_drop_counts() {
    let kv = site();
    let mut gone = tab(&kv, "gone", json!({}));
    gone.record("track", "Offline 1", "", T0).unwrap();
    gone.record("track", "Offline 2", "", T0 + 1).unwrap();
    let _ = gone.record("track", "", "", T0 + 2);
    let ids: Vec<Value> = {
        gone.flush();
        let o = gone.poll(T0 + 3).unwrap();
        gone.on_error(o.id, "offline", T0 + 3);
        batch(&o).iter().map(|e| e["messageId"].clone()).collect()
    };
    drop(gone);

    let mut rt = tab(&kv, "new", json!({}));
    assert_eq!(rt.other_tabs(T0, false), ["gone"]);
    assert_eq!(rt.adopt("gone", T0 + 10), 2);
    assert!(
        kv.keys_with_prefix("cairn:t:gone:").is_empty(),
        "nothing of the gone tab is left to adopt twice"
    );
    assert_eq!(rt.adopt("gone", T0 + 10), 0);
    let sent = deliver_all(&mut rt, T0 + 11);
    assert_eq!(
        sent.iter()
            .map(|e| e["messageId"].clone())
            .collect::<Vec<_>>(),
        ids,
        "same events, same ids, same order"
    );
    let s = stats(&mut rt);
    assert_eq!(
        s["dropped"]["invalid"], 1,
        "the gone tab's drop counts carry over"
    );
    assert_eq!(
        (
            s["browser"]["adopted_events"].as_u64(),
            s["browser"]["adopted_tabs"].as_u64()
        ),
        (Some(2), Some(1))
    );
}

/// An event the page's storage lost (the user cleared it, another script
/// wrote over its key) is not forgotten without a trace: counted dropped
/// `corrupt`, with the reason in `lastError`, whether this tab finds it
/// gone when it sends, or a tab adopting a gone one's queue finds it
/// unreadable. The others go out.
#[test]
fn events_the_storage_lost_are_counted_corrupt() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    for name in ["One", "Two", "Three", "Four"] {
        rt.record("track", name, "", T0).unwrap();
    }
    let mut keys = kv.keys_with_prefix("cairn:t:a:e:");
    keys.sort();
    kv.remove(&keys[1]);
    assert!(kv.set(&keys[2], "not an event"));
    assert_eq!(names(&deliver_all(&mut rt, T0 + 1)), ["One", "Four"]);
    let s = stats(&mut rt);
    assert_eq!(s["dropped"]["corrupt"], 2, "{s}");
    assert_eq!(s["queued_events"], 0);
    assert!(
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("2 queued events were gone from localStorage")),
        "{s}"
    );

    let mut gone = tab(&kv, "gone", json!({}));
    gone.record("track", "Five", "", T0).unwrap();
    gone.record("track", "Six", "", T0).unwrap();
    drop(gone);
    let key = kv
        .keys_with_prefix("cairn:t:gone:e:")
        .into_iter()
        .min()
        .unwrap();
    assert!(kv.set(&key, "12 34"));
    assert_eq!(rt.adopt("gone", T0 + 2), 1);
    assert_eq!(names(&deliver_all(&mut rt, T0 + 3)), ["Six"]);
    assert_eq!(stats(&mut rt)["dropped"]["corrupt"], 3);
}

/// The page's clock set back an hour (by the user, or corrected by the
/// network) holds no timer back: the retry waits its backoff and the next
/// batch its flush interval, not for the clock to catch up. Events are
/// stamped with the clock as set (the wall-clock time of the call, as
/// natively), and a clock that jumps ahead (a device waking) lets timers
/// fire at once.
#[test]
fn a_clock_set_back_holds_no_timer_back() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("track", "Before", "", T0).unwrap();
    rt.flush();
    let o = rt.poll(T0).unwrap();
    rt.on_error(o.id, "offline", T0);

    let back = T0 - 3_600_000;
    let wake = rt.next_wakeup(back).expect("a retry is scheduled");
    assert!(
        (back..back + 60_000).contains(&wake),
        "the retry waits its backoff from now: {} ms",
        wake - back
    );
    let retry = rt.poll(wake).expect("the retry goes out");
    assert_eq!(names(&batch(&retry)), ["Before"]);
    rt.on_response(retry.id, 200, None, String::new(), wake);

    rt.record("track", "After", "", wake + 1).unwrap();
    assert_eq!(
        rt.next_wakeup(wake + 1),
        Some(wake + 1 + 10_000),
        "flushInterval from now"
    );
    let o = rt
        .poll(wake + 1 + 10_000)
        .expect("sent after flushInterval");
    let sent = batch(&o);
    assert_eq!(names(&sent), ["After"]);
    assert_eq!(
        sent[0]["timestamp"],
        json!(cairn::time::iso8601_ms(wake + 1)),
        "stamped with the wall clock as set"
    );

    // A device waking after a night: the wall clock jumped ahead.
    rt.on_error(o.id, "offline", wake + 10_001);
    let night = wake + 10_001 + 8 * 3_600_000;
    assert!(rt.poll(night).is_some(), "the retry is due at once");
}

/// A clock nudged back by at most a second keeps timestamps in recording
/// order; one set back further is followed (the rule is
/// `cairn::time::next_stamp`, shared with the native runtime).
#[test]
fn stamps_hold_a_nudge_back_and_follow_a_clock_set_back() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("track", "One", "", T0 + 5_000).unwrap();
    rt.record("track", "Two", "", T0 + 4_500).unwrap();
    rt.record("track", "Three", "", T0 - 60_000).unwrap();
    let sent = deliver_all(&mut rt, T0 - 60_000);
    let stamps: Vec<&Value> = sent.iter().map(|e| &e["timestamp"]).collect();
    let at = |ms| json!(cairn::time::iso8601_ms(ms));
    assert_eq!(stamps, [&at(T0 + 5_000), &at(T0 + 5_000), &at(T0 - 60_000)]);
}

/// Another tab's `forget()` erases this tab's queue before this tab hears
/// of it (its `storage` event comes later): when this tab next reads
/// events to send it follows the forget first, so the events are counted
/// `consent`, what the user asked for, not `corrupt` (found gone). One it
/// recorded meanwhile carries the forgotten user's id and goes too; the
/// next ones go out under a new anonymous id.
#[test]
fn events_another_tab_forgot_are_counted_consent_not_corrupt() {
    let kv = site();
    let mut a = tab(&kv, "a", json!({}));
    let mut b = tab(&kv, "b", json!({}));
    let forgotten_id = b.anonymous_id().to_string();
    let reads = || kv.with_backend(|k| k.reads.get());
    let before = reads();
    for name in ["One", "Two", "Three"] {
        b.record("track", name, "", T0).unwrap();
        assert_eq!(b.poll(T0), None, "flushAt 1000: nothing due");
    }
    assert_eq!(reads(), before, "no upload due, no look at the mark");
    assert_eq!(a.forget(T0 + 5).events_erased, 3);
    b.record("track", "Meanwhile", "", T0 + 6).unwrap();
    assert!(deliver_all(&mut b, T0 + 7).is_empty());
    let s = stats(&mut b);
    assert_eq!(s["dropped"]["consent"], 4, "{s}");
    assert_eq!(s["dropped"]["corrupt"], 0, "{s}");
    assert_eq!(s["queued_events"], 0);
    assert!(s["last_error"].is_null(), "a forget is not an error: {s}");

    b.record("track", "Later", "", T0 + 8).unwrap();
    let sent = deliver_all(&mut b, T0 + 9);
    assert_eq!(names(&sent), ["Later"]);
    assert_ne!(sent[0]["anonymousId"], forgotten_id.as_str());
}

#[test]
fn adoption_erases_what_was_forgotten_or_opted_out_since() {
    let kv = site();
    let mut gone = tab(&kv, "gone", json!({}));
    gone.record("track", "Before forget", "", T0).unwrap();
    drop(gone);
    let mut other = tab(&kv, "other", json!({}));
    other.forget(T0 + 5);
    let mut gone2 = tab(&kv, "gone2", json!({}));
    gone2.record("track", "After forget", "", T0 + 6).unwrap();
    drop(gone2);
    let mut rt = tab(&kv, "new", json!({}));
    // forget() already erased the first gone tab's queue.
    assert_eq!(rt.other_tabs(T0, false), ["gone2"]);
    assert_eq!(rt.adopt("gone2", T0 + 7), 1);

    let mut gone3 = tab(&kv, "gone3", json!({}));
    gone3.record("track", "Before opt-out", "", T0 + 8).unwrap();
    drop(gone3);
    rt.opt_out(true, T0 + 9);
    assert_eq!(rt.adopt("gone3", T0 + 10), 0);
    assert!(stats(&mut rt)["dropped"]["consent"].as_u64().unwrap() >= 2);
    assert!(
        deliver_all(&mut rt, T0 + 11).is_empty(),
        "opted out: nothing is sent"
    );
}

#[test]
fn opt_out_and_identity_follow_across_tabs() {
    let kv = site();
    let mut a = tab(&kv, "a", json!({}));
    let mut b = tab(&kv, "b", json!({}));
    assert_eq!(
        a.anonymous_id(),
        b.anonymous_id(),
        "one visitor, one anonymous id, in every tab"
    );
    a.record("identify", "u1", "", T0).unwrap();
    b.sync_shared(T0 + 1);
    assert_eq!(b.user_id(), Some("u1"));
    b.record("track", "In B", "", T0 + 2).unwrap();
    assert_eq!(deliver_all(&mut b, T0 + 3)[0]["userId"], "u1");

    b.record("track", "Queued in B", "", T0 + 4).unwrap();
    a.opt_out(true, T0 + 5);
    b.sync_shared(T0 + 6);
    assert_eq!(
        b.poll(T0 + 100_000),
        None,
        "B's queue was purged when A opted out"
    );
    b.record("track", "After opt-out", "", T0 + 7).unwrap();
    assert!(deliver_all(&mut b, T0 + 8).is_empty());
    a.opt_out(false, T0 + 9);
    b.sync_shared(T0 + 10);
    b.record("track", "Back in", "", T0 + 11).unwrap();
    assert_eq!(names(&deliver_all(&mut b, T0 + 12)), ["Back in"]);
}

#[test]
fn consent_decided_in_one_tab_releases_or_drops_held_events_in_another() {
    let kv = site();
    let needs = json!({ "consent": { "analytics": "unknown" }, "requiredConsent": ["analytics"] });
    let mut a = tab(&kv, "a", needs.clone());
    let mut b = tab(&kv, "b", needs);
    b.record("track", "Held in B", "", T0).unwrap();
    assert!(
        deliver_all(&mut b, T0 + 1).is_empty(),
        "held until consent is decided"
    );
    a.set_consent("analytics", ConsentState::Granted, T0 + 2)
        .unwrap();
    b.sync_shared(T0 + 3);
    assert_eq!(names(&deliver_all(&mut b, T0 + 4)), ["Held in B"]);
    b.record("track", "Queued", "", T0 + 5).unwrap();
    a.set_consent("analytics", ConsentState::Denied, T0 + 6)
        .unwrap();
    b.sync_shared(T0 + 7);
    assert!(
        deliver_all(&mut b, T0 + 8).is_empty(),
        "revoked in A: B's queue is purged"
    );
}

#[test]
fn forget_erases_every_tabs_queue_and_other_tabs_follow() {
    let kv = site();
    let mut a = tab(&kv, "a", json!({}));
    let mut b = tab(&kv, "b", json!({}));
    a.record("identify", "u1", "", T0).unwrap();
    b.sync_shared(T0);
    b.record("track", "In B", "", T0 + 1).unwrap();
    let old_anon = a.anonymous_id().to_string();
    let f = a.forget(T0 + 2);
    assert_eq!(f.user_ids, ["u1"]);
    assert_eq!(f.anonymous_ids, std::slice::from_ref(&old_anon));
    assert_eq!(f.events_erased, 2);
    assert!(
        kv.keys_with_prefix("cairn:t:")
            .iter()
            .all(|k| !k.contains(":e:")),
        "no event of the user left in storage"
    );
    b.sync_shared(T0 + 3);
    assert_eq!(b.user_id(), None);
    assert_ne!(b.anonymous_id(), old_anon);
    assert_eq!(b.anonymous_id(), a.anonymous_id());
    assert!(deliver_all(&mut b, T0 + 4).is_empty());
    let json: Value = serde_json::from_str(&forgotten_json(&f)).unwrap();
    assert_eq!(json["user_ids"][0], "u1");
}

#[test]
fn a_full_storage_does_not_stop_delivery_and_is_counted() {
    let kv = Kv::new(MemoryBackend::with_quota(1_500));
    let mut rt = tab(&kv, "a", json!({}));
    for i in 0..10 {
        rt.record(
            "track",
            &format!("E{i}"),
            r#"{"pad":"................................"}"#,
            T0 + i,
        )
        .unwrap();
    }
    let s = stats(&mut rt);
    assert!(s["browser"]["quota_errors"].as_u64().unwrap() > 0);
    assert_eq!(s["browser"]["storage"], "memory fallback");
    assert!(s["browser"]["storage_error"]
        .as_str()
        .unwrap()
        .contains("QuotaExceededError"));
    assert_eq!(
        deliver_all(&mut rt, T0 + 20).len(),
        10,
        "every event still delivered"
    );
    let unavailable = Kv::new(MemoryBackend::disabled());
    let mut rt = tab(&unavailable, "a", json!({}));
    rt.record("track", "No storage", "", T0).unwrap();
    assert_eq!(names(&deliver_all(&mut rt, T0 + 1)), ["No storage"]);
}

#[test]
fn liveness_marks_decide_adoption_without_web_locks() {
    let kv = site();
    let mut a = tab(&kv, "a", json!({}));
    a.mark_alive(T0, true);
    a.record("track", "x", "", T0).unwrap();
    let mut b = tab(&kv, "b", json!({}));
    assert!(
        b.other_tabs(T0 + 1_000, true).is_empty(),
        "a was alive a second ago"
    );
    assert_eq!(b.other_tabs(T0 + STALE_TAB_MS + 1, true), ["a"]);
    a.mark_alive(T0 + 2_000, false);
    assert_eq!(
        b.other_tabs(T0 + 2_001, true),
        ["a"],
        "a tab that closed cleanly is gone at once"
    );
}

#[test]
fn options_and_prefix_are_checked() {
    let kv = site();
    let err = Runtime::new(
        kv.clone(),
        "cairn",
        "a",
        &json!({ "writeKey": "k" }).to_string(),
        None,
        1,
        T0,
    )
    .err()
    .unwrap();
    assert!(err.contains("`endpoint`"), "{err}");
    let err = Runtime::new(kv, "ca:rn", "a", &opts(json!({})).to_string(), None, 1, T0)
        .err()
        .unwrap();
    assert!(err.contains("storageKey"), "{err}");
}

#[test]
fn the_cookie_copy_of_the_anonymous_id_is_used_when_storage_has_none() {
    let kv = site();
    let rt = Runtime::new(
        kv.clone(),
        "cairn",
        "a",
        &opts(json!({})).to_string(),
        Some("from-cookie".into()),
        1,
        T0,
    )
    .unwrap();
    assert_eq!(rt.anonymous_id(), "from-cookie");
    let rt = Runtime::new(
        kv,
        "cairn",
        "b",
        &opts(json!({})).to_string(),
        Some("other-cookie".into()),
        1,
        T0,
    )
    .unwrap();
    assert_eq!(
        rt.anonymous_id(),
        "from-cookie",
        "stored identity wins over the cookie"
    );
}

#[test]
fn stats_and_reports_are_json() {
    let kv = site();
    let mut rt = tab(&kv, "a\"b", json!({}));
    let s = stats(&mut rt);
    assert_eq!(s["browser"]["tab"], "a\"b");
    let h: Value = serde_json::from_str(&hand_off_json(&HandOff {
        handed_off: 1,
        kept: 2,
        why_kept: Some("x\"y".into()),
        #[cfg(not(feature = "destinations"))]
        cancel: Some(7),
        #[cfg(feature = "destinations")]
        cancel: vec![7],
    }))
    .unwrap();
    assert_eq!(h["why_kept"], "x\"y");
    // One id in the default package, an array with several destinations:
    // js/index.js reads either.
    let ids = if cfg!(feature = "destinations") {
        json!([7])
    } else {
        json!(7)
    };
    assert_eq!(h["cancel"], ids);
}

/// A page that records 10,000 typical track calls in one task, without
/// yielding (no upload is answered meanwhile): every event is kept, in
/// storage (not in memory), compactly, and all of them are delivered once,
/// in order, after.
#[test]
fn ten_thousand_calls_in_one_task_are_kept_in_storage() {
    let kv = site();
    // The defaults a page gets, but for the endpoint.
    let mut rt = Runtime::new(
        kv.clone(),
        "cairn",
        "a",
        r#"{"writeKey":"wk","endpoint":"http://127.0.0.1:9"}"#,
        None,
        7,
        T0,
    )
    .unwrap();
    rt.set_context(
        r#"{"page":{"path":"/shop/cart","referrer":"https://www.example.com/","search":"","title":"Cart","url":"https://www.example.com/shop/cart"}}"#,
    )
    .unwrap();
    let mut first = None;
    for i in 0..10_000 {
        let props =
            format!(r#"{{"product_id":"sku-{i}","price":19.99,"currency":"EUR","position":{i}}}"#);
        rt.record("track", "Product Viewed", &props, T0 + i / 10)
            .unwrap();
        // The page polls after each call: the first batch leaves (and stays
        // unanswered until the task ends).
        first = first.or_else(|| rt.poll(T0 + i / 10));
    }
    let s = stats(&mut rt);
    assert_eq!(s["dropped"]["overflow"], 0, "{s}");
    assert_eq!(s["queued_events"], 10_000);
    assert_eq!(
        s["browser"]["volatile_values"], 0,
        "all of it is in storage"
    );
    assert_eq!(s["browser"]["quota_errors"], 0);
    let json_bytes = s["queued_bytes"].as_u64().unwrap() as usize;
    let used = kv.with_backend(|b| b.used_chars());
    println!(
        "10,000 events: {json_bytes} bytes of JSON, {used} characters in storage (keys included), {} per event",
        used / 10_000
    );
    assert!(
        used * 2 < json_bytes,
        "stored compactly: {used} of {json_bytes}"
    );
    let first = first.expect("a batch leaves during the task");
    let mut sent = batch(&first);
    rt.on_response(first.id, 200, None, String::new(), T0 + 1_000);
    sent.extend(deliver_all(&mut rt, T0 + 1_000));
    let positions: Vec<u64> = sent
        .iter()
        .map(|e| e["properties"]["position"].as_u64().unwrap())
        .collect();
    assert_eq!(
        positions,
        (0..10_000).collect::<Vec<u64>>(),
        "each once, in order"
    );
    let ids: std::collections::BTreeSet<&str> = sent
        .iter()
        .map(|e| e["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10_000);
    assert_eq!(sent[9_999]["context"]["page"]["path"], "/shop/cart");
    assert_eq!(sent[9_999]["timestamp"], sent[9_999]["originalTimestamp"]);
    tidy_all(&kv, &mut rt, "a");
    assert!(kv.keys_with_prefix("cairn:t:a:c:").is_empty());
}

/// A probe for a poison event is on the wire as the page goes away (an
/// upload of no events, after the one event was answered 500 five times):
/// it is cancelled like a retry, never taken as an answer (the hand-off's
/// stand-in 200 would have proven the event poison and dropped it).
#[test]
fn page_hide_cancels_a_poison_probe_and_keeps_the_event() {
    let kv = site();
    let mut rt = tab(&kv, "a", json!({}));
    rt.record("track", "Crashes the server", "", T0).unwrap();
    rt.flush();
    let mut now = T0;
    for _ in 0..cairn::engine::POISON_SUSPECT_AFTER {
        let u = rt.poll(now).expect("the event again");
        assert_eq!(u.events, 1);
        rt.on_response(u.id, 500, None, String::new(), now);
        now = rt.next_wakeup(now).unwrap();
    }
    let probe = rt.poll(now).expect("the probe");
    assert_eq!(probe.events, 0);
    let report = rt.hand_off(now + 1, &mut |_| {
        panic!("nothing is sent while delivery fails")
    });
    assert!(report.cancel.iter().eq([probe.id].iter()), "{report:?}");
    assert_eq!((report.handed_off, report.kept), (0, 1));
    assert_eq!(stats(&mut rt)["dropped"]["rejected"], 0);
}

/// Several destinations (`destinations` feature): each delivered on its
/// own from the one queue.
#[cfg(feature = "destinations")]
mod several {
    use super::*;

    /// Tab `id` delivering to the default destination (port 9) and a
    /// "warehouse" (port 8).
    fn two_in(kv: &Kv<MemoryBackend>, id: &str) -> Runtime<MemoryBackend> {
        tab(
            kv,
            id,
            json!({"destinations": [{"name": "warehouse", "endpoint": "http://127.0.0.1:8", "writeKey": "wk"}]}),
        )
    }

    fn two(kv: &Kv<MemoryBackend>) -> Runtime<MemoryBackend> {
        two_in(kv, "a")
    }

    /// Records `events` at `T0`, then the default destination takes them
    /// and the warehouse is offline (a retry scheduled).
    fn warehouse_fails(rt: &mut Runtime<MemoryBackend>, events: &[&str]) {
        for name in events {
            rt.record("track", name, "", T0).unwrap();
        }
        let ups = uploads(rt, T0);
        rt.on_response(to(&ups, ":9/").id, 200, None, String::new(), T0);
        rt.on_error(to(&ups, ":8/").id, "offline", T0);
    }

    /// Page hide, every beacon accepted: the beacons and the report.
    fn hand_off_all(rt: &mut Runtime<MemoryBackend>, now: i64) -> (Vec<Outgoing>, HandOff) {
        let mut beacons = Vec::new();
        let report = rt.hand_off(now, &mut |o| {
            beacons.push(o.clone());
            true
        });
        (beacons, report)
    }

    /// What each destination was sent, by the host of its URL.
    fn uploads(rt: &mut Runtime<MemoryBackend>, now: i64) -> Vec<Outgoing> {
        rt.flush();
        let mut out = Vec::new();
        while let Some(o) = rt.poll(now) {
            out.push(o);
        }
        out
    }

    fn to(ups: &[Outgoing], port: &str) -> Outgoing {
        ups.iter()
            .find(|o| o.url.contains(port))
            .unwrap_or_else(|| panic!("no upload to {port}: {ups:?}"))
            .clone()
    }

    #[test]
    fn a_destination_that_is_down_holds_back_only_its_own_events() {
        let kv = site();
        let mut rt = two(&kv);
        rt.record("track", "A", "", T0).unwrap();
        let ups = uploads(&mut rt, T0);
        assert_eq!(ups.len(), 2, "one upload to each, at once");
        let (main, warehouse) = (to(&ups, ":9/"), to(&ups, ":8/"));
        rt.on_response(main.id, 200, None, String::new(), T0);
        rt.on_error(warehouse.id, "offline", T0);

        // The warehouse waits out its backoff; the main one goes on.
        rt.record("track", "B", "", T0 + 1).unwrap();
        let ups = uploads(&mut rt, T0 + 1);
        assert_eq!(ups.len(), 1, "{ups:?}");
        assert_eq!(names(&batch(&to(&ups, ":9/"))), ["B"]);
        rt.on_response(ups[0].id, 200, None, String::new(), T0 + 1);

        let s = stats(&mut rt);
        let d = &s["destinations"];
        assert_eq!(d[0]["name"], "default");
        assert_eq!(d[0]["delivered_events"], 2);
        assert_eq!(d[1]["name"], "warehouse");
        assert_eq!(d[1]["queued_events"], 2);
        assert!(d[1]["next_retry_in_ms"].is_u64(), "{d}");

        // Back up: the warehouse receives both, in order, once (the failed
        // batch is retried as it was, then what came after).
        let wake = rt.next_wakeup(T0 + 1).unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            let ups = uploads(&mut rt, wake);
            let w = to(&ups, ":8/");
            got.extend(names(&batch(&w)));
            rt.on_response(w.id, 200, None, String::new(), wake);
        }
        assert_eq!(got, ["A", "B"]);
        assert_eq!(stats(&mut rt)["queued_events"], 0);
    }

    /// Consent revoked for the warehouse only, after the default destination
    /// delivered: the purge moves the warehouse's cursor, and the events,
    /// now delivered everywhere, leave storage at once (not when the page
    /// is next idle).
    #[test]
    fn a_revocation_for_one_destination_leaves_nothing_of_its_events() {
        let kv = site();
        let mut rt = tab(
            &kv,
            "a",
            json!({"consent": {"ads": "granted"}, "destinations": [{"name": "warehouse", "endpoint": "http://127.0.0.1:8", "writeKey": "wk", "consentCategories": ["ads"]}]}),
        );
        warehouse_fails(&mut rt, &["A", "B"]);
        assert_eq!(kv.keys_with_prefix("cairn:t:a:e:").len(), 2);
        rt.set_consent("ads", ConsentState::Denied, T0 + 1).unwrap();
        assert!(kv.keys_with_prefix("cairn:t:a:e:").is_empty());
        assert_eq!(stats(&mut rt)["destinations"][1]["dropped"]["consent"], 2);
    }

    /// Reloaded while one destination was down: the other is not sent its
    /// events again, the one that was down receives all of them.
    #[test]
    fn a_reload_resumes_each_destination_where_it_was() {
        let kv = site();
        let mut rt = two(&kv);
        warehouse_fails(&mut rt, &["A"]);
        drop(rt);

        let mut rt = two(&kv);
        rt.record("track", "B", "", T0 + 1).unwrap();
        let ups = uploads(&mut rt, T0 + 1);
        assert_eq!(names(&batch(&to(&ups, ":9/"))), ["B"], "not A again");
        assert_eq!(names(&batch(&to(&ups, ":8/"))), ["A", "B"]);
    }

    /// A page reloaded while one destination was down: the new page (a new
    /// tab) takes over the old one's queue, and with it each destination's
    /// progress: the destination that had the events is not sent them
    /// again, the one that was down receives each once, in order.
    #[test]
    fn a_tab_taken_over_keeps_each_destinations_progress() {
        let kv = site();
        let mut old = two_in(&kv, "old");
        warehouse_fails(&mut old, &["A", "B"]);
        old.record("track", "C", "", T0 + 1).unwrap();
        drop(old);

        let mut new = two_in(&kv, "new");
        new.record("track", "D", "", T0 + 2).unwrap();
        assert_eq!(new.adopt("old", T0 + 2), 3);
        let (mut main, mut warehouse) = (Vec::new(), Vec::new());
        for _ in 0..4 {
            for o in uploads(&mut new, T0 + 2) {
                let got = names(&batch(&o));
                if o.url.contains(":9/") {
                    main.extend(got)
                } else {
                    warehouse.extend(got)
                }
                new.on_response(o.id, 200, None, String::new(), T0 + 2);
            }
        }
        // Its own event first (recorded before the take-over), then the old
        // tab's that each had not had.
        assert_eq!(main, ["D", "C"], "A and B are not sent to it again");
        assert_eq!(warehouse, ["D", "A", "B", "C"]);
        let s = stats(&mut new);
        assert_eq!(s["queued_events"], 0);
        assert_eq!(s["destinations"][0]["skipped_events"], 2, "{s}");
    }

    /// The tab taking over a gone tab's queue takes each destination's drop
    /// counts with it: what the warehouse refused in the old tab still
    /// shows in the new one's `stats()`, for it and for the file.
    #[test]
    fn a_tab_taken_over_keeps_each_destinations_drop_counts() {
        let kv = site();
        let mut old = two_in(&kv, "old");
        old.record("track", "A", "", T0).unwrap();
        let ups = uploads(&mut old, T0);
        old.on_response(to(&ups, ":9/").id, 200, None, String::new(), T0);
        old.on_response(to(&ups, ":8/").id, 400, None, String::new(), T0);
        old.record("track", "B", "", T0 + 1).unwrap();
        let s = stats(&mut old);
        assert_eq!(s["destinations"][1]["dropped"]["rejected"], 1, "{s}");
        drop(old);

        let mut new = two_in(&kv, "new");
        assert_eq!(new.adopt("old", T0 + 2), 1);
        let s = stats(&mut new);
        assert_eq!(s["dropped"]["rejected"], 1, "{s}");
        assert_eq!(s["destinations"][0]["dropped"]["rejected"], 0, "{s}");
        assert_eq!(s["destinations"][1]["dropped"]["rejected"], 1, "{s}");
        // Kept: a reload of the new tab still shows them.
        drop(new);
        let mut again = two_in(&kv, "new");
        let s = stats(&mut again);
        assert_eq!(s["destinations"][1]["dropped"]["rejected"], 1, "{s}");
    }

    /// At page hide a failing destination keeps its events (and its retry
    /// on the wire is cancelled); the healthy one hands its own off.
    #[test]
    fn page_hide_hands_off_only_the_healthy_destinations_events() {
        let kv = site();
        let mut rt = two(&kv);
        warehouse_fails(&mut rt, &["A"]);
        let wake = rt.next_wakeup(T0).unwrap();
        let retry = rt.poll(wake).expect("the warehouse's retry is on the wire");
        assert!(retry.url.contains(":8/"));
        rt.record("track", "B", "", wake).unwrap();
        let (beacons, report) = hand_off_all(&mut rt, wake + 1);
        assert_eq!(beacons.len(), 1, "{beacons:?}");
        assert_eq!(names(&batch(&to(&beacons, ":9/"))), ["B"]);
        assert_eq!(report.cancel, [retry.id]);
        assert_eq!(report.handed_off, 1);
        assert!(report.why_kept.unwrap().starts_with("warehouse: "));
    }

    /// The same with the failing destination's retry due but not yet
    /// sent as the page goes away: it is not sent as a beacon either (where
    /// requests fail, a beacon's loss would go unseen); it stays queued.
    #[test]
    fn page_hide_keeps_a_failing_destinations_due_retry() {
        let kv = site();
        let mut rt = two(&kv);
        warehouse_fails(&mut rt, &["A"]);
        let wake = rt.next_wakeup(T0).unwrap();
        rt.record("track", "B", "", wake).unwrap();
        let (beacons, report) = hand_off_all(&mut rt, wake + 1);
        assert_eq!(beacons.len(), 1, "{beacons:?}");
        assert_eq!(names(&batch(&to(&beacons, ":9/"))), ["B"]);
        assert_eq!(report.handed_off, 1);
        assert_eq!(report.kept, 2, "A and B stay for the warehouse");
    }

    #[test]
    fn bad_destinations_are_refused_naming_the_field() {
        let kv = site();
        for (d, says) in [
            (
                json!({"name": "w", "endpoint": "http://h", "writeKey": "k", "colour": 1}),
                "unknown option `destinations[0].colour`",
            ),
            (
                json!({"name": "w", "endpoint": "http://h", "writeKey": 5}),
                "option `destinations[0].writeKey` must be a string",
            ),
            (
                json!({"name": "w", "endpoint": "http://h", "writeKey": "k", "callTypes": ["tap"]}),
                "unknown call type `tap`",
            ),
            (
                json!({"name": "default", "endpoint": "http://h", "writeKey": "k"}),
                "two destinations are named `default`",
            ),
            (
                json!({"name": "w", "endpoint": "http://h", "writeKey": " "}),
                "w: the key is empty",
            ),
            (
                json!({"name": "w", "endpoint": "ftp://h", "writeKey": "k"}),
                "w: endpoint",
            ),
            // Its progress is kept under the name, a line per destination.
            (
                json!({"name": "w\nx", "endpoint": "http://h", "writeKey": "k"}),
                "holds a control character",
            ),
        ] {
            let e = Runtime::new(
                kv.clone(),
                "cairn",
                "a",
                &opts(json!({ "destinations": [d] })).to_string(),
                None,
                7,
                T0,
            )
            .err()
            .unwrap_or_else(|| panic!("{d} was taken"));
            assert!(e.contains(says), "{d}: {e}");
        }
    }
}
