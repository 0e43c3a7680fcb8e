//! A child process for the restart and crash tests: records numbered events
//! into a buffer file, then exits (or is killed by the test).
//!
//! Usage: `cairn-test-child <db> <endpoint> <first> <count> [flush_ms]`.
//! Prints `recorded <n>` after each call returns and `done` at the end.

use std::io::Write;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: cairn-test-child <db> <endpoint> <first> <count> [flush_ms]");
        std::process::exit(2);
    }
    let first: u64 = args[3].parse().expect("first is a number");
    let count: u64 = args[4].parse().expect("count is a number");
    let flush_ms: u64 = args.get(5).map_or(Ok(200), |s| s.parse()).expect("flush_ms is a number");
    let client = cairn::Client::builder("child-key")
        .endpoint(&args[2])
        .storage_path(&args[1])
        .flush_at(50)
        .flush_interval(Duration::from_millis(flush_ms))
        .retry_base_delay(Duration::from_millis(50))
        .max_retry_delay(Duration::from_millis(400))
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client builds");
    let mut out = std::io::stdout().lock();
    for n in first..first + count {
        client.track("Numbered", serde_json::json!({ "n": n })).expect("track");
        let _ = writeln!(out, "recorded {n}");
    }
    let _ = writeln!(out, "done");
    let _ = out.flush();
    // Dropping the client commits what is pending, without waiting for delivery.
}
