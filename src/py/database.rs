//! `geoip_rs.Database` (subclassed in Python for the pandas helpers) and `Record`.
//!
//! The opened [`Database`] sits in an `Arc` behind a lock that `close()` empties:
//! each call clones the `Arc` and lets the lock go at once, so a batch running
//! without the GIL keeps the map alive until it ends even if another thread closes.

use super::batch::{for_chunks, with_batch, Batch};
use super::convert;
use crate::db::{Answer, CountrySource, Database, DbError, View};
use crate::ip::IpPrefix;
use numpy::{IntoPyArray, PyFixedString};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::PyTypeInfo;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pyo3::create_exception!(
    geoip_rs,
    DatabaseError,
    PyValueError,
    "A file is not a usable geoip_rs database: not one at all, a newer format, truncated or corrupt. The message names the file and what is wrong."
);

pub(crate) fn db_error(e: DbError) -> PyErr {
    match e {
        DbError::Io { path, error } if error.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err((
                2,
                "No such file or directory",
                path.display().to_string(),
            ))
        }
        DbError::Io { .. } => PyOSError::new_err(e.to_string()),
        DbError::Invalid { .. } => DatabaseError::new_err(e.to_string()),
    }
}

/// What one address maps to (see the `.pyi` stub).
#[pyclass(frozen, eq, hash, module = "geoip_rs", name = "Record")]
#[derive(PartialEq, Eq, Hash, Clone)]
pub struct Record {
    address: IpAddr,
    prefix: IpPrefix,
    #[pyo3(get)]
    asn: u32,
    origins: Vec<u32>,
    #[pyo3(get)]
    as_name: Option<String>,
    #[pyo3(get)]
    org_id: Option<String>,
    #[pyo3(get)]
    org_name: Option<String>,
    #[pyo3(get)]
    country: Option<String>,
    #[pyo3(get)]
    country_source: Option<String>,
    #[pyo3(get)]
    registry: Option<String>,
}

const FIELDS: [&str; 10] = [
    "address",
    "prefix",
    "asn",
    "origins",
    "as_name",
    "org_id",
    "org_name",
    "country",
    "country_source",
    "registry",
];

impl Record {
    fn from_core(r: crate::db::Record<'_>) -> Self {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Record {
            address: r.address,
            prefix: r.prefix,
            asn: r.asn,
            origins: r.origins.to_vec(),
            as_name: own(r.as_name),
            org_id: own(r.org_id),
            org_name: own(r.org_name),
            country: own(r.country),
            country_source: r.country_source.map(|s| s.name().to_owned()),
            registry: own(r.registry),
        }
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        Ok(vec![
            convert::address_object(py, self.address)?,
            convert::network_object(py, &self.prefix)?,
            self.asn.into_pyobject(py)?.into_any(),
            PyTuple::new(py, &self.origins)?.into_any(),
            self.as_name.clone().into_pyobject(py)?,
            self.org_id.clone().into_pyobject(py)?,
            self.org_name.clone().into_pyobject(py)?,
            self.country.clone().into_pyobject(py)?,
            self.country_source.clone().into_pyobject(py)?,
            self.registry.clone().into_pyobject(py)?,
        ])
    }
}

#[pymethods]
impl Record {
    #[new]
    #[pyo3(signature = (address, prefix, asn, origins, as_name=None, org_id=None, org_name=None, country=None, country_source=None, registry=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        address: &Bound<'_, PyAny>,
        prefix: &Bound<'_, PyAny>,
        asn: u32,
        origins: Vec<u32>,
        as_name: Option<String>,
        org_id: Option<String>,
        org_name: Option<String>,
        country: Option<String>,
        country_source: Option<String>,
        registry: Option<String>,
    ) -> PyResult<Self> {
        Ok(Record {
            address: convert::address(address)?,
            prefix: convert::network(prefix, true)?,
            asn,
            origins,
            as_name,
            org_id,
            org_name,
            country,
            country_source,
            registry,
        })
    }

    #[getter]
    fn address<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::address_object(py, self.address)
    }

    #[getter]
    fn prefix<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::network_object(py, &self.prefix)
    }

    #[getter]
    fn origins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.origins)
    }

    /// The fields as a dict, in their order.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in FIELDS.iter().zip(self.values(py)?) {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = vec![
            format!("address='{}'", self.address),
            format!("prefix='{}'", self.prefix),
        ];
        for (k, v) in FIELDS.iter().zip(self.values(py)?).skip(2) {
            parts.push(format!("{k}={}", v.repr()?));
        }
        Ok(format!("Record({})", parts.join(", ")))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, slf.get().values(py)?)?;
        PyTuple::new(py, [Record::type_object(py).into_any(), args.into_any()])
    }
}

/// A GeoIP database file, memory-mapped (see the `.pyi` stub).
#[pyclass(frozen, subclass, module = "geoip_rs", name = "Database")]
pub struct PyDatabase {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
}

