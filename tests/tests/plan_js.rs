//! The browser's tracking-plan checker (wasm/js/plan.js, hand-written for
//! the page's download budget) against the one it replaces there, the
//! core's (`cairn::plan`): thousands of generated plans, valid and not, and
//! calls against them, judged by both; every refusal text, every
//! violation (rule, path, message, in order), every drop and every payload
//! `strip` leaves must be the same.
//!
//! The JavaScript runs in Node (wasm/tests/plan/judge.mjs), as it runs in
//! the page: the browser suite drives the same file through the package in
//! Chromium with the shared table of cases. Values keep to what a page
//! sends (numbers as `JSON.stringify` writes them) and patterns to the
//! syntax both engines share (docs/tracking-plans.md).

use std::path::Path;
use std::process::Command;

use cairn::json::{self, Json};
use cairn::model::EventKind;
use cairn::plan::{TrackingPlan, Verdict};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};

/// Member names the schemas and the payloads share (with odd ones: a quote,
/// non-ASCII, integer-like names that JavaScript orders first).
const KEYS: &[&str] = &[
    "a", "b", "sku", "price", "when", "mail", "site", "id", "items", "nested", "é", "x\"y", "z-1",
    "10", "9",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "SKU-1",
    "o-12",
    "EUR",
    "2026-12-03T14:05:00Z",
    "2024-02-29t23:59:60.25+01:00",
    "2023-02-29T00:00:00Z",
    "2026-12-03 14:05:00-24:00",
    "ada@example.com",
    "ünï@dömain.de",
    ".ada@example.com",
    "ada@ex_ample.com",
    "ada@-x.com",
    "a b@c.d",
    "https://example.com/a?b=1#c",
    "mailto:x%2",
    "1http://x",
    "123e4567-e89b-12d3-a456-426614174000",
    "123E4567-E89B-12D3-A456-42661417400Z",
    "été",
    "a long string that runs well past the forty characters a message shows",
    "q\"\\\n\u{1}",
    "😀x",
];

const PATTERNS: &[&str] = &[
    "^a",
    "[0-9]+",
    "^o-[0-9]+$",
    "EUR|USD",
    "^.{2,3}$",
    "\\d",
    "^\\w+$",
    "\\s",
    "^[^@]+@",
    "(ab)+",
    "\\bx",
    "^\\S*$",
    "[^\\W\\d]",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..6).prop_map(Value::from),
        prop::sample::select(vec![0.5, 2.5, -0.1, 12.25]).prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            object_of(inner),
        ]
    })
}

fn object_of(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), values), 0..5).prop_map(|members| {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    })
}

/// A keyword with a value cairn refuses, and one plan-level mistake each.
fn bad_keyword() -> impl Strategy<Value = (String, Value)> {
    prop::sample::select(vec![
        ("not", json!({})),
        ("type", json!("float")),
        ("type", json!([])),
        ("type", json!(["string", 1])),
        ("minimum", json!("3")),
        ("exclusiveMaximum", json!(true)),
        ("minLength", json!(-1)),
        ("maxItems", json!(1.5)),
        ("pattern", json!(5)),
        ("format", json!("ipv4")),
        ("format", json!(null)),
        ("items", json!([{}])),
        ("$ref", json!("#/definitions/nope")),
        ("$ref", json!(7)),
        ("enum", json!([])),
        ("required", json!("a")),
        ("required", json!(["a", 1])),
        ("properties", json!([])),
        ("definitions", json!({})),
        ("additionalProperties", json!(3)),
    ])
    .prop_map(|(k, v)| (k.to_string(), v))
}

fn keyword(inner: BoxedStrategy<Value>) -> impl Strategy<Value = (String, Value)> {
    let types = prop::sample::select(vec![
        json!("string"),
        json!("number"),
        json!("integer"),
        json!("boolean"),
        json!("object"),
        json!("array"),
        json!("null"),
        json!(["string", "null"]),
        json!(["integer", "string"]),
        json!(["number", "array", "object"]),
    ]);
    let bounds = prop::sample::select(vec![
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
    ]);
    let counts = prop::sample::select(vec!["minLength", "maxLength", "minItems", "maxItems"]);
    let numbers = prop::sample::select(vec![json!(-1), json!(0), json!(2), json!(2.5), json!(5)]);
    // A mistake is rare (about one keyword in 200), so most plans compile.
    prop_oneof![
        30 => types.prop_map(|t| ("type".to_string(), t)),
        10 => prop::collection::vec(value(), 1..4).prop_map(|v| ("enum".to_string(), Value::Array(v))),
        10 => value().prop_map(|v| ("const".to_string(), v)),
        20 => (bounds, numbers).prop_map(|(k, n)| (k.to_string(), n)),
        20 => (counts, 0u64..5).prop_map(|(k, n)| (k.to_string(), json!(n))),
        10 => prop::sample::select(PATTERNS).prop_map(|p| ("pattern".to_string(), json!(p))),
        10 => prop::sample::select(vec!["date-time", "email", "uri", "uuid"]).prop_map(|f| ("format".to_string(), json!(f))),
        20 => prop::collection::vec(prop::sample::select(KEYS), 0..3).prop_map(|r| ("required".to_string(), json!(r))),
        10 => prop::sample::select(vec!["#/definitions/d1", "#/$defs/d2"]).prop_map(|r| ("$ref".to_string(), json!(r))),
        5 => Just(("description".to_string(), json!("annotations are accepted and left alone"))),
        30 => prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..4).prop_map(|m| {
            ("properties".to_string(), Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        }),
        20 => prop_oneof![any::<bool>().prop_map(Value::from), inner.clone()]
            .prop_map(|v| ("additionalProperties".to_string(), v)),
        10 => inner.prop_map(|v| ("items".to_string(), v)),
        1 => bad_keyword(),
    ]
}

