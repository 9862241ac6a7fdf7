//! A compiled, read-only form of a prefix table for fast lookups: a Poptrie (Asai &
//! Ohara, SIGCOMM 2015), built from the tree bitmap and rebuilt after writes.
//!
//! - A direct-indexed first level of `2^D` entries (D = 18 for IPv4, 14 for IPv6):
//!   each is a leaf or the offset of a node.
//! - Nodes of 6-bit strides: `vector` marks which of the 64 slots hold a child node,
//!   `leafvec` marks where a run of equal leaves starts. Leaves are pushed down (every
//!   slot holds the longest match for its whole range), so a lookup never backtracks,
//!   and equal neighbours are stored once.
//!
//! One change from the paper: a node's children and leaves are stored inline, right
//! after its two bitmaps, in one byte array (`heap`): `vector, leafvec` (u64 each),
//! the children's offsets (u32 each, by popcount of `vector`), then the leaves (by
//! popcount of `leafvec`). The paper keeps nodes and leaves in two arrays, so ending
//! at a leaf costs a second cache miss after the node's; here the leaves mostly share
//! the node's cache line. It also drops the two base indexes (8 bytes a node), and a
//! leaf takes 3 bytes when the value ids allow (see [`LeafCode`]).
//!
//! A lookup answers a packed leaf: the matched prefix's value id (below 2^23) and
//! length in a `u32` (see [`unpack`]); [`MISS`] means no prefix matched. The
//! structure is an array of `u32` direct entries and a byte heap, so it can be saved
//! and used in place from a memory-mapped file.

mod build;
pub mod view;
mod walk;

use crate::key::Key;
use std::marker::PhantomData;

pub use build::TooBig;

/// A node's flag in a direct entry (the rest is the node's offset in the heap).
const NODE: u32 = 1 << 31;
/// The leaf of an address that no prefix covers.
pub const MISS: u32 = 0x7FFF_FFFF;
/// Value ids may be at most this (23 bits), so a leaf never looks like [`NODE`].
pub const MAX_ID: u32 = (1 << 23) - 1;
const STRIDE: u8 = 6;
/// A node's two bitmaps: `vector` then `leafvec`.
const HEADER: usize = 16;

/// A leaf as its value id and prefix length.
#[inline(always)]
pub(crate) fn pack(id: u32, len: u8) -> u32 {
    id << 8 | len as u32
}

/// The prefix length and value id of a leaf, `None` for [`MISS`].
#[inline(always)]
pub fn unpack(leaf: u32) -> Option<(u8, u32)> {
    (leaf != MISS).then_some(((leaf & 0xFF) as u8, leaf >> 8))
}

/// [`unpack`] without a branch, for loops over many leaves (where hits and misses
/// can alternate at random): whether the leaf matched, then its length and value id,
/// both 0 for a miss.
#[inline(always)]
pub fn split(leaf: u32) -> (bool, u8, u32) {
    let hit = leaf != MISS;
    let leaf = if hit { leaf } else { 0 };
    (hit, (leaf & 0xFF) as u8, leaf >> 8)
}

/// How leaves are stored in the heap: `bytes` (3 or 4) little-endian bytes holding
/// `id << len_bits | len`, all ones for a miss. Three bytes fit the ids of any real
/// routing table (ids below 2^18 - 1 for IPv4, whose lengths need 6 bits; below
/// 2^16 - 1 for IPv6); a table with more values takes 4. These two
/// ([`LeafCode::narrow`] and [`LeafCode::WIDE`]) are the only codes: a build makes
/// nothing else, and [`view`] refuses anything else in saved bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeafCode {
    bytes: u8,
    len_bits: u8,
    /// All ones in `bytes` bytes (kept, since every decode needs it).
    mask: u32,
}

impl LeafCode {
    /// The narrowest code for ids of family `K` up to `max_id`: one of the two below.
    fn for_ids<K: Key>(max_id: u32) -> Self {
        let narrow = Self::narrow::<K>();
        match (max_id as u64) < (1 << (24 - narrow.len_bits)) - 1 {
            true => narrow,
            false => Self::WIDE,
        }
    }

