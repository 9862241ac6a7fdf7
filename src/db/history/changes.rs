//! How keyed tables change over a history's snapshots, recorded as they are met
//! (one snapshot in memory at a time) and turned at the end into the cells and
//! timelines of [`crate::db::versions`].

use crate::db::layout::NONE;
use crate::db::versions::{push_timeline, TIMELINE};
use crate::key::{Key, Prefix};
use crate::poptrie::{pack, MAX_ID, MISS};

/// The changes of one table: each key's value where it differs from the snapshot
/// before ([`NONE`] where the key went away).
pub struct Changes<T> {
    prev: Vec<(T, u32)>,
    events: Vec<(T, u32, u32)>,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Changes {
            prev: Vec::new(),
            events: Vec::new(),
        }
    }
}

/// Every key any snapshot had, in order, each with its own timeline (starting at
/// snapshot 0, [`NONE`] where it is absent).
pub struct Own<T> {
    pub keys: Vec<T>,
    /// Key `i`'s entries are `entries[start[i]..start[i + 1]]`.
    start: Vec<usize>,
    entries: Vec<(u32, u32)>,
}

impl<T: Ord + Copy> Changes<T> {
    /// Snapshot `s`'s table, sorted by key without repeats (snapshots in order).
    pub fn add(&mut self, s: u32, mut now: Vec<(T, u32)>) {
        if !now.windows(2).all(|w| w[0].0 < w[1].0) {
            // Only a damaged input is out of order.
            now.sort_by_key(|e| e.0);
            now.dedup_by_key(|e| e.0);
        }
        let (mut i, mut j) = (0, 0);
        let prev = std::mem::take(&mut self.prev);
        while i < prev.len() || j < now.len() {
            let (a, b) = (prev.get(i), now.get(j));
            match (a, b) {
                (Some(&(k, v)), Some(&(l, w))) if k == l => {
                    if v != w {
                        self.events.push((l, s, w));
                    }
                    (i, j) = (i + 1, j + 1);
                }
                (Some(&(k, _)), Some(&(l, _))) if l < k => {
                    self.events.push((l, s, now[j].1));
                    j += 1;
                }
                (Some(&(k, _)), _) => {
                    self.events.push((k, s, NONE));
                    i += 1;
                }
                (None, Some(&(l, w))) => {
                    self.events.push((l, s, w));
                    j += 1;
                }
                (None, None) => unreachable!("the loop runs while one is left"),
            }
        }
        self.prev = now;
    }

    pub fn finish(mut self) -> Own<T> {
        // Stable: each key's events stay in snapshot order.
        self.events.sort_by_key(|e| e.0);
        let mut own = Own {
            keys: Vec::new(),
            start: vec![0],
            entries: Vec::with_capacity(self.events.len()),
        };
        for (k, s, v) in self.events {
            if own.keys.last() != Some(&k) {
                if !own.keys.is_empty() {
                    own.start.push(own.entries.len());
                }
                own.keys.push(k);
                if s > 0 {
                    own.entries.push((0, NONE));
                }
            }
            own.entries.push((s, v));
        }
        own.start.push(own.entries.len());
        own
    }
}

impl<T> Own<T> {
    pub fn entries(&self, i: usize) -> &[(u32, u32)] {
        &self.entries[self.start[i]..self.start[i + 1]]
    }

    /// One cell per key: the value if it never changes, else a timeline.
    pub fn cells(&self, timeline: &mut Vec<u32>) -> Vec<u32> {
        (0..self.keys.len())
            .map(|i| match self.entries(i) {
                &[(0, v)] if v & TIMELINE == 0 => v,
                e => TIMELINE | push_timeline(timeline, e),
            })
            .collect()
    }
}

/// `(start, value)` entries, starts ascending from 0.
type Timeline = Vec<(u32, u32)>;

/// A versioned longest-match table laid out: its prefixes in order with their
/// cells, and the items of its trie with the timelines of the changing ones.
pub struct Lpm<K: Key> {
    pub prefixes: Vec<Prefix<K>>,
    pub cells: Vec<u32>,
    pub items: Vec<(Prefix<K>, u32)>,
    pub churn: Vec<u32>,
}

