//! `geoip_rs._build_history` (the Python `build_history` wraps it), and
//! `_seconds`, a time as `at=` takes it in Unix seconds.

use super::errors::db_error;
use super::load::{progress_callback, with_progress};
use super::times::time;
use crate::db::history::build_history;
use crate::db::DbError;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Merge dated databases into a history file (the Python `build_history` wraps it).
#[pyfunction]
#[pyo3(signature = (path, databases, *, progress = None))]
fn _build_history(
    py: Python<'_>,
    path: PathBuf,
    databases: Vec<PathBuf>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let callback = progress_callback(py, progress, &path.display().to_string())?;
    let work = |p: &mut dyn crate::loaders::Progress| {
        build_history(&path, &databases, p).map(|m| ((), m.snapshots.len() as u64))
    };
    let interrupted = |e: &DbError| matches!(e, DbError::Io { error, .. } if error.kind() == std::io::ErrorKind::Interrupted);
    with_progress(py, callback, work, interrupted, db_error)
}

/// A time (as `at=` takes one) as Unix seconds.
#[pyfunction]
fn _seconds(at: &Bound<'_, PyAny>) -> PyResult<i64> {
    time(at)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(_build_history, m)?)
}
