//! The Python values of a `PrefixTable`. Integers that fit in 64 bits are kept as
//! `i64`, so that a batch lookup on an integer table (ASNs) fills a numpy array
//! without touching Python.

use crate::lpm::{Found, SlotValue};
use pyo3::prelude::*;
use pyo3::types::PyInt;

pub(crate) enum Value {
    Int(i64),
    Obj(Py<PyAny>),
}

impl SlotValue for Value {
    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Obj(_) => None,
        }
    }
}

impl Value {
    /// An exact `int` that fits in `i64` is stored natively; anything else (bool,
    /// big ints, any object) by reference.
    pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> Self {
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return Value::Int(i);
            }
        }
        Value::Obj(obj.clone().unbind())
    }

    pub(crate) fn into_py(self, py: Python<'_>) -> Bound<'_, PyAny> {
        match self {
            Value::Int(i) => i.into_pyobject(py).expect("int conversion").into_any(),
            Value::Obj(o) => o.into_bound(py),
        }
    }

    /// A copy to take out of the table's lock: making a Python object can run the
    /// garbage collector, and so any Python code, which must not happen under it.
    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Self {
        match self {
            Value::Int(i) => Value::Int(*i),
            Value::Obj(o) => Value::Obj(o.clone_ref(py)),
        }
    }

    /// A found value, copied out of the table.
    #[inline(always)]
    pub(crate) fn found(f: Found<'_, Value>, py: Python<'_>) -> Self {
        match f {
            Found::Int(i) => Value::Int(i),
            Found::Value(v) => v.clone_ref(py),
        }
    }
}
