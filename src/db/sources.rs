//! Reading source files into a [`DbBuilder`], each recorded in the provenance.

use super::build::{flatten_origins, DbBuilder};
use super::provenance::{mrt_date, ymd, SourceInfo};
use crate::loaders::as2org::read_as2org;
use crate::loaders::asnames::read_asnames;
use crate::loaders::ipasn::read_ipasn;
use crate::loaders::mrt::{Chosen, OriginPolicy, Rib};
use crate::loaders::pfx2as::read_pfx2as;
use crate::loaders::rir::read_delegated;
use crate::loaders::{Input, LoadError, ReadOptions, Summary};
use std::path::Path;

impl DbBuilder {
    /// Read MRT files (RIB dumps, then any update files, in the order given) into one
    /// RIB and add each prefix's origins under `policy`.
    pub fn read_mrt(
        &mut self,
        paths: &[impl AsRef<Path>],
        policy: OriginPolicy,
        opts: &mut ReadOptions,
    ) -> Result<Vec<Summary>, LoadError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut rib = Rib::new();
        let mut summaries = Vec::new();
        for p in paths {
            let summary = rib.read_file(p, opts)?;
            let date = mrt_date(p.as_ref())?;
            self.add_source(SourceInfo::of(p.as_ref(), "mrt", date)?.with_counts(&summary));
            summaries.push(summary);
        }
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
        Ok(summaries)
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
        self.add_source(SourceInfo::of(path, "ipasn", None)?.with_counts(&s));
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
        self.add_source(SourceInfo::of(path, "pfx2as", None)?.with_counts(&s));
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
        self.add_source(SourceInfo::of(path, "as2org", None)?.with_counts(&s));
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
        self.add_source(SourceInfo::of(path, "delegated", date)?.with_counts(&s));
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
        self.add_source(SourceInfo::of(path, "asnames", None)?.with_counts(&s));
        Ok(s)
    }
}