/// An AS number from an int or a string such as `"15169"` or `"AS15169"`.
fn asn_arg(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_str()?;
        let digits = s
            .strip_prefix("AS")
            .or_else(|| s.strip_prefix("as"))
            .unwrap_or(s);
        return crate::loaders::parse_asn(digits)
            .map_err(|_| PyValueError::new_err(format!("{s:?} is not an AS number")));
    }
    obj.extract::<u32>()
        .map_err(|_| match obj.extract::<i128>() {
            Ok(n) => PyValueError::new_err(format!("AS number {n} is out of range 0..=4294967295")),
            Err(_) => PyTypeError::new_err(format!(
                "expected an AS number as int or str, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )),
        })
}

impl PyDatabase {
    /// The open database; a `ValueError` after `close()`.
    fn db(&self) -> PyResult<Arc<Database>> {
        match &*self.db.read().unwrap_or_else(|e| e.into_inner()) {
            Some(db) => Ok(db.clone()),
            None => Err(PyValueError::new_err(format!(
                "I/O operation on closed database {}",
                self.path.display()
            ))),
        }
    }

    /// The prefixes `which` relates to `prefix`, as `(network, asn)` pairs.
    fn related<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
        which: fn(&View<'_>, &IpPrefix) -> Vec<(IpPrefix, u32)>,
    ) -> PyResult<Bound<'py, PyList>> {
        let p = match convert::key(prefix, true)? {
            convert::Key::Addr(a) => IpPrefix::host(a),
            convert::Key::Net(p) => p,
        };
        let db = self.db()?;
        let v = db.view();
        let pairs = which(&v, &p)
            .iter()
            .map(|(p, r)| {
                let asn = v.origins(*r).first().copied().unwrap_or(0);
                Ok((convert::network_object(py, p)?, asn))
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }
}

#[pymethods]
impl PyDatabase {
    #[new]
    #[pyo3(signature = (path, *, verify = true))]
    fn new(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Self> {
        let db = py
            .detach(|| Database::open(&path, verify))
            .map_err(db_error)?;
        Ok(PyDatabase {
            path,
            db: RwLock::new(Some(Arc::new(db))),
        })
    }

    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.db.read().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// The provenance: sources, options, version, build time, counts.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(self.db()?.metadata())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Size of the file in bytes.
    #[getter]
    fn file_size(&self) -> PyResult<usize> {
        Ok(self.db()?.file_size())
    }

    fn lookup(&self, ip: &Bound<'_, PyAny>) -> PyResult<Option<Record>> {
        let addr = convert::address(ip)?;
        let db = self.db()?;
        let record = db.view().record(addr).map(Record::from_core);
        Ok(record)
    }

    /// Same as `lookup` (the name maxminddb's reader uses).
    fn get(&self, ip: &Bound<'_, PyAny>) -> PyResult<Option<Record>> {
        self.lookup(ip)
    }

    fn __contains__(&self, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        let addr = convert::address(ip)?;
        Ok(self.db()?.view().lookup(addr).is_some())
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.db()?.view().len())
    }

    fn __iter__(&self) -> PyResult<DbIter> {
        Ok(DbIter {
            db: self.db()?,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// What the database knows about an AS, as a dict; None if nothing.
    fn as_info<'py>(
        &self,
        py: Python<'py>,
        asn: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let asn = asn_arg(asn)?;
        let db = self.db()?;
        let v = db.view();
        let Some(a) = v.as_record(asn) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("asn", a.asn)?;
        d.set_item("name", a.name)?;
        d.set_item("org_id", a.org_id)?;
        d.set_item("org_name", a.org_name)?;
        d.set_item("org_country", a.org_country)?;
        d.set_item("registry", a.registry)?;
        d.set_item("rir_country", a.rir_country)?;
        d.set_item("name_country", a.name_country)?;
        Ok(Some(d))
    }

    /// The prefixes `asn` originates, in address order.
    fn prefixes<'py>(
        &self,
        py: Python<'py>,
        asn: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let asn = asn_arg(asn)?;
        let db = self.db()?;
        let found = py.detach(|| db.view().prefixes_of(asn));
        let nets = found
            .iter()
            .map(|p| convert::network_object(py, p))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, nets)
    }

    /// Routed prefixes containing `prefix` (or an address), shortest first, as
    /// `(network, asn)` pairs.
    fn covering<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.related(py, prefix, |v, p| v.covering(p))
    }

    /// Routed prefixes inside `prefix`, in address order, as `(network, asn)` pairs.
    fn covered<'py>(
        &self,
        py: Python<'py>,
        prefix: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.related(py, prefix, |v, p| v.covered(p))
    }

    /// `{asn: (ipv4 addresses, ipv6 addresses)}` for every origin AS.
    fn as_sizes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let db = self.db()?;
        let tally = py.detach(|| db.view().as_tally());
        let d = PyDict::new(py);
        for (asn, t) in tally {
            d.set_item(asn, (t.v4_addresses, t.v6_addresses))?;
        }
        Ok(d)
    }

    /// Columns of the per-AS (`by="asn"`) or per-country summary, as lists.
    #[pyo3(signature = (by = "asn"))]
    fn _summary<'py>(&self, py: Python<'py>, by: &str) -> PyResult<Bound<'py, PyDict>> {
        let db = self.db()?;
        let d = PyDict::new(py);
        match by {
            "asn" => {
                let tally = py.detach(|| db.view().as_tally());
                let v = db.view();
                let rows: Vec<_> = tally.into_iter().collect();
                let info: Vec<_> = rows.iter().map(|(a, _)| v.as_record(*a)).collect();
                let col =
                    |f: &dyn Fn(&crate::db::AsRecord) -> Option<String>| -> Vec<Option<String>> {
                        info.iter().map(|i| i.as_ref().and_then(f)).collect()
                    };
                d.set_item("asn", rows.iter().map(|(a, _)| *a).collect::<Vec<_>>())?;
                d.set_item("as_name", col(&|i| i.name.map(str::to_owned)))?;
                d.set_item("org_id", col(&|i| i.org_id.map(str::to_owned)))?;
                d.set_item("org_name", col(&|i| i.org_name.map(str::to_owned)))?;
                let country = |i: &crate::db::AsRecord| {
                    i.org_country
                        .or(i.rir_country)
                        .or(i.name_country)
                        .map(str::to_owned)
                };
                d.set_item("country", col(&country))?;
                tally_columns(&d, rows.iter().map(|(_, t)| t))?;
            }
            "country" => {
                let tally = py.detach(|| db.view().country_tally());
                let cc: Vec<Option<&str>> = tally
                    .keys()
                    .map(|k| k.and_then(crate::db::query::country_text))
                    .collect();
                d.set_item("country", cc)?;
                d.set_item("ases", tally.values().map(|(_, n)| *n).collect::<Vec<_>>())?;
                tally_columns(&d, tally.values().map(|(t, _)| t))?;
            }
            _ => {
                return Err(PyValueError::new_err(format!(
                    "by must be 'asn' or 'country', not {by:?}"
                )))
            }
        }
        Ok(d)
    }

    /// Columns for many addresses (see the `.pyi` stub).
    #[pyo3(signature = (addresses, *, details = false))]
    fn lookup_batch<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        details: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let db = self.db()?;
        with_batch(addresses, |batch| {
            let answers = py.detach(|| answer_batch(&db, batch));
            batch_columns(py, &db, batch, &answers, details)
        })
    }

    /// Rows `start..start+count` of the prefix list, for export: prefix, origin AS,
    /// all origins, AS name, org id, org name, country, country source, registry.
    #[allow(clippy::type_complexity)]
    fn _export_rows(
        &self,
        start: usize,
        count: usize,
    ) -> PyResult<Vec<(String, u32, Vec<u32>, [Option<String>; 6])>> {
        let db = self.db()?;
        let v = db.view();
        let own = |s: Option<&str>| s.map(str::to_owned);
        Ok((start..start.saturating_add(count))
            .map_while(|i| v.nth(i))
            .filter_map(|(p, r)| v.prefix_record(p, r))
            .map(|r| {
                let text = [
                    own(r.as_name),
                    own(r.org_id),
                    own(r.org_name),
                    own(r.country),
                    r.country_source.map(|s| s.name().to_owned()),
                    own(r.registry),
                ];
                (r.prefix.to_string(), r.asn, r.origins.to_vec(), text)
            })
            .collect())
    }

    fn close(&self) {
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }

    fn __repr__(&self) -> String {
        let state = match self.db() {
            Ok(db) => {
                let m = db.metadata();
                let n = |k: &str| m.counts.get(k).copied().unwrap_or(0);
                format!(
                    "ipv4={}, ipv6={}, ases={}, built={:?}",
                    n("ipv4_prefixes"),
                    n("ipv6_prefixes"),
                    n("ases"),
                    m.built
                )
            }
            Err(_) => "closed".into(),
        };
        format!("Database({:?}, {state})", self.path.display().to_string())
    }

    /// Pickled as its path: the child process maps the same file.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().path()])?;
        PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
    }
}

