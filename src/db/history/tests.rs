//! Histories against the one-date databases they were made from: a seeded series
//! of tables that churn day by day (prefixes added, withdrawn, re-originated, split
//! and merged; registries and organisations changing too), each snapshot's every
//! answer compared with its own database's.

use super::time::SnapshotTimes;
use super::*;
use crate::batch::Keys;
use crate::db::answers::Snapshots;
use crate::db::{DbBuilder, Subject};
use crate::loaders::{NoProgress, OnError, ReadOptions};
use crate::testutil::temp_file;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::net::IpAddr;

fn opts() -> ReadOptions<'static> {
    ReadOptions {
        on_error: OnError::Raise,
        progress: Box::leak(Box::new(NoProgress)),
    }
}

/// A table of nested prefixes inside 10.0.0.0/8 and 2001:db8::/32 (prefix text ->
/// origin), changed a little each day.
struct Series {
    rng: SmallRng,
    table: BTreeMap<String, u32>,
}

impl Series {
    fn new(seed: u64) -> Self {
        let mut s = Series {
            rng: SmallRng::seed_from_u64(seed),
            table: BTreeMap::new(),
        };
        for _ in 0..300 {
            let (p, asn) = s.random_prefix();
            s.table.insert(p, asn);
        }
        s
    }

    fn random_prefix(&mut self) -> (String, u32) {
        let asn = self.rng.random_range(64_500..64_530);
        if self.rng.random_bool(0.2) {
            let len = self.rng.random_range(32..=48u32);
            let a: u128 = (0x2001_0db8u128 << 96) | ((self.rng.random::<u64>() as u128) << 32);
            let a = a & !(u128::MAX >> len);
            return (format!("{}/{len}", std::net::Ipv6Addr::from(a)), asn);
        }
        let len = self.rng.random_range(8..=26u32);
        let a = (10u32 << 24) | (self.rng.random::<u32>() & 0x00FF_FFFF);
        let a = a & !(u32::MAX >> len);
        (format!("{}/{len}", std::net::Ipv4Addr::from(a)), asn)
    }

    /// One day's churn: about `rate` of the prefixes changed.
    fn step(&mut self, rate: f64) {
        let n = (self.table.len() as f64 * rate).ceil() as usize;
        for _ in 0..n {
            let keys: Vec<String> = self.table.keys().cloned().collect();
            let k = keys[self.rng.random_range(0..keys.len())].clone();
            match self.rng.random_range(0..4) {
                0 => {
                    self.table.remove(&k);
                }
                1 => {
                    let asn = self.rng.random_range(64_500..64_530);
                    self.table.insert(k, asn);
                }
                // A split: two more specifics of the same origin (the prefix stays
                // or goes); a merge is the reverse, which withdrawals give.
                2 => {
                    let p = crate::ip::parse_prefix(&k, true).unwrap();
                    let max = if matches!(p, crate::ip::IpPrefix::V4(_)) {
                        32
                    } else {
                        128
                    };
                    if p.prefix_len() < max {
                        let asn = self.table[&k];
                        for half in split(&p) {
                            self.table.insert(half, asn);
                        }
                        if self.rng.random_bool(0.5) {
                            self.table.remove(&k);
                        }
                    }
                }
                _ => {
                    let (p, asn) = self.random_prefix();
                    self.table.insert(p, asn);
                }
            }
        }
    }

    fn ipasn(&self) -> String {
        self.table
            .iter()
            .map(|(p, a)| format!("{p}\t{a}\n"))
            .collect()
    }
}

fn split(p: &crate::ip::IpPrefix) -> [String; 2] {
    let len = p.prefix_len() + 1;
    let lo = p.addr();
    let hi: IpAddr = match lo {
        IpAddr::V4(a) => std::net::Ipv4Addr::from(u32::from(a) | (1u32 << (32 - len))).into(),
        IpAddr::V6(a) => std::net::Ipv6Addr::from(u128::from(a) | (1u128 << (128 - len))).into(),
    };
    [format!("{lo}/{len}"), format!("{hi}/{len}")]
}

