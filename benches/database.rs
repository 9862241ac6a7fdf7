//! The database file: opening (with and without the checksum), single records and
//! batches, on the full 2014 IPv4 table plus the 2015 IPv6 one, and the 2014 RIR files;
//! then the same with the synthetic table of today's size (`scripts/synth_table.py`,
//! made and cached on first use) in place of the 2014/2015 prefixes; then a history
//! of 30 daily snapshots of the 2014 IPv4 table churned by 1% a day, a batch at one
//! snapshot per address next to the newest day's one-date batch.

// Each bench uses only part of the shared helpers.
#[allow(dead_code)]
mod common;

use arrow_array::{ArrayRef, StringArray};
use common::{ipasn, ipasn_file, shared_data, synth_table, Rng, Rows};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geoip_rs::addresses::OnError as OnBadAddress;
use geoip_rs::batch::Keys;
use geoip_rs::db::arrow::arrow_columns;
use geoip_rs::db::history::{build_history, snapshot_at};
use geoip_rs::db::layout::NONE;
use geoip_rs::db::{Answer, Database, DbBuilder, Snapshots};
use geoip_rs::loaders::rir::{read_delegated, Delegated};
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use geoip_rs::{IpPrefix, Prefix};
use std::fmt::Write as _;
use std::hint::black_box;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
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

/// One day of churn: 1% of the rows changed (re-originated, withdrawn, a
/// more-specific announced inside, split into halves, merged with the next row when
/// that is its sibling), then sorted with one row per prefix.
fn churn(rows: &mut Rows<u32>, rng: &mut Rng) {
    for _ in 0..rows.len() / 100 {
        let i = rng.next() as usize % rows.len();
        let (p, asn) = rows[i];
        let (addr, len) = (p.addr(), p.prefix_len());
        match rng.next() % 20 {
            0..=5 => rows[i].1 = rows[rng.next() as usize % rows.len()].1,
            6..=10 => {
                rows.swap_remove(i);
            }
            11..=15 if len < 24 => {
                let extra = 1 + (rng.next() % (24 - len as u64).min(4)) as u8;
                let bits = (rng.next() as u32) & ((1 << extra) - 1);
                let sub = Prefix::new(addr | (bits << (32 - len - extra)), len + extra).unwrap();
                rows.push((sub, asn));
            }
            16..=17 if len < 24 => {
                rows[i].0 = Prefix::new(addr, len + 1).unwrap();
                rows.push((Prefix::new(addr | (1 << (31 - len)), len + 1).unwrap(), asn));
            }
            18..=19 if len > 8 && i + 1 < rows.len() => {
                let sibling = Prefix::new(addr ^ (1 << (32 - len)), len);
                if sibling == Some(rows[i + 1].0) && addr & (1 << (32 - len)) == 0 {
                    let parent = Prefix::new(addr, len - 1).unwrap();
                    rows[i].0 = parent;
                    rows[i + 1].0 = parent;
                }
            }
            _ => rows[i].1 = rows[rng.next() as usize % rows.len()].1,
        }
    }
    rows.sort_by_key(|r| r.0);
    rows.dedup_by_key(|r| r.0);
}

/// The one-date database of a day's rows, read from their ipasn text written as
/// `ipasn_YYYYMMDD.dat` (the date it is of), with the delegated files' content.
fn build_day(dir: &Path, day: u32, rows: &Rows<u32>, rir: &[Delegated]) -> PathBuf {
    let mut text = String::with_capacity(rows.len() * 24);
    for (p, asn) in rows {
        writeln!(text, "{}\t{asn}", IpPrefix::V4(*p)).unwrap();
    }
    let date = 20140500 + day;
    let ipasn = dir.join(format!("ipasn_{date}.dat"));
    std::fs::write(&ipasn, text).unwrap();
    let mut b = DbBuilder::new();
    let mut opts = ReadOptions {
        on_error: OnError::Raise,
        progress: &mut NoProgress,
    };
    b.read_ipasn(&ipasn, &mut opts).unwrap();
    std::fs::remove_file(&ipasn).unwrap();
    rir.iter().for_each(|d| b.add_delegated(d.clone()));
    let path = dir.join(format!("{date}.geoipdb"));
    b.write(&path).unwrap();
    path
}

