//! Python bindings of the prefix -> origin AS readers and writers: each reads the
//! file with the GIL released into a `PrefixTable` and returns it with the summary.
//! Values that are not plain integers are made into Python objects after the read,
//! with the GIL: one object per row, shared by all prefixes of the row.

use super::convert;
use super::errors::io_error;
use super::load::{self, summary_dict};
use super::objects::{self, ToObject};
use super::table::{Inner, PrefixTable};
use super::values::Value;
use crate::db::pool::Pool;
use crate::ip::IpPrefix;
use crate::loaders::ipasn::FILE_TAG;
use crate::loaders::ipasn::{read_ipasn as read_ipasn_file, write_ipasn as write_ipasn_file};
use crate::loaders::iptoasn::{read_iptoasn as read_iptoasn_file, IptoasnRow};
use crate::loaders::pfx2as::{read_pfx2as as read_pfx2as_file, write_pfx2as as write_pfx2as_file};
use crate::lpm::SlotValue;
use crate::origin::Origin;
use crate::table::IpTable;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFrozenSet, PyInt, PyTuple};
use std::collections::HashMap;
use std::path::PathBuf;

/// Read a pyasn ipasn file (`.dat`, `.dat.gz`) into a table of `prefix -> ASN`.
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_ipasn<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(PrefixTable, Bound<'py, PyDict>)> {
    let (table, summary) = load::read_file(py, &path, on_error, progress, |input, opts| {
        // Into the table as read: memory follows the distinct prefixes, not the lines.
        let mut table = Inner::new();
        let summary = read_ipasn_file(input, opts, |p, asn| {
            table.insert(&p, Value::Int(asn as i64));
        })?;
        Ok((PrefixTable::from_table(table, true), summary))
    })?;
    Ok((table, summary_dict(py, &summary)?))
}

/// Write a table whose values are AS numbers as a pyasn ipasn file.
#[pyfunction]
#[pyo3(signature = (table, path, *, header = None))]
fn write_ipasn(
    py: Python<'_>,
    table: &PrefixTable,
    path: PathBuf,
    header: Option<Vec<String>>,
) -> PyResult<()> {
    let items = asn_items(table)?;
    let header = header.unwrap_or_else(|| vec![FILE_TAG.into(), "written by geoip_rs".into()]);
    py.detach(|| {
        let file = std::fs::File::create(&path)?;
        write_ipasn_file(std::io::BufWriter::new(file), &header, items)
    })
    .map_err(|e| io_error(&path, e))
}

/// Every `(prefix, asn)` of a table, or a `ValueError` naming the first prefix whose
/// value is not an AS number.
fn asn_items(table: &PrefixTable) -> PyResult<Vec<(IpPrefix, u32)>> {
    let inner = table.read();
    let asn = |(p, v): (IpPrefix, &Value)| match v.as_int().and_then(|i| u32::try_from(i).ok()) {
        Some(asn) => Ok((p, asn)),
        None => Err(PyValueError::new_err(format!(
            "the value of {p} is not an AS number (an int 0..2**32-1)"
        ))),
    };
    inner.iter().map(asn).collect()
}

/// Read a CAIDA pfx2as file into a table of `prefix -> origins` (an `int` for one
/// plain origin, else a tuple of `int` and `frozenset` origins in file order).
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_pfx2as<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(PrefixTable, Bound<'py, PyDict>)> {
    let (items, summary) = load::read_file(py, &path, on_error, progress, |input, opts| {
        // Each prefix once (the last line wins), each distinct origin list once:
        // memory follows what the table holds, not the lines read.
        let mut lists = Pool::default();
        let mut items = IpTable::new();
        let summary = read_pfx2as_file(input, opts, |p, origins| {
            items.insert(&p, lists.id(origins));
        })?;
        Ok(((items, lists.items), summary))
    })?;
    let (items, lists) = items;
    let lists = lists
        .iter()
        .map(|origins| match origins[..] {
            [Origin::Asn(a)] => Ok(Value::Int(a as i64)),
            _ => Ok(Value::Obj(origins_tuple(py, origins)?.unbind())),
        })
        .collect::<PyResult<Vec<_>>>()?;
    let values = items
        .iter()
        .map(|(p, i)| (p, lists[i as usize].clone_ref(py)));
    let table = PrefixTable::from_items(values, true);
    Ok((table, summary_dict(py, &summary)?))
}

/// Several origins as a tuple of `int` and `frozenset[int]`.
fn origins_tuple<'py>(py: Python<'py>, origins: &[Origin]) -> PyResult<Bound<'py, PyAny>> {
    let items = origins.iter().map(|o| convert::origin_object(py, o));
    Ok(objects::tuple(py, items.collect::<PyResult<Vec<_>>>()?)?.into_any())
}

/// Write a table with the values `read_pfx2as` gives as a CAIDA pfx2as file.
#[pyfunction]
fn write_pfx2as(py: Python<'_>, table: &PrefixTable, path: PathBuf) -> PyResult<()> {
    let items = origin_items(py, table)?;
    py.detach(|| {
        let file = std::fs::File::create(&path)?;
        write_pfx2as_file(std::io::BufWriter::new(file), items)
    })
    .map_err(|e| io_error(&path, e))
}

