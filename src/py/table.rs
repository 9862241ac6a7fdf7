//! `geoip_rs.PrefixTable`: the dict-like Python face of [`IpTable`].
//!
//! Locking: the table sits behind a `RwLock`. Lookups take it shared; writes take it
//! exclusively while attached to Python, and never call Python code while holding it
//! (replaced values are dropped after it is released, since dropping can run `__del__`).
//! Batch lookups take it inside `py.detach`, so a writer waiting with the GIL held
//! cannot deadlock with them.

use super::convert::{self, Key};
use super::values::{Value, Values};
use crate::compiled::CompiledTable;
use crate::ip::IpPrefix;
use crate::table::IpTable;
use pyo3::exceptions::PyKeyError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyTypeInfo};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) table: IpTable<u32>,
    pub(crate) values: Values,
    /// The compiled (Poptrie) form of `table`, built on demand and dropped by every
    /// write. `None` inside: the table cannot be compiled (too many values).
    compiled: OnceLock<Option<CompiledTable>>,
    /// Single lookups answered by the tree since the last write: once there have been
    /// as many as there are prefixes, compiling (linear in the prefixes) pays off.
    tree_lookups: AtomicUsize,
}

/// Batches of at least this many addresses compile the table first.
pub(crate) const COMPILE_FOR_BATCH: usize = 4096;

impl Inner {
    /// Insert or replace; returns the value replaced.
    fn insert(&mut self, prefix: &IpPrefix, value: Value) -> Option<Value> {
        // Even a value replaced in place makes the compiled form stale: it may have
        // merged this prefix's slot with another one holding the old value.
        self.changed();
        match self.table.exact(prefix) {
            Some(id) => Some(self.values.replace(id, value)),
            None => {
                let id = self.values.add(value);
                self.table.insert(prefix, id);
                None
            }
        }
    }

    fn remove(&mut self, prefix: &IpPrefix) -> Option<Value> {
        let id = self.table.remove(prefix)?;
        self.changed();
        Some(self.values.take(id))
    }

    /// The prefixes changed: the compiled form is stale.
    fn changed(&mut self) {
        self.compiled = OnceLock::new();
        *self.tree_lookups.get_mut() = 0;
    }

    /// The compiled form if there is one, built first if `build`.
    pub(crate) fn compiled(&self, build: bool) -> Option<&CompiledTable> {
        match build {
            true => self.compiled.get_or_init(|| self.compile()).as_ref(),
            false => self.compiled.get().and_then(Option::as_ref),
        }
    }

    /// The compiled form, with equal integer values merged (see `build_with`).
    fn compile(&self) -> Option<CompiledTable> {
        let canonical = self.values.canonical_ids();
        CompiledTable::build_with(&self.table, |id| canonical[id as usize]).ok()
    }

    /// The longest match of an address: its length and value slot.
    #[inline]
    pub(crate) fn longest_addr(&self, a: IpAddr) -> Option<(u8, u32)> {
        let build = self.compiled.get().is_none()
            && self.tree_lookups.fetch_add(1, Ordering::Relaxed)
                >= self.table.len().max(COMPILE_FOR_BATCH);
        match self.compiled(build) {
            Some(c) => c.longest_match(a),
            None => self.table.longest_match(a),
        }
    }

    /// The longest match for an address or a prefix.
    fn longest(&self, key: &Key) -> Option<(IpPrefix, u32)> {
        match key {
            Key::Addr(a) => self.longest_addr(*a).map(|(len, id)| {
                (
                    IpPrefix::new(*a, len, false).expect("length from the table"),
                    id,
                )
            }),
            Key::Net(p) => self.table.longest_covering(p),
        }
    }
}

/// `KeyError(key)`; the key is wrapped so that a tuple key is not taken as the
/// exception's argument list.
fn key_error(key: &Bound<'_, PyAny>) -> PyErr {
    PyKeyError::new_err((key.clone().unbind(),))
}

/// A longest-prefix-match table for IPv4 and IPv6 (see the `.pyi` stub for the API).
#[pyclass(frozen, module = "geoip_rs", name = "PrefixTable")]
pub struct PrefixTable {
    strict: AtomicBool,
    inner: RwLock<Inner>,
}