    /// Three bytes, with just enough bits for the lengths of family `K` (6 for IPv4,
    /// 8 for IPv6).
    pub(crate) const fn narrow<K: Key>() -> Self {
        Self::new(3, (u8::BITS - K::BITS.leading_zeros()) as u8)
    }

    /// Four bytes: a packed leaf as it is.
    pub(crate) const WIDE: Self = Self::new(4, 8);

    /// The code of `bytes` bytes with `len_bits` for the length.
    const fn new(bytes: u8, len_bits: u8) -> Self {
        LeafCode {
            bytes,
            len_bits,
            mask: u32::MAX >> (32 - 8 * bytes as u32),
        }
    }

    /// A packed leaf as stored.
    fn encode(self, leaf: u32) -> u32 {
        match unpack(leaf) {
            None => self.mask,
            Some((len, id)) => id << self.len_bits | len as u32,
        }
    }

    /// A stored leaf (the 4 bytes at its place) as a packed leaf.
    #[inline(always)]
    fn decode(self, word: u32) -> u32 {
        let x = word & self.mask;
        if x == self.mask {
            return MISS;
        }
        (x >> self.len_bits) << 8 | (x & ((1 << self.len_bits) - 1))
    }
}

/// A compiled longest-prefix-match table for one family.
pub struct Poptrie<K: Key> {
    direct_bits: u8,
    code: LeafCode,
    direct: Vec<u32>,
    heap: Vec<u8>,
    nodes: usize,
    leaves: usize,
    _key: PhantomData<K>,
}

/// Bits of the direct level: 2^18 x 4 bytes = 1 MiB for IPv4, which holds every
/// prefix up to /18 without a node. For IPv6, 12 bits put the nodes' ends at /36,
/// /42 and /48, where most IPv6 prefixes end, so a /48 is a leaf of one node
/// rather than of a node below it: on a table of today's size (230k prefixes, half
/// of them /48) the compiled form takes 196k nodes and 23.8 bytes a prefix with
/// 12 bits against 223k and 26.1 with 14, and batches inside its prefixes ran at
/// 30.8 against 31.8 M/s (41.5 against 43.9 on the 27k prefixes of 2015, where the
/// sizes are equal).
pub fn default_direct_bits<K: Key>() -> u8 {
    if K::BITS == 32 {
        18
    } else {
        12
    }
}

/// A Poptrie over borrowed arrays: an owned [`Poptrie`]'s, or a memory-mapped file's
/// (see [`view`]; lookups check every offset, so even damaged bytes are safe).
#[derive(Copy, Clone)]
pub struct PoptrieRef<'a, K: Key> {
    direct_bits: u8,
    code: LeafCode,
    direct: &'a [u32],
    heap: &'a [u8],
    _key: PhantomData<K>,
}

