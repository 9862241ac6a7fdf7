//! MRT routing data (RFC 6396) through the `bgpkit-parser` crate: RIB dumps in
//! TABLE_DUMP_V2 (IPv4/IPv6 unicast and their ADD-PATH variants) and the older
//! TABLE_DUMP, and BGP4MP update files, plain, gzip or bzip2.
//!
//! A [`Rib`] keeps the routes per prefix; updates read into the same `Rib` apply
//! announcements and withdrawals in file order. Built with a [`FoldPlan`] (a quick
//! first pass over the files), it keeps routes only for the peers that updates can
//! change and counts the others' per origin, so its memory does not grow with the
//! number of peers of a RIB dump. [`Rib::origins`] then gives the
//! origin AS of each prefix under an [`OriginPolicy`]. How an origin is read from an
//! AS path (AS_SET, confederations, private ASNs, empty paths) is in [`path`]; the
//! default route is left out and counted. [`Routes`] lists a file's routes as they
//! are, before any choice.

mod fast;
pub mod path;
mod plan;
mod records;
mod rib;
mod routes;

pub use plan::FoldPlan;
pub use rib::{Chosen, OriginPolicy, Rib};
pub use routes::{Route, RouteKind, Routes};

use super::{Input, LoadError, Progress, ReadOptions, Summary};
use records::Records;
use std::path::Path;

impl Rib {
    /// A RIB for reading `paths` (RIB dumps and update files), folding the routes of
    /// every peer that [`FoldPlan::scan`] finds no update for.
    /// `progress` may stop the first pass (see [`FoldPlan::scan`]).
    pub fn for_files(
        paths: &[impl AsRef<Path>],
        progress: &mut dyn Progress,
    ) -> Result<Rib, LoadError> {
        Ok(Rib::folding(FoldPlan::scan(paths, progress)?))
    }

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

#[cfg(test)]
mod fold_tests;