fn schema() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        1 => prop::sample::select(vec![json!(true), json!(false), json!({})]),
        6 => prop::collection::vec(keyword(Just(json!({"type": "string"})).boxed()), 0..4).prop_map(object),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(keyword(inner.boxed()), 0..5).prop_map(object)
    })
    .boxed()
}

/// The schema of an event's properties or of traits: rules for some of
/// the members the payloads have, and some on the object itself.
fn root_schema() -> BoxedStrategy<Value> {
    (
        prop::collection::vec((prop::sample::select(KEYS), schema()), 1..6),
        prop::collection::vec(keyword(schema()), 0..3),
    )
        .prop_map(|(members, mut own)| {
            let properties: Map<String, Value> = members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            own.retain(|(k, _)| k != "properties");
            own.push(("properties".to_string(), Value::Object(properties)));
            object(own)
        })
        .boxed()
}

fn object(members: Vec<(String, Value)>) -> Value {
    Value::Object(members.into_iter().collect::<Map<String, Value>>())
}

fn plan() -> impl Strategy<Value = Value> {
    let policy = prop::sample::select(vec![None, Some("flag"), Some("strip"), Some("drop")]);
    let event = (
        root_schema(),
        prop::option::weighted(0.2, root_schema()),
        policy.clone(),
    )
        .prop_map(|(p, t, policy)| {
            let mut e = json!({ "properties": p, "version": 2 });
            if let Some(t) = t {
                e["traits"] = t;
            }
            if let Some(policy) = policy {
                e["policy"] = json!(policy);
            }
            e
        });
    let plan_mistake = prop_oneof![9 => Just(None), 1 => prop::sample::select(vec![
        Some(("policy", json!("warn"))),
        Some(("unplanned", json!(1))),
        Some(("id", json!(""))),
        Some(("version", json!(null))),
        Some(("events", json!([]))),
        Some(("rules", json!({}))),
        Some(("identify", json!({"traits": {}, "properties": {}}))),
    ])];
    (
        (schema(), schema()),
        (event.clone(), event),
        (root_schema(), root_schema()),
        (
            policy,
            prop::sample::select(vec![None, Some("allow"), Some("flag"), Some("drop")]),
        ),
        plan_mistake,
    )
        .prop_map(
            |((d1, d2), (e, f), (identify, group), (policy, unplanned), mistake)| {
                let mut p = json!({
                    "id": "p", "version": "3",
                    "definitions": { "d1": d1 }, "$defs": { "d2": d2 },
                    "events": { "E": e, "F \"odd\"": f },
                    "identify": { "traits": identify }, "group": { "traits": group },
                });
                if let Some(policy) = policy {
                    p["policy"] = json!(policy);
                }
                if let Some(unplanned) = unplanned {
                    p["unplanned"] = json!(unplanned);
                }
                if let Some((k, v)) = mistake {
                    p[k] = v;
                }
                p
            },
        )
}

/// One call: its kind, event name, payload and the user's traits.
fn call() -> impl Strategy<Value = (&'static str, &'static str, Value, Value)> {
    (
        prop::sample::select(vec![
            ("track", "E"),
            ("track", "E"),
            ("track", "F \"odd\""),
            ("track", "Unplanned"),
            ("identify", ""),
            ("group", ""),
            ("screen", "Home"),
        ]),
        object_of(value()),
        object_of(value()),
    )
        .prop_map(|((kind, name), payload, traits)| (kind, name, payload, traits))
}

fn kind(name: &str) -> EventKind {
    match name {
        "track" => EventKind::Track,
        "identify" => EventKind::Identify,
        "group" => EventKind::Group,
        _ => EventKind::Screen,
    }
}

