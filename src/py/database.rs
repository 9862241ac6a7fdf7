//! `geoip_rs.Database` (subclassed in Python for the pandas helpers); the opened
//! [`Database`] sits in a [`Handle`].

use super::arrow;
use super::batch::with_keys;
use super::convert;
use super::errors::{db_error, value_error};
use super::handle::Handle;
use super::record::Record;
use super::times;
use crate::alloc::OutOfMemory;
use crate::db::export::ExportFormat;
use crate::db::{Database, Subject, SummaryBy, View};
use crate::ip::IpPrefix;
use numpy::{IntoPyArray, PyFixedString};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3_arrow::PyTable;
use std::path::PathBuf;
use std::sync::Arc;

/// A GeoIP database file, memory-mapped (see the `.pyi` stub).
#[pyclass(frozen, subclass, module = "geoip_rs", name = "Database")]
pub struct PyDatabase {
    db: Handle<Database>,
}

/// An AS number from an int or a string such as `"15169"` or `"AS15169"`.
fn asn_arg(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    let type_error = || {
        let name = obj.get_type().name().map(|n| n.to_string());
        PyTypeError::new_err(format!(
            "expected an AS number as int or str, got {}",
            name.unwrap_or_default()
        ))
    };
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return crate::loaders::parse_as_number(s.to_str()?).map_err(value_error);
    }
    obj.extract::<u32>()
        .map_err(|_| match obj.extract::<i128>() {
            Ok(n) => PyValueError::new_err(format!("AS number {n} is out of range 0..=4294967295")),
            Err(_) => type_error(),
        })
}

/// Fixed-width byte codes as numpy `S<N>` strings (the same bytes, moved in place).
fn fixed<const N: usize>(codes: Vec<[u8; N]>) -> Vec<PyFixedString<N>> {
    codes.into_iter().map(PyFixedString).collect()
}

impl PyDatabase {
    /// The open database; a `ValueError` after `close()`.
    pub(crate) fn db(&self) -> PyResult<Arc<Database>> {
        self.db.get()
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
        let pair = |(p, r): &(IpPrefix, u32)| Ok((convert::network_object(py, p)?, v.asn(*r)));
        let pairs = which(&v, &p);
        PyList::new(py, pairs.iter().map(pair).collect::<PyResult<Vec<_>>>()?)
    }
}

#[pymethods]
impl PyDatabase {
    #[new]
    #[pyo3(signature = (path, *, verify = true))]
    fn new(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Self> {
        let db = py.detach(|| Database::open(&path, verify));
        Ok(PyDatabase {
            db: Handle::new(path, db.map_err(db_error)?),
        })
    }

    #[getter]
    fn path(&self) -> String {
        self.db.path().display().to_string()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.db.closed()
    }

    /// The provenance: sources, options, version, build time, counts.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(self.db()?.metadata()).map_err(value_error)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Size of the file in bytes.
    #[getter]
    fn file_size(&self) -> PyResult<usize> {
        Ok(self.db()?.file_size())
    }

    #[pyo3(signature = (ip, at = None))]
    fn lookup<'py>(
        &self,
        ip: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, Record>>> {
        let addr = convert::address(ip)?;
        let db = self.db()?;
        let view = match at {
            None => db.view(),
            Some(t) => match db.view_at_time(times::time(t)?) {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        let found = view.find(addr);
        found.map(|f| Record::found(ip.py(), db, f)).transpose()
    }

    /// Same as `lookup` (the name maxminddb's reader uses).
    #[pyo3(signature = (ip, at = None))]
    fn get<'py>(
        &self,
        ip: &Bound<'py, PyAny>,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, Record>>> {
        self.lookup(ip, at)
    }

    /// Whether the file holds many snapshots.
    #[getter]
    fn is_history(&self) -> PyResult<bool> {
        Ok(self.db()?.is_history())
    }

    /// The date of the newest routing data, as the file writes it (None if none).
    fn _data_time(&self) -> PyResult<Option<String>> {
        Ok(self
            .db()?
            .metadata()
            .data_time()
            .map(|(d, _)| d.to_string()))
    }

    /// Each snapshot's time in Unix seconds, oldest first.
    fn _times(&self) -> PyResult<Vec<i64>> {
        // An undated one-date file's "beginning of time" is no time to show.
        let db = self.db()?;
        Ok(db
            .times()
            .iter()
            .copied()
            .filter(|&t| t != i64::MIN)
            .collect())
    }

    /// The index of the snapshot in force at `at`, None before the first.
    fn _snapshot_at(&self, at: &Bound<'_, PyAny>) -> PyResult<Option<u32>> {
        Ok(self.db()?.snapshot_at(times::time(at)?))
    }

    /// `(first, last, record)` for each run of snapshots with one record of an
    /// address, or of a prefix where it is routed.
    fn _history(&self, subject: &Bound<'_, PyAny>) -> PyResult<Vec<(u32, u32, Record)>> {
        let subject = match convert::key(subject, true)? {
            convert::Key::Addr(a) => Subject::Address(a),
            convert::Key::Net(p) => Subject::Prefix(p),
        };
        let db = self.db()?;
        let runs = db.view().history(&subject);
        Ok(runs
            .into_iter()
            .map(|i| (i.first, i.last, Record::from_core(i.record)))
            .collect())
    }

    /// The prefixes that changed from snapshot `from` to `to`, as columns.
    fn _diff<'py>(&self, py: Python<'py>, from: u32, to: u32) -> PyResult<Bound<'py, PyDict>> {
        let db = self.db()?;
        let v = db.view();
        let changes = py.detach(|| v.diff(from, to));
        let d = PyDict::new(py);
        let origins = |r: Option<u32>| r.map(|r| v.origins(r).to_vec());
        d.set_item(
            "prefix",
            changes
                .iter()
                .map(|c| c.prefix.to_string())
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "kind",
            changes.iter().map(|c| c.kind.name()).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "old",
            changes
                .iter()
                .map(|c| c.old.map(|r| v.asn(r)))
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "new",
            changes
                .iter()
                .map(|c| c.new.map(|r| v.asn(r)))
                .collect::<Vec<_>>(),
        )?;
        d.set_item(
            "old_origins",
            changes.iter().map(|c| origins(c.old)).collect::<Vec<_>>(),
        )?;
        d.set_item(
            "new_origins",
            changes.iter().map(|c| origins(c.new)).collect::<Vec<_>>(),
        )?;
        Ok(d)
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
        let Some(a) = db.view().as_record(asn) else {
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
        let nets = found.iter().map(|p| convert::network_object(py, p));
        PyList::new(py, nets.collect::<PyResult<Vec<_>>>()?)
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
        let by: SummaryBy = by.parse()?;
        let db = self.db()?;
        super::columns::summary(py, &db.view(), by)
    }

    /// Columns for many addresses (see the `.pyi` stub).
    #[pyo3(signature = (addresses, *, details = false, on_error = "raise", at = None))]
    fn lookup_batch<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        details: bool,
        on_error: &str,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let on_error = on_error.parse().map_err(value_error)?;
        let db = self.db()?;
        with_keys(addresses, on_error, |keys, valid| {
            let rows = times::RowsAt::new(&db, at, keys.len())?;
            let keep_rows = details || at.is_some();
            let cols = py.detach(|| {
                let (v, snaps) = (rows.view(&db), rows.snapshots());
                let mut c = match keep_rows {
                    true => v.columns_at(keys, snaps)?,
                    false => v.bare_columns_at(keys, snaps)?,
                };
                valid.inspect(|v| c.mask(v));
                Ok::<_, OutOfMemory>(c)
            })?;
            let d = PyDict::new(py);
            if details {
                super::columns::details(&d, &db.view(), keys, &cols)?;
            }
            d.set_item("found", cols.found.into_pyarray(py))?;
            d.set_item("asn", cols.asn.into_pyarray(py))?;
            d.set_item("prefix_len", cols.prefix_len.into_pyarray(py))?;
            d.set_item("country", fixed(cols.country).into_pyarray(py))?;
            d.set_item(
                "country_source",
                fixed(cols.country_source).into_pyarray(py),
            )?;
            if at.is_some() {
                times::snapshot_columns(&d, db.times(), cols.snapshot)?;
            }
            Ok(d)
        })
    }

