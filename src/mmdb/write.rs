//! A database (at one snapshot) as an MMDB file: the networks cut where its
//! answer changes ([`super::networks`]), each record encoded once
//! ([`super::encode`], [`super::record`]), the search tree over them
//! ([`super::tree`]) with MaxMind's IPv4 aliases, and the metadata.

use super::encode::{DataSection, Encoder, Type};
use super::networks::{family_starts, ranges};
use super::read::METADATA_MARKER;
use super::record::encode_record;
use super::tree::SearchTree;
use crate::db::file::write_atomic;
use crate::db::history::time::parse_time;
use crate::db::layout::Stored;
use crate::db::read::Family;
use crate::db::versions::VTrie;
use crate::db::{Database, DbError, Record, View};
use crate::range::range_to_prefixes;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// How to write the file.
#[derive(Clone, Debug)]
pub struct MmdbOptions {
    /// The metadata's `database_type`.
    pub database_type: String,
    /// The metadata's English description; `None` describes the database's data.
    pub description: Option<String>,
    /// Answer IPv4 addresses asked in IPv4-mapped, 6to4 and Teredo form too (the
    /// aliases MaxMind's files have). `None`: unless the database routes prefixes
    /// inside those networks, whose answers the aliases would hide.
    pub ipv4_aliases: Option<bool>,
    /// The snapshot of a history to write; `None` for the newest.
    pub snapshot: Option<u32>,
    /// The smallest record size to use (24, 28 or 32 bits); a larger one where the
    /// tree and data need it.
    pub min_record_size: u16,
}

