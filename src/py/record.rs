//! `geoip_rs.Record`: what one address maps to, its fields in the order of the
//! core's one schema ([`RECORD_FIELDS`]). Values are kept as Rust values and made
//! into Python objects when asked for.

use super::convert;
use crate::db::schema::{FieldValue, OwnedRecord, RECORD_FIELDS};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::PyTypeInfo;
use std::borrow::Cow;

#[pyclass(frozen, eq, hash, module = "geoip_rs", name = "Record")]
#[derive(PartialEq, Eq, Hash, Clone)]
pub struct Record(OwnedRecord);

impl Record {
    pub(crate) fn from_core(r: crate::db::Record<'_>) -> Self {
        Record(r.to_owned_record())
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.0
            .fields()
            .iter()
            .map(|v| value_object(py, v))
            .collect()
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
        Ok(Record(OwnedRecord {
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
        }))
    }

    #[getter]
    fn address<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::address_object(py, self.0.address)
    }

    #[getter]
    fn prefix<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::network_object(py, &self.0.prefix)
    }

    #[getter]
    fn asn(&self) -> u32 {
        self.0.asn
    }

    #[getter]
    fn origins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.origins.iter())
    }

    #[getter]
    fn as_name(&self) -> Option<&str> {
        self.0.as_name.as_deref()
    }

    #[getter]
    fn org_id(&self) -> Option<&str> {
        self.0.org_id.as_deref()
    }

    #[getter]
    fn org_name(&self) -> Option<&str> {
        self.0.org_name.as_deref()
    }

    #[getter]
    fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    #[getter]
    fn country_source(&self) -> Option<&str> {
        self.0.country_source.as_deref()
    }

    #[getter]
    fn registry(&self) -> Option<&str> {
        self.0.registry.as_deref()
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
        let parts = RECORD_FIELDS.iter().zip(self.0.fields()).map(|(f, v)| {
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

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, slf.get().values(py)?)?;
        PyTuple::new(py, [Record::type_object(py).into_any(), args.into_any()])
    }
}
