//! Keyed tables over a history's snapshots, grown one snapshot at a time (from
//! nothing, or from a history file's own tables, so that adding a snapshot costs
//! the same however many the history has), and turned at the end into the cells,
//! timelines and tries of [`crate::db::versions`].

use crate::db::layout::NONE;
use crate::db::versions::{push_timeline, TIMELINE};
use crate::key::{Key, Prefix};
use crate::poptrie::{pack, MAX_ID, MISS};

/// `(start, value)` entries, starts ascending from 0.
pub type Timeline = Vec<(u32, u32)>;

/// Every key of any snapshot so far, in order, each with its timeline: for a map
/// (AS entries) the key's own value ([`NONE`] where absent); for a longest-match
/// table the leaf that answers for the key's addresses (see [`Versioned::add_lpm`]).
pub struct Versioned<T> {
    pub keys: Vec<T>,
    pub lines: Vec<Timeline>,
}

impl<T> Default for Versioned<T> {
    fn default() -> Self {
        Versioned {
            keys: Vec::new(),
            lines: Vec::new(),
        }
    }
}

/// Make `v` a timeline's value from snapshot `s` on (`s` at or after its last
/// start), keeping neighbours distinct.
fn set(line: &mut Timeline, s: u32, v: u32) {
    match line.last_mut() {
        Some(last) if last.1 == v => {}
        Some(last) if last.0 == s => {
            last.1 = v;
            let n = line.len();
            if n >= 2 && line[n - 2].1 == v {
                line.pop();
            }
        }
        _ => line.push((s, v)),
    }
}

/// `now` sorted by key without repeats (only a damaged input is not).
fn sorted<T: Ord>(mut now: Vec<(T, u32)>) -> Vec<(T, u32)> {
    if !now.windows(2).all(|w| w[0].0 < w[1].0) {
        now.sort_by(|a, b| a.0.cmp(&b.0));
        now.dedup_by(|a, b| a.0 == b.0);
    }
    now
}

impl<T: Ord + Copy> Versioned<T> {
    /// The keys of this table and of `now` merged in order, each with its line
    /// here (`None` for a new key) and its value in `now`.
    fn merged(self, now: Vec<(T, u32)>) -> Vec<(T, Option<Timeline>, Option<u32>)> {
        let mut out = Vec::with_capacity(self.keys.len().max(now.len()));
        let mut old = self.keys.into_iter().zip(self.lines).peekable();
        let mut new = sorted(now).into_iter().peekable();
        loop {
            let take_old = match (old.peek(), new.peek()) {
                (None, None) => return out,
                (Some((k, _)), Some((l, _))) if k == l => {
                    let ((k, line), (_, v)) = (old.next().unwrap(), new.next().unwrap());
                    out.push((k, Some(line), Some(v)));
                    continue;
                }
                (Some((k, _)), Some((l, _))) => k < l,
                (o, _) => o.is_some(),
            };
            out.push(match take_old {
                true => old.next().map(|(k, line)| (k, Some(line), None)).unwrap(),
                false => new.next().map(|(l, v)| (l, None, Some(v))).unwrap(),
            });
        }
    }

    /// Snapshot `s` (after every one so far) of a map: each key's value, sorted.
    pub fn add_map(&mut self, s: u32, now: Vec<(T, u32)>) {
        let mut next = Versioned::default();
        for (k, line, v) in std::mem::take(self).merged(now) {
            let mut line = line.unwrap_or_else(|| vec![(0, NONE)]);
            set(&mut line, s, v.unwrap_or(NONE));
            next.keys.push(k);
            next.lines.push(line);
        }
        *self = next;
    }

    /// One cell per key: the value if it never changes, else a timeline.
    pub fn cells(&self, timeline: &mut Vec<u32>) -> Vec<u32> {
        self.lines
            .iter()
            .map(|line| match line[..] {
                [(0, v)] if v & TIMELINE == 0 => v,
                _ => TIMELINE | push_timeline(timeline, line),
            })
            .collect()
    }
}

