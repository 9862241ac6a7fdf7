//! Python bindings of the MRT reader: `read_mrt` (RIB plus updates -> a prefix table
//! of origin ASes) and `mrt_routes` (every route of a file, for inspection).

use super::load::{self, summary_dict, to_pyerr};
use super::table::PrefixTable;
use super::values::Value;
use crate::ip::IpPrefix;
use crate::loaders::mrt::path::path_text;
use crate::loaders::mrt::{BadRecord, Chosen, OriginPolicy, Records, Rib};
use crate::loaders::{Input, LoadError};
use crate::origin::Origin;
use bgpkit_parser::models::{ElemType, MrtMessage, TableDumpV2Message};
use bgpkit_parser::Elementor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyTuple};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) fn policy(name: &str) -> PyResult<OriginPolicy> {
    match name {
        "first_peer" => Ok(OriginPolicy::FirstPeer),
        "majority" => Ok(OriginPolicy::Majority),
        "all" => Ok(OriginPolicy::All),
        _ => Err(PyValueError::new_err(format!(
            "origin_policy must be 'first_peer', 'majority' or 'all', not {name:?}"
        ))),
    }
}

/// An origin as Python sees it: an int, or a frozenset for an AS_SET.
fn origin_object<'py>(py: Python<'py>, o: &Origin) -> PyResult<Bound<'py, PyAny>> {
    match o {
        Origin::Asn(a) => Ok(a.into_pyobject(py)?.into_any()),
        Origin::Set(s) => Ok(PyFrozenSet::new(py, s)?.into_any()),
    }
}

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
                    PyTuple::new(py, [origin_object(py, o)?, n.into_pyobject(py)?.into_any()])
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
    let policy = policy(origin_policy)?;
    let mut rib = Rib::new();
    let mut summaries = Vec::new();
    for file in std::iter::once(&path).chain(&updates) {
        let summary = load::read_file(py, file, on_error, progress, |input, opts| {
            rib.read(Records::new(input), opts)
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

struct RoutesState {
    records: Records,
    elementor: Elementor,
    rows: VecDeque<Row>,
    done: bool,
}

impl RoutesState {
    /// Parse records until there are rows to hand out or the file ends.
    fn fill(&mut self) -> Result<(), LoadError> {
        while self.rows.is_empty() && !self.done {
            let Some(record) = self.records.next() else {
                self.done = true;
                break;
            };
            let record = match record {
                Ok(r) => r,
                Err(BadRecord::Unsupported) => continue,
                Err(BadRecord::Malformed(e)) => {
                    self.done = true;
                    return Err(e);
                }
            };
            let rib = matches!(
                record.message,
                MrtMessage::TableDumpMessage(_)
                    | MrtMessage::TableDumpMessageBatch(_)
                    | MrtMessage::TableDumpV2Message(_)
            );
            // The elementor drops TABLE_DUMP_V2 ADD-PATH ids; they are per RIB entry,
            // and it makes one element per entry, in order.
            let entry_path_ids: Vec<Option<u32>> = match &record.message {
                MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(r)) => {
                    r.rib_entries.iter().map(|e| e.path_id).collect()
                }
                _ => Vec::new(),
            };
            for (i, e) in self
                .elementor
                .record_to_elems(record)
                .into_iter()
                .enumerate()
            {
                let path_id = entry_path_ids
                    .get(i)
                    .copied()
                    .flatten()
                    .or(e.prefix.path_id);
                let kind = match (rib, e.elem_type) {
                    (true, _) => "B",
                    (false, ElemType::ANNOUNCE) => "A",
                    (false, ElemType::WITHDRAW) => "W",
                };
                self.rows.push_back((
                    kind,
                    e.timestamp as u32,
                    e.peer_ip.to_string(),
                    u32::from(e.peer_asn),
                    e.prefix.prefix.to_string(),
                    path_id,
                    // An announcement always has a path, if empty; a withdrawal none.
                    (kind != "W").then(|| e.as_path.as_ref().map(path_text).unwrap_or_default()),
                ));
            }
        }
        Ok(())
    }
}

/// Iterator over every route of an MRT file (see `mrt_routes`).
#[pyclass(module = "geoip_rs", name = "MrtRoutes")]
pub struct MrtRoutes {
    state: Mutex<RoutesState>,
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
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.fill()?;
            Ok(state.rows.pop_front())
        })
        .map_err(to_pyerr)
    }
}

/// Every route in an MRT file, one tuple per RIB entry, announcement or withdrawal.
#[pyfunction]
fn mrt_routes(path: PathBuf) -> PyResult<MrtRoutes> {
    let input = Input::open(&path).map_err(to_pyerr)?;
    let state = RoutesState {
        records: Records::new(input),
        elementor: Elementor::new(),
        rows: VecDeque::new(),
        done: false,
    };
    Ok(MrtRoutes {
        state: Mutex::new(state),
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_mrt, m)?)?;
    m.add_function(wrap_pyfunction!(mrt_routes, m)?)?;
    m.add_class::<MrtRoutes>()?;
    Ok(())
}
