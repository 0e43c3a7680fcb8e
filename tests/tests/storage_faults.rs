//! Storage faults reproduced for real: a full disk (a file-size limit on a
//! child process), a read-only file (a child running as `nobody`), a file
//! deleted while in use, garbage bytes, a truncated WAL, and a file locked by
//! another process. In each, recording goes on, `stats()` shows the
//! condition, and what was durable is delivered.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cairn::StorageState;
use cairn_cli::collector::{Collector, CollectorConfig};
use cairn_tests::{by_message_id, dead_endpoint, numbers};
use serde_json::json;

const CHILD: &str = env!("CARGO_BIN_EXE_cairn-test-child");

fn collector() -> Collector {
    Collector::start(CollectorConfig::default()).expect("collector starts")
}

fn client(server: &Collector, path: &std::path::Path) -> cairn::Client {
    cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(path)
        .flush_at(1_000)
        .retry_base_delay(Duration::from_millis(50))
        .build()
        .unwrap()
}

fn wait_until(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

#[test]
fn a_full_disk_keeps_recording_in_memory_and_loses_nothing_durable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    // RLIMIT_FSIZE makes every write past 1 MiB fail with EFBIG: a full disk
    // for this process only. SIGXFSZ is ignored so the write fails instead of
    // killing the child.
    let script = format!(
        "trap '' XFSZ; ulimit -f 1024; exec '{CHILD}' fill '{}' '{}'",
        db.display(),
        dead_endpoint()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failing = stdout
        .lines()
        .find(|l| l.starts_with("failing "))
        .expect("child reports the failure");
    assert!(failing.contains("Failing"), "{failing}");
    let in_memory: u64 = failing.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        in_memory >= 10,
        "the calls after the disk filled are held in memory: {failing}"
    );

    // Without the limit, a new process delivers everything the file holds.
    let server = collector();
    let c = client(&server, &db);
    let durable: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("durable "))
        .expect("some events were durable")
        .parse()
        .unwrap();
    assert!(c.stats().queued_events > durable, "{:?}", c.stats());
    let report = c.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(report.remaining, 0);
    let events = server.events();
    let ns = numbers(&events);
    assert_eq!(
        ns,
        (0..ns.len() as u64).collect::<Vec<_>>(),
        "a gap-free prefix, in order, once each"
    );
    assert!(
        ns.len() as u64 > durable,
        "every event durable before the disk filled arrived"
    );
}

#[test]
fn a_read_only_file_holds_events_in_memory_until_it_is_writable_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    // Create the file, then make file and directory read-only for `nobody`.
    drop(
        cairn::Client::builder("k")
            .endpoint(dead_endpoint())
            .storage_path(&db)
            .build()
            .unwrap(),
    );
    let chmod = |mode: &str| {
        for p in [dir.path().to_path_buf(), db.clone()] {
            assert!(Command::new("chmod")
                .args([mode, p.to_str().unwrap()])
                .status()
                .unwrap()
                .success());
        }
        for side in ["-wal", "-shm", ".lock", ".anonymous-id"] {
            let p = format!("{}{side}", db.display());
            let _ = Command::new("chmod")
                .args([if mode == "555" { "444" } else { "666" }, &p])
                .stderr(Stdio::null())
                .status();
        }
    };
    chmod("555");
    let server = collector();
    let mut child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            CHILD,
            "readonly",
            db.to_str().unwrap(),
            &server.endpoint(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv runs the child as nobody");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("failing 5 durable=false"), "{first}");
    assert!(first.contains("Failing"), "{first}");
    assert_eq!(server.requests().len(), 0);
    chmod("777");
    writeln!(child.stdin.take().unwrap(), "go").unwrap();
    let last = lines.next().unwrap().unwrap();
    assert_eq!(last, "delivered 5 remaining 0");
    assert!(child.wait().unwrap().success());
    assert_eq!(numbers(&server.events()), vec![0, 1, 2, 3, 4]);
}

