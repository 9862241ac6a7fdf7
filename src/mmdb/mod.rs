//! MMDB (MaxMind DB) files: a database written as one, and MMDB files read.
//!
//! - [`networks`]: the address space cut where a database's answer may change.
//! - [`record`]: a record as an MMDB value (MaxMind's field names, then ours).
//! - [`encode`]: the data section's encoding; [`tree`]: the search tree.
//! - [`write`]: a database (one snapshot) as an MMDB file.
//! - [`read`]: an MMDB file opened (MaxMind's reader, memory-mapped): lookups,
//!   networks, metadata; every error a [`crate::db::DbError`].
//! - [`shape`]: the search tree's shape, checked in linear time before a walk.
//! - [`value`]: a decoded MMDB value, and dotted paths into it.
//! - [`index`]: an MMDB file's networks as Poptries numbering its records.
//! - [`compiled`]: an MMDB file compiled into geoip_rs's container (Poptries and
//!   records, kept by [`stored`]), and opened; [`source`]: either kind behind
//!   one interface.
//! - [`batch`]: many lookups at once, chosen fields as typed columns.
//! - [`arrow`]: those columns as an Arrow record batch.

pub mod arrow;
pub mod batch;
pub mod compiled;
pub mod encode;
pub mod index;
pub mod networks;
pub mod read;
pub mod record;
pub mod shape;
pub mod source;
pub mod stored;
pub mod tree;
pub mod value;
pub mod write;

pub use batch::{FieldColumn, MmdbAnswers};
pub use read::MmdbFile;
pub use source::{FileKind, MmdbSource};
pub use value::MmdbValue;
pub use write::{MmdbOptions, MmdbSummary};

#[cfg(test)]
pub(crate) mod tests;
