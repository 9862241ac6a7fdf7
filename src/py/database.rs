//! `geoip_rs.Database` (subclassed in Python for the pandas helpers) and `Record`.
//!
//! The opened [`Database`] sits in an `Arc` behind a lock that `close()` empties:
//! each call clones the `Arc` and lets the lock go at once, so a batch running
//! without the GIL keeps the map alive until it ends even if another thread closes.

use super::batch::{for_chunks, with_batch, Batch, Split};
use super::convert;
use crate::db::layout::NONE;
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

/// A row of `_export_rows`.
type ExportRow = (String, u32, Vec<u32>, [Option<String>; 6]);

/// An AS number from an int or a string such as `"15169"` or `"AS15169"`.
fn asn_arg(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(
            "expected an AS number as int or str, got bool",
        ));
    }
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
            let mut cols = Columns::new(batch.len());
            py.detach(|| answer_batch(&db, batch, cols.parts()));
            let d = PyDict::new(py);
            if details {
                detail_columns(py, &d, &db.view(), batch, (&cols.route, &cols.prefix_len))?;
            }
            cols.into_dict(py, &d)?;
            Ok(d)
        })
    }

    /// Rows `start..start+count` of the prefix list, for export (prefix, origin AS,
    /// all origins, AS name, org id, org name, country, country source, registry),
    /// and where the next rows start (the end once past it). Rows a damaged file
    /// cannot give are left out.
    fn _export_rows(&self, start: usize, count: usize) -> PyResult<(Vec<ExportRow>, usize)> {
        let db = self.db()?;
        let v = db.view();
        let end = start.saturating_add(count).min(v.len()).max(start);
        let own = |s: Option<&str>| s.map(str::to_owned);
        let rows = (start..end)
            .filter_map(|i| v.nth(i))
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
            .collect();
        Ok((rows, end))
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

/// The columns of a batch's answers (see the `.pyi` stub), filled in place.
struct Columns {
    found: Vec<bool>,
    asn: Vec<u32>,
    prefix_len: Vec<u8>,
    country: Vec<PyFixedString<2>>,
    source: Vec<PyFixedString<10>>,
    /// For the text columns; not returned.
    route: Vec<u32>,
}

/// A chunk of [`Columns`], for one thread.
struct Parts<'a> {
    found: &'a mut [bool],
    asn: &'a mut [u32],
    prefix_len: &'a mut [u8],
    country: &'a mut [PyFixedString<2>],
    source: &'a mut [PyFixedString<10>],
    route: &'a mut [u32],
}

impl Columns {
    fn new(n: usize) -> Self {
        Columns {
            found: vec![false; n],
            asn: vec![0; n],
            prefix_len: vec![0; n],
            country: vec![[0; 2].into(); n],
            source: vec![[0; 10].into(); n],
            route: vec![0; n],
        }
    }

    fn parts(&mut self) -> Parts<'_> {
        Parts {
            found: &mut self.found,
            asn: &mut self.asn,
            prefix_len: &mut self.prefix_len,
            country: &mut self.country,
            source: &mut self.source,
            route: &mut self.route,
        }
    }

    /// The arrays, handed to numpy without a copy.
    fn into_dict(self, py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<()> {
        d.set_item("found", self.found.into_pyarray(py))?;
        d.set_item("asn", self.asn.into_pyarray(py))?;
        d.set_item("prefix_len", self.prefix_len.into_pyarray(py))?;
        d.set_item("country", self.country.into_pyarray(py))?;
        d.set_item("country_source", self.source.into_pyarray(py))?;
        Ok(())
    }
}

impl Parts<'_> {
    fn set(&mut self, i: usize, a: &Answer) {
        self.found[i] = a.route != NONE;
        self.asn[i] = a.asn;
        self.prefix_len[i] = a.prefix_len;
        self.country[i] = a.country.into();
        self.source[i] = SOURCE_CODES[a.country_source as usize];
        self.route[i] = a.route;
    }
}

