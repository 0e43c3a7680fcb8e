//! `cairn send` and `cairn inspect`, run as the real binary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn_cli::collector::{Collector, CollectorConfig, Fault};
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
    let sent = send(&endpoint, "k")
        .args([input.to_str().unwrap()])
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
    let sent = send(&dead_endpoint(), "k")
        .args(["--timeout", "1", input.to_str().unwrap()])
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
fn a_backfill_larger_than_the_buffer_waits_for_room_and_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let input = ndjson(dir.path(), 3_000);
    let args = |endpoint: &str| {
        let mut c = send(endpoint, "k");
        c.args([
            "--storage",
            db.to_str().unwrap(),
            "--max-queue-events",
            "1000",
            "--timeout",
            "1",
            input.to_str().unwrap(),
        ]);
        c
    };
    // The backend is down: reading stops near the cap instead of dropping
    // the oldest events for room.
    let first = args(&dead_endpoint()).output().unwrap();
    let report = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(1), "{report}");
    assert!(report.contains("stopped reading after line"), "{report}");
    assert!(report.contains("overflow 0"), "{report}");
    let queued = Command::new(CAIRN)
        .args(["inspect", db.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&queued.stdout).unwrap();
    let held = v["queued_events"].as_u64().unwrap();
    assert!((800..=1_000).contains(&held), "{held} events held");

    // Back up: the same command goes on from where reading stopped.
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let second = args(&collector.endpoint()).output().unwrap();
    let report = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(0), "{report}");
    assert!(report.contains("overflow 0"), "{report}");
    let mut ids = collector.message_ids();
    assert_eq!(ids.len(), 3_000, "every line once: {report}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3_000);
}

