//! Identity, consent, session and context rules, driven by hand with a fake
//! clock over a memory store.

use serde_json::json;

use super::*;
use crate::config::ClientBuilder;
use crate::engine::EngineConfig;
use crate::model::object_from_value;
use crate::store::MemoryStore;
use crate::wire::{HttpResponse, SegmentWire};

const T0: i64 = 1_800_000_000_000;

struct Rig {
    engine: Engine,
    recorder: Recorder,
    now: i64,
}

fn builder() -> ClientBuilder {
    ClientBuilder::new("k")
        .endpoint("http://collector")
        .flush_at(1_000)
}

fn rig_with(b: ClientBuilder, store: MemoryStore) -> Rig {
    let config = b.config().unwrap();
    let mut store = store;
    let recorder = Recorder::load(RecorderSettings::from(&config), &mut store, None);
    let engine = Engine::new(
        EngineConfig::from(&config),
        Box::new(store),
        Box::new(SegmentWire::new("http://c", "k", false)),
        1,
        T0,
    );
    let mut r = Rig {
        engine,
        recorder,
        now: T0,
    };
    r.commit();
    r
}

fn rig(b: ClientBuilder) -> Rig {
    rig_with(b, MemoryStore::new())
}

/// A new rig on `b` whose store holds only `r`'s state under `key`: a
/// restart that kept that state.
fn restarted_with(r: &mut Rig, key: &str, b: ClientBuilder) -> Rig {
    let state = r.engine.store_mut().get_state(key).unwrap().unwrap();
    let mut store = MemoryStore::new();
    store.append(&[], &[(key.into(), Some(state))]).unwrap();
    rig_with(b, store)
}

impl Rig {
    fn call(&mut self, c: crate::error::Result<Call>) {
        let mut c = c.unwrap();
        c.timestamp_ms = self.now;
        self.recorder.record(c, &mut self.engine, self.now);
    }
    fn track(&mut self, name: &str) {
        self.call(Call::track(name, None, 0));
    }
    fn commit(&mut self) {
        self.recorder.commit(&mut self.engine, self.now);
    }
    /// Everything sent from now on, delivered at once.
    fn sent(&mut self) -> Vec<serde_json::Value> {
        self.commit();
        self.engine.flush();
        let mut out = Vec::new();
        while let Some(u) = self.engine.poll_upload(self.now) {
            let v: serde_json::Value = serde_json::from_slice(&u.request.body).unwrap();
            out.extend(v["batch"].as_array().unwrap().iter().cloned());
            let ok = HttpResponse {
                status: 200,
                retry_after: None,
                body: String::new(),
            };
            self.engine.on_upload_result(u.id, Ok(ok), self.now);
            self.engine.flush();
        }
        out
    }
    fn stats(&mut self) -> crate::stats::Stats {
        self.engine.stats(self.now)
    }
}

fn traits(v: serde_json::Value) -> Option<RawJson> {
    object_from_value("traits", &v).unwrap()
}

#[test]
fn identify_links_anonymous_and_user_and_earlier_events_keep_no_user() {
    let mut r = rig(builder());
    r.track("Before");
    r.call(Call::identify("u1", traits(json!({"plan": "pro"})), 0));
    r.track("After");
    let sent = r.sent();
    assert!(sent[0].get("userId").is_none(), "recorded before identify");
    assert_eq!(sent[1]["type"], "identify");
    assert_eq!(sent[1]["userId"], "u1");
    assert_eq!(
        sent[1]["anonymousId"], sent[0]["anonymousId"],
        "the merge edge"
    );
    assert_eq!(sent[2]["userId"], "u1");
    assert_eq!(r.recorder.identity().traits["plan"], "pro");
}

