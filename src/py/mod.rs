//! The pyo3 binding layer: converts arguments, calls the core, converts results.
//! Nothing here knows how a tree bitmap works.

mod batch;
mod convert;
mod table;
mod values;

use pyo3::prelude::*;

#[pymodule]
mod _geoip_rs {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::table::PrefixTable;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
