//! The plan's keywords, each accepted (a value that meets it passes, one
//! that breaks it gives a violation naming its path) and each misuse
//! refused at load with the JSON Pointer of where it is.

use super::*;
use serde_json::json;

/// A plan with one event `E` whose properties schema is `props`.
fn plan_with(props: serde_json::Value) -> Result<TrackingPlan, PlanError> {
    let plan = json!({ "id": "t", "version": 1, "events": { "E": { "properties": props } } });
    TrackingPlan::parse(&plan.to_string())
}

fn object_of(v: serde_json::Value) -> Object {
    Json::from(&v).as_object().cloned().unwrap()
}

fn texts(verdict: Verdict) -> Vec<String> {
    verdict
        .violations
        .iter()
        .map(|v| cat!(v.text(), " (", v.rule, ")"))
        .collect()
}

/// The violations of `track("E", props)` as `path: message (rule)`,
/// judged both ways, which must agree: on a view of the object, and in one
/// pass over the call's JSON text (plan/walk.rs).
fn track(plan: &TrackingPlan, props: serde_json::Value) -> Vec<String> {
    let by_view = texts(plan.check(
        EventKind::Track,
        Some("E"),
        Some(&object_of(props.clone())),
        None,
    ));
    let raw = crate::model::object_from_value("properties", &props).expect("a valid payload");
    let call = Call::track("E", raw, 1_800_000_000_000).expect("a valid call");
    let by_text = texts(plan.check_call(&call, None));
    assert_eq!(
        by_text, by_view,
        "the pass over the text and the view disagree on {props}"
    );
    by_view
}

