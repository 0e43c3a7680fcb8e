//! The `cairn` binary: help texts, and `cairn collect` serving until killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn cairn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
}

#[test]
fn help_names_every_subcommand() {
    let out = cairn().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("collect") && text.contains("demo"), "{text}");
    let out = cairn().args(["collect", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--port")
            && text.contains("--out")
            && text.contains("--write-key")
            && text.contains("8090"),
        "{text}"
    );
}

#[test]
fn collect_serves_batches_until_killed() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("events.ndjson");
    let mut child = cairn()
        .args(["collect", "--port", "0", "--write-key", "k", "--out"])
        .arg(&out_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    let port: u16 = banner
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{banner}"));

    let body = r#"{"batch":[{"type":"track","event":"CLI Works","anonymousId":"a","messageId":"m1","timestamp":"2026-01-31T12:00:00Z"}]}"#;
    // "k:" in base64 is "azo=".
    let req = format!(
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic azo=\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // The event is printed and appended to the file.
    let mut printed = String::new();
    while !printed.contains("CLI Works") {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "stdout closed: {printed}"
        );
        printed.push_str(&line);
    }
    let saved = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        saved.contains("\"CLI Works\"") && saved.ends_with('\n'),
        "{saved}"
    );

    child.kill().unwrap();
    child.wait().unwrap();
}
