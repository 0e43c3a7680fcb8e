//! The SQLite store's three hot operations, on a real file (WAL,
//! `synchronous=NORMAL`, as the client opens it):
//!
//! - `insert_100`: one `append` of 100 events, one transaction (the worker's
//!   group commit);
//! - `claim_1000`: the next 1,000 events for a batch (and giving the claim
//!   back, which touches no disk);
//! - `ack_1000`: marking a delivered batch of 1,000 done, which deletes its rows.
//! - `cycle_1000`: the worker's steady state, per 1,000 events: eight appends
//!   of 125 (its commits while the app records), one claim of the 1,000 and
//!   their ack.
//! - `behind_cycle_1000`: the same with 20,000 events queued ahead of the
//!   claims (the worker behind the app in a burst): the acked rows are
//!   never the whole file, so they cannot be freed by emptying the file.
//!
//! Events are about 480 bytes of JSON, as in the end-to-end scenario, and
//! written as the recorder writes them, so the file keeps their context once
//! (`store/compact.rs`). `claim_1000_whole` and `cycle_1000_whole` are the
//! same with events stored whole (a timestamp other than the recording
//! time: as a file of schema 1 kept every event).
//!
//! `cargo bench -p cairn --bench store`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use cairn::store::{NewEvent, SqliteStore, Store, DEFAULT_DESTINATION};

fn event(i: u64, whole: bool) -> NewEvent {
    let message_id = cairn::ids::message_id();
    let created_ms = 1_790_000_000_000 + i as i64;
    let timestamp = cairn::time::iso8601_ms(created_ms + i64::from(whole));
    let json = format!(
        concat!(
            r#"{{"type":"track","event":"Product Viewed","properties":{{"sku":"SKU-{:04}","index":{},"price":{}.{:02},"in_stock":true,"#,
            r#""item":{{"category":"games","rank":{}}}}},"userId":"bench-user-42","anonymousId":"0f6f1c3e-7f59-4b84-9d52-5c2f0c3e1a77","#,
            r#""messageId":"{}","timestamp":"{}","originalTimestamp":"{}","#,
            r#""context":{{"consent":{{"categoryPreferences":{{}}}},"library":{{"name":"cairn","version":"0.1.0"}},"sessionId":1790000000000}}}}"#
        ),
        (i * 7_919) % 1_000,
        i,
        1 + i % 99,
        i % 100,
        i % 50,
        message_id,
        timestamp,
        timestamp
    );
    NewEvent {
        message_id,
        created_ms,
        json,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut store = SqliteStore::open(dir.path().join("store.db")).expect("a store");
    let batch: Vec<NewEvent> = (0..100).map(|i| event(i, false)).collect();

    let mut g = c.benchmark_group("sqlite_store");
    g.throughput(Throughput::Elements(100));
    g.bench_function("insert_100", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let start = Instant::now();
                store.append(&batch, &[]).expect("append");
                total += start.elapsed();
                if i % 100 == 99 {
                    // Keep the file the size a live buffer has (untimed).
                    store.clear().expect("clear");
                }
            }
            store.clear().expect("clear");
            total
        })
    });

    g.throughput(Throughput::Elements(1_000));
    for (suffix, whole) in [("", false), ("_whole", true)] {
        let thousand: Vec<NewEvent> = (0..1_000).map(|i| event(i, whole)).collect();
        for _ in 0..100 {
            store.append(&thousand, &[]).expect("append");
        }
        g.bench_function(format!("claim_1000{suffix}"), |b| {
            b.iter(|| {
                let claimed = store
                    .claim(DEFAULT_DESTINATION, 1_000, 1 << 20)
                    .expect("claim");
                store.release(DEFAULT_DESTINATION);
                claimed
            })
        });
        store.clear().expect("clear");

        if !whole {
            g.bench_function("ack_1000", |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        store.append(&thousand, &[]).expect("append");
                        let claimed = store
                            .claim(DEFAULT_DESTINATION, 1_000, 1 << 20)
                            .expect("claim");
                        let last = claimed.last().map_or(0, |e| e.seq);
                        let start = Instant::now();
                        store.ack(DEFAULT_DESTINATION, last).expect("ack");
                        total += start.elapsed();
                    }
                    total
                })
            });
        }

        let chunks: Vec<Vec<NewEvent>> = thousand.chunks(125).map(<[NewEvent]>::to_vec).collect();
        g.bench_function(format!("cycle_1000{suffix}"), |b| {
            b.iter(|| cycle(&mut store, &chunks))
        });
        store.clear().expect("clear");

        if !whole {
            for _ in 0..20 {
                store.append(&thousand, &[]).expect("append");
            }
            g.bench_function("behind_cycle_1000", |b| {
                b.iter(|| cycle(&mut store, &chunks))
            });
            store.clear().expect("clear");
        }
    }
    g.finish();
}

/// The worker's cycle: `chunks` appended one commit each, then the oldest
/// 1,000 events claimed and acknowledged.
fn cycle(store: &mut SqliteStore, chunks: &[Vec<NewEvent>]) {
    for chunk in chunks {
        store.append(chunk, &[]).expect("append");
    }
    let claimed = store
        .claim(DEFAULT_DESTINATION, 1_000, 1 << 20)
        .expect("claim");
    let last = claimed.last().map_or(0, |e| e.seq);
    store.ack(DEFAULT_DESTINATION, last).expect("ack");
}

criterion_group!(benches, bench);
criterion_main!(benches);
