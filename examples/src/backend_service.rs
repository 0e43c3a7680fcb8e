//! A backend service recording product events with cairn.
//!
//! It starts a local collector (standing in for Segment or RudderStack), then
//! plays four "request handler" threads sharing one `Client`: each records
//! what its requests did. At shutdown it flushes and prints what arrived.
//!
//! Run: `cargo run -p cairn-examples --bin backend-service`
//! Against a real backend: `CAIRN_ENDPOINT=https://... CAIRN_WRITE_KEY=... cargo run ...`

use std::sync::Arc;
use std::time::Duration;

use cairn_cli::collector::{Collector, CollectorConfig};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real service reads these from its configuration.
    let local = Collector::start(CollectorConfig::default())?;
    let endpoint = std::env::var("CAIRN_ENDPOINT").unwrap_or_else(|_| local.endpoint());
    let write_key = std::env::var("CAIRN_WRITE_KEY").unwrap_or_else(|_| "example-write-key".into());
    let dir = std::env::temp_dir().join(format!("cairn-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let client = Arc::new(
        cairn::Client::builder(write_key)
            .endpoint(endpoint)
            .storage_path(dir.join("events.db"))
            .build()?,
    );

    let handlers: Vec<_> = (0..4)
        .map(|worker| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || -> Result<(), cairn::Error> {
                for request in 0..25 {
                    let user = format!("user-{}", (worker * 25 + request) % 10);
                    // A server knows who the user is on each request: identify
                    // once per login, then track with that user id in properties.
                    client.track("API Request", json!({ "route": "/orders", "worker": worker, "user": user }))?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handlers {
        h.join().map_err(|_| "a handler thread panicked")??;
    }

    let report = client.shutdown(Duration::from_secs(10))?;
    println!("delivered {} events, {} left on disk for the next start", report.delivered, report.remaining);
    println!("the collector received {} events", local.events().len());
    let stats = client.stats();
    println!("dropped: {} (by reason: {:?})", stats.dropped.total(), stats.dropped);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
