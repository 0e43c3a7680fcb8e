//! The README quickstart (`cairn demo`) runs end to end and proves exactly-once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn demo_runs_end_to_end_and_every_event_arrives_exactly_once() {
    let printed: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let report = cairn_cli::demo::run_with_output(printed.clone()).expect("the demo runs");
    let text = String::from_utf8(printed.lock().unwrap().clone()).unwrap();

    assert!(report.ok(), "{report:?}\n{text}");
    assert!(report.exactly_once());
    assert_eq!(report.recorded, 12);
    assert_eq!(
        (report.received, report.unique, report.duplicates),
        (12, 12, 0)
    );
    assert_eq!(report.delivered, 12);
    assert!(
        report.retries >= 1 && report.refused_requests >= 1,
        "the outage must cause retries: {report:?}"
    );
    assert!(report.elapsed < Duration::from_secs(30));

    assert!(
        text.contains("✔ every event arrived exactly once (12 events)"),
        "{text}"
    );
    assert!(text.contains("last_error: HTTP 503"), "{text}");
    assert!(!text.contains('⚠'), "no event may break the spec:\n{text}");
    assert!(
        text.lines().count() < 60,
        "{} lines:\n{text}",
        text.lines().count()
    );
}
