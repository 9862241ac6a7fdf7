//! Database tests: a small hand-made database whose every answer is known, the real
//! 2014 table against the prefix table, and damaged files.

use super::file::seal;
use super::*;
use crate::ip::{parse_prefix, IpPrefix};
use crate::loaders::mrt::OriginPolicy;
use crate::loaders::{NoProgress, OnError, ReadOptions};
use crate::testutil::{shared, temp_file};
use std::net::IpAddr;
use std::path::PathBuf;

const IPASN: &str = "; test\n8.0.0.0/9\t3356\n8.8.8.0/24\t15169\n1.0.0.0/24\t64500\n\
1.0.0.0/22\t64501\n2001:db8::/32\t64501\n10.0.0.0/8\t64503\n";
const PFX2AS: &str = "8.8.8.0\t24\t15169_3356\n192.0.2.0\t24\t64496,64497\n";
const AS2ORG: &str = "# format:org_id|changed|org_name|country|source\n\
LVLT-ARIN|20120224|Level 3|US|ARIN\nGOGL-ARIN|20120224|Google LLC|US|ARIN\n\
NOCC-RIPE|20120224|No Country Org||RIPE\n\
# format:aut|changed|aut_name|org_id|source\n\
3356|20120224|LEVEL3|LVLT-ARIN|ARIN\n15169|20120224|GOOGLE|GOGL-ARIN|ARIN\n\
64500|20120224|NOCC|NOCC-RIPE|RIPE\n";
const DELEGATED: &str = "2|ripencc|1|3|19700101|20200101|+0000\n\
ripencc|*|ipv4|*|1|summary\nripencc|*|ipv6|*|1|summary\nripencc|*|asn|*|1|summary\n\
ripencc|NL|ipv4|1.0.0.0|512|20100101|allocated\n\
ripencc|DE|ipv6|2001:db8::|32|20100101|allocated\n\
ripencc|FR|asn|64501|2|20100101|assigned\n";
const ASNAMES: &str = "AS64503 TEST-AS - Test Network, JP\nAS15169 GOOGLE - Google Inc., US\n";

fn opts() -> ReadOptions<'static> {
    ReadOptions {
        on_error: OnError::Raise,
        progress: Box::leak(Box::new(NoProgress)),
    }
}

pub(crate) fn small_db(name: &str) -> PathBuf {
    small_db_in(name, None)
}

