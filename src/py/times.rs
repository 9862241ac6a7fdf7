//! Times in, as `at=` takes them: a date, a datetime, Unix seconds, numpy
//! `datetime64`, an ISO string, or per address an array, list or Arrow column of
//! them; each turned into Unix seconds (the core's unit) with errors naming the
//! row, and the batch columns that say which snapshot answered.

use super::arrow::{is_arrow, Column};
use crate::db::history::time::{
    arrow_times, parse_time, to_seconds, SnapshotTimes, TimeError, TimeUnit,
};
use crate::db::{Database, Snapshots, View};
use numpy::{
    PyArray1, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyFloat, PyInt, PyString, PyType};
use std::borrow::Cow;

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn type_error(obj: &Bound<'_, PyAny>) -> PyErr {
    let name = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyTypeError::new_err(format!(
        "at: expected a time (datetime, date, Unix seconds, numpy datetime64 or an ISO \
         date string), got {name}"
    ))
}

/// One time as Unix seconds. A datetime without a time zone is taken as UTC, as
/// the snapshots' times are.
pub(crate) fn time(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = obj.py();
    // The common forms first, each by a type check that costs no Python call.
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(obj));
    }
    if obj.is_instance_of::<PyInt>() {
        return integer(obj);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str()?;
        return parse_time(s).ok_or_else(|| {
            PyValueError::new_err(format!(
                "at: {s:?} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
            ))
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float(f.value());
    }
    if obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        return datetime(obj);
    }
    if obj.is_instance(DATE.import(py, "datetime", "date")?)? {
        return Ok(days_since_1970(obj)? * 86_400);
    }
    numpy_time(obj)
}

/// numpy's scalars (`datetime64`, integers, floats) and 0-d arrays as a time.
fn numpy_time(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return match a.ndim() {
            0 => time(&obj.get_item(())?),
            _ => Err(type_error(obj)),
        };
    }
    let type_name = obj.get_type().name()?.to_string();
    if type_name == "datetime64" {
        return datetime64(obj);
    }
    if type_name.starts_with("float") {
        return float(obj.extract()?);
    }
    if obj.is_none() {
        return Err(PyValueError::new_err("at: None is not a time"));
    }
    // numpy's integers (anything with `__index__`).
    if obj.hasattr("__index__")? {
        return integer(obj);
    }
    Err(type_error(obj))
}

fn integer(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    obj.extract::<i64>().map_err(|_| {
        let shown = obj.repr().map(|r| r.to_string()).unwrap_or_default();
        PyValueError::new_err(format!("at: {shown} is out of range"))
    })
}

fn float(f: f64) -> PyResult<i64> {
    match f.is_finite() && f.abs() < 9.2e18 {
        true => Ok(f.floor() as i64),
        false => Err(PyValueError::new_err(format!("at: {f} is not a time"))),
    }
}

/// A datetime: one with a time zone is the instant it names; one without is UTC.
fn datetime(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    if !obj.eq(obj)? {
        // pandas' NaT, a datetime that is not equal to itself.
        return Err(PyValueError::new_err(format!(
            "at: {} is not a time",
            obj.str()?
        )));
    }
    let py = obj.py();
    if !obj.getattr(intern!(py, "tzinfo"))?.is_none() {
        return time(&obj.call_method0(intern!(py, "timestamp"))?);
    }
    // Its day and time of day (cheaper than making it aware first).
    let f = |name: &Bound<'_, PyString>| -> PyResult<i64> { obj.getattr(name)?.extract() };
    let ordinal = obj
        .call_method0(intern!(py, "toordinal"))?
        .extract::<i64>()?;
    let day = f(intern!(py, "hour"))? * 3600 + f(intern!(py, "minute"))? * 60;
    // Day 1 is 0001-01-01; 719,163 is 1970-01-01.
    Ok((ordinal - 719_163) * 86_400 + day + f(intern!(py, "second"))?)
}

/// A date's (or a datetime's) day, counted from 1970-01-01.
fn days_since_1970(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    // `toordinal` counts 0001-01-01 as day 1; 1970-01-01 is day 719,163.
    let ordinal: i64 = obj
        .call_method0(intern!(obj.py(), "toordinal"))?
        .extract()?;
    Ok(ordinal - 719_163)
}

