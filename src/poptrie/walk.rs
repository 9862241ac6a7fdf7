//! The prefixes a compiled trie answers with, read back from its leaves: what a
//! history needs of the tables that a one-date file keeps only compiled (the RIR
//! blocks).

use super::{unpack, PoptrieRef, Step, NODE, STRIDE};
use crate::key::{Key, Prefix};

impl<K: Key> PoptrieRef<'_, K> {
    /// Every `(prefix, id)` that is some address's longest match, sorted. A prefix
    /// that more specific ones cover entirely answers no address and is not there;
    /// so a trie built from this list answers every address as this one does.
    ///
    /// The walk visits each node once in a trie a build made; damaged bytes (nodes
    /// shared or looping) stop it after as many nodes as the heap can hold.
    pub fn prefixes(&self) -> Vec<(Prefix<K>, u32)> {
        let mut walk = Walk {
            trie: self,
            out: Vec::new(),
            budget: self.heap.len() / super::HEADER + 1,
        };
        for (i, &e) in self.direct.iter().enumerate() {
            let base = place(K::ZERO, 0, self.direct_bits, i as u32);
            match e & NODE {
                0 => walk.leaf(base, e),
                _ => walk.node(e & !NODE, base, self.direct_bits),
            }
        }
        let mut out = walk.out;
        out.sort_unstable();
        out.dedup();
        out
    }
}

struct Walk<'t, 'a, K: Key> {
    trie: &'t PoptrieRef<'a, K>,
    out: Vec<(Prefix<K>, u32)>,
    budget: usize,
}

impl<K: Key> Walk<'_, '_, K> {
    fn leaf(&mut self, addr: K, leaf: u32) {
        let Some((len, id)) = unpack(leaf) else {
            return;
        };
        if let Some(p) = Prefix::new_masked(addr, len) {
            // Runs of one prefix's leaves are many; keep the list short as it grows.
            if self.out.last() != Some(&(p, id)) {
                self.out.push((p, id));
            }
        }
    }

    fn node(&mut self, at: u32, base: K, off: u8) {
        if off >= K::BITS || self.budget == 0 {
            return;
        }
        self.budget -= 1;
        // Past the key's end the slot's low bits read as zero (see the lookup), so
        // only the slots whose dropped bits are zero are reachable.
        let width = STRIDE.min(K::BITS - off);
        for v in 0..1u32 << width {
            let slot = v << (STRIDE - width);
            let addr = place(base, off, width, v);
            match self.trie.step(at, slot) {
                Step::Child(c) => self.node(c, addr, off + STRIDE),
                Step::Leaf(leaf) => self.leaf(addr, leaf),
            }
        }
    }
}

/// `base` with bits `off..off+width` set to `value`.
fn place<K: Key>(base: K, off: u8, width: u8, value: u32) -> K {
    match width {
        0 => base,
        w => base.with_bits(off, w, value),
    }
}

#[cfg(test)]
mod tests {
    use crate::key::Prefix;
    use crate::poptrie::Poptrie;
    use proptest::prelude::*;

    fn check<K: crate::key::Key>(items: Vec<(Prefix<K>, u32)>, direct: u8, probes: &[K]) {
        let trie = Poptrie::build(&items, direct).unwrap();
        let back = trie.view().prefixes();
        assert!(back.windows(2).all(|w| w[0] < w[1]));
        let again = Poptrie::build(&back, direct).unwrap();
        for &k in probes {
            assert_eq!(trie.lookup(k), again.lookup(k), "{k:?}");
        }
        // Every prefix read back is one of the trie's.
        for (p, id) in &back {
            assert!(items.contains(&(*p, *id)), "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn read_back_prefixes_answer_as_the_trie(
            raw in prop::collection::vec((any::<u32>(), 0u8..=32, 0u32..50), 0..60),
            probes in prop::collection::vec(any::<u32>(), 200),
            direct in prop::sample::select(vec![1u8, 4, 8, 16, 18]),
        ) {
            let mut items: Vec<(Prefix<u32>, u32)> = raw
                .into_iter()
                .map(|(a, l, v)| (Prefix::new_masked(a, l).unwrap(), v))
                .collect();
            items.sort();
            items.dedup_by_key(|(p, _)| *p);
            // Probes inside each prefix and at its ends, as well as at random.
            let mut keys = probes;
            keys.extend(items.iter().flat_map(|(p, _)| [p.addr(), p.last()]));
            check(items, direct, &keys);
        }

        #[test]
        fn read_back_ipv6_prefixes_answer_as_the_trie(
            raw in prop::collection::vec((any::<u128>(), 0u8..=128, 0u32..50), 0..40),
            probes in prop::collection::vec(any::<u128>(), 200),
        ) {
            let mut items: Vec<(Prefix<u128>, u32)> = raw
                .into_iter()
                .map(|(a, l, v)| (Prefix::new_masked(a, l).unwrap(), v))
                .collect();
            items.sort();
            items.dedup_by_key(|(p, _)| *p);
            let mut keys = probes;
            keys.extend(items.iter().flat_map(|(p, _)| [p.addr(), p.last()]));
            check(items, 14, &keys);
        }
    }
}
