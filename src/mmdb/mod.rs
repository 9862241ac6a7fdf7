//! MMDB (MaxMind DB) files: a database written as one, and MMDB files read.
//!
//! - [`networks`]: the address space cut where a database's answer may change.
//! - [`record`]: a record as an MMDB value (MaxMind's field names, then ours).
//! - [`write`]: a database (one snapshot) as an MMDB file.

pub mod networks;
pub mod record;
pub mod write;

pub use write::{MmdbOptions, MmdbSummary};

#[cfg(test)]
mod tests;
