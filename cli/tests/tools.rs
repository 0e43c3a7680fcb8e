//! `cairn send` and `cairn inspect`, run as the real binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

const CAIRN: &str = env!("CARGO_BIN_EXE_cairn");

fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
}

fn ndjson(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("events.ndjson");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..n {
        writeln!(
            f,
            r#"{{"type":"track","event":"Backfilled","userId":"u-{}","messageId":"bf-{i}","timestamp":"2026-03-01T10:00:00.{:03}Z","properties":{{"i":{i}}}}}"#,
            i % 3,
            i % 1000
        )
        .unwrap();
        if i == 2 {
            writeln!(f).unwrap(); // blank lines are skipped
        }
    }
    path
}

#[test]
fn send_delivers_an_ndjson_file_to_collect() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("received.ndjson");
    let mut collect = Command::new(CAIRN)
        .args(["collect", "--port", "0", "--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(collect.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    // Keep reading what the collector prints, so its pipe never fills.
    std::thread::spawn(move || lines.for_each(drop));
    let endpoint = first.rsplit(' ').next().unwrap().to_string();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{first}");

    let input = ndjson(dir.path(), 250);
    let sent = Command::new(CAIRN)
        .args([
            "send",
            "--endpoint",
            &endpoint,
            "--write-key",
            "k",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(report.contains("sent 250 of 250 events"), "{report}");
    collect.kill().unwrap();
    collect.wait().unwrap();

    let received: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(received.len(), 250);
    assert_eq!(
        received[7]["messageId"], "bf-7",
        "the file's message ids are kept"
    );
    assert_eq!(received[7]["timestamp"], "2026-03-01T10:00:00.007Z");
    assert_eq!(received[7]["userId"], "u-1");
}

#[test]
fn send_reports_refused_lines_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.ndjson");
    std::fs::write(&input, "{\"type\":\"track\"}\nnot json\n").unwrap();
    let sent = Command::new(CAIRN)
        .args([
            "send",
            "--endpoint",
            &dead_endpoint(),
            "--write-key",
            "k",
            "--timeout",
            "1",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(sent.status.code(), Some(1));
    let report = String::from_utf8_lossy(&sent.stdout);
    assert!(
        report.contains("line 1: invalid event: a track event needs `event`"),
        "{report}"
    );
    assert!(
        report.contains("line 2: invalid event: the event is not valid JSON"),
        "{report}"
    );
}

#[test]
fn inspect_reads_a_buffer_left_by_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("left.db");
    let input = ndjson(dir.path(), 40);
    // A sender against a dead endpoint keeps everything queued and retrying;
    // kill it without warning once the events are on disk and a retry failed.
    let mut sender = Command::new(CAIRN)
        .args([
            "send",
            "--endpoint",
            &dead_endpoint(),
            "--write-key",
            "k",
            "--storage",
            db.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    sender.kill().unwrap();
    sender.wait().unwrap();

    let text = Command::new(CAIRN)
        .args(["inspect", db.to_str().unwrap(), "--events", "3"])
        .output()
        .unwrap();
    let text_out = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.status.success(),
        "{text_out} {}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(text_out.contains("queue      40 events"), "{text_out}");
    assert!(
        text_out.contains("failed attempts in a row; next retry"),
        "{text_out}"
    );
    assert!(text_out.contains("not in use"), "{text_out}");
    assert!(text_out.contains("dropped    invalid 0"), "{text_out}");
    assert!(
        text_out.contains("bf-0") && text_out.contains("bf-2") && !text_out.contains("bf-3 "),
        "{text_out}"
    );

    let json = Command::new(CAIRN)
        .args(["inspect", db.to_str().unwrap(), "--events", "5", "--json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["queued_events"], 40);
    assert_eq!(v["events"].as_array().unwrap().len(), 5);
    assert_eq!(v["integrity"], "ok");
    assert!(v["state"]["delivery"]["failures"].as_u64().unwrap() >= 1);
    assert!(v["state"]["identity"]["anonymous_id"].is_string());

    let missing = Command::new(CAIRN)
        .args(["inspect", dir.path().join("nope.db").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no buffer file at"));
}

#[test]
fn demo_binary_exits_zero_and_reports_exactly_once() {
    let out = Command::new(CAIRN).arg("demo").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("✔ every event arrived exactly once (12 events)"),
        "{text}"
    );
    assert!(text.contains("✔ in the order they were recorded"), "{text}");
    assert!(
        text.contains("held in memory only: 0 on disk, 0 requests sent"),
        "{text}"
    );
}
