//! Address keys as plain unsigned integers (`u32` for IPv4, `u128` for IPv6) and the
//! prefix type built on them. The tree bitmap is generic over [`Key`] so that IPv4
//! lookups run on 32-bit integers and IPv6 on 128-bit ones, with no runtime branch.

use std::fmt::Debug;
use std::hash::Hash;

/// An address family's integer form, most significant bit first.
pub trait Key: Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static {
    /// Address width in bits (32 or 128).
    const BITS: u8;
    /// The all-zero address.
    const ZERO: Self;

    /// `len` bits (1 to 32) starting `start` bits from the most significant end.
    /// Bits past the end of the address read as zero.
    fn bits_at(self, start: u8, len: u8) -> u32;
    /// The address with every bit from `len` on cleared (the network of a /len).
    fn masked(self, len: u8) -> Self;
    /// The address with bits `start..start+len` replaced by `value` (`len` < 32).
    fn with_bits(self, start: u8, len: u8, value: u32) -> Self;
    /// The last address of the /len that starts at `self`.
    fn last_in(self, len: u8) -> Self;
    /// Widen to `u128` (IPv4 keeps its value: 1.2.3.4 is 0x01020304).
    fn to_u128(self) -> u128;
    /// Narrow from `u128`, keeping the low bits.
    fn from_u128(x: u128) -> Self;
}

macro_rules! impl_key {
    ($t:ty) => {
        impl Key for $t {
            const BITS: u8 = <$t>::BITS as u8;
            const ZERO: Self = 0;

            #[inline(always)]
            fn bits_at(self, start: u8, len: u8) -> u32 {
                debug_assert!(len <= 32 && len > 0);
                if start >= <Self as Key>::BITS {
                    return 0;
                }
                // A 128-bit shift is several instructions and branches; IPv6 lookups
                // nearly always read inside the first 64 bits, so do that on 64.
                if <Self as Key>::BITS == 128 && start + len <= 64 {
                    let high = (self.to_u128() >> 64) as u64;
                    return ((high << start) >> (64 - len)) as u32;
                }
                // Shift the wanted bits to the top, then down to the bottom; bits past
                // the end of the address come in as zeros.
                let top = self << start;
                (top >> (<Self as Key>::BITS - len)) as u32
            }

            #[inline(always)]
            fn masked(self, len: u8) -> Self {
                if len == 0 {
                    0
                } else {
                    self & (<$t>::MAX << (<Self as Key>::BITS - len))
                }
            }

            #[inline]
            fn with_bits(self, start: u8, len: u8, value: u32) -> Self {
                let shift = <Self as Key>::BITS - start - len;
                let field = ((1 as $t) << len) - 1;
                (self & !(field << shift)) | ((value as $t & field) << shift)
            }

            #[inline]
            fn last_in(self, len: u8) -> Self {
                if len == 0 {
                    <$t>::MAX
                } else {
                    self | !(<$t>::MAX << (<Self as Key>::BITS - len))
                }
            }

            #[inline(always)]
            fn to_u128(self) -> u128 {
                self as u128
            }

            #[inline(always)]
            fn from_u128(x: u128) -> Self {
                x as $t
            }
        }
    };
}

impl_key!(u32);
impl_key!(u128);

/// A prefix of one family: a network address with no host bits and a length.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Prefix<K: Key> {
    addr: K,
    len: u8,
}

impl<K: Key> Prefix<K> {
    /// A prefix; `None` if `len` is too long or `addr` has bits set past `len`.
    pub fn new(addr: K, len: u8) -> Option<Self> {
        (len <= K::BITS && addr.masked(len) == addr).then_some(Prefix { addr, len })
    }

    /// A prefix with the host bits of `addr` cleared; `None` if `len` is too long.
    pub fn new_masked(addr: K, len: u8) -> Option<Self> {
        (len <= K::BITS).then(|| Prefix {
            addr: addr.masked(len),
            len,
        })
    }

    /// The host prefix (/32 or /128) of one address.
    pub fn host(addr: K) -> Self {
        Prefix { addr, len: K::BITS }
    }

    pub fn addr(&self) -> K {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The last address inside the prefix.
    pub fn last(&self) -> K {
        self.addr.last_in(self.len)
    }

    /// True if `other` lies inside (or equals) this prefix.
    pub fn contains(&self, other: &Prefix<K>) -> bool {
        other.len >= self.len && other.addr.masked(self.len) == self.addr
    }

    /// True if the address lies inside this prefix.
    pub fn contains_addr(&self, addr: K) -> bool {
        addr.masked(self.len) == self.addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_at_reads_from_the_top() {
        let a: u32 = 0xC0A8_0102; // 192.168.1.2
        assert_eq!(a.bits_at(0, 4), 0xC);
        assert_eq!(a.bits_at(4, 4), 0x0);
        assert_eq!(a.bits_at(8, 8), 0xA8);
        assert_eq!(a.bits_at(28, 4), 0x2);
        assert_eq!(a.bits_at(30, 4), 0x2 << 2 & 0xF); // past the end reads as zero
        assert_eq!(a.bits_at(32, 4), 0);
        let b: u128 = 1;
        assert_eq!(b.bits_at(124, 4), 1);
    }

    #[test]
    fn masks_and_last_addresses() {
        assert_eq!(0xFFFF_FFFFu32.masked(0), 0);
        assert_eq!(0xFFFF_FFFFu32.masked(8), 0xFF00_0000);
        assert_eq!(0xFFFF_FFFFu32.masked(32), 0xFFFF_FFFF);
        assert_eq!(0x0A00_0000u32.last_in(8), 0x0AFF_FFFF);
        assert_eq!(0u32.last_in(0), u32::MAX);
        assert_eq!(0u128.last_in(0), u128::MAX);
        assert_eq!(0u32.with_bits(4, 4, 0xF), 0x0F00_0000);
        assert_eq!(u32::MAX.with_bits(28, 4, 0), 0xFFFF_FFF0);
    }

    #[test]
    fn prefixes_reject_host_bits_and_long_lengths() {
        assert!(Prefix::new(0x0A00_0001u32, 8).is_none());
        assert!(Prefix::new(0x0A00_0000u32, 33).is_none());
        assert_eq!(
            Prefix::new_masked(0x0A00_0001u32, 8),
            Prefix::new(0x0A00_0000, 8)
        );
        let p = Prefix::new(0x0A00_0000u32, 8).unwrap();
        assert!(p.contains(&Prefix::new(0x0A01_0000, 16).unwrap()));
        assert!(!p.contains(&Prefix::new(0x0B00_0000, 16).unwrap()));
        assert!(!p.contains(&Prefix::new(0, 0).unwrap()));
        assert_eq!(p.last(), 0x0AFF_FFFF);
    }
}
