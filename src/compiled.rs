//! [`CompiledTable`]: the read-only Poptrie form of an [`IpTable`] whose values are
//! `u32` ids, for both families. Built in one pass over the table (tens of
//! milliseconds for a full IPv4 table) and thrown away by the next write.

use crate::poptrie::{default_direct_bits, unpack, Poptrie, TooBig};
use crate::table::IpTable;
use std::net::IpAddr;

pub struct CompiledTable {
    v4: Poptrie<u32>,
    v6: Poptrie<u128>,
}

impl CompiledTable {
    /// Compile `table`; fails only if a value id does not fit a leaf (past 2^23 - 1)
    /// or the nodes take over 2 GiB.
    pub fn build(table: &IpTable<u32>) -> Result<Self, TooBig> {
        Self::build_with(table, |id| id)
    }

    /// Compile `table` with each value id replaced by `canonical(id)`: ids of equal
    /// values mapped to one id let neighbouring leaves with the same value and prefix
    /// length merge (most neighbouring prefixes share an origin AS), which makes the
    /// compiled form several times smaller. Lookups then answer the canonical id.
    pub fn build_with(
        table: &IpTable<u32>,
        canonical: impl Fn(u32) -> u32,
    ) -> Result<Self, TooBig> {
        let v4: Vec<_> = table
            .v4()
            .iter()
            .map(|(p, id)| (p, canonical(id)))
            .collect();
        let v6: Vec<_> = table
            .v6()
            .iter()
            .map(|(p, id)| (p, canonical(id)))
            .collect();
        // A family without prefixes gets the smallest direct level: IPv4's default
        // is 1 MiB, which an IPv6-only table would hold for nothing.
        let bits = |n: usize, default: u8| if n == 0 { 1 } else { default };
        Ok(CompiledTable {
            v4: Poptrie::build(&v4, bits(v4.len(), default_direct_bits::<u32>()))?,
            v6: Poptrie::build(&v6, bits(v6.len(), default_direct_bits::<u128>()))?,
        })
    }

    pub fn v4(&self) -> &Poptrie<u32> {
        &self.v4
    }

    pub fn v6(&self) -> &Poptrie<u128> {
        &self.v6
    }

    /// The longest match: its length and value id.
    #[inline]
    pub fn longest_match(&self, addr: IpAddr) -> Option<(u8, u32)> {
        unpack(match addr {
            IpAddr::V4(a) => self.v4.lookup(u32::from(a)),
            IpAddr::V6(a) => self.v6.lookup(u128::from(a)),
        })
    }

    pub fn nbytes(&self) -> usize {
        self.v4.nbytes() + self.v6.nbytes()
    }
}
