//! The edges of a client's life: released without `shutdown()`, used in a
//! forked child, and `flush`/`shutdown` timeouts, against the collector on
//! 127.0.0.1 and real buffer files.

use std::process::Command;
use std::time::{Duration, Instant};

use cairn_cli::collector::{Collector, CollectorConfig, Fault};
use cairn_tests::by_message_id;
use serde_json::json;

fn collector() -> Collector {
    Collector::start(CollectorConfig::default()).expect("collector starts")
}

#[test]
fn a_client_released_without_shutdown_leaves_nothing_to_send_twice() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    for round in 0..5u64 {
        let client = cairn::Client::builder("k")
            .endpoint(server.endpoint())
            .storage_path(&path)
            .build()
            .unwrap();
        for n in 0..5 {
            client
                .track("Numbered", json!({ "n": round * 5 + n }))
                .unwrap();
        }
        // Released: Rust's drop, Kotlin's close(), Python's garbage collector.
        drop(client);
    }
    let last = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(&path)
        .build()
        .unwrap();
    let report = last.shutdown(Duration::from_secs(10)).unwrap();
    assert_eq!(report.remaining, 0);
    let events = server.events();
    let counts = by_message_id(&events);
    assert_eq!(counts.len(), 25, "every event arrived");
    assert_eq!(
        events.len(),
        25,
        "none twice: {:?}",
        counts.values().filter(|c| **c > 1).count()
    );
}

#[test]
fn a_released_client_waits_a_bounded_time_for_the_answer_on_the_wire() {
    let server = collector();
    // The upload on the wire when the client is released is answered late:
    // the release waits for it up to ANSWER_GRACE and records it.
    server.push_faults([Fault::Stall(Duration::from_millis(300))]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cairn.db");
    let client = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(&path)
        .flush_at(1)
        .build()
        .unwrap();
    client.track("Slow", json!({})).unwrap();
    let start = Instant::now();
    while client.stats().in_flight_events == 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let released = Instant::now();
    drop(client);
    assert!(
        released.elapsed() < cairn::ANSWER_GRACE + Duration::from_millis(500),
        "the release is bounded: {:?}",
        released.elapsed()
    );
    let next = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(&path)
        .build()
        .unwrap();
    assert_eq!(next.stats().queued_events, 0, "the answer was recorded");
    next.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(server.events().len(), 1);
}

#[test]
fn flush_and_shutdown_honour_their_timeout_while_the_server_stalls() {
    let server = collector();
    server.push_faults((0..4).map(|_| Fault::Stall(Duration::from_secs(4))));
    let dir = tempfile::tempdir().unwrap();
    let client = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(dir.path().join("cairn.db"))
        .build()
        .unwrap();
    for n in 0..10 {
        client.track("Numbered", json!({ "n": n })).unwrap();
    }
    let start = Instant::now();
    let report = client.flush(Duration::from_millis(500)).unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1_500), "flush took {took:?}");
    assert_eq!(
        report.remaining, 10,
        "nothing claimed delivered: {report:?}"
    );
    let start = Instant::now();
    let report = client.shutdown(Duration::from_millis(500)).unwrap();
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(500) + cairn::ANSWER_GRACE + Duration::from_millis(500),
        "shutdown took {took:?}"
    );
    assert_eq!(report.remaining, 10, "{report:?}");
}

#[test]
fn a_forked_child_gets_a_clear_error_from_every_call_and_never_hangs() {
    let server = collector();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn-test-child"))
        .args(["fork", db.to_str().unwrap(), &server.endpoint()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("child runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the forked processes hang (a lock inherited through fork?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for call in [
        "track",
        "identify",
        "flush",
        "commit",
        "forget",
        "shutdown",
        "track-many",
    ] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("forked {call}:")))
            .unwrap_or_else(|| panic!("no line for {call} in {stdout}"));
        assert!(
            line.contains("create the client after fork"),
            "{call} in the child says what to do: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("forked stats:") && l.contains("after fork")),
        "stats() in the child says why nothing is recorded: {stdout}"
    );
    assert!(lines.contains(&"forked child done"), "{stdout}");
    assert!(
        stdout.contains("forks while busy: 40 children committed"),
        "{stdout}"
    );
    // The parent's client went on, and a client made in the child after
    // the fork (on its own file) delivered.
    let events = server.events();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(names.contains(&"Parent Before Fork"), "{names:?}");
    assert!(names.contains(&"Parent After Fork"), "{names:?}");
    assert!(names.contains(&"Child Own Client"), "{names:?}");
    assert_eq!(
        by_message_id(&events).len(),
        events.len(),
        "parent and child never share a message id"
    );
}
