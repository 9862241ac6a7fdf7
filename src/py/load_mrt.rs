//! Python bindings of the MRT reader: `read_mrt` (RIB plus updates -> a prefix table
//! of origin ASes) and `mrt_routes` (every route of a file, for inspection).

use super::convert;
use super::errors::to_pyerr;
use super::load::{self, summary_dict};
use super::table::PrefixTable;
use super::values::Value;
use crate::ip::IpPrefix;
use crate::loaders::mrt::{Chosen, FoldPlan, OriginPolicy, Rib, Route, Routes};
use crate::loaders::Input;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::PathBuf;
use std::sync::Mutex;

/// The table value of a prefix under policy `all`: a tuple of `(origin, peers)`
/// pairs. (Under the other policies it is an int: a set's lowest member, so that
/// those tables stay integer tables, fast in batch.)
fn value(py: Python<'_>, chosen: Chosen) -> PyResult<Value> {
    Ok(match chosen {
        Chosen::One(o) => Value::Int(o.primary() as i64),
        Chosen::All(list) => {
            let pairs = list
                .iter()
                .map(|(o, n)| {
                    PyTuple::new(
                        py,
                        [
                            convert::origin_object(py, o)?,
                            n.into_pyobject(py)?.into_any(),
                        ],
                    )
                })
                .collect::<PyResult<Vec<_>>>()?;
            Value::Obj(PyTuple::new(py, pairs)?.into_any().unbind())
        }
    })
}

/// Read a RIB dump, then apply update files in order, into a table of origin ASes.
#[pyfunction]
#[pyo3(signature = (path, *, updates = Vec::new(), origin_policy = "first_peer", on_error = "raise", progress = None))]
fn read_mrt<'py>(
    py: Python<'py>,
    path: PathBuf,
    updates: Vec<PathBuf>,
    origin_policy: &str,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<(PrefixTable, Bound<'py, PyDict>)> {
    let policy: OriginPolicy = origin_policy.parse()?;
    let files: Vec<&PathBuf> = std::iter::once(&path).chain(&updates).collect();
    let mut rib = Rib::folding(FoldPlan::default());
    let mut summaries = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let summary = load::read_file(py, file, on_error, progress, |input, opts| {
            if i == 0 {
                rib = Rib::for_files(&files, opts.progress)?; // interruptible too
            }
            rib.read_input(input, opts)
        })?;
        summaries.push(summary);
    }
    let table = match policy {
        // Integer values: straight from the RIB into the table, without the GIL.
        OriginPolicy::FirstPeer | OriginPolicy::Majority => py.detach(|| {
            let items = rib.origins(policy).map(|(p, c)| match c {
                Chosen::One(o) => (p, Value::Int(o.primary() as i64)),
                Chosen::All(_) => unreachable!("one origin per prefix under this policy"),
            });
            PrefixTable::from_items(items, true)
        }),
        OriginPolicy::All => {
            let chosen: Vec<(IpPrefix, Chosen)> = py.detach(|| rib.origins(policy).collect());
            let items = chosen
                .into_iter()
                .map(|(p, c)| Ok((p, value(py, c)?)))
                .collect::<PyResult<Vec<_>>>()?;
            PrefixTable::from_items(items, true)
        }
    };
    drop(rib);
    let summary = summary_dict(py, &summaries[0])?;
    summary.set_item("prefixes", table.read().len())?;
    if !updates.is_empty() {
        let list = summaries[1..]
            .iter()
            .map(|s| summary_dict(py, s))
            .collect::<PyResult<Vec<_>>>()?;
        summary.set_item("updates", list)?;
    }
    Ok((table, summary))
}

/// One route of an MRT file as a tuple:
/// `(kind, timestamp, peer_ip, peer_asn, prefix, path_id, as_path)`.
type Row = (
    &'static str,
    u32,
    String,
    u32,
    String,
    Option<u32>,
    Option<String>,
);

fn row(r: Route) -> Row {
    (
        r.kind.as_str(),
        r.timestamp,
        r.peer_ip.to_string(),
        r.peer_asn,
        format!("{}/{}", r.prefix.0, r.prefix.1),
        r.path_id,
        r.as_path,
    )
}

/// Iterator over every route of an MRT file (see `mrt_routes`).
#[pyclass(module = "geoip_rs", name = "MrtRoutes")]
pub struct MrtRoutes {
    routes: Mutex<Routes>,
}

#[pymethods]
impl MrtRoutes {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Row>> {
        // The lock is taken without the GIL, so a second thread iterating the same
        // object waits here instead of deadlocking.
        py.detach(|| {
            let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            routes.next().transpose().map(|r| r.map(row))
        })
        .map_err(to_pyerr)
    }
}

/// Every route in an MRT file, one tuple per RIB entry, announcement or withdrawal.
#[pyfunction]
fn mrt_routes(path: PathBuf) -> PyResult<MrtRoutes> {
    let input = Input::open(&path).map_err(to_pyerr)?;
    Ok(MrtRoutes {
        routes: Mutex::new(Routes::new(input)),
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_mrt, m)?)?;
    m.add_function(wrap_pyfunction!(mrt_routes, m)?)?;
    m.add_class::<MrtRoutes>()?;
    Ok(())
}