/// A `datetime64` scalar: its unit from the dtype's text (`<M8[s]`), its count
/// from its bits.
fn datetime64(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = obj.py();
    let dtype: String = obj
        .getattr(intern!(py, "dtype"))?
        .getattr(intern!(py, "str"))?
        .extract()?;
    let unit = dtype
        .trim_start_matches(['<', '>', '=', '|'])
        .trim_start_matches("M8[");
    let value: i64 = obj
        .call_method1(intern!(py, "view"), (intern!(py, "i8"),))?
        .extract()?;
    let seconds = match TimeUnit::from_numpy(unit.trim_end_matches(']')) {
        Ok(u) => to_seconds(&[value], u),
        // Months, years and multiples of a unit: numpy converts them.
        Err(_) => {
            let s = obj.call_method1("astype", ("datetime64[s]",))?;
            to_seconds(
                &[s.call_method1("view", ("i8",))?.extract()?],
                TimeUnit::Seconds,
            )
        }
    };
    seconds.map(|s| s[0]).map_err(|e| match e {
        TimeError::Missing { .. } => PyValueError::new_err("at: NaT is not a time"),
        _ => PyValueError::new_err(format!("at: {dtype} time {value} is out of range")),
    })
}

/// A batch's `at=`: which view answers, and the snapshots of its rows.
pub(crate) enum RowsAt {
    /// No `at`: the newest snapshot.
    Newest,
    /// One time for all rows, at this snapshot.
    One(u32),
    /// One time for all rows, before the first snapshot.
    Before(Vec<u32>),
    /// A time per row (seconds), and each snapshot's time.
    Times {
        times: Vec<i64>,
        taken: SnapshotTimes,
    },
}

impl RowsAt {
    pub(crate) fn new(db: &Database, at: Option<&Bound<'_, PyAny>>, n: usize) -> PyResult<Self> {
        let Some(at) = at else {
            return Ok(RowsAt::Newest);
        };
        let Some(times) = times(at)? else {
            return Ok(match db.snapshot_at(time(at)?) {
                Some(s) => RowsAt::One(s),
                None => RowsAt::Before(vec![crate::db::layout::NONE; n]),
            });
        };
        if times.len() != n {
            return Err(PyValueError::new_err(format!(
                "at: {} times for {n} addresses (give one time, or one per address)",
                times.len()
            )));
        }
        Ok(RowsAt::Times {
            times,
            taken: SnapshotTimes::new(db.times()),
        })
    }

    pub(crate) fn view<'d>(&self, db: &'d Database) -> View<'d> {
        match self {
            RowsAt::One(s) => db.view_at(*s),
            _ => db.view(),
        }
    }

    pub(crate) fn snapshots(&self) -> Snapshots<'_> {
        match self {
            RowsAt::Newest | RowsAt::One(_) => Snapshots::Own,
            RowsAt::Before(none) => Snapshots::Each(none),
            RowsAt::Times { times, taken } => Snapshots::At { times, taken },
        }
    }
}

/// Times per row as seconds, or `None` for a single time.
fn times(at: &Bound<'_, PyAny>) -> PyResult<Option<Vec<i64>>> {
    if is_arrow(at) {
        let column = Column::extract(at)?;
        return arrow_times(&column.chunks).map(Some).map_err(|e| match e {
            TimeError::Type(m) => PyTypeError::new_err(format!("at: {m}")),
            e => PyValueError::new_err(format!("at: {e}")),
        });
    }
    let scalar = at.is_instance_of::<PyString>() || at.get_type().name()? == "datetime64";
    if scalar || at.try_iter().is_err() && at.cast::<PyUntypedArray>().is_err() {
        return Ok(None);
    }
    let arr = match at.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let np = at.py().import("numpy")?;
            np.call_method1("asarray", (at,))?
                .cast_into::<PyUntypedArray>()?
        }
    };
    if arr.ndim() != 1 {
        return match arr.ndim() {
            0 => Ok(None),
            d => Err(PyValueError::new_err(format!(
                "at: expected a 1-D array of times, got {d} dimensions"
            ))),
        };
    }
    match arr.dtype().kind() {
        b'M' => datetimes(&arr).map(Some),
        b'i' | b'u' | b'f' => numbers(&arr).map(Some),
        // Objects (datetimes, pandas Timestamps, None) and text, one by one.
        b'O' | b'U' => arr
            .try_iter()?
            .enumerate()
            .map(|(i, t)| time(&t?).map_err(|e| at_index(at.py(), e, i)))
            .collect::<PyResult<Vec<_>>>()
            .map(Some),
        _ => Err(PyTypeError::new_err(format!(
            "at: expected datetime64 or number (Unix seconds) times, got a {} array",
            arr.dtype().str()?
        ))),
    }
}

