//! Reading source files into a [`DbBuilder`], each recorded in the provenance:
//! [`DbBuilder::from_sources`] reads a whole list of them, with progress over all.

use super::build::{flatten_origins, DbBuilder};
use super::country::CountryOrder;
use super::kinds::SourceKind;
use super::provenance::{mrt_date, ymd, SourceInfo};
use crate::loaders::as2org::read_as2org;
use crate::loaders::asnames::read_asnames;
use crate::loaders::ipasn::read_ipasn;
use crate::loaders::mrt::{Chosen, OriginPolicy, Rib};
use crate::loaders::pfx2as::read_pfx2as;
use crate::loaders::rir::read_delegated;
use crate::loaders::{Input, LoadError, OnError, Progress, ReadOptions, Summary};
use std::path::{Path, PathBuf};

/// Progress over several files as one: the bytes of the files read before the
/// current one, plus the current one's, of all the files' sizes.
struct Overall<'a> {
    inner: &'a mut dyn Progress,
    before: u64,
    total: u64,
}

impl Progress for Overall<'_> {
    fn update(&mut self, done: u64, _file_size: u64) -> bool {
        self.inner.update(self.before + done, self.total)
    }
}

/// Size of a file for progress (0 if it cannot be read: opening it will say why).
fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// The bytes [`DbBuilder::from_sources`] reports progress out of.
pub fn total_bytes(sources: &[(SourceKind, PathBuf)]) -> u64 {
    sources.iter().map(|(_, p)| file_size(p)).sum()
}

/// What a build takes besides its files.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// How MRT files' prefixes get their origins.
    pub origin_policy: OriginPolicy,
    /// The order the country sources are tried in; `None` for the default.
    pub country_order: Option<CountryOrder>,
    /// The fields an MMDB record's country is read from; `None` for the default
    /// ([`super::mmdb_source::DEFAULT_COUNTRY_FIELDS`]).
    pub mmdb_country_fields: Option<Vec<String>>,
}

impl BuildOptions {
    /// The defaults but for the origin policy.
    pub fn new(origin_policy: OriginPolicy) -> Self {
        BuildOptions {
            origin_policy,
            country_order: None,
            mmdb_country_fields: None,
        }
    }
}

/// Each file's load summary, in the order read.
pub type Summaries = Vec<(PathBuf, Summary)>;

/// Files read one after the other, with progress over them all.
struct Reading<'a> {
    on_error: OnError,
    progress: Overall<'a>,
    summaries: Summaries,
}

impl Reading<'_> {
    /// Read `path` with `read`; its bytes count as done afterwards.
    fn file(
        &mut self,
        path: &Path,
        read: impl FnOnce(&mut ReadOptions) -> Result<Summary, LoadError>,
    ) -> Result<(), LoadError> {
        let mut opts = ReadOptions {
            on_error: self.on_error,
            progress: &mut self.progress,
        };
        let summary = read(&mut opts)?;
        self.summaries.push((path.to_path_buf(), summary));
        self.progress.before += file_size(path);
        Ok(())
    }
}

impl DbBuilder {
    /// A builder with every source read: the MRT files first, into one RIB (RIB
    /// dumps, then update files, in the order given) whose origins are chosen by
    /// `policy`, then the others kind by kind in [`SourceKind::ALL`] order, each
    /// kind's files in the order given. Progress covers all the files' bytes.
    pub fn from_sources(
        sources: &[(SourceKind, PathBuf)],
        build: &BuildOptions,
        opts: &mut ReadOptions,
    ) -> Result<(DbBuilder, Summaries), LoadError> {
        if !sources.iter().any(|(k, _)| k.is_prefix_source()) {
            return Err(LoadError::Usage(SourceKind::no_prefix_source()));
        }
        let mut b = DbBuilder::new();
        if let Some(fields) = &build.mmdb_country_fields {
            b.set_mmdb_country_fields(fields)
                .map_err(LoadError::Usage)?;
        }
        if let Some(order) = build.country_order {
            b.set_country_order(order);
        }
        let policy = build.origin_policy;
        let mut order: Vec<&(SourceKind, PathBuf)> = sources.iter().collect();
        order.sort_by_key(|(k, _)| *k);
        let mrt_files = order.partition_point(|(k, _)| *k == SourceKind::Mrt);
        let (mrt, others) = order.split_at(mrt_files);
        let mut reading = Reading {
            on_error: opts.on_error,
            progress: Overall {
                inner: &mut *opts.progress,
                before: 0,
                total: total_bytes(sources),
            },
            summaries: Vec::new(),
        };
        let paths: Vec<_> = mrt.iter().map(|(_, p)| p).collect();
        let mut rib = Rib::for_files(&paths, &mut reading.progress)?;
        for (_, path) in mrt {
            reading.file(path, |o| b.read_mrt_file(&mut rib, path, o))?;
        }
        if !mrt.is_empty() {
            b.add_rib(rib, policy);
        }
        for (kind, path) in others {
            reading.file(path, |o| b.read_source(*kind, path, o))?;
        }
        Ok((b, reading.summaries))
    }

