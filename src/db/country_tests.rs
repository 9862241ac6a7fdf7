//! MMDB files as a country source, checked against the JSON sources MaxMind made
//! its test files from: in the default order, in chosen orders, from chosen fields.

use super::answers::Snapshots;
use super::*;
use crate::batch::Keys;
use crate::loaders::mrt::OriginPolicy;
use crate::loaders::{NoProgress, OnError, ReadOptions};
use crate::mmdb::tests::{maxmind, source_entries};
use crate::testutil::temp_file;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

fn opts(on_error: OnError) -> ReadOptions<'static> {
    ReadOptions {
        on_error,
        progress: Box::leak(Box::new(NoProgress)),
    }
}

/// The test file's networks with the value at `path` (`None` where absent), each
/// by the first address of a network the file answers for.
fn expected(path: &[&str]) -> Vec<(IpAddr, Option<String>)> {
    let at = |v: &Value| path.iter().try_fold(v, |v, k| v.get(k)).cloned();
    // The sources write IPv4 networks inside `::/96`, as the file holds them.
    let v4 = |a: IpAddr| match a {
        IpAddr::V6(b) if b.segments()[..6] == [0; 6] && !b.is_unspecified() => {
            IpAddr::V4(std::net::Ipv4Addr::from(u128::from(b) as u32))
        }
        a => a,
    };
    source_entries("GeoIP2-Country-Test")
        .into_iter()
        .map(|(net, v)| {
            (
                v4(net.network()),
                at(&v).and_then(|v| v.as_str().map(String::from)),
            )
        })
        .collect()
}

/// An ipasn file routing every network's /8 (IPv4) or /16 (IPv6) from AS64500,
/// and a delegated file giving each such /8 (not the IPv6 ones) to `AQ`.
fn covering_sources(ipasn_name: &str) -> Vec<(SourceKind, PathBuf)> {
    let (mut v4, mut v6) = (BTreeSet::new(), BTreeSet::new());
    for (a, _) in expected(&[]) {
        match a {
            IpAddr::V4(a) => v4.insert(a.octets()[0]),
            IpAddr::V6(a) => v6.insert(a.segments()[0]),
        };
    }
    let mut ipasn = String::new();
    // The header counts the records that follow.
    let n = v4.len();
    let mut rir = format!("2|ripencc|1|{n}|19700101|20200101|+0000\n");
    for b in &v4 {
        ipasn += &format!("{b}.0.0.0/8\t64500\n");
        rir += &format!("ripencc|AQ|ipv4|{b}.0.0.0|16777216|20100101|allocated\n");
    }
    for s in &v6 {
        ipasn += &format!("{s:x}::/16\t64500\n");
    }
    vec![
        (SourceKind::Ipasn, temp_file("cc", ipasn_name, ipasn)),
        (
            SourceKind::Delegated,
            temp_file("cc", "delegated-cover", rir),
        ),
        (
            SourceKind::Mmdb,
            maxmind("test-data/GeoIP2-Country-Test.mmdb"),
        ),
    ]
}

fn build_db(name: &str, options: &BuildOptions) -> Database {
    let policy = &mut opts(OnError::Raise);
    let sources = covering_sources(&format!("{name}.ipasn"));
    let (b, _) = DbBuilder::from_sources(&sources, options, policy).unwrap();
    let path = temp_file("cc", name, "");
    b.write(&path).unwrap();
    Database::open(&path, true).unwrap()
}

/// Each address's (country, source) as records give them, and as a batch does.
fn answers(db: &Database, addrs: &[IpAddr]) -> Vec<(Option<String>, Option<&'static str>)> {
    let v = db.view();
    let mut batch = vec![Answer::default(); addrs.len()];
    v.lookup_many(addrs, Snapshots::Own, &mut batch);
    let mut seen = vec![];
    v.answers(Keys::Mixed(addrs), |i, a| seen.push((i, *a)));
    addrs
        .iter()
        .zip(&batch)
        .map(|(a, b)| {
            let r = v.record(*a).expect("every network is routed");
            let source = r.country_source.map(|s| s.name());
            let code = r.country_source.map_or(0, |s| s as u8);
            assert_eq!(
                (b.country_source, r.country),
                (code, country::country_text(b.country)),
                "{a}"
            );
            (r.country.map(String::from), source)
        })
        .collect()
}