#[test]
fn a_rerun_goes_on_after_the_last_line_committed_not_the_last_noted() {
    use cairn_cli::send::resume::{self, Digest, Progress};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let input = ndjson(dir.path(), 300);
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let run = || {
        send(&collector.endpoint(), "k")
            .args(["--storage", db.to_str().unwrap(), "--timeout", "10"])
            .arg(&input)
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert_eq!(collector.message_ids().len(), 300);
    // As if killed between the commit of lines 101 to 301 and their note:
    // the note says line 100 (the file has a blank line after line 3).
    let path = resume::progress_path(&db);
    let mut p = resume::load(&path).unwrap().unwrap();
    let mut digest = Digest::new();
    for line in std::fs::read_to_string(&input).unwrap().lines().take(100) {
        digest.push(line);
    }
    p = Progress {
        through_line: 100,
        digest: digest.text(),
        ..p
    };
    resume::save(&path, &p).unwrap();
    let again = run();
    let report = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{report}");
    assert!(report.contains("skipped 300 lines"), "{report}");
    assert_eq!(
        collector.message_ids().len(),
        300,
        "nothing sent twice: {report}"
    );
}

#[test]
fn inspect_reads_a_buffer_left_by_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("left.db");
    let input = ndjson(dir.path(), 40);
    // A sender against a dead endpoint keeps everything queued and retrying;
    // kill it without warning once the events are on disk and a retry failed.
    let mut sender = send(&dead_endpoint(), "k")
        .args(["--storage", db.to_str().unwrap(), input.to_str().unwrap()])
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
    // Event lines line up whatever the width of their number.
    assert!(
        text_out.contains("\n  #1      2026-03-01T10:00:00.000Z  track    Backfilled"),
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

    // A directory and an empty file are named as what they are.
    let inspect_err = |path: &std::path::Path| {
        let out = Command::new(CAIRN)
            .args(["inspect", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = inspect_err(dir.path());
    assert!(
        err.contains("it is a directory, and storage_path names the buffer file itself"),
        "{err}"
    );
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = inspect_err(&empty);
    assert!(err.contains("is empty (0 bytes)"), "{err}");
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

/// `n` track lines numbered by `properties.line` (1-based); odd lines carry
/// no `messageId`, so `cairn send` must name them itself.
fn numbered_lines(n: usize) -> String {
    let mut s = String::new();
    for i in 1..=n {
        if i % 2 == 0 {
            s.push_str(&format!(
                r#"{{"type":"track","event":"Resumed","userId":"u-1","messageId":"r-{i}","timestamp":"2026-03-01T10:00:00.000Z","properties":{{"line":{i}}}}}"#
            ));
        } else {
            s.push_str(&format!(
                r#"{{"type":"track","event":"Resumed","userId":"u-1","timestamp":"2026-03-01T10:00:00.000Z","properties":{{"line":{i}}}}}"#
            ));
        }
        s.push('\n');
    }
    s
}

/// How often the collector received each line, and each line's message ids.
fn received_lines(collector: &Collector) -> BTreeMap<u64, Vec<String>> {
    let mut seen: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for e in collector.events() {
        let line = e["properties"]["line"].as_u64().unwrap();
        seen.entry(line)
            .or_default()
            .push(e["messageId"].as_str().unwrap().to_string());
    }
    seen
}

fn assert_each_line_once(collector: &Collector, n: u64) {
    let seen = received_lines(collector);
    let twice: Vec<_> = seen.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "lines sent more than once: {twice:?}");
    let missing: Vec<u64> = (1..=n).filter(|l| !seen.contains_key(l)).collect();
    assert!(missing.is_empty(), "lines never sent: {missing:?}");
    let ids: BTreeSet<&String> = seen.values().flatten().collect();
    assert_eq!(
        ids.len() as u64,
        n,
        "every line has a message id of its own"
    );
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Events queued in a buffer file, as `cairn inspect` reads it.
fn queued_in(db: &Path) -> Option<u64> {
    cairn::store::inspect::inspect(db, 0)
        .ok()
        .map(|i| i.queued_events)
}

/// `cairn send` to `endpoint` with write key `key`; the caller adds the rest.
fn send(endpoint: &str, key: &str) -> Command {
    let mut command = Command::new(CAIRN);
    command.args(["send", "--endpoint", endpoint, "--write-key", key]);
    command
}

fn resume_send(endpoint: &str, db: &Path, input: &str) -> (Option<i32>, String) {
    let mut child = send(endpoint, "k")
        .args(["--storage", db.to_str().unwrap(), "--timeout", "60", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn send_killed_while_reading_then_resumed_sends_each_line_once() {
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("send.db");
    let input = numbered_lines(600);
    let (first, _) = input.split_at(input.match_indices('\n').nth(299).unwrap().0 + 1);

    // A producer writes 300 lines, then stalls; everything so far is
    // delivered while the sender waits for more, and it is killed there.
    let mut sender = send(&collector.endpoint(), "k")
        .args(["--storage", db.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = sender.stdin.take().unwrap();
    stdin.write_all(first.as_bytes()).unwrap();
    stdin.flush().unwrap();
    assert!(collector.wait_for_events(300, Duration::from_secs(60)));
    // Where the sender notes how far it got (documented in `cairn send --help`).
    let progress = PathBuf::from(format!("{}.send-progress", db.display()));
    wait_until("the sender to note line 300", || {
        std::fs::read_to_string(&progress).is_ok_and(|p| p.contains("\"through_line\":300"))
    });
    // And to have written the acknowledgements down: a kill before that
    // sends their events again (with the same ids), as for any lost ack.
    wait_until("the acks in the buffer", || queued_in(&db) == Some(0));
    sender.kill().unwrap();
    sender.wait().unwrap();
    drop(stdin);

    // The whole input again, as a re-run of the same pipeline would give it.
    let (code, report) = resume_send(&collector.endpoint(), &db, &input);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("sent 300 of 300 events"), "{report}");
    assert!(report.contains("skipped 300 lines"), "{report}");
    assert_each_line_once(&collector, 600);
}

#[test]
fn send_killed_while_retrying_then_resumed_sends_each_line_once() {
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("send.db");
    let path = dir.path().join("events.ndjson");
    std::fs::write(&path, numbered_lines(LINES)).unwrap();

    // Three batches of the default 1,000 events: one delivered, the rest
    // queued when the kill comes.
    const LINES: usize = 3_000;
    // The collector is down while the whole file is read into the buffer,
    // comes back until part of it is delivered, and goes down again: the
    // sender is killed while it retries with the rest queued.
    collector.set_down(Some(Fault::Status(503)));
    let mut sender = send(&collector.endpoint(), "k")
        .args(["--storage", db.to_str().unwrap(), path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("a refused attempt", || collector.stats().requests >= 1);
    collector.set_down(None);
    assert!(collector.wait_for_events(1_000, Duration::from_secs(60)));
    collector.set_down(Some(Fault::Status(503)));
    // A refused request after that means the last acknowledgement was taken.
    let refused_before = collector
        .requests()
        .iter()
        .filter(|r| r.status == 503)
        .count();
    wait_until("a refused retry", || {
        collector
            .requests()
            .iter()
            .filter(|r| r.status == 503)
            .count()
            > refused_before
    });
    wait_until("the acks in the buffer", || {
        queued_in(&db) == Some((LINES - collector.events().len()) as u64)
    });
    sender.kill().unwrap();
    sender.wait().unwrap();
    let delivered_before = collector.events().len();
    assert!(delivered_before < LINES, "the kill left events queued");

    collector.set_down(None);
    let sent = send(&collector.endpoint(), "k")
        .args(["--storage", db.to_str().unwrap(), "--timeout", "60"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success(), "{report}");
    assert!(
        report.contains(&format!("skipped {LINES} lines")),
        "{report}"
    );
    assert_each_line_once(&collector, LINES as u64);

    // A line without a messageId is named from the file's absolute path, its
    // line number and its text (UUID v5, as `cairn send --help` documents).
    let first = std::fs::read_to_string(&path).unwrap();
    let first = first.lines().next().unwrap();
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"cairn:send");
    let name = format!(
        "{}\n1\n{first}",
        std::fs::canonicalize(&path).unwrap().display()
    );
    let want = uuid::Uuid::new_v5(&namespace, name.as_bytes()).to_string();
    assert_eq!(received_lines(&collector)[&1], vec![want]);

    // Once all is sent, running the same file again sends nothing.
    let again = send(&collector.endpoint(), "k")
        .args(["--storage", db.to_str().unwrap()])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{report}");
    assert!(report.contains("sent 0 of 0 events"), "{report}");
    assert_eq!(collector.events().len(), LINES);
}

fn send_three(endpoint: &str, key: &str, timeout: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = ndjson(dir.path(), 3);
    let sent = send(endpoint, key)
        .args(["--timeout", timeout, input.to_str().unwrap()])
        .output()
        .unwrap();
    (
        sent.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&sent.stdout),
            String::from_utf8_lossy(&sent.stderr)
        ),
    )
}

#[test]
fn send_says_why_events_did_not_go_out_and_that_they_are_lost() {
    // A refused write key: uploads stop at once.
    let collector = Collector::start(CollectorConfig {
        write_key: Some("right".into()),
        ..CollectorConfig::default()
    })
    .unwrap();
    let (code, report) = send_three(&collector.endpoint(), "wrong", "30");
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("STOPPED: the server refused the write key (HTTP 401"),
        "{report}"
    );
    assert!(report.contains("check the write key"), "{report}");
    assert!(
        report.contains("3 events not sent are lost") && report.contains("--storage FILE"),
        "{report}"
    );

    // Nothing listening.
    let (code, report) = send_three(&dead_endpoint(), "k", "1");
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("failed attempts in a row"), "{report}");
    assert!(report.contains("Connection refused"), "{report}");
    assert!(report.contains("--storage FILE"), "{report}");

    // A wrong path: the server answers 404; the events are kept and retried
    // until the timeout, and the report says where to look.
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let (code, report) = send_three(&format!("{}/nope", collector.endpoint()), "k", "2");
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("HTTP 404"), "{report}");
    assert!(report.contains("check the endpoint"), "{report}");
    assert!(!report.contains("refused batch"), "{report}");
}

/// A buffer file `send` cannot use (here one a newer cairn wrote): the
/// events wait in memory, and the report says they are lost as the command
/// ends instead of kept in the file; no line is noted as taken, so once the
/// file is usable the same command sends every line.
#[test]
fn send_says_events_it_could_not_write_to_the_buffer_are_lost() {
    let collector = Collector::start(CollectorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = ndjson(dir.path(), 3);
    let db = dir.path().join("buffer.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let run = || {
        send(&collector.endpoint(), "k")
            .args(["--storage", db.to_str().unwrap(), "--timeout", "1"])
            .arg(&input)
            .output()
            .unwrap()
    };
    let sent = run();
    let report = String::from_utf8_lossy(&sent.stdout).to_string();
    assert_eq!(sent.status.code(), Some(1), "{report}");
    assert!(report.contains("newer than this cairn"), "{report}");
    assert!(
        report.contains("3 events not sent are lost as this command ends"),
        "{report}"
    );
    assert!(!report.contains("are kept in"), "{report}");

    std::fs::remove_file(&db).unwrap();
    let sent = run();
    let report = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success(), "{report}");
    assert!(report.contains("sent 3 of 3 events"), "{report}");
}

/// `--also-to`: the same lines to a second destination from one buffer. One
/// that is down keeps its events queued (inspect shows each destination),
/// the other gets everything; run again once it is up, the queued events go
/// to it alone.
#[test]
fn send_also_to_a_second_destination_that_is_down_then_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("two.db");
    let input = ndjson(dir.path(), 30);
    let first = Collector::start(CollectorConfig::default()).unwrap();
    let second = Collector::start(CollectorConfig::default()).unwrap();
    let also = |endpoint: &str| format!("amplitude,{endpoint},amp-key");
    let sent = send(&first.endpoint(), "k")
        .args([
            "--also-to",
            &also(&dead_endpoint()),
            "--storage",
            db.to_str().unwrap(),
            "--timeout",
            "2",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&sent.stdout);
    assert_eq!(sent.status.code(), Some(1), "{report}");
    assert!(report.contains("sent 30 of 30 events"), "{report}");
    assert!(
        report.contains("to default: 30 delivered, 0 still queued"),
        "{report}"
    );
    assert!(
        report.contains("to amplitude: 0 delivered, 30 still queued"),
        "{report}"
    );
    assert_eq!(first.events().len(), 30);

    let text = Command::new(CAIRN)
        .args(["inspect", db.to_str().unwrap(), "--events", "0"])
        .output()
        .unwrap();
    let text_out = String::from_utf8_lossy(&text.stdout);
    assert!(
        text_out.contains("destination amplitude: 30 events queued"),
        "{text_out}"
    );
    assert!(
        text_out.contains("destination default: 0 events queued"),
        "{text_out}"
    );
    assert!(text_out.contains("failed attempts in a row"), "{text_out}");

    // Up again: the second gets the 30 once, the first nothing more.
    let sent = send(&first.endpoint(), "k")
        .args([
            "--also-to",
            &also(&second.endpoint()),
            "--storage",
            db.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success(), "{report}");
    assert_eq!(second.events().len(), 30, "{report}");
    assert_eq!(first.events().len(), 30, "no duplicate to the first");
    assert_eq!(queued_in(&db), Some(0));
}
