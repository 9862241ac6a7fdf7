//! Where the time of loading a full RIB goes: decompression alone, decompression and
//! MRT parsing, the whole read into a `Rib`, and choosing origins into a table. The
//! file is the complete 2014 route-views.jinx RIB (497k prefixes) from ../shared/data.
//! Run with `cargo bench --bench load_rib`.

use bgpkit_parser::BgpkitParser;
use criterion::{criterion_group, criterion_main, Criterion};
use geoip_rs::loaders::mrt::{Chosen, OriginPolicy, Rib};
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use geoip_rs::IpTable;
use std::path::PathBuf;

fn rib_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2")
}

fn read_rib() -> Rib {
    let mut rib = Rib::for_files(&[rib_path()], &mut NoProgress).expect("the scan reads");
    let mut opts = ReadOptions {
        on_error: OnError::Raise,
        progress: &mut NoProgress,
    };
    rib.read_file(rib_path(), &mut opts).expect("the RIB reads");
    rib
}

fn table(rib: &Rib) -> IpTable<u32> {
    let mut t = IpTable::new();
    for (p, c) in rib.origins(OriginPolicy::FirstPeer) {
        if let Chosen::One(o) = c {
            t.insert(&p, o.primary());
        }
    }
    t
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_rib");
    g.sample_size(10);
    g.bench_function("1_decompress", |b| {
        b.iter(|| {
            std::io::copy(&mut Input::open(rib_path()).unwrap(), &mut std::io::sink()).unwrap()
        })
    });
    g.bench_function("2_decompress_parse", |b| {
        b.iter(|| {
            BgpkitParser::from_reader(Input::open(rib_path()).unwrap())
                .into_fallible_record_iter()
                .count()
        })
    });
    g.bench_function("3_read_into_rib", |b| b.iter(read_rib));
    let rib = read_rib();
    g.bench_function("4_origins_into_table", |b| b.iter(|| table(&rib)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