/// Lay out the prefixes of `own`, whose values are ids below `statics`. A prefix's
/// trie leaf answers for the addresses it is the longest of all snapshots' prefixes
/// for: at each snapshot that is the prefix itself if present, else what its
/// closest enclosing prefix answers then (a miss without one). A prefix present in
/// every snapshot with one value is static; any other gets a timeline of leaves.
pub fn lpm<K: Key>(
    own: &Own<Prefix<K>>,
    statics: u32,
    timeline: &mut Vec<u32>,
) -> Result<Lpm<K>, String> {
    let n = own.keys.len();
    let mut out = Lpm {
        prefixes: own.keys.clone(),
        cells: Vec::with_capacity(n),
        items: Vec::with_capacity(n),
        churn: Vec::new(),
    };
    let mut stack: Vec<(Prefix<K>, Timeline)> = Vec::new();
    for (i, &p) in own.keys.iter().enumerate() {
        while stack.last().is_some_and(|(q, _)| !q.contains(&p)) {
            stack.pop();
        }
        let outer = stack.last().map_or(&[(0, MISS)][..], |(_, a)| &a[..]);
        let answer = answers(own.entries(i), outer, p.prefix_len());
        match answer[..] {
            [(0, leaf)] if leaf == pack(leaf >> 8, p.prefix_len()) => {
                out.cells.push(leaf >> 8);
                out.items.push((p, leaf >> 8));
            }
            _ => {
                let offset = push_timeline(timeline, &answer);
                let id = statics as u64 + out.churn.len() as u64;
                if id > MAX_ID as u64 {
                    return Err(format!(
                        "more than {MAX_ID} distinct values and changing prefixes"
                    ));
                }
                out.cells.push(TIMELINE | offset);
                out.items.push((p, id as u32));
                out.churn.push(offset);
            }
        }
        stack.push((p, answer));
    }
    Ok(out)
}

/// The leaves of a prefix of length `len` over the snapshots: its own value where
/// it has one, else the enclosing prefix's leaf (`outer`), with equal neighbours
/// merged.
fn answers(own: &[(u32, u32)], outer: &[(u32, u32)], len: u8) -> Timeline {
    let value_at = |t: &[(u32, u32)], s: u32| t[t.partition_point(|e| e.0 <= s) - 1].1;
    let mut starts: Vec<u32> = own.iter().chain(outer).map(|e| e.0).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut out: Timeline = Vec::with_capacity(starts.len());
    for s in starts {
        let leaf = match value_at(own, s) {
            NONE => value_at(outer, s),
            v => pack(v, len),
        };
        if out.last().is_none_or(|&(_, l)| l != leaf) {
            out.push((s, leaf));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::versions::At;
    use crate::poptrie::{unpack, Poptrie};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Seeded snapshots of a small table (few addresses, so that prefixes nest):
    /// each a map prefix -> value.
    fn snapshots() -> impl Strategy<Value = Vec<BTreeMap<Prefix<u32>, u32>>> {
        let table = prop::collection::btree_map(
            (0u32..16, 0u8..=4).prop_map(|(a, l)| Prefix::new_masked(a << 28, l).unwrap()),
            0u32..4,
            0..10,
        );
        prop::collection::vec(table, 1..8)
    }

    proptest! {
        #[test]
        fn versioned_tries_answer_as_each_snapshot(snaps in snapshots()) {
            let mut changes = Changes::default();
            for (s, t) in snaps.iter().enumerate() {
                changes.add(s as u32, t.iter().map(|(p, v)| (*p, *v)).collect());
            }
            let own = changes.finish();
            let mut timeline = vec![];
            let l = lpm(&own, 4, &mut timeline).unwrap();
            let trie = Poptrie::build(&l.items, 4).unwrap();
            let vt = crate::db::versions::VTrie { trie: trie.view(), statics: 4, churn: &l.churn };
            for (s, t) in snaps.iter().enumerate() {
                let at = At { snapshot: s as u32, timeline: &timeline };
                let one = Poptrie::build(&t.iter().map(|(p, v)| (*p, *v)).collect::<Vec<_>>(), 4).unwrap();
                for a in 0u32..64 {
                    let key = a << 26;
                    prop_assert_eq!(unpack(vt.lookup(key, at)), unpack(one.lookup(key)), "snapshot {} key {:x}", s, key);
                }
                // A prefix's own value at each snapshot from its cell.
                for (i, p) in l.prefixes.iter().enumerate() {
                    let cell = l.cells[i];
                    let got = match cell & TIMELINE {
                        0 => Some(cell),
                        _ => crate::db::versions::own_route(at.entry(cell & !TIMELINE, MISS), p.prefix_len()),
                    };
                    prop_assert_eq!(got, t.get(p).copied());
                }
            }
        }

        #[test]
        fn map_cells_give_each_snapshots_value(
            snaps in prop::collection::vec(prop::collection::btree_map(0u32..20, 0u32..3, 0..12), 1..8)
        ) {
            let mut changes = Changes::default();
            for (s, t) in snaps.iter().enumerate() {
                changes.add(s as u32, t.iter().map(|(k, v)| (*k, *v)).collect());
            }
            let own = changes.finish();
            let mut timeline = vec![];
            let cells = own.cells(&mut timeline);
            for (s, t) in snaps.iter().enumerate() {
                let at = At { snapshot: s as u32, timeline: &timeline };
                for (i, k) in own.keys.iter().enumerate() {
                    let v = at.cell(cells[i]);
                    prop_assert_eq!((v != NONE).then_some(v), t.get(k).copied());
                }
            }
        }
    }
}