/// A verdict as the page's `judge` answers it (`null`: the call meets the plan).
fn as_answer(v: &Verdict) -> Value {
    if v.violations.is_empty() {
        return Value::Null;
    }
    let mut out = vec![json!(u8::from(v.drop))];
    out.push(match &v.replaced {
        Some(kept) => serde_json::from_str(&kept.to_text()).expect("the core writes JSON"),
        None => Value::Null,
    });
    for x in &v.violations {
        out.extend([json!(x.rule), json!(x.path), json!(x.message)]);
    }
    Value::Array(out)
}

fn node_judges(input: &Value) -> Value {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("cases.json");
    std::fs::write(&file, input.to_string()).expect("write the cases");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm/tests/plan/judge.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&file)
        .output()
        .expect("this test runs the browser's checker in Node: install Node.js (node on PATH)");
    assert!(
        out.status.success(),
        "node {} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("judge.mjs prints JSON")
}

/// What differs between the two checkers on `plans` and `calls`
/// (`[plan index, kind, name, payload text, traits text]`), and how many
/// plans were refused and calls flagged.
fn differences(plans: &[Value], calls: &[Value]) -> (Vec<String>, usize, usize) {
    let answers = node_judges(&json!({ "plans": plans, "calls": calls }));
    let mut mismatches = Vec::new();
    let mut refused = 0;
    let mut flagged = 0;
    let compiled: Vec<Option<TrackingPlan>> = plans
        .iter()
        .enumerate()
        .map(|(i, plan)| {
            let js = answers["plans"][i].as_str();
            match TrackingPlan::parse(&plan.to_string()) {
                Ok(p) => {
                    if let Some(js) = js {
                        mismatches.push(format!("plan {plan}\n  rust: accepted\n  js:   {js}"));
                    }
                    Some(p)
                }
                Err(e) => {
                    refused += 1;
                    if js != Some(e.text().as_str()) {
                        mismatches
                            .push(format!("plan {plan}\n  rust: {}\n  js:   {js:?}", e.text()));
                    }
                    None
                }
            }
        })
        .collect();
    for (n, c) in calls.iter().enumerate() {
        let i = c[0].as_u64().expect("an index") as usize;
        let Some(plan) = &compiled[i] else { continue };
        let object = |text: &Value| match json::parse(text.as_str().unwrap_or("{}")) {
            Ok(Json::Object(o)) => o,
            _ => panic!("a payload is an object"),
        };
        let (payload, traits) = (object(&c[3]), object(&c[4]));
        let k = kind(c[1].as_str().unwrap_or_default());
        let name = (k == EventKind::Track).then(|| c[2].as_str().unwrap_or_default());
        let rust = as_answer(&plan.check(k, name, Some(&payload), Some(&traits)));
        let js = match answers["verdicts"][n].as_str() {
            Some(text) => serde_json::from_str(text).expect("a verdict is JSON"),
            None => Value::Null,
        };
        if !rust.is_null() {
            flagged += 1;
        }
        if rust != js {
            mismatches.push(format!(
                "plan {}\n  call {c}\n  rust: {rust}\n  js:   {js}",
                plans[i]
            ));
        }
    }
    (mismatches, refused, flagged)
}

