//! An MMDB file's networks as one Poptrie per family whose leaves number its
//! records: what a compiled file stores, and what an MMDB file opened directly
//! builds in memory for large batches, so that they walk a Poptrie (whose
//! interleaved lookups overlap their memory loads) instead of MMDB's bit-by-bit
//! tree one address at a time.

use super::read::MmdbFile;
use crate::alloc::{self, OutOfMemory};
use crate::batch::Keys;
use crate::db::DbError;
use crate::key::{Key, Prefix};
use crate::poptrie::{default_direct_bits, unpack, Poptrie, PoptrieRef};
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::ops::Range;

/// The networks of a file, indexed.
pub struct NetworkIndex {
    pub v4: Poptrie<u32>,
    pub v6: Poptrie<u128>,
    /// Per record number: its offset in the file's data section and an address
    /// whose record it is.
    pub records: Vec<(usize, IpAddr)>,
    pub ipv4_networks: usize,
    pub ipv6_networks: usize,
    /// Which of [`ALIASES`] the file answers as IPv4.
    pub aliases: [bool; 4],
    /// The file has no IPv4 subtree: `v4` holds only `0.0.0.0/0`, standing for
    /// the IPv6 network over `::/96` (which is not one of the file's IPv4 networks).
    pub ipv4_above: bool,
}

/// The IPv6 networks MaxMind's files answer as IPv4 (IPv4-compatible `::/96`,
/// which is where the IPv4 subtree is; IPv4-mapped, 6to4, Teredo): their place and
/// length in the 128 bits, and where the IPv4 address's 32 bits start in an
/// address of that network.
pub const ALIASES: [(u128, u8, u8); 4] = [
    (0, 96, 96),
    (0xffff << 32, 96, 96),
    (0x2002 << 112, 16, 16),
    (0x2001 << 112, 32, 32),
];

/// The IPv4 address an IPv6 one stands for under the aliases `on`, and the
/// length of the alias network (which a network length found for the IPv4 address
/// is then added to).
#[inline]
pub fn aliased_v4(a: u128, on: [bool; 4]) -> Option<(u32, u8)> {
    for (&(base, len, at), on) in ALIASES.iter().zip(on) {
        if on && a.masked(len) == base {
            return Some(((a >> (96 - at)) as u32, len));
        }
    }
    None
}

/// Which aliases `src` has: where the IPv4 subtree answers, for the first address
/// of some of its IPv4 networks, as the address itself does, at the same depth
/// below the alias. (Readers cannot see the tree's pointers; a file without an
/// alias answers its space with its own networks, at other lengths or offsets.)
pub fn aliases_of<T>(src: &MmdbFile, v4: &[(Prefix<u32>, T)]) -> Result<[bool; 4], DbError> {
    let mut on = [!v4.is_empty(); 4];
    for (p, _) in v4.iter().step_by(1 + v4.len() / 64) {
        let direct = src.find(IpAddr::V4(p.addr().into()))?;
        for (i, &(base, len, at)) in ALIASES.iter().enumerate() {
            let a = base | (p.addr().to_u128() << (96 - at));
            let f = src.find(IpAddr::V6(a.into()))?;
            on[i] &= f.offset == direct.offset && f.prefix_len == direct.prefix_len + len;
        }
    }
    Ok(on)
}

fn trie<K: Key>(mut items: Vec<(Prefix<K>, u32)>, src: &MmdbFile) -> Result<Poptrie<K>, DbError> {
    items.sort_unstable();
    Poptrie::build(&items, default_direct_bits::<K>()).map_err(|e| DbError::Invalid {
        path: src.path().to_path_buf(),
        message: format!("too many records to index: {e}"),
    })
}

impl NetworkIndex {
    /// Every network of `src` with its record's number (numbered as first met).
    pub fn build(src: &MmdbFile) -> Result<NetworkIndex, DbError> {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut numbers: FxHashMap<usize, u32> = FxHashMap::default();
        let mut records = Vec::new();
        // The record at data offset `offset` (found at `a`), numbered as first met.
        let mut number = |offset: usize, a: IpAddr| {
            *numbers.entry(offset).or_insert_with(|| {
                records.push((offset, a));
                records.len() as u32 - 1
            })
        };
        for net in src.networks() {
            let net = net?;
            let a = net.network();
            let Some(offset) = src.find(a)?.offset else {
                continue;
            };
            let n = number(offset, a);
            // Networks from the reader are masked, so they are prefixes.
            match net {
                IpNet::V4(p) => {
                    v4.extend(Prefix::new(p.network().into(), p.prefix_len()).map(|p| (p, n)))
                }
                IpNet::V6(p) => {
                    v6.extend(Prefix::new(p.network().into(), p.prefix_len()).map(|p| (p, n)))
                }
            }
        }
        // No IPv4 subtree (the tree ends above `::/96`): every IPv4 address has
        // the record of the IPv6 network there, if any.
        let mut ipv4_above = false;
        if v4.is_empty() && src.metadata().ip_version == 6 {
            if let Some(offset) = src.find(IpAddr::V4(0.into()))?.offset {
                ipv4_above = true;
                let n = number(offset, IpAddr::V4(0.into()));
                v4.extend(Prefix::new(0, 0).map(|p| (p, n)));
            }
        }
        let aliases = aliases_of(src, &v4)?;
        Ok(NetworkIndex {
            aliases,
            ipv4_above,
            ipv4_networks: if ipv4_above { 0 } else { v4.len() },
            ipv6_networks: v6.len(),
            v4: trie(v4, src)?,
            v6: trie(v6, src)?,
            records,
        })
    }
}

/// The record numbers (`usize::MAX` for none) and network lengths of rows `range`
/// of `keys`, in the tries `t4` and `t6`, IPv6 addresses in the `aliases` on
/// answered as the IPv4 ones they stand for.
pub fn find_many(
    t4: PoptrieRef<'_, u32>,
    t6: PoptrieRef<'_, u128>,
    aliases: [bool; 4],
    keys: &Keys,
    range: Range<usize>,
) -> Result<Vec<(usize, u8)>, OutOfMemory> {
    let mut leaves = alloc::zeroed::<u32>(range.len())?;
    let v6 = |a: u128| match aliased_v4(a, aliases) {
        // The alias's length is added to the leaf's (its low byte) when found.
        Some((v4, len)) => match t4.lookup(v4) {
            leaf if unpack(leaf).is_some() => leaf.wrapping_add(len.into()),
            miss => miss,
        },
        None => t6.lookup(a),
    };
    match keys.slice(range) {
        Keys::V4(v) => t4.lookup_many(v, &mut leaves),
        Keys::V6(v) if aliases == [false; 4] => {
            let mut keys = alloc::empty::<u128>(v.len())?;
            keys.extend(v.iter().map(|b| u128::from_be_bytes(*b)));
            t6.lookup_many(&keys, &mut leaves)
        }
        Keys::V6(v) => {
            for (leaf, b) in leaves.iter_mut().zip(v) {
                *leaf = v6(u128::from_be_bytes(*b));
            }
        }
        Keys::Mixed(v) => {
            for (leaf, a) in leaves.iter_mut().zip(v) {
                *leaf = match a {
                    IpAddr::V4(a) => t4.lookup(u32::from(*a)),
                    IpAddr::V6(a) => v6(u128::from(*a)),
                };
            }
        }
    }
    let found = |leaf| match unpack(leaf) {
        Some((len, n)) => (n as usize, len),
        None => (usize::MAX, 0),
    };
    let mut out = alloc::empty(leaves.len())?;
    out.extend(leaves.into_iter().map(found));
    Ok(out)
}
