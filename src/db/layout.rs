//! What the database file holds: the section names and the fixed-size records that
//! are stored as arrays and used in place after `mmap` (all little-endian, `Pod`, no
//! padding, so `bytemuck` can view file bytes as them).
//!
//! Sections ([`Section`]; see [`super::file`] for the container):
//! - `meta`: the provenance, as JSON ([`super::Metadata`]).
//! - `v4trie`, `v6trie`: the compiled Poptrie of routed prefixes; a leaf's value is a
//!   route id.
//! - `v4addr`, `v4len`, `v4route` (and `v6...`): every routed prefix in address order
//!   (address ascending, then length), with its route id: iteration, covering and
//!   covered queries, and per-AS questions read these.
//! - `routeoff`, `routeasn`: route `r`'s origins are `routeasn[routeoff[r]..routeoff[r+1]]`,
//!   the first being the primary origin; `routeas` is the primary's index in the AS table.
//! - `asnum` (sorted) and `asinfo`: per AS, its name, organisation, RIR registration.
//! - `orginfo`: per organisation, id, name, country, source.
//! - `rir4trie`, `rir6trie`: the RIR delegated blocks and the MMDB files' country
//!   networks compiled together; a leaf's value is an index into `ririnfo`, which
//!   holds what both say of the addresses there. `rirasnf`/`rirasnl`/`rirasni`: delegated AS number ranges
//!   (first, last, `ririnfo` index), sorted by first.
//! - `stroff`, `strdata`: every string, deduplicated; string `i` is
//!   `strdata[stroff[i]..stroff[i+1]]`.
//!
//! A history file (many snapshots; [`super::versions`]) has the same sections over
//! every prefix, AS, organisation, route and string any snapshot has, with these
//! changes and additions:
//! - `snaptime`: each snapshot's time (Unix seconds, `i64`, ascending).
//! - `v4route`/`v6route` hold cells (a route, or a timeline of leaves), and
//!   `v4churn`/`v6churn`, `rir4chrn`/`rir6chrn` the timelines of the tries' changing
//!   leaves; `timeline` holds every timeline.
//! - `asinfo` is the list of distinct AS entries and `ascell` gives each AS (in
//!   `asnum`) its entry at each snapshot; `routeas` holds the cell of the route's
//!   primary origin (in a one-date file its AS index, which is its entry's).
//! - The RIR AS number ranges are a trie over the AS number space (`asntrie`,
//!   `asnchurn`), the `rirasn*` arrays empty.

use bytemuck::{Pod, Zeroable};

/// A section of the file. The order of [`Section::ALL`] is the order they are
/// written in, so changing it changes the bytes of every file built.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Section {
    Meta,
    V4Trie,
    V4Addr,
    V4Len,
    V4Route,
    V6Trie,
    V6Addr,
    V6Len,
    V6Route,
    RouteOff,
    RouteAsn,
    RouteAs,
    AsNum,
    AsInfo,
    OrgInfo,
    Rir4Trie,
    Rir6Trie,
    RirInfo,
    RirAsnFirst,
    RirAsnLast,
    RirAsnInfo,
    StrOff,
    StrData,
    SnapTime,
    Timeline,
    V4Churn,
    V6Churn,
    Rir4Churn,
    Rir6Churn,
    AsCell,
    AsnTrie,
    AsnChurn,
}

impl Section {
    pub const ALL: [Section; 23] = [
        Section::Meta,
        Section::V4Trie,
        Section::V4Addr,
        Section::V4Len,
        Section::V4Route,
        Section::V6Trie,
        Section::V6Addr,
        Section::V6Len,
        Section::V6Route,
        Section::RouteOff,
        Section::RouteAsn,
        Section::RouteAs,
        Section::AsNum,
        Section::AsInfo,
        Section::OrgInfo,
        Section::Rir4Trie,
        Section::Rir6Trie,
        Section::RirInfo,
        Section::RirAsnFirst,
        Section::RirAsnLast,
        Section::RirAsnInfo,
        Section::StrOff,
        Section::StrData,
    ];

    /// The sections only a history file has (see [`super::versions`]), after
    /// [`Section::ALL`]'s in the file.
    pub const HISTORY: [Section; 9] = [
        Section::SnapTime,
        Section::Timeline,
        Section::V4Churn,
        Section::V6Churn,
        Section::Rir4Churn,
        Section::Rir6Churn,
        Section::AsCell,
        Section::AsnTrie,
        Section::AsnChurn,
    ];