    /// Read one file of a kind other than MRT.
    fn read_source(
        &mut self,
        kind: SourceKind,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        match kind {
            SourceKind::Mrt => unreachable!("MRT files are read into one RIB"),
            SourceKind::Ipasn => self.read_ipasn(path, opts),
            SourceKind::Pfx2as => self.read_pfx2as(path, opts),
            SourceKind::Mmdb => self.read_mmdb(path, opts),
            SourceKind::As2org => self.read_as2org(path, opts),
            SourceKind::Delegated => self.read_delegated(path, opts),
            SourceKind::Asnames => self.read_asnames(path, opts),
        }
    }

    /// Read MRT files (RIB dumps, then any update files, in the order given) into one
    /// RIB and add each prefix's origins under `policy`.
    pub fn read_mrt(
        &mut self,
        paths: &[impl AsRef<Path>],
        policy: OriginPolicy,
        opts: &mut ReadOptions,
    ) -> Result<Vec<Summary>, LoadError> {
        let mut rib = Rib::for_files(paths, opts.progress)?;
        let mut summaries = Vec::new();
        for p in paths {
            summaries.push(self.read_mrt_file(&mut rib, p.as_ref(), opts)?);
        }
        if !paths.is_empty() {
            self.add_rib(rib, policy);
        }
        Ok(summaries)
    }

    /// Read one MRT file into `rib`, recorded as a source.
    fn read_mrt_file(
        &mut self,
        rib: &mut Rib,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let summary = rib.read_file(path, opts)?;
        let date = mrt_date(path)?;
        self.add_source(SourceInfo::of(path, SourceKind::Mrt.name(), date)?.with_counts(&summary));
        Ok(summary)
    }

    /// Add each prefix of `rib` with its origins under `policy`, in prefix order.
    fn add_rib(&mut self, rib: Rib, policy: OriginPolicy) {
        let mut items: Vec<_> = rib.origins(policy).collect();
        items.sort_by_key(|a| a.0);
        for (prefix, chosen) in items {
            let origins = match &chosen {
                Chosen::One(o) => flatten_origins([o]),
                Chosen::All(list) => flatten_origins(list.iter().map(|(o, _)| o)),
            };
            self.add_prefix(&prefix, &origins);
        }
        self.set_option("origin_policy", policy.name());
    }

    /// Add a pyasn ipasn file.
    pub fn read_ipasn(
        &mut self,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let s = read_ipasn(Input::open(path)?, opts, |p, asn| {
            self.add_prefix(&p, &[asn])
        })?;
        self.add_source(SourceInfo::of(path, SourceKind::Ipasn.name(), None)?.with_counts(&s));
        Ok(s)
    }

    /// Add a CAIDA pfx2as file (every origin of a multi-origin prefix, sets flattened).
    pub fn read_pfx2as(
        &mut self,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let s = read_pfx2as(Input::open(path)?, opts, |p, origins| {
            self.add_prefix(&p, &flatten_origins(&origins))
        })?;
        self.add_source(SourceInfo::of(path, SourceKind::Pfx2as.name(), None)?.with_counts(&s));
        Ok(s)
    }

    /// Add a CAIDA as2org file.
    pub fn read_as2org(
        &mut self,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let (data, s) = read_as2org(Input::open(path)?, opts)?;
        self.add_as2org(data);
        self.add_source(SourceInfo::of(path, SourceKind::As2org.name(), None)?.with_counts(&s));
        Ok(s)
    }

    /// Add a RIR delegated file.
    pub fn read_delegated(
        &mut self,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let (data, s) = read_delegated(Input::open(path)?, opts)?;
        let date = data
            .header
            .as_ref()
            .and_then(|h| h.end_date.as_deref().and_then(ymd));
        self.add_delegated(data);
        self.add_source(SourceInfo::of(path, SourceKind::Delegated.name(), date)?.with_counts(&s));
        Ok(s)
    }

    /// Add an AS names file.
    pub fn read_asnames(
        &mut self,
        path: &Path,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let (names, s) = read_asnames(Input::open(path)?, opts)?;
        self.add_asnames(names);
        self.add_source(SourceInfo::of(path, SourceKind::Asnames.name(), None)?.with_counts(&s));
        Ok(s)
    }
}