/// The columns of a batch's answers (see the `.pyi` stub).
fn batch_columns<'py>(
    py: Python<'py>,
    db: &Database,
    batch: &Batch,
    answers: &[Answer],
    details: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let found: Vec<bool> = answers
        .iter()
        .map(|a| a.route != crate::db::layout::NONE)
        .collect();
    let asn: Vec<u32> = answers.iter().map(|a| a.asn).collect();
    let len: Vec<u8> = answers.iter().map(|a| a.prefix_len).collect();
    let cc: Vec<PyFixedString<2>> = answers.iter().map(|a| a.country.into()).collect();
    let src: Vec<PyFixedString<10>> = answers
        .iter()
        .map(|a| source_code(a.country_source))
        .collect();
    d.set_item("found", found.into_pyarray(py))?;
    d.set_item("asn", asn.into_pyarray(py))?;
    d.set_item("prefix_len", len.into_pyarray(py))?;
    d.set_item("country", cc.into_pyarray(py))?;
    d.set_item("country_source", src.into_pyarray(py))?;
    if details {
        detail_columns(py, &d, &db.view(), batch, answers)?;
    }
    Ok(d)
}

fn tally_columns<'a>(
    d: &Bound<'_, PyDict>,
    rows: impl Iterator<Item = &'a crate::db::Tally> + Clone,
) -> PyResult<()> {
    d.set_item(
        "ipv4_prefixes",
        rows.clone().map(|t| t.v4_prefixes).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "ipv6_prefixes",
        rows.clone().map(|t| t.v6_prefixes).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "ipv4_addresses",
        rows.clone().map(|t| t.v4_addresses).collect::<Vec<_>>(),
    )?;
    d.set_item(
        "ipv6_addresses",
        rows.map(|t| t.v6_addresses).collect::<Vec<_>>(),
    )?;
    Ok(())
}

