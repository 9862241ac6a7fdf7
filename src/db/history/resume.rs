//! A history file's tables and pools read back as a [`HistoryBuilder`] holds them,
//! so that adding newer snapshots costs what one snapshot costs, not a pass over
//! all of the history's snapshots again.

use super::changes::{Timeline, Versioned};
use super::pools::Pools;
use super::HistoryBuilder;
use crate::db::layout::{Stored, NONE};
use crate::db::pool::Pool;
use crate::db::read::{Database, Family, View};
use crate::db::strings::StringsBuilder;
use crate::db::versions::{timeline_entries, VTrie, TIMELINE};
use crate::key::{Key, Prefix};
use crate::poptrie::{pack, MISS};

impl HistoryBuilder {
    /// The builder that made `db`, a history (its snapshots' tables and pools).
    pub fn resume(db: &Database) -> HistoryBuilder {
        let v = db.view();
        let mut metas = db.metadata().snapshots.clone();
        metas.truncate(v.times.len());
        HistoryBuilder {
            pools: pools(&v),
            times: v.times.to_vec(),
            metas,
            v4: routed(&v, &v.v4),
            v6: routed(&v, &v.v6),
            rir4: compiled(&v, &v.rir4),
            rir6: compiled(&v, &v.rir6),
            rir_asn: compiled(&v, &v.rir_asn),
            ases: ases(&v),
        }
    }
}

/// The pools with the file's ids kept (a damaged entry keeps its place).
fn pools(v: &View<'_>) -> Pools {
    let strings = (0..v.strings.len() as u32).map(|i| v.strings.get(i).unwrap_or(""));
    let routes = (0..v.route_as.len() as u32).map(|r| v.origins(r).to_vec());
    Pools {
        strings: StringsBuilder::from_strings(strings),
        routes: Pool::from_items(routes.collect()),
        orgs: Pool::from_items(v.org_info.to_vec()),
        rirs: Pool::from_items(v.rir_info.to_vec()),
        ases: Pool::from_items(v.as_info.to_vec()),
    }
}

/// A cell's timeline; `missing` for one a damaged file does not hold.
fn line(v: &View<'_>, cell: u32, missing: u32, leaf_len: Option<u8>) -> Timeline {
    match cell & TIMELINE {
        _ if cell == NONE => vec![(0, missing)],
        0 => vec![(0, leaf_len.map_or(cell, |len| pack(cell, len)))],
        _ => {
            timeline_entries(v.at.timeline, cell & !TIMELINE).unwrap_or_else(|| vec![(0, missing)])
        }
    }
}

fn routed<K: Stored>(v: &View<'_>, f: &Family<'_, K>) -> Versioned<Prefix<K>> {
    let mut out = Versioned::default();
    for (i, &cell) in f.route.iter().enumerate() {
        let (Some(&addr), Some(&len)) = (f.addr.get(i), f.len.get(i)) else {
            break;
        };
        let Some(p) = Prefix::new_masked(K::load(addr), len) else {
            continue;
        };
        out.keys.push(p);
        out.lines.push(line(v, cell, MISS, Some(len)));
    }
    out
}

/// A trie's prefixes (those that answer for some address: a prefix covered whole
/// by more specific ones never does) with their lines.
fn compiled<K: Key>(v: &View<'_>, t: &VTrie<'_, K>) -> Versioned<Prefix<K>> {
    let mut out = Versioned::default();
    for (p, id) in t.trie.prefixes() {
        let line = match id.checked_sub(t.statics).map(|k| t.churn.get(k as usize)) {
            None => vec![(0, pack(id, p.prefix_len()))],
            Some(Some(&offset)) => line(v, TIMELINE | offset, MISS, None),
            Some(None) => vec![(0, MISS)],
        };
        out.keys.push(p);
        out.lines.push(line);
    }
    out
}

fn ases(v: &View<'_>) -> Versioned<u32> {
    Versioned {
        keys: v.as_num.to_vec(),
        lines: v.as_cell.iter().map(|&c| line(v, c, NONE, None)).collect(),
    }
}
