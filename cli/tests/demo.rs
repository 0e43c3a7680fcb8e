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
    // Delivered sums both destinations: 12 to each.
    assert_eq!(report.delivered, 24);
    assert!(
        report.amplitude_exactly_once() && report.amplitude_in_order,
        "{report:?}"
    );
    assert!(
        text.contains(
            "✔ and exactly once, in the same order, at the Amplitude collector (12 events)"
        ),
        "{text}"
    );
    // While Segment's collector was down, Amplitude's got the outage's events.
    assert!(
        text.contains("the Amplitude collector has all 12 events so far"),
        "{text}"
    );
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
        text.lines().count() < 70,
        "{} lines:\n{text}",
        text.lines().count()
    );
}
