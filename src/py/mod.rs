//! The pyo3 binding layer: converts arguments, calls the core, converts results.
//! Nothing here knows how a tree bitmap works or how a file format is read.

mod batch;
mod columns;
mod convert;
mod database;
mod db_build;
mod errors;
mod load;
mod load_mrt;
mod load_prefixes;
mod load_registry;
mod record;
mod table;
mod values;

#[pyo3::pymodule]
mod _geoip_rs {
    use pyo3::prelude::*;
    use pyo3::types::PyTuple;

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
        m.add(
            "DatabaseError",
            m.py().get_type::<super::errors::DatabaseError>(),
        )?;
        Ok(())
    }
}
