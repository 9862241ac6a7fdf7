//! The MMDB writer round trip: a database built from routes, RIR blocks and
//! organisations that the input describes is exported as MMDB; the file must pass
//! both readers' verification (ours and MaxMind's), and answer every address at and
//! beside each boundary as the database does (MaxMind's reader is the oracle).
//!
//! Input: one byte of options (record size, IPv4 aliases), then items, each a tag
//! byte and its fields (see [`item`]); short AS numbers and few countries, so that
//! neighbours often share answers and the writer's merging is exercised.
#![no_main]

use geoip_rs::db::{Database, DbBuilder};
use geoip_rs::ip::IpPrefix;
use geoip_rs::key::Prefix;
use geoip_rs::loaders::{as2org::read_as2org, rir::read_delegated, Input, NoProgress, OnError, ReadOptions};
use geoip_rs::mmdb::write::mmdb_bytes;
use geoip_rs::mmdb::{MmdbFile, MmdbOptions};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use maxminddb::Reader;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

const COUNTRIES: [&str; 4] = ["NL", "FR", "US", "JP"];

/// What the input describes: routes and the texts of a delegated and an as2org file.
#[derive(Default)]
struct Plan {
    routes: Vec<(IpPrefix, u32)>,
    delegated: String,
    as2org: String,
    probes: Vec<IpAddr>,
}

fn v6(high: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..high.len()].copy_from_slice(high);
    u128::from_be_bytes(b)
}

/// One item from the front of `d`; how many bytes it took, or None at the end.
fn item(p: &mut Plan, d: &[u8]) -> Option<usize> {
    let (&tag, d) = d.split_first()?;
    let asn = |b: &[u8]| 64_500 + u32::from(b[0] % 16);
    match tag % 5 {
        0 if d.len() >= 6 => {
            let a = u32::from_be_bytes(d[..4].try_into().unwrap());
            let pf = Prefix::new_masked(a, d[4] % 33)?;
            p.routes.push((IpPrefix::V4(pf), asn(&d[5..])));
            p.probes.extend(edges(u128::from(pf.addr()), u128::from(pf.last()), 32));
            Some(7)
        }
        1 if d.len() >= 10 => {
            // The top 8 bytes only, the first two often an alias's or zero.
            let mut high = d[..8].to_vec();
            match d[8] % 4 {
                0 => high[..2].copy_from_slice(&[0x20, 0x02]),
                1 => high[..4].copy_from_slice(&[0, 0, 0, 0]),
                _ => {}
            }
            let pf = Prefix::new_masked(v6(&high), d[8] / 4 % 65 + d[8] % 2 * 64)?;
            p.routes.push((IpPrefix::V6(pf), asn(&d[9..])));
            p.probes.extend(edges(pf.addr(), pf.last(), 128));
            Some(11)
        }
        2 if d.len() >= 6 => {
            let a = u32::from_be_bytes(d[..4].try_into().unwrap());
            let count = 1u64 << (d[4] % 20);
            let cc = COUNTRIES[usize::from(d[5] % 4)];
            let ip = Ipv4Addr::from(a);
            p.delegated += &format!("ripencc|{cc}|ipv4|{ip}|{count}|20100101|allocated\n");
            let last = (u64::from(a) + count - 1).min(u64::from(u32::MAX));
            p.probes.extend(edges(u128::from(a), u128::from(last), 32));
            Some(7)
        }
        3 if d.len() >= 3 => {
            let cc = COUNTRIES[usize::from(d[1] % 4)];
            let n = d[2] % 8 + 1;
            p.delegated += &format!("arin|{cc}|asn|{}|{n}|20100101|assigned\n", asn(d));
            Some(4)
        }
        4 if d.len() >= 2 => {
            let cc = COUNTRIES[usize::from(d[1] % 4)];
            let a = asn(d);
            p.as2org += &format!("O{a}|20120224|Org {a}|{cc}|ARIN\n#aut\n{a}|20120224|N{a}|O{a}|ARIN\n");
            Some(3)
        }
        _ => None,
    }
}

/// The first and last address of a range and their outer neighbours.
fn edges(first: u128, last: u128, bits: u32) -> Vec<IpAddr> {
    let max = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
    let mut out = vec![first, last];
    out.extend(first.checked_sub(1));
    out.extend(last.checked_add(1).filter(|&a| a <= max));
    out.into_iter()
        .map(|a| match bits {
            32 => IpAddr::V4(Ipv4Addr::from(a as u32)),
            _ => IpAddr::V6(Ipv6Addr::from(a)),
        })
        .collect()
}

/// A file in memory where there is a tmpfs: a database write syncs, twice a run.
fn temp(name: &str) -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    dir.join(format!("geoip_rs_fuzz_{name}_{}", std::process::id()))
}

