//! A seeded synthetic MRT RIB dump (TABLE_DUMP_V2, RFC 6396) of any number of peers,
//! for benchmarks at today's sizes: no full RIB of today is redistributable here.
//!
//! Input: prefix → origin tables in pyasn ipasn format (`prefix<TAB>asn`, `;`
//! comments, gzip or bzip2 ok), e.g. the one `scripts/synth_table.py` makes. Output:
//! a PEER_INDEX_TABLE of `--peers` peers (distinct addresses and ASes), then one
//! RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record per prefix, in the order of the
//! tables. What makes it look like a real RIB:
//! - each peer's AS path: its own AS, 0-6 transit ASes (fixed per peer and origin,
//!   as routes of one origin share a path), the origin: 2-8 ASes;
//! - most peers carry the full table, some only part of it (2-60%);
//! - 3% of prefixes are MOAS (some peers see a second origin), 0.1% end in an
//!   AS_SET, 0.2% in a private ASN after the origin;
//! - attributes ORIGIN, AS_PATH, NEXT_HOP (MP_REACH_NLRI next hop for IPv6) and
//!   0-3 COMMUNITIES; route ages vary.
//!
//! The same arguments give the same bytes. The output is compressed as its name
//! ends: `.bz2` (bzip2 -9, as RouteViews), `.gz` (gzip -6, as RIPE RIS), else raw; `-`
//! writes raw MRT to stdout, to pipe into a parallel compressor (`lbzip2`, `pigz`),
//! which for multi-GB dumps is much faster than the one-thread encoders here.
//!
//! ```sh
//! cargo run --release --example synth_rib -- --peers 30 --seed 1 \
//!     --out /work/bench-data/rib.30.bz2 TABLE.dat.gz [TABLE6.dat.gz ...] [--fraction 0.1]
//! ```
//!
//! Records are written by hand rather than with bgpkit-parser's `MrtRibEncoder`: that
//! one holds the whole dump in memory (a map per prefix) and writes prefixes in hash
//! order, and a dump of 300 peers is tens of GB.

use geoip_rs::ip::IpPrefix;
use geoip_rs::loaders::ipasn::read_ipasn;
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::io::{self, BufWriter, Write};

/// The time of the dump (2024-09-01 00:00 UTC).
const DUMP_TIME: u32 = 1_725_148_800;

/// Large transit networks, for the middle of AS paths.
const TRANSIT: [u32; 24] = [
    3356, 1299, 174, 2914, 6762, 6939, 3257, 6453, 3491, 1273, 7018, 701, 5511, 6461, 4637, 9002,
    12956, 2828, 3320, 6830, 7922, 4134, 4837, 9498,
];

struct Args {
    tables: Vec<String>,
    peers: u32,
    seed: u64,
    out: String,
    fraction: f64,
}

fn args() -> Args {
    let mut a = Args {
        tables: vec![],
        peers: 1,
        seed: 1,
        out: "-".into(),
        fraction: 1.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--peers" => a.peers = value().parse().unwrap_or_else(|_| usage("--peers N")),
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage("--seed N")),
            "--out" => a.out = value(),
            "--fraction" => a.fraction = value().parse().unwrap_or_else(|_| usage("--fraction F")),
            _ if arg.starts_with("--") => usage(&format!("unknown option {arg}")),
            _ => a.tables.push(arg),
        }
    }
    if a.tables.is_empty() || a.peers == 0 || a.peers > 65535 {
        usage("give at least one table and 1..=65535 peers");
    }
    a
}

fn usage(why: &str) -> ! {
    eprintln!("synth_rib: {why}\nusage: synth_rib [--peers N] [--seed N] [--fraction F] [--out PATH|-] TABLE...");
    std::process::exit(2)
}

/// Every (prefix, origin) of the tables, keeping `fraction` of them (seeded).
fn read_tables(a: &Args) -> Vec<(IpPrefix, u32)> {
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let mut out = Vec::new();
    for t in &a.tables {
        let mut opts = ReadOptions {
            on_error: OnError::Skip,
            progress: &mut NoProgress,
        };
        let input = Input::open(t).unwrap_or_else(|e| usage(&e.to_string()));
        read_ipasn(input, &mut opts, |p, asn| {
            if a.fraction >= 1.0 || rng.random_bool(a.fraction) {
                out.push((p, asn))
            }
        })
        .unwrap_or_else(|e| usage(&e.to_string()));
    }
    out
}

