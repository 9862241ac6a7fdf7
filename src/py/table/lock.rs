//! The lock around a `PrefixTable`'s contents: a readers-writer lock that single
//! lookups from Python can skip.
//!
//! Taking and releasing a `RwLock` for reading are two atomic read-modify-write
//! instructions, about a tenth of a single lookup from Python (which should stay
//! under 100 ns). On a Python build with a GIL they are not needed by a thread that holds
//! the GIL, because of one rule: **a writer holds the GIL for as long as it holds the
//! write lock**, and calls no Python code meanwhile (so the GIL cannot pass to another
//! thread). Then no write is ever halfway done while another thread holds the GIL.
//! [`TableLock::write`] asks for a `Python` token for that reason. Lookups without the
//! GIL (batches, inside `py.detach`) take the lock as usual; so does everything on a
//! free-threaded build.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(crate) struct TableLock<T> {
    lock: RwLock<()>,
    data: UnsafeCell<T>,
}

// SAFETY: `data` is shared only as `RwLock` (or, for readers holding the GIL, the GIL)
// allows; see the module docs.
unsafe impl<T: Send + Sync> Sync for TableLock<T> {}

pub(crate) struct ReadGuard<'a, T> {
    _lock: RwLockReadGuard<'a, ()>,
    data: &'a T,
}

pub(crate) struct WriteGuard<'a, T> {
    _lock: RwLockWriteGuard<'a, ()>,
    data: &'a mut T,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.data
    }
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.data
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.data
    }
}

/// Whether this Python has a GIL (is not a free-threaded build).
fn has_gil(py: Python<'_>) -> bool {
    static HAS_GIL: PyOnceLock<bool> = PyOnceLock::new();
    *HAS_GIL.get_or_init(py, || {
        let flag = py
            .import("sysconfig")
            .and_then(|m| m.call_method1("get_config_var", ("Py_GIL_DISABLED",)))
            .and_then(|v| v.extract::<Option<i64>>());
        // If the build cannot be told, assume no GIL: that only costs the lock.
        matches!(flag, Ok(None | Some(0)))
    })
}

impl<T> TableLock<T> {
    pub(crate) fn new(data: T) -> Self {
        TableLock {
            lock: RwLock::new(()),
            data: UnsafeCell::new(data),
        }
    }

    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        // Writes do not panic midway, so a poisoned lock still guards whole data.
        let lock = self.lock.read().unwrap_or_else(|e| e.into_inner());
        // SAFETY: no writer holds the lock while a reader does.
        let data = unsafe { &*self.data.get() };
        ReadGuard { _lock: lock, data }
    }

    pub(crate) fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        let lock = self.lock.try_read().ok()?;
        // SAFETY: as in `read`.
        let data = unsafe { &*self.data.get() };
        Some(ReadGuard { _lock: lock, data })
    }

    /// The data for writing, while attached to Python. The caller must not run Python
    /// code (nor drop Python objects, nor detach) while it holds the guard.
    pub(crate) fn write(&self, _py: Python<'_>) -> WriteGuard<'_, T> {
        let lock = self.lock.write().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the write lock excludes readers that take the lock; the GIL, held
        // for as long as the guard is (see the module docs), excludes those that don't.
        let data = unsafe { &mut *self.data.get() };
        WriteGuard { _lock: lock, data }
    }

    /// `f(data)` for a thread attached to Python; without taking the lock when this
    /// Python has a GIL.
    ///
    /// # Safety
    /// `f` must not let the GIL go: no Python code, no making or dropping Python
    /// objects (which can run the garbage collector or `__del__`). Changing
    /// reference counts of objects that stay alive (`clone_ref`) is fine.
    #[inline]
    pub(crate) unsafe fn read_attached<R>(&self, py: Python<'_>, f: impl FnOnce(&T) -> R) -> R {
        if has_gil(py) {
            // SAFETY: this thread holds the GIL and keeps it until `f` returns, so no
            // writer holds the write lock (see the module docs).
            f(unsafe { &*self.data.get() })
        } else {
            f(&self.read())
        }
    }
}
