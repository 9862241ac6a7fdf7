//! Batch longest-match lookups on the full 2014 IPv4 table (512,621 prefixes) and the
//! 2015 IPv6 table, then on the synthetic table of today's size (about 1.05M IPv4 and
//! 230k IPv6 prefixes, `scripts/synth_table.py`, made and cached on first use; its
//! groups end in `_today`): the compiled Poptrie against the mutable tree bitmap and
//! against a plain DIR-24-8 (DPDK rte_lpm's layout, written here for the comparison),
//! all built from the same prefixes. Run with `cargo bench --bench lookup`.

mod common;

use common::{build_tree, inside, ipasn, ipasn_file, synth_table, Rng, Rows};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geoip_rs::batch::Keys;
use geoip_rs::{IpPrefix, Key, LpmTable, Prefix};

/// DIR-24-8: 2^24 entries for the first 24 bits, each a next hop or (top bit) the
/// index of a 256-entry group for the last 8 bits.
struct Dir248 {
    tbl24: Vec<u32>,
    tbl8: Vec<u32>,
}

const GROUP: u32 = 1 << 31;
const NONE: u32 = u32::MAX >> 1;

impl Dir248 {
    /// From `(prefix, next hop)` in address order (a containing prefix comes first).
    fn build(items: &[(Prefix<u32>, u32)]) -> Self {
        let mut d = Dir248 {
            tbl24: vec![NONE; 1 << 24],
            tbl8: Vec::new(),
        };
        for (p, hop) in items {
            // Hops share the entries' bits with the group flag and the miss.
            assert!(*hop < NONE, "next hop {hop} too large for DIR-24-8");
            let len = p.prefix_len();
            let a = p.addr();
            if len <= 24 {
                let first = (a >> 8) as usize;
                d.tbl24[first..first + (1 << (24 - len))].fill(*hop);
                continue;
            }
            let slot = (a >> 8) as usize;
            if d.tbl24[slot] & GROUP == 0 {
                let group = (d.tbl8.len() / 256) as u32;
                d.tbl8.extend(std::iter::repeat_n(d.tbl24[slot], 256));
                d.tbl24[slot] = GROUP | group;
            }
            let base = ((d.tbl24[slot] & !GROUP) * 256) as usize + (a & 0xFF) as usize;
            d.tbl8[base..base + (1 << (32 - len))].fill(*hop);
        }
        d
    }

    #[inline]
    fn lookup(&self, a: u32) -> u32 {
        let e = self.tbl24[(a >> 8) as usize];
        if e & GROUP == 0 {
            e
        } else {
            self.tbl8[((e & !GROUP) * 256 + (a & 0xFF)) as usize]
        }
    }

    fn nbytes(&self) -> usize {
        (self.tbl24.len() + self.tbl8.len()) * 4
    }
}

/// The table `geoip_rs.PrefixTable` is, compiled as it compiles itself.
fn lpm<K: Key>(items: &[(Prefix<K>, u32)], family: fn(Prefix<K>) -> IpPrefix) -> LpmTable<u32> {
    let t: LpmTable<u32> = items.iter().map(|&(p, asn)| (family(p), asn)).collect();
    assert!(t.compile());
    t
}

