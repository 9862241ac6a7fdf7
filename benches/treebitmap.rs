//! Criterion benchmarks of the tree bitmap on the full 2014 IPv4 table (512,621
//! prefixes, pyasn's `ipasn_20140513.dat.gz`) and the 2015 IPv6 table (27,693
//! prefixes), read from `../shared/data`. Run with `make bench`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flate2::read::GzDecoder;
use geoip_rs::{parse_prefix, IpPrefix, Key, Prefix, TreeBitmap};
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ipasn")
        .join(name)
}

/// The `(prefix, asn)` lines of a pyasn ipasn file.
fn read_ipasn(name: &str) -> Vec<(IpPrefix, u32)> {
    let path = data(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for line in BufReader::new(GzDecoder::new(file)).lines() {
        let line = line.expect("gzip text");
        if line.starts_with(';') || line.is_empty() {
            continue;
        }
        let (p, asn) = line.split_once('\t').expect("prefix<TAB>asn");
        out.push((
            parse_prefix(p, true).expect("prefix"),
            asn.parse().expect("asn"),
        ));
    }
    out
}

type Rows<K> = Vec<(Prefix<K>, u32)>;

fn split(items: &[(IpPrefix, u32)]) -> (Rows<u32>, Rows<u128>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for &(p, v) in items {
        match p {
            IpPrefix::V4(p) => v4.push((p, v)),
            IpPrefix::V6(p) => v6.push((p, v)),
        }
    }
    (v4, v6)
}

fn build<K: Key>(items: &[(Prefix<K>, u32)]) -> TreeBitmap<K, u32> {
    let mut t = TreeBitmap::new();
    for (p, v) in items {
        t.insert(p, *v);
    }
    t
}

/// A small seeded generator (xorshift), so the bench needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random addresses inside random prefixes of the table.
fn inside<K: Key>(items: &[(Prefix<K>, u32)], n: usize, rng: &mut Rng) -> Vec<K> {
    (0..n)
        .map(|_| {
            let (p, _) = items[rng.next() as usize % items.len()];
            let noise = (rng.next() as u128) << 64 | rng.next() as u128;
            let host_mask = p.last().to_u128() - p.addr().to_u128();
            K::from_u128(p.addr().to_u128() | (noise & host_mask))
        })
        .collect()
}

fn bench_v4(c: &mut Criterion) {
    let (v4, _) = split(&read_ipasn("ipasn_20140513.dat.gz"));
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
    let (_, v6) = split(&read_ipasn("ipasn6_20151101.dat.gz"));
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
