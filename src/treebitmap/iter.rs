//! In-order traversal of a tree bitmap, from any prefix down.
//!
//! Address order (network address, then length) falls out of visiting each node's 16
//! chunks in turn: for chunk `c`, first the node's own prefixes that start at `c`
//! (shortest first), then the subtree of the child for `c`, whose prefixes all start
//! inside `c` and are longer.

use super::{bit_pos, Node, TreeBitmap, STRIDE};
use crate::key::{Key, Prefix};

struct Frame<K> {
    node: u32,
    depth: u8,
    /// The address bits above this node (the rest zero).
    base: K,
    /// The next chunk to visit and the end of the range to visit.
    chunk: u32,
    end: u32,
    /// Only the node's prefixes with at least this stride length are inside the range.
    min_r: u8,
}

/// Iterator over `(prefix, value)` in address order; see [`TreeBitmap::iter`].
pub struct Iter<'a, K: Key, V: Copy + Default> {
    tree: &'a TreeBitmap<K, V>,
    stack: Vec<Frame<K>>,
    /// Prefixes of the current chunk, longest first, so that `pop` yields the shortest.
    pending: Vec<(Prefix<K>, V)>,
}

impl<'a, K: Key, V: Copy + Default> Iter<'a, K, V> {
    /// Everything inside `top`.
    pub(super) fn new(tree: &'a TreeBitmap<K, V>, top: Prefix<K>) -> Self {
        let mut it = Iter {
            tree,
            stack: Vec::new(),
            pending: Vec::new(),
        };
        let (depth, r) = super::home(top.prefix_len());
        if let Some(node) = tree.find_node(top.addr(), depth) {
            // Inside its home node, `top` spans the chunks that start with its r bits.
            let bits = if r == 0 {
                0
            } else {
                top.addr().bits_at(depth * STRIDE, r)
            };
            let chunk = bits << (STRIDE - r);
            let end = chunk + (1 << (STRIDE - r));
            let base = top.addr().masked(depth * STRIDE);
            it.stack.push(Frame {
                node,
                depth,
                base,
                chunk,
                end,
                min_r: r,
            });
        }
        it
    }

    /// Queue the node's prefixes that start at `chunk` and push the child for it.
    fn visit(&mut self, node: &Node, frame_depth: u8, base: K, chunk: u32, min_r: u8) {
        let start = base.with_bits(frame_depth * STRIDE, STRIDE, chunk);
        for r in (min_r..=STRIDE).rev() {
            let step = STRIDE - r;
            if chunk & ((1 << step) - 1) != 0 {
                continue;
            }
            let pos = bit_pos(r, chunk >> step);
            if node.internal & (1 << pos) != 0 {
                let prefix = Prefix::new(start, frame_depth * STRIDE + r).expect("masked");
                self.pending.push((prefix, self.tree.value_at(node, pos)));
            }
        }
        if let Some(c) = self.tree.child(node, chunk) {
            let child = Frame {
                node: c,
                depth: frame_depth + 1,
                base: start,
                chunk: 0,
                end: 1 << STRIDE,
                min_r: 1,
            };
            self.stack.push(child);
        }
    }
}

impl<K: Key, V: Copy + Default> Iterator for Iter<'_, K, V> {
    type Item = (Prefix<K>, V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop() {
                return Some(item);
            }
            let frame = self.stack.last_mut()?;
            if frame.chunk == frame.end {
                self.stack.pop();
                continue;
            }
            let chunk = frame.chunk;
            frame.chunk += 1;
            let (node, depth, base, min_r) = (frame.node, frame.depth, frame.base, frame.min_r);
            let node = *self.tree.node(node);
            self.visit(&node, depth, base, chunk, min_r);
        }
    }
}
