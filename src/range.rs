//! Address ranges (`first..=last`, as iptoasn and the RIR delegated files give them)
//! split into the fewest CIDR prefixes that cover exactly the same addresses.
//!
//! The split is greedy: from the start of what is left, take the largest prefix that
//! begins there (its size is limited by the alignment of the start) and does not
//! reach past `last`. Each prefix is then one whose parent would spill outside the
//! range, which is what makes the list the shortest possible one. Python's
//! `ipaddress.summarize_address_range` does the same.

use crate::ip::IpPrefix;
use crate::key::{Key, Prefix};
use std::fmt;
use std::iter::FusedIterator;
use std::net::IpAddr;

/// The prefixes of one range, in address order; see [`range_to_prefixes`].
#[derive(Clone, Debug)]
pub struct RangePrefixes<K: Key> {
    /// Start of what is left, `None` once the range is used up.
    next: Option<K>,
    last: K,
}

/// The fewest prefixes that cover exactly `first..=last`, in address order; nothing
/// if `last < first`.
///
/// ```
/// use geoip_rs::range::range_to_prefixes;
/// use std::net::Ipv4Addr;
///
/// let a = |s: &str| u32::from(s.parse::<Ipv4Addr>().unwrap());
/// let split: Vec<String> = range_to_prefixes(a("10.0.0.1"), a("10.0.0.6"))
///     .map(|p| format!("{}/{}", Ipv4Addr::from(p.addr()), p.prefix_len()))
///     .collect();
/// assert_eq!(split, ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]);
/// ```
pub fn range_to_prefixes<K: Key>(first: K, last: K) -> RangePrefixes<K> {
    RangePrefixes {
        next: (first <= last).then_some(first),
        last,
    }
}

impl<K: Key> Iterator for RangePrefixes<K> {
    type Item = Prefix<K>;

    fn next(&mut self) -> Option<Prefix<K>> {
        let start = self.next?;
        let len = largest_block(start.to_u128(), self.last.to_u128(), K::BITS);
        let prefix = Prefix::new(start, len).expect("start is aligned to the block");
        let end = prefix.last();
        // `end == last` also covers the top of the address space, where `end + 1`
        // would wrap.
        self.next = (end != self.last).then(|| K::from_u128(end.to_u128() + 1));
        Some(prefix)
    }
}

impl<K: Key> FusedIterator for RangePrefixes<K> {}

/// The length of the largest prefix of a `bits`-bit family that starts at `start`
/// and ends at or before `last` (`start <= last`).
fn largest_block(start: u128, last: u128, bits: u8) -> u8 {
    // Host bits the alignment of `start` allows (all of them for address 0).
    let align = start.trailing_zeros().min(bits as u32);
    // Host bits the remaining size allows: floor(log2(last - start + 1)), where a
    // count of 2^128 (the whole IPv6 space) does not fit in a u128.
    let fit = match (last - start).checked_add(1) {
        Some(count) => 127 - count.leading_zeros(),
        None => 128,
    };
    bits - align.min(fit) as u8
}

/// Why a pair of addresses is not a range.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// One end is IPv4, the other IPv6.
    FamilyMix,
    /// The end comes before the start.
    EndBeforeStart,
}

impl RangeError {
    /// A message naming both ends.
    pub fn message(&self, first: IpAddr, last: IpAddr) -> String {
        match self {
            RangeError::FamilyMix => {
                format!("range start {first} and end {last} are of different IP versions")
            }
            RangeError::EndBeforeStart => {
                format!("range end {last} comes before its start {first}")
            }
        }
    }
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeError::FamilyMix => "range ends are of different IP versions",
            RangeError::EndBeforeStart => "range end comes before its start",
        })
    }
}

impl std::error::Error for RangeError {}

/// The prefixes of a range of either family; see [`ip_range_to_prefixes`].
#[derive(Clone, Debug)]
pub enum IpRangePrefixes {
    V4(RangePrefixes<u32>),
    V6(RangePrefixes<u128>),
}

impl Iterator for IpRangePrefixes {
    type Item = IpPrefix;