/// [`small_db`] with its countries in `order` (else the default).
pub(crate) fn small_db_in(name: &str, order: Option<CountryOrder>) -> PathBuf {
    let f = |n: &str, text: &str| temp_file("db", n, text);
    let mut b = DbBuilder::new();
    if let Some(order) = order {
        b.set_country_order(order);
    }
    b.read_ipasn(&f("t.ipasn", IPASN), &mut opts()).unwrap();
    b.read_pfx2as(&f("t.pfx2as", PFX2AS), &mut opts()).unwrap();
    b.read_as2org(&f("t.as2org", AS2ORG), &mut opts()).unwrap();
    b.read_delegated(&f("delegated-test", DELEGATED), &mut opts())
        .unwrap();
    b.read_asnames(&f("t.asnames", ASNAMES), &mut opts())
        .unwrap();
    let path = temp_file("db", name, "");
    b.write(&path).unwrap();
    path
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pfx(s: &str) -> IpPrefix {
    parse_prefix(s, true).unwrap()
}

#[test]
fn records_say_where_each_answer_came_from() {
    let db = Database::open(small_db("records.db"), true).unwrap();
    let v = db.view();
    let r = v.record(ip("8.8.8.8")).unwrap();
    assert_eq!(r.prefix, pfx("8.8.8.0/24"));
    assert_eq!((r.asn, r.origins), (15169, &[15169, 3356][..]));
    assert_eq!(r.as_name, Some("GOOGLE - Google Inc."));
    assert_eq!(
        (r.org_id, r.org_name),
        (Some("GOGL-ARIN"), Some("Google LLC"))
    );
    assert_eq!(
        (r.country, r.country_source),
        (Some("US"), Some(CountrySource::As2Org))
    );
    // No RIR data on it: the registry as2org names, spelt as the RIR files do.
    assert_eq!(r.registry, Some("arin"));
    // No organisation country: the delegated block's country.
    let r = v.record(ip("1.0.0.1")).unwrap();
    assert_eq!(
        (r.asn, r.org_id, r.as_name),
        (64500, Some("NOCC-RIPE"), Some("NOCC"))
    );
    assert_eq!(
        (r.country, r.country_source),
        (Some("NL"), Some(CountrySource::RirPrefix))
    );
    assert_eq!(r.registry, Some("ripencc"));
    // Outside the block: the AS number's delegation.
    let r = v.record(ip("1.0.3.1")).unwrap();
    assert_eq!((r.prefix, r.asn), (pfx("1.0.0.0/22"), 64501));
    assert_eq!(
        (r.country, r.country_source),
        (Some("FR"), Some(CountrySource::RirAsn))
    );
    assert_eq!(r.registry, Some("ripencc"));
    // Nothing but the AS name's country.
    let r = v.record(ip("10.1.2.3")).unwrap();
    assert_eq!(
        (r.country, r.country_source),
        (Some("JP"), Some(CountrySource::AsName))
    );
    let r = v.record(ip("2001:db8::1")).unwrap();
    assert_eq!(
        (r.country, r.country_source),
        (Some("DE"), Some(CountrySource::RirPrefix))
    );
    // An AS set's members, the lowest first; no country anywhere.
    let r = v.record(ip("192.0.2.200")).unwrap();
    assert_eq!(r.origins, &[64496, 64497]);
    assert_eq!((r.country, r.country_source, r.as_name), (None, None, None));
    assert_eq!(v.record(ip("9.9.9.9")), None);
    assert_eq!(v.record(ip("8.128.0.1")), None);
    assert_eq!(v.record(ip("2001:db9::1")), None);
}

#[test]
fn as_records_combine_the_registries() {
    let db = Database::open(small_db("as.db"), true).unwrap();
    let v = db.view();
    let a = v.as_record(3356).unwrap();
    assert_eq!(
        (a.name, a.org_name, a.org_country),
        (Some("LEVEL3"), Some("Level 3"), Some("US"))
    );
    let a = v.as_record(64502).unwrap(); // only delegated, routes nothing
    assert_eq!(
        (a.registry, a.rir_country, a.name),
        (Some("ripencc"), Some("FR"), None)
    );
    assert_eq!(v.as_record(64510), None);
}

#[test]
fn prefix_and_as_queries() {
    let db = Database::open(small_db("queries.db"), true).unwrap();
    let v = db.view();
    assert_eq!(v.len(), 7);
    let prefixes = |x: Vec<(IpPrefix, u32)>| x.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
    assert_eq!(
        prefixes(v.covering(&pfx("8.8.8.8/32"))),
        [pfx("8.0.0.0/9"), pfx("8.8.8.0/24")]
    );
    assert_eq!(
        prefixes(v.covered(&pfx("8.0.0.0/8"))),
        [pfx("8.0.0.0/9"), pfx("8.8.8.0/24")]
    );
    assert_eq!(prefixes(v.covered(&pfx("1.0.0.0/23"))), [pfx("1.0.0.0/24")]);
    assert_eq!(v.prefixes_of(3356), [pfx("8.0.0.0/9"), pfx("8.8.8.0/24")]);
    assert_eq!(
        v.prefixes_of(64501),
        [pfx("1.0.0.0/22"), pfx("2001:db8::/32")]
    );
    let iter: Vec<_> = v.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(iter[0], "1.0.0.0/22");
    assert_eq!(iter.last().unwrap(), "2001:db8::/32");
    let t = v.as_tally();
    assert_eq!(t[&3356].v4_addresses, 1 << 23); // the /9 and, as second origin, the /24
    assert_eq!(t[&15169].v4_addresses, 256);
    assert_eq!(t[&64501].v4_addresses, 1024 - 256);
    assert_eq!(t[&64501].v6_addresses, 1 << 96);
    assert_eq!((t[&64501].v4_prefixes, t[&64501].v6_prefixes), (1, 1));
    let c = v.country_tally();
    assert_eq!(c[&Some(*b"US")].0.v4_addresses, (1 << 23) - 256 + 256);
    // A prefix counts where its first address is: 1.0.0.0/22 starts in the NL block,
    // though its addresses past the block are FR.
    assert_eq!(c[&Some(*b"NL")].0.v4_addresses, 1024);
    assert_eq!(c[&None].0.v4_prefixes, 1);
}

#[test]
fn metadata_records_sources() {
    let db = Database::open(small_db("meta.db"), true).unwrap();
    let m = db.metadata();
    let kinds: Vec<_> = m.sources.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["ipasn", "pfx2as", "as2org", "delegated", "asnames"]);
    assert_eq!(m.sources[3].date.as_deref(), Some("2020-01-01"));
    assert_eq!(m.sources[0].size, IPASN.len() as u64);
    assert_eq!(m.counts["ipv4_prefixes"], 6);
    assert_eq!(m.counts["ipv6_prefixes"], 1);
    assert_eq!(m.geoip_rs_version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_database_without_prefixes_is_refused() {
    let err = DbBuilder::new()
        .write(&temp_file("db", "empty.db", ""))
        .unwrap_err();
    assert!(err.to_string().contains("no prefixes"), "{err}");
}

/// A simple seeded generator, so that the addresses are the same every run.
pub(super) fn addresses(n: usize, seed: u64) -> impl Iterator<Item = u128> {
    let mut x = seed;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let hi = x;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (hi as u128) << 64 | x as u128
    })
}

