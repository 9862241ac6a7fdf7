//! `geoip_rs.PrefixTable`: the dict-like Python face of [`LpmTable`] (which owns the
//! lookups, the compiled form and when to build it); this file holds its Python
//! values, its lock and the GIL handling.
//!
//! Locking: the table sits behind a readers-writer lock ([`lock`]). Lookups take it
//! shared (single lookups from Python skip it where the GIL stands in for it); writes
//! take it exclusively while attached to Python, and never call Python code while
//! holding it (replaced values are dropped after it is released, since dropping can
//! run `__del__`). Lookups copy values out and make Python objects after releasing
//! it, since making one can run the garbage collector and with it any Python code.
//! Batch lookups on an integer table take it inside `py.detach`, so a writer waiting
//! with the GIL held cannot deadlock with them; on a table of objects they hold the
//! GIL throughout (the values are Python objects), so no writer can be waiting.

mod lock;

use super::convert::{self, Key};
use super::values::Value;
use crate::ip::IpPrefix;
use crate::lpm::LpmTable;
use lock::{ReadGuard, TableLock, WriteGuard};
use pyo3::exceptions::PyKeyError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyTypeInfo};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) type Inner = LpmTable<Value>;

/// The longest match for an address or a prefix: the matching prefix and value.
fn longest(t: &Inner, py: Python<'_>, key: &Key) -> Option<(IpPrefix, Value)> {
    match key {
        Key::Addr(a) => t.longest_match(*a).map(|(len, v)| {
            let p = IpPrefix::new(*a, len, false).expect("length from the table");
            (p, Value::found(v, py))
        }),
        Key::Net(p) => t.longest_covering(p).map(|(p, v)| (p, v.clone_ref(py))),
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
    inner: TableLock<Inner>,
}

impl PrefixTable {
    /// A table of the given prefixes and values (later duplicates replace earlier).
    pub(crate) fn from_items(
        items: impl IntoIterator<Item = (IpPrefix, Value)>,
        strict: bool,
    ) -> Self {
        PrefixTable::from_table(items.into_iter().collect(), strict)
    }

    pub(crate) fn from_table(inner: Inner, strict: bool) -> Self {
        PrefixTable {
            strict: AtomicBool::new(strict),
            inner: TableLock::new(inner),
        }
    }

    pub(crate) fn read(&self) -> ReadGuard<'_, Inner> {
        self.inner.read()
    }

    fn write(&self, py: Python<'_>) -> WriteGuard<'_, Inner> {
        self.inner.write(py)
    }

    /// The value of the longest match for `key`: the per-call path of `get` and `[]`.
    #[inline]
    fn value_of(&self, py: Python<'_>, key: &Key) -> Option<Value> {
        // SAFETY: the lookup runs Rust code only; the value is copied with `clone_ref`.
        unsafe {
            self.inner
                .read_attached(py, |inner| longest(inner, py, key).map(|(_, v)| v))
        }
    }

    /// [`Self::value_of`] for an address, all inline: the per-call path of `get` for
    /// the common keys (see [`convert::quick_address`]).
    #[inline(always)]
    fn value_of_addr(&self, py: Python<'_>, a: IpAddr) -> Option<Value> {
        // SAFETY: as in `value_of`.
        let found = |t: &Inner| t.longest_match(a).map(|(_, v)| Value::found(v, py));
        unsafe { self.inner.read_attached(py, found) }
    }

    /// The longest match for `key`: its prefix and value.
    fn longest(&self, py: Python<'_>, key: &Key) -> Option<(IpPrefix, Value)> {
        // SAFETY: as in `value_of`.
        unsafe {
            self.inner
                .read_attached(py, |inner| longest(inner, py, key))
        }
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

    /// `(network, value)` pairs as a Python list; values are read under the lock,
    /// Python objects are made after it is released.
    fn pairs<'py>(
        &self,
        py: Python<'py>,
        items: Vec<(IpPrefix, Value)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (p, v) in items {
            list.append((convert::network_object(py, &p)?, v.into_py(py)))?;
        }
        Ok(list)
    }

    /// Prefixes and values copied out of the table (under its lock), for
    /// [`Self::pairs`] to make into Python objects after the lock is released.
    fn copied<'a>(
        py: Python<'_>,
        items: impl IntoIterator<Item = (IpPrefix, &'a Value)>,
    ) -> Vec<(IpPrefix, Value)> {
        let copy = |(p, v): (IpPrefix, &Value)| (p, v.clone_ref(py));
        items.into_iter().map(copy).collect()
    }

    fn insert_one(
        &self,
        prefix: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Value>> {
        let p = self.network(prefix)?;
        let v = Value::from_py(value);
        Ok(self.write(prefix.py()).insert(&p, v))
    }
}

#[pymethods]
impl PrefixTable {
    #[new]
    #[pyo3(signature = (items = None, *, strict = true))]
    fn new(items: Option<&Bound<'_, PyAny>>, strict: bool) -> PyResult<Self> {
        let t = PrefixTable {
            strict: AtomicBool::new(strict),
            inner: TableLock::new(Inner::default()),
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
        std::mem::size_of::<Self>() + self.read().nbytes()
    }

    /// Whether lookups go to the compiled (Poptrie) form now.
    #[getter]
    fn compiled(&self) -> bool {
        self.read().is_compiled()
    }

    /// Compile now; false if the table cannot be compiled (too many values).
    fn compile(&self, py: Python<'_>) -> bool {
        py.detach(|| self.read().compile())
    }

    fn counts(&self) -> (usize, usize) {
        self.read().counts()
    }

    fn insert<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.insert_one(prefix, value)?.map(|old| old.into_py(py)))
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
        let found = match convert::quick_address(key) {
            Some(a) => self.value_of_addr(py, a),
            None => self.value_of(py, &self.key(key)?),
        };
        Ok(found.map(|v| v.into_py(py)).or(default))
    }

    fn lookup_with_prefix<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let k = self.key(key)?;
        let found = self.longest(py, &k);
        found
            .map(|(p, v)| PyTuple::new(py, [convert::network_object(py, &p)?, v.into_py(py)]))
            .transpose()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let k = match convert::quick_address(key) {
            Some(a) => Key::Addr(a),
            None => self.key(key)?,
        };
        let found = |inner: &Inner| match k {
            Key::Addr(a) => inner.contains(a),
            Key::Net(p) => inner.longest_covering(&p).is_some(),
        };
        // SAFETY: the lookup runs Rust code only.
        Ok(unsafe { self.inner.read_attached(key.py(), found) })
    }

    #[pyo3(signature = (prefix, default = None))]
    fn exact<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let p = self.network(prefix)?;
        let found = {
            let inner = self.read();
            inner.exact(&p).map(|v| v.clone_ref(py))
        };
        Ok(found.map(|v| v.into_py(py)).or(default))
    }

    fn has_prefix(&self, prefix: &Bound<'_, PyAny>) -> PyResult<bool> {
        let p = self.network(prefix)?;
        Ok(self.read().exact(&p).is_some())
    }

    fn __delitem__(&self, prefix: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = self.network(prefix)?;
        let old = self.write(prefix.py()).remove(&p);
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
        let old = self.write(py).remove(&p);
        match old {
            Some(v) => Ok(v.into_py(py)),
            None if default.len() == 1 => default.get_item(0),
            None => Err(key_error(prefix)),
        }
    }

    fn clear(&self, py: Python<'_>) {
        let old = self.write(py).clear();
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
            Self::copied(py, inner.covering(&p))
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
            Self::copied(py, inner.covered(&p))
        };
        self.pairs(py, items)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = {
            let inner = self.read();
            Self::copied(py, inner.iter())
        };
        self.pairs(py, items)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.items(py)?.try_iter()?.into_any())
    }

    fn __len__(&self) -> usize {
        self.read().len()
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
            Self::copied(py, inner.iter())
        };
        let (a, b) = (snapshot(self), snapshot(other));
        let mut equal = a.len() == b.len();
        for ((pa, va), (pb, vb)) in a.into_iter().zip(b) {
            if !equal {
                break;
            }
            equal = pa == pb && va.into_py(py).eq(vb.into_py(py))?;
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
                .iter()
                .map(|(p, v)| (p.to_string(), v.clone_ref(py)))
                .collect();
            pairs
        };
        let items = items.into_iter().map(|(p, v)| (p, v.into_py(py)));
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
        if let Some(inner) = self.inner.try_read() {
            for v in inner.values() {
                if let Value::Obj(obj) = v {
                    visit.call(obj)?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        Python::attach(|py| self.clear(py));
    }

    #[pyo3(signature = (addresses, *, missing = -1, on_error = "raise"))]
    fn lookup_batch<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        missing: i64,
        on_error: &str,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let on_error = on_error.parse().map_err(super::errors::value_error)?;
        super::batch::lookup_batch(self, py, addresses, missing, on_error)
    }
}
