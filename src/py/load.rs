//! What every loader binding shares: running a load with the GIL released while
//! still reporting progress and noticing Ctrl-C, and the summary as a dict.

use super::errors::to_pyerr;
use super::objects::{self, ToObject};
use crate::loaders::{Input, LoadError, OnError, Progress, ReadOptions, Summary};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::Path;
use std::time::{Duration, Instant};

/// Progress from a detached load: every 100 ms it attaches to Python, checks for
/// signals (Ctrl-C) and calls the callback with `(done, total)` bytes. The first
/// Python error is kept and the load is cancelled.
struct PyProgress {
    callback: Option<Py<PyAny>>,
    last: Instant,
    error: Option<PyErr>,
}

const EVERY: Duration = Duration::from_millis(100);

impl Progress for PyProgress {
    fn update(&mut self, done: u64, total: u64) -> bool {
        if self.last.elapsed() < EVERY {
            return true;
        }
        self.last = Instant::now();
        let result = Python::attach(|py| {
            py.check_signals()?;
            match &self.callback {
                Some(cb) => cb.call1(py, (done, total)).map(drop),
                None => Ok(()),
            }
        });
        match result {
            Ok(()) => true,
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }
}

impl PyProgress {
    /// The final report, so that a progress bar ends at 100%.
    fn finish(&mut self, total: u64) -> PyResult<()> {
        match (&self.callback, self.error.take()) {
            (_, Some(e)) => Err(e),
            (Some(cb), None) => Python::attach(|py| cb.call1(py, (total, total)).map(drop)),
            (None, None) => Ok(()),
        }
    }
}

/// The progress callback for `progress=`: None/False for none, True for a
/// `tqdm.auto` bar (made by `geoip_rs._progress.bar`), or any callable taking
/// `(done, total)` bytes.
pub(crate) fn progress_callback(
    py: Python<'_>,
    progress: Option<&Bound<'_, PyAny>>,
    desc: &str,
) -> PyResult<Option<Py<PyAny>>> {
    match progress {
        None => Ok(None),
        Some(p) if p.is_none() => Ok(None),
        Some(p) if p.is_instance_of::<pyo3::types::PyBool>() => match p.is_truthy()? {
            true => Ok(Some(
                py.import("geoip_rs._progress")?
                    .call_method1("bar", (desc,))?
                    .unbind(),
            )),
            false => Ok(None),
        },
        Some(p) if p.is_callable() => Ok(Some(p.clone().unbind())),
        Some(p) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "progress must be None, a bool or a callable taking (done, total), not {}",
            p.get_type().name()?
        ))),
    }
}

/// Open `path` and read it with `read`: with the GIL released, progress reported as
/// `progress=` asks, and errors as Python exceptions. Every reader binding uses this.
pub(crate) fn read_file<T: Send>(
    py: Python<'_>,
    path: &Path,
    on_error: &str,
    progress: Option<&Bound<'_, PyAny>>,
    read: impl FnOnce(Input, &mut ReadOptions) -> Result<T, LoadError> + Send,
) -> PyResult<T> {
    let callback = progress_callback(py, progress, &path.display().to_string())?;
    run(py, on_error, callback, |opts| {
        let input = Input::open(path)?;
        let size = input.size();
        Ok((read(input, opts)?, size))
    })
}

/// Run `load` with the GIL released. `load` gets the read options and returns its
/// result and the file size (for the last progress report).
pub(crate) fn run<T: Send>(
    py: Python<'_>,
    on_error_name: &str,
    progress: Option<Py<PyAny>>,
    load: impl FnOnce(&mut ReadOptions) -> Result<(T, u64), LoadError> + Send,
) -> PyResult<T> {
    let on_error: OnError = on_error_name.parse()?;
    let work = |progress: &mut dyn Progress| load(&mut ReadOptions { on_error, progress });
    let interrupted = |e: &LoadError| matches!(e, LoadError::Interrupted);
    with_progress(py, progress, work, interrupted, to_pyerr)
}

/// `work` with the GIL released, reporting to `progress` (see [`PyProgress`]); a
/// cancel (an error `interrupted` says is one) raises what Python raised.
pub(crate) fn with_progress<T: Send, E: Send>(
    py: Python<'_>,
    progress: Option<Py<PyAny>>,
    work: impl FnOnce(&mut dyn Progress) -> Result<(T, u64), E> + Send,
    interrupted: impl Fn(&E) -> bool,
    to_err: impl Fn(E) -> PyErr,
) -> PyResult<T> {
    let mut reporter = PyProgress {
        callback: progress,
        last: Instant::now(),
        error: None,
    };
    match py.detach(|| work(&mut reporter)) {
        Ok((value, size)) => {
            reporter.finish(size)?;
            Ok(value)
        }
        Err(e) if interrupted(&e) => Err(reporter.error.take().unwrap_or_else(|| to_err(e))),
        Err(e) => Err(to_err(e)),
    }
}

/// A [`Summary`] as a dict.
pub(crate) fn summary_dict<'py>(py: Python<'py>, s: &Summary) -> PyResult<Bound<'py, PyDict>> {
    let d = objects::dict(py)?;
    objects::set(&d, "records", s.records)?;
    objects::set(&d, "prefixes", s.prefixes)?;
    objects::set(&d, "entries", s.entries)?;
    objects::set(&d, "skipped", &s.skipped)?;
    let errors = objects::list(py)?;
    for e in &s.errors {
        errors.append(e.to_object(py)?)?;
    }
    objects::set(&d, "errors", errors)?;
    objects::set(&d, "truncated", s.truncated)?;
    Ok(d)
}
