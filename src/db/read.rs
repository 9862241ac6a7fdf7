//! An opened database: the file mapped, checked once, and read in place.
//!
//! [`Database::view`] gives a [`View`], plain slices over the map, which all the
//! queries use; it is found once on open and kept beside the map.
//!
//! What opening checks, in constant time so that opening costs the same for any size:
//! the container (magic, version, length; the checksum, which reads the whole file,
//! unless `verify_checksum` is off), that every section has the size and alignment
//! of its records, that the tries' headers are sound and that arrays that go
//! together are equally long. Nothing is walked: every index a query follows (trie
//! nodes and leaves, route, AS, organisation, registry and string ids) is checked
//! where it is used, so even a crafted file with a valid checksum cannot make a
//! query panic or read out of bounds; at worst it answers wrongly.

use super::build::MMDB_COUNTRY_COUNT;
use super::country::{CountryOrder, CountrySource};
use super::facts::FactsCell;
use super::file::{DbError, DbFile};
use super::layout::{AsInfo, OrgInfo, RirInfo, Section, Stored};
use super::provenance::Metadata;
use super::strings::{offsets_cut, Strings};
use super::versions::{At, VTrie};
use crate::key::Key;
use crate::poptrie::PoptrieRef;
use bytemuck::{cast_slice, try_cast_slice, Pod};
use std::path::Path;

pub struct Database {
    mapped: Mapped,
    meta: Metadata,
    history: bool,
    /// A one-date file's data time (seconds), or the beginning of time for one
    /// without a date, as the time of its one snapshot.
    taken: [i64; 1],
}

/// What views borrow: the mapped file, and the routes' facts at the newest
/// snapshot, made by the first large batch.
struct Owner {
    file: DbFile,
    facts: FactsCell,
}

// The view is found once on open and kept beside the map it borrows from (a
// struct that borrows from itself, which self_cell makes safe): finding it from
// the sections on each call cost a tenth of a single lookup from Python.
self_cell::self_cell!(
    struct Mapped {
        owner: Owner,
        #[covariant]
        dependent: View,
    }
);

/// One family's routed prefixes (in a history, every snapshot's).
#[derive(Copy, Clone)]
pub struct Family<'a, K: Stored> {
    pub trie: VTrie<'a, K>,
    pub addr: &'a [K::Raw],
    pub len: &'a [u8],
    /// Each prefix's route, or in a history a cell (see [`super::versions`]).
    pub route: &'a [u32],
}

/// The arrays of an opened database, as they read at one snapshot (the only one
/// of a one-date file).
#[derive(Copy, Clone)]
pub struct View<'a> {
    pub at: At<'a>,
    /// The order the country sources are tried in.
    pub order: CountryOrder,
    /// Where the file keeps its routes' facts (none for a view of bytes alone).
    pub facts: Option<&'a FactsCell>,
    /// Each snapshot's time (Unix seconds); empty for a one-date file.
    pub times: &'a [i64],
    pub v4: Family<'a, u32>,
    pub v6: Family<'a, u128>,
    pub route_off: &'a [u32],
    pub route_asn: &'a [u32],
    pub route_as: &'a [u32],
    pub as_num: &'a [u32],
    pub as_info: &'a [AsInfo],
    /// In a history, each AS's cell of `as_info` indexes; empty in a one-date file.
    pub as_cell: &'a [u32],
    pub org_info: &'a [OrgInfo],
    pub rir4: VTrie<'a, u32>,
    pub rir6: VTrie<'a, u128>,
    pub rir_info: &'a [RirInfo],
    pub rir_asn_first: &'a [u32],
    pub rir_asn_last: &'a [u32],
    pub rir_asn_info: &'a [u32],
    /// In a history, the RIR AS number ranges as a trie over AS numbers.
    pub rir_asn: VTrie<'a, u32>,
    pub strings: Strings<'a>,
}

