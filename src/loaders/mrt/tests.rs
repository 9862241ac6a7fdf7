//! The MRT reader on real dumps, against the facts pyasn's tests check
//! (shared/data/SOURCES.md, section 1).

use super::*;
use crate::ip::parse_prefix;
use crate::loaders::{NoProgress, OnError};
use crate::origin::Origin;
use std::path::PathBuf;

fn mrt(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/mrt")
        .join(name)
}

fn read(name: &str, on_error: OnError) -> Result<(Rib, Summary), LoadError> {
    let mut rib = Rib::new();
    let mut opts = ReadOptions {
        on_error,
        progress: &mut NoProgress,
    };
    let summary = rib.read_file(mrt(name), &mut opts)?;
    Ok((rib, summary))
}

fn first_peer(rib: &Rib, prefix: &str) -> Option<Origin> {
    match rib.get(
        &parse_prefix(prefix, true).unwrap(),
        OriginPolicy::FirstPeer,
    ) {
        Some(Chosen::One(o)) => Some(o),
        other => panic!("{prefix}: {other:?}"),
    }
}

fn check(rib: &Rib, facts: &[(&str, u32)]) {
    for &(prefix, asn) in facts {
        assert_eq!(first_peer(rib, prefix), Some(Origin::Asn(asn)), "{prefix}");
    }
}

#[test]
fn truncated_table_dump_v2_raises_or_keeps_what_was_read() {
    let name = "rib.20140523.0600_firstMB.bz2";
    let err = read(name, OnError::Raise)
        .err()
        .expect("the file is cut")
        .to_string();
    assert!(
        err.contains(name) && err.contains("record 9074") && err.contains("truncated"),
        "{err}"
    );
    let (rib, s) = read(name, OnError::Skip).unwrap();
    assert!(s.truncated);
    assert_eq!(
        s.records, 9074,
        "peer table + 9,072 RIB records + the cut one"
    );
    assert_eq!(s.entries, 270_005);
    assert_eq!(s.skipped["default route"], 1);
    check(
        &rib,
        &[
            ("1.0.0.0/24", 15169),
            ("1.0.4.0/24", 56203),
            ("1.0.5.0/24", 56203),
            ("1.0.20.0/23", 2519),
            ("1.0.38.0/24", 24155),
            ("1.0.128.0/17", 9737),
            ("1.1.57.0/24", 132537),
            ("1.116.0.0/16", 131334),
            ("5.128.0.0/16", 31200),
        ],
    );
    assert_eq!(
        first_peer(&rib, "1.38.0.0/17"),
        Some(Origin::Set(vec![38266]))
    );
    assert_eq!(
        first_peer(&rib, "5.128.0.0/14"),
        Some(Origin::Set(vec![50923]))
    );
}

#[test]
fn old_table_dump_v1() {
    let (rib, s) = read("rib.20080501.0644_firstMB.bz2", OnError::Skip).unwrap();
    assert!(s.truncated);
    assert_eq!(s.records, 139_292, "139,291 complete records + the cut one");
    check(
        &rib,
        &[
            ("3.0.0.0/8", 80),
            ("4.79.181.0/24", 14780),
            ("6.9.0.0/20", 668),
            ("8.2.118.0/23", 13909),
            ("8.3.52.0/23", 26759),
            ("8.4.96.0/20", 15162),
            ("8.6.48.0/21", 36492),
            ("8.7.81.0/24", 25741),
            ("8.7.232.0/24", 13909),
        ],
    );
}

#[test]
fn ipv6_rib() {
    let (rib, _) = read("rib6.20151101.0600_firstMB.bz2", OnError::Skip).unwrap();
    // SOURCES.md lists more pairs from pyasn's test (2a06:9800::/29, 2620:3a:400d::/48,
    // 2800:e00::/24), but those prefixes are not in the readable first megabyte.
    check(
        &rib,
        &[
            ("2001::/32", 1101),
            ("2001:4:112::/48", 112),
            ("2001:504:2e::/48", 10578),
        ],
    );
}

