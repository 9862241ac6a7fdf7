//! `geoip_rs.Record`: what one address maps to, its fields in the order of the
//! core's one schema ([`RECORD_FIELDS`]). A record from `Database.lookup` keeps
//! what the lookup found and the database, and makes the rest of its fields the
//! first time one is read; values are kept as Rust values and made into Python
//! objects when asked for, but for the `ipaddress` objects, made once.

use super::convert;
use crate::db::schema::{FieldValue, OwnedRecord, RECORD_FIELDS};
use crate::db::{CountrySource, Database, Found};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use pyo3::{PyTraverseError, PyTypeInfo, PyVisit};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

#[pyclass(frozen, eq, hash, module = "geoip_rs", name = "Record")]
pub struct Record {
    fields: Fields,
    address: PyOnceLock<Py<PyAny>>,
    prefix: PyOnceLock<Py<PyAny>>,
}

/// A record's values: given whole, or found in a database and made when asked.
/// Boxed, to keep the object small: a loop keeps many records, and the memory
/// it takes from the system and gives back costs more than the lookups.
enum Fields {
    Made(Box<OwnedRecord>),
    Found {
        db: Arc<Database>,
        found: Found,
        made: OnceLock<Box<OwnedRecord>>,
    },
}

impl Record {
    fn with(fields: Fields) -> Self {
        Record {
            fields,
            address: PyOnceLock::new(),
            prefix: PyOnceLock::new(),
        }
    }

    pub(crate) fn from_core(r: crate::db::Record<'_>) -> Self {
        Record::with(Fields::Made(Box::new(r.to_owned_record())))
    }

    /// The record of `found` in `db`, as a Python object the garbage collector
    /// does not track until it holds an object (see [`Record::cached`]).
    pub(crate) fn found(
        py: Python<'_>,
        db: Arc<Database>,
        found: Found,
    ) -> PyResult<Bound<'_, Self>> {
        let made = OnceLock::new();
        let obj = Bound::new(py, Record::with(Fields::Found { db, found, made }))?;
        // SAFETY: `obj` is a live object of a GC type (every pyclass is one). A
        // record holds no Python object yet, so it cannot be part of a cycle; left
        // tracked, the records a loop keeps made each collection walk all of them
        // (a third of a lookup's time).
        unsafe { ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) };
        Ok(obj)
    }

    /// Every value; a found record's made on first use.
    fn record(&self) -> &OwnedRecord {
        match &self.fields {
            Fields::Made(r) => r,
            Fields::Found { db, found, made } => made.get_or_init(|| {
                // `find` read the route's origins, so the record exists; the
                // fallback only shows what was found.
                Box::new(match db.record_found(found) {
                    Some(r) => r.to_owned_record(),
                    None => OwnedRecord {
                        address: found.address,
                        prefix: found.prefix(),
                        asn: found.asn,
                        origins: Box::new([found.asn]),
                        as_name: None,
                        org_id: None,
                        org_name: None,
                        country: None,
                        country_source: None,
                        registry: None,
                    },
                })
            }),
        }
    }

    /// The country of a found record whose other fields are not made yet: the
    /// core finds it alone, which costs less than the whole record.
    fn found_country(&self) -> Option<(Option<&'static str>, Option<CountrySource>)> {
        match &self.fields {
            Fields::Found { db, found, made } if made.get().is_none() => {
                Some(db.country_found(found))
            }
            _ => None,
        }
    }

    fn address_value(&self) -> IpAddr {
        match &self.fields {
            Fields::Made(r) => r.address,
            Fields::Found { found, .. } => found.address,
        }
    }

    fn prefix_value(&self) -> crate::ip::IpPrefix {
        match &self.fields {
            Fields::Made(r) => r.prefix,
            Fields::Found { found, .. } => found.prefix(),
        }
    }

    /// The object in `cell`, made by `make` the first time. A record holding an
    /// object is handed (back) to the garbage collector, which may then find it
    /// in a cycle (an `ipaddress` object can be given attributes).
    fn cached<'py>(
        slf: &Bound<'py, Self>,
        cell: impl Fn(&Self) -> &PyOnceLock<Py<PyAny>>,
        make: impl FnOnce(&Self) -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let obj = cell(this).get_or_try_init(py, || make(this).map(Bound::unbind))?;
        // SAFETY: a live object of a GC type whose `__traverse__` visits what it
        // holds; tracking is asked for only when it is not tracked (twice is an error).
        unsafe {
            if ffi::PyObject_GC_IsTracked(slf.as_ptr()) == 0 {
                ffi::PyObject_GC_Track(slf.as_ptr().cast());
            }
        }
        Ok(obj.bind(py).clone())
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.record()
            .fields()
            .iter()
            .map(|v| value_object(py, v))
            .collect()
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.record() == other.record()
    }
}

