//! A tree bitmap (Eatherton, Varghese & Dittia, 2004) with 4-bit strides, stored
//! "pointer-free": every node lives in one flat array and refers to its children and
//! to its prefixes' values by `u32` index.
//!
//! A node at depth `d` sits below the first `4d` bits of an address and holds:
//! - `internal`: a 31-bit bitmap of the prefixes of length `4d + r` (r = 0..=4) stored
//!   in it; the prefix whose `r` bits after the first `4d` are `b` is bit `2^r - 1 + b`.
//!   Only the root uses `r = 0` (the default route): elsewhere a length of `4d` is the
//!   parent's `r = 4`. Storing `r = 4` in the node itself (rather than Eatherton's
//!   `r = 0` in the child) keeps a /24 in the /20's node, so a full IPv4 table needs no
//!   node per /24 group.
//! - `external`: a 16-bit bitmap of the children, one per value of the next 4 bits.
//! - `children` / `values`: where its children and its prefixes' values start in the
//!   two arenas. The i-th set bit of a bitmap is at `start + i`, so the rank is a popcount.
//!
//! An IPv4 lookup visits at most 8 nodes and an IPv6 lookup at most 32.

mod arena;
mod iter;

use crate::key::{Key, Prefix};
use arena::Arena;
pub use iter::Iter;
use std::marker::PhantomData;

const STRIDE: u8 = 4;
/// The root is always node 0.
const ROOT: u32 = 0;

#[derive(Copy, Clone, Default, Debug)]
struct Node {
    internal: u32,
    external: u16,
    children: u32,
    values: u32,
}

/// Bit of the prefix whose `r` bits inside the stride are `bits`.
#[inline(always)]
const fn bit_pos(r: u8, bits: u32) -> u32 {
    (1 << r) - 1 + bits
}

/// The stride length `r` of an internal-bitmap position.
#[inline(always)]
const fn r_of(pos: u32) -> u8 {
    (31 - (pos + 1).leading_zeros()) as u8
}

/// For each value of the next 4 bits, the internal-bitmap positions of every prefix
/// in a node that contains them: a node's longest match is its highest such bit.
const MATCHES: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut chunk = 0;
    while chunk < 16 {
        let mut r = 0;
        while r <= STRIDE {
            table[chunk] |= 1 << bit_pos(r, (chunk as u32) >> (STRIDE - r));
            r += 1;
        }
        chunk += 1;
    }
    table
};

/// The internal-bitmap positions with `r <= max_r`.
#[inline(always)]
const fn up_to_r(max_r: u8) -> u32 {
    (1u32 << ((2u32 << max_r) - 1)) - 1
}

#[inline(always)]
fn below(bit: u32) -> u32 {
    (1u32 << bit) - 1
}

/// Depth of the node that stores a prefix of length `len`, and its stride length `r`.
#[inline(always)]
fn home(len: u8) -> (u8, u8) {
    if len == 0 {
        (0, 0)
    } else {
        let depth = (len - 1) / STRIDE;
        (depth, len - depth * STRIDE)
    }
}

/// A longest-prefix-match table for one address family.
pub struct TreeBitmap<K: Key, V: Copy + Default> {
    nodes: Arena<Node>,
    values: Arena<V>,
    len: usize,
    _key: PhantomData<K>,
}

impl<K: Key, V: Copy + Default> Default for TreeBitmap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Key, V: Copy + Default> TreeBitmap<K, V> {
    pub fn new() -> Self {
        let mut nodes = Arena::new();
        let root = nodes.alloc(1);
        debug_assert_eq!(root, ROOT);
        TreeBitmap {
            nodes,
            values: Arena::new(),
            len: 0,
            _key: PhantomData,
        }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of nodes in use (the root included).
    pub fn node_count(&self) -> usize {
        self.nodes.live()
    }

    /// Bytes held by the two arenas (spare capacity and free blocks included).
    pub fn nbytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.nodes.nbytes() + self.values.nbytes()
    }

