//! Exports read back by MaxMind's Rust reader, address by address, against the
//! database's own answers.

use super::write::{mmdb_bytes, MmdbOptions};
use crate::db::tests::small_db;
use crate::db::Database;
use ipnet::IpNet;
use maxminddb::Reader;
use serde_json::Value;
use std::net::IpAddr;

/// Addresses at and beside every boundary of the small database, and some others.
fn probes() -> Vec<IpAddr> {
    let edges = [
        "1.0.0.0",
        "1.0.0.255",
        "1.0.1.0",
        "1.0.1.255",
        "1.0.2.0",
        "1.0.3.255",
        "1.0.4.0",
        "0.255.255.255",
        "8.0.0.0",
        "8.8.7.255",
        "8.8.8.0",
        "8.8.8.255",
        "8.8.9.0",
        "8.127.255.255",
        "8.128.0.0",
        "10.1.2.3",
        "192.0.2.1",
        "192.0.3.0",
        "2001:db8::",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db9::",
        "2002::1",
        "255.255.255.255",
        "0.0.0.0",
        "::",
    ];
    edges.iter().map(|s| s.parse().unwrap()).collect()
}

/// The file's answer for `a`: the record as JSON and the network, if any.
fn answer(r: &Reader<Vec<u8>>, a: IpAddr) -> Option<(Value, IpNet)> {
    let l = r.lookup(a).unwrap();
    let v: Value = l.decode().unwrap()?;
    let n = l.network().unwrap();
    Some((v, IpNet::new(n.network(), n.prefix()).unwrap()))
}

#[test]
fn an_export_answers_every_address_as_the_database() {
    let db = Database::open(small_db("mmdb.db"), true).unwrap();
    let (bytes, summary) = mmdb_bytes(&db, &MmdbOptions::default()).unwrap();
    // 2001:db8::/32 is outside the aliased networks, so the aliases are on.
    assert!(summary.ipv4_aliases);
    assert_eq!(summary.aliased_out, 0);
    let r = Reader::from_source(bytes).unwrap();
    r.verify().unwrap();
    let v = db.view();
    for a in probes() {
        let (want, got) = (v.record(a), answer(&r, a));
        let (Some(want), Some((got, net))) = (&want, &got) else {
            assert!(want.is_none() && got.is_none(), "{a}: {want:?} vs {got:?}");
            continue;
        };
        let own = &got["geoip_rs"];
        assert_eq!(got["autonomous_system_number"], want.asn, "{a}");
        assert_eq!(own["prefix"], want.prefix.to_string(), "{a}");
        assert_eq!(own["prefix_length"], want.prefix.prefix_len(), "{a}");
        assert_eq!(own["origins"], serde_json::json!(want.origins), "{a}");
        assert_eq!(got["country"]["iso_code"].as_str(), want.country, "{a}");
        assert_eq!(own["country"].as_str(), want.country, "{a}");
        assert_eq!(own["registry"].as_str(), want.registry, "{a}");
        let source = want.country_source.map(|s| s.name());
        assert_eq!(own["country_source"].as_str(), source, "{a}");
        // The network lies inside the routed prefix, and answers as one.
        let routed: IpNet = want.prefix.to_string().parse().unwrap();
        assert!(routed.contains(net), "{a}: {net} outside {routed}");
        for end in [net.network(), net.broadcast()] {
            let other = v.record(end).unwrap();
            assert_eq!((other.prefix, other.country), (want.prefix, want.country));
            assert_eq!(other.registry, want.registry, "{a}: {end}");
        }
    }
}

#[test]
fn networks_are_split_only_where_the_answer_changes() {
    let db = Database::open(small_db("mmdb-split.db"), true).unwrap();
    let (bytes, _) = mmdb_bytes(&db, &MmdbOptions::default()).unwrap();
    let r = Reader::from_source(bytes).unwrap();
    let net = |s: &str| answer(&r, s.parse().unwrap()).unwrap().1.to_string();
    // 1.0.0.0/22 around 1.0.0.0/24: its RIR block (1.0.0.0/23, NL) gives
    // 1.0.1.0/24 a country of its own, the rest takes the AS number's (FR).
    assert_eq!(net("1.0.0.9"), "1.0.0.0/24");
    assert_eq!(net("1.0.1.9"), "1.0.1.0/24");
    assert_eq!(net("1.0.3.9"), "1.0.2.0/23");
    // 8.0.0.0/9 around 8.8.8.0/24: one network per bit, not per /24.
    assert_eq!(net("8.8.9.1"), "8.8.9.0/24");
    assert_eq!(net("8.64.0.1"), "8.64.0.0/10");
    assert_eq!(net("8.8.8.8"), "8.8.8.0/24");
}

#[test]
fn aliases_are_left_off_where_the_database_routes_inside_them() {
    let db = Database::open(small_db("mmdb-alias.db"), true).unwrap();
    let on = MmdbOptions {
        ipv4_aliases: Some(true),
        ..MmdbOptions::default()
    };
    let (bytes, _) = mmdb_bytes(&db, &on).unwrap();
    let r = Reader::from_source(bytes).unwrap();
    // 6to4 of 8.8.8.8 and the mapped form answer as 8.8.8.8.
    for a in ["2002:808:808::1", "::ffff:8.8.8.8"] {
        let (got, _) = answer(&r, a.parse().unwrap()).expect(a);
        assert_eq!(got["autonomous_system_number"], 15169, "{a}");
    }
    let off = MmdbOptions {
        ipv4_aliases: Some(false),
        ..MmdbOptions::default()
    };
    let r = Reader::from_source(mmdb_bytes(&db, &off).unwrap().0).unwrap();
    assert!(answer(&r, "2002:808:808::1".parse().unwrap()).is_none());
}

#[test]
fn metadata_says_what_the_file_is() {
    let db = Database::open(small_db("mmdb-meta.db"), true).unwrap();
    let (bytes, _) = mmdb_bytes(&db, &MmdbOptions::default()).unwrap();
    let r = Reader::from_source(bytes).unwrap();
    let m = r.metadata();
    assert_eq!(m.database_type, "geoip_rs-ASN-Country");
    assert_eq!((m.ip_version, m.binary_format_major_version), (6, 2));
    assert_eq!(m.languages, ["en"]);
    assert!(m.description["en"].contains("geoip_rs"));
    let built = crate::db::history::time::parse_time(&db.metadata().built).unwrap();
    assert_eq!(m.build_epoch as i64, built);
    assert!([24, 28, 32].contains(&m.record_size));
}