    fn next(&mut self) -> Option<IpPrefix> {
        match self {
            IpRangePrefixes::V4(it) => it.next().map(IpPrefix::V4),
            IpRangePrefixes::V6(it) => it.next().map(IpPrefix::V6),
        }
    }
}

impl FusedIterator for IpRangePrefixes {}

/// [`range_to_prefixes`] for addresses of either family, checking that both ends are
/// of the same family and in order.
pub fn ip_range_to_prefixes(first: IpAddr, last: IpAddr) -> Result<IpRangePrefixes, RangeError> {
    let it = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            IpRangePrefixes::V4(range_to_prefixes(u32::from(a), u32::from(b)))
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            IpRangePrefixes::V6(range_to_prefixes(u128::from(a), u128::from(b)))
        }
        _ => return Err(RangeError::FamilyMix),
    };
    match first <= last {
        true => Ok(it),
        false => Err(RangeError::EndBeforeStart),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(first: &str, last: &str) -> Vec<String> {
        let a = |s: &str| u32::from(s.parse::<Ipv4Addr>().unwrap());
        range_to_prefixes(a(first), a(last))
            .map(|p| format!("{}/{}", Ipv4Addr::from(p.addr()), p.prefix_len()))
            .collect()
    }

    fn v6(first: &str, last: &str) -> Vec<String> {
        let a = |s: &str| u128::from(s.parse::<Ipv6Addr>().unwrap());
        range_to_prefixes(a(first), a(last))
            .map(|p| format!("{}/{}", Ipv6Addr::from(p.addr()), p.prefix_len()))
            .collect()
    }

    #[test]
    fn single_addresses_are_host_prefixes() {
        assert_eq!(v4("0.0.0.0", "0.0.0.0"), ["0.0.0.0/32"]);
        assert_eq!(v4("10.1.2.3", "10.1.2.3"), ["10.1.2.3/32"]);
        assert_eq!(
            v4("255.255.255.255", "255.255.255.255"),
            ["255.255.255.255/32"]
        );
        assert_eq!(v6("::", "::"), ["::/128"]);
        assert_eq!(v6("2001:db8::1", "2001:db8::1"), ["2001:db8::1/128"]);
        let top = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        assert_eq!(v6(top, top), [format!("{top}/128")]);
    }

    #[test]
    fn whole_address_spaces_are_one_prefix() {
        assert_eq!(v4("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            v6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
        // Everything but the first or last address: one prefix of each length.
        let all_but_first = v4("0.0.0.1", "255.255.255.255");
        assert_eq!(all_but_first.len(), 32);
        assert_eq!(all_but_first[0], "0.0.0.1/32");
        assert_eq!(all_but_first[31], "128.0.0.0/1");
        let all_but_last = v6("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
        assert_eq!(all_but_last.len(), 128);
        assert_eq!(all_but_last[0], "::/1");
        assert_eq!(
            all_but_last[127],
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128"
        );
    }

    #[test]
    fn aligned_and_unaligned_ranges() {
        assert_eq!(v4("10.0.0.0", "10.255.255.255"), ["10.0.0.0/8"]);
        assert_eq!(v4("1.0.1.0", "1.0.3.255"), ["1.0.1.0/24", "1.0.2.0/23"]);
        assert_eq!(
            v4("192.168.0.255", "192.168.2.0"),
            ["192.168.0.255/32", "192.168.1.0/24", "192.168.2.0/32"]
        );
        // The top of the space, where the next address would wrap to 0.
        assert_eq!(
            v4("255.255.255.254", "255.255.255.255"),
            ["255.255.255.254/31"]
        );
        assert_eq!(
            v6("2001:200::", "2001:200:5ff:ffff:ffff:ffff:ffff:ffff"),
            ["2001:200::/38", "2001:200:400::/39"]
        );
    }

    #[test]
    fn reversed_ranges_are_empty() {
        assert_eq!(range_to_prefixes(5u32, 4).count(), 0);
    }

    #[test]
    fn ip_ranges_check_family_and_order() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let got: Vec<String> = ip_range_to_prefixes(ip("1.0.0.0"), ip("1.0.0.255"))
            .unwrap()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(got, ["1.0.0.0/24"]);
        let got: Vec<String> = ip_range_to_prefixes(ip("::"), ip("::1"))
            .unwrap()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(got, ["::/127"]);
        assert_eq!(
            ip_range_to_prefixes(ip("1.0.0.0"), ip("::1")).unwrap_err(),
            RangeError::FamilyMix
        );
        let err = ip_range_to_prefixes(ip("1.0.0.1"), ip("1.0.0.0")).unwrap_err();
        assert_eq!(err, RangeError::EndBeforeStart);
        assert_eq!(
            err.message(ip("1.0.0.1"), ip("1.0.0.0")),
            "range end 1.0.0.0 comes before its start 1.0.0.1"
        );
    }

    /// Checks every promise of `range_to_prefixes(first, last)`: in order, disjoint,
    /// exactly covering the range, and each prefix maximal (its parent spills out).
    fn check<K: Key>(first: K, last: K) -> Result<(), TestCaseError> {
        let prefixes: Vec<Prefix<K>> = range_to_prefixes(first, last).collect();
        prop_assert!(!prefixes.is_empty());
        prop_assert!(prefixes.len() <= 2 * K::BITS as usize);
        prop_assert_eq!(prefixes[0].addr(), first);
        prop_assert_eq!(prefixes[prefixes.len() - 1].last(), last);
        for pair in prefixes.windows(2) {
            // Contiguous: the next starts right after the last ends (so sorted, disjoint,
            // and no gap).
            prop_assert!(pair[0].last() < pair[1].addr());
            prop_assert_eq!(pair[0].last().to_u128() + 1, pair[1].addr().to_u128());
        }
        for p in &prefixes {
            prop_assert!(p.prefix_len() > 0 || (first == K::ZERO && p.last() == last));
            if p.prefix_len() > 0 {
                let parent = Prefix::new_masked(p.addr(), p.prefix_len() - 1).unwrap();
                prop_assert!(
                    parent.addr() < first || parent.last() > last,
                    "{:?} could be merged into {:?}",
                    p,
                    parent
                );
            }
        }
        Ok(())
    }

    /// Addresses near the interesting places: 0, the top, and powers of two.
    fn edgy_u32() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            (0u32..32, -3i64..=3)
                .prop_map(|(b, d)| ((1i64 << b) + d).clamp(0, u32::MAX as i64) as u32),
            (0u32..4).prop_map(|d| u32::MAX - d),
        ]
    }

    fn edgy_u128() -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>(),
            (0u32..128, 0u128..4).prop_map(|(b, d)| (1u128 << b).saturating_sub(d)),
            (0u128..4).prop_map(|d| u128::MAX - d),
        ]
    }

    proptest! {
        #[test]
        fn v4_split_is_exact_and_minimal(a in edgy_u32(), b in edgy_u32()) {
            check(a.min(b), a.max(b))?;
        }

        #[test]
        fn v6_split_is_exact_and_minimal(a in edgy_u128(), b in edgy_u128()) {
            check(a.min(b), a.max(b))?;
        }

        #[test]
        fn short_ranges_match_a_naive_split(first in any::<u32>(), n in 0u32..600) {
            // Naive model: grow a block from `cur` while it stays aligned and inside.
            let last = first.saturating_add(n);
            let mut naive = Vec::new();
            let mut cur = first as u64;
            while cur <= last as u64 {
                let mut len = 32u8;
                while len > 0 {
                    let size = 1u64 << (33 - len);
                    if !cur.is_multiple_of(size) || cur + size - 1 > last as u64 {
                        break;
                    }
                    len -= 1;
                }
                naive.push((cur as u32, len));
                cur += 1u64 << (32 - len);
            }
            let got: Vec<(u32, u8)> = range_to_prefixes(first, last)
                .map(|p| (p.addr(), p.prefix_len()))
                .collect();
            prop_assert_eq!(got, naive);
        }
    }
}
