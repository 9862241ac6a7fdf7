//! Address ranges as CIDR prefixes. Registries publish IPv4 blocks as a first address
//! and a count that need not be a power of two (RIR delegated statistics, iptoasn);
//! a prefix table needs the smallest set of prefixes covering exactly that range.

use crate::key::{Key, Prefix};
use std::iter::FusedIterator;
use std::marker::PhantomData;

/// The minimal list of prefixes covering exactly `first..=last`, in address order.
///
/// Each step takes the largest prefix that starts at the next uncovered address
/// (limited by that address's alignment) and does not pass `last`; this greedy split
/// is the unique minimal one, the same as Python's
/// `ipaddress.summarize_address_range`. An empty iterator if `first > last`.
///
/// ```
/// use geoip_rs::{range_to_prefixes, Prefix};
///
/// // 10.0.0.0 + 768 addresses: a /23 and a /24.
/// let ps: Vec<_> = range_to_prefixes(0x0A00_0000u32, 0x0A00_02FF).collect();
/// assert_eq!(ps, [Prefix::new(0x0A00_0000, 23).unwrap(), Prefix::new(0x0A00_0200, 24).unwrap()]);
/// assert_eq!(range_to_prefixes(0u128, u128::MAX).count(), 1); // ::/0
/// assert_eq!(range_to_prefixes(5u32, 4).count(), 0);
/// ```
pub fn range_to_prefixes<K: Key>(first: K, last: K) -> RangePrefixes<K> {
    RangePrefixes {
        next: first.to_u128(),
        last: last.to_u128(),
        done: first > last,
        key: PhantomData,
    }
}

/// The iterator of [`range_to_prefixes`]. Works in `u128` so that one code path
/// serves both families; for `u32` keys every value stays below 2^32.
#[derive(Clone, Debug)]
pub struct RangePrefixes<K: Key> {
    next: u128,
    last: u128,
    done: bool,
    key: PhantomData<K>,
}

/// `2^bits - 1`, for `bits` up to 128.
fn low_mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

impl<K: Key> Iterator for RangePrefixes<K> {
    type Item = Prefix<K>;

    fn next(&mut self) -> Option<Prefix<K>> {
        if self.done {
            return None;
        }
        let width = K::BITS as u32;
        let start = self.next;
        // Host bits the prefix may have: no more than the start's alignment allows...
        let aligned = start.trailing_zeros().min(width);
        // ...and no more than fit in what is left: floor(log2(last - start + 1)).
        let remaining = self.last - start;
        let fits = match remaining.checked_add(1) {
            Some(n) => 127 - n.leading_zeros(),
            None => 128,
        };
        let host_bits = aligned.min(fits);
        let end = start + low_mask(host_bits);
        if end == self.last {
            self.done = true;
        } else {
            self.next = end + 1;
        }
        let prefix = Prefix::new(K::from_u128(start), (width - host_bits) as u8);
        Some(prefix.expect("start is aligned to its host bits"))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.done {
            true => (0, Some(0)),
            // At most two prefixes per bit: one run up to an aligned point, one down.
            false => (1, Some(2 * K::BITS as usize)),
        }
    }
}

