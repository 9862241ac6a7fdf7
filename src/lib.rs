//! geoip_rs: which network, which AS, which organisation, which country, for any IP
//! address, built from public Internet routing data.
//!
//! # Where to start reading
//! - [`key`]: addresses as `u32` (IPv4) and `u128` (IPv6) keys, and [`Prefix`].
//! - [`ip`]: parsing of addresses and prefixes, with `ipaddress`-style errors.
//! - [`treebitmap`]: the longest-prefix-match structure, a pointer-free tree bitmap
//!   for one family: exact / longest match, covering and covered prefixes, ordered
//!   iteration, insert and remove.
//! - [`table`]: [`IpTable`], one tree per family behind one interface.
//! - [`poptrie`], [`compiled`]: the compiled read-only form used for fast lookups.
//! - [`lpm`]: [`LpmTable`], the table `geoip_rs.PrefixTable` is: any values, writes
//!   to the tree, reads from the compiled form once compiling pays off.
//! - [`alloc`]: a batch's buffers allocated fallibly ([`alloc::OutOfMemory`]).
//! - [`batch`]: many lookups per call: the addresses ([`batch::Keys`]) and the
//!   split of large batches over the cores.
//! - [`addresses`]: address columns in Arrow form (text, fixed-size binary,
//!   `uint32`) read into batch keys, with nulls and malformed rows marked.
//! - [`range`]: address ranges split into the fewest covering prefixes.
//! - [`asn_ranges`]: ranges of AS numbers with values, never expanded per AS.
//! - [`origin`]: an origin AS, or an AS_SET.
//! - [`loaders`]: streaming readers (and writers) of routing and registry files.
//! - [`db`]: the GeoIP database: built from the loaders' output into one
//!   memory-mapped file, and what it answers (records, batch columns, summaries,
//!   exports), with the one schema of record fields and the one country chain;
//!   histories of many dated databases in one file, answered at any time.
//! - [`mmdb`]: MMDB (MaxMind DB) files: any database exported as one, and MMDB
//!   files read, answered in batches and compiled into a database.
//! - `py` (feature `python`): the pyo3 binding; each function extracts its
//!   arguments, calls the core above and converts the result. The core never uses
//!   pyo3, so `cargo test` and `cargo bench` need no Python.

pub mod addresses;
pub mod alloc;
pub mod asn_ranges;
pub mod batch;
pub mod compiled;
pub mod db;
pub mod ip;
pub mod key;
pub mod loaders;
pub mod lpm;
pub mod mmdb;
pub mod origin;
pub mod poptrie;
pub mod range;
pub mod table;
pub mod treebitmap;

#[cfg(test)]
mod testutil;

#[cfg(feature = "python")]
mod py;

pub use ip::{parse_addr, parse_prefix, IpPrefix, PrefixError};
pub use key::{Key, Prefix};
pub use lpm::LpmTable;
pub use origin::Origin;
pub use range::{ip_range_to_prefixes, range_to_prefixes};
pub use table::IpTable;
pub use treebitmap::TreeBitmap;