impl Default for MmdbOptions {
    fn default() -> Self {
        MmdbOptions {
            database_type: "geoip_rs-ASN-Country".into(),
            description: None,
            ipv4_aliases: None,
            snapshot: None,
            min_record_size: 24,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MmdbSummary {
    /// Networks written (after joining neighbours with equal records).
    pub networks: u64,
    /// Distinct records written.
    pub records: u64,
    /// Networks left out because they lie inside the IPv4 aliases' space.
    pub aliased_out: u64,
    pub ipv4_aliases: bool,
    pub node_count: u64,
    pub record_size: u16,
    pub bytes: u64,
}

/// The networks the aliases take over (IPv4-mapped, Teredo, 6to4), in the tree's
/// 128 bits, and the IPv4 subtree's place, `::/96`.
const ALIASES: [(u128, u8); 3] = [(0xffff << 32, 96), (0x2001 << 112, 32), (0x2002 << 112, 16)];
const IPV4_ROOT: (u128, u8) = (0, 96);

/// One family's networks as `(bits in the tree, length, data offset)`, in address
/// order; `shift` places the family's bits in the tree's 128.
fn family_networks<K: Stored>(
    v: &View<'_>,
    routes: &Family<'_, K>,
    rir: &VTrie<'_, K>,
    to_ip: impl Fn(K) -> std::net::IpAddr,
    ds: &mut DataSection,
) -> Vec<(u128, u8, u32)> {
    let starts = family_starts(routes, rir, v.at);
    // Records compared without their address, which differs at every piece.
    let zero = to_ip(K::ZERO);
    let pieces = ranges(&starts, |a| {
        let r = v.record(to_ip(a))?;
        Some(Record { address: zero, ..r })
    });
    let shift = 128 - K::BITS;
    let mut out = Vec::with_capacity(pieces.len());
    for (first, last, r) in pieces {
        let bytes = encode_record(ds, &r);
        let offset = ds.record(&bytes);
        for p in range_to_prefixes(first, last) {
            let len = p.prefix_len() + shift;
            out.push((p.addr().to_u128(), len, offset));
        }
    }
    out
}

/// The file's bytes for `db` (see [`MmdbOptions`]).
pub fn mmdb_bytes(db: &Database, o: &MmdbOptions) -> Result<(Vec<u8>, MmdbSummary), String> {
    let v = match o.snapshot {
        Some(s) if s < db.snapshots() => db.view_at(s),
        Some(s) => return Err(format!("no snapshot {s} (the file has {})", db.snapshots())),
        None => db.view(),
    };
    let mut ds = DataSection::default();
    let v4 = family_networks(&v, &v.v4, &v.rir4, |a| Ipv4Addr::from(a).into(), &mut ds);
    let mut v6 = family_networks(&v, &v.v6, &v.rir6, |a| Ipv6Addr::from(a).into(), &mut ds);
    // IPv6 routes over `::/96` (a default route, say) would answer IPv4 lookups,
    // which readers make there: that deprecated space is left to IPv4, even empty.
    v6 = carve(v6, IPV4_ROOT).0;
    // Routes inside or over an alias's network would be hidden by it: by default
    // no aliases then; forced, those parts of the routes are left out.
    let hits = |&(base, len): &(u128, u8)| v6.iter().any(|n| overlap((n.0, n.1), (base, len)));
    let aliases = !v4.is_empty() && o.ipv4_aliases.unwrap_or(!ALIASES.iter().any(hits));
    let mut s = MmdbSummary {
        ipv4_aliases: aliases,
        ..MmdbSummary::default()
    };
    if aliases {
        for a in ALIASES {
            let (kept, out) = carve(v6, a);
            (v6, s.aliased_out) = (kept, s.aliased_out + out);
        }
    }
    let mut tree = SearchTree::default();
    let mut distinct = rustc_hash::FxHashSet::default();
    for n in v4.iter().chain(&v6) {
        tree.insert(n.0, n.1, n.2)?;
        distinct.insert(n.2);
        s.networks += 1;
    }
    if aliases {
        for (bits, len) in ALIASES {
            tree.alias(bits, len, IPV4_ROOT)?;
        }
    }
    let (tree_bytes, record_size) = tree.to_bytes(ds.len(), o.min_record_size)?;
    s.node_count = tree.node_count() as u64;
    s.records = distinct.len() as u64;
    s.record_size = record_size;
    let mut out = tree_bytes;
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&ds.out.bytes);
    out.extend_from_slice(METADATA_MARKER);
    out.extend(metadata(db, o, &s));
    s.bytes = out.len() as u64;
    Ok((out, s))
}

/// The first and last address of the network `bits/len` in the tree's 128 bits.
fn span((bits, len): (u128, u8)) -> (u128, u128) {
    (bits, bits | u128::MAX.checked_shr(len.into()).unwrap_or(0))
}

/// Whether two networks share an address (one holds the other).
fn overlap(a: (u128, u8), b: (u128, u8)) -> bool {
    let ((a0, a1), (b0, b1)) = (span(a), span(b));
    a0 <= b1 && b0 <= a1
}

/// The networks without the addresses of `cut`, and how many lay wholly inside
/// it: a network holding `cut` is replaced by the fewest networks around it.
fn carve(nets: Vec<(u128, u8, u32)>, cut: (u128, u8)) -> (Vec<(u128, u8, u32)>, u64) {
    let (lo, hi) = span(cut);
    let (mut out, mut inside) = (Vec::with_capacity(nets.len()), 0);
    for (bits, len, offset) in nets {
        let (first, last) = span((bits, len));
        if last < lo || first > hi {
            out.push((bits, len, offset));
        } else if first >= lo && last <= hi {
            inside += 1;
        } else {
            let below = (lo > first).then(|| range_to_prefixes(first, lo - 1));
            let above = (hi < last).then(|| range_to_prefixes(hi + 1, last));
            let parts = below
                .into_iter()
                .flatten()
                .chain(above.into_iter().flatten());
            out.extend(parts.map(|p| (p.addr(), p.prefix_len(), offset)));
        }
    }
    (out, inside)
}

/// The metadata map: what the file is, its tree's shape, its build time.
fn metadata(db: &Database, o: &MmdbOptions, s: &MmdbSummary) -> Vec<u8> {
    // A history's snapshot says when it was built and of which data.
    let whole = db.metadata();
    let newest = whole.snapshots.len().checked_sub(1);
    let m = match o.snapshot.or(newest.map(|n| n as u32)) {
        Some(i) => whole.snapshots.get(i as usize).unwrap_or(whole),
        None => whole,
    };
    let description = o.description.clone().unwrap_or_else(|| {
        let data = m.data_time().map(|(d, _)| d.to_owned());
        format!(
            "IP address to network, origin AS, organisation and country, built by geoip_rs {} \
             on {} from public routing data of {}",
            m.geoip_rs_version,
            m.built,
            data.as_deref().unwrap_or("an unknown date")
        )
    });
    let built = parse_time(&m.built).unwrap_or(0).max(0) as u64;
    let mut e = Encoder::default();
    e.control(Type::Map, 9);
    let key = |e: &mut Encoder, k: &str| e.utf8(k);
    key(&mut e, "binary_format_major_version");
    e.uint(Type::Uint16, 2);
    key(&mut e, "binary_format_minor_version");
    e.uint(Type::Uint16, 0);
    key(&mut e, "build_epoch");
    e.uint(Type::Uint64, built);
    key(&mut e, "database_type");
    e.utf8(&o.database_type);
    key(&mut e, "description");
    e.control(Type::Map, 1);
    e.utf8("en");
    e.utf8(&description);
    key(&mut e, "ip_version");
    e.uint(Type::Uint16, 6);
    key(&mut e, "languages");
    e.control(Type::Array, 1);
    e.utf8("en");
    key(&mut e, "node_count");
    e.uint(Type::Uint32, s.node_count);
    key(&mut e, "record_size");
    e.uint(Type::Uint16, s.record_size.into());
    e.bytes
}

impl Database {
    /// Write this database as an MMDB file at `path`, atomically.
    pub fn to_mmdb(&self, path: &Path, o: &MmdbOptions) -> Result<MmdbSummary, DbError> {
        let (bytes, summary) = mmdb_bytes(self, o).map_err(|e| DbError::Invalid {
            path: path.to_path_buf(),
            message: format!("cannot write as MMDB: {e}"),
        })?;
        write_atomic(path, &bytes)?;
        Ok(summary)
    }
}
