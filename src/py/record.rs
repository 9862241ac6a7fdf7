//! `geoip_rs.Record`: what one address maps to, its fields in the order of the
//! core's one schema ([`RECORD_FIELDS`]). Values are kept as Rust values and made
//! into Python objects when asked for.

use super::convert;
use crate::db::schema::{field_index, FieldValue, RECORD_FIELDS};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::PyTypeInfo;
use std::borrow::Cow;

#[pyclass(frozen, eq, hash, module = "geoip_rs", name = "Record")]
#[derive(PartialEq, Eq, Hash, Clone)]
pub struct Record {
    fields: [FieldValue<'static>; RECORD_FIELDS.len()],
}

impl Record {
    pub(crate) fn from_core(r: crate::db::Record<'_>) -> Self {
        Record {
            fields: r.fields().map(FieldValue::into_owned),
        }
    }

    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let i = field_index(name).expect("a field of the schema");
        value_object(py, &self.fields[i])
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.fields.iter().map(|v| value_object(py, v)).collect()
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
        let text = |t: Option<String>| FieldValue::Text(t.map(Cow::Owned));
        Ok(Record {
            fields: [
                FieldValue::Address(convert::address(address)?),
                FieldValue::Network(convert::network(prefix, true)?),
                FieldValue::Asn(asn),
                FieldValue::Origins(Cow::Owned(origins)),
                text(as_name),
                text(org_id),
                text(org_name),
                text(country),
                text(country_source),
                text(registry),
            ],
        })
    }

    #[getter]
    fn address<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "address")
    }

    #[getter]
    fn prefix<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "prefix")
    }

    #[getter]
    fn asn<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "asn")
    }

    #[getter]
    fn origins<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "origins")
    }

    #[getter]
    fn as_name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "as_name")
    }

    #[getter]
    fn org_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "org_id")
    }

    #[getter]
    fn org_name<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "org_name")
    }

    #[getter]
    fn country<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "country")
    }

    #[getter]
    fn country_source<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "country_source")
    }

    #[getter]
    fn registry<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "registry")
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
        let parts = RECORD_FIELDS.iter().zip(&self.fields).map(|(f, v)| {
            let shown = match v {
                // As text, not as `IPv4Address('...')`: shorter, and what users type.
                FieldValue::Address(a) => format!("'{a}'"),
                FieldValue::Network(p) => format!("'{p}'"),
                v => value_object(py, v)?.repr()?.to_string(),
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
