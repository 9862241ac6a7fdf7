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
    for size in [24, 28, 32] {
        export_answers_as_the_database(size);
    }
}

fn export_answers_as_the_database(size: u16) {
    let db = Database::open(small_db("mmdb.db"), true).unwrap();
    let o = MmdbOptions {
        min_record_size: size,
        ..MmdbOptions::default()
    };
    let (bytes, summary) = mmdb_bytes(&db, &o).unwrap();
    assert_eq!(summary.record_size, size);
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

/// MaxMind's test files (`../shared/data/mmdb/maxmind-test`).
pub(crate) fn maxmind(rel: &str) -> std::path::PathBuf {
    crate::testutil::shared(&format!("mmdb/maxmind-test/{rel}"))
}

/// Each network of a source file and its record, where no more specific network
/// of the file covers the network's first address (so the file answers it).
pub(crate) fn source_entries(name: &str) -> Vec<(IpNet, Value)> {
    let text = std::fs::read_to_string(maxmind(&format!("source-data/{name}.json"))).unwrap();
    let list: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text).unwrap();
    let all: Vec<(IpNet, Value)> = list
        .into_iter()
        .flat_map(|m| m.into_iter())
        .map(|(k, v)| (k.parse().unwrap(), v))
        .collect();
    let first = |n: &IpNet| n.network();
    all.iter()
        .filter(|(n, _)| {
            !all.iter()
                .any(|(m, _)| m.prefix_len() > n.prefix_len() && m.contains(&first(n)))
        })
        .cloned()
        .collect()
}

#[test]
fn maxminds_test_files_answer_as_their_sources() {
    use super::read::MmdbFile;
    for name in [
        "GeoIP2-Country-Test",
        "GeoLite2-ASN-Test",
        "GeoIP2-ISP-Test",
        "GeoLite2-Country-Test",
        "GeoIP2-City-Test",
        "GeoLite2-City-Test",
    ] {
        let f = MmdbFile::open(maxmind(&format!("test-data/{name}.mmdb")), true).unwrap();
        let entries = source_entries(name);
        assert!(entries.len() > 100, "{name}");
        for (net, want) in entries {
            for a in [net.network(), net.broadcast()] {
                let (got, at) = f.lookup(a).unwrap().unwrap_or_else(|| panic!("{name} {a}"));
                let got: Value = serde_json::from_str(&got.to_json()).unwrap();
                assert_eq!(
                    numbers_as_floats(got),
                    numbers_as_floats(want.clone()),
                    "{name} {a}"
                );
                assert!(net.contains(&at) || at.contains(&net), "{name} {a}: {at}");
            }
        }
    }
}

#[test]
fn broken_files_are_errors_not_panics() {
    use super::read::MmdbFile;
    let mut files: Vec<_> = walk(&maxmind("bad-data"));
    for t in ["broken-pointers-24", "broken-search-tree-24"] {
        files.push(maxmind(&format!("test-data/MaxMind-DB-test-{t}.mmdb")));
    }
    files.push(maxmind(
        "test-data/GeoIP2-City-Test-Invalid-Node-Count.mmdb",
    ));
    files.push(maxmind(
        "test-data/GeoIP2-City-Test-Broken-Double-Format.mmdb",
    ));
    assert!(files.len() >= 24);
    for path in files {
        let err = match MmdbFile::open(&path, true) {
            Err(e) => e,
            Ok(f) => panic!(
                "{}: opened ({:?})",
                path.display(),
                f.metadata().database_type
            ),
        };
        let text = err.to_string();
        assert!(text.contains(path.to_str().unwrap()), "{text}");
        // Unverified, a file may open; then its damage is met as an error at the
        // lookup or network that reaches it, never a panic.
        if let Ok(f) = MmdbFile::open(&path, false) {
            let errors = f.networks().filter(|r| r.is_err()).count();
            let probes = (0..=255u8).map(|i| IpAddr::from([i, 1, 2, 3]));
            let failed = probes.filter(|&a| f.lookup(a).is_err()).count();
            assert!(errors + failed < 10_000_000, "{}", path.display());
        }
    }
}