fn source_code(code: u8) -> PyFixedString<10> {
    let mut out = [0u8; 10];
    if let Some(s) = (code as usize)
        .checked_sub(1)
        .and_then(|i| CountrySource::ALL.get(i))
    {
        out[..s.name().len()].copy_from_slice(s.name().as_bytes());
    }
    out.into()
}

/// The answers of a batch, large batches split over the cores.
fn answer_batch(db: &Database, batch: &Batch) -> Vec<Answer> {
    let v = db.view();
    let mut out = vec![Answer::default(); batch.len()];
    for_chunks(&mut out[..], |start, out: &mut [Answer]| {
        let keys = start..start + out.len();
        match batch {
            Batch::V4(addrs) => v.lookup_v4_many(&addrs[keys], out),
            _ => {
                let ips: Vec<Option<IpAddr>> = keys.map(|i| Some(batch_addr(batch, i))).collect();
                v.lookup_many(&ips, out)
            }
        }
    });
    out
}

/// The i-th address of a batch.
fn batch_addr(batch: &Batch, i: usize) -> IpAddr {
    match batch {
        Batch::V4(v) => IpAddr::V4(v[i].into()),
        Batch::V6(v) => IpAddr::V6(v[i].into()),
        Batch::Mixed(v) => v[i],
    }
}

/// The text columns: prefix, AS name, organisation, registry (None for a miss).
/// Strings of one route are made once and shared between rows.
fn detail_columns(
    py: Python<'_>,
    d: &Bound<'_, PyDict>,
    v: &View<'_>,
    batch: &Batch,
    answers: &[Answer],
) -> PyResult<()> {
    let none = py.None().into_bound(py);
    let mut cache: HashMap<u32, [Bound<'_, PyAny>; 3]> = HashMap::new();
    let mut cols: [Vec<Bound<'_, PyAny>>; 5] = Default::default();
    for (i, a) in answers.iter().enumerate() {
        if a.route == crate::db::layout::NONE {
            cols.iter_mut().for_each(|c| c.push(none.clone()));
            continue;
        }
        let addr = batch_addr(batch, i);
        let Some(r) = v.record(addr) else {
            cols.iter_mut().for_each(|c| c.push(none.clone()));
            continue;
        };
        let s = |x: Option<&str>| x.map_or(none.clone(), |x| PyString::new(py, x).into_any());
        cols[0].push(PyString::new(py, &r.prefix.to_string()).into_any());
        let c = cache
            .entry(a.route)
            .or_insert_with(|| [s(r.as_name), s(r.org_id), s(r.org_name)]);
        for k in 0..3 {
            cols[k + 1].push(c[k].clone());
        }
        cols[4].push(s(r.registry));
    }
    for (name, col) in ["prefix", "as_name", "org_id", "org_name", "registry"]
        .iter()
        .zip(cols)
    {
        d.set_item(name, PyList::new(py, col)?)?;
    }
    Ok(())
}

/// Iterator over `(network, asn)` pairs in address order, IPv4 first.
#[pyclass(frozen, module = "geoip_rs")]
pub struct DbIter {
    db: Arc<Database>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl DbIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyAny>, u32)>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let v = self.db.view();
        match v.nth(i) {
            Some((p, r)) => Ok(Some((
                convert::network_object(py, &p)?,
                v.origins(r).first().copied().unwrap_or(0),
            ))),
            None => Ok(None),
        }
    }
}