    /// Remove every prefix.
    pub fn clear(&mut self) {
        self.nodes.clear();
        self.values.clear();
        self.nodes.alloc(1);
        self.len = 0;
    }

    #[inline(always)]
    fn node(&self, i: u32) -> &Node {
        self.nodes.get(i)
    }

    /// The child of `node` for the 4-bit `chunk`, if there is one.
    #[inline(always)]
    fn child(&self, node: &Node, chunk: u32) -> Option<u32> {
        (node.external & (1 << chunk) != 0)
            .then(|| node.children + (node.external as u32 & below(chunk)).count_ones())
    }

    #[inline(always)]
    fn value_at(&self, node: &Node, pos: u32) -> V {
        *self
            .values
            .get(node.values + (node.internal & below(pos)).count_ones())
    }

    /// The node that stores prefixes of `depth` on the path of `addr`, if it exists.
    fn find_node(&self, addr: K, depth: u8) -> Option<u32> {
        let mut n = ROOT;
        for d in 0..depth {
            n = self.child(self.node(n), addr.bits_at(d * STRIDE, STRIDE))?;
        }
        Some(n)
    }

    /// Where a prefix lives: its home node's depth and its internal-bitmap position.
    fn locate(prefix: &Prefix<K>) -> (u8, u32) {
        let (depth, r) = home(prefix.prefix_len());
        let bits = if r == 0 {
            0
        } else {
            prefix.addr().bits_at(depth * STRIDE, r)
        };
        (depth, bit_pos(r, bits))
    }

    /// The longest prefix that contains `addr`: its length and value.
    #[inline]
    pub fn longest_match(&self, addr: K) -> Option<(u8, V)> {
        let mut node = self.node(ROOT);
        let mut depth = 0u8;
        let mut best = None;
        loop {
            let chunk = addr.bits_at(depth * STRIDE, STRIDE);
            let m = node.internal & MATCHES[chunk as usize];
            if m != 0 {
                let pos = 31 - m.leading_zeros();
                best = Some((depth * STRIDE + r_of(pos), self.value_at(node, pos)));
            }
            match self.child(node, chunk) {
                Some(c) => node = self.node(c),
                None => return best,
            }
            depth += 1;
        }
    }

    /// The longest match, as a prefix and its value.
    pub fn longest_match_prefix(&self, addr: K) -> Option<(Prefix<K>, V)> {
        self.longest_match(addr)
            .map(|(len, v)| (Prefix::new_masked(addr, len).expect("len <= BITS"), v))
    }

    /// Every prefix that contains `prefix` (itself included), shortest first.
    pub fn covering(&self, prefix: &Prefix<K>) -> Vec<(Prefix<K>, V)> {
        let mut out = Vec::new();
        self.walk_covering(prefix, |p, v| out.push((p, v)));
        out
    }

    /// The longest prefix that contains `prefix` (itself included).
    pub fn longest_covering(&self, prefix: &Prefix<K>) -> Option<(Prefix<K>, V)> {
        let mut best = None;
        self.walk_covering(prefix, |p, v| best = Some((p, v)));
        best
    }

    /// Calls `f` on every prefix that contains `prefix`, shortest first.
    fn walk_covering(&self, prefix: &Prefix<K>, mut f: impl FnMut(Prefix<K>, V)) {
        let (addr, len) = (prefix.addr(), prefix.prefix_len());
        let mut n = ROOT;
        let mut depth = 0u8;
        loop {
            let node = self.node(n);
            let chunk = addr.bits_at(depth * STRIDE, STRIDE);
            let max_r = (len - depth * STRIDE).min(STRIDE);
            let mut m = node.internal & MATCHES[chunk as usize] & up_to_r(max_r);
            while m != 0 {
                let pos = m.trailing_zeros();
                let found = Prefix::new_masked(addr, depth * STRIDE + r_of(pos));
                f(found.expect("len <= BITS"), self.value_at(node, pos));
                m &= m - 1;
            }
            // The children hold lengths from 4(depth+1)+1 on.
            if len <= (depth + 1) * STRIDE {
                return;
            }
            match self.child(node, chunk) {
                Some(c) => n = c,
                None => return,
            }
            depth += 1;
        }
    }