impl<K: Key> Versioned<Prefix<K>> {
    /// Snapshot `s` (after every one so far) of a longest-match table: its prefixes
    /// with their values, sorted. A prefix's line holds, at each snapshot, the leaf
    /// that answers for the addresses it is the longest of all snapshots' prefixes
    /// for: the prefix itself if present then, else what its closest enclosing
    /// prefix answers then (a miss without one). A prefix new at `s` takes its
    /// enclosing prefix's line for the snapshots before, whose answers it gave.
    pub fn add_lpm(&mut self, s: u32, now: Vec<(Prefix<K>, u32)>) {
        let mut next = Versioned::default();
        // Enclosing prefixes of the current one: (prefix, its index in `next`, its
        // leaf at `s`).
        let mut stack: Vec<(Prefix<K>, usize, u32)> = Vec::new();
        for (p, line, v) in std::mem::take(self).merged(now) {
            while stack.last().is_some_and(|(q, _, _)| !q.contains(&p)) {
                stack.pop();
            }
            let outer = stack.last().map(|&(_, i, leaf)| (i, leaf));
            let leaf = match v {
                Some(v) => pack(v, p.prefix_len()),
                None => outer.map_or(MISS, |(_, leaf)| leaf),
            };
            let mut line = line.unwrap_or_else(|| match outer {
                Some((i, _)) => next.lines[i]
                    .iter()
                    .copied()
                    .filter(|e: &(u32, u32)| e.0 < s)
                    .collect(),
                None => vec![(0, MISS)],
            });
            if line.is_empty() {
                line.push((0, MISS));
            }
            set(&mut line, s, leaf);
            stack.push((p, next.keys.len(), leaf));
            next.keys.push(p);
            next.lines.push(line);
        }
        *self = next;
    }
}

/// A versioned longest-match table laid out: its prefixes in order with their
/// cells, and the items of its trie with the timelines of the changing ones.
pub struct Lpm<K: Key> {
    pub prefixes: Vec<Prefix<K>>,
    pub cells: Vec<u32>,
    pub items: Vec<(Prefix<K>, u32)>,
    pub churn: Vec<u32>,
}

/// Lay out `table`, whose values are ids below `statics`: a prefix present in
/// every snapshot with one value is static (its cell and leaf are the value); any
/// other gets a timeline of leaves and a leaf id from `statics` on.
pub fn layout<K: Key>(
    table: &Versioned<Prefix<K>>,
    statics: u32,
    timeline: &mut Vec<u32>,
) -> Result<Lpm<K>, String> {
    let n = table.keys.len();
    let mut out = Lpm {
        prefixes: table.keys.clone(),
        cells: Vec::with_capacity(n),
        items: Vec::with_capacity(n),
        churn: Vec::new(),
    };
    for (&p, line) in table.keys.iter().zip(&table.lines) {
        match line[..] {
            [(0, leaf)] if leaf == pack(leaf >> 8, p.prefix_len()) => {
                out.cells.push(leaf >> 8);
                out.items.push((p, leaf >> 8));
            }
            _ => {
                let offset = push_timeline(timeline, line);
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
    }
    Ok(out)
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
            let mut table = Versioned::default();
            for (s, t) in snaps.iter().enumerate() {
                table.add_lpm(s as u32, t.iter().map(|(p, v)| (*p, *v)).collect());
            }
            let mut timeline = vec![];
            let l = layout(&table, 4, &mut timeline).unwrap();
            let trie = Poptrie::build(&l.items, 4).unwrap();
            let vt = crate::db::versions::VTrie { trie: trie.view(), statics: 4, churn: &l.churn, resolved: false };
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
            // Timelines have no equal neighbours, and start at snapshot 0.
            for line in &table.lines {
                prop_assert_eq!(line[0].0, 0);
                prop_assert!(line.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1));
            }
        }

        #[test]
        fn map_cells_give_each_snapshots_value(
            snaps in prop::collection::vec(prop::collection::btree_map(0u32..20, 0u32..3, 0..12), 1..8)
        ) {
            let mut table = Versioned::default();
            for (s, t) in snaps.iter().enumerate() {
                table.add_map(s as u32, t.iter().map(|(k, v)| (*k, *v)).collect());
            }
            let mut timeline = vec![];
            let cells = table.cells(&mut timeline);
            for (s, t) in snaps.iter().enumerate() {
                let at = At { snapshot: s as u32, timeline: &timeline };
                for (i, k) in table.keys.iter().enumerate() {
                    let v = at.cell(cells[i]);
                    prop_assert_eq!((v != NONE).then_some(v), t.get(k).copied());
                }
            }
        }
    }
}
