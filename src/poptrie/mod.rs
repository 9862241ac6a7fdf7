//! A compiled, read-only form of a prefix table for fast lookups: a Poptrie (Asai &
//! Ohara, SIGCOMM 2015), built from the tree bitmap and rebuilt after writes.
//!
//! - A direct-indexed first level of `2^D` entries (D = 18 for IPv4, 12 for IPv6):
//!   each is a leaf or the index of a node.
//! - Nodes of 6-bit strides, 24 bytes each: `vector` marks which of the 64 slots hold
//!   a child node, `leafvec` marks where a run of equal leaves starts; children and
//!   leaves sit in two flat arrays at `base + popcount(bits below)`.
//! - Leaves are pushed down (every slot holds the longest match for its whole range),
//!   so a lookup never backtracks, and equal neighbours are stored once.
//!
//! A leaf packs the matched prefix's value id (below 2^23) and length into a `u32`;
//! [`MISS`] means no prefix matched. The structure is a few arrays of integers, so it
//! can be saved and used in place from a memory-mapped file.

mod build;
pub mod view;

use crate::key::Key;
use std::marker::PhantomData;

pub use build::TooManyValues;

/// A node's child flag in a direct entry.
const NODE: u32 = 1 << 31;
/// The leaf of an address that no prefix covers.
pub const MISS: u32 = 0x7FFF_FFFF;
/// Value ids must stay below this (23 bits), so a leaf never looks like [`NODE`].
pub const MAX_ID: u32 = (1 << 23) - 1;
const STRIDE: u8 = 6;

/// 24 bytes without padding, so that an array of nodes can be saved and mapped.
#[derive(Copy, Clone, Default, Debug, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct Node {
    vector: u64,
    leafvec: u64,
    /// Start of this node's leaves in `leaves`.
    base0: u32,
    /// Start of this node's children in `nodes`.
    base1: u32,
}

/// A leaf: value id and prefix length.
#[inline(always)]
pub(crate) fn pack(id: u32, len: u8) -> u32 {
    id << 8 | len as u32
}

/// The value id and prefix length of a leaf, `None` for [`MISS`].
#[inline(always)]
pub fn unpack(leaf: u32) -> Option<(u8, u32)> {
    (leaf != MISS).then_some(((leaf & 0xFF) as u8, leaf >> 8))
}

/// A compiled longest-prefix-match table for one family.
pub struct Poptrie<K: Key> {
    direct_bits: u8,
    direct: Vec<u32>,
    nodes: Vec<Node>,
    leaves: Vec<u32>,
    _key: PhantomData<K>,
}

/// Bits of the direct level: 2^18 x 4 bytes = 1 MiB for IPv4, which holds every
/// prefix up to /18 without a node. For IPv6, 12 bits (the RIR blocks) measured
/// best: 16 or 20 bits cost 1.6x or 5x the memory on the 2015 table for no speed.
pub fn default_direct_bits<K: Key>() -> u8 {
    if K::BITS == 32 {
        18
    } else {
        12
    }
}

/// A Poptrie over borrowed arrays: an owned [`Poptrie`]'s, or a memory-mapped file's
/// (see [`view`]; lookups check every index, so even damaged bytes are safe).
#[derive(Copy, Clone)]
pub struct PoptrieRef<'a, K: Key> {
    direct_bits: u8,
    direct: &'a [u32],
    nodes: &'a [Node],
    leaves: &'a [u32],
    _key: PhantomData<K>,
}

impl<K: Key> Poptrie<K> {
    /// The arrays as a borrowed view, which does the lookups.
    #[inline(always)]
    pub fn view(&self) -> PoptrieRef<'_, K> {
        PoptrieRef {
            direct_bits: self.direct_bits,
            direct: &self.direct,
            nodes: &self.nodes,
            leaves: &self.leaves,
            _key: PhantomData,
        }
    }

    /// The packed leaf of the longest match for `key` (see [`unpack`]).
    #[inline]
    pub fn lookup(&self, key: K) -> u32 {
        self.view().lookup(key)
    }

    /// See [`PoptrieRef::lookup_many`].
    pub fn lookup_many(&self, keys: &[K], out: &mut [u32]) {
        self.view().lookup_many(keys, out)
    }

    /// Bytes held by the three arrays.
    pub fn nbytes(&self) -> usize {
        self.direct.capacity() * 4
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.leaves.capacity() * 4
    }

    /// Number of nodes and of stored leaves.
    pub fn counts(&self) -> (usize, usize) {
        (self.nodes.len(), self.leaves.len())
    }
}

/// Deeper than any valid table goes: a lookup that gets here (only in a damaged
/// table) stops with a miss instead of looping.
const fn max_offset(bits: u8) -> u8 {
    bits + STRIDE
}

/// Whether the CPU counts bits in one instruction. The default x86-64 target leaves
/// `count_ones` to a dozen instructions, and lookups count bits at every node, so
/// they are compiled twice and pick the faster form when the CPU has it (every
/// x86-64 CPU since about 2008 does).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_popcnt() -> bool {
    std::arch::is_x86_feature_detected!("popcnt")
}

