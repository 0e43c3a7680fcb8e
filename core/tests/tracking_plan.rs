//! Tracking plans enforced by a real `Client` on a real SQLite file, the
//! events read back from a real HTTP server (mockito): the policies, unplanned
//! events, strict mode, plan replacement at run time, the plan's id and
//! version on every event, violations in `stats()` (kept across restarts),
//! and the shared table of cases (tests/plan-cases.json) every front end runs.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// A server that records every event it is sent.
struct Backend {
    server: mockito::ServerGuard,
    events: Arc<Mutex<Vec<Value>>>,
    _mock: mockito::Mock,
}

fn backend() -> Backend {
    let mut server = mockito::Server::new();
    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&events);
    let mock = server
        .mock("POST", "/v1/batch")
        .match_request(move |req| {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(req.body().expect("a body").as_slice())
                .read_to_end(&mut raw)
                .expect("gzip");
            let body: Value = serde_json::from_slice(&raw).expect("JSON");
            seen.lock()
                .unwrap()
                .extend(body["batch"].as_array().unwrap().iter().cloned());
            true
        })
        .with_status(200)
        .create();
    Backend {
        server,
        events,
        _mock: mock,
    }
}

fn cases() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plan-cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn client(b: &Backend, dir: &Path, plan: &Value, strict: bool) -> cairn::Client {
    cairn::Client::builder("k")
        .endpoint(b.server.url())
        .storage_path(dir.join("c.db"))
        .flush_at(1000)
        .tracking_plan(plan.to_string())
        .strict_tracking_plan(strict)
        .build()
        .unwrap()
}