/// A peer of the collector.
struct Peer {
    ip: [u8; 4],
    asn: u32,
    /// Share of the table it carries.
    coverage: f64,
    /// When its session came up: the age of most of its routes.
    up_since: u32,
}

fn peers(n: u32, origins: &[u32], rng: &mut SmallRng) -> Vec<Peer> {
    let mut asns = std::collections::BTreeSet::new();
    (0..n)
        .map(|i| {
            // Distinct ASes, most of them networks that originate routes too.
            let mut asn = origins[rng.random_range(0..origins.len())];
            while !asns.insert(asn) {
                asn = rng.random_range(1000..400_000);
            }
            Peer {
                ip: [198, 18 + (i >> 16) as u8, (i >> 8) as u8, i as u8 + 1],
                asn,
                coverage: if rng.random_bool(0.75) {
                    0.995
                } else {
                    rng.random_range(0.02..0.6)
                },
                up_since: DUMP_TIME - rng.random_range(3_600..90 * 86_400),
            }
        })
        .collect()
}

/// One MRT record: common header, then `body`.
fn record(w: &mut impl Write, subtype: u16, body: &[u8]) -> io::Result<()> {
    w.write_all(&DUMP_TIME.to_be_bytes())?;
    w.write_all(&13u16.to_be_bytes())?; // TABLE_DUMP_V2
    w.write_all(&subtype.to_be_bytes())?;
    w.write_all(&(body.len() as u32).to_be_bytes())?;
    w.write_all(body)
}

fn peer_index_table(w: &mut impl Write, peers: &[Peer]) -> io::Result<()> {
    let mut b = Vec::with_capacity(8 + peers.len() * 13);
    b.extend([198, 18, 255, 254, 0, 0]); // collector BGP ID, empty view name
    b.extend((peers.len() as u16).to_be_bytes());
    for p in peers {
        b.push(0x02); // IPv4 address, 4-byte AS
        b.extend(p.ip); // BGP ID
        b.extend(p.ip);
        b.extend(p.asn.to_be_bytes());
    }
    record(w, 1, &b)
}

/// What all peers share about one prefix.
struct Prefix {
    prefix: IpPrefix,
    origin: u32,
    /// A second origin that some peers see (MOAS).
    moas: Option<u32>,
    /// The path ends in an AS_SET of the origin and this AS.
    set_with: Option<u32>,
    /// A private ASN after the origin.
    private_tail: Option<u32>,
}

fn prefix_facts(
    prefix: IpPrefix,
    origin: u32,
    all: &[(IpPrefix, u32)],
    rng: &mut SmallRng,
) -> Prefix {
    let other = |rng: &mut SmallRng| all[rng.random_range(0..all.len())].1;
    let moas = rng.random_bool(0.03).then(|| other(rng));
    let set_with = rng.random_bool(0.001).then(|| other(rng));
    let private_tail = rng
        .random_bool(0.002)
        .then(|| rng.random_range(64512..65535));
    Prefix {
        prefix,
        origin,
        moas,
        set_with,
        private_tail,
    }
}

/// The AS path of `peer`'s route to `origin`, as an AS_PATH attribute value.
fn as_path(peer: &Peer, p: &Prefix, origin: u32, seed: u64) -> Vec<u8> {
    // Fixed per (peer, origin): the same path for all of an origin's prefixes.
    let mut rng = SmallRng::seed_from_u64(seed ^ (u64::from(peer.asn) << 32) ^ u64::from(origin));
    let transit = rng.random_range(0..=6usize);
    let mut seq = vec![peer.asn];
    seq.extend((0..transit).map(|_| TRANSIT[rng.random_range(0..TRANSIT.len())]));
    seq.push(origin);
    seq.extend(p.private_tail);
    let mut b = vec![2, seq.len() as u8]; // AS_SEQUENCE
    seq.iter().for_each(|a| b.extend(a.to_be_bytes()));
    if let Some(x) = p.set_with {
        b.extend([1, 2]); // AS_SET
        b.extend(origin.min(x).to_be_bytes());
        b.extend(origin.max(x).to_be_bytes());
    }
    b
}

