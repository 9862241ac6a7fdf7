//! Building a [`Poptrie`] from prefixes in address order.
//!
//! Within any range of addresses, painting the prefixes onto slots in address order
//! (a shorter prefix first at one address) leaves each slot with its longest match:
//! a prefix always comes after every prefix that contains it. So each level paints
//! its short prefixes, and groups the longer ones (contiguous in address order) by
//! slot into child nodes, which inherit the slot's match as their default.

use super::{pack, LeafCode, Poptrie, HEADER, MAX_ID, MISS, NODE, STRIDE};
use crate::key::{Key, Prefix};
use std::fmt;
use std::marker::PhantomData;

/// A table too big for the compiled form: a value id past [`MAX_ID`](super::MAX_ID)
/// (2^23 - 1), or over 2 GiB of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig;

impl fmt::Display for TooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value ids must be at most {} and nodes fit in 2 GiB",
            super::MAX_ID
        )
    }
}

struct Builder {
    code: LeafCode,
    heap: Vec<u8>,
    nodes: usize,
    leaves: usize,
}

impl<K: Key> Poptrie<K> {
    /// Build from `(prefix, value id)` pairs in address order (as the tree bitmap
    /// iterates), with a direct level of `direct_bits` bits (at most 24).
    pub fn build(items: &[(Prefix<K>, u32)], direct_bits: u8) -> Result<Self, TooBig> {
        assert!((1..=24).contains(&direct_bits) && direct_bits <= K::BITS);
        let max_id = items.iter().map(|(_, id)| *id).max().unwrap_or(0);
        if max_id > MAX_ID {
            return Err(TooBig);
        }
        let mut direct = vec![MISS; 1 << direct_bits];
        let mut b = Builder {
            code: LeafCode::for_ids::<K>(max_id),
            heap: Vec::new(),
            nodes: 0,
            leaves: 0,
        };
        for (p, id) in items.iter().filter(|(p, _)| p.prefix_len() <= direct_bits) {
            let first = if p.prefix_len() == 0 {
                0
            } else {
                p.addr().bits_at(0, direct_bits) as usize
            };
            let count = 1usize << (direct_bits - p.prefix_len());
            direct[first..first + count].fill(pack(*id, p.prefix_len()));
        }
        let long: Vec<(Prefix<K>, u32)> = items
            .iter()
            .filter(|(p, _)| p.prefix_len() > direct_bits)
            .copied()
            .collect();
        for group in groups(&long, 0, direct_bits) {
            let slot = group[0].0.addr().bits_at(0, direct_bits) as usize;
            direct[slot] = NODE | b.node(group, direct_bits, direct[slot]);
        }
        // A 3-byte leaf is read as 4 bytes, so the last one needs one more.
        b.heap.resize(b.heap.len() + 1, 0);
        if b.heap.len() >= NODE as usize {
            return Err(TooBig);
        }
        // The heap grew by doubling; a table lives long, so give back the slack.
        b.heap.shrink_to_fit();
        Ok(Poptrie {
            direct_bits,
            code: b.code,
            direct,
            heap: b.heap,
            nodes: b.nodes,
            leaves: b.leaves,
            _key: PhantomData,
        })
    }
}

/// Runs of `items` (in address order) that share the `bits` bits at `off`.
fn groups<K: Key>(
    items: &[(Prefix<K>, u32)],
    off: u8,
    bits: u8,
) -> impl Iterator<Item = &[(Prefix<K>, u32)]> {
    items.chunk_by(move |a, b| a.0.addr().bits_at(off, bits) == b.0.addr().bits_at(off, bits))
}

impl Builder {
    /// Write the node for `items` (all longer than `off`, all inside one slot of the
    /// level above), whose slots default to `default`, then its children after it.
    /// Returns its offset. Offsets past 2^31 are refused at the end of the build.
    fn node<K: Key>(&mut self, items: &[(Prefix<K>, u32)], off: u8, default: u32) -> u32 {
        let end = off + STRIDE;
        let mut slots = [default; 64];
        for (p, id) in items.iter().filter(|(p, _)| p.prefix_len() <= end) {
            let first = p.addr().bits_at(off, STRIDE) as usize;
            let count = 1usize << (end - p.prefix_len());
            slots[first..first + count].fill(pack(*id, p.prefix_len()));
        }
        let deeper: Vec<(Prefix<K>, u32)> = items
            .iter()
            .filter(|(p, _)| p.prefix_len() > end)
            .copied()
            .collect();
        let children: Vec<&[(Prefix<K>, u32)]> = groups(&deeper, off, STRIDE).collect();
        let mut vector = 0u64;
        for g in &children {
            vector |= 1 << g[0].0.addr().bits_at(off, STRIDE);
        }
        // A run of equal leaves continues across child slots: a leaf's rank counts
        // the runs started at or below its slot, whatever lies between.
        let (mut leafvec, mut runs) = (0u64, Vec::new());
        for (v, &leaf) in slots.iter().enumerate() {
            if vector & (1 << v) == 0 && runs.last() != Some(&leaf) {
                leafvec |= 1 << v;
                runs.push(leaf);
            }
        }
        let at = self.heap.len();
        self.heap.extend_from_slice(&vector.to_le_bytes());
        self.heap.extend_from_slice(&leafvec.to_le_bytes());
        self.heap.resize(at + HEADER + 4 * children.len(), 0);
        for leaf in &runs {
            let bytes = self.code.encode(*leaf).to_le_bytes();
            self.heap
                .extend_from_slice(&bytes[..self.code.bytes as usize]);
        }
        self.nodes += 1;
        self.leaves += runs.len();
        for (i, g) in children.iter().enumerate() {
            let slot = g[0].0.addr().bits_at(off, STRIDE) as usize;
            let child = self.node(g, end, slots[slot]);
            let place = at + HEADER + 4 * i;
            self.heap[place..place + 4].copy_from_slice(&child.to_le_bytes());
        }
        at as u32
    }
}
