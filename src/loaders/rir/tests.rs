//! Tests of the delegated-file reader: the real files of all five registries and
//! small broken ones.

use super::*;
use crate::loaders::{NoProgress, OnError};
use std::path::{Path, PathBuf};

fn shared(rel: &str) -> PathBuf {
    crate::testutil::shared(&format!("rir/{rel}"))
}

fn read(path: &Path, on_error: OnError) -> Result<(Delegated, Summary), LoadError> {
    let mut opts = ReadOptions {
        on_error,
        progress: &mut NoProgress,
    };
    read_delegated(Input::open(path)?, &mut opts)
}

fn temp(name: &str, text: &str) -> PathBuf {
    crate::testutil::temp_file("rir", name, text)
}

fn prefixes(r: &Resource) -> Vec<String> {
    r.prefixes().map(|p| p.to_string()).collect()
}

#[test]
fn counts_match_the_summary_lines() {
    for (file, asn, v4, v6) in [
        ("delegated-apnic-20140804.gz", 5_783, 24_658, 3_551),
        ("delegated-lacnic-20140801.gz", 4_439, 8_879, 2_940),
        ("delegated-ripencc-20140803.gz", 26_493, 50_134, 9_513),
        ("delegated-afrinic-20140630.gz", 1_095, 2_500, 429),
        (
            "delegated-afrinic-extended-20230323.gz",
            3_326,
            5_089,
            6_604,
        ),
        (
            "delegated-lacnic-extended-20230323.gz",
            14_121,
            19_618,
            52_498,
        ),
        (
            "delegated-afrinic-extended-20260505.gz",
            4_350,
            5_958,
            8_978,
        ),
    ] {
        let (d, s) = read(&shared(file), OnError::Raise).unwrap();
        let want = BTreeMap::from([("asn", asn), ("ipv4", v4), ("ipv6", v6)]);
        assert_eq!(d.counts(), want, "{file}");
        let declared: BTreeMap<&str, u64> =
            d.declared.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(declared, want, "{file}");
        assert_eq!(d.header.as_ref().unwrap().records, asn + v4 + v6);
        assert!(!s.truncated && s.errors.is_empty(), "{file}: {s}");
        assert_eq!(s.prefixes as usize, d.prefixes().count());
    }
}