/// A keyword's case: its schema for property `x`, values that pass, and
/// values that fail with the message expected.
type KeywordCase = (
    serde_json::Value,
    Vec<serde_json::Value>,
    Vec<(serde_json::Value, &'static str)>,
);

#[test]
fn every_keyword_accepts_and_flags_with_the_path() {
    let cases: Vec<KeywordCase> = vec![
        (json!({"type": "number"}), vec![json!(9.99), json!(3)],
            vec![(json!("9.99"), "properties.x: expected number, got string \"9.99\" (type)")]),
        (json!({"type": "integer"}), vec![json!(3), json!(3.0), json!(-0)],
            vec![(json!(3.5), "properties.x: expected integer, got number 3.5 (type)")]),
        (json!({"type": ["string", "null"]}), vec![json!("a"), json!(null)],
            vec![(json!(true), "properties.x: expected null or string, got boolean true (type)")]),
        (json!({"type": "boolean"}), vec![json!(false)],
            vec![(json!(0), "properties.x: expected boolean, got number 0 (type)")]),
        (json!({"type": "array"}), vec![json!([])],
            vec![(json!({}), "properties.x: expected array, got object (type)")]),
        (json!({"type": "object"}), vec![json!({"a": 1})],
            vec![(json!([1, 2]), "properties.x: expected object, got array of 2 (type)")]),
        (json!({"enum": ["free", "pro", 1]}), vec![json!("pro"), json!(1.0)],
            vec![(json!("gold"), "properties.x: expected one of \"free\", \"pro\", 1, got string \"gold\" (enum)")]),
        (json!({"const": "web"}), vec![json!("web")],
            vec![(json!("ios"), "properties.x: expected \"web\", got string \"ios\" (const)")]),
        (json!({"minimum": 0}), vec![json!(0), json!(0.1), json!("not a number")],
            vec![(json!(-0.5), "properties.x: expected at least 0, got number -0.5 (minimum)")]),
        (json!({"maximum": 10.5}), vec![json!(10.5), json!(-1)],
            vec![(json!(10.50001), "properties.x: expected at most 10.5, got number 10.50001 (maximum)")]),
        (json!({"exclusiveMinimum": 0}), vec![json!(1e-9)],
            vec![(json!(0), "properties.x: expected more than 0, got number 0 (exclusiveMinimum)")]),
        (json!({"exclusiveMaximum": 100}), vec![json!(99.999)],
            vec![(json!(100), "properties.x: expected less than 100, got number 100 (exclusiveMaximum)")]),
        (json!({"minLength": 2}), vec![json!("ab"), json!("éé")],
            vec![(json!("é"), "properties.x: expected at least 2 characters, got 1 (minLength)")]),
        (json!({"maxLength": 3}), vec![json!("abc"), json!("😀😀😀")],
            vec![(json!("abcd"), "properties.x: expected at most 3 characters, got 4 (maxLength)")]),
        (json!({"pattern": "^SKU-[0-9]{4}$"}), vec![json!("SKU-0042")],
            vec![(json!("sku-42"), "properties.x: expected to match ^SKU-[0-9]{4}$, got string \"sku-42\" (pattern)")]),
        (json!({"pattern": "[0-9]"}), vec![json!("unanchored 7 matches")],
            vec![(json!("none"), "properties.x: expected to match [0-9], got string \"none\" (pattern)")]),
        (json!({"format": "date-time"}), vec![json!("2026-12-03T14:05:00Z")],
            vec![(json!("yesterday"), "properties.x: expected a date-time (RFC 3339, e.g. \"2026-12-03T14:05:00Z\"), got string \"yesterday\" (format)")]),
        (json!({"format": "email"}), vec![json!("ada@example.com")],
            vec![(json!("ada"), "properties.x: expected an email address (e.g. \"ada@example.com\"), got string \"ada\" (format)")]),
        (json!({"format": "uri"}), vec![json!("https://example.com")],
            vec![(json!("example.com"), "properties.x: expected an absolute URI (e.g. \"https://example.com/a\"), got string \"example.com\" (format)")]),
        (json!({"format": "uuid"}), vec![json!("123e4567-e89b-12d3-a456-426614174000")],
            vec![(json!("123"), "properties.x: expected a UUID (e.g. \"123e4567-e89b-12d3-a456-426614174000\"), got string \"123\" (format)")]),
        (json!({"items": {"type": "string"}}), vec![json!(["a", "b"]), json!([])],
            vec![(json!(["a", 2]), "properties.x[1]: expected string, got number 2 (type)")]),
        (json!({"minItems": 1}), vec![json!([1])],
            vec![(json!([]), "properties.x: expected at least 1 items, got 0 (minItems)")]),
        (json!({"maxItems": 1}), vec![json!([1])],
            vec![(json!([1, 2]), "properties.x: expected at most 1 items, got 2 (maxItems)")]),
        (json!({"properties": {"sku": {"type": "string"}}, "required": ["sku"]}), vec![json!({"sku": "a", "other": 1})],
            vec![(json!({"sku": 1}), "properties.x.sku: expected string, got number 1 (type)"),
                 (json!({}), "properties.x.sku: required by the plan, missing (required)")]),
        (json!({"properties": {"a": {}}, "additionalProperties": false}), vec![json!({"a": 1})],
            vec![(json!({"a": 1, "b c": 2}), "properties.x[\"b c\"]: not in the tracking plan (additionalProperties)")]),
        (json!({"additionalProperties": {"type": "number"}}), vec![json!({"n": 1})],
            vec![(json!({"n": "1"}), "properties.x.n: expected number, got string \"1\" (type)")]),
        (json!(false), vec![],
            vec![(json!(1), "properties.x: the plan allows no value here, got number 1 (false)")]),
        (json!({"$ref": "#/definitions/money", "title": "t", "description": "d", "examples": [1]}), vec![json!(1.5)],
            vec![(json!(-1), "properties.x: expected at least 0, got number -1 (minimum)")]),
    ];
    for (schema, good, bad) in cases {
        let mut plan = json!({ "id": "t", "version": 1,
            "definitions": { "money": { "type": "number", "minimum": 0 } },
            "events": { "E": { "properties": { "properties": { "x": schema.clone() } } } } });
        let plan = TrackingPlan::parse(&plan.take().to_string())
            .unwrap_or_else(|e| panic!("{schema}: {e}"));
        for v in good {
            assert_eq!(
                track(&plan, json!({ "x": v })),
                Vec::<String>::new(),
                "{schema} should pass {v}"
            );
        }
        for (v, want) in bad {
            let got = track(&plan, json!({ "x": v }));
            assert_eq!(got, vec![want], "{schema} on {v}");
        }
    }
}

#[test]
fn the_keyword_list_in_messages_is_the_enforced_one() {
    assert_eq!(schema::KEYWORDS_TEXT, KEYWORDS.join(", "));
}

#[test]
fn numbers_compare_exactly_beyond_a_float() {
    let plan = plan_with(json!({"properties": {"id": {"maximum": 9007199254740992u64}}})).unwrap();
    let props: Object = crate::json::parse(r#"{"id": 9007199254740993}"#)
        .unwrap()
        .as_object()
        .cloned()
        .unwrap();
    let v = plan.check(EventKind::Track, Some("E"), Some(&props), None);
    assert_eq!(v.violations[0].rule, "maximum", "{v:?}");
}

#[test]
fn every_misuse_is_refused_at_load_naming_where() {
    let cases = [
        (json!({"type": "object", "properties": {"x": {"type": "number", "multipleOf": 2}}}),
         "at /events/E/properties/properties/x/multipleOf: unsupported keyword `multipleOf`"),
        (json!({"oneOf": []}), "at /events/E/properties/oneOf: unsupported keyword `oneOf`"),
        (json!({"type": "float"}), "at /events/E/properties/type: unknown type \"float\""),
        (json!({"type": []}), "at /events/E/properties/type: `type` must be a type name or a non-empty list"),
        (json!({"required": "sku"}), "at /events/E/properties/required: `required` must be an array"),
        (json!({"required": [1]}), "at /events/E/properties/required: `required` lists property names"),
        (json!({"properties": []}), "at /events/E/properties/properties: `properties` must be an object"),
        (json!({"properties": {"x": 3}}), "at /events/E/properties/properties/x: a schema must be a JSON object"),
        (json!({"additionalProperties": "no"}), "at /events/E/properties/additionalProperties: a schema must be a JSON object"),
        (json!({"enum": []}), "at /events/E/properties/enum: `enum` must be a non-empty array"),
        (json!({"minimum": "0"}), "at /events/E/properties/minimum: expected a number, got a string"),
        (json!({"maximum": null}), "at /events/E/properties/maximum: expected a number"),
        (json!({"exclusiveMinimum": true}), "at /events/E/properties/exclusiveMinimum: expected a number, got a boolean (JSON Schema draft 4"),
        (json!({"exclusiveMaximum": "1"}), "at /events/E/properties/exclusiveMaximum: expected a number"),
        (json!({"minLength": -1}), "at /events/E/properties/minLength: expected a whole number of at least 0, got -1"),
        (json!({"maxLength": 1.5}), "at /events/E/properties/maxLength: expected a whole number"),
        (json!({"minItems": "1"}), "at /events/E/properties/minItems: expected a whole number"),
        (json!({"maxItems": -2}), "at /events/E/properties/maxItems: expected a whole number"),
        (json!({"pattern": "("}), "at /events/E/properties/pattern: the pattern does not compile"),
        (json!({"pattern": 5}), "at /events/E/properties/pattern: `pattern` must be a string"),
        (json!({"format": "ipv4"}), "at /events/E/properties/format: unsupported format \"ipv4\""),
        (json!({"items": [{"type": "string"}]}), "at /events/E/properties/items: `items` as a list"),
        (json!({"$ref": "#/definitions/nope"}), "at /events/E/properties/$ref: `$ref` \"#/definitions/nope\" names no definition"),
        (json!({"$ref": "other.json#/x"}), "at /events/E/properties/$ref: `$ref` \"other.json#/x\" names no definition"),
        (json!({"properties": {"x": {"definitions": {}}}}), "at /events/E/properties/properties/x/definitions: `definitions` are read at the top"),
        (json!({"properties": {"a/b~": {"if": {}}}}), "at /events/E/properties/properties/a~1b~0/if: unsupported keyword `if`"),
    ];
    for (schema, want) in cases {
        let e = plan_with(schema.clone())
            .expect_err(&schema.to_string())
            .text();
        assert!(e.starts_with(want), "{schema}: {e}");
    }
}

#[test]
fn plan_level_mistakes_are_refused() {
    for (plan, want) in [
        ("[]", "a tracking plan must be a JSON object, got an array"),
        (
            "{\"id\": ",
            "the tracking plan is not valid JSON (EOF while parsing",
        ),
        (r#"{"version": 1}"#, "at /id: a tracking plan needs an `id`"),
        (
            r#"{"id": "t", "version": true}"#,
            "at /version: `version` must be a string or a number",
        ),
        (
            r#"{"id": "t", "unplanned": "block"}"#,
            "at /unplanned: `unplanned` must be \"allow\", \"flag\" or \"drop\", got \"block\"",
        ),
        (
            r#"{"id": "t", "policy": "warn"}"#,
            "at /policy: `policy` must be \"flag\", \"strip\" or \"drop\"",
        ),
        (
            r#"{"id": "t", "event": {}}"#,
            "at /event: unsupported key `event` in a tracking plan",
        ),
        (
            r#"{"id": "t", "events": {"E": {"props": {}}}}"#,
            "at /events/E/props: unsupported key `props` in an event",
        ),
        (
            r#"{"id": "t", "events": {"E": {"policy": "skip"}}}"#,
            "at /events/E/policy: `policy` must be",
        ),
        (
            r#"{"id": "t", "events": []}"#,
            "at /events: `events` must be a JSON object",
        ),
        (
            r#"{"id": "t", "identify": {"properties": {}}}"#,
            "at /identify/properties: unsupported key `properties` in `identify`",
        ),
        (
            r##"{"id": "t", "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}}"##,
            "at /definitions/a: this definition refers to itself",
        ),
        (
            r#"{"id": "t", "definitions": {"a": {}}, "$defs": {"a": {}}}"#,
            "at /$defs/a: a second definition named \"a\"",
        ),
    ] {
        let e = TrackingPlan::parse(plan).expect_err(plan).text();
        assert!(e.starts_with(want), "{plan}: {e}");
    }
}

fn shop() -> TrackingPlan {
    TrackingPlan::parse(&json!({
        "id": "shop", "version": "3", "unplanned": "flag",
        "events": {
            "Order Completed": { "version": 2, "properties": {
                "type": "object", "required": ["total"],
                "properties": { "total": {"type": "number"}, "coupon": {"type": "string"},
                                "item": {"type": "object", "properties": {"sku": {"type": "string"}}} } } },
            "Cart Viewed": { "policy": "strip", "properties": {
                "properties": { "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}} } } },
            "Signed Out": { "policy": "drop", "properties": { "additionalProperties": false } },
            "Upgraded": { "traits": { "required": ["plan"] } }
        },
        "identify": { "traits": { "properties": { "email": { "format": "email" } } } },
        "group": { "traits": { "properties": { "seats": { "type": "integer", "minimum": 1 } } } }
    }).to_string()).unwrap()
}

#[test]
fn policies_decide_what_is_kept() {
    let plan = shop();
    let v = plan.check(
        EventKind::Track,
        Some("Order Completed"),
        Some(&object_of(json!({"total": "9.99"}))),
        None,
    );
    assert!(!v.drop && v.replaced.is_none());
    assert_eq!(
        v.violations[0].text(),
        "properties.total: expected number, got string \"9.99\""
    );

    let v = plan.check(
        EventKind::Track,
        Some("Signed Out"),
        Some(&object_of(json!({"why": "bored"}))),
        None,
    );
    assert!(v.drop);
    assert_eq!(
        v.violations[0].text(),
        "properties.why: not in the tracking plan"
    );
    assert!(plan
        .check(EventKind::Track, Some("Signed Out"), None, None)
        .is_clean());

    let v = plan.check(
        EventKind::Track,
        Some("Cart Viewed"),
        Some(&object_of(
            json!({"items": [{"sku": "a", "price": 1}], "debug": true}),
        )),
        None,
    );
    assert!(!v.drop);
    assert_eq!(
        v.replaced,
        Some(object_of(json!({"items": [{"sku": "a"}]})))
    );
    let texts: Vec<_> = v.violations.iter().map(Violation::text).collect();
    assert_eq!(
        texts,
        [
            "properties.items[0].price: not in the tracking plan; removed",
            "properties.debug: not in the tracking plan; removed"
        ]
    );
    let v = plan.check(
        EventKind::Track,
        Some("Cart Viewed"),
        Some(&object_of(json!({"items": []}))),
        None,
    );
    assert!(v.is_clean() && v.replaced.is_none());
}

#[test]
fn unplanned_events_allow_flag_drop() {
    for (unplanned, drop, flagged) in [
        ("allow", false, false),
        ("flag", false, true),
        ("drop", true, true),
    ] {
        let plan = TrackingPlan::parse(
            &json!({"id": "p", "unplanned": unplanned, "events": {}}).to_string(),
        )
        .unwrap();
        assert_eq!(plan.unplanned().name(), unplanned);
        let v = plan.check(EventKind::Track, Some("Surprise"), None, None);
        assert_eq!((v.drop, !v.is_clean()), (drop, flagged), "{unplanned}");
        if flagged {
            assert_eq!(v.violations[0].rule, "unplanned");
            assert_eq!(
                v.violations[0].message,
                "event \"Surprise\" is not in tracking plan p"
            );
        }
        // Screens, pages and aliases are not planned.
        assert!(plan
            .check(EventKind::Screen, Some("Home"), None, None)
            .is_clean());
    }
}

#[test]
fn identify_group_and_event_traits() {
    let plan = shop();
    let v = plan.check(
        EventKind::Identify,
        None,
        Some(&object_of(json!({"email": "nope"}))),
        None,
    );
    assert_eq!(v.violations[0].path, "traits.email");
    let v = plan.check(
        EventKind::Group,
        None,
        Some(&object_of(json!({"seats": 0}))),
        None,
    );
    assert_eq!(
        v.violations[0].text(),
        "traits.seats: expected at least 1, got number 0"
    );
    let v = plan.check(
        EventKind::Track,
        Some("Upgraded"),
        None,
        Some(&object_of(json!({"name": "Ada"}))),
    );
    assert_eq!(
        v.violations[0].text(),
        "traits.plan: required by the plan, missing"
    );
    assert!(plan
        .check(
            EventKind::Track,
            Some("Upgraded"),
            None,
            Some(&object_of(json!({"plan": "pro"})))
        )
        .is_clean());
    assert!(
        plan.check(EventKind::Track, Some("Upgraded"), None, None)
            .is_clean(),
        "traits not known: not checked"
    );
}

#[test]
fn the_stamp_and_summary() {
    let plan = shop();
    assert_eq!(plan.stamp(), r#"{"id":"shop","version":"3"}"#);
    let names: Vec<_> = plan
        .events()
        .map(|e| (e.name, e.policy.name(), e.properties, e.required))
        .collect();
    assert_eq!(
        names,
        [
            ("Cart Viewed", "strip", 1, 0),
            ("Order Completed", "flag", 3, 1),
            ("Signed Out", "drop", 0, 0),
            ("Upgraded", "flag", 0, 0)
        ]
    );
    let long = "x".repeat(100);
    let v = plan.check(
        EventKind::Track,
        Some("Order Completed"),
        Some(&object_of(json!({"total": long}))),
        None,
    );
    assert!(
        v.violations[0]
            .message
            .ends_with(&cat!("\"", "x".repeat(40), "\"…")),
        "{}",
        v.violations[0].message
    );
}

/// A schema using every keyword the one-pass check handles itself or hands
/// to the view (`false`, `$ref`, `enum` and `const` of containers, a wrong
/// container type), for the differential test below.
fn rich() -> TrackingPlan {
    let plan = json!({ "id": "t", "version": 1,
        "definitions": { "tag": { "type": "array", "items": { "type": "string", "maxLength": 3 } } },
        "events": { "E": { "properties": {
            "type": "object", "required": ["sku", "price", "nested"],
            "properties": {
                "sku": { "type": "string", "pattern": "^SKU-[0-9]{4}$", "minLength": 2 },
                "price": { "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 3 },
                "items": { "type": "array", "minItems": 1, "maxItems": 2,
                           "items": { "type": "integer", "minimum": 0 } },
                "nested": { "type": "object", "required": ["a", "é"],
                            "properties": { "a": { "enum": ["games", "x", [1, 2]] },
                                            "b": { "const": { "a": 1 } } },
                            "additionalProperties": false },
                "tags": { "$ref": "#/definitions/tag" },
                "c": false,
                "x\"y": { "type": "boolean" }
            },
            "additionalProperties": { "type": ["string", "integer", "array"], "items": { "type": "string" } }
        } } } });
    TrackingPlan::parse(&plan.to_string()).expect("the rich plan")
}

fn payload() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let keys = prop::sample::select(vec![
        "a", "b", "c", "é", "sku", "price", "items", "nested", "tags", "x\"y", "z",
    ]);
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        (-3i64..5).prop_map(|n| json!(n)),
        prop::sample::select(vec![0.5, 2.5, 3.0, 3.5, -0.1]).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "",
            "SKU-0001",
            "SKU-1",
            "games",
            "x",
            "abcd",
            "q\"\\\u{e9}\n"
        ])
        .prop_map(|s| json!(s)),
    ];
    let value = leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    });
    let keys = prop::sample::select(vec![
        "a", "c", "é", "sku", "price", "items", "nested", "tags", "x\"y", "z",
    ]);
    prop::collection::btree_map(keys.prop_map(String::from), value, 0..6)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(4_000))]

    /// The one pass over a call's text and the view of its object give the
    /// same violations, in the same order, whatever the payload.
    #[test]
    fn the_pass_over_the_text_agrees_with_the_view(props in payload()) {
        let plan = rich();
        track(&plan, props);
    }
}

/// Text that is not in cairn's order (keys unsorted, or repeated) is judged
/// on the view, which sorts and keeps the last: the same verdict as the
/// object's.
#[test]
fn text_out_of_order_is_judged_on_the_view() {
    let plan = rich();
    let schema = plan.event("E").and_then(|e| e.properties.as_ref()).unwrap();
    for text in [
        r#"{"sku":"SKU-1","price":9,"nested":{"a":"x","é":1}}"#,
        r#"{"nested":{"a":"x","é":1},"price":1,"price":9,"sku":"SKU-0001"}"#,
    ] {
        let mut walked = Vec::new();
        assert!(schema
            .walk_root(&plan.definitions, text, "properties", &mut walked)
            .is_none());
        assert!(walked.is_empty(), "nothing is added when the pass gives up");
        let mut viewed = Vec::new();
        let view = View::parse(text).unwrap();
        schema.check_root(&plan.definitions, &view, "properties", &mut viewed);
        let got = plan.judge(EventKind::Track, Some("E"), Some(Payload::Text(text)), None);
        assert_eq!(got.violations, viewed, "{text}");
        assert!(
            !viewed.is_empty(),
            "{text}: the price breaks the plan either way"
        );
    }
}