/// Registries that change with the day: a block or AS range of another country,
/// an organisation of another country, a renamed AS.
fn registries(day: u32) -> (String, String, String) {
    let cc = ["NL", "DE", "FR", "JP"][day as usize % 4];
    let delegated = format!(
        "2|ripencc|1|6|19700101|20200101|+0000\nripencc|*|ipv4|*|6|summary\n\
         ripencc|NL|ipv4|10.0.0.0|65536|20100101|allocated\n\
         ripencc|{cc}|ipv4|10.{day}.0.0|256|20100101|allocated\n\
         ripencc|DE|ipv6|2001:db8::|32|20100101|allocated\n\
         ripencc|FR|asn|64500|{}|20100101|assigned\n\
         ripencc|{cc}|asn|64520|5|20100101|assigned\n\
         ripencc|SE|asn|70000|{}|20100101|assigned\n",
        10 + day % 3,
        1 + day,
    );
    let as2org = format!(
        "# format:org_id|changed|org_name|country|source\nO1|20120224|Org One|{cc}|RIPE\n\
         O2|20120224|Org Two||ARIN\n# format:aut|changed|aut_name|org_id|source\n\
         64501|20120224|ONE|O1|RIPE\n64502|20120224|TWO|O{}|ARIN\n",
        1 + day % 2
    );
    let asnames = format!("AS64503 TEST-{day} - Test Network, JP\nAS64504 FOUR - Four, US\n");
    (delegated, as2org, asnames)
}

fn day_db(tag: &str, day: u32, ipasn: &str) -> PathBuf {
    let f = |n: &str, text: &str| temp_file(tag, n, text);
    let (delegated, as2org, asnames) = registries(day);
    let mut b = DbBuilder::new();
    b.read_ipasn(
        &f(&format!("ipasn_202001{:02}.dat", day + 1), ipasn),
        &mut opts(),
    )
    .unwrap();
    b.read_as2org(&f(&format!("as2org_{day}.txt"), &as2org), &mut opts())
        .unwrap();
    b.read_delegated(&f(&format!("delegated-{day}"), &delegated), &mut opts())
        .unwrap();
    b.read_asnames(&f(&format!("asnames_{day}.txt"), &asnames), &mut opts())
        .unwrap();
    let path = temp_file(tag, &format!("day{day}.geoipdb"), "");
    b.write(&path).unwrap();
    path
}

fn series(tag: &str, days: u32, rate: f64, seed: u64) -> Vec<PathBuf> {
    let mut s = Series::new(seed);
    (0..days)
        .map(|d| {
            if d > 0 {
                s.step(rate);
            }
            day_db(tag, d, &s.ipasn())
        })
        .collect()
}

/// The seeded series of `n` days made into a history: the days' files, and it.
fn history(tag: &str, n: u32, rate: f64, seed: u64) -> (Vec<PathBuf>, Database) {
    let days = series(tag, n, rate, seed);
    let out = temp_file(tag, "h.geoipdb", "");
    build_history(&out, &days, &mut NoProgress).unwrap();
    (days, Database::open(&out, true).unwrap())
}

fn probes(seed: u64) -> Vec<IpAddr> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..3000)
        .map(|i| match i % 5 {
            0 => IpAddr::V6((0x2001_0db8u128 << 96 | (rng.random::<u64>() as u128) << 32).into()),
            1 => IpAddr::V4(rng.random::<u32>().into()),
            _ => IpAddr::V4(((10u32 << 24) | (rng.random::<u32>() & 0x00FF_FFFF)).into()),
        })
        .collect()
}

/// Every question of a snapshot asked of the history at it and of its own file.
fn same_answers(h: &View<'_>, one: &View<'_>, addrs: &[IpAddr]) {
    let s = h.at.snapshot;
    for a in addrs {
        assert_eq!(h.record(*a), one.record(*a), "snapshot {s}, {a}");
    }
    let all = |v: &View<'_>| {
        v.iter()
            .map(|(p, r)| (p, v.origins(r).to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(all(h), all(one), "snapshot {s}");
    assert_eq!(h.len(), one.len());
    for asn in (64_495..64_540).chain(69_995..70_020) {
        assert_eq!(
            h.as_record(asn),
            one.as_record(asn),
            "snapshot {s}, AS{asn}"
        );
        assert_eq!(h.prefixes_of(asn), one.prefixes_of(asn));
    }
    for p in ["10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32", "10.2.3.0/24"] {
        let p = crate::ip::parse_prefix(p, true).unwrap();
        let covering = |v: &View<'_>| {
            v.covering(&p)
                .into_iter()
                .map(|(q, r)| (q, v.origins(r).to_vec()))
                .collect::<Vec<_>>()
        };
        let covered = |v: &View<'_>| {
            v.covered(&p)
                .into_iter()
                .map(|(q, r)| (q, v.origins(r).to_vec()))
                .collect::<Vec<_>>()
        };
        assert_eq!(covering(h), covering(one));
        assert_eq!(covered(h), covered(one));
    }
    assert_eq!(h.as_tally(), one.as_tally());
    assert_eq!(h.country_tally(), one.country_tally());
    let keys = Keys::Mixed(addrs);
    let (a, b) = (h.columns(keys).unwrap(), one.columns(keys).unwrap());
    assert_eq!(
        (a.found, a.asn, a.prefix_len, a.country, a.country_source),
        (b.found, b.asn, b.prefix_len, b.country, b.country_source)
    );
}

