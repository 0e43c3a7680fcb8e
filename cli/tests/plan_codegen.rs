//! `cairn plan codegen`: the generated code for the sample plan is the one
//! committed in examples/plans/generated (which the Rust, Kotlin, Python,
//! TypeScript and Swift suites compile and run), the shape of what each
//! language gets, and every refusal with a message naming the plan's path.

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_cli::plan::codegen::{generate, CodegenError, Lang, Options, Plan};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn options(lang: Lang, package: &str) -> Options {
    Options {
        package: (lang == Lang::Kotlin).then(|| package.to_string()),
    }
}

#[test]
fn the_committed_code_of_the_sample_plans_is_what_codegen_writes() {
    let mut stale = Vec::new();
    for (plan, dir, package) in [
        (
            "examples/plans/shop.json",
            "examples/plans/generated",
            "example.shop",
        ),
        (
            "examples/plans/edge-cases.json",
            "examples/plans/generated/edge",
            "example.edge",
        ),
    ] {
        let plan = Plan::from_json(&std::fs::read_to_string(root().join(plan)).unwrap()).unwrap();
        for lang in Lang::ALL {
            let path = root().join(dir).join(lang.file_name());
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if generate(&plan, lang, &options(lang, package)).unwrap() != committed {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run scripts/plan-codegen-examples.sh and commit the result"
    );
}

/// No Swift compiler exists here, so the Swift generator's calls into the
/// `Cairn` facade are checked against the facade's declarations instead:
/// when a signature it relies on changes, this fails.
#[test]
fn the_generated_swift_calls_the_swift_facade_as_it_is_declared() {
    let facade =
        std::fs::read_to_string(root().join("bindings/swift/Sources/Cairn/Cairn.swift")).unwrap();
    for declared in [
        "public func track(_ event: String, properties: [String: Any] = [:]) throws",
        "public func identify(_ userId: String, traits: [String: Any] = [:]) throws",
        "public func group(_ groupId: String, traits: [String: Any] = [:]) throws",
    ] {
        assert!(
            facade.contains(declared),
            "Cairn.swift no longer declares `{declared}`: update the Swift generator"
        );
    }
    let json_text =
        std::fs::read_to_string(root().join("bindings/swift/Sources/Cairn/JSONText.swift"))
            .unwrap();
    for handled in [
        "case is NSNull",
        "case let v as [String: Any]",
        "case let v as [Any]",
    ] {
        assert!(
            json_text.contains(handled),
            "JSONText.swift no longer has `{handled}`, which the generated Swift relies on"
        );
    }
    let generated =
        std::fs::read_to_string(root().join("examples/plans/generated/TrackingPlan.swift"))
            .unwrap();
    assert!(generated.contains("try self.cairn.track(\"Order Completed\", properties: properties)"));
    assert!(generated.contains("try self.cairn.track(\"Cart Viewed\")"));
    assert!(generated.contains("try self.cairn.identify(userId, traits: properties)"));
    assert!(generated.contains("try self.cairn.group(groupId, traits: properties)"));
    assert!(
        generated.contains("(referrer.map { e0 -> Any in e0 } ?? NSNull())"),
        "a required null is NSNull, not a removed key"
    );
}

#[test]
fn the_command_writes_to_out_or_standard_output_and_exits_2_on_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.py");
    let bin = env!("CARGO_BIN_EXE_cairn");
    let plan = root().join("examples/plans/shop.json");
    let status = Command::new(bin)
        .args(["plan", "codegen", "--lang", "python"])
        .arg(&plan)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("class TrackingPlan:"));

    let stdout = Command::new(bin)
        .args(["plan", "codegen", "--lang", "python"])
        .arg(&plan)
        .output()
        .unwrap();
    assert!(stdout.status.success());
    assert_eq!(String::from_utf8(stdout.stdout).unwrap(), written);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "x", "version": 1, "events": {"A": {"properties": {"type": "object", "properties": {"n": {"oneOf": []}}}}}}"#).unwrap();
    let refused = Command::new(bin)
        .args(["plan", "codegen", "--lang", "rust"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("events.\"A\".properties.n") && stderr.contains("\"oneOf\""),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());

    let help = Command::new(bin)
        .args(["plan", "codegen", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for l in [
        "rust",
        "kotlin",
        "swift",
        "python",
        "typescript",
        "--out",
        "--package",
    ] {
        assert!(help.contains(l), "--help names {l}: {help}");
    }
}

fn plan_with(properties: Value) -> String {
    json!({"id": "p", "version": "1", "events": {"E": {"properties": properties}}}).to_string()
}

fn refusal(text: &str) -> String {
    let err = Plan::from_json(text).map(|_| ()).expect_err("refused");
    err.to_string()
}

fn object(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

#[test]
fn what_cannot_be_typed_is_refused_with_its_path_and_what_to_change() {
    let cases: Vec<(String, &[&str])> = vec![
        (plan_with(object(json!({"n": {"anyOf": [{"type": "string"}]}}))), &["events.\"E\".properties.n", "\"anyOf\"", "not in the tracking-plan subset"]),
        (plan_with(object(json!({"n": {"type": "integer", "enum": [1, 2]}}))), &["events.\"E\".properties.n", "only string enums"]),
        (plan_with(object(json!({"n": {"type": "string", "enum": ["a", 2]}}))), &["events.\"E\".properties.n.enum", "2 is not a string"]),
        (plan_with(object(json!({"n": {"$ref": "#/properties/x"}}))), &["events.\"E\".properties.n", "not a local definition"]),
        (plan_with(object(json!({"n": {"$ref": "#/definitions/Missing"}}))), &["names no definition"]),
        (
            json!({"id": "p", "version": 1, "definitions": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}}}},
                   "events": {"E": {"properties": object(json!({"n": {"$ref": "#/definitions/Node"}}))}}})
            .to_string(),
            &["refers to itself", "recursive"],
        ),
        (plan_with(object(json!({"order_id": {"type": "string"}, "orderId": {"type": "string"}}))), &["order_id", "orderId", "would both become `order_id`"]),
        (plan_with(object(json!({"m": {"type": "string", "enum": ["Credit Card", "credit-card"]}}))), &["\"Credit Card\"", "\"credit-card\"", "`credit_card`"]),
        (plan_with(object(json!({"t": {"type": "array", "items": [{"type": "string"}]}}))), &["properties.t.items", "tuples"]),
        (plan_with(object(json!({"x": {"type": "strin"}}))), &["properties.x.type", "\"strin\" is not a JSON Schema type"]),
        (plan_with(json!({"type": "array"})), &["events.\"E\".properties", "must describe an object"]),
        (plan_with(json!({"type": "object", "required": ["a"], "properties": {}})), &["\"a\" is required but has no schema"]),
        (plan_with(object(json!({"€": {"type": "string"}}))), &["no ASCII letter or digit"]),
        (plan_with(object(json!({"to json": {"type": "string"}}))), &["to_json/toJson"]),
        (plan_with(object(json!({"s": {"type": "string", "$ref": "#/definitions/X"}}))), &["\"type\" next to \"$ref\""]),
        (plan_with(object(json!({"String": {"type": "object", "properties": {"a": {"type": "string"}}}}))), &[]),
        (json!({"id": "p", "version": 1, "events": {"Identify": {}}}).to_string(), &["wrapper's own `identify`"]),
        (json!({"id": "p", "version": 1, "events": {"Signed Up": {}, "signed-up": {}}}).to_string(), &["\"Signed Up\"", "\"signed-up\"", "`signed_up`"]),
        (
            json!({"id": "p", "version": 1, "events": {}, "identify": {"traits": object(json!({"userId": {"type": "string"}}))}}).to_string(),
            &["identify.traits.\"userId\"", "clash with the user_id parameter"],
        ),
        (json!({"version": 1, "events": {}}).to_string(), &["invalid plan at id"]),
        (json!({"id": "p", "events": {}}).to_string(), &["invalid plan at version"]),
        (json!({"id": "p", "version": 1}).to_string(), &["invalid plan at events"]),
        ("{\"id\": ".to_string(), &["not valid JSON (line 1"]),
    ];
    for (plan, expected) in cases {
        let message = match Plan::from_json(&plan) {
            // The one plan above that is fine: a property named like a std type
            // inside an event gets the event's prefix (`EString`).
            Ok(p) if expected.is_empty() => {
                assert_eq!(p.types[0].name(), "EString");
                continue;
            }
            Ok(_) => panic!("accepted: {plan}"),
            Err(e) => e.to_string(),
        };
        for want in expected {
            assert!(
                message.contains(want),
                "{plan}\n-> {message}\nshould mention {want}"
            );
        }
    }
}