impl<K: Key> FusedIterator for RangePrefixes<K> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(s: &str) -> u32 {
        u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
    }

    fn show(ps: &[Prefix<u32>]) -> Vec<String> {
        ps.iter()
            .map(|p| format!("{}/{}", std::net::Ipv4Addr::from(p.addr()), p.prefix_len()))
            .collect()
    }

    fn split(first: &str, last: &str) -> Vec<String> {
        show(&range_to_prefixes(v4(first), v4(last)).collect::<Vec<_>>())
    }

    /// A naive model: at each step try lengths from the shortest up, one by one,
    /// using only the `Key` methods.
    fn naive<K: Key>(first: K, last: K) -> Vec<Prefix<K>> {
        let mut out = Vec::new();
        let mut cur = first;
        loop {
            let len = (0..=K::BITS)
                .find(|&len| cur.masked(len) == cur && cur.last_in(len) <= last)
                .expect("a host prefix always fits");
            let p = Prefix::new(cur, len).unwrap();
            out.push(p);
            if p.last() == last {
                return out;
            }
            cur = K::from_u128(p.last().to_u128() + 1);
        }
    }

    /// Sorted, disjoint, gap-free, from `first` to `last`, and no two neighbours
    /// are the halves of one larger prefix (which would make the list not minimal).
    fn check_cover<K: Key>(ps: &[Prefix<K>], first: K, last: K) {
        assert_eq!(ps.first().unwrap().addr(), first);
        assert_eq!(ps.last().unwrap().last(), last);
        for w in ps.windows(2) {
            assert_eq!(w[0].last().to_u128() + 1, w[1].addr().to_u128(), "{w:?}");
            let mergeable = w[0].prefix_len() == w[1].prefix_len()
                && w[0].prefix_len() > 0
                && w[0].addr().masked(w[0].prefix_len() - 1)
                    == w[1].addr().masked(w[0].prefix_len() - 1);
            assert!(!mergeable, "{w:?} could be one prefix");
        }
    }

    #[test]
    fn one_address_and_whole_spaces() {
        assert_eq!(split("1.2.3.4", "1.2.3.4"), ["1.2.3.4/32"]);
        assert_eq!(split("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            split("255.255.255.255", "255.255.255.255"),
            ["255.255.255.255/32"]
        );
        let all6: Vec<_> = range_to_prefixes(0u128, u128::MAX).collect();
        assert_eq!(all6, [Prefix::new(0u128, 0).unwrap()]);
        let top6: Vec<_> = range_to_prefixes(u128::MAX, u128::MAX).collect();
        assert_eq!(top6, [Prefix::host(u128::MAX)]);
        assert_eq!(range_to_prefixes(2u32, 1).next(), None);
    }

    #[test]
    fn non_aligned_ends() {
        // 41.0.0.1 - 41.0.0.6: up to an aligned point, then back down.
        assert_eq!(
            split("41.0.0.1", "41.0.0.6"),
            ["41.0.0.1/32", "41.0.0.2/31", "41.0.0.4/31", "41.0.0.6/32"]
        );
        // 3 x /24: a count that is not a power of two (as in RIR files).
        assert_eq!(
            split("196.0.0.0", "196.0.2.255"),
            ["196.0.0.0/23", "196.0.2.0/24"]
        );
        // Everything but the first and last address: 31 prefixes each way.
        let ps: Vec<_> = range_to_prefixes(1u32, u32::MAX - 1).collect();
        assert_eq!(ps.len(), 62);
        check_cover(&ps, 1, u32::MAX - 1);
        // The IPv6 space but its first and last address.
        let ps: Vec<_> = range_to_prefixes(1u128, u128::MAX - 1).collect();
        assert_eq!(ps.len(), 254);
        check_cover(&ps, 1, u128::MAX - 1);
        assert_eq!(ps[127], Prefix::new(1u128 << 127, 2).unwrap());
    }

    #[test]
    fn ipv6_blocks() {
        // 2001:db8:: + three /48s: a /47 and a /48.
        let first = 0x2001_0db8_u128 << 96;
        let ps: Vec<_> = range_to_prefixes(first, first + (3u128 << 80) - 1).collect();
        assert_eq!(
            ps,
            [
                Prefix::new(first, 47).unwrap(),
                Prefix::new(first + (2u128 << 80), 48).unwrap()
            ]
        );
    }

    proptest! {
        #[test]
        fn ipv4_ranges_match_the_naive_model(a: u32, b: u32) {
            let (first, last) = (a.min(b), a.max(b));
            let ps: Vec<_> = range_to_prefixes(first, last).collect();
            check_cover(&ps, first, last);
            prop_assert_eq!(&ps, &naive(first, last));
            prop_assert!(ps.len() <= 62 || (first, last) == (0, u32::MAX));
        }

        #[test]
        fn short_ipv4_ranges(first: u32, n in 0u32..5000) {
            let last = first.saturating_add(n);
            let ps: Vec<_> = range_to_prefixes(first, last).collect();
            check_cover(&ps, first, last);
            prop_assert_eq!(ps, naive(first, last));
        }

        #[test]
        fn ipv6_ranges_match_the_naive_model(a: u128, b: u128, shift in 0u32..128) {
            // Shifting makes aligned starts and ends (long runs of zero bits) common.
            let (a, b) = (a >> shift << shift, b | low_mask(shift));
            let (first, last) = (a.min(b), a.max(b));
            let ps: Vec<_> = range_to_prefixes(first, last).collect();
            check_cover(&ps, first, last);
            prop_assert_eq!(ps, naive(first, last));
        }
    }
}
