//! The backend example as a real process: requests in, SIGTERM, and every
//! event delivered before it exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use cairn_cli::collector::{Collector, CollectorConfig};

#[test]
fn records_one_event_per_request_and_loses_none_on_sigterm() {
    let server = Collector::start(CollectorConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut service = Command::new(env!("CARGO_BIN_EXE_backend-service"))
        .env("CAIRN_ENDPOINT", server.endpoint())
        .env("CAIRN_STORAGE", dir.path().join("cairn.db"))
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(service.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .expect("prints its address")
        .to_string();

    for i in 0..50 {
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET /orders?user=u-{} HTTP/1.1\r\nHost: x\r\n\r\n",
            i % 4
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    // flush_at is 20: two batches are out; the last 10 wait for flush_interval
    // (1 s) when SIGTERM comes, and shutdown sends them.
    let term = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = service.wait().unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM");
    let last = lines.map_while(Result::ok).last().unwrap_or_default();
    assert!(
        last.starts_with("shutting down: delivered 50 since start (")
            && last.ends_with(" while shutting down), 0 left in the buffer for the next start"),
        "{last}"
    );
    let events = server.events();
    assert_eq!(events.len(), 50, "every request's event arrived");
    assert_eq!(events[5]["userId"], "u-1");
    assert_eq!(events[5]["properties"]["path"], "/orders");
}
