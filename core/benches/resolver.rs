//! Throughput of identity stitching: 1,000,000 edges (anonymous id to user
//! id, 250,000 people with 4 devices each, in shuffled order) through
//! `cairn::identity::Resolver`.
//!
//! `cargo bench -p cairn --bench resolver` (criterion prints elements/s).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use cairn::identity::{IdKind, Resolver};

fn edges(n: usize) -> Vec<(String, String)> {
    let people = n / 4;
    let mut edges: Vec<(String, String)> = (0..n)
        .map(|i| (format!("anon-{i:08}"), format!("user-{:08}", i % people)))
        .collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..edges.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        edges.swap(i, (x % (i as u64 + 1)) as usize);
    }
    edges
}

fn bench(c: &mut Criterion) {
    let edges = edges(1_000_000);
    let mut group = c.benchmark_group("identity_resolver");
    group.sample_size(10);
    group.throughput(Throughput::Elements(edges.len() as u64));
    group.bench_function("link_1m_edges", |b| {
        b.iter(|| {
            let mut r = Resolver::new();
            for (a, u) in &edges {
                r.link((IdKind::Anonymous, a), (IdKind::User, u));
            }
            assert_eq!(r.components(), 250_000);
            r
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
