//! `geoip_rs._build_database`: sources in, a database file out (the Python
//! `build_database` wraps it and opens the result), and the lists the Python API
//! and the CLI make their arguments from: `SOURCE_KINDS`, the source kinds;
//! `COUNTRY_ORDER`, the country sources in their default order;
//! `MMDB_COUNTRY_FIELDS`, where an MMDB record's country is read by default.

use super::errors::db_error;
use super::load::{progress_callback, run, summary_dict};
use crate::db::mmdb_source::DEFAULT_COUNTRY_FIELDS;
use crate::db::sources::total_bytes;
use crate::db::{BuildOptions, CountryOrder, DbBuilder, SourceKind};
use crate::loaders::mrt::OriginPolicy;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;

/// Build a database file from `(kind, path)` pairs; returns each file's load
/// summary by path.
#[pyfunction]
#[pyo3(signature = (path, sources, *, origin_policy = "first_peer", on_error = "raise", progress = None, country_order = None, mmdb_country_fields = None))]
#[allow(clippy::too_many_arguments)]
fn _build_database<'py>(
    py: Python<'py>,
    path: PathBuf,
    sources: Vec<(String, PathBuf)>,
    origin_policy: &str,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
    country_order: Option<Vec<String>>,
    mmdb_country_fields: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut build = BuildOptions::new(origin_policy.parse::<OriginPolicy>()?);
    build.mmdb_country_fields = mmdb_country_fields;
    if let Some(names) = country_order {
        let order = CountryOrder::from_names(&names);
        build.country_order =
            Some(order.map_err(|e| PyValueError::new_err(format!("country_order: {e}")))?);
    }
    let sources = sources
        .into_iter()
        .map(|(kind, p)| Ok((kind.parse::<SourceKind>()?, p)))
        .collect::<PyResult<Vec<_>>>()?;
    let callback = progress_callback(py, progress, &path.display().to_string())?;
    let (builder, summaries) = run(py, on_error, callback, |opts| {
        let read = DbBuilder::from_sources(&sources, &build, opts)?;
        Ok((read, total_bytes(&sources)))
    })?;
    py.detach(|| builder.write(&path)).map_err(db_error)?;
    let d = PyDict::new(py);
    for (p, s) in &summaries {
        d.set_item(p.display().to_string(), summary_dict(py, s)?)?;
    }
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let kinds = SourceKind::ALL
        .iter()
        .map(|k| (k.name(), k.description(), k.is_prefix_source()));
    m.add("SOURCE_KINDS", PyTuple::new(m.py(), kinds)?)?;
    let order = CountryOrder::DEFAULT.steps().iter().map(|s| s.name());
    m.add("COUNTRY_ORDER", PyTuple::new(m.py(), order)?)?;
    m.add(
        "MMDB_COUNTRY_FIELDS",
        PyTuple::new(m.py(), DEFAULT_COUNTRY_FIELDS)?,
    )?;
    m.add_function(wrap_pyfunction!(_build_database, m)?)
}
