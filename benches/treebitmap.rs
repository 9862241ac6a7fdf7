//! Criterion benchmarks of the tree bitmap on the full 2014 IPv4 table (512,621
//! prefixes, pyasn's `ipasn_20140513.dat.gz`) and the 2015 IPv6 table (27,693
//! prefixes), read from `../shared/data`. Run with `make bench`.

// Each bench uses only part of the shared helpers.
#[allow(dead_code)]
mod common;

use common::{build_tree as build, inside, ipasn, Rng};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

fn bench_v4(c: &mut Criterion) {
    let (v4, _) = ipasn("ipasn_20140513.dat.gz");
    let table = build(&v4);
    eprintln!(
        "IPv4 tree bitmap: {} prefixes, {} nodes, {} bytes ({:.1} bytes/prefix)",
        table.len(),
        table.node_count(),
        table.nbytes(),
        table.nbytes() as f64 / table.len() as f64
    );
    let mut g = c.benchmark_group("ipv4");
    g.sample_size(10);
    g.bench_function("insert_full_table", |b| b.iter(|| black_box(build(&v4))));
    g.bench_function("remove_full_table", |b| {
        b.iter_batched(
            || build(&v4),
            |mut t| {
                for (p, _) in &v4 {
                    t.remove(p);
                }
                t
            },
            BatchSize::LargeInput,
        )
    });
    let mut rng = Rng(0x5EED);
    // Updates on the live full table: 1,000 of its prefixes removed and put back, so
    // the table stays full (2,000 updates per iteration).
    let churn: Vec<_> = (0..1000)
        .map(|_| v4[rng.next() as usize % v4.len()])
        .collect();
    let mut live = build(&v4);
    g.throughput(Throughput::Elements(2 * churn.len() as u64));
    g.bench_function("update_live_table", |b| {
        b.iter(|| {
            for (p, _) in &churn {
                live.remove(p);
            }
            for (p, v) in &churn {
                live.insert(p, *v);
            }
        })
    });
    let uniform: Vec<u32> = (0..100_000).map(|_| rng.next() as u32).collect();
    let announced = inside(&v4, 100_000, &mut rng);
    for (name, addrs) in [
        ("longest_match_uniform", &uniform),
        ("longest_match_announced", &announced),
    ] {
        g.throughput(Throughput::Elements(addrs.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| addrs.iter().filter_map(|&a| table.longest_match(a)).count())
        });
    }
    g.finish();
}

fn bench_v6(c: &mut Criterion) {
    let (_, v6) = ipasn("ipasn6_20151101.dat.gz");
    let table = build(&v6);
    eprintln!(
        "IPv6 tree bitmap: {} prefixes, {} nodes, {} bytes ({:.1} bytes/prefix)",
        table.len(),
        table.node_count(),
        table.nbytes(),
        table.nbytes() as f64 / table.len() as f64
    );
    let mut g = c.benchmark_group("ipv6");
    g.sample_size(10);
    g.bench_function("insert_full_table", |b| b.iter(|| black_box(build(&v6))));
    let mut rng = Rng(0x5EED);
    let announced = inside(&v6, 100_000, &mut rng);
    g.throughput(Throughput::Elements(announced.len() as u64));
    g.bench_function("longest_match_announced", |b| {
        b.iter(|| {
            announced
                .iter()
                .filter_map(|&a| table.longest_match(a))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_v4, bench_v6);
criterion_main!(benches);
