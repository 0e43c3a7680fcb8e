//! Encoding a batch for each wire format, and compressing it as the native
//! runtime does (gzip, fastest level) before it goes on the wire.
//!
//! The events are the end-to-end scenario's (about 480 bytes of JSON each,
//! identity and context applied), already stored. A new wire format is one
//! more line in [`FORMATS`].
//!
//! `cargo bench -p cairn --bench wire`

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use flate2::write::GzEncoder;
use serde_json::json;

use cairn::store::StoredEvent;
use cairn::wire::{SegmentWire, Wire};

/// Makes a wire format.
type MakeWire = fn() -> Box<dyn Wire>;

/// Every wire format: its name and how to make one.
const FORMATS: &[(&str, MakeWire)] = &[("segment", || {
    Box::new(SegmentWire::new(
        "http://127.0.0.1:9",
        "bench-write-key",
        true,
    ))
})];

fn events(n: u64) -> Vec<StoredEvent> {
    (0..n)
        .map(|i| {
            let message_id = cairn::ids::message_id();
            let ts = cairn::time::iso8601_ms(1_790_000_000_000 + i as i64);
            let json = json!({
                "type": "track", "event": "Product Viewed",
                "properties": {"sku": format!("SKU-{:04}", (i * 7_919) % 1_000), "index": i,
                               "price": (100 + (i * 31) % 9_900) as f64 / 100.0, "in_stock": !i.is_multiple_of(3),
                               "item": {"category": "games", "rank": i % 50}},
                "userId": "bench-user-42", "anonymousId": "0f6f1c3e-7f59-4b84-9d52-5c2f0c3e1a77",
                "messageId": message_id, "timestamp": ts, "originalTimestamp": ts,
                "context": {"consent": {"categoryPreferences": {}}, "library": {"name": "cairn", "version": cairn::VERSION},
                            "sessionId": 1_790_000_000_000i64},
            })
            .to_string();
            StoredEvent { seq: i + 1, message_id, created_ms: 1_790_000_000_000, json }
        })
        .collect()
}

fn gzip_fast(body: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    enc.write_all(body)
        .and_then(|_| enc.finish())
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let all = events(1_000);
    for (name, make) in FORMATS {
        let wire = make();
        let mut g = c.benchmark_group(format!("wire_{name}"));
        for n in [100usize, 1_000] {
            let batch = &all[..n];
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(format!("encode_{n}"), |b| {
                b.iter(|| wire.encode(black_box(batch), 1_790_000_000_000))
            });
            let body = wire.encode(batch, 1_790_000_000_000).body;
            g.bench_function(format!("gzip_{n}"), |b| {
                b.iter(|| gzip_fast(black_box(&body)))
            });
            println!(
                "{name}, {n} events: {} bytes, {} gzip-compressed ({:.1} per event)",
                body.len(),
                gzip_fast(&body).len(),
                gzip_fast(&body).len() as f64 / n as f64
            );
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