#[test]
fn mmdb_countries_come_first_and_others_fill_in() {
    let db = build_db("default.db", &BuildOptions::new(OriginPolicy::FirstPeer));
    let want = expected(&["country", "iso_code"]);
    let addrs: Vec<IpAddr> = want.iter().map(|(a, _)| *a).collect();
    let got = answers(&db, &addrs);
    let mut sources = BTreeSet::new();
    for ((a, cc), (country, source)) in want.iter().zip(&got) {
        let fallback = match a.is_ipv4() {
            true => (Some("AQ".to_string()), Some("rir-prefix")),
            false => (None, None),
        };
        let expect = match cc {
            Some(cc) => (Some(cc.clone()), Some("mmdb")),
            None => fallback,
        };
        assert_eq!((country.clone(), *source), expect, "{a}");
        sources.insert(*source);
        // The place keeps its registry where a RIR block covers it, and has none
        // where only an MMDB network does.
        let r = db.view().record(*a).unwrap();
        assert_eq!(r.registry, a.is_ipv4().then_some("ripencc"), "{a}");
    }
    assert!(
        sources.contains(&Some("mmdb")) && sources.len() >= 2,
        "{sources:?}"
    );
    // An AS's own country has no address: no MMDB step.
    assert_eq!(db.view().as_record(64500).unwrap().country, None);
    let meta = db.metadata();
    assert!(meta.counts[build::MMDB_COUNTRY_COUNT] > 0);
    // The RIR counts are the delegated file's, not the places cut at MMDB networks.
    let slash8: BTreeSet<_> = addrs
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(a.octets()[0]),
            _ => None,
        })
        .collect();
    assert_eq!(meta.counts["rir_ipv4_prefixes"], slash8.len() as u64);
    assert_eq!(meta.counts["rir_ipv6_prefixes"], 0);
    assert!(!meta.options.contains_key(CountryOrder::OPTION));
}

#[test]
fn a_chosen_order_is_kept_in_the_file_and_followed() {
    let want = expected(&["country", "iso_code"]);
    let addrs: Vec<IpAddr> = want.iter().map(|(a, _)| *a).collect();
    for (order, name) in [("rir-prefix,mmdb", "rir-first.db"), ("as2org", "as2org.db")] {
        let mut o = BuildOptions::new(OriginPolicy::FirstPeer);
        o.country_order = Some(order.parse().unwrap());
        let db = build_db(name, &o);
        assert_eq!(db.metadata().options[CountryOrder::OPTION], order);
        for ((a, cc), got) in want.iter().zip(answers(&db, &addrs)) {
            let expect = match (order, a.is_ipv4(), cc) {
                ("as2org", ..) => (None, None),
                (_, true, _) => (Some("AQ".to_string()), Some("rir-prefix")),
                (_, false, Some(cc)) => (Some(cc.clone()), Some("mmdb")),
                (_, false, None) => (None, None),
            };
            assert_eq!(got, expect, "{order} {a}");
        }
    }
}

#[test]
fn a_chosen_field_gives_the_countries() {
    let mut o = BuildOptions::new(OriginPolicy::FirstPeer);
    o.mmdb_country_fields = Some(vec!["registered_country.iso_code".into()]);
    o.country_order = Some("mmdb".parse().unwrap());
    let db = build_db("registered.db", &o);
    let want = expected(&["registered_country", "iso_code"]);
    let addrs: Vec<IpAddr> = want.iter().map(|(a, _)| *a).collect();
    let mut found = 0;
    for ((a, cc), (country, _)) in want.iter().zip(answers(&db, &addrs)) {
        assert_eq!(&country, cc, "{a}");
        found += cc.is_some() as usize;
    }
    assert!(found > 10);
    let fields = &db.metadata().options["mmdb_country_fields"];
    assert_eq!(fields, "registered_country.iso_code");
}