impl PrefixTable {
    /// A table of the given prefixes and values (later duplicates replace earlier).
    pub(crate) fn from_items(
        items: impl IntoIterator<Item = (IpPrefix, Value)>,
        strict: bool,
    ) -> Self {
        let mut inner = Inner::default();
        for (p, v) in items {
            inner.insert(&p, v);
        }
        PrefixTable {
            strict: AtomicBool::new(strict),
            inner: RwLock::new(inner),
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic cannot leave the table half-written (writes do not panic midway), so
        // a poisoned lock still guards a consistent table.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn is_strict(&self) -> bool {
        self.strict.load(Ordering::Relaxed)
    }

    fn network(&self, obj: &Bound<'_, PyAny>) -> PyResult<IpPrefix> {
        convert::network(obj, self.is_strict())
    }

    fn key(&self, obj: &Bound<'_, PyAny>) -> PyResult<Key> {
        convert::key(obj, self.is_strict())
    }

    /// The value in slot `id`, as a Python object.
    fn value<'py>(&self, py: Python<'py>, inner: &Inner, id: u32) -> Bound<'py, PyAny> {
        inner.values.get(id).to_py(py)
    }

    /// `(network, value)` pairs as a Python list; values are read under the lock,
    /// networks are built after it is released.
    fn pairs<'py>(
        &self,
        py: Python<'py>,
        items: Vec<(IpPrefix, Bound<'py, PyAny>)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (p, v) in items {
            list.append((convert::network_object(py, &p)?, v))?;
        }
        Ok(list)
    }

    fn with_values<'py>(
        &self,
        py: Python<'py>,
        inner: &Inner,
        items: Vec<(IpPrefix, u32)>,
    ) -> Vec<(IpPrefix, Bound<'py, PyAny>)> {
        items
            .into_iter()
            .map(|(p, id)| (p, self.value(py, inner, id)))
            .collect()
    }

    fn insert_one(
        &self,
        prefix: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Value>> {
        let p = self.network(prefix)?;
        let v = Value::from_py(value);
        Ok(self.write().insert(&p, v))
    }
}

#[pymethods]
impl PrefixTable {
    #[new]
    #[pyo3(signature = (items = None, *, strict = true))]
    fn new(items: Option<&Bound<'_, PyAny>>, strict: bool) -> PyResult<Self> {
        let t = PrefixTable {
            strict: AtomicBool::new(strict),
            inner: RwLock::new(Inner::default()),
        };
        if let Some(items) = items {
            t.update(items)?;
        }
        Ok(t)
    }

    #[getter]
    fn strict(&self) -> bool {
        self.is_strict()
    }

    #[getter]
    fn nbytes(&self) -> usize {
        let inner = self.read();
        let compiled = inner.compiled(false).map_or(0, |c| c.nbytes());
        std::mem::size_of::<Self>() + inner.table.nbytes() + inner.values.nbytes() + compiled
    }

    fn counts(&self) -> (usize, usize) {
        let inner = self.read();
        (inner.table.v4().len(), inner.table.v6().len())
    }