#[test]
fn two_people_on_one_device_are_never_merged() {
    let mut r = rig(builder());
    r.call(Call::identify("alice", traits(json!({"email": "a@x"})), 0));
    let alice_anon = r.recorder.anonymous_id().to_string();
    r.call(Call::identify("bob", None, 0));
    r.track("Bob's event");
    let sent = r.sent();
    assert_eq!(sent[1]["userId"], "bob");
    assert_ne!(
        sent[1]["anonymousId"],
        alice_anon.as_str(),
        "a user switch resets first"
    );
    assert_eq!(sent[2]["anonymousId"], sent[1]["anonymousId"]);
    assert!(
        r.recorder.identity().traits.is_empty(),
        "alice's traits are not bob's"
    );

    // Configurable: without the reset the anonymous id is kept.
    let mut r = rig(builder().reset_on_user_switch(false));
    r.call(Call::identify("alice", None, 0));
    let anon = r.recorder.anonymous_id().to_string();
    r.call(Call::identify("bob", None, 0));
    assert_eq!(r.recorder.anonymous_id(), anon);
}

#[test]
fn identity_survives_a_restart() {
    let mut r = rig(builder());
    r.call(Call::identify("u1", traits(json!({"a": 1})), 0));
    r.call(Call::group("g1", None, 0));
    r.commit();
    let saved = r.recorder.identity().clone();
    let r2 = restarted_with(&mut r, identity::STATE_KEY, builder());
    assert_eq!(r2.recorder.identity(), &saved);
}

#[test]
fn a_mirrored_anonymous_id_is_used_when_the_database_lost_it() {
    let config = builder().config().unwrap();
    let mut store = MemoryStore::new();
    let r = Recorder::load(
        RecorderSettings::from(&config),
        &mut store,
        Some("mirrored-id".into()),
    );
    assert_eq!(r.anonymous_id(), "mirrored-id");
    let r = Recorder::load(
        RecorderSettings::from(&builder().anonymous_id("web-id").config().unwrap()),
        &mut MemoryStore::new(),
        None,
    );
    assert_eq!(r.anonymous_id(), "web-id", "the app may bring its own");
}

#[test]
fn pending_consent_holds_in_memory_then_grant_sends_with_original_timestamps() {
    let mut r = rig(builder()
        .consent("analytics", ConsentState::Unknown)
        .required_consent(["analytics"]));
    r.track("Early");
    let early_ts = r.now;
    r.now += 60_000;
    r.commit();
    assert_eq!(
        r.stats().queued_events,
        0,
        "nothing written while consent is unknown"
    );
    assert_eq!(r.recorder.held_events(), 1);
    assert!(r.sent().is_empty(), "nothing sent");
    r.recorder
        .set_consent("analytics", ConsentState::Granted, &mut r.engine, r.now);
    r.track("Late");
    let sent = r.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["event"], "Early");
    assert_eq!(
        sent[0]["timestamp"],
        crate::time::iso8601_ms(early_ts),
        "original timestamp kept"
    );
    assert_eq!(
        sent[0]["context"]["consent"]["categoryPreferences"]["analytics"],
        true
    );
}

#[test]
fn denied_consent_drops_held_and_new_events_as_consent() {
    let mut r = rig(builder()
        .consent("analytics", ConsentState::Unknown)
        .required_consent(["analytics"]));
    r.track("Held");
    r.recorder
        .set_consent("analytics", ConsentState::Denied, &mut r.engine, r.now);
    r.track("After Deny");
    assert!(r.sent().is_empty());
    assert_eq!(r.stats().dropped.consent, 2);
}

#[test]
fn revoking_purges_unsent_events_and_stops_sending() {
    let mut r = rig(builder()
        .consent("analytics", ConsentState::Granted)
        .required_consent(["analytics"]));
    r.track("a");
    r.track("b");
    r.commit();
    assert_eq!(r.stats().queued_events, 2);
    r.recorder
        .set_consent("analytics", ConsentState::Denied, &mut r.engine, r.now);
    assert_eq!(r.stats().queued_events, 0);
    assert_eq!(r.stats().dropped.consent, 2);
    r.track("c");
    assert!(r.sent().is_empty());
}

#[test]
fn a_category_the_destination_does_not_need_does_not_gate() {
    let mut r = rig(builder()
        .consent("analytics", ConsentState::Granted)
        .consent("marketing", ConsentState::Denied)
        .required_consent(["analytics"]));
    r.track("x");
    let sent = r.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["context"]["consent"]["categoryPreferences"],
        json!({"analytics": true, "marketing": false})
    );
}

