//! Differential property tests of the tracking plan's hand-written parts
//! (the browser build ships them): exact decimal comparison (`minimum`,
//! `maximum`, `exclusive*`, `enum` of numbers) against `f64` ordering, the
//! `uuid` and `date-time` formats against the `uuid` and `chrono` crates,
//! and the borrowed payload reader against `cairn::json`'s parser (a call
//! judged from its JSON text gets exactly the verdict of the same payload
//! judged as a parsed object).
//!
//! Oracles, and where cairn deliberately differs:
//! - numbers: two `f64`s written in their shortest round-trip form compare
//!   as the floats do (distinct floats have disjoint rounding intervals), so
//!   f64 order is the oracle for such texts;
//! - `uuid`: the `uuid` crate also reads the simple, braced and URN forms;
//!   a plan's `uuid` is the hyphenated form only, so the oracle is
//!   `Uuid::try_parse` on 36-character strings;
//! - `date-time`: `chrono`'s RFC 3339 parser, on strings built from random
//!   fields in and out of range (chrono reads a leap second as `:60` too).
//! - `uri`: `fluent-uri`, a strict RFC 3986 parser. cairn's `uri` checks
//!   the scheme and that every character is one RFC 3986 allows in a URI
//!   (percent escapes whole), not where each may stand: it never refuses
//!   a URI `fluent-uri` reads, and passes a few it refuses (a second `#`,
//!   an unclosed `[`, a port that is not a number: docs/tracking-plans.md).
//! - `email`: `email_address` (RFC 5322's addr-spec, with RFC 6531's
//!   UTF-8). cairn's `email` is an address as people type them: it refuses
//!   quoted local parts with spaces, domain literals (`a@[1.2.3.4]`) and
//!   `_` in a domain, and passes a local part with RFC 5322's specials
//!   (`a(b)@x.com`) or two dots in a row; every other verdict is the same.
//!
//! `CAIRN_PROPTEST_CASES=200000 cargo test --release -p cairn --test plan_differential`

use cairn::json::{self, Json};
use cairn::model::{object_from_value, Call, EventKind};
use cairn::plan::TrackingPlan;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Value};

mod common;
use common::config;

fn plan_for(x: Value) -> TrackingPlan {
    TrackingPlan::parse(
        &json!({"id": "d", "events": {"E": {"properties": {"properties": {"x": x}}}}}).to_string(),
    )
    .expect("a valid plan")
}

/// The rules `x` breaks when it is `value` (written as JSON text).
fn rules(plan: &TrackingPlan, value_text: &str) -> Vec<String> {
    let props = json::parse(&format!("{{\"x\":{value_text}}}")).expect("valid JSON");
    plan.check(EventKind::Track, Some("E"), props.as_object(), None)
        .violations
        .into_iter()
        .map(|v| v.rule)
        .collect()
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64 / 100.0),
        (-50i64..50).prop_map(|i| i as f64),
    ]
}

/// `f` as JSON text in one of the spellings a sender may use.
fn spell(f: f64, style: u8) -> String {
    match style % 3 {
        0 => format!("{f:?}"),
        1 => format!("{f:e}"),
        _ => format!("{f:E}"),
    }
}

