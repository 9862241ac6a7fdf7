//! A database (at one snapshot) as an MMDB file.
//!
//! The tree, the record sizes, the IPv4 alias nodes, the data section's pointers
//! and the metadata are mmdb-writer's: it writes what MaxMind's Go writer writes,
//! and the readers it is tested against are ours too (MaxMind's Rust reader, the
//! `maxminddb` Python package in both its modes, libmaxminddb).

use super::networks::{family_starts, ranges};
use super::record::record_value;
use crate::db::file::write_atomic;
use crate::db::history::time::parse_time;
use crate::db::layout::Stored;
use crate::db::read::Family;
use crate::db::versions::VTrie;
use crate::db::{Database, DbError, Record, View};
use crate::key::{Key, Prefix};
use crate::range::range_to_prefixes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use mmdb_writer::{Ipv4Aliasing, Value, Writer};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

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
}

impl Default for MmdbOptions {
    fn default() -> Self {
        MmdbOptions {
            database_type: "geoip_rs-ASN-Country".into(),
            description: None,
            ipv4_aliases: None,
            snapshot: None,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MmdbSummary {
    /// Networks written (after joining neighbours with equal records).
    pub networks: u64,
    /// Networks left out because they lie inside the IPv4 aliases' space.
    pub aliased_out: u64,
    pub ipv4_aliases: bool,
    pub bytes: u64,
}

/// The networks aliasing hides: IPv4-mapped, Teredo and 6to4.
fn aliased(net: &Ipv6Net) -> bool {
    const ALIASES: [(u128, u8); 3] = [(0xffff << 32, 96), (0x2001 << 112, 32), (0x2002 << 112, 16)];
    let a = u128::from(net.network());
    ALIASES
        .iter()
        .any(|&(base, len)| net.prefix_len() >= len && a.masked(len) == base)
}

/// One family's networks with their values, in address order.
fn family_networks<K: Stored>(
    v: &View<'_>,
    routes: &Family<'_, K>,
    rir: &VTrie<'_, K>,
    to_ip: impl Fn(K) -> std::net::IpAddr,
    to_net: impl Fn(Prefix<K>) -> IpNet,
) -> Vec<(IpNet, Value)> {
    let starts = family_starts(routes, rir, v.at);
    // Records compared without their address, which differs at every piece.
    let zero = to_ip(K::ZERO);
    let pieces = ranges(&starts, |a| {
        let r = v.record(to_ip(a))?;
        Some(Record { address: zero, ..r })
    });
    let mut out = Vec::with_capacity(pieces.len());
    for (first, last, r) in pieces {
        let value = record_value(&r);
        for p in range_to_prefixes(first, last) {
            out.push((to_net(p), value.clone()));
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
    let mut nets = family_networks(
        &v,
        &v.v4,
        &v.rir4,
        |a| Ipv4Addr::from(a).into(),
        |p| Ipv4Net::new_assert(p.addr().into(), p.prefix_len()).into(),
    );
    nets.extend(family_networks(
        &v,
        &v.v6,
        &v.rir6,
        |a| Ipv6Addr::from(a).into(),
        |p| Ipv6Net::new_assert(p.addr().into(), p.prefix_len()).into(),
    ));
    let hidden = |n: &IpNet| matches!(n, IpNet::V6(n) if aliased(n));
    let aliases = o
        .ipv4_aliases
        .unwrap_or(!nets.iter().any(|(n, _)| hidden(n)));
    let mut w = writer(db, o, aliases);
    let mut summary = MmdbSummary {
        ipv4_aliases: aliases,
        ..MmdbSummary::default()
    };
    for (net, value) in nets {
        if aliases && hidden(&net) {
            summary.aliased_out += 1;
            continue;
        }
        w.insert_value(net, value).map_err(|e| e.to_string())?;
        summary.networks += 1;
    }
    let bytes = w.to_bytes().map_err(|e| e.to_string())?;
    summary.bytes = bytes.len() as u64;
    Ok((bytes, summary))
}

/// An empty writer with the metadata of `db`.
fn writer(db: &Database, o: &MmdbOptions, aliases: bool) -> Writer {
    let m = db.metadata();
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
    Writer::builder(o.database_type.clone())
        .languages(["en"])
        .description(&[("en", description.as_str())])
        .ipv4_aliasing(match aliases {
            true => Ipv4Aliasing::Enabled,
            false => Ipv4Aliasing::Disabled,
        })
        .build_epoch(UNIX_EPOCH + Duration::from_secs(built))
        .build()
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
