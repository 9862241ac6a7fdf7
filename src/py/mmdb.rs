//! `geoip_rs.MmdbDatabase` (an MMDB file read; subclassed in Python for the
//! DataFrame helpers) and `Database.to_mmdb`'s writer.

use super::batch::with_keys;
use super::convert;
use super::errors::{db_error, value_error};
use super::handle::Handle;
use crate::db::Database;
use crate::ip::IpPrefix;
use crate::mmdb::{FieldColumn, FileKind, MmdbOptions, MmdbSource, MmdbValue};
use ipnet::IpNet;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use pyo3_arrow::PyTable;
use std::path::PathBuf;
use std::sync::Arc;

/// An MMDB file, memory-mapped (see the `.pyi` stub).
#[pyclass(frozen, subclass, module = "geoip_rs", name = "MmdbDatabase")]
pub struct PyMmdb {
    file: Handle<MmdbSource>,
}

/// A decoded value as Python: dict, list, str, bytes, int, float or bool.
fn value_object<'py>(py: Python<'py>, v: &MmdbValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        MmdbValue::Map(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, value_object(py, x)?)?;
            }
            d.into_any()
        }
        MmdbValue::Array(a) => {
            let items = a.iter().map(|x| value_object(py, x));
            PyList::new(py, items.collect::<PyResult<Vec<_>>>()?)?.into_any()
        }
        MmdbValue::Text(t) => t.into_pyobject(py)?.into_any(),
        MmdbValue::Bytes(b) => PyBytes::new(py, b).into_any(),
        MmdbValue::Double(x) => x.into_pyobject(py)?.into_any(),
        MmdbValue::Float(x) => f64::from(*x).into_pyobject(py)?.into_any(),
        MmdbValue::Uint(n) => n.into_pyobject(py)?.into_any(),
        MmdbValue::Int(n) => n.into_pyobject(py)?.into_any(),
        MmdbValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
    })
}

fn net_object<'py>(py: Python<'py>, n: &IpNet) -> PyResult<Bound<'py, PyAny>> {
    // A network from the reader is masked, so always a prefix.
    let p = IpPrefix::new(n.network(), n.prefix_len(), false)
        .map_err(|e| value_error(e.message(&n.to_string())))?;
    convert::network_object(py, &p)
}

/// A field's column as a numpy array: integers 0, floats NaN, text None where
/// a row has no value (`found` and the Arrow form tell missing from zero).
fn column_array<'py>(py: Python<'py>, c: FieldColumn) -> PyResult<Bound<'py, PyAny>> {
    Ok(match c {
        FieldColumn::Uint(x, _) => x.into_pyarray(py).into_any(),
        FieldColumn::Int(x, _) => x.into_pyarray(py).into_any(),
        FieldColumn::Float(mut x, ok) => {
            x.iter_mut()
                .zip(ok)
                .for_each(|(x, ok)| *x = if ok { *x } else { f64::NAN });
            x.into_pyarray(py).into_any()
        }
        FieldColumn::Bool(x, _) => x.into_pyarray(py).into_any(),
        FieldColumn::Text(keys, dict) => {
            let texts: Vec<Py<PyAny>> = dict
                .iter()
                .map(|t| Ok(t.into_pyobject(py)?.into_any().unbind()))
                .collect::<PyResult<_>>()?;
            let rows: Vec<Py<PyAny>> = keys
                .iter()
                .map(|&k| match usize::try_from(k) {
                    Ok(k) => texts[k].clone_ref(py),
                    Err(_) => py.None(),
                })
                .collect();
            rows.into_pyarray(py).into_any()
        }
    })
}

impl PyMmdb {
    fn file(&self) -> PyResult<Arc<MmdbSource>> {
        self.file.get()
    }

