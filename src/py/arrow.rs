//! Arrow in and out through the PyCapsule interface, read and written by pyo3-arrow:
//! address columns from any Arrow producer (pyarrow, Polars, pandas, DuckDB, arro3),
//! and a batch's records as an Arrow table.

use crate::addresses::{read_chunks, AddressColumn, ColumnError, OnError};
use crate::db::arrow::{schema, select, ArrowColumn};
use ::arrow_schema::DataType;
use arrow_array::cast::AsArray;
use arrow_array::ArrayRef;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::{intern, PyErr};
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PySchema;

/// Whether `obj` exports Arrow data (numpy arrays do not: they keep their own path).
pub(crate) fn is_arrow(obj: &Bound<'_, PyAny>) -> bool {
    let py = obj.py();
    let has = |name| obj.hasattr(name).unwrap_or(false);
    has(intern!(py, "__arrow_c_array__")) || has(intern!(py, "__arrow_c_stream__"))
}

/// An Arrow column's chunks, and its name for messages.
pub(crate) struct Column {
    pub chunks: Vec<ArrayRef>,
    name: String,
}

impl Column {
    /// The column `obj` exports; a one-column table gives its column.
    pub(crate) fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (chunks, field) = obj
            .extract::<AnyArray>()?
            .into_chunked_array()?
            .into_inner();
        match field.data_type() {
            DataType::Struct(fields) if fields.len() == 1 => Ok(Column {
                chunks: chunks
                    .iter()
                    .map(|c| c.as_struct().column(0).clone())
                    .collect(),
                name: fields[0].name().clone(),
            }),
            DataType::Struct(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
                Err(PyTypeError::new_err(format!(
                    "expected one column of addresses, got a table of {} columns ({}): pass one column",
                    names.len(),
                    names.join(", ")
                )))
            }
            _ => Ok(Column {
                chunks,
                name: field.name().clone(),
            }),
        }
    }

    /// The addresses of every chunk as one column.
    pub(crate) fn addresses(&self, on_error: OnError) -> PyResult<AddressColumn<'_>> {
        read_chunks(&self.chunks, on_error).map_err(|e| self.error(e))
    }

    /// A column error as a Python exception naming the column: a `TypeError` for a
    /// type that holds no addresses, a `ValueError` for a malformed row.
    pub(crate) fn error(&self, e: ColumnError) -> PyErr {
        let text = match self.name.is_empty() {
            true => e.to_string(),
            false => format!("column {:?}: {e}", self.name),
        };
        match e {
            ColumnError::Type(_) => PyTypeError::new_err(text),
            ColumnError::BadAddress { .. } => PyValueError::new_err(text),
        }
    }
}

/// The columns `names` picks (every column for None); a `ValueError` naming the
/// known ones for an unknown name.
pub(crate) fn columns(names: Option<Vec<String>>) -> PyResult<Vec<ArrowColumn>> {
    select(names.as_deref()).map_err(PyValueError::new_err)
}

/// The Arrow schema of `Database.to_arrow(addresses, columns)`.
#[pyfunction]
#[pyo3(signature = (columns = None))]
pub(crate) fn arrow_schema(columns: Option<Vec<String>>) -> PyResult<PySchema> {
    Ok(PySchema::new(schema(&self::columns(columns)?)))
}
