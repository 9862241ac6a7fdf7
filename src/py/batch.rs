//! `PrefixTable.lookup_batch`: many longest-match lookups per call.
//!
//! numpy inputs are read as slices and answered with the GIL released; other iterables
//! are converted address by address first (that needs Python), then answered the same
//! way. Results come back as numpy arrays built from Rust vectors without a copy.

use super::convert;
use super::table::{Inner, PrefixTable, COMPILE_FOR_BATCH};
use crate::compiled::CompiledTable;
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
pub(crate) enum Batch {
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

pub(crate) fn from_array(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Option<Batch>> {
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

pub(crate) fn from_iterable(obj: &Bound<'_, PyAny>) -> PyResult<Batch> {
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

/// Batches this large are split over the machine's cores: the lookups are
/// independent and the table is shared read-only.
const PARALLEL_BATCH: usize = 1 << 17;

/// `f(start, a, b)` over matching chunks of `a` and `b` (`start` is the chunk's first
/// index), on several threads for a large batch.
pub(crate) fn for_chunks<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if a.len() < PARALLEL_BATCH || threads < 2 {
        return f(0, a, b);
    }
    let chunk = a.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (i, (ca, cb)) in a.chunks_mut(chunk).zip(b.chunks_mut(chunk)).enumerate() {
            let f = &f;
            s.spawn(move || f(i * chunk, ca, cb));
        }
    });
}

/// Lengths (-1 for a miss) and value slots (`u32::MAX` for a miss) of the addresses
/// from `start` on. The compiled form answers numpy batches with interleaved lookups.
fn fill(
    inner: &Inner,
    batch: &Batch,
    compiled: Option<&CompiledTable>,
    start: usize,
    lens: &mut [i16],
    ids: &mut [u32],
) {
    let end = start + lens.len();
    let found = |f: Option<(u8, u32)>| f.map_or((-1, u32::MAX), |(l, id)| (l as i16, id));
    match (compiled, batch) {
        (Some(c), Batch::V4(keys)) => c.v4().lookup_many(&keys[start..end], ids),
        (Some(c), Batch::V6(keys)) => c.v6().lookup_many(&keys[start..end], ids),
        // Unpacked ids straight from the tree (they may not fit a packed leaf).
        _ => {
            for (i, (len, id)) in lens.iter_mut().zip(ids.iter_mut()).enumerate() {
                (*len, *id) = found(batch.lookup(inner, start + i));
            }
            return;
        }
    }
    for (len, id) in lens.iter_mut().zip(ids.iter_mut()) {
        (*len, *id) = found(unpack(*id));
    }
}

/// Lengths and value slots of every address in the batch.
fn answer(inner: &Inner, batch: &Batch) -> (Vec<i16>, Vec<u32>) {
    let n = batch.len();
    let compiled = inner.compiled(n >= COMPILE_FOR_BATCH);
    let (mut lens, mut ids) = (vec![0i16; n], vec![0u32; n]);
    for_chunks(&mut lens, &mut ids, |start, l, d| {
        fill(inner, batch, compiled, start, l, d)
    });
    (lens, ids)
}

/// Integer values for an integer table, `None` otherwise.
fn int_values(inner: &Inner, ids: &mut [u32], missing: i64) -> Option<Vec<i64>> {
    let mut values = vec![missing; ids.len()];
    let all_int = std::sync::atomic::AtomicBool::new(true);
    for_chunks(ids, &mut values, |_, ids, vals| {
        for (id, v) in ids.iter().zip(vals) {
            if *id != u32::MAX {
                match inner.values.int(*id) {
                    Some(i) => *v = i,
                    None => all_int.store(false, std::sync::atomic::Ordering::Relaxed),
                }
            }
        }
    });
    all_int.into_inner().then_some(values)
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
        let (lens, mut ids) = answer(&inner, &batch);
        int_values(&inner, &mut ids, missing).map(|v| (lens, v))
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