    /// The section's tag in the file (up to 8 bytes).
    pub const fn name(self) -> &'static str {
        match self {
            Section::Meta => "meta",
            Section::V4Trie => "v4trie",
            Section::V4Addr => "v4addr",
            Section::V4Len => "v4len",
            Section::V4Route => "v4route",
            Section::V6Trie => "v6trie",
            Section::V6Addr => "v6addr",
            Section::V6Len => "v6len",
            Section::V6Route => "v6route",
            Section::RouteOff => "routeoff",
            Section::RouteAsn => "routeasn",
            Section::RouteAs => "routeas",
            Section::AsNum => "asnum",
            Section::AsInfo => "asinfo",
            Section::OrgInfo => "orginfo",
            Section::Rir4Trie => "rir4trie",
            Section::Rir6Trie => "rir6trie",
            Section::RirInfo => "ririnfo",
            Section::RirAsnFirst => "rirasnf",
            Section::RirAsnLast => "rirasnl",
            Section::RirAsnInfo => "rirasni",
            Section::StrOff => "stroff",
            Section::StrData => "strdata",
            Section::SnapTime => "snaptime",
            Section::Timeline => "timeline",
            Section::V4Churn => "v4churn",
            Section::V6Churn => "v6churn",
            Section::Rir4Churn => "rir4chrn",
            Section::Rir6Churn => "rir6chrn",
            Section::AsCell => "ascell",
            Section::AsnTrie => "asntrie",
            Section::AsnChurn => "asnchurn",
        }
    }

    /// The position in [`Section::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// The sections of one address family's routed prefixes.
pub struct FamilySections {
    pub trie: Section,
    pub addr: Section,
    pub len: Section,
    pub route: Section,
    pub churn: Section,
}

pub const V4_SECTIONS: FamilySections = FamilySections {
    trie: Section::V4Trie,
    addr: Section::V4Addr,
    len: Section::V4Len,
    route: Section::V4Route,
    churn: Section::V4Churn,
};

pub const V6_SECTIONS: FamilySections = FamilySections {
    trie: Section::V6Trie,
    addr: Section::V6Addr,
    len: Section::V6Len,
    route: Section::V6Route,
    churn: Section::V6Churn,
};

/// "No such entry" in an index field.
pub const NONE: u32 = u32::MAX;

/// One AS.
#[derive(Copy, Clone, Debug, Pod, Zeroable, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct AsInfo {
    /// AS name (string id) from the AS names source, else from as2org.
    pub name: u32,
    /// Index into `orginfo`.
    pub org: u32,
    /// Index into `ririnfo` of the RIR delegation of this AS number.
    pub rir: u32,
    /// Country code at the end of the AS name (`, US`), zero bytes if none.
    pub name_cc: [u8; 2],
    pub pad: [u8; 2],
}

/// One organisation (CAIDA as2org).
#[derive(Copy, Clone, Debug, Pod, Zeroable, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct OrgInfo {
    pub id: u32,
    pub name: u32,
    /// The registry the record came from (as2org's `source`, spelt as the RIR files
    /// spell registries: `arin`, `ripencc`, `jpnic`).
    pub source: u32,
    pub cc: [u8; 2],
    pub pad: [u8; 2],
}

/// What an address's place says of it: the registry and country of the RIR
/// delegation that covers it, and the country of the MMDB network that covers it.
/// An AS number's delegation has no MMDB country.
#[derive(Copy, Clone, Debug, Pod, Zeroable, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct RirInfo {
    /// A string id; [`NONE`] where only an MMDB network covers the address.
    pub registry: u32,
    pub cc: [u8; 2],
    /// Zero bytes for none (files built before MMDB countries had zero padding here,
    /// so they read as having none).
    pub mmdb_cc: [u8; 2],
}

/// In sorted, disjoint ranges `first[i]..=last[i]` (the RIR AS number ranges), the
/// `info` of the one holding `asn`.
pub fn find_range(first: &[u32], last: &[u32], info: &[u32], asn: u32) -> Option<u32> {
    let i = first.partition_point(|&f| f <= asn).checked_sub(1)?;
    (*last.get(i)? >= asn).then(|| info.get(i).copied())?
}

/// A two-letter country code as stored, zero bytes for none.
pub fn cc_bytes(cc: Option<&str>) -> [u8; 2] {
    match cc.map(str::as_bytes) {
        Some(&[a, b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            [a.to_ascii_uppercase(), b.to_ascii_uppercase()]
        }
        _ => [0, 0],
    }
}

/// A stored country code as text, `None` for none.
pub fn cc_str(cc: &[u8; 2]) -> Option<&str> {
    match cc {
        [0, 0] => None,
        _ => std::str::from_utf8(cc).ok(),
    }
}

/// How a family's addresses are stored in the prefix arrays: IPv4 as `u32`, IPv6 as
/// two `u64` halves (high first), since sections are only 8-byte aligned.
pub trait Stored: crate::key::Key {
    type Raw: Pod;
    fn load(raw: Self::Raw) -> Self;
    fn store(self) -> Self::Raw;
}

impl Stored for u32 {
    type Raw = u32;
    fn load(raw: u32) -> u32 {
        raw
    }
    fn store(self) -> u32 {
        self
    }
}

impl Stored for u128 {
    type Raw = [u64; 2];
    fn load(raw: [u64; 2]) -> u128 {
        (raw[0] as u128) << 64 | raw[1] as u128
    }
    fn store(self) -> [u64; 2] {
        [(self >> 64) as u64, self as u64]
    }
}
