//! An MMDB file as a database source, for what its records hold:
//! - a network with an AS number (`autonomous_system_number`, as GeoLite2-ASN and
//!   geoip_rs's own exports have it) becomes a prefix of that origin, and its
//!   `autonomous_system_organization` the AS's name where no earlier source named it;
//! - a network with a country (by default `country.iso_code`, as MaxMind's and
//!   DB-IP's files have it, else a text `country`, as ipinfo's have it; or the
//!   fields a build chose) gives the addresses in it that country, the `mmdb`
//!   country source.
//!
//! An MMDB file keeps networks, not the routed prefixes: a prefix with more
//! specific ones inside is split around them, so the database gets the pieces
//! (every address answers with the same origin).

use super::build::DbBuilder;
use super::kinds::SourceKind;
use super::layout::cc_bytes;
use super::provenance::{iso_time, SourceInfo};
use crate::ip::IpPrefix;
use crate::key::Prefix;
use crate::loaders::asnames::AsName;
use crate::loaders::{LoadError, Location, ReadOptions, Summary};
use crate::mmdb::index::{aliases_of, ALIASES};
use crate::mmdb::{MmdbFile, MmdbValue};
use crate::table::IpTable;
use std::collections::HashMap;
use std::path::Path;

/// The fields a record's country is read from unless a build chooses others: the
/// first one a record has.
pub const DEFAULT_COUNTRY_FIELDS: [&str; 2] = ["country.iso_code", "country"];

/// What one record gives: an AS number and its organisation, a country.
#[derive(Clone, Default)]
struct Gives {
    asn: Option<(u32, Option<String>)>,
    country: Option<[u8; 2]>,
}

/// The AS number and organisation of a record, if it has a number.
fn as_of(v: &MmdbValue) -> Option<(u32, Option<String>)> {
    let asn = match v.get("autonomous_system_number")? {
        MmdbValue::Uint(n) => u32::try_from(*n).ok()?,
        _ => return None,
    };
    let org = match v.get("autonomous_system_organization") {
        Some(MmdbValue::Text(t)) if !t.is_empty() => Some(t.clone()),
        _ => None,
    };
    Some((asn, org))
}

/// The country of a record: the first of `fields` that it has as text (a map or a
/// number at that path is not a country: `country` is a map in MaxMind's files).
/// Text that is not a two-letter code is an error naming the field.
fn country_of(v: &MmdbValue, fields: &[String]) -> Result<Option<[u8; 2]>, String> {
    for field in fields {
        let Some(MmdbValue::Text(t)) = v.get(field) else {
            continue;
        };
        return match (t.as_str(), cc_bytes(Some(t))) {
            ("", _) => Ok(None),
            (_, [0, 0]) => Err(format!("{field} is {t:?}, not a two-letter country code")),
            (_, cc) => Ok(Some(cc)),
        };
    }
    Ok(None)
}

/// The countries with the file's IPv4 networks also at each IPv6 alias of the
/// IPv4 space the file has (`::ffff:0:0/96`, 6to4's `2002::/16`...): a country
/// file answers there as for the IPv4 address inside, and so must the database.
/// (Prefixes are not copied so: those IPv6 networks are routed on their own.)
fn with_aliases(
    file: &MmdbFile,
    mut countries: IpTable<[u8; 2]>,
) -> Result<IpTable<[u8; 2]>, crate::db::DbError> {
    let v4: Vec<(Prefix<u32>, [u8; 2])> = countries.v4().iter().collect();
    let on = aliases_of(file, &v4)?;
    for ((base, len, at), _) in ALIASES.iter().zip(on).filter(|(_, on)| *on) {
        for (p, cc) in &v4 {
            let addr = base | (u128::from(p.addr()) << (96 - at));
            if let Some(q) = Prefix::new(addr, len + p.prefix_len()) {
                countries.insert(&IpPrefix::V6(q), *cc);
            }
        }
    }
    Ok(countries)
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
        let mut countries = IpTable::new();
        let mut decoded: HashMap<usize, Gives> = HashMap::new();
        for (i, net) in file.networks().enumerate() {
            // Ctrl-C and a cancelling callback are heard between networks.
            if i % 65_536 == 0 && !opts.progress.update(0, 0) {
                return Err(LoadError::Interrupted);
            }
            let net = net.map_err(|e| bad(e.to_string()))?;
            s.records += 1;
            let prefix = IpPrefix::new(net.network(), net.prefix_len(), true)
                .map_err(|e| bad(e.message(&net.to_string())))?;
            let gives = match self.gives(&file, &mut decoded, &prefix) {
                Ok(g) => g,
                Err((message, offset)) => {
                    let at = Location::Record {
                        record: s.records,
                        offset,
                    };
                    let e = LoadError::format(path, at, message);
                    opts.bad_item(&mut s, "not a country code", e)?;
                    continue;
                }
            };
            self.add_network(&prefix, gives, &mut s, &mut names, &mut countries);
        }
        self.add_asnames(names);
        let countries = with_aliases(&file, countries).map_err(|e| bad(e.to_string()))?;
        self.add_mmdb_countries(countries);
        let built = Some(iso_time(file.metadata().build_epoch as i64));
        let kind = SourceKind::Mmdb.name();
        self.add_source(SourceInfo::of(path, kind, built)?.with_counts(&s));
        Ok(s)
    }

    /// What the record of the network `prefix` gives, each distinct record
    /// decoded once (a country file has a few hundred for its many networks);
    /// else why not, and the record's offset in the file.
    fn gives(
        &self,
        file: &MmdbFile,
        decoded: &mut HashMap<usize, Gives>,
        prefix: &IpPrefix,
    ) -> Result<Gives, (String, u64)> {
        let found = file.find(prefix.addr()).map_err(|e| (e.to_string(), 0))?;
        let Some(offset) = found.offset else {
            return Ok(Gives::default());
        };
        if let Some(g) = decoded.get(&offset) {
            return Ok(g.clone());
        }
        // The data section follows the search tree (two records a node) and 16
        // bytes of zeros.
        let meta = file.metadata();
        let at = meta.node_count as u64 * meta.record_size as u64 / 4 + 16 + offset as u64;
        let record = file
            .lookup(prefix.addr())
            .map_err(|e| (e.to_string(), at))?;
        let Some((v, _)) = record else {
            return Ok(Gives::default());
        };
        let g = Gives {
            asn: as_of(&v),
            country: country_of(&v, &self.mmdb_country_fields)
                .map_err(|e| (format!("network {prefix}: {e}"), at))?,
        };
        decoded.insert(offset, g.clone());
        Ok(g)
    }

    /// Add what one network gives, counted in `s`.
    fn add_network(
        &mut self,
        prefix: &IpPrefix,
        gives: Gives,
        s: &mut Summary,
        names: &mut HashMap<u32, AsName>,
        countries: &mut IpTable<[u8; 2]>,
    ) {
        if gives.asn.is_none() && gives.country.is_none() {
            // Another kind of data (a city's name without its country): left out.
            *s.skipped
                .entry("no AS number or country".into())
                .or_default() += 1;
            return;
        }
        s.entries += 1;
        if let Some(cc) = gives.country {
            countries.insert(prefix, cc);
        }
        let Some((asn, org)) = gives.asn else { return };
        self.add_prefix(prefix, &[asn]);
        s.prefixes += 1;
        if let Some(org) = org {
            names.entry(asn).or_insert_with(|| AsName {
                text: org.clone(),
                handle: None,
                description: Some(org),
                country: None,
            });
        }
    }
}
