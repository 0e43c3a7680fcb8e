//! A backend service that records one product event per HTTP request with
//! cairn, and shuts down on SIGTERM without losing any.
//!
//! `GET /orders?user=u-42` answers `ok` and records `API Request` for user
//! `u-42` (with `Client::enqueue`, since a server serves many users, each
//! event names its own). On SIGTERM or Ctrl-C it stops accepting, then
//! `shutdown` flushes for up to 5 s; anything not delivered by then stays in
//! the buffer file and goes out at the next start.
//!
//! Run it against a local collector it starts itself:
//!   cargo run -p cairn-examples --bin backend-service
//!   curl 'http://127.0.0.1:PORT/orders?user=u-42'   (PORT as printed)
//! Against your backend: CAIRN_ENDPOINT=https://... CAIRN_WRITE_KEY=... PORT=8080 CAIRN_STORAGE=/var/lib/app/cairn.db

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))?;

    // Without CAIRN_ENDPOINT, a local collector stands in for the backend.
    let local = match std::env::var("CAIRN_ENDPOINT") {
        Ok(_) => None,
        Err(_) => Some(Collector::start(CollectorConfig {
            print: true,
            ..Default::default()
        })?),
    };
    let endpoint = std::env::var("CAIRN_ENDPOINT")
        .unwrap_or_else(|_| local.as_ref().map(|c| c.endpoint()).unwrap_or_default());
    let storage = std::env::var("CAIRN_STORAGE").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("cairn-backend-example.db")
            .display()
            .to_string()
    });
    let client = cairn::Client::builder(
        std::env::var("CAIRN_WRITE_KEY").unwrap_or_else(|_| "example-key".into()),
    )
    .endpoint(endpoint)
    .storage_path(storage)
    .flush_interval(Duration::from_secs(1))
    .max_batch_events(500)
    .build()?;

    let listener = TcpListener::bind((
        "127.0.0.1",
        std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
    ))?;
    listener.set_nonblocking(true)?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;

    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = handle(stream, &client) {
                    eprintln!("request failed: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(e.into()),
        }
    }

    let report = client.shutdown(Duration::from_secs(5))?;
    // `report.delivered` is what the shutdown itself waited for; most events
    // went out long before, with flush_at and flush_interval.
    println!(
        "shutting down: delivered {} since start ({} while shutting down), {} left in the buffer for the next start",
        client.stats().delivered_events,
        report.delivered,
        report.remaining
    );
    Ok(())
}

/// Serves one request (one per connection, to keep the example short).
fn handle(stream: TcpStream, client: &cairn::Client) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let user = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("user="))
        .unwrap_or("anonymous-caller");
    let event = json!({ "type": "track", "event": "API Request", "userId": user, "properties": { "path": path } });
    let (status, body) = match client.enqueue(&event) {
        Ok(()) => ("200 OK", "ok\n".to_string()),
        Err(e) => ("400 Bad Request", format!("{e}\n")),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