proptest! {
    #![proptest_config(config(4_000))]

    #[test]
    fn bounds_compare_as_floats(bound in finite(), value in finite(), s1 in 0u8..3, s2 in 0u8..3) {
        let (b, v) = (spell(bound, s1), spell(value, s2));
        let b_json: Value = serde_json::from_str(&b).expect("a number");
        for (keyword, broken) in [
            ("minimum", value < bound),
            ("maximum", value > bound),
            ("exclusiveMinimum", value <= bound),
            ("exclusiveMaximum", value >= bound),
        ] {
            let plan = plan_for(json!({ keyword: b_json.clone() }));
            let got = rules(&plan, &v);
            prop_assert_eq!(got.contains(&keyword.to_string()), broken, "{} {} against {}", keyword, v, b);
        }
        let plan = plan_for(json!({ "enum": [b_json] }));
        prop_assert_eq!(rules(&plan, &v).is_empty(), value == bound, "enum [{}] against {}", b, v);
        let plan = plan_for(json!({ "type": "integer" }));
        prop_assert_eq!(rules(&plan, &v).is_empty(), value.fract() == 0.0, "integer {}", v);
    }

    #[test]
    fn uuid_format_is_the_hyphenated_uuid(
        s in prop_oneof![
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string()),
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).hyphenated().to_string().to_uppercase()),
            "[0-9a-fA-F-]{30,40}",
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).simple().to_string()),
        ]
    ) {
        let plan = plan_for(json!({ "format": "uuid" }));
        let oracle = s.len() == 36 && uuid::Uuid::try_parse(&s).is_ok();
        prop_assert_eq!(rules(&plan, &Value::from(s.clone()).to_string()).is_empty(), oracle, "{}", s);
    }

    #[test]
    fn date_time_format_is_rfc_3339(
        y in 0u32..10_000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62, sec in 0u32..62,
        frac in proptest::option::of(0u32..1_000_000), sep in prop::sample::select(vec!["T", "t", " "]),
        zone in prop::sample::select(vec!["Z", "z", "+00:00", "-05:30", "+23:59", "+24:00", "-00:60", ""]),
    ) {
        let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
        let s = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{sec:02}{frac}{zone}");
        let plan = plan_for(json!({ "format": "date-time" }));
        let oracle = chrono::DateTime::parse_from_rfc3339(&s).is_ok();
        prop_assert_eq!(rules(&plan, &Value::from(s.clone()).to_string()).is_empty(), oracle, "{}", s);
    }

    #[test]
    fn judged_from_text_as_from_a_parsed_object(
        x in prop_oneof![
            any::<i64>().prop_map(Value::from),
            finite().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            prop::collection::vec("[a-z\"\\\\é😀]{0,6}", 0..4).prop_map(|v| json!(v)),
        ],
        extra in prop::collection::btree_map("[a-z\"\\\\ é😀]{1,6}", any::<i32>(), 0..5),
    ) {
        let plan = TrackingPlan::parse(&json!({"id": "d", "events": {"E": {"properties": {
            "required": ["x", "y"],
            "properties": {
                "x": {"type": ["string", "integer"], "minLength": 2, "maxLength": 5, "minimum": 0, "maximum": 1000, "pattern": "^[a-z]"},
                "a": {"enum": [1, 2, 3]}
            },
            "additionalProperties": {"type": "integer", "exclusiveMaximum": 1000}}}}}).to_string()).expect("plan");
        let mut props = serde_json::Map::new();
        props.insert("x".into(), x);
        for (k, v) in extra {
            props.insert(k, Value::from(v));
        }
        let value = Value::Object(props);
        let text = object_from_value("properties", &value).expect("an object");
        let call = Call::track("E", text.clone(), 0).expect("a call");
        let from_text = plan.check_call(&call, None);
        let parsed = match text.map(|t| json::parse(t.get()).expect("valid")) {
            Some(Json::Object(o)) => Some(o),
            _ => None,
        };
        let from_object = plan.check(EventKind::Track, Some("E"), parsed.as_ref(), None);
        prop_assert_eq!(from_text, from_object, "{}", value);
    }
}

/// URI-like strings: a scheme (or something that is not one), maybe an
/// authority, and pieces RFC 3986 allows in some places and not others.
fn uri_like() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "http", "https", "urn", "a+b.c-d", "x", "1x", "", "h t", "é",
    ]);
    let piece = prop::sample::select(vec![
        "a",
        "B9",
        "-",
        ".",
        "_",
        "~",
        "%41",
        "%4",
        "%zz",
        ":",
        "@",
        "!",
        "$",
        "&",
        "'",
        "(",
        ")",
        "*",
        "+",
        ",",
        ";",
        "=",
        "/",
        "//",
        "?",
        "#",
        "[",
        "]",
        "[::1]",
        "[v1.x]",
        "[1:2:3:4:5:6:7:8]",
        "[::ffff:1.2.3.4]",
        "127.0.0.1",
        ":80",
        ":x",
        " ",
        "\"",
        "{",
        "|",
        "^",
        "`",
        "é",
        "\\",
        "<",
    ]);
    (scheme, any::<bool>(), prop::collection::vec(piece, 0..7)).prop_map(
        |(s, authority, pieces)| {
            format!(
                "{s}:{}{}",
                if authority { "//" } else { "" },
                pieces.concat()
            )
        },
    )
}

/// Strings drawn from `strings` (`config(20_000)` of them), each with
/// whether the plan's `format` passes it and whether `oracle` does.
fn format_verdicts(
    format: &str,
    strings: impl Strategy<Value = String>,
    oracle: impl Fn(&str) -> bool,
) -> Vec<(String, bool, bool)> {
    let plan = plan_for(json!({ "format": format }));
    let mut runner = proptest::test_runner::TestRunner::new(config(20_000));
    (0..runner.config().cases)
        .map(|_| {
            let s = strings.new_tree(&mut runner).expect("a case").current();
            let cairn = rules(&plan, &Value::from(s.clone()).to_string()).is_empty();
            let by_oracle = oracle(&s);
            (s, cairn, by_oracle)
        })
        .collect()
}

