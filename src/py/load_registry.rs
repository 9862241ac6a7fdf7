//! Python bindings of the registry readers: CAIDA as2org, RIR delegated statistics
//! and AS names. Each reads its file with the GIL released, then builds dicts from
//! the core result.

use super::asn_ranges::AsnRanges;
use super::load::{self, summary_dict};
use super::objects;
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
    let out = objects::dict(py)?;
    let mut asns: Vec<u32> = db.ases.keys().copied().collect();
    asns.sort_unstable();
    for asn in asns {
        objects::set(&out, asn, as_dict(py, &db, asn)?)?;
    }
    let s = summary_dict(py, &summary)?;
    objects::set(&s, "orgs", db.orgs.len())?;
    objects::set(&s, "ases_without_org", db.ases_without_org())?;
    Ok((out, s))
}

fn as_dict<'py>(py: Python<'py>, db: &As2Org, asn: u32) -> PyResult<Bound<'py, PyDict>> {
    let a = &db.ases[&asn];
    let org = db.org(asn);
    let d = objects::dict(py)?;
    objects::set(&d, "asn", asn)?;
    objects::set(&d, "name", a.name.as_deref())?;
    objects::set(&d, "org_id", a.org_id.as_deref())?;
    objects::set(&d, "org_name", org.and_then(|o| o.name.as_deref()))?;
    objects::set(&d, "country", org.and_then(|o| o.country.as_deref()))?;
    objects::set(&d, "source", a.source.as_deref())?;
    objects::set(&d, "changed", a.changed.as_deref())?;
    objects::set(&d, "opaque_id", a.opaque_id.as_deref())?;
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
    objects::set(&s, "header", header)?;
    objects::set(&s, "declared", delegated.declared.clone())?;
    objects::set(&s, "counts", delegated.counts())?;
    Ok((table, asns, s))
}

fn record_dict<'py>(py: Python<'py>, d: &Delegation) -> PyResult<Bound<'py, PyDict>> {
    let out = objects::dict(py)?;
    objects::set(&out, "registry", &d.registry)?;
    objects::set(&out, "country", d.country.as_deref())?;
    objects::set(&out, "status", &d.status)?;
    objects::set(&out, "date", d.date.as_deref())?;
    objects::set(&out, "opaque_id", d.opaque_id.as_deref())?;
    Ok(out)
}

fn header_dict<'py>(py: Python<'py>, h: &RirHeader) -> PyResult<Bound<'py, PyDict>> {
    let out = objects::dict(py)?;
    objects::set(&out, "version", &h.version)?;
    objects::set(&out, "registry", &h.registry)?;
    objects::set(&out, "serial", &h.serial)?;
    objects::set(&out, "records", h.records)?;
    objects::set(&out, "start_date", h.start_date.as_deref())?;
    objects::set(&out, "end_date", h.end_date.as_deref())?;
    objects::set(&out, "utc_offset", h.utc_offset.as_deref())?;
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
    let out = objects::dict(py)?;
    for (asn, n) in names {
        let d = objects::dict(py)?;
        objects::set(&d, "asn", asn)?;
        objects::set(&d, "text", n.text)?;
        objects::set(&d, "handle", n.handle)?;
        objects::set(&d, "description", n.description)?;
        objects::set(&d, "country", n.country)?;
        objects::set(&out, asn, d)?;
    }
    Ok((out, summary_dict(py, &summary)?))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_as2org, m)?)?;
    m.add_function(wrap_pyfunction!(read_delegated, m)?)?;
    m.add_function(wrap_pyfunction!(read_asnames, m)?)?;
    Ok(())
}
