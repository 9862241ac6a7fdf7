//! One snapshot's tables read from a view (a one-date file, or a history at one
//! of its snapshots), in the pools' ids, sorted by key: what [`super::Changes`]
//! compares from one snapshot to the next.

use super::pools::{Pools, Remap};
use crate::db::layout::{Stored, NONE};
use crate::db::read::{Family, View};
use crate::db::versions::VTrie;
use crate::key::{Key, Prefix};
use crate::poptrie::unpack;
use crate::range::range_to_prefixes;

pub struct Tables<K4: Key = u32, K6: Key = u128> {
    pub v4: Vec<(Prefix<K4>, u32)>,
    pub v6: Vec<(Prefix<K6>, u32)>,
    pub rir4: Vec<(Prefix<K4>, u32)>,
    pub rir6: Vec<(Prefix<K6>, u32)>,
    /// The RIR AS number ranges as prefixes of the AS number space.
    pub rir_asn: Vec<(Prefix<u32>, u32)>,
    /// Each AS number with its AS entry.
    pub ases: Vec<(u32, u32)>,
}

impl Tables {
    pub fn read(view: &View<'_>, pools: &mut Pools) -> Tables {
        let mut map = Remap::new(view);
        let rir_asn = match view.rir_asn_first.is_empty() {
            false => asn_ranges(view, &mut map, pools),
            true => compiled(view, &view.rir_asn, &mut map, pools),
        };
        Tables {
            v4: routed(view, &view.v4, &mut map, pools),
            v6: routed(view, &view.v6, &mut map, pools),
            rir4: compiled(view, &view.rir4, &mut map, pools),
            rir6: compiled(view, &view.rir6, &mut map, pools),
            rir_asn,
            ases: ases(view, &mut map, pools),
        }
    }
}

fn routed<K: Stored>(
    view: &View<'_>,
    family: &Family<'_, K>,
    map: &mut Remap,
    pools: &mut Pools,
) -> Vec<(Prefix<K>, u32)> {
    (0..family.addr.len())
        .filter_map(|i| family.prefix(i, view.at))
        .map(|(p, r)| (p, map.route(pools, r)))
        .filter(|&(_, r)| r != NONE)
        .collect()
}

/// The prefixes a trie answers with at the view's snapshot (read back from its
/// leaves: a one-date file keeps these only compiled), values as registries.
fn compiled<K: Key>(
    view: &View<'_>,
    trie: &VTrie<'_, K>,
    map: &mut Remap,
    pools: &mut Pools,
) -> Vec<(Prefix<K>, u32)> {
    let mut out: Vec<(Prefix<K>, u32)> = trie
        .trie
        .prefixes()
        .into_iter()
        .filter_map(|(p, id)| {
            // A history's leaf is the longest prefix present then, which may be an
            // enclosing one.
            let (len, id) =
                unpack(trie.resolve(crate::poptrie::pack(id, p.prefix_len()), view.at))?;
            Some((Prefix::new_masked(p.addr(), len)?, id))
        })
        .map(|(p, id)| (p, map.rir(pools, id)))
        .filter(|&(_, r)| r != NONE)
        .collect();
    out.sort_unstable();
    out.dedup_by_key(|(p, _)| *p);
    out
}

fn asn_ranges(view: &View<'_>, map: &mut Remap, pools: &mut Pools) -> Vec<(Prefix<u32>, u32)> {
    let ranges = view
        .rir_asn_first
        .iter()
        .zip(view.rir_asn_last)
        .zip(view.rir_asn_info);
    let mut out: Vec<(Prefix<u32>, u32)> = ranges
        .filter(|((f, l), _)| f <= l)
        .flat_map(|((&f, &l), &i)| range_to_prefixes(f, l).map(move |p| (p, i)))
        .map(|(p, i)| (p, map.rir(pools, i)))
        .filter(|&(_, r)| r != NONE)
        .collect();
    out.sort_unstable();
    out.dedup_by_key(|(p, _)| *p);
    out
}

fn ases(view: &View<'_>, map: &mut Remap, pools: &mut Pools) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = (0..view.as_num.len() as u32)
        .filter_map(|i| Some((view.as_num[i as usize], view.as_info(i)?)))
        .map(|(asn, info)| (asn, map.as_info(pools, info)))
        .collect();
    // Sorted already in a sound file.
    out.sort_by_key(|(asn, _)| *asn);
    out.dedup_by_key(|(asn, _)| *asn);
    out
}
