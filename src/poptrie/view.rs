//! Saving a Poptrie's arrays as bytes and using saved bytes in place again.
//!
//! Layout (little-endian): `direct_bits, direct len, heap len, leaf code` as four
//! `u32` (the code is the leaf's bytes plus its length bits times 256), then the
//! direct entries, then the heap.
//!
//! Lookups check every offset they follow and stop at the maximum depth, so any bytes
//! are safe to look up in: [`PoptrieRef::from_bytes_unwalked`] reads only the header.
//! [`PoptrieRef::from_bytes`] also walks the nodes and checks what keeps them a
//! tree: nodes laid out in the order a build writes them (so the walk is linear), no
//! deeper than a key is long, every leaf slot in a run, every leaf a miss or a valid
//! length. It does not check everything a build guarantees (that neighbouring runs
//! differ, say); the database opens files unwalked and relies on its checksum.

use super::{LeafCode, Poptrie, PoptrieRef, HEADER, MISS, NODE, STRIDE};
use crate::key::Key;
use bytemuck::{cast_slice, try_cast_slice};
use std::marker::PhantomData;

const HEAD: usize = 16;

impl<K: Key> Poptrie<K> {
    /// The arrays as bytes (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for n in [
            self.direct_bits as u32,
            self.direct.len() as u32,
            self.heap.len() as u32,
            code_word(self.code),
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(cast_slice(&self.direct));
        out.extend_from_slice(&self.heap);
        out
    }
}

impl<'a, K: Key> PoptrieRef<'a, K> {
    /// A view of saved bytes, which must start 4-byte aligned; an error says what is
    /// wrong with them.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, String> {
        let view = Self::parse(bytes)?;
        view.validate()?;
        Ok(view)
    }

    /// A view of saved bytes in constant time: the header and the array sizes are
    /// checked, the arrays are not walked. Lookups check every offset they follow,
    /// so any bytes are safe to use; damaged ones can only give wrong answers (the
    /// database's checksum is what catches those).
    pub fn from_bytes_unwalked(bytes: &'a [u8]) -> Result<Self, String> {
        Self::parse(bytes)
    }

    /// A table that matches nothing.
    pub fn empty() -> Self {
        static NOTHING: [u32; 2] = [MISS; 2];
        PoptrieRef {
            direct_bits: 1,
            code: LeafCode::WIDE,
            direct: &NOTHING,
            heap: &[],
            _key: PhantomData,
        }
    }

    /// The header read and the arrays cut out, not yet validated.
    fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        if !cfg!(target_endian = "little") {
            return Err("compiled tables are little-endian; this machine is not".into());
        }
        let head: &[u32] = bytes
            .get(..HEAD)
            .and_then(|h| try_cast_slice(h).ok())
            .ok_or("compiled table too short or misaligned")?;
        let (direct_bits, n_direct, n_heap, code) =
            (head[0], head[1] as usize, head[2] as usize, head[3]);
        if direct_bits == 0
            || direct_bits > 24
            || direct_bits > K::BITS as u32
            || n_direct != 1 << direct_bits
        {
            return Err(format!(
                "bad direct level: {direct_bits} bits, {n_direct} entries"
            ));
        }
        // One of the two codes a build makes (lookups decode them with constants).
        let code = [LeafCode::narrow::<K>(), LeafCode::WIDE]
            .into_iter()
            .find(|&c| code_word(c) == code)
            .ok_or_else(|| format!("bad leaf code: {code:#x}"))?;
        let heap_at = HEAD + 4 * n_direct;
        let end = heap_at.checked_add(n_heap).ok_or("heap size overflows")?;
        if end != bytes.len() || n_heap >= NODE as usize {
            return Err(format!(
                "compiled table is {} bytes, its counts say {end}",
                bytes.len()
            ));
        }
        Ok(PoptrieRef {
            direct_bits: direct_bits as u8,
            code,
            direct: try_cast_slice(&bytes[HEAD..heap_at])
                .map_err(|e| format!("misaligned compiled table: {e:?}"))?,
            heap: &bytes[heap_at..end],
            _key: PhantomData,
        })
    }

    fn validate(&self) -> Result<(), String> {
        let mut next = 0; // where the build would have written the next node
        for (i, &e) in self.direct.iter().enumerate() {
            if e & NODE == 0 {
                self.check_leaf(e)
                    .map_err(|l| format!("direct entry {i}: {l}"))?;
            } else if e & !NODE != next {
                return Err(format!(
                    "direct entry {i} points to {}, not {next}",
                    e & !NODE
                ));
            } else {
                next = self.check_node(next, self.direct_bits)?;
            }
        }
        match next + 1 == self.heap.len() as u32 {
            true => Ok(()),
            false => Err(format!(
                "nodes end at {next}, the heap at {}",
                self.heap.len()
            )),
        }
    }

    fn check_leaf(&self, leaf: u32) -> Result<(), String> {
        match leaf == MISS || (leaf & NODE == 0 && (leaf & 0xFF) as u8 <= K::BITS) {
            true => Ok(()),
            false => Err(format!("{leaf:#x} is not a valid leaf")),
        }
    }

    /// Check the node at `at` (for the bits at `off`) and its children; returns where
    /// its subtree ends.
    fn check_node(&self, at: u32, off: u8) -> Result<u32, String> {
        let fail = |what: &str| format!("node at {at}: {what}");
        if off >= K::BITS {
            return Err(fail("deeper than a key"));
        }
        let start = at as usize;
        let Some(h) = self.heap.get(start..start + HEADER) else {
            return Err(fail("past the heap"));
        };
        let vector = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        let leafvec = u64::from_le_bytes(h[8..].try_into().expect("8 bytes"));
        // Every leaf slot needs a run start at or below it, else its rank is -1.
        let first_leaf = (!vector).trailing_zeros();
        if first_leaf < 64 && leafvec & (1 << first_leaf) == 0 {
            return Err(fail("leaf runs do not start at its first leaf"));
        }
        let children = vector.count_ones() as usize;
        let leaves_at = start + HEADER + 4 * children;
        let end = leaves_at + leafvec.count_ones() as usize * self.code.bytes as usize;
        if end >= self.heap.len() {
            return Err(fail("leaves past the heap"));
        }
        for i in 0..leafvec.count_ones() as usize {
            let leaf = self.leaf(leaves_at + i * self.code.bytes as usize);
            self.check_leaf(leaf).map_err(|e| fail(&e))?;
        }
        let mut next = end as u32;
        for i in 0..children {
            let child = super::word(self.heap, start + HEADER + 4 * i).expect("in the heap");
            if child != next {
                return Err(fail(&format!("child {i} at {child}, not {next}")));
            }
            next = self.check_node(child, off + STRIDE)?;
        }
        Ok(next)
    }
}

/// A leaf code as saved: its bytes, plus its length bits times 256.
fn code_word(c: LeafCode) -> u32 {
    c.bytes as u32 | (c.len_bits as u32) << 8
}
