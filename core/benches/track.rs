//! One `track` on the caller's thread, and its parts: turning the
//! properties into JSON text (`object_from_value`: the client itself writes
//! the same text into a reused per-thread buffer, so it saves this piece's
//! one allocation), building the validated `Call` (name check, message id,
//! timestamp, the texts copied into the call's inline buffer), and the
//! message id alone. What `client_track` costs beyond the parts is the
//! hand-over to the worker (a `try_send` of the call by value on a bounded
//! channel; a full one waits for the worker's next take, see
//! `runtime/room.rs`) and dropping the caller's `Value`.
//!
//! The properties are the end-to-end scenario's shape (string, integer,
//! float, boolean, nested object), built outside the timed loop, as an app
//! builds them before calling. The client's channel is large enough that a
//! timed batch never waits for the worker; the worker catches up (commit)
//! between batches, untimed. The endpoint is a closed port: uploads fail
//! and back off, so delivery does not compete for the CPU.
//!
//! `cargo bench -p cairn --bench track`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};

use cairn::model::{object_from_value, Call};

const NAME: &str = "Product Viewed";
/// Calls timed between two untimed commits.
const CHUNK: u64 = 50_000;

fn properties(i: u64) -> Value {
    json!({
        "sku": format!("SKU-{:04}", i % 1_000),
        "index": i,
        "price": (100 + i % 9_900) as f64 / 100.0,
        "in_stock": !i.is_multiple_of(5),
        "item": { "category": "games", "rank": i % 50 },
    })
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let client = cairn::Client::builder("bench-write-key")
        .endpoint("http://127.0.0.1:9")
        .storage_path(dir.path().join("track.db"))
        .max_pending_calls(CHUNK as usize + 1)
        .max_queue_events(100_000_000)
        .max_queue_bytes(1 << 40)
        .build()
        .expect("a client");

    let mut g = c.benchmark_group("track");
    g.throughput(Throughput::Elements(1));
    g.bench_function("client_track", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = CHUNK.min(iters - done);
                let props: Vec<Value> = (done..done + n).map(properties).collect();
                let start = Instant::now();
                for p in props {
                    let _ = black_box(client.track(NAME, p));
                }
                total += start.elapsed();
                client
                    .commit(Duration::from_secs(120))
                    .expect("the worker catches up");
                done += n;
            }
            total
        })
    });
    g.bench_function("client_track_json", |b| {
        let texts: Vec<String> = (0..1_000).map(|i| properties(i).to_string()).collect();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = CHUNK.min(iters - done);
                let start = Instant::now();
                for i in done..done + n {
                    let _ = black_box(client.track_json(NAME, &texts[(i % 1_000) as usize]));
                }
                total += start.elapsed();
                client
                    .commit(Duration::from_secs(120))
                    .expect("the worker catches up");
                done += n;
            }
            total
        })
    });
    let sample = properties(42);
    g.bench_function("properties_to_json", |b| {
        b.iter(|| object_from_value("properties", black_box(&sample)))
    });
    let raw = object_from_value("properties", &sample).expect("an object");
    g.bench_function("call_track", |b| {
        b.iter_batched(
            || raw.clone(),
            |r| Call::track(black_box(NAME), r, 1_790_000_000_000),
            BatchSize::SmallInput,
        )
    });
    // `enqueue`'s part on the caller's thread: a complete event with its own
    // user id (the backend path) made into a call.
    let event = json!({
        "type": "track",
        "event": NAME,
        "userId": "user-4242",
        "properties": properties(42),
    });
    g.bench_function("call_from_event", |b| {
        b.iter(|| Call::from_event(black_box(&event), 1_790_000_000_000))
    });
    // What `Client::enqueue` runs: the payload written into a reused buffer.
    let mut scratch = Vec::new();
    g.bench_function("call_from_event_in", |b| {
        b.iter(|| Call::from_event_in(black_box(&event), 1_790_000_000_000, &mut scratch))
    });
    g.bench_function("message_id", |b| b.iter(cairn::ids::message_id));
    g.bench_function("drop_properties", |b| {
        b.iter_batched(|| properties(42), drop, BatchSize::SmallInput)
    });
    g.finish();
    drop(client);
}

criterion_group!(benches, bench);
criterion_main!(benches);