    /// The answers for `addresses` and the fields to give (`fields`, one path or
    /// a list of them, or every leaf of the records found).
    fn answers<R>(
        &self,
        addresses: &Bound<'_, PyAny>,
        fields: Option<&Bound<'_, PyAny>>,
        on_error: &str,
        f: impl FnOnce(crate::mmdb::MmdbAnswers, Vec<String>) -> PyResult<R>,
    ) -> PyResult<R> {
        let on_error = on_error.parse().map_err(value_error)?;
        let fields = match fields {
            Some(f) if f.is_instance_of::<pyo3::types::PyString>() => Some(vec![f.extract()?]),
            Some(f) => Some(f.extract::<Vec<String>>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(
                    "fields: expected a field path (str) or a list of them",
                )
            })?),
            None => None,
        };
        let file = self.file()?;
        let py = addresses.py();
        with_keys(addresses, on_error, |keys, valid| {
            let a = py.detach(|| file.answers_with(&keys, valid, fields));
            let (a, fields) = a.map_err(db_error)?;
            f(a, fields)
        })
    }
}

#[pymethods]
impl PyMmdb {
    #[new]
    #[pyo3(signature = (path, *, verify = true))]
    fn new(py: Python<'_>, path: PathBuf, verify: bool) -> PyResult<Self> {
        let file = py
            .detach(|| MmdbSource::open(&path, verify))
            .map_err(db_error)?;
        Ok(PyMmdb {
            file: Handle::new(path, file),
        })
    }

    #[getter]
    fn path(&self) -> String {
        self.file.path().display().to_string()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.file.closed()
    }

    /// The file's metadata, every field of the format's.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(self.file()?.metadata()).map_err(value_error)?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The record of `ip` as a dict; None if the file has none.
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        ip: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(self.get_with_prefix_len(py, ip)?.0)
    }

    /// Same as `lookup` (the name maxminddb's reader uses).
    fn get<'py>(
        &self,
        py: Python<'py>,
        ip: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.lookup(py, ip)
    }

    /// `(record, prefix length)`, as maxminddb's reader gives them.
    fn get_with_prefix_len<'py>(
        &self,
        py: Python<'py>,
        ip: &Bound<'py, PyAny>,
    ) -> PyResult<(Option<Bound<'py, PyAny>>, u8)> {
        let addr = convert::address(ip)?;
        let (v, len) = self.file()?.with_prefix_len(addr).map_err(db_error)?;
        Ok((v.map(|v| value_object(py, &v)).transpose()?, len))
    }

    /// `(network, record)` of the file's network containing `ip`, or None.
    fn lookup_network<'py>(
        &self,
        py: Python<'py>,
        ip: &Bound<'py, PyAny>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let addr = convert::address(ip)?;
        match self.file()?.lookup(addr).map_err(db_error)? {
            Some((v, net)) => Ok(Some((net_object(py, &net)?, value_object(py, &v)?))),
            None => Ok(None),
        }
    }

    fn __contains__(&self, ip: &Bound<'_, PyAny>) -> PyResult<bool> {
        let addr = convert::address(ip)?;
        Ok(self.file()?.find(addr).map_err(db_error)?.offset.is_some())
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<MmdbIter> {
        let file = self.file()?;
        let nets = py.detach(|| file.networks());
        Ok(MmdbIter {
            file,
            nets: nets.map_err(db_error)?,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Columns for many addresses (see the `.pyi` stub).
    #[pyo3(signature = (addresses, fields = None, *, on_error = "raise"))]
    fn lookup_batch<'py>(
        &self,
        py: Python<'py>,
        addresses: &Bound<'py, PyAny>,
        fields: Option<&Bound<'py, PyAny>>,
        on_error: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.answers(addresses, fields, on_error, |a, fields| {
            let d = PyDict::new(py);
            let found: Vec<bool> = a
                .record
                .iter()
                .map(|&r| r != crate::mmdb::batch::NO_RECORD)
                .collect();
            d.set_item("found", found.into_pyarray(py))?;
            for f in &fields {
                d.set_item(f, column_array(py, a.column(f))?)?;
            }
            d.set_item("prefix_len", a.prefix_len.into_pyarray(py))?;
            Ok(d)
        })
    }

    /// The answers as an Arrow table (see the `.pyi` stub).
    #[pyo3(signature = (addresses, fields = None, *, on_error = "raise"))]
    fn to_arrow(
        &self,
        addresses: &Bound<'_, PyAny>,
        fields: Option<&Bound<'_, PyAny>>,
        on_error: &str,
    ) -> PyResult<PyTable> {
        let py = addresses.py();
        self.answers(addresses, fields, on_error, |a, fields| {
            let batch = py.detach(|| crate::mmdb::arrow::record_batch(&a, &fields));
            let batch = batch.map_err(value_error)?;
            let schema = batch.schema();
            PyTable::try_new(vec![batch], schema)
        })
    }

    fn close(&self) {
        self.file.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close();
    }

    fn __repr__(&self) -> String {
        let state = match self.file() {
            Ok(f) => {
                let m = f.metadata();
                let compiled = if f.is_compiled() { ", compiled" } else { "" };
                format!(
                    "{:?}, ip_version={}, node_count={}, build_epoch={}{compiled}",
                    m.database_type, m.ip_version, m.node_count, m.build_epoch
                )
            }
            Err(_) => "closed".into(),
        };
        format!("MmdbDatabase({:?}, {state})", self.path())
    }

    /// Pickled as its path: the child process maps the same file.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().path()])?;
        PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
    }
}

/// Iterator over `(network, record)` pairs of an MMDB file.
#[pyclass(frozen, module = "geoip_rs")]
pub struct MmdbIter {
    file: Arc<MmdbSource>,
    nets: Vec<IpNet>,
    next: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl MmdbIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(net) = self.nets.get(i) else {
            return Ok(None);
        };
        let v = self.file.network_record(net).map_err(db_error)?;
        Ok(Some((net_object(py, net)?, value_object(py, &v)?)))
    }
}