#[test]
fn a_definition_named_like_a_type_the_code_uses_is_refused() {
    let plan = json!({"id": "p", "version": 1, "definitions": {"Value": {"type": "string", "enum": ["a"]}},
                      "events": {"E": {"properties": object(json!({"v": {"$ref": "#/definitions/Value"}}))}}});
    let message = refusal(&plan.to_string());
    assert!(
        message.contains("`Value`") && message.contains("rename"),
        "{message}"
    );
}

#[test]
fn package_applies_to_kotlin_only_and_must_be_a_package_name() {
    let plan = Plan::from_json(&plan_with(object(json!({})))).unwrap();
    let with = |p: &str| Options {
        package: Some(p.into()),
    };
    assert!(
        matches!(generate(&plan, Lang::Rust, &with("a.b")), Err(CodegenError::Option(m)) if m.contains("kotlin only"))
    );
    assert!(
        matches!(generate(&plan, Lang::Kotlin, &with("a.1b")), Err(CodegenError::Option(m)) if m.contains("not a Kotlin package"))
    );
    assert!(generate(&plan, Lang::Kotlin, &with("com.example.a_b"))
        .unwrap()
        .contains("package com.example.a_b\n"));
}

/// A plan whose names need every language's escaping.
fn awkward() -> Plan {
    let text = json!({
        "id": "it's \"odd\" $x \\ ü",
        "version": "2.1",
        "events": {
            "Class \"Joined\" $now \\ \u{1}": {
                "description": "Ends a comment */ or a docstring \"\"\" here.",
                "properties": {
                    "type": "object",
                    "required": ["class", "self", "in", "type"],
                    "properties": {
                        "class": {"type": "string"},
                        "self": {"type": "integer"},
                        "in": {"type": "boolean"},
                        "type": {"type": "string", "enum": ["default", "2fa", "self"]},
                        "properties": {"type": "array", "items": {"type": ["number", "null"]}},
                        "version": {"const": {"major": 1, "tags": ["a\"b"]}}
                    }
                }
            }
        }
    })
    .to_string();
    Plan::from_json(&text).unwrap()
}

