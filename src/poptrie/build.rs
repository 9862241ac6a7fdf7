//! Building a [`Poptrie`] from prefixes in address order.
//!
//! Within any range of addresses, painting the prefixes onto slots in address order
//! (a shorter prefix first at one address) leaves each slot with its longest match:
//! a prefix always comes after every prefix that contains it. So each level paints
//! its short prefixes, and groups the longer ones (contiguous in address order) by
//! slot into child nodes, which inherit the slot's match as their default.

use super::{pack, Node, Poptrie, MAX_ID, MISS, NODE, STRIDE};
use crate::key::{Key, Prefix};
use std::fmt;
use std::marker::PhantomData;

/// A value id does not fit a leaf (more than 2^23 distinct values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyValues;

impl fmt::Display for TooManyValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "value ids must be below {}", super::MAX_ID)
    }
}

struct Builder {
    nodes: Vec<Node>,
    leaves: Vec<u32>,
}

impl<K: Key> Poptrie<K> {
    /// Build from `(prefix, value id)` pairs in address order (as the tree bitmap
    /// iterates), with a direct level of `direct_bits` bits (at most 24).
    pub fn build(items: &[(Prefix<K>, u32)], direct_bits: u8) -> Result<Self, TooManyValues> {
        assert!((1..=24).contains(&direct_bits) && direct_bits <= K::BITS);
        if items.iter().any(|(_, id)| *id > MAX_ID) {
            return Err(TooManyValues);
        }
        let mut direct = vec![MISS; 1 << direct_bits];
        let mut b = Builder {
            nodes: Vec::new(),
            leaves: Vec::new(),
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
            // Nodes are placed one at a time here; a node's children are contiguous.
            let index = b.nodes.len() as u32;
            b.nodes.push(Node::default());
            let node = b.node(group, direct_bits, direct[slot]);
            b.nodes[index as usize] = node;
            direct[slot] = NODE | index;
        }
        // The arrays grew by doubling; a table lives long, so give back the slack.
        b.nodes.shrink_to_fit();
        b.leaves.shrink_to_fit();
        Ok(Poptrie {
            direct_bits,
            direct,
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
    /// The node for `items` (all longer than `off`, all inside one slot of the level
    /// above), whose slots default to `default`. Its children are placed in `nodes`.
    fn node<K: Key>(&mut self, items: &[(Prefix<K>, u32)], off: u8, default: u32) -> Node {
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
        let mut node = Node {
            base1: self.nodes.len() as u32,
            base0: self.leaves.len() as u32,
            ..Node::default()
        };
        for g in &children {
            node.vector |= 1 << g[0].0.addr().bits_at(off, STRIDE);
        }
        // Leaves first (so that this node's leaves are contiguous), then the children.
        for v in 0..64 {
            if node.vector & (1 << v) != 0 {
                continue;
            }
            let starts_run =
                v == 0 || node.vector & (1 << (v - 1)) != 0 || slots[v] != slots[v - 1];
            if starts_run {
                node.leafvec |= 1 << v;
                self.leaves.push(slots[v]);
            }
        }
        self.nodes
            .extend(std::iter::repeat_n(Node::default(), children.len()));
        for (i, g) in children.iter().enumerate() {
            let slot = g[0].0.addr().bits_at(off, STRIDE) as usize;
            let child = self.node(g, end, slots[slot]);
            self.nodes[node.base1 as usize + i] = child;
        }
        node
    }
}