/// A `datetime64` array as seconds.
fn datetimes(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<i64>> {
    let np = arr.py().import("numpy")?;
    let (unit, count): (String, i64) = np
        .call_method1("datetime_data", (arr.dtype(),))?
        .extract()?;
    // Months and years are no fixed length, and multiples of a unit (`10s`) are
    // rare: numpy converts those.
    if unit == "M" || unit == "Y" || count != 1 {
        let arr = arr
            .call_method1("astype", ("datetime64[s]",))?
            .cast_into::<PyUntypedArray>()?;
        return datetimes(&arr);
    }
    let unit =
        TimeUnit::from_numpy(&unit).map_err(|e| PyValueError::new_err(format!("at: {e}")))?;
    let ints: PyReadonlyArray1<i64> = arr.call_method1("view", ("int64",))?.extract()?;
    let values = ints
        .as_slice()
        .map(Cow::Borrowed)
        .unwrap_or_else(|_| Cow::Owned(ints.as_array().to_vec()));
    to_seconds(&values, unit).map_err(|e| PyValueError::new_err(format!("at: {e}")))
}

/// An integer or float array as seconds (floats rounded down).
fn numbers(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<i64>> {
    let bad = |i: usize, v: &dyn std::fmt::Display| {
        PyValueError::new_err(format!(
            "at: time {v} at index {i} is not a time or out of range"
        ))
    };
    if arr.dtype().kind() == b'f' {
        let floats: PyReadonlyArray1<f64> = arr.call_method1("astype", ("float64",))?.extract()?;
        let floats = floats.as_array();
        return (floats.iter().enumerate())
            .map(|(i, &f)| match f.is_finite() && f.abs() < 9.2e18 {
                true => Ok(f.floor() as i64),
                false => Err(bad(i, &f)),
            })
            .collect();
    }
    if let Ok(big) = arr.cast::<PyArray1<u64>>() {
        // Past i64 a cast would wrap round to negative times.
        let big = big.readonly();
        if let Some((i, v)) = big
            .as_array()
            .iter()
            .enumerate()
            .find(|(_, &v)| v > i64::MAX as u64)
        {
            return Err(bad(i, v));
        }
    }
    if let Ok(ints) = arr.extract::<PyReadonlyArray1<i64>>() {
        return Ok(ints.as_array().to_vec());
    }
    let ints: PyReadonlyArray1<i64> = arr.call_method1("astype", ("int64",))?.extract()?;
    Ok(ints.as_array().to_vec())
}

/// A per-row error with its index.
fn at_index(py: Python<'_>, e: PyErr, i: usize) -> PyErr {
    let message = format!("{} (at index {i})", e.value(py));
    match e.is_instance_of::<PyTypeError>(py) {
        true => PyTypeError::new_err(message),
        false => PyValueError::new_err(message),
    }
}

/// The `snapshot` (its index, -1 before the first) and `snapshot_time` (NaT
/// before the first) columns of a batch asked at a time.
pub(crate) fn snapshot_columns(
    d: &Bound<'_, pyo3::types::PyDict>,
    times: &[i64],
    snapshot: Vec<u32>,
) -> PyResult<()> {
    use numpy::IntoPyArray;
    let py = d.py();
    let index_of = |s: u32| times.get(s as usize).map_or(-1, |_| s as i32);
    let time_of = |s: u32| times.get(s as usize).copied().unwrap_or(i64::MIN);
    if let Some(&s) = snapshot
        .first()
        .filter(|&&s| snapshot.iter().all(|&x| x == s))
    {
        // One snapshot for every row (one time asked): read-only views of one
        // value, rather than two arrays as long as the batch to fill.
        let np = py.import("numpy")?;
        let n = snapshot.len();
        let index = np.call_method1("int32", (index_of(s),))?;
        let when = np.call_method1("datetime64", (time_of(s), "s"))?;
        d.set_item("snapshot", np.call_method1("broadcast_to", (index, n))?)?;
        return d.set_item("snapshot_time", np.call_method1("broadcast_to", (when, n))?);
    }
    let index: Vec<i32> = snapshot.iter().map(|&s| index_of(s)).collect();
    let when: Vec<i64> = snapshot.iter().map(|&s| time_of(s)).collect();
    d.set_item("snapshot", index.into_pyarray(py))?;
    let when = when.into_pyarray(py);
    d.set_item(
        "snapshot_time",
        when.call_method1("view", ("datetime64[s]",))?,
    )
}
