//! The kinds of source file a database is built from, listed once: their names (the
//! Python keyword arguments and the CLI's `--<name>` options), what each is, and which
//! give prefixes. The bindings and the CLI build their arguments from this list, so a
//! new format is one more entry here and a reader in [`super::sources`].

use crate::loaders::{by_name, BadName};
use std::str::FromStr;

/// A kind of source file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    Mrt,
    Ipasn,
    Pfx2as,
    Mmdb,
    As2org,
    Delegated,
    Asnames,
}

impl SourceKind {
    /// Every kind, in the order a build reads them: prefix sources first (a prefix
    /// in several keeps the first one's origins first), then the registry sources.
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Mrt,
        SourceKind::Ipasn,
        SourceKind::Pfx2as,
        SourceKind::Mmdb,
        SourceKind::As2org,
        SourceKind::Delegated,
        SourceKind::Asnames,
    ];

    /// The name users pass (`mrt=[...]`, `--mrt FILE`) and provenance records.
    pub const fn name(self) -> &'static str {
        match self {
            SourceKind::Mrt => "mrt",
            SourceKind::Ipasn => "ipasn",
            SourceKind::Pfx2as => "pfx2as",
            SourceKind::Mmdb => "mmdb",
            SourceKind::As2org => "as2org",
            SourceKind::Delegated => "delegated",
            SourceKind::Asnames => "asnames",
        }
    }

    /// What such a file is, in a few words (the CLI's help text).
    pub const fn description(self) -> &'static str {
        match self {
            SourceKind::Mrt => "MRT RIB dump or update file",
            SourceKind::Ipasn => "pyasn ipasn file",
            SourceKind::Pfx2as => "CAIDA pfx2as file",
            SourceKind::Mmdb => {
                "MMDB file: networks with AS numbers become prefixes, their AS \
                 organisations AS names (GeoLite2-ASN); networks with a country \
                 become the mmdb country source (GeoLite2-Country, DB-IP, ipinfo)"
            }
            SourceKind::As2org => "CAIDA as2org file",
            SourceKind::Delegated => "RIR delegated file",
            SourceKind::Asnames => "AS names file (pyasn JSON or cidr-report text)",
        }
    }

    /// True for the kinds that give prefixes and their origins; a database needs
    /// at least one file of such a kind.
    pub const fn is_prefix_source(self) -> bool {
        matches!(
            self,
            SourceKind::Mrt | SourceKind::Ipasn | SourceKind::Pfx2as | SourceKind::Mmdb
        )
    }

    /// Why a build without a prefix source cannot work, naming those kinds:
    /// `a database needs a prefix source: give mrt, ipasn, pfx2as or mmdb files`.
    pub fn no_prefix_source() -> String {
        let names: Vec<&str> = SourceKind::ALL
            .iter()
            .filter(|k| k.is_prefix_source())
            .map(|k| k.name())
            .collect();
        let listed = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.concat(),
        };
        format!("a database needs a prefix source: give {listed} files")
    }
}

impl FromStr for SourceKind {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name("source kind", &SourceKind::ALL, SourceKind::name, s)
    }
}