#[test]
fn opt_out_stores_and_sends_nothing_and_persists() {
    let mut r = rig(builder());
    r.track("before");
    r.commit();
    r.recorder.opt_out(true, &mut r.engine, r.now);
    assert_eq!(r.stats().queued_events, 0, "the queue is purged");
    r.track("during");
    assert!(r.sent().is_empty());
    let state = r
        .engine
        .store_mut()
        .get_state(consent::STATE_KEY)
        .unwrap()
        .unwrap();
    let mut store = MemoryStore::new();
    store
        .append(&[], &[(consent::STATE_KEY.into(), Some(state))])
        .unwrap();
    let mut r2 = rig_with(builder(), store);
    r2.track("after restart");
    assert!(r2.sent().is_empty(), "opt-out survives a restart");
    r2.recorder.opt_out(false, &mut r2.engine, r2.now);
    r2.track("resumed");
    assert_eq!(r2.sent().len(), 1);
}

#[test]
fn forget_erases_everything_and_returns_the_ids() {
    let mut r = rig(builder().consent("analytics", ConsentState::Unknown));
    r.recorder
        .set_consent("analytics", ConsentState::Granted, &mut r.engine, r.now);
    r.call(Call::identify(
        "u-forget",
        traits(json!({"email": "x@y"})),
        0,
    ));
    r.track("queued");
    r.commit();
    let anon = r.recorder.anonymous_id().to_string();
    let f = r.recorder.forget(&mut r.engine, r.now);
    assert_eq!(f.anonymous_ids, vec![anon.clone()]);
    assert_eq!(f.user_ids, vec!["u-forget".to_string()]);
    assert_eq!(f.events_erased, 2);
    assert_ne!(r.recorder.anonymous_id(), anon);
    assert!(r.recorder.identity().user_id.is_none() && r.recorder.identity().traits.is_empty());
    assert_eq!(
        r.recorder.consent().categories.get("analytics"),
        Some(&ConsentState::Unknown),
        "consent back to the configured state"
    );
    assert_eq!(r.stats().queued_events, 0);
    r.track("new life");
    let sent = r.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].get("userId").is_none());
}

#[test]
fn sessions_renew_after_inactivity_and_can_emit_events() {
    let mut r = rig(builder()
        .session_timeout(std::time::Duration::from_secs(60))
        .session_events(true));
    r.track("a");
    r.now += 30_000;
    r.track("b");
    r.now += 61_000;
    r.track("c");
    let sent = r.sent();
    let names: Vec<&str> = sent.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Session Started",
            "a",
            "b",
            "Session Ended",
            "Session Started",
            "c"
        ]
    );
    let first = sent[1]["context"]["sessionId"].as_i64().unwrap();
    assert_eq!(first, T0);
    assert_eq!(sent[2]["context"]["sessionId"].as_i64(), Some(first));
    assert_eq!(
        sent[3]["context"]["sessionId"].as_i64(),
        Some(first),
        "the end belongs to the old session"
    );
    assert_eq!(
        sent[3]["timestamp"],
        crate::time::iso8601_ms(T0 + 30_000),
        "ended at its last event"
    );
    assert_eq!(sent[5]["context"]["sessionId"].as_i64(), Some(T0 + 91_000));

    let mut r = rig(builder());
    r.track("x");
    r.recorder.reset();
    r.now += 1;
    r.track("y");
    let sent = r.sent();
    assert_eq!(sent.len(), 2, "session events are off by default");
    assert_ne!(
        sent[0]["context"]["sessionId"], sent[1]["context"]["sessionId"],
        "reset starts a new session"
    );
}