#[test]
fn a_history_answers_as_each_days_database() {
    let days = series("hist", 8, 0.05, 7);
    let out = temp_file("hist", "h.geoipdb", "");
    // Given out of order: the history orders them by date.
    let mut inputs = days.clone();
    inputs.reverse();
    let meta = build_history(&out, &inputs, &mut NoProgress).unwrap();
    assert_eq!(meta.snapshots.len(), 8);
    let h = Database::open(&out, true).unwrap();
    assert!(h.is_history());
    assert_eq!(h.snapshots(), 8);
    let addrs = probes(1);
    for (s, path) in days.iter().enumerate() {
        let one = Database::open(path, true).unwrap();
        same_answers(&h.view_at(s as u32), &one.view(), &addrs);
    }
    // The newest is what a plain view reads.
    let newest = Database::open(&days[7], true).unwrap();
    same_answers(&h.view(), &newest.view(), &addrs);
}

#[test]
fn leaves_resolved_once_for_a_batch_answer_as_their_timelines() {
    let (_, h) = history("hist_res", 5, 0.2, 17);
    let addrs = probes(6);
    for s in 0..5 {
        let v = h.view_at(s);
        let r = v
            .resolved(usize::MAX, Snapshots::Own)
            .expect("a history has changing leaves");
        let fast = v.with_resolved(&r);
        let each = vec![s; addrs.len()];
        let want = v
            .columns_at(Keys::Mixed(&addrs), Snapshots::Each(&each))
            .unwrap();
        assert_eq!(
            fast.columns_at(Keys::Mixed(&addrs), Snapshots::Own)
                .unwrap(),
            want
        );
        for a in &addrs[..500] {
            assert_eq!(fast.record(*a), v.record(*a));
        }
    }
    // Not for rows at many snapshots, nor for a small batch.
    let v = h.view();
    assert!(v.resolved(usize::MAX, Snapshots::Each(&[0])).is_none());
    assert!(v.resolved(10, Snapshots::Own).is_none());
}

#[test]
fn each_address_is_answered_at_its_own_time() {
    let (days, h) = history("hist_each", 5, 0.1, 11);
    let ones: Vec<Database> = days
        .iter()
        .map(|p| Database::open(p, true).unwrap())
        .collect();
    let v = h.view();
    let addrs = probes(2);
    let mut rng = SmallRng::seed_from_u64(3);
    // Times before the first snapshot, at and between snapshots, and after the last.
    let times: Vec<i64> = addrs
        .iter()
        .map(|_| v.times[0] - 86_400 + rng.random_range(0..7 * 86_400))
        .collect();
    let snaps: Vec<u32> = times
        .iter()
        .map(|&t| snapshot_at(v.times, t).unwrap_or(crate::db::layout::NONE))
        .collect();
    assert!(snaps.contains(&crate::db::layout::NONE) && snaps.contains(&4));
    let got = v
        .columns_at(Keys::Mixed(&addrs), Snapshots::Each(&snaps))
        .unwrap();
    // Found from the times as the rows are answered: the same.
    let taken = SnapshotTimes::new(v.times);
    let at = Snapshots::At {
        times: &times,
        taken: &taken,
    };
    assert_eq!(v.columns_at(Keys::Mixed(&addrs), at).unwrap(), got);
    for (i, a) in addrs.iter().enumerate() {
        let want = ones.get(snaps[i] as usize).map(|d| {
            d.view()
                .columns(Keys::Mixed(std::slice::from_ref(a)))
                .unwrap()
        });
        match want {
            None => assert!(!got.found[i], "{a} before the first snapshot"),
            Some(w) => assert_eq!(
                (
                    got.found[i],
                    got.asn[i],
                    got.prefix_len[i],
                    got.country[i],
                    got.country_source[i]
                ),
                (
                    w.found[0],
                    w.asn[0],
                    w.prefix_len[0],
                    w.country[0],
                    w.country_source[0]
                ),
                "{a} at snapshot {}",
                snaps[i]
            ),
        }
        assert_eq!(got.snapshot[i], snaps[i]);
    }
}