#[test]
fn a_file_deleted_while_in_use_is_recreated_with_its_events_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    server.set_down(Some(cairn_cli::collector::Fault::Status(503)));
    let c = client(&server, &db);
    for n in 0..20u64 {
        c.track("Numbered", json!({ "n": n })).unwrap();
    }
    assert!(c.commit(Duration::from_secs(5)).unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // The app goes on recording, one event every 50 ms.
    let deleted = Instant::now();
    let mut n = 20u64;
    while !db.exists() && deleted.elapsed() < Duration::from_secs(10) {
        c.track("Numbered", json!({ "n": n })).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let recreated = deleted.elapsed();
    eprintln!("the deleted file was recreated after {recreated:?}");
    assert!(
        recreated < Duration::from_millis(2_500),
        "the deletion is noticed within about a second: {recreated:?} {:?}",
        c.stats()
    );
    for _ in 0..5 {
        c.track("Numbered", json!({ "n": n })).unwrap();
        n += 1;
    }
    assert!(
        c.commit(Duration::from_secs(5)).unwrap(),
        "durable in the new file: {:?}",
        c.stats()
    );
    let stats = c.stats();
    assert_eq!(stats.storage, StorageState::Ok);
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("deleted")),
        "{stats:?}"
    );
    server.set_down(None);
    let report = c.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(report.remaining, 0, "{:?}", c.stats());
    let events = server.events();
    let mut ns = numbers(&events);
    ns.sort();
    ns.dedup();
    assert_eq!(
        ns,
        (0..n).collect::<Vec<_>>(),
        "events of the deleted file were carried over"
    );
}

