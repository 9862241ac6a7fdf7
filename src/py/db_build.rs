//! `geoip_rs._build_database`: sources in, a database file out (the Python
//! `build_database` wraps it and opens the result).

use super::database::db_error;
use super::load::{run, summary_dict};
use crate::db::DbBuilder;
use crate::loaders::mrt::OriginPolicy;
use crate::loaders::{LoadError, Progress, ReadOptions, Summary};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// Progress over several files as one: bytes of the files done before, plus the
/// current file's, of all the files' sizes. A step of several MRT files reports each
/// file from zero: a position going back means the next file has begun.
struct Cumulative<'a> {
    inner: &'a mut dyn Progress,
    before: u64,
    total: u64,
    last: (u64, u64),
}

impl Progress for Cumulative<'_> {
    fn update(&mut self, done: u64, total: u64) -> bool {
        if done < self.last.0 {
            self.before += self.last.1;
        }
        self.last = (done, total);
        self.inner.update(self.before + done, self.total)
    }
}

/// The kinds of single-file sources.
#[derive(Copy, Clone)]
enum Kind {
    Ipasn,
    Pfx2as,
    As2org,
    Delegated,
    Asnames,
}

/// One thing to read: all the MRT files into one RIB, or one other file.
enum Step {
    Mrt(Vec<PathBuf>),
    File(Kind, PathBuf),
}

impl Step {
    fn paths(&self) -> &[PathBuf] {
        match self {
            Step::Mrt(paths) => paths,
            Step::File(_, path) => std::slice::from_ref(path),
        }
    }
}

fn size(p: &PathBuf) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// What the sources gave: the builder, each file's summary by path, bytes read.
type Read = (DbBuilder, Vec<(String, Summary)>, u64);

/// Read every step in order into a builder, with progress over all the files.
fn read_all(
    steps: &[Step],
    policy: OriginPolicy,
    opts: &mut ReadOptions,
) -> Result<Read, LoadError> {
    let total = steps.iter().flat_map(Step::paths).map(size).sum();
    let mut b = DbBuilder::new();
    let mut summaries = Vec::new();
    let mut before = 0;
    for step in steps {
        let mut progress = Cumulative {
            inner: opts.progress,
            before,
            total,
            last: (0, 0),
        };
        let mut o = ReadOptions {
            on_error: opts.on_error,
            progress: &mut progress,
        };
        let read = match step {
            Step::Mrt(paths) => b.read_mrt(paths, policy, &mut o)?,
            Step::File(kind, path) => vec![match kind {
                Kind::Ipasn => b.read_ipasn(path, &mut o)?,
                Kind::Pfx2as => b.read_pfx2as(path, &mut o)?,
                Kind::As2org => b.read_as2org(path, &mut o)?,
                Kind::Delegated => b.read_delegated(path, &mut o)?,
                Kind::Asnames => b.read_asnames(path, &mut o)?,
            }],
        };
        for (p, s) in step.paths().iter().zip(read) {
            summaries.push((p.display().to_string(), s));
        }
        before += step.paths().iter().map(size).sum::<u64>();
    }
    Ok((b, summaries, total))
}

/// Build a database file; returns each source's load summary by path.
#[pyfunction]
#[pyo3(signature = (path, *, mrt = Vec::new(), ipasn = Vec::new(), pfx2as = Vec::new(), as2org = Vec::new(), delegated = Vec::new(), asnames = Vec::new(), origin_policy = "first_peer", on_error = "raise", progress = None))]
#[allow(clippy::too_many_arguments)]
fn _build_database<'py>(
    py: Python<'py>,
    path: PathBuf,
    mrt: Vec<PathBuf>,
    ipasn: Vec<PathBuf>,
    pfx2as: Vec<PathBuf>,
    as2org: Vec<PathBuf>,
    delegated: Vec<PathBuf>,
    asnames: Vec<PathBuf>,
    origin_policy: &str,
    on_error: &str,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy: OriginPolicy = origin_policy.parse()?;
    if mrt.is_empty() && ipasn.is_empty() && pfx2as.is_empty() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "a database needs a prefix source: give mrt, ipasn or pfx2as files",
        ));
    }
    let mut steps = vec![Step::Mrt(mrt)];
    for (kind, paths) in [
        (Kind::Ipasn, ipasn),
        (Kind::Pfx2as, pfx2as),
        (Kind::As2org, as2org),
        (Kind::Delegated, delegated),
        (Kind::Asnames, asnames),
    ] {
        steps.extend(paths.into_iter().map(|p| Step::File(kind, p)));
    }
    let callback = super::load::progress_callback(py, progress, &path.display().to_string())?;
    let (builder, summaries) = run(py, on_error, callback, |opts| {
        let (builder, summaries, total) = read_all(&steps, policy, opts)?;
        Ok(((builder, summaries), total))
    })?;
    let written = py.detach(|| builder.write(&path));
    written.map_err(db_error)?;
    let d = PyDict::new(py);
    for (p, s) in &summaries {
        d.set_item(p, summary_dict(py, s)?)?;
    }
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_build_database, m)?)
}