#[test]
fn uri_format_refuses_no_uri_rfc_3986_accepts() {
    let verdicts = format_verdicts("uri", uri_like(), |s| fluent_uri::Uri::parse(s).is_ok());
    let (mut valid, mut loose) = (0, 0);
    for &(ref s, cairn, rfc) in &verdicts {
        assert!(cairn || !rfc, "{s:?} is an RFC 3986 URI, refused");
        valid += usize::from(rfc);
        loose += usize::from(cairn && !rfc);
    }
    let cases = verdicts.len();
    eprintln!("{valid} valid, {loose} loose of {cases}");
    // The generator reaches both sides, and the looseness stays an edge.
    assert!(valid > cases / 10, "{valid} of {cases} valid");
    assert!(loose < cases / 2, "{loose} of {cases} passed, not URIs");
}

/// Where the `uri` format is looser than RFC 3986, by choice (the checker
/// ships in the browser: characters, not grammar).
#[test]
fn uri_format_passes_these_rfc_3986_refuses() {
    let plan = plan_for(json!({ "format": "uri" }));
    for s in ["http://a#b#c", "http://[::1", "http://a:b/", "http://a/[x]"] {
        assert!(fluent_uri::Uri::parse(s).is_err(), "{s}");
        assert!(rules(&plan, &Value::from(s).to_string()).is_empty(), "{s}");
    }
}

fn email_like() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        4 => prop::sample::select(vec!["ada", "a.b", "+tag", "9", "ü", "_", "-"]),
        1 => prop::sample::select(vec![
            ".", "é", "!", "#", "%", "'", "*", "=", "?", "^", "`", "{", "|", "}", "~", "/", "(",
            ")", "\"a b\"", "\"ab\"", " ", "\\", ",", ";", ":", "<", ">", "[", "]",
        ]),
    ];
    let domain = prop_oneof![
        4 => prop::sample::select(vec!["example", ".com", "a", ".io", "dömain", "x-y"]),
        1 => prop::sample::select(vec![".", "-x", "x-", "ex_ample", "[1.2.3.4]", "1", "-", "é"]),
    ];
    (
        prop::collection::vec(local, 0..4),
        prop::sample::select(vec!["@", "@", "@", "", "@@"]),
        prop::collection::vec(domain, 0..4),
    )
        .prop_map(|(l, at, d)| format!("{}{at}{}", l.concat(), d.concat()))
}

/// Why cairn's `email` may judge `s` otherwise than RFC 5322 does: one of
/// the choices the module doc names, or `None`.
fn email_choice(s: &str, rfc: bool) -> Option<&'static str> {
    let (local, domain) = s.rsplit_once('@')?;
    if rfc {
        // Refused by cairn, an address to RFC 5322.
        if local.starts_with('"') && local.contains(' ') {
            return Some("a quoted local part with a space");
        }
        if domain.starts_with('[') {
            return Some("a domain literal");
        }
        if domain.contains('_') {
            return Some("`_` in a domain");
        }
    } else {
        // Passed by cairn, not an address to RFC 5322.
        let atext = |c: char| {
            !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
        };
        if !local.chars().all(atext) {
            return Some("RFC 5322's specials in the local part");
        }
        if local.contains("..") {
            return Some("two dots in a row");
        }
    }
    None
}

#[test]
fn email_format_differs_from_rfc_5322_only_where_it_chooses_to() {
    use std::str::FromStr;
    let verdicts = format_verdicts("email", email_like(), |s| {
        email_address::EmailAddress::from_str(s).is_ok()
    });
    let (mut valid, mut chosen) = (0, 0);
    for &(ref s, cairn, rfc) in &verdicts {
        valid += usize::from(rfc);
        if cairn != rfc {
            let why = email_choice(s, rfc);
            assert!(
                why.is_some(),
                "{s:?}: RFC 5322 says {rfc}, cairn {cairn}, for no reason it names"
            );
            chosen += 1;
        }
    }
    let cases = verdicts.len();
    eprintln!("{valid} valid, {chosen} judged otherwise by choice, of {cases}");
    assert!(valid > cases / 10, "{valid} of {cases} valid");
}