#[test]
fn the_real_table_answers_as_the_prefix_table() {
    let mut table = crate::table::IpTable::new();
    let mut b = DbBuilder::new();
    // IPv4 from the 2014 table, IPv6 from the 2015 one (which has IPv4 too).
    for (f, v6) in [
        ("ipasn/ipasn_20140513.dat.gz", false),
        ("ipasn/ipasn6_20151101.dat.gz", true),
    ] {
        let input = crate::loaders::Input::open(shared(f)).unwrap();
        crate::loaders::ipasn::read_ipasn(input, &mut opts(), |p, asn| {
            if matches!(p, IpPrefix::V6(_)) == v6 {
                table.insert(&p, asn);
                b.add_prefix(&p, &[asn]);
            }
        })
        .unwrap();
    }
    let path = temp_file("db", "real.db", "");
    b.write(&path).unwrap();
    let db = Database::open(&path, true).unwrap();
    let v = db.view();
    assert_eq!(v.len(), table.len());
    for (i, a) in addresses(300_000, 7).enumerate() {
        let addr = match i % 3 {
            0 => IpAddr::V6((a | 0x2000 << 112).into()), // inside 2000::/3
            _ => IpAddr::V4((a as u32).into()),
        };
        let want = table.longest_match(addr);
        let got = v
            .lookup(addr)
            .map(|h| (h.prefix.prefix_len(), v.origins(h.route)[0]));
        assert_eq!(got, want, "{addr}");
    }
    let v4: Vec<u32> = addresses(100_000, 9).map(|a| a as u32).collect();
    let mut out = vec![Answer::default(); v4.len()];
    v.lookup_v4_many(&v4, &mut out);
    for (a, o) in v4.iter().zip(&out) {
        let want = table.longest_match(IpAddr::V4((*a).into()));
        let got = (o.route != layout::NONE).then_some((o.prefix_len, o.asn));
        assert_eq!(got, want);
    }
    let v6: Vec<u128> = addresses(100_000, 13)
        .map(|a| a >> 3 | 0x2000 << 112) // inside 2000::/3
        .collect();
    let mut out = vec![Answer::default(); v6.len()];
    v.lookup_v6_many(&v6, &mut out);
    for (a, o) in v6.iter().zip(&out) {
        let want = table.longest_match(IpAddr::V6((*a).into()));
        let got = (o.route != layout::NONE).then_some((o.prefix_len, o.asn));
        assert_eq!(got, want);
    }
    assert!(v
        .iter()
        .zip(table.iter())
        .all(|((p, r), (q, asn))| p == q && v.origins(r) == [asn]));
    // pyasn's facts about this table.
    let sizes = v.as_tally();
    assert_eq!(sizes[&1133].v4_addresses, 65536);
    assert_eq!(sizes[&1128].v4_addresses, 196608);
    assert_eq!(sizes[&1124].v4_addresses, 163840);
    let got: Vec<String> = v.prefixes_of(1128).iter().map(|p| p.to_string()).collect();
    assert_eq!(got, ["130.161.0.0/16", "131.180.0.0/16", "145.94.0.0/16"]);
}