/// The IPv4 benches on `items`; `tag` ends the group names ("" for 2014, so that
/// the names of earlier runs still match).
fn bench_v4(c: &mut Criterion, tag: &str, items: &Rows<u32>) {
    let items = items.as_slice();
    let tree = build_tree(items);
    let table = lpm(items, IpPrefix::V4);
    let pop = table.compiled_table().unwrap().v4();
    let sorted: Vec<_> = tree.iter().collect();
    let dir = Dir248::build(&sorted);
    let (nodes, leaves) = pop.counts();
    eprintln!(
        "IPv4{tag} {} prefixes: poptrie {} bytes ({:.2} B/prefix, {nodes} nodes, {leaves} leaves); tree bitmap {} bytes; DIR-24-8 {} bytes",
        items.len(),
        pop.nbytes(),
        pop.nbytes() as f64 / items.len() as f64,
        tree.nbytes(),
        dir.nbytes()
    );
    let mut rng = Rng(0x5EED);
    let uniform: Vec<u32> = (0..1 << 20).map(|_| rng.next() as u32).collect();
    let announced = inside(items, 1 << 20, &mut rng);
    // 256 of the announced addresses over and over: every line a lookup reads stays
    // in the L1 cache, so this measures the instructions alone.
    let cached: Vec<u32> = (0..announced.len()).map(|i| announced[i % 256]).collect();
    let mut g = c.benchmark_group(format!("ipv4_batch{tag}"));
    g.sample_size(20);
    let mut out = vec![0u32; uniform.len()];
    let cases = [
        ("uniform", &uniform),
        ("announced", &announced),
        ("cached", &cached),
    ];
    for (name, keys) in cases {
        g.throughput(Throughput::Elements(keys.len() as u64));
        g.bench_function(format!("poptrie_{name}"), |b| {
            b.iter(|| pop.lookup_many(keys, &mut out))
        });
        // What `PrefixTable.lookup_batch` runs: values, lengths and found flags,
        // on every core.
        g.bench_function(format!("table_batch_{name}"), |b| {
            b.iter(|| table.lookup_ints(Keys::V4(keys), -1))
        });
        // One lookup at a time, each waiting for the one before (as from Python):
        // the key depends on the previous answer, whose top bit is always clear.
        g.bench_function(format!("poptrie_dependent_{name}"), |b| {
            b.iter(|| {
                let mut last = 0u32;
                for k in keys.iter() {
                    last = pop.lookup(k ^ (last >> 31));
                }
                last
            })
        });
        g.bench_function(format!("dir24_8_{name}"), |b| {
            b.iter(|| {
                keys.iter()
                    .zip(out.iter_mut())
                    .for_each(|(k, o)| *o = dir.lookup(*k))
            })
        });
        g.bench_function(format!("treebitmap_{name}"), |b| {
            b.iter(|| {
                keys.iter()
                    .zip(out.iter_mut())
                    .for_each(|(k, o)| *o = tree.longest_match(*k).map_or(0, |x| x.1))
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group(format!("ipv4_build{tag}"));
    g.sample_size(10);
    // The whole table from its prefixes, as `PrefixTable.update` and the first batch.
    g.bench_function("table_build_and_compile", |b| {
        b.iter(|| lpm(items, IpPrefix::V4))
    });
    // What a write costs the next lookup: the table compiles itself again.
    let mut table = table;
    let (p, asn) = items[0];
    g.bench_function("table_write_then_compile", |b| {
        b.iter(|| {
            table.insert(&IpPrefix::V4(p), asn);
            table.compile()
        })
    });
    g.finish();
}

fn bench_v6(c: &mut Criterion, tag: &str, items: &Rows<u128>) {
    let items = items.as_slice();
    let tree = build_tree(items);
    let table = lpm(items, IpPrefix::V6);
    let pop = table.compiled_table().unwrap().v6();
    eprintln!(
        "IPv6{tag} {} prefixes: poptrie {} bytes ({:.1} B/prefix); tree bitmap {} bytes",
        items.len(),
        pop.nbytes(),
        pop.nbytes() as f64 / items.len() as f64,
        tree.nbytes()
    );
    let announced = inside(items, 1 << 20, &mut Rng(0x5EED));
    let mut out = vec![0u32; announced.len()];
    let mut g = c.benchmark_group(format!("ipv6_batch{tag}"));
    g.sample_size(20);
    g.throughput(Throughput::Elements(announced.len() as u64));
    g.bench_function("poptrie_announced", |b| {
        b.iter(|| pop.lookup_many(&announced, &mut out))
    });
    g.bench_function("poptrie_dependent_announced", |b| {
        b.iter(|| {
            let mut last = 0u32;
            for k in announced.iter() {
                last = pop.lookup(k ^ (last >> 31) as u128);
            }
            last
        })
    });
    g.bench_function("treebitmap_announced", |b| {
        b.iter(|| {
            announced
                .iter()
                .zip(out.iter_mut())
                .for_each(|(k, o)| *o = tree.longest_match(*k).map_or(0, |x| x.1))
        })
    });
    // Prefixes per second, not lookups.
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("table_build_and_compile", |b| {
        b.iter(|| lpm(items, IpPrefix::V6))
    });
    g.finish();
}

fn bench_2014(c: &mut Criterion) {
    bench_v4(c, "", &ipasn("ipasn_20140513.dat.gz").0);
    bench_v6(c, "", &ipasn("ipasn6_20151101.dat.gz").1);
}

fn bench_today(c: &mut Criterion) {
    let (v4, v6) = ipasn_file(&synth_table());
    bench_v4(c, "_today", &v4);
    bench_v6(c, "_today", &v6);
}

criterion_group!(benches, bench_2014, bench_today);
criterion_main!(benches);
