//! The one place where core errors become Python exceptions.

use crate::db::DbError;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use std::path::Path;

pyo3::create_exception!(
    geoip_rs,
    DatabaseError,
    PyValueError,
    "A file is not a usable geoip_rs database: not one at all, a newer format, truncated or corrupt. The message names the file and what is wrong."
);

/// `FileNotFoundError` as Python's own `open` raises it (errno, text, path).
pub(crate) fn not_found(path: &Path) -> PyErr {
    let path = path.display().to_string();
    PyFileNotFoundError::new_err((2, "No such file or directory", path))
}

pub(crate) fn db_error(e: DbError) -> PyErr {
    match e {
        DbError::Io { path, error } if error.kind() == std::io::ErrorKind::NotFound => {
            not_found(&path)
        }
        DbError::Io { .. } => PyOSError::new_err(e.to_string()),
        DbError::Invalid { .. } => DatabaseError::new_err(e.to_string()),
    }
}

/// A `ValueError` with the error's text: a bad option name, for example.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}
