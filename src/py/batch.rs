//! `PrefixTable.lookup_batch`: many longest-match lookups per call.
//!
//! numpy inputs are read as slices and answered with the GIL released; other iterables
//! are converted address by address first (that needs Python), then answered the same
//! way. Results come back as numpy arrays built from Rust vectors without a copy.

use super::convert;
use super::table::{Compiled, Inner, PrefixTable, COMPILE_FOR_BATCH};
use super::values::Value;
use crate::poptrie::{split, unpack};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Addresses to look up: numpy arrays are read in place, other iterables converted.
pub(crate) enum Batch<'a> {
    V4(Cow<'a, [u32]>),
    /// IPv6 addresses as 16 bytes each, in network order.
    V6(Cow<'a, [[u8; 16]]>),
    Mixed(Vec<IpAddr>),
}

impl Batch<'_> {
    pub(crate) fn len(&self) -> usize {
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

/// A numpy array of addresses, borrowed for reading.
pub(crate) enum Array<'py> {
    V4(PyReadonlyArray1<'py, u32>),
    V6(PyReadonlyArray2<'py, u8>),
}

impl Array<'_> {
    /// The addresses, without a copy when the array is contiguous.
    pub(crate) fn batch(&self) -> Batch<'_> {
        match self {
            Array::V4(a) => Batch::V4(match a.as_slice() {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => Cow::Owned(a.as_array().to_vec()),
            }),
            // (`as_slice` also takes a Fortran-ordered array, whose rows are not
            // contiguous.)
            Array::V6(a) => Batch::V6(match a.as_slice() {
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

fn from_iterable(obj: &Bound<'_, PyAny>) -> PyResult<Batch<'static>> {
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

/// Output slices that a batch splits between threads.
pub(crate) trait Split: Sized + Send {
    fn len(&self) -> usize;
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<A: Send> Split for &mut [A] {
    fn len(&self) -> usize {
        <[A]>::len(self)
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

impl<A: Send, B: Send> Split for (&mut [A], &mut [B]) {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let ((a0, a1), (b0, b1)) = (self.0.split_at_mut(mid), self.1.split_at_mut(mid));
        ((a0, b0), (a1, b1))
    }
}

/// `f(start, chunk)` over chunks of `out` (`start` is the chunk's first index), on
/// every core for a large batch; the calling thread takes the last chunk.
pub(crate) fn for_chunks<S: Split>(out: S, f: impl Fn(usize, S) + Sync) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = out.len();
    if n < PARALLEL_BATCH || threads < 2 {
        return f(0, out);
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let (mut rest, mut start) = (out, 0);
        while rest.len() > chunk {
            let (head, tail) = rest.split_at(chunk);
            let f = &f;
            s.spawn(move || f(start, head));
            (rest, start) = (tail, start + chunk);
        }
        f(start, rest);
    });
}

/// What a batch gives back: values, prefix lengths (-1 for a miss), found flags.
struct Answers<V> {
    values: Vec<V>,
    lens: Vec<i16>,
    found: Vec<bool>,
}

/// One chunk of an integer table's answers.
struct IntOut<'a> {
    values: &'a mut [i64],
    lens: &'a mut [i16],
    found: &'a mut [bool],
}

impl Split for IntOut<'_> {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (v0, v1) = self.values.split_at_mut(mid);
        let (l0, l1) = self.lens.split_at_mut(mid);
        let (f0, f1) = self.found.split_at_mut(mid);
        let out = |values, lens, found| IntOut {
            values,
            lens,
            found,
        };
        (out(v0, l0, f0), out(v1, l1, f1))
    }
}

/// The fast path, for a numpy batch on an integer table with a compiled form: each
/// thread looks up a small block at a time and writes the answers straight into the
/// output arrays, reading values from the compiled form's small array of integers.
fn answer_compiled_ints(inner: &Inner, batch: &Batch, missing: i64) -> Option<Answers<i64>> {
    let n = batch.len();
    let c = inner.compiled(n >= COMPILE_FOR_BATCH)?;
    let ints = c.ints.as_deref()?;
    if matches!(batch, Batch::Mixed(_)) {
        return None;
    }
    let mut a = Answers {
        values: vec![0; n],
        lens: vec![0; n],
        found: vec![false; n],
    };
    let out = IntOut {
        values: &mut a.values,
        lens: &mut a.lens,
        found: &mut a.found,
    };
    for_chunks(out, |start, out| {
        fill_ints(c, ints, batch, start, out, missing)
    });
    Some(a)
}

fn fill_ints(c: &Compiled, ints: &[i64], batch: &Batch, start: usize, out: IntOut, missing: i64) {
    // Small enough to stay in the first-level cache between the two passes.
    const BLOCK: usize = 1024;
    let mut leaves = [0u32; BLOCK];
    let mut keys6 = [0u128; BLOCK];
    let n = out.values.len();
    for lo in (0..n).step_by(BLOCK) {
        let m = BLOCK.min(n - lo);
        let (keys, leaves) = (start + lo..start + lo + m, &mut leaves[..m]);
        match batch {
            Batch::V4(k) => c.table.v4().lookup_many(&k[keys], leaves),
            Batch::V6(rows) => {
                for (k, row) in keys6.iter_mut().zip(&rows[keys]) {
                    *k = u128::from_be_bytes(*row);
                }
                c.table.v6().lookup_many(&keys6[..m], leaves)
            }
            Batch::Mixed(_) => unreachable!("numpy batches only"),
        }
        let rows = out.values[lo..lo + m]
            .iter_mut()
            .zip(&mut out.lens[lo..lo + m])
            .zip(&mut out.found[lo..lo + m]);
        for (((value, len), found), &leaf) in rows.zip(leaves.iter()) {
            // Selects, not a branch on hit or miss: uniform addresses miss a third of
            // the time at random, and the mispredictions measured as costly as the
            // lookups. A miss reads id 0, which is in cache.
            let (hit, l, id) = split(leaf);
            let v = ints.get(id as usize).copied().unwrap_or(missing);
            *value = if hit { v } else { missing };
            *len = if hit { l as i16 } else { -1 };
            *found = hit;
        }
    }
}

/// Lengths (-1 for a miss) and value slots (`u32::MAX` for a miss) of the addresses
/// from `start` on. The compiled form answers numpy batches with interleaved lookups.
fn fill(inner: &Inner, batch: &Batch, start: usize, lens: &mut [i16], slots: &mut [u32]) {
    let end = start + lens.len();
    let found = |f: Option<(u8, u32)>| f.map_or((-1, u32::MAX), |(l, id)| (l as i16, id));
    let compiled = inner.compiled(false);
    match (compiled, batch) {
        (Some(c), Batch::V4(keys)) => c.table.v4().lookup_many(&keys[start..end], slots),
        (Some(c), Batch::V6(rows)) => {
            let keys: Vec<u128> = rows[start..end]
                .iter()
                .map(|r| u128::from_be_bytes(*r))
                .collect();
            c.table.v6().lookup_many(&keys, slots)
        }
        // Slots straight from the tree (they may not fit a packed leaf).
        _ => {
            for (i, (len, slot)) in lens.iter_mut().zip(slots.iter_mut()).enumerate() {
                (*len, *slot) = found(batch.lookup(inner, start + i));
            }
            return;
        }
    }
    let c = compiled.expect("compiled");
    for (len, slot) in lens.iter_mut().zip(slots.iter_mut()) {
        (*len, *slot) = found(unpack(*slot).map(|(l, id)| (l, c.slot(id))));
    }
}

/// Lengths and value slots of every address in the batch.
fn answer(inner: &Inner, batch: &Batch) -> (Vec<i16>, Vec<u32>) {
    let n = batch.len();
    inner.compiled(n >= COMPILE_FOR_BATCH);
    let (mut lens, mut slots) = (vec![0i16; n], vec![0u32; n]);
    for_chunks((&mut lens[..], &mut slots[..]), |start, (l, s)| {
        fill(inner, batch, start, l, s)
    });
    (lens, slots)
}

/// Integer values for an integer table, `None` otherwise.
fn int_values(inner: &Inner, slots: &mut [u32], missing: i64) -> Option<Vec<i64>> {
    let mut values = vec![missing; slots.len()];
    let all_int = AtomicBool::new(true);
    for_chunks((slots, &mut values[..]), |_, (slots, vals)| {
        for (slot, v) in slots.iter().zip(vals) {
            if *slot != u32::MAX {
                match inner.values.int(*slot) {
                    Some(i) => *v = i,
                    None => all_int.store(false, Ordering::Relaxed),
                }
            }
        }
    });
    all_int.into_inner().then_some(values)
}

/// An integer table's answers, without Python; `None` for a table of objects.
fn int_answers(inner: &Inner, batch: &Batch, missing: i64) -> Option<Answers<i64>> {
    if !inner.values.is_int_table() {
        return None;
    }
    if let Some(a) = answer_compiled_ints(inner, batch, missing) {
        return Some(a);
    }
    let (lens, mut slots) = answer(inner, batch);
    let values = int_values(inner, &mut slots, missing)?;
    let found = lens.iter().map(|&l| l >= 0).collect();
    Some(Answers {
        values,
        lens,
        found,
    })
}

/// `f` of the addresses of a `lookup_batch` argument: numpy arrays read in place,
/// other iterables converted address by address.
pub(crate) fn with_batch<R>(
    addresses: &Bound<'_, PyAny>,
    f: impl FnOnce(&Batch) -> PyResult<R>,
) -> PyResult<R> {
    let array = match addresses.cast::<PyUntypedArray>() {
        Ok(arr) => from_array(arr)?,
        Err(_) => None,
    };
    let batch = match &array {
        Some(a) => a.batch(),
        None => from_iterable(addresses)?,
    };
    f(&batch)
}

pub(crate) fn lookup_batch<'py>(
    table: &PrefixTable,
    py: Python<'py>,
    addresses: &Bound<'py, PyAny>,
    missing: i64,
) -> PyResult<Bound<'py, PyTuple>> {
    // An integer table is answered with the GIL released. The lock is taken inside
    // `detach`, so it is never held while waiting for the GIL (see table.rs).
    with_batch(addresses, |batch| answer_python(table, py, batch, missing))
}

fn answer_python<'py>(
    table: &PrefixTable,
    py: Python<'py>,
    batch: &Batch,
    missing: i64,
) -> PyResult<Bound<'py, PyTuple>> {
    let ints = py.detach(|| int_answers(&table.read(), batch, missing));
    let (values, lens, found) = match ints {
        Some(a) => (a.values.into_pyarray(py).into_any(), a.lens, a.found),
        None => {
            let (values, lens) = object_values(table, py, batch)?;
            let found = lens.iter().map(|&l| l >= 0).collect();
            (values, lens, found)
        }
    };
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
        let (lens, slots) = answer(&inner, batch);
        let value = |&s: &u32| (s != u32::MAX).then(|| inner.values.get(s).clone_ref(py));
        let values: Vec<Option<Value>> = slots.iter().map(value).collect();
        (lens, values)
    };
    let values = values.into_iter().map(|v| v.map(|v| v.into_py(py)));
    Ok((PyList::new(py, values)?.into_any(), lens))
}