#[test]
fn a_field_that_is_no_country_code_is_an_error_or_skipped() {
    let city = maxmind("test-data/GeoIP2-City-Test.mmdb");
    let fields = ["city.names.en".to_string()];
    let mut b = DbBuilder::new();
    b.set_mmdb_country_fields(&fields).unwrap();
    let err = b
        .read_mmdb(&city, &mut opts(OnError::Raise))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("GeoIP2-City-Test.mmdb") && err.contains("record "),
        "{err}"
    );
    assert!(
        err.contains("city.names.en is ") && err.contains("not a two-letter"),
        "{err}"
    );
    let mut b = DbBuilder::new();
    b.set_mmdb_country_fields(&fields).unwrap();
    let s = b.read_mmdb(&city, &mut opts(OnError::Skip)).unwrap();
    assert!(s.skipped["not a country code"] > 0, "{s:?}");
    assert!(DbBuilder::new().set_mmdb_country_fields(&[]).is_err());
    assert!(DbBuilder::new()
        .set_mmdb_country_fields(&["a..b".into()])
        .is_err());
}

#[test]
fn a_country_file_gives_countries_and_no_prefixes() {
    let mut b = DbBuilder::new();
    let country = maxmind("test-data/GeoIP2-Country-Test.mmdb");
    let s = b.read_mmdb(&country, &mut opts(OnError::Raise)).unwrap();
    let with_country = expected(&["country", "iso_code"])
        .iter()
        .filter(|(_, c)| c.is_some())
        .count();
    assert_eq!(s.prefixes, 0);
    assert!(
        s.entries as usize >= with_country && with_country > 10,
        "{s:?}"
    );
    assert_eq!(s.entries + s.skipped.values().sum::<u64>(), s.records);
    assert!(b.is_empty());
}

#[test]
fn a_history_keeps_mmdb_countries_in_one_order() {
    let day = |date: &str, order: Option<&str>| {
        let mut o = BuildOptions::new(OriginPolicy::FirstPeer);
        o.country_order = order.map(|t| t.parse().unwrap());
        // The ipasn file's name dates the routing data (the MMDB file's date
        // is when it was built, and comes after).
        build_db(&format!("cover-{date}"), &o).path().to_path_buf()
    };
    let (a, b) = (day("20140101", None), day("20140102", None));
    let out = temp_file("cc", "h.geoipdb", "");
    history::build_history(&out, &[b, a.clone()], &mut NoProgress).unwrap();
    let (h, one) = (
        Database::open(&out, true).unwrap(),
        Database::open(&a, true).unwrap(),
    );
    assert_eq!(h.times()[0], 1_388_534_400);
    let addrs: Vec<IpAddr> = expected(&[]).iter().map(|(a, _)| *a).collect();
    for s in 0..2 {
        for a in &addrs {
            let (x, y) = (h.view_at(s).record(*a), one.view().record(*a));
            let x = x.map(|r| (r.country, r.country_source, r.registry.map(String::from)));
            let y = y.map(|r| (r.country, r.country_source, r.registry.map(String::from)));
            assert_eq!(x, y, "{s} {a}");
        }
    }
    let c = day("20140103", Some("rir-prefix,mmdb"));
    let out = temp_file("cc", "h2.geoipdb", "");
    let err = history::build_history(&out, &[a, c], &mut NoProgress).unwrap_err();
    let err = err.to_string();
    assert!(err.contains("different country orders"), "{err}");
    assert!(
        err.contains("(mmdb,as2org,rir-prefix,rir-asn,asname and rir-prefix,mmdb)"),
        "{err}"
    );
}