impl Split for Parts<'_> {
    fn len(&self) -> usize {
        self.found.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (f0, f1) = self.found.split_at_mut(mid);
        let (a0, a1) = self.asn.split_at_mut(mid);
        let (l0, l1) = self.prefix_len.split_at_mut(mid);
        let (c0, c1) = self.country.split_at_mut(mid);
        let (s0, s1) = self.source.split_at_mut(mid);
        let (r0, r1) = self.route.split_at_mut(mid);
        let part = |found, asn, prefix_len, country, source, route| Parts {
            found,
            asn,
            prefix_len,
            country,
            source,
            route,
        };
        (part(f0, a0, l0, c0, s0, r0), part(f1, a1, l1, c1, s1, r1))
    }
}

/// `country_source` as the batch column spells it, by [`Answer::country_source`]
/// code (0 for none, else the [`CountrySource`] as `u8`).
const SOURCE_CODES: [PyFixedString<10>; 5] = {
    const fn code(name: &str) -> PyFixedString<10> {
        let mut out = [0u8; 10];
        let b = name.as_bytes();
        let mut i = 0;
        while i < b.len() {
            out[i] = b[i];
            i += 1;
        }
        PyFixedString(out)
    }
    let all = CountrySource::ALL;
    [
        code(""),
        code(all[0].name()),
        code(all[1].name()),
        code(all[2].name()),
        code(all[3].name()),
    ]
};

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

/// The answers of a batch into `out`, large batches split over the cores. Each
/// thread answers a block at a time into a small buffer that stays in cache.
fn answer_batch(db: &Database, batch: &Batch, out: Parts<'_>) {
    const BLOCK: usize = 1024;
    let v = db.view();
    for_chunks(out, |start, mut out: Parts| {
        let mut answers = [Answer::default(); BLOCK];
        let mut keys6 = Vec::with_capacity(BLOCK);
        for lo in (0..out.len()).step_by(BLOCK) {
            let keys = start + lo..start + (lo + BLOCK).min(out.len());
            let answers = &mut answers[..keys.len()];
            match batch {
                Batch::V4(addrs) => v.lookup_v4_many(&addrs[keys], answers),
                Batch::V6(rows) => {
                    keys6.clear();
                    keys6.extend(rows[keys].iter().map(|r| u128::from_be_bytes(*r)));
                    v.lookup_v6_many(&keys6, answers)
                }
                Batch::Mixed(addrs) => v.lookup_many(&addrs[keys], answers),
            }
            for (i, a) in answers.iter().enumerate() {
                out.set(lo + i, a);
            }
        }
    });
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
/// The names of a route, and each registry, are made into Python strings once and
/// shared between rows; only the prefix is made per row.
fn detail_columns(
    py: Python<'_>,
    d: &Bound<'_, PyDict>,
    v: &View<'_>,
    batch: &Batch,
    cols_in: (&[u32], &[u8]),
) -> PyResult<()> {
    let (routes, lens) = cols_in;
    let none = py.None().into_bound(py);
    let text = |x: Option<&str>| x.map_or(none.clone(), |x| PyString::new(py, x).into_any());
    let mut names: HashMap<u32, [Bound<'_, PyAny>; 3]> = HashMap::new();
    let mut registries: HashMap<Option<&str>, Bound<'_, PyAny>> = HashMap::new();
    let mut cols: [Vec<Bound<'_, PyAny>>; 5] = Default::default();
    for (i, (&route, &len)) in routes.iter().zip(lens).enumerate() {
        let addr = batch_addr(batch, i);
        let prefix = IpPrefix::new(addr, len, false);
        let (true, Ok(prefix)) = (route != NONE, prefix) else {
            cols.iter_mut().for_each(|c| c.push(none.clone()));
            continue;
        };
        cols[0].push(PyString::new(py, &prefix.to_string()).into_any());
        let n = names.entry(route).or_insert_with(|| {
            let r = v.prefix_record(prefix, route);
            let r = r.as_ref();
            [
                text(r.and_then(|r| r.as_name)),
                text(r.and_then(|r| r.org_id)),
                text(r.and_then(|r| r.org_name)),
            ]
        });
        for k in 0..3 {
            cols[k + 1].push(n[k].clone());
        }
        let registry = v.registry(addr, route);
        cols[4].push(
            registries
                .entry(registry)
                .or_insert_with(|| text(registry))
                .clone(),
        );
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