#[test]
fn diffs_are_the_set_differences_of_two_days() {
    let (days, h) = history("hist_diff", 4, 0.1, 5);
    let table = |p: &PathBuf| {
        let d = Database::open(p, true).unwrap();
        let v = d.view();
        v.iter()
            .map(|(p, r)| (p, v.origins(r).to_vec()))
            .collect::<BTreeMap<_, _>>()
    };
    for (from, to) in [(0, 1), (1, 3), (3, 0), (2, 2)] {
        let (a, b) = (table(&days[from]), table(&days[to]));
        let v = h.view();
        let got: Vec<(crate::ip::IpPrefix, ChangeKind)> = v
            .diff(from as u32, to as u32)
            .iter()
            .map(|c| (c.prefix, c.kind))
            .collect();
        let mut want: Vec<_> = a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|p| match (a.get(p), b.get(p)) {
                (None, Some(_)) => Some((*p, ChangeKind::Announced)),
                (Some(_), None) => Some((*p, ChangeKind::Withdrawn)),
                (Some(x), Some(y)) if x != y => Some((*p, ChangeKind::Changed)),
                _ => None,
            })
            .collect();
        want.sort_by_key(|(p, _)| (!matches!(p, crate::ip::IpPrefix::V4(_)), *p));
        let mut got_sorted = got.clone();
        got_sorted.sort_by_key(|(p, _)| (!matches!(p, crate::ip::IpPrefix::V4(_)), *p));
        assert_eq!(got_sorted, want, "{from} -> {to}");
        if from == to {
            assert!(got.is_empty());
        }
    }
}

#[test]
fn histories_grow_by_a_snapshot_and_merge_with_histories() {
    let days = series("hist_add", 6, 0.05, 9);
    let out = temp_file("hist_add", "h.geoipdb", "");
    build_history(&out, &days[..4], &mut NoProgress).unwrap();
    // Appending rewrites the file from itself and the new database.
    build_history(&out, &[out.clone(), days[4].clone()], &mut NoProgress).unwrap();
    let other = temp_file("hist_add", "other.geoipdb", "");
    build_history(&other, &days[5..], &mut NoProgress).unwrap();
    build_history(&out, &[other.clone(), out.clone()], &mut NoProgress).unwrap();
    let whole = temp_file("hist_add", "whole.geoipdb", "");
    build_history(&whole, &days, &mut NoProgress).unwrap();
    let (a, b) = (
        Database::open(&out, true).unwrap(),
        Database::open(&whole, true).unwrap(),
    );
    assert_eq!(a.snapshots(), 6);
    let addrs = probes(4);
    for s in 0..6 {
        same_answers(&a.view_at(s), &b.view_at(s), &addrs);
    }
    assert_eq!(a.file_size(), b.file_size());
    assert_eq!(a.metadata().snapshots, b.metadata().snapshots);
    // An older snapshot than a history's: merged in from all of them again.
    let late = temp_file("hist_add", "late.geoipdb", "");
    build_history(&late, &days[1..], &mut NoProgress).unwrap();
    build_history(&late, &[late.clone(), days[0].clone()], &mut NoProgress).unwrap();
    let c = Database::open(&late, true).unwrap();
    for s in 0..6 {
        same_answers(&c.view_at(s), &b.view_at(s), &addrs);
    }
}

#[test]
fn intervals_follow_an_address_and_a_prefix() {
    let (days, h) = history("hist_iv", 6, 0.2, 13);
    let ones: Vec<Database> = days
        .iter()
        .map(|p| Database::open(p, true).unwrap())
        .collect();
    for a in probes(5).into_iter().take(300) {
        let got = h.view().history(&Subject::Address(a));
        // Expanded back to one answer per snapshot, it is each day's record.
        let mut per_day = vec![None; 6];
        for iv in &got {
            for s in iv.first..=iv.last {
                per_day[s as usize] = Some(iv.record.clone());
            }
        }
        for (s, one) in ones.iter().enumerate() {
            assert_eq!(per_day[s], one.view().record(a), "{a} on day {s}");
        }
        assert!(got
            .windows(2)
            .all(|w| w[0].last + 1 < w[1].first || w[0].record != w[1].record));
        if let Some(iv) = got.first() {
            let p = iv.record.prefix;
            let exact = h.view().history(&Subject::Prefix(p));
            for (s, one) in ones.iter().enumerate() {
                let present = exact
                    .iter()
                    .any(|iv| (iv.first..=iv.last).contains(&(s as u32)));
                assert_eq!(present, one.view().exact(&p).is_some());
            }
        }
    }
}