impl Database {
    /// Open and check `path` (see the module docs). Without `verify_checksum` the
    /// data pages are not all read on open; structure is still checked.
    pub fn open(path: impl AsRef<Path>, verify_checksum: bool) -> Result<Database, DbError> {
        let file = DbFile::open_with(path, verify_checksum)?;
        if file.version() == super::file::COMPILED_MMDB_VERSION {
            return Err(file.invalid(
                "a compiled MMDB file, not a database: open it with geoip_rs.open".into(),
            ));
        }
        let mut ranges = Section::ALL
            .iter()
            .map(|s| file.section_range(s.name()))
            .collect::<Result<Vec<_>, _>>()?;
        let history = file.version() == super::file::HISTORY_VERSION;
        for s in Section::HISTORY {
            ranges.push(match history {
                true => file.section_range(s.name()).map_err(|_| {
                    file.invalid(format!(
                        "format version {} (a history) without section {:?}",
                        file.version(),
                        s.name()
                    ))
                })?,
                false => 0..0,
            });
        }
        let bytes = |s: Section| &file.bytes()[ranges[s.index()].clone()];
        let meta: Metadata = serde_json::from_slice(bytes(Section::Meta))
            .map_err(|e| file.invalid(format!("bad metadata: {e}")))?;
        check(bytes, history).map_err(|m| file.invalid(m))?;
        let taken = [meta.data_time().map_or(i64::MIN, |(_, t)| t)];
        let order = country_order(&meta).map_err(|m| file.invalid(m))?;
        let owner = Owner {
            file,
            facts: FactsCell::default(),
        };
        let mapped = Mapped::new(owner, |o| {
            let v = make_view(
                |s| &o.file.bytes()[ranges[s.index()].clone()],
                false,
                history,
            );
            View {
                order,
                facts: Some(&o.facts),
                ..v.expect("unchecked views do not fail")
            }
        });
        Ok(Database {
            mapped,
            meta,
            history,
            taken,
        })
    }

    /// Whether the file holds many snapshots.
    pub fn is_history(&self) -> bool {
        self.history
    }

    /// The number of snapshots (1 for a one-date file).
    pub fn snapshots(&self) -> u32 {
        self.view().times.len().max(1) as u32
    }

    pub fn path(&self) -> &Path {
        self.mapped.borrow_owner().file.path()
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> usize {
        self.mapped.borrow_owner().file.len()
    }

    /// The arrays, read in place, at the newest snapshot.
    pub fn view(&self) -> View<'_> {
        *self.mapped.borrow_dependent()
    }

    /// The arrays as they read at snapshot `s` (0 is the oldest).
    pub fn view_at(&self, s: u32) -> View<'_> {
        self.view().at_snapshot(s)
    }

    /// Each snapshot's time (seconds), what [`super::Snapshots::At`] takes as
    /// `taken`: a one-date file is one snapshot, taken at its data time (or, without
    /// one, at the beginning of time, so that it answers at any time).
    pub fn times(&self) -> &[i64] {
        match self.history {
            true => self.view().times,
            false => &self.taken,
        }
    }
}

impl<'a> View<'a> {
    /// The same file at snapshot `s`.
    pub fn at_snapshot(self, s: u32) -> View<'a> {
        View {
            at: self.at.with(s),
            ..self
        }
    }
}

/// The order of country sources a file was built with. One whose snapshots never
/// had an MMDB country leaves that step out, which answers the same along the
/// straight path of files built before MMDB countries existed.
fn country_order(meta: &Metadata) -> Result<CountryOrder, String> {
    let order = CountryOrder::of_options(&meta.options)
        .map_err(|e| format!("bad option {:?}: {e}", CountryOrder::OPTION))?;
    let has = |m: &Metadata| m.counts.get(MMDB_COUNTRY_COUNT).is_some_and(|&n| n > 0);
    Ok(match has(meta) || meta.snapshots.iter().any(has) {
        true => order,
        false => order.without(CountrySource::Mmdb),
    })
}

/// The checks on open: the sections' sizes and alignments fit their records (in
/// [`make_view`]), the tries' headers are sound, arrays that go together have the
/// same lengths (all in constant time), and the offset arrays rise (one pass).
/// Everything else is checked where it is used.
fn check<'a>(bytes: impl Fn(Section) -> &'a [u8], history: bool) -> Result<(), String> {
    let v = make_view(&bytes, true, history)?;
    let same = |a: usize, b: usize, what: &str| match a == b {
        true => Ok(()),
        false => Err(format!("{what}: {a} and {b} entries")),
    };
    same(v.v4.addr.len(), v.v4.len.len(), "IPv4 prefix arrays")?;
    same(v.v4.addr.len(), v.v4.route.len(), "IPv4 prefix arrays")?;
    same(v.v6.addr.len(), v.v6.len.len(), "IPv6 prefix arrays")?;
    same(v.v6.addr.len(), v.v6.route.len(), "IPv6 prefix arrays")?;
    same(v.route_off.len(), v.route_as.len() + 1, "route offsets")?;
    // Linear, not constant: offsets going up and down would make each route's
    // origins, or each string, most of its array, and a walk over all quadratic.
    if !offsets_cut(v.route_off, v.route_asn.len()) || !v.strings.is_sound() {
        return Err("route or string offsets do not rise to the end of their data".into());
    }
    same(v.rir_asn_first.len(), v.rir_asn_last.len(), "RIR AS ranges")?;
    same(v.rir_asn_first.len(), v.rir_asn_info.len(), "RIR AS ranges")?;
    // A history's AS entries are a list of distinct ones that cells point into.
    match history {
        true => same(v.as_num.len(), v.as_cell.len(), "AS cells")?,
        false => same(v.as_num.len(), v.as_info.len(), "AS arrays")?,
    }
    let ascending = !v.times.is_empty() && v.times.windows(2).all(|w| w[0] < w[1]);
    if history && !ascending {
        return Err("snapshot times: none, or not ascending".into());
    }
    Ok(())
}