    /// The records of many addresses as an Arrow table (see the `.pyi` stub).
    #[pyo3(signature = (addresses, columns = None, *, on_error = "raise", at = None))]
    fn to_arrow(
        &self,
        py: Python<'_>,
        addresses: &Bound<'_, PyAny>,
        columns: Option<Vec<String>>,
        on_error: &str,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTable> {
        let on_error = on_error.parse().map_err(value_error)?;
        let columns = arrow::columns(columns)?;
        let db = self.db()?;
        let batches = if arrow::is_arrow(addresses) {
            let column = arrow::Column::extract(addresses)?;
            let n = column.chunks.iter().map(|c| c.len()).sum();
            let rows = times::RowsAt::new(&db, at, n)?;
            let batches = py.detach(|| {
                rows.view(&db)
                    .arrow_batches(&column.chunks, on_error, &columns, rows.snapshots())
            });
            batches.map_err(|e| column.error(e))?
        } else {
            with_keys(addresses, on_error, |keys, valid| {
                let rows = times::RowsAt::new(&db, at, keys.len())?;
                let view = rows.view(&db);
                Ok(
                    py.detach(|| {
                        view.record_batches(keys, valid, None, &columns, rows.snapshots())
                    }),
                )
            })?
        };
        PyTable::try_new(batches, crate::db::arrow::schema(&columns))
    }

    /// Rows `start..start+count` of the prefixes as `format` text (with the header
    /// when `start` is 0), and where the next rows start.
    fn _export(
        &self,
        py: Python<'_>,
        format: &str,
        start: usize,
        count: usize,
    ) -> PyResult<(String, usize)> {
        let format: ExportFormat = format.parse()?;
        let db = self.db()?;
        let mut out = Vec::new();
        let range = start..start.saturating_add(count);
        let next = py.detach(|| db.export(format, range, &mut out));
        let next = next.map_err(value_error)?;
        Ok((String::from_utf8(out).map_err(value_error)?, next))
    }

    fn close(&self) {
        self.db.close();
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
                // A history's counts as its newest snapshot's (as `len` gives).
                let counts = m.snapshots.last().map_or(&m.counts, |s| &s.counts);
                let n = |k: &str| counts.get(k).copied().unwrap_or(0);
                let snapshots = match db.is_history() {
                    true => format!("snapshots={}, ", db.snapshots()),
                    false => String::new(),
                };
                format!(
                    "{snapshots}ipv4={}, ipv6={}, ases={}, built={:?}",
                    n("ipv4_prefixes"),
                    n("ipv6_prefixes"),
                    n("ases"),
                    m.built
                )
            }
            Err(_) => "closed".into(),
        };
        format!("Database({:?}, {state})", self.path())
    }

    /// Pickled as its path: the child process maps the same file.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().path()])?;
        PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
    }
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
        let v = self.db.view();
        // Positions a history's newest snapshot does not have are passed over.
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= v.slots() {
                return Ok(None);
            }
            if let Some((p, r)) = v.nth(i) {
                return Ok(Some((convert::network_object(py, &p)?, v.asn(r))));
            }
        }
    }
}