#[test]
fn blocks_that_are_not_powers_of_two_split_into_prefixes() {
    let (d, _) = read(&shared("delegated-afrinic-20140630.gz"), OnError::Raise).unwrap();
    // afrinic|ZA|ipv4|164.146.0.0|393216|19930312|allocated: six /16s.
    let r = d
        .records
        .iter()
        .find(|r| {
            matches!(
                r.resource,
                Resource::Ipv4 {
                    first: 0xA492_0000,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(
        r.resource,
        Resource::Ipv4 {
            first: 0xA492_0000,
            count: 393_216
        }
    );
    assert_eq!(prefixes(&r.resource), ["164.146.0.0/15", "164.148.0.0/14"]);
    assert_eq!(
        (r.country.as_deref(), r.date.as_deref(), r.status.as_str()),
        (Some("ZA"), Some("19930312"), "allocated")
    );
    let (d, _) = read(&shared("delegated-ripencc-20140803.gz"), OnError::Raise).unwrap();
    // ripencc|UA|ipv4|46.175.64.0|6144|20110208|assigned: 24 /24s.
    let r = d
        .records
        .iter()
        .find(|r| {
            matches!(
                r.resource,
                Resource::Ipv4 {
                    first: 0x2EAF_4000,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(prefixes(&r.resource), ["46.175.64.0/20", "46.175.80.0/21"]);
}

#[test]
fn extended_files_keep_available_and_reserved_rows_out_of_the_tables() {
    let (d, s) = read(
        &shared("delegated-lacnic-extended-20230323.gz"),
        OnError::Raise,
    )
    .unwrap();
    let header = d.header.as_ref().unwrap();
    assert_eq!((header.version.as_str(), header.records), ("2.3", 86_237));
    // lacnic||ipv4|177.39.96.0|1024||available (seven fields, no opaque id).
    let avail = d
        .records
        .iter()
        .find(|r| {
            r.resource
                == Resource::Ipv4 {
                    first: 0xB127_6000,
                    count: 1024,
                }
        })
        .unwrap();
    assert_eq!((avail.country.as_ref(), avail.date.as_ref()), (None, None));
    assert!(!avail.is_delegated() && avail.opaque_id.is_none());
    let left_out = s.skipped["not delegated (available)"] + s.skipped["not delegated (reserved)"];
    assert_eq!(
        d.records.iter().filter(|r| !r.is_delegated()).count() as u64,
        left_out
    );
    assert!(d
        .prefixes()
        .all(|(_, r)| r.is_delegated() && r.country.is_some()));
    let asns = d.asns();
    assert!(asns.len() > 100);
    assert!(asns
        .iter()
        .all(|(_, _, &i)| d.records[i].opaque_id.is_some()));
}

#[test]
fn the_truncated_arin_file_names_its_cut_line() {
    let path = shared("delegated-arin-extended-20140804.TRUNCATED.gz");
    let err = read(&path, OnError::Raise).unwrap_err().to_string();
    assert!(
        err.contains("TRUNCATED.gz: line 48965: last line cut off")
            && err.contains("of the 111240 records"),
        "{err}"
    );
    let (d, s) = read(&path, OnError::Skip).unwrap();
    // 23,395 asn + 25,566 ipv4 lines, the last one cut (SOURCES.md).
    assert_eq!(
        d.counts(),
        BTreeMap::from([("asn", 23_395), ("ipv4", 25_565)])
    );
    assert!(s.truncated && s.skipped["cut-off last line"] == 1);
    assert!(s.errors[0].contains("192.219.208.0"), "{:?}", s.errors);
}

#[test]
fn a_cut_gzip_keeps_the_prefix_count_of_what_was_read() {
    let whole = std::fs::read(shared("delegated-apnic-20140804.gz")).unwrap();
    let path = crate::testutil::temp_file("rir", "cut.gz", &whole[..whole.len() / 2]);
    let (d, s) = read(&path, OnError::Skip).unwrap();
    assert!(s.truncated && s.skipped["unreadable rest of file"] == 1);
    // Entries are records, prefixes their delegated blocks' prefixes: not the same.
    assert_eq!(s.prefixes, d.prefixes().count() as u64);
    assert_eq!(s.entries, d.records.len() as u64);
    assert!(s.prefixes > 0 && s.prefixes != s.entries, "{s:?}");
}

const HEAD: &str = "# c\n2|test|1|3|19700101|20200101|+0000\ntest|*|ipv4|*|3|summary\n";

#[test]
fn bad_lines_and_wrong_files() {
    let cases = [
        ("1.0.0.0/24\t15169\n", "line 1: expected the version line"),
        (
            "01CO-ARIN|20170128|O1.com|US|ARIN\n",
            "line 1: expected the version line",
        ),
        (
            "x|US|ipv4|1.0.0.0|256|20200101\n",
            "line 4: expected 'registry|cc|type",
        ),
        (
            "x|US|ipv4|1.0.0.0|0|20200101|allocated\n",
            "line 4: 0 addresses from 1.0.0.0",
        ),
        (
            "x|US|ipv4|255.255.255.0|257||allocated\n",
            "line 4: 257 addresses from 255.255.255.0 do not fit",
        ),
        (
            "x|US|ipv6|2001:db8::1|32|20200101|allocated\n",
            "line 4: 2001:db8::1/32 has host bits set",
        ),
        (
            "x|US|ipv6|2001:db8::|129|20200101|allocated\n",
            "line 4: bad ipv6 value \"129\"",
        ),
        (
            "x|USA|asn|1|1|20200101|allocated\n",
            "line 4: bad country code \"USA\"",
        ),
        (
            "x|US|asn|4294967295|2|20200101|allocated\n",
            "line 4: 2 AS numbers from 4294967295",
        ),
        (
            "x|US|as|1|1|20200101|allocated\n",
            "line 4: unknown type \"as\"",
        ),
        ("x|US|asn|1|1|2020-01-01|allocated\n", "line 4: bad date"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        // The bad line, then two good ones: three records as the header says.
        let text = match want.contains("version") {
            true => body.to_string(),
            false => format!(
                "{HEAD}{}test|ZZ|asn|2|1||reserved\ntest|US|asn|3|1|20200101|assigned\n",
                body.replace("x|", "test|")
            ),
        };
        let name = format!("bad{i}.txt");
        let err = read(&temp(&name, &text), OnError::Raise)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&name) && err.contains(want),
            "{err} (wanted {want})"
        );
    }
}

#[test]
fn skipping_keeps_the_good_records() {
    let text = format!("{HEAD}test|US|ipv4|1.0.0.0|0||allocated\ntest|US|ipv4|1.0.0.0|768||allocated\n\ntest||ipv4|2.0.0.0|256||available\n");
    let (d, s) = read(&temp("skip.txt", &text), OnError::Skip).unwrap();
    assert_eq!(d.records.len(), 2);
    assert_eq!(
        d.prefixes().map(|(p, _)| p.to_string()).collect::<Vec<_>>(),
        ["1.0.0.0/23", "1.0.2.0/24"]
    );
    assert_eq!(s.skipped["malformed line"], 1);
    assert_eq!(s.skipped["not delegated (available)"], 1);
    assert_eq!(s.entries, 2);
}

#[test]
fn record_counts_are_checked_against_the_header() {
    // Cut at a line end: the count gives it away.
    let short = format!("{HEAD}test|US|ipv4|1.0.0.0|256||allocated\n");
    let err = read(&temp("short.txt", &short), OnError::Raise)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "line 4: the file ends after 1 records, but its header announces 3 (truncated?)"
        ),
        "{err}"
    );
    let (_, s) = read(&temp("short.txt", &short), OnError::Skip).unwrap();
    assert!(s.truncated && s.skipped["record count differs from header"] == 1);
    // A complete file whose writer left out the last newline is fine.
    let full = format!("{HEAD}test|US|ipv4|1.0.0.0|256||allocated\ntest|US|ipv4|2.0.0.0|256||allocated\ntest|US|ipv4|3.0.0.0|256||allocated");
    let (d, s) = read(&temp("full.txt", &full), OnError::Raise).unwrap();
    assert_eq!((d.records.len(), s.truncated), (3, false));
    // A cut last line is reported as such.
    let cut = &full[..full.len() - 50];
    let err = read(&temp("cut.txt", cut), OnError::Raise)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 5: last line cut off"), "{err}");
}

#[test]
fn summary_counts_near_two_to_the_64_saturate() {
    // Two summary lines of one type whose counts add past u64::MAX: a panic in a
    // build with overflow checks, a wrapped count without.
    let big = "16397105843297409491";
    let text = format!("{HEAD}test|*|ipv6|*|{big}|summary\ntest|*|ipv6|*|{big}|summary\n");
    // Skip: the file also holds fewer records than its header announces.
    let (d, _) = read(&temp("big-summary.txt", &text), OnError::Skip).unwrap();
    assert_eq!(d.declared["ipv6"], u64::MAX);
}

#[test]
fn ipv4_counts_near_two_to_the_64_do_not_fit() {
    for (start, count, fits) in [
        ("1.0.0.0", u64::MAX, false),
        ("0.0.0.1", u64::MAX - 1, false),
        ("0.0.0.0", 1 << 32, true),
        ("0.0.0.1", 1 << 32, false),
        ("255.255.255.255", 1, true),
        ("255.255.255.255", 2, false),
    ] {
        let line = format!("{HEAD}test|US|ipv4|{start}|{count}||allocated\n");
        let (d, s) = read(&temp("big-count.txt", &line), OnError::Skip).unwrap();
        assert_eq!(d.records.len(), usize::from(fits), "{start} {count}");
        assert_eq!(
            s.skipped.contains_key("malformed line"),
            !fits,
            "{start} {count}"
        );
    }
}

#[test]
fn empty_file_is_empty() {
    let (d, s) = read(&temp("empty.txt", ""), OnError::Raise).unwrap();
    assert_eq!((d, s.records), (Delegated::default(), 0));
}