#[test]
fn batches_answer_as_single_lookups() {
    use super::batch::FieldColumn;
    use super::source::MmdbSource;
    use crate::batch::Keys;
    let f = MmdbSource::open(&maxmind("test-data/GeoIP2-City-Test.mmdb"), true).unwrap();
    let mut addrs: Vec<IpAddr> = source_entries("GeoIP2-City-Test")
        .iter()
        .flat_map(|(n, _)| [n.network(), n.broadcast()])
        .collect();
    addrs.extend((0..=255u8).map(|i| IpAddr::from([i, 0, 0, 1])));
    let mut valid = vec![true; addrs.len()];
    valid[0] = false;
    let a = f.answers(&Keys::Mixed(&addrs), Some(&valid)).unwrap();
    let fields = a.default_fields();
    assert!(fields.contains(&"city.names.en".to_owned()), "{fields:?}");
    assert!(
        !fields.iter().any(|p| p.ends_with("names.de")),
        "{fields:?}"
    );
    let (lat, iso) = (a.column("location.latitude"), a.column("country.iso_code"));
    let (FieldColumn::Float(lat, lat_ok), FieldColumn::Text(iso, dict)) = (lat, iso) else {
        panic!("column types");
    };
    for (i, &addr) in addrs.iter().enumerate() {
        let one = f.lookup(addr).unwrap().filter(|_| valid[i]);
        assert_eq!(
            a.record[i] != super::batch::NO_RECORD,
            one.is_some(),
            "{addr}"
        );
        let Some((v, net)) = one else { continue };
        assert_eq!(a.prefix_len[i], net.prefix_len(), "{addr}");
        assert_eq!(a.records[a.record[i] as usize], v, "{addr}");
        let want_lat = match v.get("location.latitude") {
            Some(super::value::MmdbValue::Double(x)) => Some(*x),
            _ => None,
        };
        assert_eq!(lat_ok[i].then_some(lat[i]), want_lat, "{addr}");
        let want_iso = match v.get("country.iso_code") {
            Some(super::value::MmdbValue::Text(t)) => Some(t.as_str()),
            _ => None,
        };
        let got_iso = (iso[i] >= 0).then(|| dict[iso[i] as usize].as_str());
        assert_eq!(got_iso, want_iso, "{addr}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        match p.is_dir() {
            true => out.extend(walk(&p)),
            false if p.extension().is_some_and(|x| x == "mmdb") => out.push(p),
            false => {}
        }
    }
    out.sort();
    out
}

/// JSON with every number as a float, so that a double `37.0` equals a source's `37`.
fn numbers_as_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_floats).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A compiled file answers every network's first and last address, and batches,
/// as the MMDB file it came from; it iterates the same networks.
#[test]
fn compiled_files_answer_as_their_sources() {
    use super::compiled::compile;
    use super::source::{FileKind, MmdbSource};
    use crate::batch::Keys;
    let geolite = crate::testutil::shared("mmdb/geolite2-cc-by-sa/GeoLite2-Country_20190219.mmdb");
    let files = [
        maxmind("test-data/GeoIP2-City-Test.mmdb"),
        maxmind("test-data/GeoLite2-ASN-Test.mmdb"),
        maxmind("test-data/MaxMind-DB-test-mixed-24.mmdb"),
        maxmind("test-data/MaxMind-DB-test-ipv4-28.mmdb"),
        maxmind("test-data/MaxMind-DB-no-ipv4-search-tree.mmdb"),
        geolite,
    ];
    for path in files {
        let src = MmdbSource::open(&path, true).unwrap();
        let MmdbSource::File(file) = &src else {
            panic!()
        };
        let out = crate::testutil::temp_file("mmdb", "compiled.geoipdb", "");
        let summary = compile(file, &out).unwrap();
        assert_eq!(FileKind::of(&out), FileKind::CompiledMmdb);
        assert_eq!(FileKind::of(&path), FileKind::Mmdb);
        let c = MmdbSource::open(&out, true).unwrap();
        assert!(c.is_compiled());
        assert_eq!(c.metadata(), src.metadata());
        let nets = src.networks().unwrap();
        let cnets = c.networks().unwrap();
        let sorted = |mut v: Vec<IpNet>| {
            v.sort();
            v
        };
        assert_eq!(sorted(cnets), sorted(nets.clone()), "{}", path.display());
        assert_eq!(
            summary.ipv4_networks + summary.ipv6_networks,
            nets.len() as u64
        );
        let mut addrs: Vec<IpAddr> = Vec::new();
        for n in nets.iter().step_by(1 + nets.len() / 20_000) {
            addrs.extend([n.network(), n.broadcast()]);
        }
        for &a in &addrs {
            assert_eq!(c.lookup(a).unwrap(), src.lookup(a).unwrap(), "{a}");
        }
        addrs.extend((0..=255u8).map(|i| IpAddr::from([i, 7, 7, 7])));
        // The IPv4 aliases' forms of some IPv4 networks, which a file with aliases
        // answers as IPv4 and its compiled form must too.
        for n in nets
            .iter()
            .filter(|n| n.network().is_ipv4())
            .step_by(97)
            .take(300)
        {
            let IpAddr::V4(a) = n.network() else { continue };
            let v4 = u32::from(a) as u128;
            for (base, at) in [
                (0xffffu128 << 32, 96),
                (0x2002 << 112, 16),
                (0x2001 << 112, 32),
            ] {
                let alias = IpAddr::V6((base | v4 << (96 - at)).into());
                assert_eq!(
                    c.lookup(alias).unwrap(),
                    src.lookup(alias).unwrap(),
                    "{alias}"
                );
                addrs.push(alias);
            }
        }
        // A batch at least as long as the tree has nodes goes through the file's
        // own index: answered as address by address.
        let many: Vec<IpAddr> = addrs
            .iter()
            .cycle()
            .take(src.metadata().node_count as usize + 1)
            .copied()
            .collect();
        let indexed = src.answers(&Keys::Mixed(&many), None).unwrap();
        for (i, &a) in many.iter().enumerate().take(addrs.len()) {
            let one = src.lookup(a).unwrap();
            assert_eq!(
                one.as_ref().map(|(_, n)| n.prefix_len()).unwrap_or(0),
                indexed.prefix_len[i],
                "{a}"
            );
            let rec = (indexed.record[i] != super::batch::NO_RECORD)
                .then(|| &indexed.records[indexed.record[i] as usize]);
            assert_eq!(one.as_ref().map(|(v, _)| v), rec, "{a}");
        }
        let (x, y) = (
            src.answers(&Keys::Mixed(&addrs), None).unwrap(),
            c.answers(&Keys::Mixed(&addrs), None).unwrap(),
        );
        assert_eq!(x.prefix_len, y.prefix_len);
        for f in x.default_fields() {
            assert_eq!(x.column(&f), y.column(&f), "{} {f}", path.display());
        }
    }
}

