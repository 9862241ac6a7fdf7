//! The GeoIP database: routed prefixes with their origin ASes, the ASes' names and
//! organisations, the organisations' and the registries' countries, and where it all
//! came from, in one file used in place from a memory map.
//!
//! - [`build`]: [`DbBuilder`] gathers sources and writes the file.
//! - [`layout`]: the sections and their fixed-size records.
//! - [`pool`]: distinct values, each once with its id (routes, organisations, blocks).
//! - [`read`]: [`Database`] opens and checks a file; [`View`] is its arrays.
//! - [`query`]: what a view answers: records, batches, prefix and AS queries.
//! - [`country`]: the country sources and the order they are tried in, the one
//!   country fallback chain ([`CountryOrder::first_known`]).
//! - [`answers`]: a batch's lookups, a block of addresses at a time.
//! - [`facts`]: what a batch answers from a route alone, made once per file.
//! - [`columns`]: a batch's answers as columns, filled on every core.
//! - [`arrow`]: a batch's records as Arrow record batches (the columns' names and
//!   types follow from the schema).
//! - [`schema`]: the one list of a record's fields.
//! - [`summary`]: per-AS and per-country summaries.
//! - [`export`]: the prefixes as ipasn or CSV text.
//! - [`file`]: the container of sections (magic, version, checksum, atomic writes).
//! - [`provenance`]: the metadata of sources and build.
//! - [`kinds`]: the kinds of source file, listed once ([`SourceKind`]).
//! - [`sources`]: reading source files into a builder ([`DbBuilder::from_sources`]);
//!   [`mmdb_source`]: an MMDB file with AS numbers as one of them.
//! - [`versions`]: values that change between the snapshots of a history (cells,
//!   timelines, versioned tries), read through the same views.
//! - [`history`]: many dated databases merged into one history file; the snapshot
//!   in force at a time; a prefix's intervals and the diff of two snapshots.

pub mod answers;
pub mod arrow;
pub mod build;
pub mod columns;
pub mod country;
pub mod export;
pub mod facts;
pub mod file;
pub mod history;
pub mod kinds;
pub mod layout;
pub mod mmdb_source;
pub mod pool;
pub mod provenance;
pub mod query;
pub mod read;
pub mod schema;
pub mod sources;
pub(crate) mod strings;
pub mod summary;
pub mod versions;

pub use answers::{Answer, Snapshots};
pub use build::DbBuilder;
pub use columns::{Columns, Detail};
pub use country::{CountryOrder, CountrySource};
pub use file::DbError;
pub use history::queries::Subject;
pub use kinds::SourceKind;
pub use provenance::{Metadata, SourceInfo};
pub use query::{AsRecord, Found, Hit, Record, Tally};
pub use read::{Database, View};
pub use schema::{Field, FieldType, FieldValue, OwnedRecord, RECORD_FIELDS};
pub use sources::BuildOptions;
pub use summary::{AsRow, CountryRow, SummaryBy};

#[cfg(test)]
mod arrow_tests;
#[cfg(test)]
mod country_tests;
#[cfg(test)]
mod facts_tests;
#[cfg(test)]
pub(crate) mod tests;
