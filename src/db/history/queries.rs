//! What a history answers beyond a snapshot's questions: the intervals in which an
//! address or a prefix was routed, and the prefixes that changed between two
//! snapshots.

use crate::db::layout::Stored;
use crate::db::query::Record;
use crate::db::read::{Family, View};
use crate::ip::IpPrefix;
use crate::key::Prefix;
use std::net::IpAddr;

/// A run of snapshots `first..=last` that gave one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval<'a> {
    pub first: u32,
    pub last: u32,
    pub record: Record<'a>,
}

/// How a prefix differs between two snapshots.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Announced,
    Withdrawn,
    /// Announced in both, with other origins.
    Changed,
}

impl ChangeKind {
    pub const fn name(self) -> &'static str {
        match self {
            ChangeKind::Announced => "announced",
            ChangeKind::Withdrawn => "withdrawn",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One prefix of a diff, with its route in each snapshot (`None` where absent).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub prefix: IpPrefix,
    pub kind: ChangeKind,
    pub old: Option<u32>,
    pub new: Option<u32>,
}

/// What a history's snapshots say about one address or prefix.
pub enum Subject {
    /// An address: its longest match at each snapshot.
    Address(IpAddr),
    /// A prefix: itself, where routed.
    Prefix(IpPrefix),
}

impl<'a> View<'a> {
    /// The intervals of snapshots in which `subject` was routed with one record
    /// (prefix, origins, names, country all the same), oldest first.
    pub fn history(&self, subject: &Subject) -> Vec<Interval<'a>> {
        let mut out: Vec<Interval<'a>> = Vec::new();
        for s in 0..self.times.len().max(1) as u32 {
            let v = self.at_snapshot(s);
            let record = match subject {
                Subject::Address(a) => v.record(*a),
                Subject::Prefix(p) => v.exact(p).and_then(|r| v.prefix_record(*p, r)),
            };
            let Some(record) = record else { continue };
            match out.last_mut() {
                Some(i) if i.last + 1 == s && i.record == record => i.last = s,
                _ => out.push(Interval {
                    first: s,
                    last: s,
                    record,
                }),
            }
        }
        out
    }

    /// The prefixes announced, withdrawn, or announced with other origins at
    /// snapshot `to` than at snapshot `from`, IPv4 then IPv6, in address order.
    pub fn diff(&self, from: u32, to: u32) -> Vec<Change> {
        let (a, b) = (self.at_snapshot(from), self.at_snapshot(to));
        let mut out = family_diff(&a, &b, &self.v4, IpPrefix::V4);
        out.extend(family_diff(&a, &b, &self.v6, IpPrefix::V6));
        out
    }
}

fn family_diff<K: Stored>(
    a: &View<'_>,
    b: &View<'_>,
    family: &Family<'_, K>,
    wrap: fn(Prefix<K>) -> IpPrefix,
) -> Vec<Change> {
    (0..family.addr.len())
        .filter_map(|i| {
            let (old, new) = (family.prefix(i, a.at), family.prefix(i, b.at));
            let kind = match (old, new) {
                (None, Some(_)) => ChangeKind::Announced,
                (Some(_), None) => ChangeKind::Withdrawn,
                (Some((_, r)), Some((_, q))) if a.origins(r) != b.origins(q) => ChangeKind::Changed,
                _ => return None,
            };
            let prefix = wrap(old.or(new)?.0);
            Some(Change {
                prefix,
                kind,
                old: old.map(|o| o.1),
                new: new.map(|n| n.1),
            })
        })
        .collect()
}