/// A database of default and covering routes: IPv4's whole space, IPv6's, and
/// 2000::/3 over two of the aliases' networks.
fn covering_db(name: &str) -> std::path::PathBuf {
    let ipasn = "0.0.0.0/0\t64500\n8.8.8.0/24\t15169\n::/0\t64501\n2000::/3\t64502\n";
    db_of(name, ipasn)
}

fn db_of(name: &str, ipasn: &str) -> std::path::PathBuf {
    let opts = crate::loaders::ReadOptions {
        on_error: crate::loaders::OnError::Raise,
        progress: Box::leak(Box::new(crate::loaders::NoProgress)),
    };
    let mut b = crate::db::DbBuilder::new();
    let src = crate::testutil::temp_file("mmdb", &format!("{name}.ipasn"), ipasn);
    b.read_ipasn(&src, &mut { opts }).unwrap();
    let path = crate::testutil::temp_file("mmdb", name, "");
    b.write(&path).unwrap();
    path
}

#[test]
fn covering_routes_export_with_and_without_aliases() {
    let db = Database::open(covering_db("covering.db"), true).unwrap();
    let v = db.view();
    let asn = |r: &Reader<Vec<u8>>, a: &str| {
        answer(r, a.parse().unwrap()).map(|(v, _)| v["autonomous_system_number"].as_u64().unwrap())
    };
    // By default no aliases: the routes answer the aliases' networks as the
    // database does.
    let (bytes, s) = mmdb_bytes(&db, &MmdbOptions::default()).unwrap();
    assert!(!s.ipv4_aliases);
    let r = Reader::from_source(bytes).unwrap();
    r.verify().unwrap();
    for a in [
        "1.2.3.4",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "2001::1",
        "2400::1",
        "4000::1",
        "1::1",
    ] {
        let ip: IpAddr = a.parse().unwrap();
        assert_eq!(asn(&r, a), v.record(ip).map(|r| r.asn as u64), "{a}");
    }
    // `::/96` is IPv4's: `::1.2.3.4` answers as 1.2.3.4, not as ::/0.
    assert_eq!(asn(&r, "::102:304"), Some(64500));
    // Forced, the aliases answer as IPv4 and the routes keep the rest.
    let on = MmdbOptions {
        ipv4_aliases: Some(true),
        ..MmdbOptions::default()
    };
    let (bytes, s) = mmdb_bytes(&db, &on).unwrap();
    assert!(s.ipv4_aliases);
    let r = Reader::from_source(bytes).unwrap();
    r.verify().unwrap();
    assert_eq!(asn(&r, "::ffff:8.8.8.8"), Some(15169));
    assert_eq!(asn(&r, "2002:808:808::1"), Some(15169));
    assert_eq!(asn(&r, "2001:0:102:304::"), Some(64500));
    assert_eq!(asn(&r, "2003::1"), Some(64502));
    assert_eq!(asn(&r, "2000::1"), Some(64502));
    assert_eq!(asn(&r, "1::1"), Some(64501));
}