impl<K: Key> Poptrie<K> {
    /// The arrays as a borrowed view, which does the lookups.
    #[inline(always)]
    pub fn view(&self) -> PoptrieRef<'_, K> {
        PoptrieRef {
            direct_bits: self.direct_bits,
            code: self.code,
            direct: &self.direct,
            heap: &self.heap,
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

    /// Bytes held by the two arrays.
    pub fn nbytes(&self) -> usize {
        self.direct.capacity() * 4 + self.heap.capacity()
    }

    /// Number of nodes and of stored leaves.
    pub fn counts(&self) -> (usize, usize) {
        (self.nodes, self.leaves)
    }

    /// Bytes per stored leaf (3 or 4).
    pub fn leaf_bytes(&self) -> usize {
        self.code.bytes as usize
    }
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

/// The little-endian `u32` at `at`, if the heap holds all four bytes.
#[inline(always)]
fn word(heap: &[u8], at: usize) -> Option<u32> {
    // One comparison (`at + 4` cannot overflow past it): lookups pay it at every step,
    // and it measured 5% faster in batches than a checked range.
    if at >= heap.len().saturating_sub(3) {
        return None;
    }
    Some(u32::from_le_bytes(heap[at..at + 4].try_into().ok()?))
}

/// Where a step from a node leads: a child node's offset, or a leaf.
enum Step {
    Child(u32),
    Leaf(u32),
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
        let e = self.direct[key.bits_at(0, self.direct_bits) as usize];
        if e & NODE == 0 {
            return e;
        }
        let mut at = e & !NODE;
        // The node's second line, where its leaves often spill: asked for now, it
        // arrives with the first instead of after it.
        prefetch(self.heap.as_ptr().wrapping_add((at as usize | 63) + 1));
        let mut off = self.direct_bits;
        // Nodes start above the key's last bit; a deeper one (only in damaged bytes)
        // ends in a miss instead of a loop.
        while off < K::BITS {
            match self.step(at, key.bits_at(off, STRIDE)) {
                Step::Child(c) => at = c,
                Step::Leaf(leaf) => return leaf,
            }
            off += STRIDE;
        }
        MISS
    }

    /// One step down from the node at `at` for the 6-bit slot `v`. Offsets and ranks
    /// are checked where they are used, and the arithmetic wraps, so that bytes mapped
    /// from a file need not be walked before use: damage can give wrong answers (a
    /// miss where an offset is out of range), never a panic or a read out of bounds.
    #[inline(always)]
    fn step(&self, at: u32, v: u32) -> Step {
        let at = at as usize;
        let Some(h) = self.heap.get(at..at.wrapping_add(HEADER)) else {
            return Step::Leaf(MISS);
        };
        let vector = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        let leafvec = u64::from_le_bytes(h[8..].try_into().expect("8 bytes"));
        let bit = 1u64 << v;
        let upto = (bit << 1).wrapping_sub(1); // bits 0..=v
        let first = at + HEADER;
        if vector & bit != 0 {
            let rank = (vector & upto).count_ones() as usize;
            // The child's offset: one out of range (only in damaged bytes) is a miss.
            return match word(self.heap, first + 4 * (rank - 1)) {
                Some(c) if c & NODE == 0 => Step::Child(c),
                _ => Step::Leaf(MISS),
            };
        }
        let children = vector.count_ones() as usize;
        let rank = (leafvec & upto).count_ones() as usize;
        let leaf_at = (rank.wrapping_sub(1))
            .wrapping_mul(self.code.bytes as usize)
            .wrapping_add(first + 4 * children);
        Step::Leaf(self.leaf(leaf_at))
    }

    /// The leaf stored at `at` (a miss if out of range).
    #[inline(always)]
    fn leaf(&self, at: usize) -> u32 {
        word(self.heap, at).map_or(MISS, |w| self.code.decode(w))
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

    /// Dispatches on the leaf code, so that the two a build makes are decoded with
    /// constants (no loads, no variable shifts): batches inside announced IPv4
    /// prefixes ran 8% faster (233 -> 253 M/s), IPv6 3%.
    #[inline(always)]
    fn lookup_many_portable(&self, keys: &[K], out: &mut [u32]) {
        let with = |code| PoptrieRef { code, ..*self };
        match self.code {
            c if c == LeafCode::narrow::<K>() => with(LeafCode::narrow::<K>()).many(keys, out),
            c if c == LeafCode::WIDE => with(LeafCode::WIDE).many(keys, out),
            // Unreachable: builds, `view`'s parse and `empty` make only those two.
            _ => self.many(keys, out),
        }
    }

    #[inline(always)]
    fn many(&self, keys: &[K], out: &mut [u32]) {
        assert_eq!(keys.len(), out.len());
        // The default direct level as a constant makes its index a fixed shift.
        match self.direct_bits {
            18 if K::BITS == 32 => self.many_with::<18>(keys, out),
            14 if K::BITS == 128 => self.many_with::<14>(keys, out),
            _ => self.many_with::<0>(keys, out),
        }
    }

    /// `D`: the direct level's bits, or 0 to read them from `self`.
    #[inline(always)]
    fn many_with<const D: u8>(&self, keys: &[K], out: &mut [u32]) {
        const LANES: usize = 64;
        let d = if D == 0 { self.direct_bits } else { D };
        let hint = self.direct.len() * 4 + self.heap.len() > PREFETCH_ABOVE;
        let groups = keys.len() / LANES;
        for g in 0..groups {
            // The next group's direct entries are asked for now, so that they arrive
            // while this group walks its nodes.
            if hint {
                for k in keys[(g + 1) * LANES..].iter().take(LANES) {
                    let i = k.bits_at(0, d) as usize;
                    prefetch(self.direct.as_ptr().wrapping_add(i));
                }
            }
            let k = keys[g * LANES..][..LANES].try_into().expect("LANES keys");
            let o = (&mut out[g * LANES..][..LANES]).try_into().expect("LANES");
            self.lookup_lanes::<LANES>(k, o, d, hint);
        }
        let done = groups * LANES;
        for (key, slot) in keys[done..].iter().zip(&mut out[done..]) {
            *slot = self.lookup_portable(*key);
        }
    }

    /// `N` lookups advanced level by level together; each pass walks only the lanes
    /// still inside nodes, so lanes that finished early cost nothing. `d` is the
    /// direct level's bits (a constant once inlined, see [`Self::many_with`]). Lane
    /// numbers are masked with `N - 1` where they index, which the compiler sees in
    /// bounds.
    #[inline(always)]
    fn lookup_lanes<const N: usize>(&self, keys: &[K; N], out: &mut [u32; N], d: u8, hint: bool) {
        const { assert!(N.is_power_of_two()) };
        let (entry, mut active, mut live) = (out, [0u8; N], 0);
        // Its length is exactly that (builds and saved views make it so); said here,
        // the compiler sees every index in bounds.
        let direct = &self.direct[..1 << d];
        for i in 0..N {
            entry[i] = direct[keys[i].bits_at(0, d) as usize];
            active[live & (N - 1)] = i as u8;
            live += (entry[i] >> 31) as usize;
        }
        let mut off = d;
        while live > 0 {
            if off >= K::BITS {
                active[..live]
                    .iter()
                    .for_each(|&i| entry[i as usize & (N - 1)] = MISS);
                break;
            }
            // Ask for every live lane's node before working on any: by the time the
            // pass reaches a lane, its node (and the next line, where its leaves may
            // spill) is on its way or there.
            for &i in &active[..live * hint as usize] {
                let at = (entry[i as usize & (N - 1)] & !NODE) as usize;
                prefetch(self.heap.as_ptr().wrapping_add(at));
                prefetch(self.heap.as_ptr().wrapping_add((at | 63) + 1));
            }
            let mut still = 0;
            for j in 0..live {
                let i = active[j] as usize & (N - 1);
                entry[i] = match self.step(entry[i] & !NODE, keys[i].bits_at(off, STRIDE)) {
                    Step::Child(c) => {
                        active[still & (N - 1)] = i as u8;
                        still += 1;
                        NODE | c
                    }
                    Step::Leaf(leaf) => leaf,
                };
            }
            live = still;
            off += STRIDE;
        }
    }
}

/// Batches over a table of at most this many bytes do not prefetch: such a table
/// stays in the L2 cache (1-2 MiB a core on current x86-64), where the prefetch
/// instructions are pure cost. The 2015 IPv6 table (0.64 MB) ran at 48.7 M/s with
/// them and 53.8 M/s without; the full IPv4 table (3 MB) needs them.
const PREFETCH_ABOVE: usize = 1 << 20;

/// Ask for the cache line at `p`. A prefetch never faults, so `p` may point anywhere
/// (lookups in damaged bytes ask for lines past the end; it is only a hint).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching only hints the cache and never faults.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests;
