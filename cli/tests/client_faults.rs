//! A real `cairn::Client` against the collector's faults: what the faults are
//! for. Every event must arrive; a lost ack may duplicate, but only with the
//! same message id.

use std::collections::HashSet;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use serde_json::json;

#[test]
fn every_fault_is_survived_and_a_lost_ack_only_duplicates_by_message_id() {
    let c = Collector::start(CollectorConfig {
        write_key: Some("wk".into()),
        ..Default::default()
    })
    .unwrap();
    c.push_faults([
        Fault::DropConnection,
        Fault::Status(500),
        Fault::StatusRetryAfter(503, "0".into()),
        Fault::StoreThenDrop,
        Fault::Stall(Duration::from_millis(200)),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("wk")
        .endpoint(c.endpoint())
        .storage_path(dir.path().join("buf.db"))
        .flush_at(1)
        .max_batch_events(1)
        .retry_base_delay(Duration::from_millis(100))
        .max_retry_delay(Duration::from_millis(300))
        .build()
        .unwrap();
    for n in 0..4 {
        client.track("Step", json!({ "n": n })).unwrap();
    }
    let report = client.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(report.remaining, 0, "{report:?} {:?}", client.stats());
    client.shutdown(Duration::from_secs(2)).unwrap();

    let ids = c.message_ids();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 4, "{ids:?}");
    // The StoreThenDrop batch was stored, unacknowledged, and sent again.
    assert_eq!(ids.len(), 5, "{ids:?}");
    let ns: Vec<i64> = c
        .events()
        .iter()
        .map(|e| e["properties"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, vec![0, 0, 1, 2, 3], "in order, with the one duplicate");
    assert_eq!(c.stats().invalid, 0);
    assert!(client.stats().retries >= 4, "{:?}", client.stats());
}
