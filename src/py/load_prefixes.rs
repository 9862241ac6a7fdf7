//! Python bindings of the prefix -> origin AS readers and writers: each reads the
//! file with the GIL released into a `PrefixTable` and returns it with the summary.

use super::load::{self, summary_dict};
use super::table::PrefixTable;
use super::values::Value;
use crate::ip::IpPrefix;
use crate::loaders::ipasn::{read_ipasn as read_ipasn_file, write_ipasn as write_ipasn_file};
use crate::loaders::Input;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
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
    let progress = load::progress_callback(py, progress, &path.display().to_string())?;
    let (table, summary) = load::run(py, on_error, progress, |opts| {
        let input = Input::open(&path)?;
        let size = input.size();
        let mut items = Vec::new();
        let summary = read_ipasn_file(input, opts, |p, asn| {
            items.push((p, Value::Int(asn as i64)))
        })?;
        Ok(((PrefixTable::from_items(items, true), summary), size))
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
    let header =
        header.unwrap_or_else(|| vec!["IP-ASN32-DAT file".into(), "written by geoip_rs".into()]);
    py.detach(|| {
        let file = std::fs::File::create(&path)?;
        write_ipasn_file(std::io::BufWriter::new(file), &header, items)
    })
    .map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))
}

/// Every `(prefix, asn)` of a table, or a `ValueError` naming the first prefix whose
/// value is not an AS number.
fn asn_items(table: &PrefixTable) -> PyResult<Vec<(IpPrefix, u32)>> {
    let inner = table.read();
    inner
        .table
        .iter()
        .map(
            |(p, id)| match inner.values.int(id).and_then(|i| u32::try_from(i).ok()) {
                Some(asn) => Ok((p, asn)),
                None => Err(PyValueError::new_err(format!(
                    "the value of {p} is not an AS number (an int 0..2**32-1)"
                ))),
            },
        )
        .collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_ipasn, m)?)?;
    m.add_function(wrap_pyfunction!(write_ipasn, m)?)?;
    Ok(())
}
