//! The Rust typed calls generated from the sample plan
//! (examples/plans/generated/tracking_plan.rs, by `cairn plan codegen
//! --lang rust examples/plans/shop.json`) compiled into this test and run
//! against a real collector on 127.0.0.1: every call arrives as the event
//! the plan describes, with its properties under their plan keys.

// Unused variants and accessors are the generated API, not dead code of this test.
#[allow(dead_code)]
// Kept exactly as generated (the golden test compares it byte for byte).
#[rustfmt::skip]
#[path = "../plans/generated/tracking_plan.rs"]
mod tracking_plan;

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig};
use serde_json::{json, Value};

use tracking_plan::*;

fn product() -> Product {
    Product {
        product_id: "p-1".into(),
        price: 12.5,
        name: Some("Dune".into()),
        quantity: Some(2),
        category: Some(ProductCategory::VideoGames),
    }
}

#[test]
fn every_generated_call_delivers_the_planned_event() {
    let server = Collector::start(CollectorConfig {
        print: false,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("plan-key")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(1000)
        .build()
        .unwrap();
    let plan = TrackingPlan::new(&client);
    assert_eq!((PLAN_ID, PLAN_VERSION), ("shop", "3"));

    plan.identify(
        "user-7",
        "ada@example.com",
        IdentifyOptions {
            plan: Some(IdentifyPlan::Pro),
            age: Some(36),
            ..Default::default()
        },
    )
    .unwrap();
    plan.group("org-1", "Analytical Engines", GroupOptions::default())
        .unwrap();
    plan.cart_viewed().unwrap();
    plan.product_viewed(
        product(),
        ProductViewedOptions {
            source: Some(ProductViewedSource::Recommendation),
        },
    )
    .unwrap();
    plan.order_completed(
        OrderCompletedCurrency::Eur,
        "o-42",
        vec![
            product(),
            Product {
                product_id: "p-2".into(),
                price: 3.0,
                name: None,
                quantity: None,
                category: None,
            },
        ],
        28.0,
        OrderCompletedOptions {
            coupon: Some("SAVE10".into()),
            payment_method: Some(OrderCompletedPaymentMethod::CreditCard),
            shipping: Some(OrderCompletedShipping {
                method: OrderCompletedShippingMethod::Express,
                address: Some(OrderCompletedShippingAddress {
                    city: "Lyon".into(),
                    country: "FR".into(),
                    postcode: None,
                }),
            }),
            tags: Some(vec!["first".into(), "gift wrap".into()]),
            gift: Some(false),
        },
    )
    .unwrap();
    plan.search_performed(
        "dune",
        None,
        3,
        SearchPerformedOptions {
            filters: Some(BTreeMap::from([(
                "format".to_string(),
                "paperback".to_string(),
            )])),
            took_ms: Some(1.5),
        },
    )
    .unwrap();
    let report = client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");

    let events = server.events();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["event"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("identify", ""),
            ("group", ""),
            ("track", "Cart Viewed"),
            ("track", "Product Viewed"),
            ("track", "Order Completed"),
            ("track", "Search Performed")
        ]
    );
    assert_eq!(events[0]["userId"], "user-7");
    assert_eq!(
        events[0]["traits"],
        json!({ "email": "ada@example.com", "plan": "pro", "age": 36 })
    );
    assert_eq!(events[1]["groupId"], "org-1");
    assert_eq!(events[1]["traits"], json!({ "name": "Analytical Engines" }));
    assert!(
        events[2]["properties"]
            .as_object()
            .is_none_or(|p| p.is_empty()),
        "{}",
        events[2]
    );
    let expected_product = json!({ "product_id": "p-1", "price": 12.5, "name": "Dune", "quantity": 2, "category": "video games" });
    assert_eq!(
        events[3]["properties"],
        json!({ "product": expected_product, "source": "recommendation" })
    );
    assert_eq!(
        events[4]["properties"],
        json!({
            "order_id": "o-42",
            "total": 28.0,
            "currency": "EUR",
            "products": [expected_product, { "product_id": "p-2", "price": 3.0 }],
            "coupon": "SAVE10",
            "payment_method": "credit card",
            "shipping": { "method": "express", "address": { "city": "Lyon", "country": "FR" } },
            "tags": ["first", "gift wrap"],
            "gift": false,
            "checkout_version": "2024-checkout"
        })
    );
    // A required nullable property is sent as null, not left out.
    assert_eq!(
        events[5]["properties"],
        json!({ "query": "dune", "results": 3, "referrer": null, "filters": { "format": "paperback" }, "took_ms": 1.5 })
    );
    client.shutdown(Duration::from_secs(5)).unwrap();
}

// The plan of awkward names: keywords, quotes, `$`, digits first.
#[allow(dead_code)]
#[rustfmt::skip]
#[path = "../plans/generated/edge/tracking_plan.rs"]
mod edge;

#[test]
fn names_that_are_keywords_or_need_escaping_compile_and_are_sent_as_planned() {
    use edge::*;
    let server = Collector::start(CollectorConfig {
        print: false,
        ..Default::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("plan-key")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(1000)
        .build()
        .unwrap();
    let plan = TrackingPlan::new(&client);
    assert_eq!(PLAN_ID, "edge \"cases\" $plan \\ é");
    let point = Point {
        x: 1.0,
        y: 2.5,
        label: None,
    };
    plan.class_joined_now(
        "wizard",
        Some(vec![Some(1.5), None]),
        true,
        7,
        ClassJoinedNowType::V2fa,
        ClassJoinedNowOptions {
            fun: Some(BTreeMap::from([("home".to_string(), point.clone())])),
            matrix: Some(vec![vec![1, 2], vec![]]),
            anything: Some(json!({ "free": ["form"] })),
            either: Some(json!(3)),
        },
    )
    .unwrap();
    plan._2nd_step(V2ndStepOptions {
        is: Some(V2ndStepIs::Yes),
        points: Some(vec![point]),
    })
    .unwrap();
    plan.class_joined_now(
        "x",
        None,
        false,
        0,
        ClassJoinedNowType::Self_,
        ClassJoinedNowOptions::default(),
    )
    .unwrap();
    assert_eq!(client.flush(Duration::from_secs(10)).unwrap().remaining, 0);
    let events = server.events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event"], "Class \"Joined\" $now");
    assert_eq!(
        events[0]["properties"],
        json!({
            "class": "wizard", "self": 7, "in": true, "type": "2fa", "default": [1.5, null],
            "fun": { "home": { "x": 1.0, "y": 2.5 } },
            "matrix": [[1, 2], []], "anything": { "free": ["form"] }, "either": 3,
            "version": { "major": 1, "tags": ["a\"b", "$x"] }
        })
    );
    assert_eq!(events[1]["event"], "2nd Step");
    assert_eq!(
        events[1]["properties"],
        json!({ "is": "yes", "points": [{ "x": 1.0, "y": 2.5 }] })
    );
    assert_eq!(
        events[2]["properties"]["default"],
        Value::Null,
        "a required nullable array is sent as null"
    );
    assert_eq!(events[2]["properties"]["type"], "self");
    client.shutdown(Duration::from_secs(5)).unwrap();
}
