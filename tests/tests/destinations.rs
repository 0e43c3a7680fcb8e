//! A real `Client` configured for Amplitude, and one for PostHog, against
//! the project's collector on 127.0.0.1 (which reads both formats back as
//! Segment events): through an outage and a lost acknowledgement, every
//! event arrives, in order, duplicates only with the same id.

use std::time::Duration;

use cairn::DestinationKind;
use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use cairn_tests::{by_message_id, numbers};
use serde_json::json;

fn deliver_everything_once(kind: DestinationKind, path: &str) {
    let server = Collector::start(CollectorConfig {
        write_key: Some("e2e-project-key".into()),
        ..Default::default()
    })
    .expect("collector starts");
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("e2e-project-key")
        .endpoint(server.endpoint())
        .destination(kind)
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(7)
        .max_batch_events(10)
        .retry_base_delay(Duration::from_millis(50))
        .max_retry_delay(Duration::from_millis(200))
        .build()
        .unwrap();
    // An acknowledgement lost on the way back: that batch comes again.
    server.push_faults([Fault::StoreThenDrop]);
    client.page("Home", json!({"path": "/"})).unwrap();
    for n in 0..100u64 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    // Down for a while: nothing is lost, the backlog goes once it is back.
    server.set_down(Some(Fault::Status(503)));
    for n in 100..200u64 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    client
        .identify("user-42", json!({"email": "a@example.com"}))
        .unwrap();
    client.alias("user-42-new").unwrap();
    client.group("org-1", json!({"name": "Acme"})).unwrap();
    client.screen("Settings", json!({})).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    server.set_down(None);
    let report = client.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");
    let stats = client.stats();
    assert_eq!(stats.delivered_events, 205);
    assert_eq!(stats.dropped, cairn::DropCounts::default(), "0 lost");

    let events = server.events();
    let ids = by_message_id(&events);
    assert_eq!(ids.len(), 205, "every event, by its id");
    assert!(ids.keys().all(|id| !id.is_empty()));
    assert!(
        events.len() > 205,
        "the lost acknowledgement made duplicates"
    );
    let mut seen = std::collections::HashSet::new();
    let first_arrivals: Vec<u64> = events
        .iter()
        .filter(|e| seen.insert(e["messageId"].as_str().unwrap().to_string()))
        .filter_map(|e| e["properties"]["n"].as_u64())
        .collect();
    assert_eq!(
        first_arrivals,
        (0..200).collect::<Vec<_>>(),
        "in recording order"
    );
    assert!(numbers(&events).len() > 200);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in ["page", "track", "identify", "alias", "group", "screen"] {
        // Amplitude has no alias: cairn sends it as an `$identify`.
        let expected = if kind == "alias" && path == "/2/httpapi" {
            "identify"
        } else {
            kind
        };
        assert!(kinds.contains(&expected), "{kind} arrives");
    }
    assert!(events.iter().all(|e| e["destination"] == kind.name()));
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.path == path), "{path}");
    client.shutdown(Duration::from_secs(1)).unwrap();
}

#[test]
fn an_amplitude_client_delivers_everything_to_the_collector() {
    deliver_everything_once(DestinationKind::amplitude(), "/2/httpapi");
}

#[test]
fn a_posthog_client_delivers_everything_to_the_collector() {
    deliver_everything_once(DestinationKind::PostHog, "/batch/");
}

#[test]
fn the_collector_refuses_a_wrong_key_in_the_body() {
    let server = Collector::start(CollectorConfig {
        write_key: Some("right".into()),
        ..Default::default()
    })
    .expect("collector starts");
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("wrong-key")
        .endpoint(server.endpoint())
        .destination(DestinationKind::PostHog)
        .storage_path(dir.path().join("cairn.db"))
        .build()
        .unwrap();
    client.track("x", json!({})).unwrap();
    let report = client.flush(Duration::from_secs(3)).unwrap();
    assert_eq!(report.remaining, 1);
    assert!(client.stats().auth_failed);
    assert!(server.events().is_empty());
}
