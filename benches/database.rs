//! The database file: opening (with and without the checksum), single records and
//! batches, on the full 2014 IPv4 table plus the 2015 IPv6 one, and the 2014 RIR files;
//! then the same with the synthetic table of today's size (`scripts/synth_table.py`,
//! made and cached on first use) in place of the 2014/2015 prefixes.

// Each bench uses only part of the shared helpers.
#[allow(dead_code)]
mod common;

use arrow_array::{ArrayRef, StringArray};
use common::{ipasn, ipasn_file, synth_table, Rng, Rows};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geoip_rs::addresses::OnError as OnBadAddress;
use geoip_rs::batch::Keys;
use geoip_rs::db::arrow::arrow_columns;
use geoip_rs::db::{Answer, Database, DbBuilder};
use geoip_rs::loaders::{NoProgress, OnError, ReadOptions};
use geoip_rs::IpPrefix;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

fn build(tag: &str, v4: Rows<u32>, v6: Rows<u128>) -> PathBuf {
    let mut b = DbBuilder::new();
    v4.iter()
        .for_each(|(p, a)| b.add_prefix(&IpPrefix::V4(*p), &[*a]));
    v6.iter()
        .for_each(|(p, a)| b.add_prefix(&IpPrefix::V6(*p), &[*a]));
    let rir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/rir");
    for f in [
        "delegated-apnic-20140804.gz",
        "delegated-ripencc-20140803.gz",
    ] {
        let mut opts = ReadOptions {
            on_error: OnError::Raise,
            progress: &mut NoProgress,
        };
        b.read_delegated(&rir.join(f), &mut opts).unwrap();
    }
    let path = std::env::temp_dir().join(format!(
        "geoip_rs_bench{tag}_{}.geoipdb",
        std::process::id()
    ));
    b.write(&path).unwrap();
    path
}

fn bench_2014(c: &mut Criterion) {
    let (v4, _) = ipasn("ipasn_20140513.dat.gz");
    let (_, v6) = ipasn("ipasn6_20151101.dat.gz");
    bench(c, "", build("", v4, v6));
}

fn bench_today(c: &mut Criterion) {
    let (v4, v6) = ipasn_file(&synth_table());
    bench(c, " today", build("_today", v4, v6));
}

fn bench(c: &mut Criterion, tag: &str, path: PathBuf) {
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("database{tag}: {size} bytes");
    let mut g = c.benchmark_group(format!("database{tag} ({} MB)", size >> 20));
    g.bench_function("open, checksum verified", |b| {
        b.iter(|| Database::open(black_box(&path), true).unwrap())
    });
    g.bench_function("open, structure only", |b| {
        b.iter(|| Database::open(black_box(&path), false).unwrap())
    });
    let db = Database::open(&path, true).unwrap();
    let mut rng = Rng(7);
    let addrs: Vec<u32> = (0..1 << 20).map(|_| rng.next() as u32).collect();
    g.bench_function("record, one address", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & ((1 << 20) - 1);
            db.view().record(IpAddr::V4(addrs[i].into()))
        })
    });
    g.throughput(Throughput::Elements(addrs.len() as u64));
    let mut out = vec![Answer::default(); addrs.len()];
    g.bench_function("batch of 1M IPv4 (asn, prefix length, country)", |b| {
        b.iter(|| db.view().lookup_v4_many(black_box(&addrs), &mut out))
    });
    // What `Database.lookup_batch` runs: the answer columns, on every core.
    g.bench_function("columns of 1M IPv4 (as Database.lookup_batch)", |b| {
        b.iter(|| db.view().columns(Keys::V4(black_box(&addrs))))
    });
    // What `Database.to_arrow` runs on a column of text: parsing, lookups and every
    // record column (4 IPv4 addresses to 1 IPv6, in and out of routed space).
    let texts: Vec<String> = addrs
        .iter()
        .enumerate()
        .map(|(i, &a)| match i % 5 {
            4 => std::net::Ipv6Addr::from(u128::from(a) << 96 | 0x2a00 << 112).to_string(),
            _ => std::net::Ipv4Addr::from(a).to_string(),
        })
        .collect();
    let column: ArrayRef = Arc::new(StringArray::from_iter_values(&texts));
    let every = arrow_columns();
    g.bench_function("Arrow records of 1M address strings (every column)", |b| {
        b.iter(|| {
            db.view()
                .arrow_batches(
                    std::slice::from_ref(&column),
                    OnBadAddress::Raise,
                    &every,
                    geoip_rs::db::Snapshots::Own,
                )
                .unwrap()
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_2014, bench_today
}
criterion_main!(benches);
