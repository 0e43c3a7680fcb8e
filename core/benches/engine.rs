//! The engine's batching, without disk or network: a [`MemoryStore`] and the
//! Segment wire format.
//!
//! - `record_encode_1000`: 1,000 `track` calls through the recorder
//!   (identity, session and context stamped, each event encoded to its wire
//!   JSON once) and committed to the engine: the worker's work per call,
//!   minus SQLite.
//! - `batch_cycle_1000`: 1,000 stored events claimed into batches of 100,
//!   each encoded as a request body and acknowledged with a 200.
//!
//! `cargo bench -p cairn --bench engine`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;

use cairn::config::ClientBuilder;
use cairn::engine::{Engine, EngineConfig};
use cairn::model::{object_from_value, Call};
use cairn::recorder::{Recorder, RecorderSettings};
use cairn::stats::DropReason;
use cairn::store::{MemoryStore, NewEvent};
use cairn::wire::{HttpResponse, SegmentWire};

const NOW: i64 = 1_790_000_000_000;

fn engine(config: &cairn::Config) -> Engine {
    let wire = SegmentWire::new(&config.endpoint, &config.write_key, true);
    Engine::new(
        EngineConfig::from(config),
        Box::new(MemoryStore::new()),
        Box::new(wire),
        7,
        NOW,
    )
}

fn calls(n: u64) -> Vec<Call> {
    (0..n)
        .map(|i| {
            let props = json!({"sku": format!("SKU-{:04}", i % 1_000), "index": i, "price": 19.99, "in_stock": true,
                               "item": {"category": "games", "rank": i % 50}});
            let raw = object_from_value("properties", &props).expect("an object");
            Call::track("Product Viewed", raw, NOW + i as i64).expect("a valid call")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = ClientBuilder::new("bench-write-key")
        .endpoint("http://127.0.0.1:9")
        .max_queue_events(100_000_000)
        .max_queue_bytes(1 << 40)
        .config()
        .expect("a valid configuration");
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1_000));

    let mut eng = engine(&config);
    let mut recorder = Recorder::load(
        RecorderSettings::from(&config),
        &mut MemoryStore::new(),
        None,
    );
    let template = calls(1_000);
    g.bench_function("record_encode_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = template.clone();
                let start = Instant::now();
                for call in batch {
                    recorder.record(call, &mut eng, NOW);
                }
                black_box(recorder.commit(&mut eng, NOW));
                total += start.elapsed();
                // Empty the store again, untimed.
                eng.purge(DropReason::Consent, NOW);
            }
            total
        })
    });

    let mut eng = engine(&config);
    let stored: Vec<NewEvent> = {
        let mut rec = Recorder::load(
            RecorderSettings::from(&config),
            &mut MemoryStore::new(),
            None,
        );
        let mut scratch = engine(&config);
        for call in calls(1_000) {
            rec.record(call, &mut scratch, NOW);
        }
        rec.commit(&mut scratch, NOW);
        let mut out = Vec::new();
        while let Some(u) = scratch.poll_upload(NOW) {
            let body: serde_json::Value =
                serde_json::from_slice(&u.request.body).expect("a JSON body");
            for e in body["batch"].as_array().into_iter().flatten() {
                let id = e["messageId"].as_str().unwrap_or_default().to_string();
                out.push(NewEvent {
                    message_id: id,
                    created_ms: NOW,
                    json: e.to_string(),
                });
            }
            let ok = HttpResponse {
                status: 200,
                retry_after: None,
                body: String::new(),
            };
            scratch.on_upload_result(u.id, Ok(ok), NOW);
        }
        out
    };
    g.bench_function("batch_cycle_1000", |b| {
        b.iter_batched(
            || stored.clone(),
            |events| {
                eng.record(events, Vec::new(), NOW);
                eng.flush();
                let mut sent = 0;
                while let Some(u) = eng.poll_upload(NOW) {
                    sent += black_box(&u.request.body).len();
                    let ok = HttpResponse {
                        status: 200,
                        retry_after: None,
                        body: String::new(),
                    };
                    eng.on_upload_result(u.id, Ok(ok), NOW);
                }
                sent
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
