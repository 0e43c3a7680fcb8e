//! A child process for the restart, storage-fault and crash tests: records
//! numbered events into a buffer file and reports on stdout what is durable.
//!
//! Usage: `cairn-test-child <mode> <db> <endpoint> [args]`
//! - `record <first> <count>`: records, commits, prints `durable <n>` and `done`.
//! - `crash <first>`: records forever, printing `returned <n> <unix µs>`
//!   as each call returns and `durable <n>` after every eighth burst's
//!   commit, until the test kills it.
//! - `fill`: records 4 KB events until the disk refuses them, then 10 more;
//!   prints `failing <events in memory>` and `done`.
//! - `readonly`: records 5 events on a file it cannot write, prints
//!   `failing <events in memory>`, waits for a line on stdin, then waits for
//!   the disk to work and flushes; prints `delivered <n>`.
//! - `marked <first>`: enqueues complete events `mk-<n>` from `first` on,
//!   each with the mark `<n>`, until the test kills it.
//! - `fork`: records, forks, and in the child calls every kind of call on
//!   the inherited client (printing `forked <call>: <error>`), then builds
//!   its own client on `<db>.child` and delivers one event; the parent
//!   records again after the child exits.
//!
//! With `CAIRN_CHILD_SECOND_ENDPOINT` set, the client also delivers to a
//! second destination (Segment's format, named `second`) at that endpoint.

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
    let mut builder = cairn::Client::builder("child-key");
    if let Ok(second) = std::env::var("CAIRN_CHILD_SECOND_ENDPOINT") {
        builder = builder.add_destination(cairn::Destination::new(
            "second",
            cairn::DestinationKind::Segment,
            second,
            "child-key",
        ));
    }
    let client = builder
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
    if mode == "fork" {
        fork_mode(&client, db, endpoint);
        return;
    }
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
            // Records in bursts, saying when each call returned (`returned
            // <n> <unix µs>`, for the harness's loss window), and now and
            // then asks for a commit and says what is durable.
            let mut n = num(4);
            for round in 0u64.. {
                for _ in 0..7 {
                    client.track("Numbered", json!({ "n": n })).expect("track");
                    say(format!("returned {n} {}", unix_us()));
                    n += 1;
                }
                if round % 8 == 7 && client.commit(Duration::from_secs(10)).expect("commit") {
                    say(format!("durable {}", n - 1));
                }
                std::thread::sleep(Duration::from_millis(1));
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
            // Once the file is writable the events may go out before the
            // flush is taken (its report counts only what it waited for):
            // what was delivered in all, once nothing remains, is the figure.
            let report = client.flush(Duration::from_secs(10)).expect("flush");
            say(format!(
                "delivered {} remaining {}",
                client.stats().delivered_events,
                report.remaining
            ));
        }
        "marked" => {
            // Complete events, each marked with its number (what `cairn
            // send` does with input lines), until the test kills it.
            say("started".into());
            for n in num(4).. {
                let event = json!({
                    "type": "track", "event": "Marked", "userId": "u-1",
                    "messageId": format!("mk-{n}"), "properties": { "n": n },
                });
                client
                    .enqueue_marked(&event, n.to_string())
                    .expect("enqueue_marked");
                if n % 50 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

/// Microseconds since the Unix epoch: the harness compares them with its own
/// reading at the kill.
fn unix_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// What a pre-fork server does: a client built in the parent, used in a child.
fn fork_mode(client: &cairn::Client, db: &str, endpoint: &str) {
    client
        .track("Parent Before Fork", json!({}))
        .expect("track");
    client.commit(Duration::from_secs(10)).expect("commit");
    // SAFETY: the child only makes cairn calls that answer at once, builds a
    // new client (new threads of its own) and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        eprintln!("fork failed");
        std::process::exit(4);
    }
    if pid == 0 {
        let show = |call: &str, r: Result<String, cairn::Error>| {
            println!("forked {call}: {}", r.unwrap_or_else(|e| e.to_string()));
        };
        show(
            "track",
            client.track("In Child", json!({})).map(|_| "ok".into()),
        );
        show(
            "identify",
            client.identify("u-child", json!({})).map(|_| "ok".into()),
        );
        show(
            "flush",
            client
                .flush(Duration::from_secs(2))
                .map(|r| format!("{r:?}")),
        );
        show(
            "commit",
            client
                .commit(Duration::from_secs(2))
                .map(|r| format!("{r:?}")),
        );
        show(
            "forget",
            client
                .forget(Duration::from_secs(2))
                .map(|r| format!("{r:?}")),
        );
        // More calls than max_pending_calls: none may block.
        let mut last = Ok("ok".to_string());
        for n in 0..20_000u64 {
            if let Err(e) = client.track("Many", json!({ "n": n })) {
                last = Err(e);
            }
        }
        show("track-many", last);
        show(
            "shutdown",
            client
                .shutdown(Duration::from_secs(2))
                .map(|r| format!("{r:?}")),
        );
        println!("forked stats: {:?}", client.stats().last_error);
        let own = cairn::Client::builder("child-key")
            .endpoint(endpoint)
            .storage_path(format!("{db}.child"))
            .build()
            .expect("a client built after fork");
        own.track("Child Own Client", json!({})).expect("track");
        let report = own.shutdown(Duration::from_secs(10)).expect("shutdown");
        println!("forked own client delivered {}", report.delivered);
        println!("forked child done");
        std::process::exit(if report.delivered == 1 { 0 } else { 5 });
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    // More forks while the busy client records: each child builds a client
    // of its own and commits with it (it would hang on a SQLite lock held
    // at the fork; one fork in a few hits such a moment).
    for i in 0..40 {
        // A client whose worker is opening its file as the fork happens.
        let opening = cairn::Client::builder("child-key")
            .endpoint(endpoint)
            .storage_path(format!("{db}.opening{i}"))
            .build()
            .expect("a client");
        // Fork at a different point of its opening each time.
        std::thread::sleep(Duration::from_micros(150 * (i % 16)));
        // SAFETY: as above; the child builds a client and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let own = cairn::Client::builder("child-key")
                .endpoint(endpoint)
                .storage_path(format!("{db}.child{i}"))
                .build()
                .expect("a client built after fork");
            own.track("Child Commit", json!({ "i": i })).expect("track");
            let durable = own.commit(Duration::from_secs(10)).unwrap_or(false);
            std::process::exit(if durable { 0 } else { 7 });
        }
        let mut child_status = 0;
        // SAFETY: as above.
        unsafe { libc::waitpid(pid, &mut child_status, 0) };
        if !(libc::WIFEXITED(child_status) && libc::WEXITSTATUS(child_status) == 0) {
            println!("fork {i}: the child failed ({child_status})");
            std::process::exit(8);
        }
        drop(opening);
    }
    println!("forks while busy: 40 children committed with clients of their own");
    client.track("Parent After Fork", json!({})).expect("track");
    let report = client.shutdown(Duration::from_secs(10)).expect("shutdown");
    println!(
        "parent delivered {} remaining {}",
        report.delivered, report.remaining
    );
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && report.remaining == 0;
    std::process::exit(if ok { 0 } else { 6 });
}