#[test]
fn every_truncation_and_bit_flip_is_refused() {
    let bytes = std::fs::read(small_db("damage.db")).unwrap();
    let p = temp_file("db", "damaged.db", "");
    // The file is a few MB (the direct levels of the tries): sample the positions,
    // with the header and section table in full.
    let step = (bytes.len() / 200).max(1);
    for cut in (0..bytes.len()).step_by(step).chain(0..1024) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert!(Database::open(&p, true).is_err(), "cut at {cut}");
    }
    let bits = addresses(200, 5).map(|r| (r % (bytes.len() as u128 * 8)) as usize);
    for bit in bits.chain(0..2048) {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&p, &b).unwrap();
        assert!(Database::open(&p, true).is_err(), "bit {bit}");
    }
}

/// Damage with a valid checksum, as a crafted file would have: opening refuses it or
/// every query still runs without panicking.
#[test]
fn crafted_files_never_panic() {
    let bytes = std::fs::read(small_db("crafted.db")).unwrap();
    let p = temp_file("db", "crafted-out.db", "");
    let probes = [
        "8.8.8.8",
        "1.0.0.1",
        "1.0.3.1",
        "10.1.2.3",
        "2001:db8::1",
        "0.0.0.0",
    ];
    let mut opened = 0;
    for (i, r) in addresses(300, 11).enumerate() {
        let mut b = bytes.clone();
        let at = 32 + (r as usize) % (b.len() - 32);
        b[at] = match i % 3 {
            0 => b[at] ^ (1 << ((r >> 64) % 8)),
            1 => 0xFF,
            _ => 0,
        };
        seal(&mut b);
        std::fs::write(&p, &b).unwrap();
        let Ok(db) = Database::open(&p, true) else {
            continue;
        };
        opened += 1;
        let v = db.view();
        for a in probes {
            let _ = v.record(ip(a));
        }
        let _ = (v.as_tally(), v.country_tally(), v.iter().count());
        let _ = (v.covered(&pfx("0.0.0.0/0")), v.covering(&pfx("8.8.8.8/32")));
        let _ = (v.prefixes_of(3356), v.as_record(64501));
        let mut out = vec![Answer::default(); 3];
        v.lookup_v4_many(&[0, 0x0808_0808, u32::MAX], &mut out);
    }
    assert!(
        opened > 0,
        "some damage is not detectable and must still be safe"
    );
}

#[test]
fn columns_agree_with_records_and_answers() {
    let db = Database::open(small_db("columns.db"), true).unwrap();
    let v = db.view();
    let addrs = [
        "8.8.8.8",
        "1.0.0.1",
        "1.0.3.1",
        "10.1.2.3",
        "192.0.2.200",
        "9.9.9.9",
    ];
    let keys: Vec<u32> = addrs
        .iter()
        .map(|a| a.parse::<std::net::Ipv4Addr>().unwrap().into())
        .collect();
    let cols = v.columns(crate::batch::Keys::V4(&keys)).unwrap();
    for (i, a) in addrs.iter().enumerate() {
        let r = v.record(ip(a));
        assert_eq!(cols.found[i], r.is_some(), "{a}");
        let Some(r) = r else { continue };
        assert_eq!(
            (cols.asn[i], cols.prefix_len[i]),
            (r.asn, r.prefix.prefix_len())
        );
        assert_eq!(country::country_text(cols.country[i]), r.country, "{a}");
        let source = r.country_source.map_or(0, |s| s as usize);
        assert_eq!(cols.country_source[i], columns::SOURCE_CODES[source]);
        let d = v.detail(&cols, i, ip(a)).unwrap();
        assert_eq!((d.prefix, d.registry), (r.prefix, r.registry));
        assert_eq!(v.names(&d), [r.as_name, r.org_id, r.org_name]);
        let info = v.as_record(r.asn).unwrap();
        let chain = info.org_country.or(info.rir_country).or(info.name_country);
        assert_eq!(info.country, chain, "AS{}", r.asn);
    }
}

#[test]
fn sections_are_listed_once_in_index_order_with_short_tags() {
    use layout::Section;
    let mut names = std::collections::HashSet::new();
    for (i, s) in Section::ALL.iter().enumerate() {
        assert_eq!(s.index(), i, "{s:?}");
        assert!(s.name().len() <= 8 && names.insert(s.name()), "{s:?}");
    }
}

