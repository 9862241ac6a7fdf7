//! Python objects made so that a failed allocation is the `MemoryError` Python
//! raised. pyo3's constructors for dicts, ints and strings treat a null pointer from
//! CPython as impossible and panic (`panic_on_null`); out of memory, that panic
//! met a second one while unwinding and aborted the process. The loaders build one
//! object per record, so they use these instead; pyo3 has no fallible form of them.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyTuple};

/// A new empty dict.
pub fn dict(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // SAFETY: PyDict_New returns a new reference or null with an exception set.
    let any = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDict_New())? };
    Ok(any.cast_into::<PyDict>()?)
}

/// A new empty list.
pub fn list(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    // SAFETY: PyList_New returns a new reference or null with an exception set.
    let any = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(0))? };
    Ok(any.cast_into::<PyList>()?)
}

/// A tuple of `items`.
pub fn tuple<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyTuple>> {
    // SAFETY: PyTuple_New returns a new reference or null with an exception set;
    // PyTuple_SetItem steals the reference it is given, at an index in range.
    unsafe {
        let t = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(items.len() as ffi::Py_ssize_t))?;
        for (i, item) in items.into_iter().enumerate() {
            ffi::PyTuple_SetItem(t.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr());
        }
        Ok(t.cast_into::<PyTuple>()?)
    }
}

/// A frozenset of AS numbers.
pub fn frozenset<'py>(py: Python<'py>, items: &[u32]) -> PyResult<Bound<'py, PyFrozenSet>> {
    let items = items
        .iter()
        .map(|a| a.to_object(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyFrozenSet::new(py, &items)
}

/// A value as a Python object.
pub trait ToObject {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>>;
}

impl ToObject for u64 {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: a new reference, or null with MemoryError set.
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyLong_FromUnsignedLongLong(*self)) }
    }
}

impl ToObject for u32 {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        u64::from(*self).to_object(py)
    }
}

impl ToObject for usize {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (*self as u64).to_object(py)
    }
}

impl ToObject for bool {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // True and False are never allocated.
        Ok(pyo3::types::PyBool::new(py, *self).to_owned().into_any())
    }
}

impl ToObject for str {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (ptr, len) = (self.as_ptr().cast(), self.len() as ffi::Py_ssize_t);
        // SAFETY: valid UTF-8 of that length; a new reference or null with an error.
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromStringAndSize(ptr, len)) }
    }
}

impl ToObject for String {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.as_str().to_object(py)
    }
}

impl<T: ToObject + ?Sized> ToObject for &T {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        (**self).to_object(py)
    }
}

impl<T: ToObject> ToObject for Option<T> {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Some(v) => v.to_object(py),
            None => Ok(py.None().into_bound(py)),
        }
    }
}

impl<T> ToObject for Bound<'_, T> {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.as_any().clone().unbind().into_bound(py))
    }
}

/// `d[key] = value`, every object made fallibly.
pub fn set(d: &Bound<'_, PyDict>, key: impl ToObject, value: impl ToObject) -> PyResult<()> {
    let py = d.py();
    d.set_item(key.to_object(py)?, value.to_object(py)?)
}

impl<K: ToObject, V: ToObject> ToObject for std::collections::BTreeMap<K, V> {
    fn to_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = dict(py)?;
        for (k, v) in self {
            set(&d, k, v)?;
        }
        Ok(d.into_any())
    }
}
