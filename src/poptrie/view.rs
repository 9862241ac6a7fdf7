//! Saving a Poptrie's arrays as bytes and using saved bytes in place again.
//!
//! Layout (little-endian): `direct_bits, direct len, node count, leaf count` as four
//! `u32`, then the direct entries, padding to 8 bytes, the 24-byte nodes, the leaves.
//!
//! Lookups check every index they follow and stop at the maximum depth, so any bytes
//! are safe to look up in: [`PoptrieRef::from_bytes_unwalked`] reads only the header.
//! [`PoptrieRef::from_bytes`] also walks the arrays and refuses any that a sound
//! build could not have made (node indexes and leaf runs in range, children after
//! their parent, every leaf a miss or a valid length).

use super::{Node, Poptrie, PoptrieRef, MISS, NODE};
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
            self.nodes.len() as u32,
            self.leaves.len() as u32,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(cast_slice(&self.direct));
        out.resize(out.len().div_ceil(8) * 8, 0);
        out.extend_from_slice(cast_slice(&self.nodes));
        out.extend_from_slice(cast_slice(&self.leaves));
        out
    }
}

fn cast<T: bytemuck::Pod>(bytes: &[u8]) -> Result<&[T], String> {
    try_cast_slice(bytes).map_err(|e| format!("misaligned compiled table: {e:?}"))
}

impl<'a, K: Key> PoptrieRef<'a, K> {
    /// A view of saved bytes, which must start 8-byte aligned; an error says what is
    /// wrong with them.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, String> {
        let view = Self::parse(bytes)?;
        view.validate()?;
        Ok(view)
    }

    /// A view of saved bytes in constant time: the header and the array sizes are
    /// checked, the arrays are not walked. Lookups check every index they follow,
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
            direct: &NOTHING,
            nodes: &[],
            leaves: &[],
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
            .ok_or("compiled table too short")?;
        let (direct_bits, n_direct, n_nodes, n_leaves) = (
            head[0],
            head[1] as usize,
            head[2] as usize,
            head[3] as usize,
        );
        if direct_bits == 0
            || direct_bits > 24
            || direct_bits > K::BITS as u32
            || n_direct != 1 << direct_bits
        {
            return Err(format!(
                "bad direct level: {direct_bits} bits, {n_direct} entries"
            ));
        }
        let nodes_at = (HEAD + 4 * n_direct).div_ceil(8) * 8;
        let leaves_at = n_nodes
            .checked_mul(24)
            .and_then(|n| n.checked_add(nodes_at))
            .ok_or("node count overflows")?;
        let end = n_leaves
            .checked_mul(4)
            .and_then(|n| n.checked_add(leaves_at))
            .ok_or("leaf count overflows")?;
        if end != bytes.len() {
            return Err(format!(
                "compiled table is {} bytes, its counts say {end}",
                bytes.len()
            ));
        }
        let view = PoptrieRef {
            direct_bits: direct_bits as u8,
            direct: cast(&bytes[HEAD..HEAD + 4 * n_direct])?,
            nodes: cast::<Node>(&bytes[nodes_at..leaves_at])?,
            leaves: cast(&bytes[leaves_at..end])?,
            _key: PhantomData,
        };
        Ok(view)
    }

    fn validate(&self) -> Result<(), String> {
        let leaf_ok = |l: u32| l == MISS || (l & NODE == 0 && (l & 0xFF) as u8 <= K::BITS);
        for (i, &e) in self.direct.iter().enumerate() {
            if e & NODE != 0 && (e & !NODE) as usize >= self.nodes.len() {
                return Err(format!("direct entry {i} points past the nodes"));
            }
            if e & NODE == 0 && !leaf_ok(e) {
                return Err(format!("direct entry {i} is not a valid leaf"));
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let children = n.vector.count_ones() as usize;
            if children > 0
                && (n.base1 as usize <= i || n.base1 as usize + children > self.nodes.len())
            {
                return Err(format!("node {i}: children out of range"));
            }
            // Every leaf slot needs a run start at or below it, else its rank is -1.
            let first_leaf = (!n.vector).trailing_zeros();
            if first_leaf < 64 && n.leafvec & (1 << first_leaf) == 0 {
                return Err(format!(
                    "node {i}: leaf runs do not start at its first leaf"
                ));
            }
            if n.base0 as usize + n.leafvec.count_ones() as usize > self.leaves.len() {
                return Err(format!("node {i}: leaves out of range"));
            }
        }
        match self.leaves.iter().position(|&l| !leaf_ok(l)) {
            Some(i) => Err(format!("leaf {i} is not valid")),
            None => Ok(()),
        }
    }
}