#[test]
fn the_session_is_written_when_it_begins_and_then_every_few_seconds_not_per_event() {
    let saved = |r: &mut Rig| {
        r.engine
            .store_mut()
            .get_state(session::STATE_KEY)
            .unwrap()
            .and_then(|t| Session::from_json(&t))
            .unwrap()
    };
    // The default timeout, 30 minutes: written again once 5 s have passed.
    let mut r = rig(builder());
    r.track("first");
    r.commit();
    assert_eq!(saved(&mut r).last_event_ms, T0, "written as it begins");
    for _ in 0..40 {
        r.now += 100;
        r.track("burst");
        r.commit();
    }
    assert_eq!(
        saved(&mut r).last_event_ms,
        T0,
        "4 s of events: not written again"
    );
    r.now += 1_000;
    r.track("later");
    r.commit();
    assert_eq!(saved(&mut r).last_event_ms, T0 + 5_000, "5 s on: written");
    assert_eq!(saved(&mut r).id, T0);

    // A short timeout keeps the step to a 360th of it: a restart read back
    // resumes the same session as long as the timeout says so.
    let timeout = std::time::Duration::from_secs(36);
    let mut r = rig(builder().session_timeout(timeout));
    r.track("a");
    r.now += 150;
    r.track("b");
    r.commit();
    assert_eq!(
        saved(&mut r).last_event_ms,
        T0 + 150,
        "moved past the 100 ms step"
    );
    let mut r2 = restarted_with(
        &mut r,
        session::STATE_KEY,
        builder().session_timeout(timeout),
    );
    r2.now = T0 + 150 + 35_900;
    r2.track("after the restart");
    let sent = r2.sent();
    assert_eq!(
        sent[0]["context"]["sessionId"].as_i64(),
        Some(T0),
        "the same session"
    );
}

#[test]
fn context_from_config_and_set_context_land_in_every_event() {
    let mut r = rig(builder().context(json!({"app": {"name": "Shop", "version": "2.1"}})));
    r.track("a");
    let mut ctx = Map::new();
    ctx.insert("os".into(), json!({"name": "Android", "version": "15"}));
    ctx.insert("app".into(), Value::Null);
    r.recorder.set_context(ctx);
    r.track("b");
    let sent = r.sent();
    assert_eq!(sent[0]["context"]["app"]["version"], "2.1");
    assert_eq!(sent[0]["context"]["library"]["name"], "cairn");
    assert!(sent[1]["context"].get("app").is_none());
    assert_eq!(sent[1]["context"]["os"]["name"], "Android");
}

/// The browser's checker (wasm/js/plan.js) judges calls itself and hands
/// the recorder its verdict: consent still comes first, a drop is counted,
/// and the violations ride with the event, also one held for consent.
#[test]
fn a_verdict_reached_outside_the_core_is_recorded_as_it_says() {
    let mut r = rig(builder()
        .consent("analytics", ConsentState::Unknown)
        .required_consent(["analytics"]));
    let flagged = r#"[{"rule":"type","path":"properties.n","message":"expected number"}]"#;
    let call = |name: &str| Call::track(name, None, T0).unwrap();
    let now = r.now;
    assert!(r.recorder.record_judged(
        call("Held"),
        false,
        Some(flagged.into()),
        &mut r.engine,
        now
    ));
    assert!(r
        .recorder
        .record_judged(call("Dropped"), true, None, &mut r.engine, now));
    r.recorder
        .set_consent("analytics", ConsentState::Granted, &mut r.engine, now);
    assert!(r
        .recorder
        .record_judged(call("Clean"), false, None, &mut r.engine, now));
    let sent = r.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["event"], "Held");
    assert_eq!(
        sent[0]["context"]["violations"][0]["path"], "properties.n",
        "a held event keeps its violations until consent releases it"
    );
    assert_eq!(sent[1]["event"], "Clean");
    assert!(sent[1]["context"].get("violations").is_none());
    assert_eq!(r.stats().dropped.plan_violation, 1);

    r.recorder
        .set_consent("analytics", ConsentState::Denied, &mut r.engine, now);
    assert!(
        !r.recorder
            .record_judged(call("Denied"), true, None, &mut r.engine, now),
        "consent drops the call before its verdict counts"
    );
    assert_eq!(r.stats().dropped.plan_violation, 1);
    assert_eq!(r.stats().dropped.consent, 1);
}