fn assert_same(mismatches: &[String], plans: usize, calls: usize) {
    assert!(
        mismatches.is_empty(),
        "{} of {plans} plans and {calls} calls judged differently; the first:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn the_browser_checker_gives_the_verdicts_and_texts_of_the_rust_checker() {
    const PLANS: usize = 2_000;
    const CALLS_PER_PLAN: usize = 10;
    let mut runner = TestRunner::default();
    let strategy = (plan(), prop::collection::vec(call(), CALLS_PER_PLAN));
    let mut plans = Vec::new();
    let mut calls = Vec::new();
    for i in 0..PLANS {
        let (plan, cs) = strategy.new_tree(&mut runner).expect("a case").current();
        plans.push(plan);
        for (kind, name, payload, traits) in cs {
            calls.push(json!([
                i,
                kind,
                name,
                payload.to_string(),
                traits.to_string()
            ]));
        }
    }
    let (mismatches, refused, flagged) = differences(&plans, &calls);
    assert_same(&mismatches, PLANS, calls.len());
    eprintln!(
        "{refused} of {PLANS} plans refused, {flagged} of {} calls broke their plan",
        calls.len()
    );
    // The generators reach both sides: refused plans, and calls that break
    // accepted ones.
    assert!(
        refused > PLANS / 20 && refused < PLANS * 3 / 4,
        "{refused} of {PLANS} plans refused"
    );
    assert!(
        flagged > calls.len() / 10,
        "{flagged} of {} calls broke their plan",
        calls.len()
    );
}

/// One rule on one property, and many values for it: where the random
/// plans above rarely bring a rule and a value that meet at its edge.
fn one_rule(rule: Value, values: Vec<Value>) -> (Vec<String>, usize) {
    let plans = vec![
        json!({ "id": "r", "events": { "E": { "properties": { "properties": { "v": rule } } } } }),
    ];
    let calls: Vec<Value> = values
        .iter()
        .map(|v| json!([0, "track", "E", json!({ "v": v }).to_string(), "{}"]))
        .collect();
    let (mismatches, _, flagged) = differences(&plans, &calls);
    (mismatches, flagged)
}

fn draw(strategy: impl Strategy<Value = String>, n: usize) -> Vec<Value> {
    let mut runner = TestRunner::default();
    (0..n)
        .map(|_| Value::from(strategy.new_tree(&mut runner).expect("a value").current()))
        .collect()
}

#[test]
fn formats_agree_at_their_edges() {
    let near = [
        ("date-time", "[0-9]{4}-(0[0-9]|1[0-3])-([0-3][0-9])[Tt x]([0-2][0-9]):[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,2})?([Zz]|[+-][0-2][0-9]:[0-6][0-9]|)"),
        ("email", "([.]?[a-z]{1,3}[ .\u{e9}@\u{a0}\u{85}\u{1680}\u{feff}]?[a-z]{0,2}[.]?|[a-z]{0,2}\u{e9}{31,33})@[-]?[a-z\u{fc}]{1,3}[-_.]?[a-z]{0,3}[-.]?"),
        ("uri", "[a-z0-9+.]{0,3}:[a-z/%?#\\[\\]0-9A-F^ ]{0,6}"),
        ("uuid", "[0-9a-fA-G]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f-]{4}-[0-9a-fA-F]{11,13}"),
    ];
    for (format, strings) in near {
        let values = draw(
            proptest::string::string_regex(strings).expect("a regex"),
            3_000,
        );
        let (mismatches, flagged) = one_rule(json!({ "format": format }), values.clone());
        assert_same(&mismatches, 1, values.len());
        // Near the format: some values meet it, some do not.
        assert!(
            flagged > 100 && flagged < values.len() - 100,
            "{format}: {flagged} of {} refused",
            values.len()
        );
    }
}

#[test]
fn bounds_lengths_and_quoted_values_agree_at_their_edges() {
    let numbers: Vec<Value> = [
        -2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 1e21, -1e-7,
    ]
    .into_iter()
    .map(|n: f64| {
        if n.fract() == 0.0 && n.abs() < 1e15 {
            json!(n as i64)
        } else {
            json!(n)
        }
    })
    .collect();
    for bound in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
        for at in [json!(-1), json!(0), json!(1.5), json!(2)] {
            let (mismatches, flagged) =
                one_rule(json!({ bound: at, "type": "integer" }), numbers.clone());
            assert_same(&mismatches, 1, numbers.len());
            assert!(flagged > 0, "{bound} {at}");
        }
    }
    let texts = draw(
        proptest::string::string_regex("[a\u{e9}\u{1F600}\"\\\n]{35,45}").expect("a regex"),
        500,
    );
    for rule in [
        json!({ "maxLength": 40 }),
        json!({ "minLength": 41 }),
        json!({ "enum": ["x"] }),
    ] {
        let (mismatches, flagged) = one_rule(rule.clone(), texts.clone());
        assert_same(&mismatches, 1, texts.len());
        assert!(flagged > 0, "{rule}");
    }
}

#[test]
fn patterns_agree_at_their_edges() {
    // Where the `regex` crate and the page's RegExp read the same syntax
    // differently: Unicode letters, digits and spaces against ASCII ones,
    // line terminators for `.`, classes ECMA-262 reads literally.
    let patterns = [
        "^\\w+$",
        "\\W",
        "\\d",
        "^\\D+$",
        "\\s",
        "^\\S+$",
        "\\bx",
        "\\B.",
        "^.+$",
        "[\\w.]{2}",
        "[^\\s\\d]",
        "[[x]",
        "[x&&y]",
        "^x|y[]",
        "^[^]+$",
        "[\\b]",
    ];
    let texts = draw(
        proptest::string::string_regex(
            "[xyé_9\u{663}\u{2167} \t\r\n\u{85}\u{a0}\u{2028}\u{feff}\u{8}\\[&.]{0,4}",
        )
        .expect("a regex"),
        400,
    );
    for pattern in patterns {
        let (mismatches, flagged) = one_rule(
            json!({ "type": "string", "pattern": pattern }),
            texts.clone(),
        );
        assert_same(&mismatches, 1, texts.len());
        assert!(
            flagged > 0 && flagged < texts.len(),
            "{pattern}: {flagged} refused"
        );
    }
}