/// A path attribute: flags, type, length (extended when long), value.
fn attribute(out: &mut Vec<u8>, flags: u8, kind: u8, value: &[u8]) {
    if value.len() > 255 {
        out.extend([flags | 0x10, kind]);
        out.extend((value.len() as u16).to_be_bytes());
    } else {
        out.extend([flags, kind, value.len() as u8]);
    }
    out.extend(value);
}

/// One peer's RIB entry for `p`.
fn entry(out: &mut Vec<u8>, index: u16, peer: &Peer, p: &Prefix, seed: u64, rng: &mut SmallRng) {
    let origin = match p.moas {
        Some(second) if rng.random_bool(0.3) => second,
        _ => p.origin,
    };
    let mut attrs = Vec::with_capacity(64);
    attribute(&mut attrs, 0x40, 1, &[0]); // ORIGIN IGP
    attribute(&mut attrs, 0x40, 2, &as_path(peer, p, origin, seed));
    match p.prefix {
        IpPrefix::V4(_) => attribute(&mut attrs, 0x40, 3, &peer.ip),
        IpPrefix::V6(_) => {
            // TABLE_DUMP_V2 keeps only the next hop of MP_REACH_NLRI (RFC 6396 4.3.4).
            let mut nh = vec![16, 0x20, 0x01, 0x0d, 0xb8];
            nh.extend([0; 8]);
            nh.extend(peer.ip);
            attribute(&mut attrs, 0x80, 14, &nh);
        }
    }
    let communities: Vec<u8> = (0..rng.random_range(0..4u32))
        .flat_map(|i| ((peer.asn.min(65535) << 16) | (100 + i * 10)).to_be_bytes())
        .collect();
    if !communities.is_empty() {
        attribute(&mut attrs, 0xc0, 8, &communities);
    }
    let age = match rng.random_bool(0.3) {
        true => rng.random_range(peer.up_since..DUMP_TIME),
        false => peer.up_since,
    };
    out.extend(index.to_be_bytes());
    out.extend(age.to_be_bytes());
    out.extend((attrs.len() as u16).to_be_bytes());
    out.extend(attrs);
}

/// The RIB record of prefix number `seq`: the entries of the peers that carry it.
fn rib_record(
    w: &mut impl Write,
    seq: u32,
    p: &Prefix,
    peers: &[Peer],
    seed: u64,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let mut rng =
        SmallRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(seq));
    buf.clear();
    buf.extend(seq.to_be_bytes());
    let (subtype, len, addr) = match p.prefix {
        IpPrefix::V4(q) => (2, q.prefix_len(), q.addr().to_be_bytes().to_vec()),
        IpPrefix::V6(q) => (4, q.prefix_len(), q.addr().to_be_bytes().to_vec()),
    };
    buf.push(len);
    buf.extend(&addr[..usize::from(len).div_ceil(8)]);
    let count_at = buf.len();
    buf.extend([0, 0]);
    let mut count = 0u16;
    for (i, peer) in peers.iter().enumerate() {
        if count == 0 && i + 1 == peers.len() || rng.random_bool(peer.coverage) {
            entry(buf, i as u16, peer, p, seed, &mut rng);
            count += 1;
        }
    }
    buf[count_at..count_at + 2].copy_from_slice(&count.to_be_bytes());
    record(w, subtype, buf)
}

fn output(path: &str) -> io::Result<Box<dyn Write>> {
    if path == "-" {
        return Ok(Box::new(io::stdout().lock()));
    }
    let file = std::fs::File::create(path)?;
    Ok(if path.ends_with(".bz2") {
        Box::new(bzip2::write::BzEncoder::new(
            file,
            bzip2::Compression::best(),
        ))
    } else if path.ends_with(".gz") {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(file)
    })
}

fn main() -> io::Result<()> {
    let a = args();
    let table = read_tables(&a);
    if table.is_empty() {
        usage("the tables hold no prefix");
    }
    let mut rng = SmallRng::seed_from_u64(a.seed);
    let origins: Vec<u32> = table.iter().map(|t| t.1).collect();
    let peers = peers(a.peers, &origins, &mut rng);
    let mut w = BufWriter::with_capacity(1 << 20, output(&a.out)?);
    peer_index_table(&mut w, &peers)?;
    let mut buf = Vec::new();
    for (seq, &(prefix, origin)) in table.iter().enumerate() {
        let p = prefix_facts(prefix, origin, &table, &mut rng);
        rib_record(&mut w, seq as u32, &p, &peers, a.seed, &mut buf)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.flush()
}