impl Hash for Record {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.record().hash(state)
    }
}

/// A field's value as Python shows it.
pub(crate) fn value_object<'py>(
    py: Python<'py>,
    v: &FieldValue<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        FieldValue::Address(a) => convert::address_object(py, *a)?,
        FieldValue::Network(p) => convert::network_object(py, p)?,
        FieldValue::Asn(a) => a.into_pyobject(py)?.into_any(),
        FieldValue::Origins(o) => PyTuple::new(py, o.iter())?.into_any(),
        FieldValue::Text(t) => t.as_deref().into_pyobject(py)?,
    })
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
        Ok(Record::with(Fields::Made(Box::new(OwnedRecord {
            address: convert::address(address)?,
            prefix: convert::network(prefix, true)?,
            asn,
            origins: origins.into(),
            as_name: as_name.map(Cow::Owned),
            org_id: org_id.map(Cow::Owned),
            org_name: org_name.map(Cow::Owned),
            country: country.map(Cow::Owned),
            country_source: country_source.map(Cow::Owned),
            registry: registry.map(Cow::Owned),
        }))))
    }

    #[getter]
    fn address<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        Record::cached(
            slf,
            |r| &r.address,
            |r| convert::address_object(py, r.address_value()),
        )
    }

    #[getter]
    fn prefix<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        Record::cached(
            slf,
            |r| &r.prefix,
            |r| convert::network_object(py, &r.prefix_value()),
        )
    }

    #[getter]
    fn asn(&self) -> u32 {
        match &self.fields {
            Fields::Made(r) => r.asn,
            Fields::Found { found, .. } => found.asn,
        }
    }

    #[getter]
    fn origins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.record().origins.iter())
    }

    #[getter]
    fn as_name(&self) -> Option<&str> {
        self.record().as_name.as_deref()
    }

    #[getter]
    fn org_id(&self) -> Option<&str> {
        self.record().org_id.as_deref()
    }

    #[getter]
    fn org_name(&self) -> Option<&str> {
        self.record().org_name.as_deref()
    }

    #[getter]
    fn country(&self) -> Option<&str> {
        match self.found_country() {
            Some((country, _)) => country,
            None => self.record().country.as_deref(),
        }
    }

    #[getter]
    fn country_source(&self) -> Option<&str> {
        match self.found_country() {
            Some((_, source)) => source.map(|s| s.name()),
            None => self.record().country_source.as_deref(),
        }
    }

    #[getter]
    fn registry(&self) -> Option<&str> {
        self.record().registry.as_deref()
    }

    /// The fields as a dict, in their order.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (f, v) in RECORD_FIELDS.iter().zip(self.values(py)?) {
            d.set_item(f.name, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let parts = RECORD_FIELDS
            .iter()
            .zip(self.record().fields())
            .map(|(f, v)| {
                let shown = match v {
                    // As text, not as `IPv4Address('...')`: shorter, and what users type.
                    FieldValue::Address(a) => format!("'{a}'"),
                    FieldValue::Network(p) => format!("'{p}'"),
                    v => value_object(py, &v)?.repr()?.to_string(),
                };
                Ok(format!("{}={shown}", f.name))
            });
        let parts = parts.collect::<PyResult<Vec<_>>>()?;
        Ok(format!("Record({})", parts.join(", ")))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: the collector calls this on a thread attached to Python; the
        // token only reads the cells, calling nothing in Python.
        let py = unsafe { Python::assume_attached() };
        for cell in [&self.address, &self.prefix] {
            if let Some(obj) = cell.get(py) {
                visit.call(obj)?;
            }
        }
        Ok(())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, slf.get().values(py)?)?;
        PyTuple::new(py, [Record::type_object(py).into_any(), args.into_any()])
    }
}