#[test]
fn a_database_without_ipv4_answers_no_ipv4_address() {
    // An IPv6 route over `::/96` must not answer for IPv4, whose place it is in
    // the file, whether or not the database has IPv4 routes (found by fuzzing).
    let db = Database::open(db_of("v6-only.db", "::/2\t64505\n2000::/3\t64502\n"), true).unwrap();
    let (bytes, _) = mmdb_bytes(&db, &MmdbOptions::default()).unwrap();
    let r = Reader::from_source(bytes).unwrap();
    r.verify().unwrap();
    for a in ["0.1.4.4", "1.2.3.4", "255.255.255.255", "::1.2.3.4"] {
        assert_eq!(answer(&r, a.parse().unwrap()), None, "{a}");
    }
    let asn =
        |a: &str| answer(&r, a.parse().unwrap()).unwrap().0["autonomous_system_number"].clone();
    assert_eq!(asn("::1:0:0"), 64505);
    assert_eq!(asn("2001:db8::1"), 64502);
}

fn build_from_mmdb(src: &std::path::Path, name: &str) -> (Database, crate::loaders::Summary) {
    let mut opts = crate::loaders::ReadOptions {
        on_error: crate::loaders::OnError::Raise,
        progress: Box::leak(Box::new(crate::loaders::NoProgress)),
    };
    let mut b = crate::db::DbBuilder::new();
    let s = b.read_mmdb(src, &mut opts).unwrap();
    let path = crate::testutil::temp_file("mmdb", name, "");
    b.write(&path).unwrap();
    (Database::open(&path, true).unwrap(), s)
}

/// MaxMind's ASN test file as a source answers, at every network of its JSON
/// source, with the JSON's AS number and organisation.
#[test]
fn an_asn_file_is_a_prefix_source() {
    let (db, s) = build_from_mmdb(&maxmind("test-data/GeoLite2-ASN-Test.mmdb"), "asn.db");
    assert!(s.entries > 100 && s.skipped.is_empty(), "{s:?}");
    let v = db.view();
    let entries = source_entries("GeoLite2-ASN-Test");
    // An AS's networks may spell its organisation differently: the name is one.
    let mut orgs: std::collections::HashMap<u64, Vec<&str>> = Default::default();
    for (_, want) in &entries {
        let org = want["autonomous_system_organization"].as_str();
        let asn = want["autonomous_system_number"].as_u64().unwrap();
        orgs.entry(asn).or_default().extend(org);
    }
    for (net, want) in &entries {
        for a in [net.network(), net.broadcast()] {
            let r = v.record(a).unwrap_or_else(|| panic!("{a}"));
            let asn = want["autonomous_system_number"].as_u64().unwrap();
            assert_eq!(r.asn as u64, asn, "{a}");
            let named = r.as_name.is_some_and(|n| orgs[&asn].contains(&n));
            assert!(named || orgs[&asn].is_empty(), "{a}: {:?}", r.as_name);
        }
    }
    let src = db
        .metadata()
        .sources
        .iter()
        .find(|s| s.kind == "mmdb")
        .unwrap();
    assert!(src.date.is_some());
}

/// A database exported and read back as a source routes every address to the
/// same origin.
#[test]
fn an_export_read_back_keeps_every_origin() {
    let db = Database::open(small_db("mmdb-back.db"), true).unwrap();
    let out = crate::testutil::temp_file("mmdb", "back.mmdb", "");
    db.to_mmdb(&out, &MmdbOptions::default()).unwrap();
    let (back, _) = build_from_mmdb(&out, "back.db");
    let (v, w) = (db.view(), back.view());
    for a in probes() {
        assert_eq!(
            v.record(a).map(|r| r.asn),
            w.record(a).map(|r| r.asn),
            "{a}"
        );
    }
}