/// The small database's files as `(kind, path)`, in an order unlike the reading one.
fn small_sources() -> Vec<(SourceKind, PathBuf)> {
    let f = |n: &str, text: &str| temp_file("db", n, text);
    vec![
        (SourceKind::Asnames, f("s.asnames", ASNAMES)),
        (SourceKind::Delegated, f("delegated-s", DELEGATED)),
        (SourceKind::Pfx2as, f("s.pfx2as", PFX2AS)),
        (SourceKind::As2org, f("s.as2org", AS2ORG)),
        (SourceKind::Ipasn, f("s.ipasn", IPASN)),
    ]
}

#[test]
fn from_sources_reads_kind_by_kind_as_the_single_readers_do() {
    let sources = small_sources();
    let (b, summaries) = DbBuilder::from_sources(
        &sources,
        &BuildOptions::new(OriginPolicy::FirstPeer),
        &mut opts(),
    )
    .unwrap();
    let kinds: Vec<&str> = summaries
        .iter()
        .map(|(p, _)| sources.iter().find(|(_, q)| q == p).unwrap().0.name())
        .collect();
    assert_eq!(kinds, ["ipasn", "pfx2as", "as2org", "delegated", "asnames"]);
    assert_eq!(summaries[0].1.entries, 6, "the ipasn file's lines");
    let path = temp_file("db", "from_sources.db", "");
    b.write(&path).unwrap();
    let (ours, theirs) = (
        Database::open(&path, true).unwrap(),
        Database::open(small_db("single.db"), true).unwrap(),
    );
    let (a, b) = (ours.view(), theirs.view());
    assert_eq!((a.v4.addr, a.v4.route), (b.v4.addr, b.v4.route));
    assert_eq!(
        (a.route_asn, a.as_num, a.as_info),
        (b.route_asn, b.as_num, b.as_info)
    );
    let names = |db: &Database| {
        db.metadata()
            .sources
            .iter()
            .map(|s| s.kind.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&ours), names(&theirs));
}

#[test]
fn from_sources_needs_a_prefix_source() {
    let registries: Vec<_> = small_sources()
        .into_iter()
        .filter(|(k, _)| !k.is_prefix_source())
        .collect();
    let err = DbBuilder::from_sources(
        &registries,
        &BuildOptions::new(OriginPolicy::FirstPeer),
        &mut opts(),
    )
    .err()
    .expect("no prefix source")
    .to_string();
    assert_eq!(
        err,
        "a database needs a prefix source: give mrt, ipasn, pfx2as or mmdb files"
    );
}

/// Progress reports as `(done, total)`.
struct Calls(Vec<(u64, u64)>);

impl crate::loaders::Progress for Calls {
    fn update(&mut self, done: u64, total: u64) -> bool {
        self.0.push((done, total));
        true
    }
}

#[test]
fn from_sources_reports_progress_over_all_files_from_each_ones_start() {
    let files = [
        "mrt/rib.20140523.0600_firstMB.bz2",
        "mrt/rib6.20151101.0600_firstMB.bz2",
    ];
    let sources: Vec<_> = files.iter().map(|f| (SourceKind::Mrt, shared(f))).collect();
    let size = |p: &PathBuf| std::fs::metadata(p).unwrap().len();
    let first = size(&sources[0].1);
    let total = first + size(&sources[1].1);
    let mut calls = Calls(Vec::new());
    let mut o = ReadOptions {
        on_error: OnError::Skip,
        progress: &mut calls,
    };
    let (_, summaries) =
        DbBuilder::from_sources(&sources, &BuildOptions::new(OriginPolicy::Majority), &mut o)
            .unwrap();
    assert_eq!(summaries.len(), 2);
    let done: Vec<u64> = calls.0.iter().map(|&(d, _)| d).collect();
    assert!(calls.0.iter().all(|&(_, t)| t == total));
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "never back");
    assert!(done.iter().any(|&d| d < first) && done.iter().any(|&d| d > first));
    assert!(done.iter().all(|&d| d <= total));
}

#[test]
fn source_kinds_parse_by_name() {
    for k in SourceKind::ALL {
        assert_eq!(k.name().parse::<SourceKind>(), Ok(k));
        assert!(!k.description().is_empty());
    }
    let err = "rib".parse::<SourceKind>().unwrap_err().to_string();
    assert!(
        err.starts_with("source kind must be 'mrt', 'ipasn',") && err.ends_with(r#"not "rib""#),
        "{err}"
    );
}
