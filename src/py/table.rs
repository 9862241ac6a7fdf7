//! `geoip_rs.PrefixTable`: the dict-like Python face of [`IpTable`].
//!
//! Locking: the table sits behind a readers-writer lock ([`lock`]). Lookups take it
//! shared (single lookups from Python skip it where the GIL stands in for it); writes
//! take it exclusively while attached to Python, and never call Python code while
//! holding it (replaced values are dropped after it is released, since dropping can
//! run `__del__`). Lookups copy values out and make Python objects after releasing
//! it, since making one can run the garbage collector and with it any Python code.
//! Batch lookups take it inside `py.detach`, so a writer waiting with the GIL held
//! cannot deadlock with them.

mod lock;

use super::convert::{self, Key};
use super::values::{Value, Values};
use crate::compiled::CompiledTable;
use crate::ip::IpPrefix;
use crate::table::IpTable;
use lock::{ReadGuard, TableLock, WriteGuard};
use pyo3::exceptions::PyKeyError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyTypeInfo};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The compiled (Poptrie) form of the table, whose leaves hold their own value ids
/// (see [`Values::compiled_ids`]).
pub(crate) struct Compiled {
    pub(crate) table: CompiledTable,
    /// The value slot of each compiled id.
    slots: Vec<u32>,
    /// The integer of each compiled id, for a table of integers: lookups read values
    /// from this small array rather than from the slots.
    pub(crate) ints: Option<Vec<i64>>,
}

impl Compiled {
    fn build(inner: &Inner) -> Option<Self> {
        let (ids, slots) = inner.values.compiled_ids();
        let table = CompiledTable::build_with(&inner.table, |slot| ids[slot as usize]).ok()?;
        let values = &inner.values;
        let ints = values
            .is_int_table()
            .then(|| slots.iter().map(|&s| values.int(s).expect("int")).collect());
        Some(Compiled { table, slots, ints })
    }

    /// The value slot of a compiled id.
    #[inline]
    pub(crate) fn slot(&self, id: u32) -> u32 {
        self.slots[id as usize]
    }

    /// The value of a compiled id, copied out of the table.
    #[inline]
    fn value(&self, values: &Values, py: Python<'_>, id: u32) -> Value {
        match &self.ints {
            Some(ints) => Value::Int(ints[id as usize]),
            None => values.get(self.slot(id)).clone_ref(py),
        }
    }

    fn nbytes(&self) -> usize {
        self.table.nbytes()
            + self.slots.capacity() * 4
            + self.ints.as_ref().map_or(0, |v| v.capacity() * 8)
    }
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) table: IpTable<u32>,
    pub(crate) values: Values,
    /// The compiled form of `table`, built on demand and dropped by every write.
    /// `None` inside: the table cannot be compiled (too many values).
    compiled: OnceLock<Option<Compiled>>,
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
    pub(crate) fn compiled(&self, build: bool) -> Option<&Compiled> {
        match build {
            true => self.compiled.get_or_init(|| Compiled::build(self)).as_ref(),
            false => self.compiled.get().and_then(Option::as_ref),
        }
    }

    /// The compiled form for a single lookup: built once there have been as many
    /// single lookups as prefixes.
    #[inline]
    fn compiled_for_single(&self) -> Option<&Compiled> {
        let build = self.compiled.get().is_none()
            && self.tree_lookups.fetch_add(1, Ordering::Relaxed)
                >= self.table.len().max(COMPILE_FOR_BATCH);
        self.compiled(build)
    }

    /// The longest match of an address: its length and value slot.
    #[inline]
    pub(crate) fn longest_addr(&self, a: IpAddr) -> Option<(u8, u32)> {
        match self.compiled_for_single() {
            Some(c) => c.table.longest_match(a).map(|(len, id)| (len, c.slot(id))),
            None => self.table.longest_match(a),
        }
    }

    /// The longest match of an address: its length and value.
    #[inline(always)]
    fn lookup(&self, py: Python<'_>, a: IpAddr) -> Option<(u8, Value)> {
        match self.compiled_for_single() {
            Some(c) => {
                let (len, id) = c.table.longest_match(a)?;
                Some((len, c.value(&self.values, py, id)))
            }
            None => {
                let (len, slot) = self.table.longest_match(a)?;
                Some((len, self.values.get(slot).clone_ref(py)))
            }
        }
    }

    /// The longest match for an address or a prefix: the matching prefix and value.
    fn longest(&self, py: Python<'_>, key: &Key) -> Option<(IpPrefix, Value)> {
        match key {
            Key::Addr(a) => self.lookup(py, *a).map(|(len, v)| {
                let p = IpPrefix::new(*a, len, false).expect("length from the table");
                (p, v)
            }),
            Key::Net(p) => {
                let (p, slot) = self.table.longest_covering(p)?;
                Some((p, self.values.get(slot).clone_ref(py)))
            }
        }
    }

    /// The value of the longest match for an address or a prefix.
    #[inline]
    fn value_of(&self, py: Python<'_>, key: &Key) -> Option<Value> {
        match key {
            Key::Addr(a) => self.lookup(py, *a).map(|(_, v)| v),
            Key::Net(_) => self.longest(py, key).map(|(_, v)| v),
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
    inner: TableLock<Inner>,
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
                .read_attached(py, |inner| inner.value_of(py, key))
        }
    }

    /// [`Self::value_of`] for an address, all inline: the per-call path of `get` for
    /// the common keys (see [`convert::quick_address`]).
    #[inline(always)]
    fn value_of_addr(&self, py: Python<'_>, a: IpAddr) -> Option<Value> {
        // SAFETY: as in `value_of`.
        unsafe { self.inner.read_attached(py, |inner| inner.lookup(py, a)) }.map(|(_, v)| v)
    }

    /// The longest match for `key`: its prefix and value.
    fn longest(&self, py: Python<'_>, key: &Key) -> Option<(IpPrefix, Value)> {
        // SAFETY: as in `value_of`.
        unsafe { self.inner.read_attached(py, |inner| inner.longest(py, key)) }
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

    /// The values of slots, copied out of the table.
    fn with_values(
        &self,
        py: Python<'_>,
        inner: &Inner,
        items: Vec<(IpPrefix, u32)>,
    ) -> Vec<(IpPrefix, Value)> {
        items
            .into_iter()
            .map(|(p, id)| (p, inner.values.get(id).clone_ref(py)))
            .collect()
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
            Key::Addr(a) => inner.longest_addr(a).is_some(),
            Key::Net(p) => inner.table.longest_covering(&p).is_some(),
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
            inner
                .table
                .exact(&p)
                .map(|id| inner.values.get(id).clone_ref(py))
        };
        Ok(found.map(|v| v.into_py(py)).or(default))
    }

    fn has_prefix(&self, prefix: &Bound<'_, PyAny>) -> PyResult<bool> {
        let p = self.network(prefix)?;
        Ok(self.read().table.exact(&p).is_some())
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
        let old = {
            let mut inner = self.write(py);
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
                .table
                .iter()
                .map(|(p, id)| (p.to_string(), inner.values.get(id).clone_ref(py)))
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
            for obj in inner.values.objects() {
                visit.call(obj)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        Python::attach(|py| self.clear(py));
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
