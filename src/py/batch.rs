//! The addresses of a `lookup_batch` argument, and `PrefixTable.lookup_batch`.
//!
//! numpy inputs are read in place as [`Keys`] and answered with the GIL released;
//! other iterables are converted address by address first (that needs Python), then
//! answered the same way. Results come back as numpy arrays built from Rust vectors
//! without a copy.

use super::arrow::{is_arrow, Column};
use super::convert;
use super::table::PrefixTable;
use super::values::Value;
use crate::addresses::OnError;
use crate::alloc::OutOfMemory;
use crate::batch::{Keys, OwnedKeys};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

/// A numpy array of addresses, borrowed for reading.
enum Array<'py> {
    V4(PyReadonlyArray1<'py, u32>),
    V6(PyReadonlyArray2<'py, u8>),
}

impl Array<'_> {
    /// The addresses, without a copy when the array is contiguous.
    fn owned(&self) -> OwnedKeys<'_> {
        match self {
            Array::V4(a) => OwnedKeys::V4(match a.as_slice() {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => Cow::Owned(a.as_array().to_vec()),
            }),
            // (`as_slice` also takes a Fortran-ordered array, whose rows are not
            // contiguous.)
            Array::V6(a) => OwnedKeys::V6(match a.as_slice() {
                Ok(s) if a.is_c_contiguous() => Cow::Borrowed(bytemuck::cast_slice(s)),
                _ => Cow::Owned(
                    a.as_array()
                        .outer_iter()
                        .map(|row| std::array::from_fn(|j| row[j]))
                        .collect(),
                ),
            }),
        }
    }
}

const EXPECTED: &str = "lookup_batch: expected a 1-D uint32 array of IPv4 addresses or an (N, 16) uint8 array of IPv6 addresses";

fn from_array<'py>(arr: &Bound<'py, PyUntypedArray>) -> PyResult<Option<Array<'py>>> {
    let dtype = arr.dtype();
    // Text and object arrays hold addresses one by one: read them as an iterable.
    // (Not `S` arrays: numpy strips trailing zero bytes, so packed addresses in them
    // come back shortened.)
    if matches!(dtype.kind(), b'U' | b'O') {
        return Ok(None);
    }
    if let Ok(a) = arr.cast::<PyArray1<u32>>() {
        return Ok(Some(Array::V4(a.readonly())));
    }
    if let Ok(a) = arr.cast::<PyArray2<u8>>() {
        if arr.shape()[1] == 16 {
            return Ok(Some(Array::V6(a.readonly())));
        }
    }
    let shape: Vec<String> = arr.shape().iter().map(usize::to_string).collect();
    let shape = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.join(", ")),
    };
    Err(PyTypeError::new_err(format!(
        "{EXPECTED}, got {} array of shape {shape}",
        dtype.str()?
    )))
}

fn not_addresses(obj: &Bound<'_, PyAny>) -> PyErr {
    let name = obj.get_type().name().map(|n| n.to_string());
    PyTypeError::new_err(format!(
        "lookup_batch: expected an array or an iterable of addresses, got {}",
        name.unwrap_or_default()
    ))
}

/// The addresses of an iterable, and which items were one: None is a row without
/// an address, as is a malformed string under `OnError::Null`.
fn from_iterable(
    obj: &Bound<'_, PyAny>,
    on_error: OnError,
) -> PyResult<(Vec<IpAddr>, Option<Vec<bool>>)> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(not_addresses(obj));
    }
    let py = obj.py();
    let items = obj.try_iter().map_err(|_| not_addresses(obj))?;
    let (mut out, mut valid) = (Vec::new(), Vec::new());
    for (i, item) in items.enumerate() {
        let item = item?;
        let addr = match item.is_none() {
            true => None,
            false => match convert::address(&item) {
                Ok(a) => Some(a),
                Err(e) if on_error == OnError::Null && e.is_instance_of::<PyValueError>(py) => None,
                Err(e) => return Err(convert::at_index(py, e, i)),
            },
        };
        out.push(addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        valid.push(addr.is_some());
    }
    let all = valid.iter().all(|&v| v);
    Ok((out, (!all).then_some(valid)))
}

/// `f` of the addresses of a `lookup_batch` argument and which rows have one (None
/// when all do): Arrow columns and numpy arrays read in place, other iterables
/// converted address by address.
pub(crate) fn with_keys<R>(
    addresses: &Bound<'_, PyAny>,
    on_error: OnError,
    f: impl FnOnce(Keys, Option<&[bool]>) -> PyResult<R>,
) -> PyResult<R> {
    if is_arrow(addresses) {
        let column = Column::extract(addresses)?;
        // Parsing text takes a while: without the GIL, as the lookups.
        let a = addresses.py().detach(|| column.addresses(on_error))?;
        return f(a.keys.keys(), a.valid.as_deref());
    }
    let array = match addresses.cast::<PyUntypedArray>() {
        Ok(arr) => from_array(arr)?,
        Err(_) => None,
    };
    let (owned, valid) = match &array {
        Some(a) => (a.owned(), None),
        None => {
            let (addrs, valid) = from_iterable(addresses, on_error)?;
            (OwnedKeys::Mixed(addrs), valid)
        }
    };
    f(owned.keys(), valid.as_deref())
}

/// `(values, prefix lengths, found)`: an integer table is answered with the GIL
/// released (the lock is taken inside `detach`, so it is never held while waiting
/// for the GIL; see table.rs), a table of objects with it, as its values are Python
/// objects.
pub(crate) fn lookup_batch<'py>(
    table: &PrefixTable,
    py: Python<'py>,
    addresses: &Bound<'py, PyAny>,
    missing: i64,
    on_error: OnError,
) -> PyResult<Bound<'py, PyTuple>> {
    with_keys(addresses, on_error, |keys, valid| {
        let ints = py.detach(|| {
            let mut a = table.read().lookup_ints(keys, missing)?;
            if let (Some(a), Some(v)) = (&mut a, valid) {
                a.mask(v, missing);
            }
            Ok::<_, OutOfMemory>(a)
        })?;
        let (values, lens, found) = match ints {
            Some(a) => (a.values.into_pyarray(py).into_any(), a.lens, a.found),
            None => {
                let (lens, values) = {
                    let t = table.read();
                    let (mut lens, mut values) = t.lookup_many(keys)?;
                    // Rows without an address are misses.
                    for (i, _) in valid.unwrap_or(&[]).iter().enumerate().filter(|(_, &v)| !v) {
                        (lens[i], values[i]) = (-1, None);
                    }
                    let copy = |v: Option<&Value>| v.map(|v| v.clone_ref(py));
                    (lens, values.into_iter().map(copy).collect::<Vec<_>>())
                };
                let values = values.into_iter().map(|v| v.map(|v| v.into_py(py)));
                let found = lens.iter().map(|&l| l >= 0).collect();
                (PyList::new(py, values)?.into_any(), lens, found)
            }
        };
        let arrays = [
            lens.into_pyarray(py).into_any(),
            found.into_pyarray(py).into_any(),
        ];
        PyTuple::new(py, [values, arrays[0].clone(), arrays[1].clone()])
    })
}
