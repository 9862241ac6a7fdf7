//! Batches answered from the routes' facts against the full chain: the same
//! columns as a view without facts gives, and as each address's record, in every
//! country order and for every kind of keys.

use super::columns::{Columns, SOURCE_CODES};
use super::country::{country_text, CountryOrder};
use super::tests::small_db_in;
use super::{Database, Snapshots, View};
use crate::batch::Keys;
use crate::ip::IpPrefix;
use crate::testutil::by_family;
use std::net::IpAddr;

/// Each routed prefix's first and last address, and addresses no prefix covers.
fn addresses(v: &View<'_>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = [
        "0.0.0.0",
        "255.255.255.255",
        "1.0.1.200",
        "::1",
        "2001:db8:ffff::9",
    ]
    .iter()
    .map(|a| a.parse().unwrap())
    .collect();
    for (p, _) in v.iter() {
        let last = match p {
            IpPrefix::V4(q) => {
                let host = u32::MAX.checked_shr(q.prefix_len() as u32).unwrap_or(0);
                IpAddr::V4((q.addr() | host).into())
            }
            IpPrefix::V6(q) => {
                let host = u128::MAX.checked_shr(q.prefix_len() as u32).unwrap_or(0);
                IpAddr::V6((q.addr() | host).into())
            }
        };
        out.extend([p.addr(), last]);
    }
    out
}

fn check_rows(v: &View<'_>, addrs: &[IpAddr], cols: &Columns, what: &str) {
    for (i, a) in addrs.iter().enumerate() {
        let r = v.record(*a);
        assert_eq!(cols.found[i], r.is_some(), "{what} {a}");
        let Some(r) = r else { continue };
        assert_eq!(
            (cols.asn[i], cols.prefix_len[i]),
            (r.asn, r.prefix.prefix_len()),
            "{what} {a}"
        );
        assert_eq!(country_text(cols.country[i]), r.country, "{what} {a}");
        let source = r.country_source.map_or(0, |s| s as usize);
        assert_eq!(cols.country_source[i], SOURCE_CODES[source], "{what} {a}");
    }
}

/// A found record's country alone, as its whole record has it: from a view
/// without facts (the chain) and from the file's, whose single answers make them.
fn check_countries(db: &Database, addrs: &[IpAddr], what: &str) {
    let v = db.view();
    let plain = View { facts: None, ..v };
    for a in addrs {
        let Some(found) = v.find(*a) else {
            assert!(v.record(*a).is_none(), "{what} {a}");
            continue;
        };
        let r = db.record_found(&found).unwrap();
        assert_eq!(r, v.record(*a).unwrap(), "{what} {a}");
        let want = r.country.zip(r.country_source);
        let chain = plain.country_found(&found);
        let chain = chain.map(|(cc, s)| (country_text(cc).unwrap(), s));
        assert_eq!(chain, want, "{what} {a}");
        let got = db.country_found(&found);
        assert_eq!(got, (r.country, r.country_source), "{what} {a}");
    }
}

#[test]
fn batches_from_route_facts_answer_as_the_full_chain() {
    let orders = [
        None,
        Some("rir-prefix,as2org,rir-asn,asname"),
        Some("asname,rir-asn,as2org"),
        Some("as2org"),
        Some("rir-asn,rir-prefix"),
    ];
    let mut decided_by_route = 0;
    for (n, order) in orders.iter().enumerate() {
        let order = order.map(|o| o.parse::<CountryOrder>().unwrap());
        let db = Database::open(small_db_in(&format!("facts{n}.db"), order), true).unwrap();
        let v = db.view();
        let plain = View { facts: None, ..v };
        let addrs = addresses(&v);
        let (v4, v6) = by_family(&addrs);
        let (a4, a6): (Vec<IpAddr>, Vec<IpAddr>) = addrs.iter().partition(|a| a.is_ipv4());
        check_countries(&db, &addrs, "single answers");
        // As many single answers as a quarter of the routes made the facts.
        assert!(v.route_facts(0, Snapshots::Own).is_some(), "{order:?}");
        for (keys, family, what) in [
            (Keys::Mixed(&addrs), &addrs, "mixed"),
            (Keys::V4(&v4), &a4, "v4"),
            (Keys::V6(&v6), &a6, "v6"),
        ] {
            let cols = v.columns(keys).unwrap();
            assert_eq!(cols, plain.columns(keys).unwrap(), "{order:?} {what}");
            let bare = Columns {
                route: vec![],
                snapshot: vec![],
                ..cols.clone()
            };
            assert_eq!(v.bare_columns_at(keys, Snapshots::Own).unwrap(), bare);
            check_rows(&v, family, &cols, &format!("{order:?} {what}"));
        }
        check_countries(&db, &addrs, "after the batches");
        let facts = v
            .route_facts(addrs.len(), Snapshots::Own)
            .expect("made by the batches");
        assert_eq!(facts.len(), v.route_as.len());
        decided_by_route += facts.iter().filter(|f| !f.place && f.source != 0).count();
        // A view of another snapshot, or rows at their own, never reads them.
        assert!(v.route_facts(addrs.len(), Snapshots::Each(&[0])).is_none());
    }
    // Some routes' countries were answered without their place, so the fast path
    // was taken, not only the fallback.
    assert!(decided_by_route > 0);
}
