//! `cairn plan check`, `cairn plan import` (samples shaped like Segment's
//! and RudderStack's exports, in tests/fixtures/), and the violations
//! `cairn inspect` shows, run as the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{json, Value};

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

fn cairn(args: &[&str]) -> Output {
    Command::new(CAIRN).args(args).output().unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn shared_plan(dir: &Path) -> PathBuf {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plan-cases.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let path = dir.join("shop.json");
    std::fs::write(&path, table["plans"]["shop"].to_string()).unwrap();
    path
}

#[test]
fn check_prints_a_summary_or_where_the_plan_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = cairn(&["plan", "check", shared_plan(dir.path()).to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert_eq!(
        summary,
        "tracking plan shop version \"3\": valid\n\
         policy flag; unplanned events: flag\n\
         events (3):\n  \
         Cart Viewed          strip 2 properties, 0 required\n  \
         Order Completed v2   flag  6 properties, 2 required (The checkout succeeded.)\n  \
         Signed Out           drop  1 properties, 0 required\n\
         identify traits: planned; group traits: planned\n"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "p", "events": {"E": {"properties": {"properties": {"x": {"type": "string", "minLenght": 2}}}}}}"#).unwrap();
    let out = cairn(&["plan", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {}: at /events/E/properties/properties/x/minLenght: unsupported keyword `minLenght`", bad.display())),
        "{err}"
    );
    let out = cairn(&[
        "plan",
        "check",
        dir.path().join("nope.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
}

fn import(vendor: &str, file: &str) -> (Value, String) {
    let out = cairn(&[
        "plan",
        "import",
        "--from",
        vendor,
        fixture(file).to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        text(&out.stderr),
    )
}

#[test]
fn import_segment_config_api_export() {
    let (plan, notes) = import("segment", "segment-config-api.json");
    assert_eq!(plan["id"], "rs_1a2b3c");
    assert_eq!(plan["version"], "2026-11-20T16:45:00Z");
    let order = &plan["events"]["Order Completed"];
    assert_eq!(order["version"], 2);
    assert_eq!(order["description"], "The checkout succeeded.");
    assert_eq!(
        order["properties"]["required"],
        json!(["order_id", "total"])
    );
    assert_eq!(
        order["properties"]["properties"]["total"],
        json!({"type": ["number"], "minimum": 0})
    );
    assert_eq!(
        order["properties"]["definitions"]["product"]["required"],
        json!(["sku"])
    );
    let signed_in = &plan["events"]["Signed In"];
    assert_eq!(signed_in["traits"]["required"], json!(["email"]));
    assert!(signed_in.get("description").is_none());
    assert_eq!(plan["identify"]["traits"]["required"], json!(["name"]));
    assert_eq!(plan["group"]["traits"]["required"], json!(["company"]));
    assert_eq!(
        notes,
        "note: event \"Signed In\": its context rules are not enforced by cairn; they were left out\n\
         note: the global rules (context and properties every event carries) are not enforced by cairn; they were left out\n"
    );
}

#[test]
fn import_segment_public_api_export_and_run_it() {
    let (plan, notes) = import("segment", "segment-public-api.json");
    assert_eq!(plan["id"], "tp_2hG7x");
    assert_eq!(plan["events"]["Product Viewed"]["version"], 3);
    assert_eq!(
        plan["identify"]["traits"]["properties"]["email"]["format"],
        "email"
    );
    assert!(
        notes.contains("the PAGE rule is not enforced by cairn"),
        "{notes}"
    );

    // The imported plan judges calls as the vendor's rules say.
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(dir.path().join("c.db"))
        .tracking_plan(plan.to_string())
        .strict_tracking_plan(true)
        .build()
        .unwrap();
    client
        .track("Product Viewed", json!({"sku": "SKU-12", "price": 3}))
        .unwrap();
    let e = client
        .track("Product Viewed", json!({"sku": "12", "price": 0}))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("properties.price: expected more than 0, got number 0; properties.sku: expected to match ^SKU-[0-9]+$, got string \"12\""),
        "{e}"
    );
}

#[test]
fn import_rudderstack_export() {
    let (plan, notes) = import("rudderstack", "rudderstack-data-catalog.json");
    assert_eq!(plan["id"], "tp_2rKxjFu6R1qot19aWhTW7W7Ojew");
    assert_eq!(plan["version"], 4);
    let order = &plan["events"]["Order Completed"]["properties"];
    assert_eq!(order["required"], json!(["order_id", "revenue"]));
    assert_eq!(
        order["additionalProperties"], false,
        "RudderStack's per-event setting is kept"
    );
    assert_eq!(plan["identify"]["traits"]["required"], json!(["email"]));
    assert_eq!(notes, "note: the page rules are not enforced by cairn (it plans track, identify and group); they were left out\n");

    // --out and --id.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let run = cairn(&[
        "plan",
        "import",
        "--from",
        "rudderstack",
        "--id",
        "checkout",
        fixture("rudderstack-data-catalog.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success() && run.stdout.is_empty(),
        "{}",
        text(&run.stderr)
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["id"], "checkout");
    assert!(cairn(&["plan", "check", out.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn import_refuses_what_it_cannot_read_or_enforce() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd.json");
    std::fs::write(&odd, r#"{"id": "x", "name": "x"}"#).unwrap();
    let out = cairn(&[
        "plan",
        "import",
        "--from",
        "rudderstack",
        odd.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("expected `events`"),
        "{}",
        text(&out.stderr)
    );

    // A keyword cairn does not enforce fails the import, naming where.
    let export = json!({"name": "workspaces/w/tracking-plans/rs_9", "rules": {"events": [
        {"name": "E", "version": 1, "rules": {"properties": {"properties": {"properties": {"n": {"type": "number", "multipleOf": 5}}}}}}]}});
    let file = dir.path().join("segment.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let out = cairn(&[
        "plan",
        "import",
        "--from",
        "segment",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("the imported plan does not load: at /events/E/properties/properties/n/multipleOf: unsupported keyword `multipleOf`"), "{err}");
}

#[test]
fn inspect_shows_the_latest_violations_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let client = cairn::Client::builder("k")
        .endpoint("http://127.0.0.1:9")
        .storage_path(&db)
        .tracking_plan_file(shared_plan(dir.path()))
        .build()
        .unwrap();
    client
        .track(
            "Order Completed",
            json!({"order_id": "o-1", "total": "9.99"}),
        )
        .unwrap();
    client
        .track("Signed Out", json!({"reason": "bored"}))
        .unwrap();
    client.commit(Duration::from_secs(5)).unwrap();
    drop(client);
    let out = cairn(&["inspect", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("plan_violation 1"), "{report}");
    assert!(
        report.contains("violations Order Completed type × 1 · Signed Out const × 1"),
        "{report}"
    );
    assert!(
        report.contains(
            "  latest   Order Completed: properties.total: expected number, got string \"9.99\"\n"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "  latest   Signed Out: properties.reason: expected \"user\", got string \"bored\"\n"
        ),
        "{report}"
    );
}