#[test]
fn names_and_text_are_escaped_for_each_language() {
    let plan = awkward();
    let code = |lang| generate(&plan, lang, &Options::default()).unwrap();

    let rust = code(Lang::Rust);
    assert!(rust.contains("pub fn class_joined_now(&self, class: &str, r#in: bool, self_: i64, r#type: ClassJoinedNowType, options: ClassJoinedNowOptions)"), "{rust}");
    assert!(
        rust.contains(
            r#"self.client.track("Class \"Joined\" $now \\ \u{1}", Value::Object(properties_))"#
        ),
        "{rust}"
    );
    assert!(
        rust.contains("V2fa,") && rust.contains("Self_,") && rust.contains("Default,"),
        "{rust}"
    );
    assert!(rust.contains(r#"properties_.insert("version".into(), serde_json::json!({"major": 1, "tags": ["a\"b"]}));"#), "{rust}");
    assert!(
        rust.contains(
            "v.iter().map(|e| e.as_ref().map_or(Value::Null, |e| Value::from(*e))).collect()"
        ),
        "{rust}"
    );
    assert!(
        !rust.contains("*/ or"),
        "a description cannot end a comment"
    );

    let kotlin = code(Lang::Kotlin);
    assert!(
        kotlin.contains(r#"this.cairn.track("Class \"Joined\" \$now \\ \u0001", properties_)"#),
        "{kotlin}"
    );
    assert!(
        kotlin.contains("`class`: String,")
            && kotlin.contains("`in`: Boolean,")
            && kotlin.contains("_2FA(\"2fa\")"),
        "{kotlin}"
    );
    assert!(
        kotlin.contains("properties: List<Double?>? = null"),
        "{kotlin}"
    );

    let swift = code(Lang::Swift);
    assert!(swift.contains("public func classJoinedNow(`class`: String, `in`: Bool, `self`: Int, type: ClassJoinedNowType"), "{swift}");
    assert!(
        swift.contains("case `default` = \"default\"") && swift.contains("case v2fa = \"2fa\""),
        "{swift}"
    );
    assert!(
        swift.contains(
            r#"try self.cairn.track("Class \"Joined\" $now \\ \u{1}", properties: properties_)"#
        ),
        "{swift}"
    );
    assert!(
        swift.contains("value.map { e0 -> Any in (e0.map { e1 -> Any in e1 } ?? NSNull()) }"),
        "{swift}"
    );

    let python = code(Lang::Python);
    assert!(python.contains("        class_: str,\n        in_: bool,\n        self_: int,\n        type: ClassJoinedNowType,\n        *,\n"), "{python}");
    assert!(
        python.contains(r#"self.client.track("Class \"Joined\" $now \\ \x01", properties_)"#),
        "{python}"
    );
    assert!(
        python.contains(r#"PLAN_ID = "it's \"odd\" $x \\ ü""#),
        "{python}"
    );
    assert!(
        !python.contains("docstring \"\"\" here"),
        "a description cannot end a docstring"
    );

    let ts = code(Lang::Typescript);
    assert!(ts.contains("classJoinedNow(\n    class_: string,\n    in_: boolean,\n    self: number,\n    type: ClassJoinedNowType,"), "{ts}");
    assert!(
        ts.contains(r#"this.cairn.track('Class "Joined" $now \\ \u0001', properties_);"#),
        "{ts}"
    );
    assert!(ts.contains("properties?: (number | null)[];"), "{ts}");
    assert!(
        ts.contains("export const PLAN_ID = 'it\\'s \"odd\" $x \\\\ ü';"),
        "{ts}"
    );
}

#[test]
fn annotations_defs_and_false_schemas_are_read_as_the_core_reads_them() {
    let text = json!({
        "id": "p", "version": "1",
        "$defs": {"Tier": {"type": "string", "enum": ["free", "pro"], "default": "free", "examples": ["pro"]}},
        "events": {"E": {"policy": "drop", "properties": {
            "type": "object", "required": ["tier"],
            "properties": {
                "tier": {"$ref": "#/$defs/Tier", "deprecated": false},
                "legacy": false
            }
        }}}
    });
    let plan = Plan::from_json(&text.to_string()).unwrap();
    let call = &plan.calls[0];
    assert_eq!(
        call.fields
            .iter()
            .map(|f| f.key.as_str())
            .collect::<Vec<_>>(),
        ["tier"],
        "a `false` property is no parameter"
    );
    assert_eq!(plan.types[0].name(), "Tier");
    let required_false = json!({"id": "p", "version": 1, "events": {"E": {"properties": {"type": "object", "required": ["x"], "properties": {"x": false}}}}});
    assert!(refusal(&required_false.to_string()).contains("required, but its schema is `false`"));
}

#[test]
fn schemas_map_to_types_as_documented() {
    use cairn_cli::plan::codegen::model::Ty;
    let text = plan_with(json!({
        "type": "object",
        "required": ["name", "maybe", "level"],
        "properties": {
            "name": {"type": "string", "format": "email"},
            "maybe": {"type": ["integer", "null"]},
            "later": {"type": ["string", "null"]},
            "amount": {"type": ["integer", "number"]},
            "either": {"type": ["string", "boolean"]},
            "free": {},
            "level": {"enum": ["low", "high", null]},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "bag": {"type": "object"},
            "list": {"type": "array"},
            "fixed": {"const": 3}
        }
    }));
    let plan = Plan::from_json(&text).unwrap();
    let fields: Vec<(&str, &Ty, bool)> = plan.calls[0]
        .fields
        .iter()
        .map(|f| (f.key.as_str(), &f.ty, f.required))
        .collect();
    let nullable = |t: Ty| Ty::Nullable(Box::new(t));
    assert_eq!(
        fields,
        [
            ("level", &nullable(Ty::Named(0)), true),
            ("maybe", &nullable(Ty::Integer), true),
            ("name", &Ty::String, true),
            ("amount", &Ty::Number, false),
            ("bag", &Ty::Map(Box::new(Ty::Json)), false),
            ("counts", &Ty::Map(Box::new(Ty::Integer)), false),
            ("either", &Ty::Json, false),
            ("fixed", &Ty::Integer, false),
            ("free", &Ty::Json, false),
            // An optional nullable property is simply optional: left out when not given.
            ("later", &Ty::String, false),
            ("list", &Ty::Array(Box::new(Ty::Json)), false),
        ]
    );
    assert_eq!(
        plan.calls[0]
            .fields
            .iter()
            .find(|f| f.key == "fixed")
            .unwrap()
            .constant,
        Some(json!(3))
    );
    assert_eq!(plan.types[0].name(), "ELevel");
}

#[test]
fn a_plan_without_properties_imports_only_what_it_uses() {
    let plan = Plan::from_json(
        &json!({"id": "p", "version": 1, "events": {"App Opened": {}}}).to_string(),
    )
    .unwrap();
    let rust = generate(&plan, Lang::Rust, &Options::default()).unwrap();
    assert!(
        rust.contains("use serde_json::Value;\n") && !rust.contains("Map"),
        "{rust}"
    );
    assert!(
        rust.contains("self.client.track(\"App Opened\", Value::Null)"),
        "{rust}"
    );
    let ts = generate(&plan, Lang::Typescript, &Options::default()).unwrap();
    assert!(
        ts.contains("import type { Cairn } from 'cairn-web';")
            && ts.contains("this.cairn.track('App Opened');"),
        "{ts}"
    );
    let kotlin = generate(&plan, Lang::Kotlin, &Options::default()).unwrap();
    assert!(
        kotlin.contains("this.cairn.track(\"App Opened\", emptyMap())"),
        "{kotlin}"
    );
}

#[test]
fn a_shared_definition_is_one_type_and_scalar_definitions_are_inlined() {
    let text = json!({
        "id": "p", "version": 1,
        "definitions": {
            "Money": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}},
            "Email": {"type": "string", "format": "email"}
        },
        "events": {
            "A": {"properties": object(json!({"price": {"$ref": "#/definitions/Money"}, "contact": {"$ref": "#/definitions/Email"}}))},
            "B": {"properties": object(json!({"refund": {"$ref": "#/definitions/Money"}}))}
        }
    });
    let plan = Plan::from_json(&text.to_string()).unwrap();
    let names: Vec<&str> = plan.types.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["Money"]);
    let python = generate(&plan, Lang::Python, &Options::default()).unwrap();
    assert!(python.contains("contact: Optional[str] = None"), "{python}");
}
