//! A process forked while a client records fast enough that its buffer
//! file's WAL is being checkpointed (a pre-fork server, Python's
//! multiprocessing) can still open and write a SQLite file of its own: the
//! worker and the checkpoint thread enter SQLite only inside the fork guard
//! (runtime/fork.rs, store/checkpoint.rs), so the child inherits no SQLite
//! lock one of them held. Its own binary: another test's SQLite use on
//! other threads, outside any guard, could hang a child too.

#![cfg(unix)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

/// Enough forks that some land inside a checkpoint: with the checkpoint
/// thread outside the guard, a child hung in 3 of 4 runs of 300.
const FORKS: usize = 300;

fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|comm| comm.trim() == name)
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_child_forked_while_the_wal_is_checkpointed_can_write_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(
        cairn::Client::builder("k")
            // Nothing listens: events stay queued, the file keeps growing.
            .endpoint("http://127.0.0.1:9")
            .storage_path(dir.path().join("c.db"))
            .build()
            .unwrap(),
    );
    let own = dir.path().join("own.db");
    let stop = Arc::new(AtomicBool::new(false));
    let recorder = {
        let (client, stop) = (Arc::clone(&client), Arc::clone(&stop));
        std::thread::spawn(move || {
            let pad = "p".repeat(1_000);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                client.track("Tapped", json!({"i": i, "pad": pad})).unwrap();
                i += 1;
            }
        })
    };
    // The checkpoint thread starts at the WAL's first 1,000 pages.
    let started = std::time::Instant::now();
    while threads_named("cairn-checkpoin") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no checkpoint thread started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut hung = 0;
    for _ in 0..FORKS {
        // SAFETY: the child only opens and writes a SQLite file of its own
        // and exits with `_exit`, running nothing of the test harness.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: plain calls; a hung child is ended by the alarm.
            unsafe { libc::alarm(2) };
            let ok = rusqlite::Connection::open(&own)
                .and_then(|c| {
                    c.execute_batch("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1);")
                })
                .is_ok();
            // SAFETY: ends the child without unwinding into the harness.
            unsafe { libc::_exit(if ok { 0 } else { 3 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if status != 0 {
            hung += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    recorder.join().unwrap();
    assert_eq!(
        hung, 0,
        "children that could not write their own file, of {FORKS}"
    );
}