    /// The value stored for exactly `prefix`.
    pub fn exact(&self, prefix: &Prefix<K>) -> Option<V> {
        let (depth, pos) = Self::locate(prefix);
        let node = self.node(self.find_node(prefix.addr(), depth)?);
        (node.internal & (1 << pos) != 0).then(|| self.value_at(node, pos))
    }

    /// Insert or replace; returns the value replaced.
    pub fn insert(&mut self, prefix: &Prefix<K>, value: V) -> Option<V> {
        let (depth, pos) = Self::locate(prefix);
        let mut n = ROOT;
        for d in 0..depth {
            n = self.child_or_new(n, prefix.addr().bits_at(d * STRIDE, STRIDE));
        }
        let node = *self.node(n);
        let rank = (node.internal & below(pos)).count_ones();
        if node.internal & (1 << pos) != 0 {
            let slot = self.values.get_mut(node.values + rank);
            return Some(std::mem::replace(slot, value));
        }
        let count = node.internal.count_ones() as usize;
        let start = self.values.grow(node.values, count, rank as usize, value);
        let node = self.nodes.get_mut(n);
        node.values = start;
        node.internal |= 1 << pos;
        self.len += 1;
        None
    }

    /// The child of node `n` for `chunk`, created if missing.
    fn child_or_new(&mut self, n: u32, chunk: u32) -> u32 {
        let node = *self.node(n);
        if let Some(c) = self.child(&node, chunk) {
            return c;
        }
        let rank = (node.external as u32 & below(chunk)).count_ones();
        let count = node.external.count_ones() as usize;
        let start = self
            .nodes
            .grow(node.children, count, rank as usize, Node::default());
        let parent = self.nodes.get_mut(n);
        parent.children = start;
        parent.external |= 1 << chunk;
        start + rank
    }

    /// Remove exactly `prefix`; returns its value. Nodes left empty are freed.
    pub fn remove(&mut self, prefix: &Prefix<K>) -> Option<V> {
        let (depth, pos) = Self::locate(prefix);
        // The path from the root: (node, chunk taken from it).
        let mut path: Vec<(u32, u32)> = Vec::with_capacity(depth as usize);
        let mut n = ROOT;
        for d in 0..depth {
            let chunk = prefix.addr().bits_at(d * STRIDE, STRIDE);
            let next = self.child(self.node(n), chunk)?;
            path.push((n, chunk));
            n = next;
        }
        let node = *self.node(n);
        if node.internal & (1 << pos) == 0 {
            return None;
        }
        let rank = (node.internal & below(pos)).count_ones();
        let old = *self.values.get(node.values + rank);
        let count = node.internal.count_ones() as usize;
        let start = self.values.shrink(node.values, count, rank as usize);
        let node = self.nodes.get_mut(n);
        node.values = start;
        node.internal &= !(1 << pos);
        self.len -= 1;
        self.prune(n, path);
        Some(old)
    }

    /// Free node `n` and then its ancestors while they hold nothing.
    fn prune(&mut self, mut n: u32, mut path: Vec<(u32, u32)>) {
        while let Some((parent, chunk)) = path.pop() {
            let node = self.node(n);
            if node.internal != 0 || node.external != 0 {
                return;
            }
            let p = *self.node(parent);
            let rank = (p.external as u32 & below(chunk)).count_ones();
            let count = p.external.count_ones() as usize;
            let start = self.nodes.shrink(p.children, count, rank as usize);
            let p = self.nodes.get_mut(parent);
            p.children = start;
            p.external &= !(1 << chunk);
            n = parent;
        }
    }

    /// Every prefix and value, in address order (a shorter prefix first at one address).
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(self, Prefix::new(K::ZERO, 0).expect("/0 is valid"))
    }

    /// Every prefix inside `prefix` (itself included), in address order.
    pub fn covered(&self, prefix: &Prefix<K>) -> Iter<'_, K, V> {
        Iter::new(self, *prefix)
    }
}

#[cfg(test)]
mod tests;
