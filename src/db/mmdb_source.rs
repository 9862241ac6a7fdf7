//! An MMDB file as a database source: each network with an AS number
//! (`autonomous_system_number`, as GeoLite2-ASN and geoip_rs's own exports have
//! it) becomes a prefix of that origin, and its `autonomous_system_organization`
//! the AS's name where no earlier source named it.
//!
//! An MMDB file keeps networks, not the routed prefixes: a prefix with more
//! specific ones inside is split around them, so the database gets the pieces
//! (every address answers with the same origin).

use super::build::DbBuilder;
use super::kinds::SourceKind;
use super::provenance::{iso_time, SourceInfo};
use crate::ip::IpPrefix;
use crate::loaders::asnames::AsName;
use crate::loaders::{LoadError, Location, ReadOptions, Summary};
use crate::mmdb::{MmdbFile, MmdbValue};
use std::collections::HashMap;
use std::path::Path;

/// The AS number and organisation of a record, if it has a number.
fn as_of(v: &MmdbValue) -> Option<(u32, Option<&str>)> {
    let asn = match v.get("autonomous_system_number")? {
        MmdbValue::Uint(n) => u32::try_from(*n).ok()?,
        _ => return None,
    };
    let org = match v.get("autonomous_system_organization") {
        Some(MmdbValue::Text(t)) if !t.is_empty() => Some(t.as_str()),
        _ => None,
    };
    Some((asn, org))
}

impl DbBuilder {
    /// Add an MMDB file (see the module docs).
    pub fn read_mmdb(&mut self, path: &Path, opts: &mut ReadOptions) -> Result<Summary, LoadError> {
        let bad = |message: String| LoadError::format(path, Location::Offset(0), message);
        let file = MmdbFile::open(path, true).map_err(|e| match e {
            crate::db::DbError::Io { error, .. }
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                LoadError::NotFound(path.to_path_buf())
            }
            e => bad(e.to_string()),
        })?;
        let mut s = Summary::default();
        let mut names: HashMap<u32, AsName> = HashMap::new();
        for (i, net) in file.networks().enumerate() {
            // Ctrl-C and a cancelling callback are heard between networks.
            if i % 65_536 == 0 && !opts.progress.update(0, 0) {
                return Err(LoadError::Interrupted);
            }
            let net = net.map_err(|e| bad(e.to_string()))?;
            s.records += 1;
            let record = file.lookup(net.network()).map_err(|e| bad(e.to_string()))?;
            let Some((asn, org)) = record.as_ref().and_then(|(v, _)| as_of(v)) else {
                // A network of another kind of data (a country file's): left out.
                *s.skipped
                    .entry("no autonomous_system_number".into())
                    .or_default() += 1;
                continue;
            };
            let prefix = IpPrefix::new(net.network(), net.prefix_len(), true)
                .map_err(|e| bad(e.message(&net.to_string())))?;
            self.add_prefix(&prefix, &[asn]);
            s.entries += 1;
            if let Some(org) = org {
                names.entry(asn).or_insert_with(|| AsName {
                    text: org.to_owned(),
                    handle: None,
                    description: Some(org.to_owned()),
                    country: None,
                });
            }
        }
        s.prefixes = s.entries;
        self.add_asnames(names);
        let built = Some(iso_time(file.metadata().build_epoch as i64));
        let kind = SourceKind::Mmdb.name();
        self.add_source(SourceInfo::of(path, kind, built)?.with_counts(&s));
        Ok(s)
    }
}
