//! Values that change from one snapshot to the next, as a history file stores them:
//! each value is kept once with the snapshots it holds for, so that N snapshots
//! cost one table plus what changed.
//!
//! - A *cell* is a value that is the same in every snapshot (below [`TIMELINE`]),
//!   or [`TIMELINE`] plus the offset of its timeline. [`NONE`] is the static "no
//!   value". A one-date file's cells are all static, so the same reads serve it.
//! - A *timeline* is `(start, value)` entries in the `timeline` section (see
//!   [`push_timeline`] for the layout), starts ascending, the first at snapshot 0:
//!   at snapshot `s` the value is the one of the last entry starting at or before
//!   `s`.
//! - A [`VTrie`] is a compiled trie over every prefix any snapshot has. A leaf whose
//!   id is below `statics` is the answer in every snapshot; a leaf with id
//!   `statics + k` answers through timeline `churn[k]`, whose values are leaves too
//!   (the longest prefix present in that snapshot, or a miss).

use super::layout::NONE;
use crate::key::Key;
use crate::poptrie::{unpack, PoptrieRef, MISS};

/// The flag of a cell that holds a timeline's offset.
pub const TIMELINE: u32 = 1 << 31;

/// A snapshot of a file: which one, and the timelines its cells read.
#[derive(Copy, Clone, Debug)]
pub struct At<'a> {
    pub snapshot: u32,
    pub timeline: &'a [u32],
}

impl<'a> At<'a> {
    /// The only snapshot of a one-date file.
    pub const ONE: At<'static> = At {
        snapshot: 0,
        timeline: &[],
    };

    /// The same timelines at another snapshot.
    #[inline(always)]
    pub fn with(self, snapshot: u32) -> At<'a> {
        At { snapshot, ..self }
    }

    /// A cell's value at this snapshot ([`NONE`] for none).
    #[inline(always)]
    pub fn cell(self, cell: u32) -> u32 {
        if cell & TIMELINE == 0 || cell == NONE {
            return cell;
        }
        self.entry(cell & !TIMELINE, NONE)
    }

    /// The value at this snapshot of the timeline at `offset`; `missing` if the
    /// offset or the timeline is out of range (only in a damaged file).
    #[inline]
    pub fn entry(self, offset: u32, missing: u32) -> u32 {
        let Some((values, starts)) = parts(self.timeline, offset) else {
            return missing;
        };
        // Entry 0 starts at snapshot 0, so the entries in force are 0 and those of
        // the later starts at or before this snapshot.
        let i = starts.partition_point(|&s| s as u32 <= self.snapshot);
        values.get(i).copied().unwrap_or(missing)
    }
}

/// A timeline's values, and the starts of its entries after the first.
#[inline]
fn parts(timeline: &[u32], offset: u32) -> Option<(&[u32], &[u16])> {
    let o = offset as usize;
    let n = *timeline.get(o)? as usize;
    let values = timeline.get(o + 1..o + 1 + n)?;
    let later = n.checked_sub(1)?;
    let words = timeline.get(o + 1 + n..o + 1 + n + later.div_ceil(2))?;
    Some((values, &bytemuck::cast_slice::<u32, u16>(words)[..later]))
}

/// A trie whose leaves may change between snapshots (see the module docs).
#[derive(Copy, Clone)]
pub struct VTrie<'a, K: Key> {
    pub trie: PoptrieRef<'a, K>,
    /// Leaf ids below this are the same in every snapshot.
    pub statics: u32,
    /// The timeline offset of each changing leaf id, from `statics` on; or, when
    /// `resolved`, its leaf at the one snapshot this trie is read at.
    pub churn: &'a [u32],
    pub resolved: bool,
}

impl<'a, K: Key> VTrie<'a, K> {
    /// A one-date trie: every leaf static.
    pub fn fixed(trie: PoptrieRef<'a, K>) -> Self {
        VTrie {
            trie,
            statics: u32::MAX,
            churn: &[],
            resolved: false,
        }
    }

    /// Each changing leaf's leaf at `at`: for a [`VTrie::resolved_in`] read at
    /// that snapshot only.
    pub fn resolve_all(&self, at: At<'_>) -> Vec<u32> {
        match self.resolved {
            true => self.churn.to_vec(),
            false => self.churn.iter().map(|&o| at.entry(o, MISS)).collect(),
        }
    }