#[test]
fn inputs_without_a_date_or_of_one_date_are_refused() {
    let days = series("hist_bad", 2, 0.1, 1);
    let out = temp_file("hist_bad", "h.geoipdb", "");
    let e = build_history(&out, &[days[0].clone(), days[0].clone()], &mut NoProgress).unwrap_err();
    assert!(
        e.to_string().contains("2020-01-01") && e.to_string().contains("one snapshot per time"),
        "{e}"
    );
    let mut b = DbBuilder::new();
    let f = temp_file("hist_bad", "no_date.dat", "10.0.0.0/8\t64500\n");
    b.read_ipasn(&f, &mut opts()).unwrap();
    let undated = temp_file("hist_bad", "undated.geoipdb", "");
    b.write(&undated).unwrap();
    let e = build_history(&out, &[days[0].clone(), undated.clone()], &mut NoProgress).unwrap_err();
    assert!(
        e.to_string().contains("undated.geoipdb") && e.to_string().contains("no date"),
        "{e}"
    );
    // A file of another format version is named with its version.
    let mut bytes = std::fs::read(&days[1]).unwrap();
    bytes[8] = 1;
    crate::db::file::seal(&mut bytes);
    let old = temp_file("hist_bad", "old.geoipdb", bytes);
    let e = build_history(&out, &[days[0].clone(), old], &mut NoProgress).unwrap_err();
    assert!(
        e.to_string().contains("old.geoipdb") && e.to_string().contains("format version 1"),
        "{e}"
    );
    assert!(!out.exists() || std::fs::metadata(&out).unwrap().len() == 0);
}

#[test]
fn every_truncation_and_bit_flip_of_a_history_is_refused() {
    let days = series("hist_dmg", 3, 0.1, 21);
    let out = temp_file("hist_dmg", "h.geoipdb", "");
    build_history(&out, &days, &mut NoProgress).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let p = temp_file("hist_dmg", "damaged.geoipdb", "");
    let step = (bytes.len() / 100).max(1);
    for cut in (0..bytes.len()).step_by(step).chain(0..512) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert!(Database::open(&p, true).is_err(), "cut at {cut}");
    }
    let mut rng = SmallRng::seed_from_u64(22);
    for _ in 0..200 {
        let bit = rng.random_range(0..bytes.len() * 8);
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&p, &b).unwrap();
        assert!(Database::open(&p, true).is_err(), "bit {bit}");
    }
}

/// Damage with a valid checksum, as a crafted file would have: opening refuses it,
/// or every query (at every snapshot, per-address snapshots, intervals, diffs) and
/// a merge of it into another history run without a panic or a hang.
#[test]
fn crafted_histories_never_panic() {
    let days = series("hist_craft", 3, 0.1, 23);
    let out = temp_file("hist_craft", "h.geoipdb", "");
    build_history(&out, &days, &mut NoProgress).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let p = temp_file("hist_craft", "crafted.geoipdb", "");
    let merged = temp_file("hist_craft", "merged.geoipdb", "");
    // Of a later date than every snapshot, so that a merge reads the damaged file.
    let later = day_db("hist_craft", 10, "10.0.0.0/8\t64500\n");
    let addrs = probes(24);
    let addrs = &addrs[..200];
    let mut rng = SmallRng::seed_from_u64(25);
    let (mut opened, mut merges) = (0, 0);
    for i in 0..150 {
        let mut b = bytes.clone();
        let at = rng.random_range(32..b.len());
        b[at] = match i % 3 {
            0 => b[at] ^ (1 << rng.random_range(0..8)),
            1 => 0xFF,
            _ => 0,
        };
        crate::db::file::seal(&mut b);
        std::fs::write(&p, &b).unwrap();
        let Ok(db) = Database::open(&p, true) else {
            continue;
        };
        opened += 1;
        for s in 0..db.snapshots() + 1 {
            let v = db.view_at(s);
            for a in addrs {
                let _ = v.record(*a);
            }
            let _ = (
                v.iter().count(),
                v.as_tally(),
                v.as_record(64_501),
                v.diff(0, s),
            );
        }
        let snaps: Vec<u32> = (0..addrs.len() as u32).map(|i| i % 5).collect();
        let _ = db
            .view()
            .columns_at(Keys::Mixed(addrs), Snapshots::Each(&snaps))
            .unwrap();
        let _ = db.view().history(&Subject::Address(addrs[0]));
        // A damaged input to a merge: an error or a history, never a panic.
        if build_history(&merged, &[p.clone(), later.clone()], &mut NoProgress).is_ok() {
            merges += 1;
        }
    }
    assert!(opened > 20, "only {opened} crafted files opened");
    assert!(merges > 10, "only {merges} merges of crafted files");
}