#[test]
fn empty_as_path_is_counted_not_fatal() {
    // Three records cut from a RIS bview, one with an empty AS path (pyasn raises here).
    let (rib, s) = read("bview.20140112.1600_3samples.bz2", OnError::Raise).unwrap();
    assert_eq!(rib.len(), 2);
    assert_eq!(s.skipped["empty AS path"], 1);
    check(&rib, &[("1.0.0.0/24", 15169), ("1.0.20.0/23", 2519)]);
}

#[test]
fn policies_differ_where_peers_disagree() {
    let (rib, _) = read("rib6.20151101.0600_firstMB.bz2", OnError::Skip).unwrap();
    let mut differ = 0;
    for (prefix, all) in rib.origins(OriginPolicy::All) {
        let Chosen::All(counts) = all else { panic!() };
        assert!(
            counts.windows(2).all(|w| w[0].1 >= w[1].1),
            "{prefix}: sorted by peers"
        );
        let Some(Chosen::One(majority)) = rib.get(&prefix, OriginPolicy::Majority) else {
            panic!()
        };
        assert_eq!(majority, counts[0].0);
        let Some(Chosen::One(first)) = rib.get(&prefix, OriginPolicy::FirstPeer) else {
            panic!()
        };
        assert!(counts.iter().any(|(o, _)| *o == first));
        differ += usize::from(first != majority);
    }
    assert!(
        differ > 0,
        "some prefixes have a first peer that disagrees with the majority"
    );
}

/// A route as text, in the fields `bgpdump -m` prints (RIB lines print the dump
/// time, not when the route was learned, so their timestamp is left out).
type Row = (
    String,
    Option<u32>,
    String,
    u32,
    String,
    Option<u32>,
    Option<String>,
);

/// The routes of `bgpdump -m` output (`ripe-ris-bgpdump/expect`), sorted.
fn bgpdump_rows(name: &str) -> Vec<Row> {
    let path = mrt(&format!("ripe-ris-bgpdump/expect/{name}.bgp.gz"));
    let mut lines = Input::open(path).unwrap().lines();
    let mut rows = Vec::new();
    while let Some(line) = lines.next_line() {
        let line = line.unwrap();
        let f: Vec<&str> = line.split('|').collect();
        let addpath = f[0].ends_with("_AP");
        let (kind, rest) = (f[2], if addpath { 7 } else { 6 });
        if !matches!(kind, "A" | "B" | "W") {
            continue; // state changes
        }
        rows.push((
            kind.to_string(),
            (kind != "B").then(|| f[1].split('.').next().unwrap().parse().unwrap()),
            f[3].parse::<std::net::IpAddr>().unwrap().to_string(),
            f[4].parse().unwrap(),
            f[5].to_string(),
            addpath.then(|| f[6].parse().unwrap()),
            (kind != "W").then(|| f[rest].to_string()),
        ));
    }
    rows.sort();
    rows
}

/// Equal rows, told briefly where not (the lists are long).
fn same_rows(ours: &[Row], theirs: &[Row], name: &str) {
    let first_diff = ours.iter().zip(theirs).find(|(a, b)| a != b);
    assert_eq!(first_diff, None, "{name}");
    assert_eq!(ours.len(), theirs.len(), "{name}");
}

