//! The shape of an MMDB file's search tree, checked in time linear in its nodes
//! before anything walks every network.
//!
//! A damaged tree whose nodes point at shared subtrees (node i's two records both
//! naming node i+1, a hundred times over) has 2^100 paths of under 128 bits. A
//! lookup follows one path, but a walk over the networks, MaxMind's own `verify`
//! included (it counts networks, and such a tree has none), follows them all: hours.
//! So this walk counts every node it enters and stops past what a tree can hold:
//! each node once, the IPv4 subtree of an IPv6 file again under each of its aliases.
//! maxminddb exposes no raw nodes, so the records are read here from the bytes.

use maxminddb::Metadata;

/// Nodes entered, at most, per node of a sound tree: once, and the IPv4 subtree
/// under up to three aliases (`::ffff:0:0/96`, `2001::/32`, `2002::/16`) besides.
const VISITS_PER_NODE: usize = 4;

/// `Ok` if a walk of the tree in `bytes` enters at most four times its node count
/// of nodes and no path is longer than the address.
pub fn check(bytes: &[u8], meta: &Metadata) -> Result<(), String> {
    let nodes = meta.node_count as usize;
    let size = meta.record_size as usize;
    if !matches!(size, 24 | 28 | 32) {
        return Err(format!("record size {size} is not 24, 28 or 32"));
    }
    let node_bytes = size / 4;
    if nodes
        .checked_mul(node_bytes)
        .is_none_or(|n| n > bytes.len())
    {
        return Err(format!("{nodes} nodes do not fit in {} bytes", bytes.len()));
    }
    let bits = if meta.ip_version == 6 { 128 } else { 32 };
    let budget = nodes.saturating_mul(VISITS_PER_NODE).saturating_add(1);
    let mut entered = 0usize;
    let mut stack = vec![(0usize, 0u32)];
    while let Some((node, depth)) = stack.pop() {
        if node >= nodes {
            continue; // empty or data: a leaf
        }
        entered += 1;
        if entered > budget {
            return Err(format!(
                "the search tree's nodes are shared by many paths (more than {budget} \
                 nodes entered for {nodes} nodes)"
            ));
        }
        if depth >= bits {
            return Err(format!("a search tree path is longer than {bits} bits"));
        }
        let (left, right) = records(&bytes[node * node_bytes..(node + 1) * node_bytes], size);
        stack.push((right, depth + 1));
        stack.push((left, depth + 1));
    }
    Ok(())
}

/// A node's two records.
fn records(b: &[u8], size: usize) -> (usize, usize) {
    let be = |s: &[u8]| s.iter().fold(0usize, |n, &x| n << 8 | x as usize);
    match size {
        24 => (be(&b[0..3]), be(&b[3..6])),
        28 => (
            (usize::from(b[3] >> 4) << 24) | be(&b[0..3]),
            (usize::from(b[3] & 0x0f) << 24) | be(&b[4..7]),
        ),
        _ => (be(&b[0..4]), be(&b[4..8])),
    }
}
