//! `PrefixTable.lookup_batch`: many longest-match lookups per call.
//!
//! numpy inputs are read as slices and answered with the GIL released; other iterables
//! are converted address by address first (that needs Python), then answered the same
//! way. Results come back as numpy arrays built from Rust vectors without a copy.

use super::convert;
use super::table::{Inner, PrefixTable, COMPILE_FOR_BATCH};
use crate::poptrie::unpack;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::net::IpAddr;

/// Addresses converted from Python, ready for lookups without it.
enum Batch {
    V4(Vec<u32>),
    V6(Vec<u128>),
    Mixed(Vec<IpAddr>),
}

impl Batch {
    fn len(&self) -> usize {
        match self {
            Batch::V4(v) => v.len(),
            Batch::V6(v) => v.len(),
            Batch::Mixed(v) => v.len(),
        }
    }

    /// The longest match of the i-th address: its length and value slot.
    #[inline]
    fn lookup(&self, inner: &Inner, i: usize) -> Option<(u8, u32)> {
        match self {
            Batch::V4(v) => inner.longest_addr(IpAddr::V4(v[i].into())),
            Batch::V6(v) => inner.longest_addr(IpAddr::V6(v[i].into())),
            Batch::Mixed(v) => inner.longest_addr(v[i]),
        }
    }
}

const EXPECTED: &str = "lookup_batch: expected a 1-D uint32 array of IPv4 addresses or an (N, 16) uint8 array of IPv6 addresses";

fn from_array(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Batch>> {
    let dtype = arr.dtype();
    // Text and object arrays hold addresses one by one: read them as an iterable.
    // (Not `S` arrays: numpy strips trailing zero bytes, so packed addresses in them
    // come back shortened.)
    if matches!(dtype.kind(), b'U' | b'O') {
        return Ok(None);
    }
    if let Ok(a) = arr.cast::<PyArray1<u32>>() {
        let a = a.readonly();
        return Ok(Some(Batch::V4(
            a.as_slice()
                .map(<[u32]>::to_vec)
                .unwrap_or_else(|_| a.as_array().to_vec()),
        )));
    }
    if let Ok(a) = arr.cast::<PyArray2<u8>>() {
        if arr.shape()[1] == 16 {
            let a = a.readonly();
            let rows = a.as_array();
            let v6 = rows
                .outer_iter()
                .map(|row| row.iter().fold(0u128, |acc, &b| acc << 8 | b as u128))
                .collect();
            return Ok(Some(Batch::V6(v6)));
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

fn from_iterable(obj: &Bound<'_, PyAny>) -> PyResult<Batch> {
    let py = obj.py();
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        let name = obj.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "lookup_batch: expected an array or an iterable of addresses, got {name}"
        )));
    }
    let items = obj.try_iter().map_err(|_| {
        let name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "lookup_batch: expected an array or an iterable of addresses, got {name}"
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        out.push(convert::address(&item?).map_err(|e| convert::at_index(py, e, i))?);
    }
    Ok(Batch::Mixed(out))
}

/// Lengths (-1 for a miss) and the value slots of every address. Large batches use
/// the compiled form, with lookups interleaved.
fn answer(inner: &Inner, batch: &Batch) -> (Vec<i16>, Vec<u32>) {
    let n = batch.len();
    let compiled = inner.compiled(n >= COMPILE_FOR_BATCH);
    let leaves = match (compiled, batch) {
        (Some(c), Batch::V4(keys)) => Some(many(keys, |k, out| c.v4().lookup_many(k, out))),
        (Some(c), Batch::V6(keys)) => Some(many(keys, |k, out| c.v6().lookup_many(k, out))),
        _ => None,
    };
    let (mut lens, mut ids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut push = |found: Option<(u8, u32)>| match found {
        Some((len, id)) => {
            lens.push(len as i16);
            ids.push(id);
        }
        None => {
            lens.push(-1);
            ids.push(u32::MAX);
        }
    };
    match leaves {
        Some(leaves) => leaves.into_iter().for_each(|l| push(unpack(l))),
        None => (0..n).for_each(|i| push(batch.lookup(inner, i))),
    }
    (lens, ids)
}

fn many<K>(keys: &[K], lookup: impl Fn(&[K], &mut [u32])) -> Vec<u32> {
    let mut out = vec![0; keys.len()];
    lookup(keys, &mut out);
    out
}

/// Integer values for an integer table, `None` otherwise.
fn int_values(inner: &Inner, ids: &[u32], missing: i64) -> Option<Vec<i64>> {
    let value = |&id: &u32| {
        if id == u32::MAX {
            Some(missing)
        } else {
            inner.values.int(id)
        }
    };
    ids.iter().map(value).collect()
}

pub(crate) fn lookup_batch<'py>(
    table: &PrefixTable,
    py: Python<'py>,
    addresses: &Bound<'py, PyAny>,
    missing: i64,
) -> PyResult<Bound<'py, PyTuple>> {
    let array = match addresses.cast::<PyUntypedArray>() {
        Ok(arr) => from_array(arr)?,
        Err(_) => None,
    };
    let batch = match array {
        Some(b) => b,
        None => from_iterable(addresses)?,
    };
    // An integer table is answered with the GIL released. The lock is taken inside
    // `detach`, so it is never held while waiting for the GIL (see table.rs).
    let ints = py.detach(|| {
        let inner = table.read();
        if !inner.values.is_int_table() {
            return None;
        }
        let (lens, ids) = answer(&inner, &batch);
        int_values(&inner, &ids, missing).map(|v| (lens, v))
    });
    let (values, lens) = match ints {
        Some((lens, v)) => (v.into_pyarray(py).into_any(), lens),
        None => object_values(table, py, &batch)?,
    };
    let found: Vec<bool> = lens.iter().map(|&l| l >= 0).collect();
    PyTuple::new(
        py,
        [
            values,
            lens.into_pyarray(py).into_any(),
            found.into_pyarray(py).into_any(),
        ],
    )
}

/// An object table's answers, with the GIL held since values are Python objects.
fn object_values<'py>(
    table: &PrefixTable,
    py: Python<'py>,
    batch: &Batch,
) -> PyResult<(Bound<'py, PyAny>, Vec<i16>)> {
    let (lens, values) = {
        let inner = table.read();
        let (lens, ids) = answer(&inner, batch);
        let value = |&id: &u32| (id != u32::MAX).then(|| inner.values.get(id).to_py(py));
        let values: Vec<Option<Bound<'py, PyAny>>> = ids.iter().map(value).collect();
        (lens, values)
    };
    Ok((PyList::new(py, values)?.into_any(), lens))
}
