//! The networks of an export: the address space cut where a database's answer may
//! change, with each piece's answer.
//!
//! An address's record is a function of its longest routed prefix and of the RIR
//! block it is in (the block can give the country and the registry), so the answer
//! is constant between consecutive starts or ends of routed prefixes and RIR
//! blocks. The pieces between those boundaries are asked once each, neighbours with
//! equal answers are joined, and only the joined ranges are cut into networks:
//! the file then splits a routed prefix only where a more specific prefix or a
//! different answer inside it requires.

use crate::db::layout::Stored;
use crate::db::read::Family;
use crate::db::versions::{At, VTrie};
use crate::key::{Key, Prefix};

/// Where pieces may start: the first address, and the first address of and the one
/// after every prefix of `prefixes`; sorted, without repeats.
pub fn starts<K: Key>(prefixes: impl IntoIterator<Item = Prefix<K>>) -> Vec<K> {
    let max = K::ZERO.last_in(0).to_u128();
    let mut out = vec![K::ZERO];
    for p in prefixes {
        out.push(p.addr());
        let last = p.last().to_u128();
        if last < max {
            out.push(K::from_u128(last + 1));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The ranges `(first, last, answer)` between consecutive `starts` (sorted, the
/// first being zero) that `answer` (asked at each range's first address) answers,
/// with neighbours of equal answers joined; in address order.
pub fn ranges<K: Key, R: PartialEq>(
    starts: &[K],
    mut answer: impl FnMut(K) -> Option<R>,
) -> Vec<(K, K, R)> {
    let max = K::ZERO.last_in(0);
    let mut out: Vec<(K, K, R)> = Vec::new();
    for (i, &first) in starts.iter().enumerate() {
        let last = match starts.get(i + 1) {
            Some(next) => K::from_u128(next.to_u128() - 1),
            None => max,
        };
        let Some(r) = answer(first) else { continue };
        match out.last_mut() {
            Some(prev) if prev.2 == r && prev.1.to_u128() + 1 == first.to_u128() => prev.1 = last,
            _ => out.push((first, last, r)),
        }
    }
    out
}

/// The starts of one family of a view at `at`: its routed prefixes at that
/// snapshot and the RIR blocks of any snapshot (a superset of the boundaries at
/// `at`, which joining undoes).
pub fn family_starts<K: Stored>(routes: &Family<'_, K>, rir: &VTrie<'_, K>, at: At<'_>) -> Vec<K> {
    let routed = (0..routes.count()).filter_map(|i| routes.prefix(i, at).map(|(p, _)| p));
    let blocks = rir.trie.prefixes().into_iter().map(|(p, _)| p);
    starts(routed.chain(blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The longest of `prefixes` containing `a`, by brute force.
    fn lpm(prefixes: &[(Prefix<u32>, u8)], a: u32) -> Option<(Prefix<u32>, u8)> {
        prefixes
            .iter()
            .filter(|(p, _)| p.contains_addr(a))
            .max_by_key(|(p, _)| p.prefix_len())
            .copied()
    }

    fn arb_prefixes() -> impl Strategy<Value = Vec<(Prefix<u32>, u8)>> {
        // Prefixes within the top 12 bits' space at /20../32, so that an
        // exhaustive walk of the addresses they cut stays small.
        let p = (0u32..4096, 20u8..=32, 0u8..3).prop_map(|(a, len, v)| {
            let a = 0x0a00_0000 | (a << 8) | (a & 0xff);
            (Prefix::new_masked(a, len).unwrap(), v)
        });
        proptest::collection::vec(p, 0..24)
    }

    proptest! {
        /// Every address of a small window answers as its range says, ranges
        /// tile the answered space without overlap, and no two touching ranges
        /// have equal answers.
        #[test]
        fn ranges_match_brute_force(prefixes in arb_prefixes(), probe in 0u32..4096) {
            let s = starts(prefixes.iter().map(|(p, _)| *p));
            let answer = |a: u32| lpm(&prefixes, a).map(|(_, v)| v);
            let rs = ranges(&s, answer);
            for w in rs.windows(2) {
                prop_assert!(w[0].1 < w[1].0);
                prop_assert!(!(w[0].1 + 1 == w[1].0 && w[0].2 == w[1].2));
            }
            let base = 0x0a00_0000 | (probe << 8);
            for a in base..base + 256 {
                let got = rs.iter().find(|r| r.0 <= a && a <= r.1).map(|r| r.2);
                prop_assert_eq!(got, answer(a), "address {:#x}", a);
            }
        }
    }

    #[test]
    fn the_whole_space_and_its_ends() {
        let all = Prefix::new(0u32, 0).unwrap();
        let top = Prefix::new(u32::MAX, 32).unwrap();
        assert_eq!(starts([all, top]), vec![0, u32::MAX]);
        let rs = ranges(&starts([all, top]), |a| Some(a == u32::MAX));
        assert_eq!(
            rs,
            vec![(0, u32::MAX - 1, false), (u32::MAX, u32::MAX, true)]
        );
        assert_eq!(ranges(&[0u32], |_| Some(1)), vec![(0, u32::MAX, 1)]);
        assert!(ranges(&[0u32], |_| None::<u8>).is_empty());
    }
}