/// Every `(prefix, origins)` of a table, or a `ValueError` naming the first prefix
/// whose value is not one `read_pfx2as` gives.
fn origin_items(py: Python<'_>, table: &PrefixTable) -> PyResult<Vec<(IpPrefix, Vec<Origin>)>> {
    // Values are copied out first: looking into them may run Python code, which must
    // not happen under the table's lock.
    let values: Vec<(IpPrefix, Result<i64, Py<PyAny>>)> = {
        let inner = table.read();
        inner
            .iter()
            .map(|(p, v)| match v {
                Value::Int(i) => (p, Ok(*i)),
                Value::Obj(o) => (p, Err(o.clone_ref(py))),
            })
            .collect()
    };
    values
        .into_iter()
        .map(|(p, v)| {
            let origins = match v {
                Ok(i) => u32::try_from(i).ok().map(|a| vec![Origin::Asn(a)]),
                Err(obj) => origins_of(obj.bind(py)),
            };
            origins.map(|o| (p, o)).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "the value of {p} is not a pfx2as origin: an AS number (an int \
                     0..2**32-1), or a tuple of two or more origins, each an AS number \
                     or a frozenset of two or more AS numbers"
                ))
            })
        })
        .collect()
}

/// The origins of a tuple value, if it has a shape `read_pfx2as` gives: two or more
/// origins, or a single AS set (a single plain AS is an `int`, not a tuple).
fn origins_of(obj: &Bound<'_, PyAny>) -> Option<Vec<Origin>> {
    let tuple = obj.cast::<PyTuple>().ok()?;
    let origins = tuple
        .iter()
        .map(|o| match asn_of(&o) {
            Some(a) => Some(Origin::Asn(a)),
            None => {
                let set = o.cast::<PyFrozenSet>().ok()?;
                let members = set.iter().map(|m| asn_of(&m)).collect::<Option<Vec<_>>>()?;
                (members.len() >= 2).then(|| Origin::set(members))
            }
        })
        .collect::<Option<Vec<_>>>()?;
    match origins[..] {
        [] | [Origin::Asn(_)] => None,
        _ => Some(origins),
    }
}

/// An `int` (not a `bool`) in 0..2**32.
fn asn_of(obj: &Bound<'_, PyAny>) -> Option<u32> {
    match obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        true => obj.extract().ok(),
        false => None,
    }
}

/// Read an iptoasn.com ip2asn or ip2country TSV file into a table of `prefix ->
/// (asn, country, description)` or `prefix -> country`.
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_iptoasn<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(PrefixTable, Bound<'py, PyDict>)> {
    let (rows, items, summary) = load::read_file(py, &path, on_error, progress, |input, opts| {
        // Distinct rows in the order first seen, and each prefix (the last line
        // wins) with the index of its row: memory follows what the table holds.
        let mut rows = Pool::default();
        let mut items = IpTable::new();
        let summary = read_iptoasn_file(input, opts, |p, row| {
            items.insert(&p, rows.id(row.clone()));
        })?;
        Ok((rows.items, items, summary))
    })?;
    let mut codes = HashMap::new();
    let values = rows
        .iter()
        .map(|row| row_value(py, row, &mut codes))
        .collect::<PyResult<Vec<_>>>()?;
    let table = PrefixTable::from_items(
        items
            .iter()
            .map(|(p, i)| (p, Value::Obj(values[i as usize].clone_ref(py)))),
        true,
    );
    Ok((table, summary_dict(py, &summary)?))
}

/// `(asn, country or None, description)` for an ip2asn row, the country for an
/// ip2country row. Country codes are made once each: a few hundred strings for all
/// rows.
fn row_value<'py>(
    py: Python<'py>,
    row: &IptoasnRow,
    codes: &mut HashMap<String, Bound<'py, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let mut code = |c: &str| -> PyResult<Bound<'py, PyAny>> {
        if let Some(s) = codes.get(c) {
            return Ok(s.clone());
        }
        let s = c.to_object(py)?;
        codes.insert(c.to_string(), s.clone());
        Ok(s)
    };
    Ok(match row {
        IptoasnRow::As(r) => {
            let country = match r.country.as_deref() {
                Some(c) => code(c)?,
                None => py.None().into_bound(py),
            };
            let items = vec![r.asn.to_object(py)?, country, r.description.to_object(py)?];
            objects::tuple(py, items)?.into_any().unbind()
        }
        IptoasnRow::Country(c) => code(c)?.unbind(),
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_ipasn, m)?)?;
    m.add_function(wrap_pyfunction!(write_ipasn, m)?)?;
    m.add_function(wrap_pyfunction!(read_pfx2as, m)?)?;
    m.add_function(wrap_pyfunction!(write_pfx2as, m)?)?;
    m.add_function(wrap_pyfunction!(read_iptoasn, m)?)?;
    Ok(())
}
