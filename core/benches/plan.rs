//! What a tracking plan costs a `track`, in one run beside the same call
//! without a plan (budget: +0.3 µs p50 for a planned event with 5
//! properties; an app without a plan pays nothing, as it runs no plan code).
//!
//! - `record_unplanned` / `record_planned_5`: one `track` through the
//!   recorder (identity, session, context, the plan's verdict, the event
//!   encoded to its wire JSON) over a memory store: the worker's work per
//!   call, minus SQLite. The plan has rules for all 5 properties (types,
//!   `required`, a pattern, a minimum, an enum, a nested object), and the
//!   event meets them, the usual case.
//! - `check_5`: the verdict alone (`TrackingPlan::check_call`), reading the
//!   properties back from the call's JSON text.
//!
//! Calls are built outside the timed loop; the recorder commits between
//! chunks, untimed.
//!
//! `cargo bench -p cairn --bench plan`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;

use cairn::config::ClientBuilder;
use cairn::engine::{Engine, EngineConfig};
use cairn::model::{object_from_value, Call};
use cairn::plan::TrackingPlan;
use cairn::recorder::{Recorder, RecorderSettings};
use cairn::store::MemoryStore;
use cairn::wire::SegmentWire;

const NOW: i64 = 1_790_000_000_000;
const CHUNK: u64 = 10_000;

const PLAN: &str = r#"{
  "id": "bench", "version": "1",
  "events": { "Product Viewed": { "properties": {
    "type": "object", "required": ["sku", "index", "price"],
    "properties": {
      "sku": { "type": "string", "pattern": "^SKU-[0-9]{4}$" },
      "index": { "type": "integer", "minimum": 0 },
      "price": { "type": "number", "exclusiveMinimum": 0 },
      "in_stock": { "type": "boolean" },
      "item": { "type": "object", "properties": {
        "category": { "enum": ["games", "books", "music"] },
        "rank": { "type": "integer" } } } } } } }
}"#;

fn calls(from: u64, n: u64) -> Vec<Call> {
    (from..from + n)
        .map(|i| {
            let props = json!({"sku": format!("SKU-{:04}", i % 1_000), "index": i,
                               "price": (100 + i % 9_900) as f64 / 100.0, "in_stock": !i.is_multiple_of(5),
                               "item": {"category": "games", "rank": i % 50}});
            let raw = object_from_value("properties", &props).expect("an object");
            Call::track("Product Viewed", raw, NOW + i as i64).expect("a valid call")
        })
        .collect()
}

fn rig(plan: Option<Arc<TrackingPlan>>) -> (Engine, Recorder) {
    let mut b = ClientBuilder::new("bench-write-key")
        .endpoint("http://127.0.0.1:9")
        .flush_at(1_000_000)
        .max_queue_events(100_000_000)
        .max_queue_bytes(1 << 40);
    if let Some(p) = plan {
        b = b.tracking_plan_compiled(p);
    }
    let config = b.config().expect("a valid configuration");
    let mut store = MemoryStore::new();
    let recorder = Recorder::load(RecorderSettings::from(&config), &mut store, None);
    let wire = SegmentWire::new(&config.endpoint, &config.write_key, true);
    let engine = Engine::new(
        EngineConfig::from(&config),
        Box::new(store),
        Box::new(wire),
        7,
        NOW,
    );
    (engine, recorder)
}

fn bench(c: &mut Criterion) {
    let plan = Arc::new(TrackingPlan::parse(PLAN).expect("the bench plan"));
    let mut g = c.benchmark_group("plan");
    g.throughput(Throughput::Elements(1));
    for (name, plan) in [
        ("record_unplanned", None),
        ("record_planned_5", Some(Arc::clone(&plan))),
    ] {
        let (mut engine, mut recorder) = rig(plan);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let n = CHUNK.min(iters - done);
                    let chunk = calls(done, n);
                    let start = Instant::now();
                    for call in chunk {
                        recorder.record(call, &mut engine, NOW);
                    }
                    total += start.elapsed();
                    recorder.commit(&mut engine, NOW);
                    done += n;
                }
                total
            })
        });
        assert_eq!(
            recorder.plan_stats().total(),
            0,
            "the bench's events meet the plan"
        );
    }
    let sample = calls(0, 1_000);
    g.bench_function("check_5", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % sample.len();
            black_box(plan.check_call(&sample[i], None))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