#[test]
fn garbage_bytes_move_the_file_aside_and_the_anonymous_id_survives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let c = client(&server, &db);
    c.track("Before", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();
    c.shutdown(Duration::from_secs(1)).unwrap();
    drop(c);
    let anon = server.events()[0]["anonymousId"].clone();
    std::fs::write(&db, vec![0xAB; 64 * 1024]).unwrap();
    let _ = std::fs::remove_file(format!("{}-wal", db.display()));

    let c = client(&server, &db);
    c.track("After", json!({})).unwrap();
    c.flush(Duration::from_secs(10)).unwrap();
    let events = server.events();
    assert_eq!(
        events[1]["anonymousId"], anon,
        "the mirror file kept the anonymous id"
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("cairn.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt file is kept for inspection");
}

#[test]
fn a_truncated_wal_after_a_kill_loses_only_the_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let mut child = Command::new(CHILD)
        .args(["crash", db.to_str().unwrap(), &dead_endpoint(), "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut durable = 0;
    while durable < 500 {
        let l = lines.next().unwrap().unwrap();
        if let Some(n) = l.strip_prefix("durable ") {
            durable = n.parse().unwrap();
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let wal = format!("{}-wal", db.display());
    let len = std::fs::metadata(&wal).unwrap().len();
    assert!(len > 0, "the kill left a WAL behind");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(len / 2 + 1_234)
        .unwrap();

    let server = collector();
    let c = client(&server, &db);
    let report = c.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(report.remaining, 0);
    let events = server.events();
    let ns = numbers(&events);
    assert!(!ns.is_empty());
    assert_eq!(
        ns,
        (0..ns.len() as u64).collect::<Vec<_>>(),
        "a gap-free prefix survives, in order"
    );
    assert!(by_message_id(&events).values().all(|n| *n == 1));
}

#[test]
fn a_file_locked_by_another_process_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let c = client(&server, &db);
    c.track("Before Lock", json!({})).unwrap();
    assert!(c.commit(Duration::from_secs(5)).unwrap());

    // Another process takes the write lock and holds it until told to let go.
    let mut other = hold_write_lock(&db);
    c.track("During Lock", json!({})).unwrap();
    // The worker waits the 2 s busy timeout, then holds the event in memory.
    assert!(
        !c.commit(Duration::from_secs(10)).unwrap(),
        "not durable while locked"
    );
    assert!(
        matches!(c.stats().storage, StorageState::Failing { ref error } if error.contains("locked")),
        "{:?}",
        c.stats()
    );
    writeln!(other.stdin.take().unwrap(), "release").unwrap();
    assert!(other.wait().unwrap().success());
    assert!(
        wait_until(
            || c.stats().storage == StorageState::Ok,
            Duration::from_secs(15)
        ),
        "{:?}",
        c.stats()
    );
    let report = c.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(report.remaining, 0);
    let names: Vec<_> = server
        .events()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Before Lock", "During Lock"]);
}

#[test]
fn a_stuck_disk_never_holds_an_event_call_past_record_wait_and_counts_what_it_drops() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let record_wait = Duration::from_millis(100);
    let c = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(&db)
        .flush_at(1_000)
        .max_pending_calls(8)
        .max_event_bytes(8_000)
        .record_wait(record_wait)
        .build()
        .unwrap();
    c.track("Before Lock", json!({})).unwrap();
    assert!(c.commit(Duration::from_secs(5)).unwrap());

    // The worker's next commit waits out the 2 s busy timeout: the calls
    // channel fills, every event call after that waits at most record_wait
    // and then goes to the spill, and past the spill's 8 MiB (runtime/spill.rs)
    // the event is counted overflow. 4,000 calls of 4 KiB are twice that.
    let mut other = hold_write_lock(&db);
    let padding = "x".repeat(4096);
    let mut slowest = Duration::ZERO;
    let calls = 4_000u64;
    for i in 0..calls {
        let t = Instant::now();
        c.track("During Lock", json!({ "i": i, "padding": padding }))
            .unwrap();
        slowest = slowest.max(t.elapsed());
    }
    // An identity change is never dropped for room: it waits for the worker.
    c.identify("user-9", json!({})).unwrap();
    writeln!(other.stdin.take().unwrap(), "release").unwrap();
    assert!(other.wait().unwrap().success());

    assert!(
        slowest < record_wait + Duration::from_millis(400),
        "an event call waited {slowest:?} with record_wait {record_wait:?}"
    );
    // The store is tried again every 5 s (engine::STORAGE_RETRY_INTERVAL).
    assert!(
        wait_until(
            || c.stats().storage == StorageState::Ok,
            Duration::from_secs(15)
        ),
        "{:?}",
        c.stats()
    );
    let report = c.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(report.remaining, 0, "{:?}", c.stats());
    let stats = c.stats();
    let kept = server
        .events()
        .iter()
        .filter(|e| e["event"] == "During Lock")
        .count() as u64;
    assert!(stats.dropped.overflow > 0, "the channel filled: {stats:?}");
    assert_eq!(
        kept + stats.dropped.overflow,
        calls,
        "every event call is delivered or counted overflow: {stats:?}"
    );
    assert_eq!(c.user_id().as_deref(), Some("user-9"));
    // The waits are in stats(): at least one call waited the whole
    // record_wait (whose timer ends 1 ms early, for the thread's wake-up)
    // before it was spilled, and none (by the client's own clock) waited
    // longer than the slowest call took.
    let waits = stats.waited_for_room;
    assert!(waits.calls > 0 && waits.calls <= calls, "{waits:?}");
    assert!(
        waits.longest_us >= (record_wait - Duration::from_millis(1)).as_micros() as u64,
        "{waits:?}"
    );
    assert!(waits.longest_us <= slowest.as_micros() as u64, "{waits:?}");
    assert!(waits.total_us >= waits.longest_us, "{waits:?}");
}

#[test]
fn event_calls_spilled_while_the_disk_is_stuck_arrive_in_order_with_the_calls_around_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let c = cairn::Client::builder("k")
        .endpoint(server.endpoint())
        .storage_path(&db)
        .flush_at(1_000)
        .max_pending_calls(8)
        .record_wait(Duration::ZERO)
        .build()
        .unwrap();
    c.track("Before Lock", json!({ "n": 0 })).unwrap();
    assert!(c.commit(Duration::from_secs(5)).unwrap());
    let mut other = hold_write_lock(&db);
    // record_wait zero: once the channel is full every call is spilled at
    // once, an identify among them, in the order made.
    for n in 1..=300u64 {
        if n == 150 {
            c.identify("user-3", json!({})).unwrap();
        }
        c.track("During Lock", json!({ "n": n })).unwrap();
    }
    writeln!(other.stdin.take().unwrap(), "release").unwrap();
    assert!(other.wait().unwrap().success());
    assert!(
        wait_until(
            || c.stats().storage == StorageState::Ok,
            Duration::from_secs(15)
        ),
        "{:?}",
        c.stats()
    );
    assert_eq!(c.flush(Duration::from_secs(20)).unwrap().remaining, 0);
    let events = server.events();
    assert_eq!(
        numbers(&events),
        (0..=300).collect::<Vec<_>>(),
        "all, in order"
    );
    assert_eq!(c.stats().dropped.total(), 0);
    // The identify took its place: events after it carry the user id.
    let user = |n: u64| {
        events
            .iter()
            .find(|e| e["properties"]["n"] == n)
            .and_then(|e| e["userId"].as_str().map(str::to_owned))
    };
    assert_eq!(user(149), None);
    assert_eq!(user(150).as_deref(), Some("user-3"));
}

#[test]
fn a_second_process_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let _mine = cairn::Client::builder("k")
        .endpoint(dead_endpoint())
        .storage_path(&db)
        .build()
        .unwrap();
    let out = Command::new(CHILD)
        .args(["record", db.to_str().unwrap(), &dead_endpoint(), "0", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another process"), "{err}");
}

#[test]
fn a_storage_path_that_can_never_be_opened_fails_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let a_file = dir.path().join("not-a-directory");
    std::fs::write(&a_file, b"x").unwrap();
    let cases = [
        (dir.path().to_path_buf(), "is a directory"),
        (a_file.join("cairn.db"), "not a directory"),
        (a_file.join("sub").join("cairn.db"), "not a directory"),
        (std::path::PathBuf::from("/proc/cairn.db"), "cannot hold"),
        (
            std::path::PathBuf::from("/proc/self/cairn.db"),
            "cannot hold",
        ),
        (std::path::PathBuf::from("/sys/cairn.db"), "cannot hold"),
    ];
    for (path, says) in cases {
        let started = Instant::now();
        let built = cairn::Client::builder("k")
            .endpoint(dead_endpoint())
            .storage_path(&path)
            .build();
        let err = match built {
            Ok(c) => panic!("{} was accepted: {:?}", path.display(), c.stats()),
            Err(e) => e,
        };
        assert!(
            matches!(err, cairn::Error::Storage { .. }),
            "{}: {err:?}",
            path.display()
        );
        let text = err.to_string();
        assert!(text.contains(says), "{}: {text}", path.display());
        assert!(
            text.contains("storage_path"),
            "the error says what to do: {text}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "build() stays fast: {:?}",
            started.elapsed()
        );
    }
}

/// Starts a process (Python's sqlite3) that holds the write lock of `db`
/// until its standard input gets a line.
fn hold_write_lock(db: &std::path::Path) -> std::process::Child {
    let holder = "import sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)\n\
                  c.execute('BEGIN EXCLUSIVE')\n\
                  print('locked', flush=True)\n\
                  sys.stdin.readline()\n\
                  c.execute('COMMIT')\n";
    let mut other = Command::new("python3")
        .args(["-c", holder, db.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let locked = BufReader::new(other.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(locked, "locked");
    other
}

#[test]
fn events_held_in_memory_are_reported_remaining_by_flush_and_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let server = collector();
    let c = client(&server, &db);
    c.track("Before Lock", json!({})).unwrap();
    assert_eq!(c.flush(Duration::from_secs(10)).unwrap().remaining, 0);
    let mut other = hold_write_lock(&db);
    for n in 0..3u64 {
        c.track("Numbered", json!({ "n": n })).unwrap();
    }
    assert!(
        !c.commit(Duration::from_secs(10)).unwrap(),
        "not durable while locked"
    );
    assert_eq!(c.stats().memory_events, 3, "{:?}", c.stats());
    let report = c.flush(Duration::from_millis(300)).unwrap();
    assert_eq!(
        report.remaining, 3,
        "events held in memory are not delivered: {report:?}"
    );
    assert_eq!(report.delivered, 0);
    let report = c.shutdown(Duration::from_millis(300)).unwrap();
    assert_eq!(
        report.remaining, 3,
        "events that die with the client are remaining, not done: {report:?}"
    );
    writeln!(other.stdin.take().unwrap(), "release").unwrap();
    assert!(other.wait().unwrap().success());
}

#[test]
fn a_truncated_file_is_salvaged_and_what_is_lost_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    {
        let c = cairn::Client::builder("k")
            .endpoint(dead_endpoint())
            .storage_path(&db)
            .flush_at(100_000)
            .build()
            .unwrap();
        c.identify("user-7", json!({ "plan": "pro" })).unwrap();
        for n in 0..500u64 {
            c.track("Numbered", json!({ "n": n, "pad": "p".repeat(200) }))
                .unwrap();
        }
        assert!(c.commit(Duration::from_secs(10)).unwrap());
        c.shutdown(Duration::from_millis(100)).unwrap();
    }
    // The last connection's close checkpointed the WAL into the file.
    let wal = format!("{}-wal", db.display());
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    let before = cairn::store::inspect::inspect(&db, 1_000).unwrap();
    let id_of: std::collections::HashMap<u64, String> = before
        .events
        .iter()
        .filter(|e| e["type"] == "track")
        .map(|e| {
            (
                e["properties"]["n"].as_u64().unwrap(),
                e["messageId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(id_of.len(), 500);
    let recorded = before.queued_events;
    let len = std::fs::metadata(&db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let server = collector();
    let c = client(&server, &db);
    c.track("After", json!({})).unwrap();
    let report = c.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(report.remaining, 0, "{:?}", c.stats());
    let stats = c.stats();
    let events = server.events();
    let salvaged: Vec<_> = events.iter().filter(|e| e["event"] == "Numbered").collect();
    let ns = numbers(&events);
    assert!(
        !salvaged.is_empty(),
        "readable events were salvaged: {stats:?}"
    );
    assert!(ns.windows(2).all(|w| w[0] < w[1]), "in order: {ns:?}");
    for e in &salvaged {
        let n = e["properties"]["n"].as_u64().unwrap();
        assert_eq!(
            e["messageId"].as_str().unwrap(),
            id_of[&n],
            "a salvaged event keeps its message id"
        );
    }
    let identify = events.iter().filter(|e| e["type"] == "identify").count() as u64;
    assert_eq!(
        stats.dropped.corrupt + salvaged.len() as u64 + identify,
        recorded,
        "every event of the truncated file is delivered or counted corrupt: {stats:?}"
    );
    let last_error = stats.last_error.clone().unwrap_or_default();
    assert!(
        last_error.contains("cairn.db.corrupt-") && last_error.contains("salvaged"),
        "{stats:?}"
    );
    let after = events.iter().find(|e| e["event"] == "After").unwrap();
    assert_eq!(after["userId"], "user-7", "the identity was salvaged");
    eprintln!(
        "truncated file: {} of {recorded} events (about {} bytes each) salvaged, {} counted corrupt",
        salvaged.len() as u64 + identify,
        before.queued_bytes / recorded,
        stats.dropped.corrupt
    );
}