/// The routes [`Routes`] gives, in the same form, sorted.
fn our_rows(name: &str) -> Vec<Row> {
    let input = Input::open(mrt(&format!("ripe-ris-bgpdump/{name}"))).unwrap();
    let mut rows: Vec<Row> = Routes::new(input)
        .map(|r| {
            let r = r.unwrap();
            (
                r.kind.as_str().to_string(),
                (r.kind != RouteKind::Rib).then_some(r.timestamp),
                r.peer_ip.to_string(),
                r.peer_asn,
                format!("{}/{}", r.prefix.0, r.prefix.1),
                r.path_id,
                r.as_path,
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn routes_agree_with_bgpdump_with_add_path_ids_kept() {
    for name in [
        "bview.ipv4_unicast_add_path.gz",
        "bview.ipv6_unicast_add_path.gz",
    ] {
        let ours = our_rows(name);
        assert!(ours.iter().all(|r| r.0 == "B" && r.5.is_some()), "{name}");
        same_rows(&ours, &bgpdump_rows(name), name);
    }
}

#[test]
fn routes_of_updates_are_announcements_and_withdrawals() {
    let name = "updates.20020722.2238.gz";
    let ours = our_rows(name);
    for kind in ["A", "W"] {
        assert!(ours.iter().any(|r| r.0 == kind), "{kind}");
    }
    assert!(ours.iter().all(|r| (r.0 == "W") == r.6.is_none()));
    same_rows(&ours, &bgpdump_rows(name), name);
}

#[test]
fn routes_end_with_the_error_of_a_cut_file() {
    let name = "rib.20140523.0600_firstMB.bz2";
    let mut routes = Routes::new(Input::open(mrt(name)).unwrap());
    let ok = routes.by_ref().take_while(Result::is_ok).count();
    assert!(ok > 200_000, "{ok}");
    assert!(routes.next().is_none(), "nothing after the error");
    let last = Routes::new(Input::open(mrt(name)).unwrap()).last().unwrap();
    let err = last.expect_err("the file is cut").to_string();
    assert!(
        err.contains("record 9074") && err.contains("truncated"),
        "{err}"
    );
}

/// A BGP4MP_MESSAGE_AS4 record of one UPDATE: `prefixes` /24s after an AS path of
/// `path_len` ASNs, written by hand (RFC 6396 4.4.2, RFC 4271 4.3).
fn update_record(prefixes: u32, path_len: usize) -> Vec<u8> {
    let mut path = Vec::new();
    for chunk in (0..path_len as u32).collect::<Vec<_>>().chunks(255) {
        path.extend([2u8, chunk.len() as u8]); // AS_SEQUENCE
        chunk
            .iter()
            .for_each(|a| path.extend((64_496 + a % 1000).to_be_bytes()));
    }
    let mut attrs = vec![0x40, 1, 1, 0]; // ORIGIN IGP
    attrs.extend([0x50, 2]);
    attrs.extend((path.len() as u16).to_be_bytes());
    attrs.extend(path);
    attrs.extend([0x40, 3, 4, 192, 0, 2, 1]); // NEXT_HOP
    let mut body = vec![0, 0]; // no withdrawn routes
    body.extend((attrs.len() as u16).to_be_bytes());
    body.extend(attrs);
    for i in 0..prefixes {
        body.extend([24, 10, (i >> 8) as u8, i as u8]);
    }
    let mut bgp = vec![0xff; 16];
    bgp.extend(((19 + body.len()) as u16).to_be_bytes());
    bgp.push(2); // UPDATE
    bgp.extend(body);
    let mut msg = Vec::new();
    msg.extend(65_000u32.to_be_bytes()); // peer AS
    msg.extend(65_001u32.to_be_bytes()); // local AS
    msg.extend([0, 0, 0, 1]); // interface, AFI IPv4
    msg.extend([192, 0, 2, 1, 192, 0, 2, 2]);
    msg.extend(bgp);
    let mut rec = Vec::new();
    rec.extend(1_400_000_000u32.to_be_bytes());
    rec.extend([0, 16, 0, 4]); // BGP4MP, BGP4MP_MESSAGE_AS4
    rec.extend((msg.len() as u32).to_be_bytes());
    rec.extend(msg);
    rec
}

#[test]
fn an_update_that_would_take_gigabytes_of_routes_is_refused() {
    let routes =
        |bytes| Routes::new(Input::from_bytes("upd.mrt", bytes).unwrap()).collect::<Vec<_>>();
    let small = routes(update_record(10, 20));
    assert_eq!(small.len(), 10);
    assert!(small.iter().all(|r| r.is_ok()));
    // 10,000 prefixes, each given a copy of a 3,000-ASN path: about a gigabyte
    let big = routes(update_record(10_000, 3_000));
    assert_eq!(big.len(), 1);
    let err = big[0].as_ref().unwrap_err().to_string();
    assert!(
        err.contains("upd.mrt: record 1") && err.contains("an update whose routes would take"),
        "{err}"
    );
}
