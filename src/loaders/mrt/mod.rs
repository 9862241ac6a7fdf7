//! MRT routing data (RFC 6396) through the `bgpkit-parser` crate: RIB dumps in
//! TABLE_DUMP_V2 (IPv4/IPv6 unicast and their ADD-PATH variants) and the older
//! TABLE_DUMP, and BGP4MP update files, plain, gzip or bzip2.
//!
//! A [`Rib`] keeps every peer's route per prefix; updates read into the same `Rib`
//! apply announcements and withdrawals in file order. [`Rib::origins`] then gives the
//! origin AS of each prefix under an [`OriginPolicy`]. How an origin is read from an
//! AS path (AS_SET, confederations, private ASNs, empty paths) is in [`path`]; the
//! default route is left out and counted.

pub mod path;
mod records;
mod rib;

pub use rib::{Chosen, OriginPolicy, Rib};

use super::{Input, LoadError, ReadOptions, Summary};
// BadRecord is used by the Python bindings only.
#[cfg_attr(not(feature = "python"), allow(unused_imports))]
pub(crate) use records::{BadRecord, Records};
use std::path::Path;

impl Rib {
    /// Read one MRT file into this RIB (see [`Rib::read`]).
    pub fn read_file(
        &mut self,
        path: impl AsRef<Path>,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        self.read(Records::new(Input::open(path)?), opts)
    }
}

#[cfg(test)]
mod tests;