    fn insert<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.insert_one(prefix, value)?.map(|old| old.to_py(py)))
    }

    fn __setitem__(&self, prefix: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.insert_one(prefix, value).map(drop)
    }

    fn update(&self, items: &Bound<'_, PyAny>) -> PyResult<()> {
        let pairs = match items.hasattr("items")? {
            true => items.call_method0("items")?,
            false => items.clone(),
        };
        for pair in pairs.try_iter()? {
            let pair = pair?;
            let (prefix, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
            self.insert_one(&prefix, &value)?;
        }
        Ok(())
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.get(py, key, None)?.ok_or_else(|| key_error(key))
    }

    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let k = self.key(key)?;
        let inner = self.read();
        Ok(inner
            .longest(&k)
            .map(|(_, id)| self.value(py, &inner, id))
            .or(default))
    }

    fn lookup_with_prefix<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let k = self.key(key)?;
        let found = {
            let inner = self.read();
            inner
                .longest(&k)
                .map(|(p, id)| (p, self.value(py, &inner, id)))
        };
        found
            .map(|(p, v)| PyTuple::new(py, [convert::network_object(py, &p)?, v]))
            .transpose()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = self.key(key)?;
        Ok(self.read().longest(&k).is_some())
    }

    #[pyo3(signature = (prefix, default = None))]
    fn exact<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let p = self.network(prefix)?;
        let inner = self.read();
        Ok(inner
            .table
            .exact(&p)
            .map(|id| self.value(py, &inner, id))
            .or(default))
    }

    fn has_prefix(&self, prefix: &Bound<'_, PyAny>) -> PyResult<bool> {
        let p = self.network(prefix)?;
        Ok(self.read().table.exact(&p).is_some())
    }

    fn __delitem__(&self, prefix: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = self.network(prefix)?;
        let old = self.write().remove(&p);
        old.map(drop).ok_or_else(|| key_error(prefix))
    }

    #[pyo3(signature = (prefix, *default))]
    fn pop<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        default: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if default.len() > 1 {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "pop expected at most 2 arguments, got {}",
                default.len() + 1
            )));
        }
        let p = self.network(prefix)?;
        let old = self.write().remove(&p);
        match old {
            Some(v) => Ok(v.to_py(py)),
            None if default.len() == 1 => default.get_item(0),
            None => Err(key_error(prefix)),
        }
    }

    fn clear(&self) {
        let old = {
            let mut inner = self.write();
            inner.table.clear();
            inner.changed();
            inner.values.take_all()
        };
        drop(old);
    }

    fn covering<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let p = match self.key(key)? {
            Key::Addr(a) => IpPrefix::host(a),
            Key::Net(p) => p,
        };
        let items = {
            let inner = self.read();
            self.with_values(py, &inner, inner.table.covering(&p))
        };
        self.pairs(py, items)
    }

    fn covered<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let p = self.network(prefix)?;
        let items = {
            let inner = self.read();
            self.with_values(py, &inner, inner.table.covered(&p))
        };
        self.pairs(py, items)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = {
            let inner = self.read();
            self.with_values(py, &inner, inner.table.iter().collect())
        };
        self.pairs(py, items)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.items(py)?.try_iter()?.into_any())
    }

    fn __len__(&self) -> usize {
        self.read().table.len()
    }

    fn __repr__(&self) -> String {
        let (v4, v6) = self.counts();
        format!("PrefixTable(ipv4={v4}, ipv6={v6})")
    }

    fn __eq__<'py>(&self, py: Python<'py>, other: &Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<PrefixTable>() else {
            return Ok(py.NotImplemented());
        };
        let other = other.get();
        if std::ptr::eq(self, other) {
            return Ok(true.into_pyobject(py)?.to_owned().into_any().unbind());
        }
        // Snapshot both sides, then compare values with Python's == outside the locks.
        let snapshot = |t: &PrefixTable| {
            let inner = t.read();
            t.with_values(py, &inner, inner.table.iter().collect())
        };
        let (a, b) = (snapshot(self), snapshot(other));
        let mut equal = a.len() == b.len();
        for ((pa, va), (pb, vb)) in a.iter().zip(&b) {
            if !equal {
                break;
            }
            equal = pa == pb && va.eq(vb)?;
        }
        Ok(equal.into_pyobject(py)?.to_owned().into_any().unbind())
    }

    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let this = slf.get();
        let items = {
            let inner = this.read();
            let pairs: Vec<_> = inner
                .table
                .iter()
                .map(|(p, id)| (p.to_string(), this.value(py, &inner, id)))
                .collect();
            pairs
        };
        let args = PyTuple::new(py, [PyList::new(py, items)?])?;
        PyTuple::new(
            py,
            [
                PrefixTable::type_object(py).into_any(),
                args.into_any(),
                this.is_strict().into_pyobject(py)?.to_owned().into_any(),
            ],
        )
    }

    fn __setstate__(&self, strict: bool) {
        self.strict.store(strict, Ordering::Relaxed);
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // A writer never holds the lock across a point where the GC can run, so
        // `try_read` only fails while a batch lookup reads it, which holds no objects.
        if let Ok(inner) = self.inner.try_read() {
            for obj in inner.values.objects() {
                visit.call(obj)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.clear();
    }

    #[pyo3(signature = (addresses, *, missing = -1))]
    fn lookup_batch<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        missing: i64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        super::batch::lookup_batch(self, py, addresses, missing)
    }
}
