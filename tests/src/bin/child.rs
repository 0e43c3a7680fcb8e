//! A child process for the restart, storage-fault and crash tests: records
//! numbered events into a buffer file and reports on stdout what is durable.
//!
//! Usage: `cairn-test-child <mode> <db> <endpoint> [args]`
//! - `record <first> <count>`: records, commits, prints `durable <n>` and `done`.
//! - `crash <first>`: records forever, printing `durable <n>` after each
//!   commit, until the test kills it.
//! - `fill`: records 4 KB events until the disk refuses them, then 10 more;
//!   prints `failing <events in memory>` and `done`.
//! - `readonly`: records 5 events on a file it cannot write, prints
//!   `failing <events in memory>`, waits for a line on stdin, then waits for
//!   the disk to work and flushes; prints `delivered <n>`.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use cairn::StorageState;
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: cairn-test-child <mode> <db> <endpoint> [args]");
        std::process::exit(2);
    }
    let (mode, db, endpoint) = (args[1].as_str(), &args[2], &args[3]);
    let num = |i: usize| -> u64 { args.get(i).and_then(|s| s.parse().ok()).unwrap_or(0) };
    let client = cairn::Client::builder("child-key")
        .endpoint(endpoint)
        .storage_path(db)
        .flush_at(50)
        .flush_interval(Duration::from_millis(100))
        .retry_base_delay(Duration::from_millis(50))
        .max_retry_delay(Duration::from_millis(400))
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| {
            eprintln!("cairn: {e}");
            std::process::exit(3);
        });
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    match mode {
        "record" => {
            let (first, count) = (num(4), num(5));
            for n in first..first + count {
                client.track("Numbered", json!({ "n": n })).expect("track");
            }
            assert!(client.commit(Duration::from_secs(10)).expect("commit"));
            say(format!("durable {}", first + count - 1));
            say("done".into());
        }
        "crash" => {
            let mut n = num(4);
            loop {
                for _ in 0..7 {
                    client.track("Numbered", json!({ "n": n })).expect("track");
                    n += 1;
                }
                if client.commit(Duration::from_secs(10)).expect("commit") {
                    say(format!("durable {}", n - 1));
                }
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        "fill" => {
            let big = "x".repeat(4_000);
            let start = Instant::now();
            let mut n = 0u64;
            let mut durable = None;
            while client.stats().storage == StorageState::Ok
                && start.elapsed() < Duration::from_secs(30)
            {
                client
                    .track("Big", json!({ "n": n, "pad": big }))
                    .expect("track keeps working");
                n += 1;
                if n.is_multiple_of(5) && client.commit(Duration::from_secs(5)).unwrap_or(false) {
                    durable = Some(n - 1);
                }
            }
            if let Some(d) = durable {
                say(format!("durable {d}"));
            }
            for _ in 0..10 {
                client
                    .track("Big", json!({ "n": n, "pad": big }))
                    .expect("track keeps working on a full disk");
                n += 1;
            }
            let _ = client.commit(Duration::from_secs(5));
            let s = client.stats();
            say(format!("failing {} {:?}", s.memory_events, s.storage));
            say("done".into());
        }
        "readonly" => {
            for n in 0..5u64 {
                client
                    .track("Numbered", json!({ "n": n }))
                    .expect("track on a read-only file");
            }
            let durable = client.commit(Duration::from_secs(10)).expect("commit");
            let s = client.stats();
            say(format!(
                "failing {} durable={durable} {:?}",
                s.memory_events, s.storage
            ));
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            let start = Instant::now();
            while client.stats().storage != StorageState::Ok
                && start.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            let report = client.flush(Duration::from_secs(10)).expect("flush");
            say(format!("delivered {}", report.delivered));
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
