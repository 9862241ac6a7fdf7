//! An opened file behind a lock that `close()` empties, for the pyclasses over
//! memory-mapped files (`Database`, `MmdbDatabase`).
//!
//! Each call clones the `Arc` and lets the lock go at once, so a batch running
//! without the GIL keeps the map alive until it ends even if another thread closes.

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub(crate) struct Handle<T> {
    path: PathBuf,
    open: RwLock<Option<Arc<T>>>,
}

impl<T> Handle<T> {
    pub(crate) fn new(path: PathBuf, t: T) -> Self {
        Handle {
            path,
            open: RwLock::new(Some(Arc::new(t))),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The open file; a `ValueError` after `close()`.
    pub(crate) fn get(&self) -> PyResult<Arc<T>> {
        match &*self.open.read().unwrap_or_else(|e| e.into_inner()) {
            Some(t) => Ok(t.clone()),
            None => Err(PyValueError::new_err(format!(
                "I/O operation on closed database {}",
                self.path.display()
            ))),
        }
    }

    pub(crate) fn closed(&self) -> bool {
        self.open
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    pub(crate) fn close(&self) {
        *self.open.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