/// `Database.to_mmdb`: write the database as an MMDB file; what was written.
#[pyfunction]
#[pyo3(signature = (db, path, *, database_type, description = None, ipv4_aliases = None, snapshot = None))]
pub fn _to_mmdb<'py>(
    py: Python<'py>,
    db: &Bound<'py, super::database::PyDatabase>,
    path: PathBuf,
    database_type: String,
    description: Option<String>,
    ipv4_aliases: Option<bool>,
    snapshot: Option<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let db: Arc<Database> = db.get().db()?;
    let o = MmdbOptions {
        database_type,
        description,
        ipv4_aliases,
        snapshot,
        ..MmdbOptions::default()
    };
    let s = py.detach(|| db.to_mmdb(&path, &o)).map_err(db_error)?;
    let d = PyDict::new(py);
    d.set_item("networks", s.networks)?;
    d.set_item("records", s.records)?;
    d.set_item("aliased_out", s.aliased_out)?;
    d.set_item("ipv4_aliases", s.ipv4_aliases)?;
    d.set_item("node_count", s.node_count)?;
    d.set_item("record_size", s.record_size)?;
    d.set_item("bytes", s.bytes)?;
    Ok(d)
}

/// What kind of file `path` is: "database", "mmdb" or "compiled-mmdb".
#[pyfunction]
pub fn _file_kind(path: PathBuf) -> &'static str {
    FileKind::of(&path).name()
}

/// Compile the MMDB file `src` into `out`; what was written.
#[pyfunction]
pub fn _compile_mmdb<'py>(
    py: Python<'py>,
    src: PathBuf,
    out: PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let s = py.detach(|| crate::mmdb::compiled::compile_path(&src, &out));
    let s = s.map_err(db_error)?;
    let d = PyDict::new(py);
    d.set_item("ipv4_networks", s.ipv4_networks)?;
    d.set_item("ipv6_networks", s.ipv6_networks)?;
    d.set_item("records", s.records)?;
    d.set_item("bytes", s.bytes)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMmdb>()?;
    m.add_class::<MmdbIter>()?;
    m.add_function(wrap_pyfunction!(_to_mmdb, m)?)?;
    m.add_function(wrap_pyfunction!(_file_kind, m)?)?;
    m.add_function(wrap_pyfunction!(_compile_mmdb, m)?)?;
    Ok(())
}
