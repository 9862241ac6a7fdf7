//! MRT routing data (RFC 6396) through the `bgpkit-parser` crate: RIB dumps in
//! TABLE_DUMP_V2 (IPv4/IPv6 unicast and their ADD-PATH variants) and the older
//! TABLE_DUMP, and BGP4MP update files, plain, gzip or bzip2.
//!
//! A [`Rib`] keeps every peer's route per prefix; updates read into the same `Rib`
//! apply announcements and withdrawals in file order. [`Rib::origins`] then gives the
//! origin AS of each prefix under an [`OriginPolicy`]. How an origin is read from an
//! AS path (AS_SET, confederations, private ASNs, empty paths) is in [`path`]; the
//! default route is left out and counted. [`Routes`] lists a file's routes as they
//! are, before any choice.

pub mod path;
mod records;
mod rib;
mod routes;

pub use rib::{Chosen, OriginPolicy, Rib};
pub use routes::{Route, RouteKind, Routes};

use super::{Input, LoadError, ReadOptions, Summary};
use records::Records;
use std::path::Path;

impl Rib {
    /// Read one MRT file into this RIB (see [`Rib::read`]).
    pub fn read_file(
        &mut self,
        path: impl AsRef<Path>,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        self.read_input(Input::open(path)?, opts)
    }

    /// Read one opened MRT file into this RIB (see [`Rib::read`]).
    pub fn read_input(
        &mut self,
        input: Input,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        self.read(Records::new(input), opts)
    }
}

#[cfg(test)]
mod tests;