/// A history of 30 daily snapshots of the 2014 IPv4 table, 1% churned a day (with
/// the APNIC and RIPE NCC delegated files): a batch of 1M uniform IPv4 addresses
/// each at a random snapshot, against the newest day's one-date database, and the
/// parts of what `lookup_batch(at=...)` runs.
fn bench_history(c: &mut Criterion) {
    const DAYS: u32 = 30;
    let (mut rows, _) = ipasn("ipasn_20140513.dat.gz");
    rows.sort_by_key(|r| r.0);
    let rir: Vec<Delegated> = [
        "delegated-apnic-20140804.gz",
        "delegated-ripencc-20140803.gz",
    ]
    .iter()
    .map(|f| {
        let mut opts = ReadOptions {
            on_error: OnError::Raise,
            progress: &mut NoProgress,
        };
        let input = Input::open(shared_data().join("rir").join(f)).unwrap();
        read_delegated(input, &mut opts).unwrap().0
    })
    .collect();
    let dir = std::env::temp_dir().join(format!("geoip_rs_bench_history_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(11);
    let days: Vec<PathBuf> = (1..=DAYS)
        .map(|day| {
            if day > 1 {
                churn(&mut rows, &mut rng);
            }
            build_day(&dir, day, &rows, &rir)
        })
        .collect();
    let path = dir.join("history.geoipdb");
    build_history(&path, &days, &mut NoProgress).unwrap();
    let one = Database::open(days.last().unwrap(), true).unwrap();
    let hist = Database::open(&path, true).unwrap();
    eprintln!(
        "history of {DAYS} days: {} bytes; newest day alone: {} bytes",
        hist.file_size(),
        one.file_size()
    );
    let mut rng = Rng(7);
    let addrs: Vec<u32> = (0..1 << 20).map(|_| rng.next() as u32).collect();
    let times = hist.times();
    // Each address at a random time of a random day.
    let at: Vec<i64> = addrs
        .iter()
        .map(|_| times[rng.next() as usize % times.len()] + (rng.next() % 86_400) as i64)
        .collect();
    let times = times.to_vec();
    let snaps: Vec<u32> = at
        .iter()
        .map(|&t| snapshot_at(&times, t).unwrap_or(NONE))
        .collect();
    assert!(snaps.iter().all(|&s| s < DAYS), "every time falls on a day");
    let mut g = c.benchmark_group(format!("history ({DAYS} daily snapshots, 1% churn a day)"));
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("columns of 1M IPv4, one-date database (newest day)", |b| {
        b.iter(|| one.view().columns(Keys::V4(black_box(&addrs))))
    });
    // Also what `lookup_batch(at=T)` runs, at the snapshot in force then.
    g.bench_function("columns of 1M IPv4, history at its newest snapshot", |b| {
        b.iter(|| hist.view().columns(Keys::V4(black_box(&addrs))))
    });
    g.bench_function("columns of 1M IPv4, history, a snapshot per address", |b| {
        b.iter(|| {
            hist.view()
                .columns_at(Keys::V4(black_box(&addrs)), Snapshots::Each(&snaps))
        })
    });
    let taken = geoip_rs::db::history::time::SnapshotTimes::new(&times);
    // What `lookup_batch(at=times)` runs: each row's snapshot found as it is answered.
    g.bench_function("columns of 1M IPv4, history, a time per address", |b| {
        b.iter(|| {
            let at = Snapshots::At {
                times: black_box(&at),
                taken: &taken,
            };
            hist.view().columns_at(Keys::V4(black_box(&addrs)), at)
        })
    });
    g.finish();
    drop((one, hist));
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_2014, bench_today, bench_history
}
criterion_main!(benches);
