//! Python bindings of the registry readers: CAIDA as2org, RIR delegated statistics
//! and AS names. Each reads its file with the GIL released, then builds dicts from
//! the core result.

use super::asn_ranges::AsnRanges;
use super::load::{self, summary_dict};
use super::table::PrefixTable;
use super::values::Value;
use crate::loaders::as2org::{read_as2org as read_as2org_file, As2Org};
use crate::loaders::asnames::read_asnames as read_asnames_file;
use crate::loaders::rir::{read_delegated as read_delegated_file, Delegation, RirHeader};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;
use std::path::PathBuf;

/// Open `path`, read it with `read` and return the result with the file size.
/// Read a CAIDA as2org file into `{asn: {asn, name, org_id, org_name, country,
/// source, changed, opaque_id}}`.
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_as2org<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let (db, summary) = load::read_file(py, &path, on_error, progress, read_as2org_file)?;
    let out = PyDict::new(py);
    let mut asns: Vec<u32> = db.ases.keys().copied().collect();
    asns.sort_unstable();
    for asn in asns {
        out.set_item(asn, as_dict(py, &db, asn)?)?;
    }
    let s = summary_dict(py, &summary)?;
    s.set_item("orgs", db.orgs.len())?;
    s.set_item("ases_without_org", db.ases_without_org())?;
    Ok((out, s))
}

fn as_dict<'py>(py: Python<'py>, db: &As2Org, asn: u32) -> PyResult<Bound<'py, PyDict>> {
    let a = &db.ases[&asn];
    let org = db.org(asn);
    let d = PyDict::new(py);
    d.set_item("asn", asn)?;
    d.set_item("name", a.name.as_deref())?;
    d.set_item("org_id", a.org_id.as_deref())?;
    d.set_item("org_name", org.and_then(|o| o.name.as_deref()))?;
    d.set_item("country", org.and_then(|o| o.country.as_deref()))?;
    d.set_item("source", a.source.as_deref())?;
    d.set_item("changed", a.changed.as_deref())?;
    d.set_item("opaque_id", a.opaque_id.as_deref())?;
    Ok(d)
}

/// Read an RIR delegated statistics file into a table of `prefix -> record` and a
/// mapping of `asn -> record` kept as ranges (delegated resources only).
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_delegated<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(PrefixTable, AsnRanges, Bound<'py, PyDict>)> {
    let (delegated, summary) = load::read_file(py, &path, on_error, progress, read_delegated_file)?;
    // One dict per prefix and per ASN, so that changing one changes no other.
    let items = delegated
        .prefixes()
        .map(|(p, d)| Ok((p, Value::Obj(record_dict(py, d)?.into_any().unbind()))))
        .collect::<PyResult<Vec<_>>>()?;
    let table = PrefixTable::from_items(items, true);
    // One dict per ASN record: its range shares it.
    let ranges = delegated.asns();
    let mut records = vec![];
    let mut of_record = HashMap::new();
    let ranges = ranges.map(|&i| {
        *of_record.entry(i).or_insert_with(|| {
            records.push(i);
            records.len() - 1
        })
    });
    let records = records
        .into_iter()
        .map(|i| Ok(record_dict(py, &delegated.records[i])?.unbind()))
        .collect::<PyResult<Vec<_>>>()?;
    let asns = AsnRanges::new(ranges, records);
    let s = summary_dict(py, &summary)?;
    let header = delegated
        .header
        .as_ref()
        .map(|h| header_dict(py, h))
        .transpose()?;
    s.set_item("header", header)?;
    s.set_item("declared", delegated.declared.clone())?;
    s.set_item("counts", delegated.counts())?;
    Ok((table, asns, s))
}

fn record_dict<'py>(py: Python<'py>, d: &Delegation) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("registry", &d.registry)?;
    out.set_item("country", d.country.as_deref())?;
    out.set_item("status", &d.status)?;
    out.set_item("date", d.date.as_deref())?;
    out.set_item("opaque_id", d.opaque_id.as_deref())?;
    Ok(out)
}

fn header_dict<'py>(py: Python<'py>, h: &RirHeader) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("version", &h.version)?;
    out.set_item("registry", &h.registry)?;
    out.set_item("serial", &h.serial)?;
    out.set_item("records", h.records)?;
    out.set_item("start_date", h.start_date.as_deref())?;
    out.set_item("end_date", h.end_date.as_deref())?;
    out.set_item("utc_offset", h.utc_offset.as_deref())?;
    Ok(out)
}

/// Read an AS names file (pyasn JSON or cidr-report text) into
/// `{asn: {asn, text, handle, description, country}}`.
#[pyfunction]
#[pyo3(signature = (path, *, on_error = "raise", progress = None))]
fn read_asnames<'py>(
    py: Python<'py>,
    path: PathBuf,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let (names, summary) = load::read_file(py, &path, on_error, progress, read_asnames_file)?;
    let mut names: Vec<_> = names.into_iter().collect();
    names.sort_unstable_by_key(|(asn, _)| *asn);
    let out = PyDict::new(py);
    for (asn, n) in names {
        let d = PyDict::new(py);
        d.set_item("asn", asn)?;
        d.set_item("text", n.text)?;
        d.set_item("handle", n.handle)?;
        d.set_item("description", n.description)?;
        d.set_item("country", n.country)?;
        out.set_item(asn, d)?;
    }
    Ok((out, summary_dict(py, &summary)?))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_as2org, m)?)?;
    m.add_function(wrap_pyfunction!(read_delegated, m)?)?;
    m.add_function(wrap_pyfunction!(read_asnames, m)?)?;
    Ok(())
}
