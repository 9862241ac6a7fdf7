//! The pyo3 binding layer: each function extracts its arguments, calls one core
//! function and converts the result. Nothing here knows how a Poptrie, a batch
//! split, a country chain or a file format works; that is all in the core.
//!
//! - [`table`] (`PrefixTable`, over [`crate::lpm::LpmTable`]), [`values`] (its
//!   Python values), [`batch`] (numpy and iterable arguments as [`crate::batch::Keys`]).
//! - [`database`] (`Database`), [`record`] (`Record`), [`columns`] (batch text
//!   columns and summaries as Python lists).
//! - [`load`], [`load_prefixes`], [`load_registry`], [`load_mrt`], [`db_build`]:
//!   the readers, writers and the database build, run with the GIL released.
//! - [`arrow`]: Arrow address columns in (pyo3-arrow) and record tables out.
//! - [`times`]: times (`at=`) as Unix seconds, and the snapshots of a batch's rows;
//!   [`history`]: the history build.
//! - [`mmdb`]: `MmdbDatabase` (MMDB files read) and the MMDB export.
//! - [`handle`]: an opened file that `close()` lets go (`Database`, `MmdbDatabase`).
//! - [`convert`]: the one converter of Python addresses and networks;
//!   [`errors`]: the one mapping of core errors to Python exceptions.

mod arrow;
mod asn_ranges;
mod batch;
mod columns;
mod convert;
mod database;
mod db_build;
mod errors;
mod handle;
mod history;
mod load;
mod load_mrt;
mod load_prefixes;
mod load_registry;
mod mmdb;
mod objects;
mod record;
mod table;
mod times;
mod values;

#[pyo3::pymodule]
mod _geoip_rs {
    use pyo3::prelude::*;
    use pyo3::types::PyTuple;

    #[pymodule_export]
    use super::arrow::arrow_schema;
    #[pymodule_export]
    use super::asn_ranges::{AsnIter, AsnRanges};
    #[pymodule_export]
    use super::database::{DbIter, PyDatabase};
    #[pymodule_export]
    use super::record::Record;
    #[pymodule_export]
    use super::table::PrefixTable;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        // The core's one schema of record fields, as (name, type, meaning) tuples,
        // the export formats and the origin policies: the Python package derives its columns from these.
        let fields = crate::db::RECORD_FIELDS.map(|f| (f.name, f.kind.name(), f.doc));
        m.add("RECORD_FIELDS", PyTuple::new(m.py(), fields)?)?;
        let formats = crate::db::export::ExportFormat::ALL.map(|f| f.name());
        m.add("EXPORT_FORMATS", PyTuple::new(m.py(), formats)?)?;
        let policies = crate::loaders::mrt::OriginPolicy::ALL.map(|p| p.name());
        m.add("ORIGIN_POLICIES", PyTuple::new(m.py(), policies)?)?;
        m.add(
            "FormatError",
            m.py().get_type::<super::errors::FormatError>(),
        )?;
        super::load_prefixes::register(m)?;
        super::load_mrt::register(m)?;
        super::load_registry::register(m)?;
        super::db_build::register(m)?;
        super::history::register(m)?;
        super::mmdb::register(m)?;
        m.add(
            "DatabaseError",
            m.py().get_type::<super::errors::DatabaseError>(),
        )?;
        Ok(())
    }
}