impl<K: Key> PoptrieRef<'_, K> {
    /// The packed leaf of the longest match for `key` (see [`unpack`]).
    #[inline]
    pub fn lookup(&self, key: K) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if has_popcnt() {
            // SAFETY: the CPU has the instruction.
            return unsafe { self.lookup_popcnt(key) };
        }
        self.lookup_portable(key)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn lookup_popcnt(&self, key: K) -> u32 {
        self.lookup_portable(key)
    }

    #[inline(always)]
    fn lookup_portable(&self, key: K) -> u32 {
        let mut e = self.direct[key.bits_at(0, self.direct_bits) as usize];
        let mut off = self.direct_bits;
        while e & NODE != 0 {
            if off >= max_offset(K::BITS) {
                return MISS;
            }
            let Some(node) = self.nodes.get((e & !NODE) as usize) else {
                return MISS;
            };
            let (child, leaf) = step(node, key.bits_at(off, STRIDE));
            match child {
                Some(c) => e = NODE | c,
                None => return self.leaf(leaf),
            }
            off += STRIDE;
        }
        e
    }

    /// Leaf `i`. Every index a lookup follows is checked (a miss if out of range),
    /// so that bytes mapped from a file need not be walked before use: damage can
    /// give wrong answers, never a panic or a read out of bounds.
    #[inline(always)]
    fn leaf(&self, i: u32) -> u32 {
        self.leaves.get(i as usize).copied().unwrap_or(MISS)
    }

    /// Longest matches for many keys: `out[i]` gets the packed leaf of `keys[i]`.
    /// Lookups run in interleaved groups, so that the memory loads of independent
    /// lookups overlap instead of waiting for each other.
    pub fn lookup_many(&self, keys: &[K], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        if has_popcnt() {
            // SAFETY: the CPU has the instruction.
            return unsafe { self.lookup_many_popcnt(keys, out) };
        }
        self.lookup_many_portable(keys, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn lookup_many_popcnt(&self, keys: &[K], out: &mut [u32]) {
        self.lookup_many_portable(keys, out)
    }

    #[inline(always)]
    fn lookup_many_portable(&self, keys: &[K], out: &mut [u32]) {
        const LANES: usize = 64;
        assert_eq!(keys.len(), out.len());
        let mut chunks = keys.chunks_exact(LANES).zip(out.chunks_exact_mut(LANES));
        for (k, o) in &mut chunks {
            self.lookup_lanes::<LANES>(k.try_into().expect("LANES keys"), o);
        }
        let rest = keys.len() % LANES;
        let (k, o) = (&keys[keys.len() - rest..], &mut out[keys.len() - rest..]);
        for (key, slot) in k.iter().zip(o) {
            *slot = self.lookup_portable(*key);
        }
    }

    /// `N` lookups advanced level by level together; each pass walks only the lanes
    /// still inside nodes, so lanes that finished early cost nothing.
    #[inline(always)]
    fn lookup_lanes<const N: usize>(&self, keys: &[K; N], out: &mut [u32]) {
        let mut entry = [0u32; N];
        let mut active = [0u8; N];
        let mut live = 0;
        for i in 0..N {
            entry[i] = self.direct[keys[i].bits_at(0, self.direct_bits) as usize];
            active[live] = i as u8;
            live += usize::from(entry[i] & NODE != 0);
        }
        let mut off = self.direct_bits;
        while live > 0 {
            if off >= max_offset(K::BITS) {
                active[..live]
                    .iter()
                    .for_each(|&i| entry[i as usize] = MISS);
                break;
            }
            let mut still = 0;
            for j in 0..live {
                let i = active[j] as usize;
                let Some(node) = self.nodes.get((entry[i] & !NODE) as usize) else {
                    entry[i] = MISS;
                    continue;
                };
                let (child, leaf) = step(node, keys[i].bits_at(off, STRIDE));
                entry[i] = match child {
                    Some(c) => {
                        active[still] = i as u8;
                        still += 1;
                        NODE | c
                    }
                    None => self.leaf(leaf),
                };
            }
            live = still;
            off += STRIDE;
        }
        out.copy_from_slice(&entry);
    }
}

/// One step down from `node` for the 6-bit slot `v`: the child's index, or else the
/// index of the slot's leaf.
#[inline(always)]
fn step(node: &Node, v: u32) -> (Option<u32>, u32) {
    let bit = 1u64 << v;
    let upto = (bit << 1).wrapping_sub(1); // bits 0..=v

    // Wrapping: in a damaged table the sums may overflow; the index is then out of
    // range and checked where it is used.
    if node.vector & bit != 0 {
        let rank = (node.vector & upto).count_ones();
        (Some(node.base1.wrapping_add(rank).wrapping_sub(1)), 0)
    } else {
        let rank = (node.leafvec & upto).count_ones();
        (None, node.base0.wrapping_add(rank).wrapping_sub(1))
    }
}

#[cfg(test)]
mod tests;