/// The database of `p`; None where it has no route or its texts are refused (no finding: the text
/// loaders have a target of their own).
fn build(p: &Plan) -> Option<Database> {
    if p.routes.is_empty() {
        return None; // refused by design: a database needs a prefix
    }
    let mut b = DbBuilder::new();
    for (pf, asn) in &p.routes {
        b.add_prefix(pf, &[*asn]);
    }
    let opts = &mut ReadOptions {
        on_error: OnError::Raise,
        progress: &mut NoProgress,
    };
    let n = p.delegated.lines().count();
    let text = format!("2|ripencc|1|{n}|19700101|20200101|+0000\n{}", p.delegated);
    let (d, _) = read_delegated(Input::from_bytes("delegated", text.into_bytes()).ok()?, opts).ok()?;
    b.add_delegated(d);
    let text = format!("# format:org_id|changed|org_name|country|source\n{}", p.as2org);
    let text = text.replace("#aut\n", "# format:aut|changed|aut_name|org_id|source\n");
    let (orgs, _) = read_as2org(Input::from_bytes("as2org", text.into_bytes()).ok()?, opts).ok()?;
    b.add_as2org(orgs);
    let path = temp("mmdb_write.db");
    b.write(&path).expect("a database of valid parts is written");
    Some(Database::open(&path, true).expect("a database just written opens"))
}

/// Addresses the export answers as something else by design: IPv6 inside `::/96`
/// (IPv4's subtree) and, with aliases, inside the aliased networks.
fn left_to_ipv4(a: IpAddr, aliases: bool) -> bool {
    let IpAddr::V6(a) = a else { return false };
    let a = u128::from(a);
    let inside = |base: u128, len: u32| a >> (128 - len) == base >> (128 - len);
    inside(0, 96) || aliases && (inside(0xffff << 32, 96) || inside(0x2001 << 112, 32) || inside(0x2002 << 112, 16))
}

fuzz_target!(|data: &[u8]| {
    let Some((&how, mut rest)) = data.split_first() else {
        return;
    };
    let mut plan = Plan::default();
    while let Some(n) = item(&mut plan, rest) {
        rest = &rest[n.min(rest.len())..];
    }
    let Some(db) = build(&plan) else {
        return;
    };
    let o = MmdbOptions {
        min_record_size: [24, 28, 32][usize::from(how % 3)],
        ipv4_aliases: [None, Some(true), Some(false)][usize::from(how / 3 % 3)],
        ..MmdbOptions::default()
    };
    let (bytes, summary) = mmdb_bytes(&db, &o).unwrap();
    let path = temp("mmdb_write.mmdb");
    std::fs::write(&path, &bytes).unwrap();
    let ours = MmdbFile::open(&path, true).expect("our reader refuses our file");
    let r = Reader::from_source(bytes).unwrap();
    r.verify().expect("MaxMind's verify refuses our file");
    let v = db.view();
    for &a in &plan.probes {
        if left_to_ipv4(a, summary.ipv4_aliases) {
            continue;
        }
        let l = r.lookup(a).unwrap();
        let got: Option<Value> = l.decode().unwrap();
        let mine = ours.lookup(a).unwrap();
        assert_eq!(got.is_some(), mine.is_some(), "{a}: the two readers differ");
        let want = v.record(a);
        let (Some(want), Some(got)) = (&want, &got) else {
            assert!(want.is_none() && got.is_none(), "{a}: {want:?} vs {got:?}");
            continue;
        };
        let n = l.network().unwrap();
        let mut net = IpNet::new(n.network(), n.prefix()).unwrap();
        // MaxMind's reader names IPv4's subtree `::/96` when it is one record (an
        // IPv4 default route); ours says 0.0.0.0/0, the same space in IPv4's terms.
        if a.is_ipv4() && net == "::/96".parse::<IpNet>().unwrap() {
            net = "0.0.0.0/0".parse().unwrap();
        }
        assert_eq!(mine.unwrap().1, net, "{a}: the two readers' networks differ");
        let own = &got["geoip_rs"];
        assert_eq!(got["autonomous_system_number"], want.asn, "{a}");
        assert_eq!(own["prefix"], want.prefix.to_string(), "{a}");
        assert_eq!(got["country"]["iso_code"].as_str(), want.country, "{a}");
        assert_eq!(own["registry"].as_str(), want.registry, "{a}");
        assert_eq!(own["country_source"].as_str(), want.country_source.map(|s| s.name()), "{a}");
        let routed: IpNet = want.prefix.to_string().parse().unwrap();
        assert!(routed.contains(&net), "{a}: {net} outside {routed}");
        for end in [net.network(), net.broadcast()] {
            let other = v.record(end).unwrap();
            assert_eq!((other.prefix, other.country), (want.prefix, want.country), "{a}: {end}");
        }
    }
});
