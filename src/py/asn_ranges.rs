//! `AsnRanges`: the AS numbers of RIR delegated files as a read-only mapping of
//! `asn -> record` that holds ranges, so that a count of billions costs one entry.

use crate::asn_ranges::AsnRanges as Ranges;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// A read-only mapping of AS number to its delegation record, kept as ranges: `len`
/// counts AS numbers, iteration yields them one by one without expanding them, and
/// `ranges()` gives `(first, last, record)`. A `collections.abc.Mapping`.
#[pyclass(module = "geoip_rs", frozen)]
pub struct AsnRanges {
    ranges: Ranges<usize>,
    records: Vec<Py<PyDict>>,
}

impl AsnRanges {
    pub fn new(ranges: Ranges<usize>, records: Vec<Py<PyDict>>) -> Self {
        AsnRanges { ranges, records }
    }

    fn find(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> Option<Py<PyDict>> {
        let asn = key.extract::<u32>().ok()?;
        self.ranges.get(asn).map(|&i| self.records[i].clone_ref(py))
    }
}

#[pymethods]
impl AsnRanges {
    fn __len__(&self) -> usize {
        self.ranges.asn_count() as usize
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyDict>> {
        self.find(py, key)
            .ok_or_else(|| PyKeyError::new_err(key.clone().unbind()))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> bool {
        self.find(py, key).is_some()
    }

    #[pyo3(signature = (key, default = None))]
    fn get(&self, py: Python<'_>, key: &Bound<'_, PyAny>, default: Option<Py<PyAny>>) -> Py<PyAny> {
        match self.find(py, key) {
            Some(d) => d.into_any(),
            None => default.unwrap_or_else(|| py.None()),
        }
    }

    fn __iter__(slf: Bound<'_, Self>) -> AsnIter {
        AsnIter::new(slf, Yield::Keys)
    }

    fn keys(slf: Bound<'_, Self>) -> AsnIter {
        AsnIter::new(slf, Yield::Keys)
    }

    fn values(slf: Bound<'_, Self>) -> AsnIter {
        AsnIter::new(slf, Yield::Values)
    }

    fn items(slf: Bound<'_, Self>) -> AsnIter {
        AsnIter::new(slf, Yield::Items)
    }

    /// `(first, last, record)` of each range, in order.
    fn ranges<'py>(&self, py: Python<'py>) -> Vec<(u32, u32, Py<PyDict>)> {
        let record = |i: usize| self.records[i].clone_ref(py);
        self.ranges
            .iter()
            .map(|(f, l, &i)| (f, l, record(i)))
            .collect()
    }

    /// Equal to any mapping with the same AS numbers and records (as `dict`s are).
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(len) = other.len() else {
            return Ok(false);
        };
        if len as u64 != self.ranges.asn_count() || !other.hasattr("items")? {
            return Ok(false);
        }
        for item in other.call_method0("items")?.try_iter()? {
            let (k, v) = item?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()?;
            match self.find(py, &k) {
                Some(d) if d.bind(py).eq(&v)? => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    fn __repr__(&self) -> String {
        let n = self.ranges.asn_count();
        format!("AsnRanges({n} AS numbers in {} ranges)", self.ranges.len())
    }
}

#[derive(Clone, Copy)]
enum Yield {
    Keys,
    Values,
    Items,
}

/// An iterator over the AS numbers of an `AsnRanges` (or their records, or both).
#[pyclass(module = "geoip_rs")]
pub struct AsnIter {
    owner: Py<AsnRanges>,
    at: Option<(usize, u32)>,
    started: bool,
    what: Yield,
}

impl AsnIter {
    fn new(owner: Bound<'_, AsnRanges>, what: Yield) -> Self {
        AsnIter {
            owner: owner.unbind(),
            at: None,
            started: false,
            what,
        }
    }
}

#[pymethods]
impl AsnIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.started && self.at.is_none() {
            return Ok(None);
        }
        let owner = self.owner.get();
        self.at = owner.ranges.next(self.at);
        self.started = true;
        let Some((i, asn)) = self.at else {
            return Ok(None);
        };
        let record = || owner.records[*owner.ranges.value(i)].clone_ref(py);
        Ok(Some(match self.what {
            Yield::Keys => asn.into_pyobject(py)?.into_any().unbind(),
            Yield::Values => record().into_any(),
            Yield::Items => PyTuple::new(
                py,
                [
                    asn.into_pyobject(py)?.into_any().unbind(),
                    record().into_any(),
                ],
            )?
            .into_any()
            .unbind(),
        }))
    }
}
