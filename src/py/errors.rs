//! The one place where core errors become Python exceptions.

use crate::alloc::OutOfMemory;
use crate::db::DbError;
use crate::loaders::{BadName, LoadError};
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyValueError,
};
use pyo3::prelude::*;
use std::path::Path;

pyo3::create_exception!(
    geoip_rs,
    DatabaseError,
    PyValueError,
    "A file is not a usable geoip_rs database: not one at all, a newer format, truncated or corrupt. The message names the file and what is wrong."
);

pyo3::create_exception!(
    geoip_rs,
    FormatError,
    PyValueError,
    "A data file's content does not follow its format (a bad line or record, or a truncated or corrupt compressed stream). The message names the file and the line, record or byte offset."
);

/// A load error as a Python exception: what Python's own file functions raise for a
/// missing or unreadable file, `FormatError` for bad content.
pub(crate) fn to_pyerr(e: LoadError) -> PyErr {
    match e {
        LoadError::NotFound(p) => not_found(&p),
        LoadError::Io { .. } => PyOSError::new_err(e.to_string()),
        LoadError::Format { .. } => FormatError::new_err(e.to_string()),
        LoadError::Interrupted => PyKeyboardInterrupt::new_err("load interrupted"),
        LoadError::Usage(message) => PyValueError::new_err(message),
    }
}

/// A bad option value (`on_error="x"`) is a `ValueError` with the core's message.
impl From<BadName> for PyErr {
    fn from(e: BadName) -> PyErr {
        value_error(e)
    }
}

/// A batch too large for the memory left is Python's `MemoryError`.
impl From<OutOfMemory> for PyErr {
    fn from(e: OutOfMemory) -> PyErr {
        PyMemoryError::new_err(e.to_string())
    }
}

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
        DbError::OutOfMemory(e) => e.into(),
    }
}

/// A `ValueError` with the error's text: a bad option name, for example.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// An error writing `path`, naming it.
pub(crate) fn io_error(path: &Path, e: std::io::Error) -> PyErr {
    PyOSError::new_err(format!("{}: {e}", path.display()))
}
