//! One buffer, two destinations, two real collectors on 127.0.0.1: while
//! one is down the other receives everything at once; once back, the down
//! one receives everything, in order, duplicates only with the same id.
//!
//! The outage lasts `CAIRN_E2E_DOWN_MS` (3 s by default, so CI stays
//! quick; issue 15 describes 30 s: `CAIRN_E2E_DOWN_MS=30000`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use cairn::destination::{Destination, DestinationKind};
use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use cairn_tests::by_message_id;
use serde_json::{json, Value};

fn down_for() -> Duration {
    let ms = std::env::var("CAIRN_E2E_DOWN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000);
    Duration::from_millis(ms)
}

/// The `n` of each event's first arrival, in arrival order.
fn first_arrivals(events: &[Value]) -> Vec<u64> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter(|e| seen.insert(e["messageId"].as_str().unwrap_or_default().to_string()))
        .filter_map(|e| e["properties"]["n"].as_u64())
        .collect()
}

#[test]
fn the_one_up_receives_everything_at_once_and_the_one_down_everything_once_after() {
    let segment = Collector::start(CollectorConfig::default()).expect("collector starts");
    let amplitude = Collector::start(CollectorConfig::default()).expect("collector starts");
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("segment-key")
        .endpoint(segment.endpoint())
        .add_destination(
            Destination::new(
                "amplitude",
                DestinationKind::amplitude(),
                amplitude.endpoint(),
                "amplitude-key",
            )
            .max_batch_events(50),
        )
        .storage_path(dir.path().join("cairn.db"))
        .flush_at(10)
        .retry_base_delay(Duration::from_millis(50))
        .max_retry_delay(Duration::from_millis(300))
        .build()
        .unwrap();

    // Down: first a request that hangs (its thread waits), then refusals.
    let down = down_for();
    amplitude.push_faults([Fault::Stall(Duration::from_millis(1_500))]);
    amplitude.set_down(Some(Fault::Status(503)));
    let started = Instant::now();
    for n in 0..300u64 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    assert!(
        segment.wait_for_events(300, Duration::from_secs(10)),
        "the destination that is up got everything while the other was down: {} events",
        segment.events().len()
    );
    let in_time = started.elapsed();
    assert!(
        in_time < down,
        "delivered in {in_time:?}, within the other's outage of {down:?}"
    );
    // The snapshot follows the collector's answer by a worker step.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut stats = client.stats();
    while stats.destinations.first().map(|d| d.delivered_events) != Some(300)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
        stats = client.stats();
    }
    assert_eq!(stats.destinations.len(), 2, "{stats:?}");
    let (s, a) = (&stats.destinations[0], &stats.destinations[1]);
    assert_eq!((s.name.as_str(), s.delivered_events), ("default", 300));
    assert_eq!(a.name, "amplitude");
    assert_eq!(a.delivered_events, 0);
    assert_eq!(a.queued_events, 300, "{a:?}");
    assert_eq!(stats.queued_events, 300, "kept for the one down");
    let stopped_at = started + down;
    std::thread::sleep(stopped_at.saturating_duration_since(Instant::now()));
    assert!(client.stats().destinations[1].retries > 0);
    assert!(client.stats().destinations[1].last_error.is_some());
    amplitude.set_down(None);

    let report = client.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");
    let stats = client.stats();
    assert_eq!(stats.delivered_events, 600, "{stats:?}");
    assert_eq!(stats.dropped, cairn::DropCounts::default(), "0 lost");
    for (server, name) in [(&segment, "segment"), (&amplitude, "amplitude")] {
        let events = server.events();
        let ids = by_message_id(&events);
        assert_eq!(ids.len(), 300, "{name}: every event, by its id");
        assert_eq!(
            first_arrivals(&events),
            (0..300).collect::<Vec<_>>(),
            "{name}: in recording order"
        );
    }
    assert_eq!(
        segment.events().len(),
        300,
        "no duplicate to the one that was up"
    );
    client.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn routing_and_a_revoked_category_act_on_one_destination_only() {
    let segment = Collector::start(CollectorConfig::default()).expect("collector starts");
    let posthog = Collector::start(CollectorConfig::default()).expect("collector starts");
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("segment-key")
        .endpoint(segment.endpoint())
        .add_destination(
            Destination::new(
                "posthog",
                DestinationKind::PostHog,
                posthog.endpoint(),
                "phc_key",
            )
            .allow_events(["Order *"])
            .consent_categories(["marketing"]),
        )
        .consent("marketing", cairn::ConsentState::Granted)
        .storage_path(dir.path().join("cairn.db"))
        .build()
        .unwrap();
    client.track("Viewed", json!({"n": 1})).unwrap();
    client.track("Order Completed", json!({"n": 2})).unwrap();
    let r = client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(
        segment.events().len(),
        2,
        "{r:?} {:#?} {:?}",
        client.stats(),
        segment.requests()
    );
    let to_posthog = posthog.events();
    assert_eq!(to_posthog.len(), 1, "{to_posthog:?}");
    // Revoked while PostHog is down: its queue goes, Segment's stays.
    posthog.set_down(Some(Fault::Status(503)));
    segment.set_down(Some(Fault::Status(503)));
    client.track("Order Placed", json!({"n": 3})).unwrap();
    client.commit(Duration::from_secs(5)).unwrap();
    client
        .set_consent("marketing", cairn::ConsentState::Denied)
        .unwrap();
    client.track("Order Placed", json!({"n": 4})).unwrap();
    posthog.set_down(None);
    segment.set_down(None);
    let report = client.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?}");
    assert_eq!(posthog.events().len(), 1, "nothing more without consent");
    assert_eq!(by_message_id(&segment.events()).len(), 4);
    let stats = client.stats();
    assert_eq!(stats.destinations[1].dropped.consent, 1, "{stats:?}");
    assert_eq!(stats.destinations[0].dropped.consent, 0);
    assert!(stats.destinations[1].skipped_events >= 2, "{stats:?}");
}

/// A migration from Segment to RudderStack: two destinations of the same
/// format, each with its own write key, get every event of a backlog once,
/// in order, each request carrying its own destination's key, although
/// both compress the same batches once between them (runtime/gzip.rs).
#[test]
fn two_segment_format_destinations_each_get_their_own_key_on_shared_batches() {
    let config = |key: &str| CollectorConfig {
        write_key: Some(key.into()),
        ..CollectorConfig::default()
    };
    let segment = Collector::start(config("segment-key")).expect("collector starts");
    let rudder = Collector::start(config("rudder-key")).expect("collector starts");
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("segment-key")
        .endpoint(segment.endpoint())
        .add_destination(Destination::new(
            "rudderstack",
            DestinationKind::Segment,
            rudder.endpoint(),
            "rudder-key",
        ))
        .storage_path(dir.path().join("cairn.db"))
        .build()
        .unwrap();
    for n in 0..5_000u64 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    assert_eq!(client.flush(Duration::from_secs(30)).unwrap().remaining, 0);
    for (server, key) in [(&segment, "segment-key"), (&rudder, "rudder-key")] {
        let events = server.events();
        assert_eq!(events.len(), 5_000, "{key}: each event once");
        assert_eq!(first_arrivals(&events), (0..5_000).collect::<Vec<_>>());
        let requests = server.requests();
        assert!(requests.len() >= 5, "{key}: {} requests", requests.len());
        for r in &requests {
            assert_eq!(r.status, 200, "{key}: {r:?}");
            assert_eq!(r.body["writeKey"], key);
            assert!(r.gzip, "{key}: sent compressed");
        }
    }
    client.shutdown(Duration::from_secs(5)).unwrap();
}
