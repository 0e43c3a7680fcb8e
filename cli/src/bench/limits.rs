//! This machine's limits, measured at the start of every run so the budgets
//! are ratios to what the same machine, under the same load, can do at all:
//!
//! - **encode**: `serde_json::to_string` of the scenario's complete wire
//!   event (identity and context included), one event at a time.
//! - **sqlite**: inserting rows of the same size as the scenario's events
//!   into a table shaped like cairn's, in a fresh file in WAL mode with
//!   `synchronous=NORMAL`, 100 rows a transaction, one prepared statement.
//! - **post**: `POST /v1/batch` of 100-event batches over loopback with
//!   ureq to the same collector the phases use, one at a time on one
//!   keep-alive connection; bodies are gzip-compressed beforehand as cairn
//!   sends them, so the figure is transport plus collector.
//!
//! Each measures a fixed amount of work and reports a rate.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use serde::Serialize;
use serde_json::Value;

use super::workload;
use crate::collector::Collector;

/// The three limits of this run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Events serde_json encodes per second.
    pub encode_per_s: f64,
    /// Mean size of the encoded event, bytes.
    pub event_bytes: f64,
    /// Rows SQLite inserts per second (WAL, synchronous=NORMAL, 100 a transaction).
    pub sqlite_rows_per_s: f64,
    /// 100-event batches the collector takes per second over loopback.
    pub post_per_s: f64,
}

impl Limits {
    /// Events per second the loopback POST limit amounts to.
    pub fn post_events_per_s(&self) -> f64 {
        self.post_per_s * 100.0
    }

    /// Seconds the raw limit takes for `events`: encoding them, inserting
    /// them and posting them, one after the other, at this run's rates. What
    /// a client that did nothing but that work, without overlapping any of
    /// it, would take (issue 14's yardstick).
    pub fn raw_limit_s(&self, events: u64) -> f64 {
        let n = events as f64;
        n / self.encode_per_s + n / self.sqlite_rows_per_s + n / self.post_events_per_s()
    }
}

/// How much work each limit measures.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Events encoded.
    pub encode: u64,
    /// Rows inserted.
    pub sqlite: u64,
    /// Batches posted.
    pub posts: u64,
}

/// Distinct events to cycle through (building them is not timed).
const SAMPLE: u64 = 10_000;

fn message_id(i: u64) -> String {
    let a = workload::mix(i);
    let b = workload::mix(!i);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn timestamp(i: u64) -> String {
    cairn::time::iso8601_ms(1_790_000_000_000 + (i / 200) as i64)
}

/// The scenario's events, complete, as JSON values.
pub fn sample_events(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| workload::wire_event(i, &message_id(i), &timestamp(i)))
        .collect()
}

/// Measures all three, `dir` holding the SQLite file.
pub fn measure(dir: &Path, collector: &Collector, sizes: Sizes) -> Result<Limits, String> {
    let events = sample_events(SAMPLE);
    let (encode_per_s, event_bytes) = encode_rate(&events, sizes.encode);
    let rows: Vec<String> = events.iter().map(Value::to_string).collect();
    let sqlite_rows_per_s = sqlite_rate(&dir.join("limit.db"), &rows, sizes.sqlite)
        .map_err(|e| format!("SQLite limit: {e}"))?;
    let post_per_s = post_rate(collector, &events, sizes.posts)?;
    collector.clear();
    Ok(Limits {
        encode_per_s,
        event_bytes,
        sqlite_rows_per_s,
        post_per_s,
    })
}

fn encode_rate(events: &[Value], n: u64) -> (f64, f64) {
    let mut bytes = 0usize;
    let t = Instant::now();
    for i in 0..n {
        // The events are JSON values: encoding them cannot fail.
        let s =
            serde_json::to_string(&events[(i % events.len() as u64) as usize]).unwrap_or_default();
        bytes += s.len();
        std::hint::black_box(s);
    }
    let secs = t.elapsed().as_secs_f64();
    (n as f64 / secs, bytes as f64 / n as f64)
}

fn sqlite_rate(path: &Path, rows: &[String], n: u64) -> rusqlite::Result<f64> {
    let conn = rusqlite::Connection::open(path)?;
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL;
         CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL,
                              created_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, body TEXT NOT NULL);",
    )?;
    let ids: Vec<String> = (0..n).map(message_id).collect();
    let t = Instant::now();
    let mut i = 0u64;
    while i < n {
        let tx = conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (message_id, created_ms, bytes, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for _ in 0..100.min(n - i) {
                let body = &rows[(i % rows.len() as u64) as usize];
                insert.execute(rusqlite::params![
                    ids[i as usize],
                    1_790_000_000_000i64 + i as i64,
                    body.len() as i64,
                    body
                ])?;
                i += 1;
            }
        }
        tx.commit()?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        // Cleaning up a scratch file; a leftover is harmless (it is in the run's temp dir).
        let _ = std::fs::remove_file(std::path::PathBuf::from(p));
    }
    Ok(rate)
}

fn post_rate(collector: &Collector, events: &[Value], batches: u64) -> Result<f64, String> {
    let bodies: Vec<Vec<u8>> = (0..batches)
        .map(|b| {
            let start = (b * 100) as usize % events.len();
            let batch: Vec<&Value> = events.iter().cycle().skip(start).take(100).collect();
            let body = serde_json::json!({ "batch": batch, "sentAt": timestamp(0), "writeKey": "bench-write-key" });
            let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(body.to_string().as_bytes()).and_then(|_| gz.finish())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("could not compress a batch: {e}"))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/v1/batch", collector.endpoint());
    let t = Instant::now();
    for body in &bodies {
        let response = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .send(&body[..])
            .map_err(|e| format!("loopback POST limit: {e}"))?;
        if response.status() != 200 {
            return Err(format!(
                "loopback POST limit: the collector answered {}",
                response.status()
            ));
        }
        // Reading the (small) answer lets the connection be reused.
        let _ = response.into_body().read_to_vec();
    }
    Ok(batches as f64 / t.elapsed().as_secs_f64())
}