/// Cut the sections into typed slices; with `checked`, refuse sizes, alignments and
/// headers that do not fit, else trust an earlier check. A history's view reads
/// its newest snapshot.
fn make_view<'a>(
    bytes: impl Fn(Section) -> &'a [u8],
    checked: bool,
    history: bool,
) -> Result<View<'a>, String> {
    fn arr<'a, T: Pod>(b: &'a [u8], name: &str) -> Result<&'a [T], String> {
        try_cast_slice(b).map_err(|e| format!("section {name}: {e:?}"))
    }
    macro_rules! arr {
        ($s:expr) => {{
            let (b, name) = (bytes($s), $s.name());
            if checked {
                arr(b, name)?
            } else {
                cast_slice(b)
            }
        }};
    }
    macro_rules! trie {
        ($s:expr) => {{
            let (b, name) = (bytes($s), $s.name());
            let view = PoptrieRef::from_bytes_unwalked(b);
            if checked {
                view.map_err(|e| format!("section {name}: {e}"))?
            } else {
                view.unwrap_or_else(|_| PoptrieRef::empty())
            }
        }};
    }
    use Section as S;
    let (stroff, strdata): (&[u32], &[u8]) = (arr!(S::StrOff), bytes(S::StrData));
    let route_as: &[u32] = arr!(S::RouteAs);
    let rir_info: &[RirInfo] = arr!(S::RirInfo);
    // A one-date file's leaves are all static; a history's are up to its routes'
    // (or registries') count.
    fn vtrie<'a, K: Key>(
        trie: PoptrieRef<'a, K>,
        statics: Option<usize>,
        churn: &'a [u32],
    ) -> VTrie<'a, K> {
        match statics {
            Some(n) => VTrie {
                trie,
                statics: n as u32,
                churn,
                resolved: false,
            },
            None => VTrie::fixed(trie),
        }
    }
    let routes = history.then_some(route_as.len());
    let registries = history.then_some(rir_info.len());
    let times: &[i64] = arr!(S::SnapTime);
    Ok(View {
        order: CountryOrder::DEFAULT,
        facts: None,
        at: At {
            snapshot: times.len().saturating_sub(1) as u32,
            timeline: arr!(S::Timeline),
        },
        times,
        v4: Family {
            trie: vtrie(trie!(S::V4Trie), routes, arr!(S::V4Churn)),
            addr: arr!(S::V4Addr),
            len: bytes(S::V4Len),
            route: arr!(S::V4Route),
        },
        v6: Family {
            trie: vtrie(trie!(S::V6Trie), routes, arr!(S::V6Churn)),
            addr: arr!(S::V6Addr),
            len: bytes(S::V6Len),
            route: arr!(S::V6Route),
        },
        route_off: arr!(S::RouteOff),
        route_asn: arr!(S::RouteAsn),
        route_as,
        as_num: arr!(S::AsNum),
        as_info: arr!(S::AsInfo),
        as_cell: arr!(S::AsCell),
        org_info: arr!(S::OrgInfo),
        rir4: vtrie(trie!(S::Rir4Trie), registries, arr!(S::Rir4Churn)),
        rir6: vtrie(trie!(S::Rir6Trie), registries, arr!(S::Rir6Churn)),
        rir_info,
        rir_asn_first: arr!(S::RirAsnFirst),
        rir_asn_last: arr!(S::RirAsnLast),
        rir_asn_info: arr!(S::RirAsnInfo),
        rir_asn: match history {
            true => vtrie(trie!(S::AsnTrie), registries, arr!(S::AsnChurn)),
            false => VTrie::fixed(PoptrieRef::empty()),
        },
        strings: Strings::new(stroff, strdata),
    })
}