    /// This trie reading its changing leaves from `leaves` (made by
    /// [`VTrie::resolve_all`]): one value a row instead of a timeline.
    pub fn resolved_in<'b>(&self, leaves: &'b [u32]) -> VTrie<'b, K>
    where
        'a: 'b,
    {
        VTrie {
            churn: leaves,
            resolved: true,
            ..*self
        }
    }

    /// The packed leaf (see [`unpack`]) of `key`'s longest match at `at`.
    #[inline]
    pub fn lookup(&self, key: K, at: At<'_>) -> u32 {
        self.resolve(self.trie.lookup(key), at)
    }

    /// A leaf of the trie as it reads at `at`.
    #[inline(always)]
    pub fn resolve(&self, leaf: u32, at: At<'_>) -> u32 {
        let id = leaf >> 8;
        if id < self.statics || leaf == MISS {
            return leaf;
        }
        match self.churn.get((id - self.statics) as usize) {
            Some(&leaf) if self.resolved => leaf,
            Some(&offset) => at.entry(offset, MISS),
            None => MISS,
        }
    }
}

/// The entries of the timeline at `offset`; `None` if the offset or the count is
/// out of range (only in a damaged file).
pub fn timeline_entries(timeline: &[u32], offset: u32) -> Option<Vec<(u32, u32)>> {
    let (values, starts) = parts(timeline, offset)?;
    let starts = std::iter::once(0).chain(starts.iter().map(|&s| s as u32));
    Some(starts.zip(values.iter().copied()).collect())
}

/// Write a timeline (`(start, value)` entries, starts ascending from snapshot 0,
/// below [`MAX_SNAPSHOTS`]); its offset. Laid out as `n`, the `n` values, then the
/// starts after the first as `u16`, two to a word: about 6 bytes an entry (the
/// timelines are most of a history of many snapshots).
pub fn push_timeline(out: &mut Vec<u32>, entries: &[(u32, u32)]) -> u32 {
    debug_assert!(entries.first().is_some_and(|e| e.0 == 0));
    debug_assert!(entries.iter().all(|e| e.0 < MAX_SNAPSHOTS));
    let offset = out.len() as u32;
    out.push(entries.len() as u32);
    out.extend(entries.iter().map(|e| e.1));
    for pair in entries[1.min(entries.len())..].chunks(2) {
        let hi = pair.get(1).map_or(0, |e| e.0);
        out.push(pair[0].0 | hi << 16);
    }
    offset
}

/// Snapshots a history may have: a timeline's starts are `u16`.
pub const MAX_SNAPSHOTS: u32 = 1 << 16;

/// Whether `leaf`, read at some snapshot for the prefix of length `len` whose
/// region it answers, is that prefix itself: its route then, if so.
#[inline]
pub fn own_route(leaf: u32, len: u8) -> Option<u32> {
    unpack(leaf).filter(|&(l, _)| l == len).map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn timelines_read_back_as_written(
            steps in prop::collection::vec((1u32..3000, any::<u32>()), 0..12),
            first in any::<u32>(),
        ) {
            let mut entries = vec![(0, first)];
            for (gap, v) in steps {
                let s = entries.last().unwrap().0 + gap;
                entries.push((s, v));
            }
            let mut tl = vec![7, 7];
            let offset = push_timeline(&mut tl, &entries);
            prop_assert_eq!(timeline_entries(&tl, offset), Some(entries.clone()));
            for s in 0..entries.last().unwrap().0 + 2 {
                let want = entries.iter().rev().find(|e| e.0 <= s).unwrap().1;
                prop_assert_eq!(At { snapshot: s, timeline: &tl }.entry(offset, MISS), want);
            }
        }
    }

    #[test]
    fn cells_read_their_value_at_each_snapshot() {
        let mut tl = vec![];
        let a = push_timeline(&mut tl, &[(0, NONE), (2, 7), (5, 9)]);
        let at = |s| At {
            snapshot: s,
            timeline: &tl,
        };
        let cell = TIMELINE | a;
        let got: Vec<u32> = (0..7).map(|s| at(s).cell(cell)).collect();
        assert_eq!(got, [NONE, NONE, 7, 7, 7, 9, 9]);
        assert_eq!(at(3).cell(42), 42);
        assert_eq!(at(3).cell(NONE), NONE);
        // Damaged offsets and counts read as no value.
        assert_eq!(at(3).cell(TIMELINE | 99), NONE);
        assert_eq!(at(3).entry(0, MISS), 7);
        let bad = [u32::MAX, 0, 1];
        assert_eq!(
            At {
                snapshot: 0,
                timeline: &bad
            }
            .entry(0, MISS),
            MISS
        );
    }
}