fn call(c: &cairn::Client, call: &Value) -> cairn::Result<()> {
    let payload = |k: &str| call.get(k).cloned().unwrap_or(Value::Null);
    let text = |k: &str| call[k].as_str().unwrap();
    match text("type") {
        "track" => c.track(text("event"), payload("properties")),
        "identify" => c.identify(text("user_id"), payload("traits")),
        "group" => c.group(text("group_id"), payload("traits")),
        "screen" => c.screen(text("name"), payload("properties")),
        other => panic!("no such call in the table: {other}"),
    }
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// The shared table: with the policies, the wire shows each verdict;
/// in strict mode, the call's error lists the same violations.
#[test]
fn the_shared_table_of_cases() {
    let table = cases();
    let b = backend();
    for case in table["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let plan = &table["plans"][case["plan"].as_str().unwrap()];
        let want = texts(&case["violations"]);
        let dropped = case["dropped"].as_bool().unwrap();

        let dir = tempfile::tempdir().unwrap();
        let c = client(&b, dir.path(), plan, false);
        b.events.lock().unwrap().clear();
        call(&c, &case["call"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = c.flush(Duration::from_secs(10)).unwrap();
        let stats = c.stats();
        assert_eq!(stats.dropped.plan_violation, u64::from(dropped), "{name}");
        assert_eq!(stats.plan.total(), want.len() as u64, "{name}");
        let events = b.events.lock().unwrap().clone();
        assert_eq!(
            (report.delivered, events.len()),
            (u64::from(!dropped), usize::from(!dropped)),
            "{name}"
        );
        if let Some(e) = events.first() {
            assert_eq!(
                e["context"]["trackingPlan"],
                json!({"id": plan["id"], "version": plan["version"]}),
                "{name}"
            );
            let flagged: Vec<String> = e["context"]["violations"]
                .as_array()
                .map(|vs| {
                    vs.iter()
                        .map(|v| {
                            let path = v["path"].as_str().unwrap();
                            let message = v["message"].as_str().unwrap();
                            if path.is_empty() {
                                message.to_string()
                            } else {
                                format!("{path}: {message}")
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(flagged, want, "{name}");
            if let Some(sent) = case.get("sent") {
                let field = if e.get("properties").is_some() {
                    "properties"
                } else {
                    "traits"
                };
                assert_eq!(&e[field], sent, "{name}");
            }
        }
        drop(c);

        let dir = tempfile::tempdir().unwrap();
        let strict = client(&b, dir.path(), plan, true);
        match call(&strict, &case["call"]) {
            Ok(()) => assert!(want.is_empty(), "{name}: strict mode let it through"),
            Err(e) => {
                let text = e.to_string();
                assert!(
                    matches!(e, cairn::Error::PlanViolation { .. }),
                    "{name}: {text}"
                );
                for w in &want {
                    assert!(text.contains(w.as_str()), "{name}: {text} lacks {w}");
                }
                strict.commit(Duration::from_secs(5)).unwrap();
                let s = strict.stats();
                assert_eq!(
                    (s.dropped.plan_violation, s.plan.total()),
                    (1, want.len() as u64),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn strict_mode_error_reads_well() {
    let b = backend();
    let dir = tempfile::tempdir().unwrap();
    let table = cases();
    let c = client(&b, dir.path(), &table["plans"]["shop"], true);
    let e = c
        .track(
            "Order Completed",
            json!({"order_id": "o-1", "total": "9.99"}),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"Order Completed\" breaks tracking plan shop: properties.total: expected number, got string \"9.99\" (fix the call, or the plan; strict_tracking_plan refuses such calls)"
    );
    c.flush(Duration::from_secs(10)).unwrap();
    assert!(
        b.events.lock().unwrap().is_empty(),
        "a refused call records nothing"
    );
}

#[test]
fn plan_replaced_at_run_time_and_versions_stamped() {
    let b = backend();
    let dir = tempfile::tempdir().unwrap();
    let v1 = json!({"id": "app", "version": "1", "events": {"Tapped": {"properties": {"required": ["button"]}}}});
    let v2 = json!({"id": "app", "version": "2", "unplanned": "drop", "events": {"Tapped": {}}});
    let c = client(&b, dir.path(), &v1, false);
    c.track("Tapped", json!({})).unwrap();
    c.screen("Home", Value::Null).unwrap();

    let e = c
        .set_tracking_plan(
            r#"{"id": "app", "events": {"Tapped": {"properties": {"minProperties": 1}}}}"#,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string().split(": cairn enforces").next().unwrap(),
        "invalid config `tracking_plan`: at /events/Tapped/properties/minProperties: unsupported keyword `minProperties`"
    );
    c.set_tracking_plan(&v2.to_string()).unwrap();
    assert_eq!(
        c.tracking_plan().unwrap().stamp(),
        r#"{"id":"app","version":"2"}"#
    );
    c.track("Tapped", json!({})).unwrap();
    c.track("Swiped", json!({})).unwrap();
    c.remove_tracking_plan().unwrap();
    c.track("Swiped", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();

    let events = b.events.lock().unwrap().clone();
    let seen: Vec<(String, Value, Value)> = events
        .iter()
        .map(|e| {
            let name = e["event"]
                .as_str()
                .or(e["name"].as_str())
                .unwrap()
                .to_string();
            (
                name,
                e["context"]["trackingPlan"]["version"].clone(),
                e["context"]["violations"].clone(),
            )
        })
        .collect();
    let required = json!([{"rule": "required", "path": "properties.button", "message": "required by the plan, missing"}]);
    assert_eq!(
        seen,
        [
            ("Tapped".into(), json!("1"), required),
            ("Home".into(), json!("1"), Value::Null),
            ("Tapped".into(), json!("2"), Value::Null),
            ("Swiped".into(), Value::Null, Value::Null),
        ]
    );
    assert!(
        events[3]["context"].get("trackingPlan").is_none(),
        "no plan, no stamp"
    );
    let s = c.stats();
    assert_eq!(s.dropped.plan_violation, 1, "the unplanned Swiped under v2");
    let counts: Vec<(String, String, u64)> = s
        .plan
        .violations
        .iter()
        .map(|v| (v.event.clone(), v.rule.clone(), v.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("Swiped".into(), "unplanned".into(), 1),
            ("Tapped".into(), "required".into(), 1)
        ]
    );
}

#[test]
fn violations_are_kept_with_the_buffer_file() {
    let b = backend();
    let dir = tempfile::tempdir().unwrap();
    let plan = json!({"id": "p", "events": {"Paid": {"properties": {"properties": {"amount": {"type": "number"}}}}}});
    let c = client(&b, dir.path(), &plan, false);
    c.track("Paid", json!({"amount": "12"})).unwrap();
    c.shutdown(Duration::from_secs(5)).unwrap();
    drop(c);
    let again = client(&b, dir.path(), &plan, false);
    let s = again.stats();
    assert_eq!(s.plan.total(), 1);
    assert_eq!(s.plan.recent[0].event, "Paid");
    assert_eq!(s.plan.recent[0].path, "properties.amount");
    assert_eq!(
        s.plan.recent[0].message,
        "expected number, got string \"12\""
    );
    let json: Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(
        json["plan"]["violations"][0],
        json!({"event": "Paid", "rule": "type", "count": 1})
    );
}

#[test]
fn a_bad_plan_fails_build_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let build = |b: cairn::ClientBuilder| {
        b.endpoint("http://127.0.0.1:9")
            .storage_path(dir.path().join("c.db"))
            .build()
            .unwrap_err()
            .to_string()
    };
    let e = build(
        cairn::Client::builder("k")
            .tracking_plan(r#"{"id": "p", "events": {"E": {"properties": {"type": "obj"}}}}"#),
    );
    assert!(
        e.starts_with(
            "invalid config `tracking_plan`: at /events/E/properties/type: unknown type \"obj\""
        ),
        "{e}"
    );
    let e = build(cairn::Client::builder("k").tracking_plan_file(dir.path().join("missing.json")));
    assert!(
        e.starts_with("invalid config `tracking_plan`: cannot read ") && e.contains("missing.json"),
        "{e}"
    );
    let file = dir.path().join("plan.json");
    std::fs::write(&file, r#"{"id": "p", "unplanned": "maybe"}"#).unwrap();
    let e = build(cairn::Client::builder("k").tracking_plan_file(&file));
    assert!(
        e.contains("plan.json: at /unplanned: `unplanned` must be"),
        "{e}"
    );
}

#[test]
fn forget_erases_the_values_violations_quote() {
    let b = backend();
    let dir = tempfile::tempdir().unwrap();
    let plan = json!({"id": "p", "events": {"Signed Up": {"properties": {"properties": {"referrer": {"type": "number"}}}}}});
    let c = client(&b, dir.path(), &plan, false);
    let secret = "ada-lovelace@example.com";
    c.track("Signed Up", json!({"referrer": secret})).unwrap();
    c.commit(Duration::from_secs(5)).unwrap();
    assert!(c.stats().plan.recent[0].message.contains(secret));
    c.forget(Duration::from_secs(5)).unwrap();
    let s = c.stats();
    assert!(s.plan.recent.is_empty(), "{s:?}");
    assert_eq!(s.plan.total(), 1, "the counts (event and rule) stay");
    c.shutdown(Duration::from_secs(5)).unwrap();
    drop(c);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} still holds the value",
            path.display()
        );
    }
}
