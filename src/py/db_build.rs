//! `geoip_rs._build_database`: sources in, a database file out (the Python
//! `build_database` wraps it and opens the result), and `SOURCE_KINDS`, the list of
//! source kinds the Python API and the CLI make their arguments from.

use super::errors::db_error;
use super::load::{progress_callback, run, summary_dict};
use crate::db::sources::total_bytes;
use crate::db::{DbBuilder, SourceKind};
use crate::loaders::mrt::OriginPolicy;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;

/// Build a database file from `(kind, path)` pairs; returns each file's load
/// summary by path.
#[pyfunction]
#[pyo3(signature = (path, sources, *, origin_policy = "first_peer", on_error = "raise", progress = None))]
fn _build_database<'py>(
    py: Python<'py>,
    path: PathBuf,
    sources: Vec<(String, PathBuf)>,
    origin_policy: &str,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy: OriginPolicy = origin_policy.parse()?;
    let sources = sources
        .into_iter()
        .map(|(kind, p)| Ok((kind.parse::<SourceKind>()?, p)))
        .collect::<PyResult<Vec<_>>>()?;
    let callback = progress_callback(py, progress, &path.display().to_string())?;
    let (builder, summaries) = run(py, on_error, callback, |opts| {
        let read = DbBuilder::from_sources(&sources, policy, opts)?;
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
    m.add_function(wrap_pyfunction!(_build_database, m)?)
}
