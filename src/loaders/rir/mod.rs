//! RIR delegated statistics (`delegated-<rir>-[extended-]YYYYMMDD`): which registry
//! gave which address block or AS number to holders in which country, when. Format:
//! <https://www.nro.net/wp-content/uploads/nro-extended-stats-readme5.txt>.
//!
//! After `#` comment lines, a version line
//! `version|registry|serial|records|startdate|enddate|UTCoffset` (version `2` or
//! `2.3`), then `registry|*|type|*|count|summary` lines, then one record per line:
//! `registry|cc|type|start|value|date|status[|opaque-id[|extensions...]]`.
//! - `ipv4`: `value` is an address **count**, not always a power of two; the block
//!   is split into the fewest prefixes ([`range_to_prefixes`]).
//! - `ipv6`: `value` is the prefix length.
//! - `asn`: `value` is a count of AS numbers from `start`.
//!
//! Extended files also list `available` and `reserved` blocks, with an empty or `ZZ`
//! country and no date. They are read and kept (with their status) as
//! [`Delegation`]s, but [`Delegated::prefixes`] and [`Delegated::asns`], the tables
//! of who holds what, leave them out; the summary counts them under
//! `skipped["not delegated (<status>)"]`. A country of `ZZ` (the RIRs' "unknown")
//! and a date of `00000000` read as `None`, like empty ones.
//!
//! **Truncated downloads.** The version line says how many records follow. A last
//! line without a line end, in a file holding fewer records than announced, is a
//! cut-off line: an error, or with [`OnError::Skip`](super::OnError::Skip) left out
//! and the summary marked truncated. A file that ends cleanly but with a different
//! number of records than announced is an error at its last line.

use super::{truncated, TICK_LINES};
use super::{Input, Lines, LoadError, ReadOptions, Summary};
use crate::asn_ranges::AsnRanges;
use crate::ip::IpPrefix;
use crate::key::Prefix;
use crate::range::range_to_prefixes;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

/// The version line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RirHeader {
    /// Format version: `2` or `2.3`.
    pub version: String,
    pub registry: String,
    pub serial: String,
    /// Number of records in the file (not counting header, summary and comments).
    pub records: u64,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Offset from UTC of the dates, e.g. `+1000`.
    pub utc_offset: Option<String>,
}

/// The numbers a record covers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `count` addresses from `first` (at least one, not past 255.255.255.255).
    Ipv4 {
        first: u32,
        count: u64,
    },
    Ipv6(Prefix<u128>),
    /// `count` AS numbers from `first` (at least one, not past 2^32-1).
    Asn {
        first: u32,
        count: u32,
    },
}

impl Resource {
    /// The record type as the file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::Ipv4 { .. } => "ipv4",
            Resource::Ipv6(_) => "ipv6",
            Resource::Asn { .. } => "asn",
        }
    }

    /// The fewest prefixes covering exactly the block (none for ASNs).
    pub fn prefixes(&self) -> impl Iterator<Item = IpPrefix> {
        let v4 = match *self {
            Resource::Ipv4 { first, count } => {
                Some(range_to_prefixes(first, first + (count - 1) as u32))
            }
            _ => None,
        };
        let v6 = match *self {
            Resource::Ipv6(p) => Some(IpPrefix::V6(p)),
            _ => None,
        };
        v4.into_iter().flatten().map(IpPrefix::V4).chain(v6)
    }

    /// The AS numbers of an `asn` record (empty for address blocks).
    pub fn asns(&self) -> RangeInclusive<u32> {
        match *self {
            Resource::Asn { first, count } => first..=first + (count - 1),
            #[allow(clippy::reversed_empty_ranges)]
            _ => 1..=0,
        }
    }
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    pub registry: String,
    /// ISO 3166 alpha-2 code (upper case); `EU` and `AP` occur too.
    pub country: Option<String>,
    pub resource: Resource,
    /// `YYYYMMDD` of the allocation or assignment.
    pub date: Option<String>,
    /// `allocated`, `assigned`, `available` or `reserved`.
    pub status: String,
    /// The holder's id (extended files); the same for all of one holder's resources.
    pub opaque_id: Option<String>,
    /// Any fields after the opaque id.
    pub extensions: Vec<String>,
}

impl Delegation {
    /// True for blocks given to a holder (`allocated` or `assigned`).
    pub fn is_delegated(&self) -> bool {
        matches!(self.status.as_str(), "allocated" | "assigned")
    }
}

/// The content of a delegated file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delegated {
    /// `None` only for a file without data.
    pub header: Option<RirHeader>,
    /// Record counts by type, from the summary lines.
    pub declared: BTreeMap<String, u64>,
    /// Every record read, in file order, whatever its status.
    pub records: Vec<Delegation>,
}

impl Delegated {
    /// Records read, by type (`asn`, `ipv4`, `ipv6`).
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut counts = BTreeMap::new();
        for r in &self.records {
            *counts.entry(r.resource.kind()).or_insert(0) += 1;
        }
        counts
    }

    /// Each prefix of each delegated (allocated or assigned) address block.
    pub fn prefixes(&self) -> impl Iterator<Item = (IpPrefix, &Delegation)> {
        self.delegated()
            .flat_map(|d| d.resource.prefixes().map(move |p| (p, d)))
    }

    /// The delegated ASN records as ranges of AS numbers, each giving its record's
    /// index in `records` (a later record wins where ranges overlap).
    pub fn asns(&self) -> AsnRanges<usize> {
        AsnRanges::new(self.records.iter().enumerate().filter_map(|(i, d)| {
            let r = d.resource.asns();
            (d.is_delegated() && !r.is_empty()).then(|| (*r.start(), *r.end(), i))
        }))
    }

    fn delegated(&self) -> impl Iterator<Item = &Delegation> {
        self.records.iter().filter(|d| d.is_delegated())
    }
}

const VERSION_LINE: &str = "version|registry|serial|records|startdate|enddate|UTCoffset";

/// Read a delegated statistics file (plain or compressed).
pub fn read_delegated(
    input: Input,
    opts: &mut ReadOptions,
) -> Result<(Delegated, Summary), LoadError> {
    let mut result = Delegated::default();
    let mut summary = Summary::default();
    let mut lines = input.lines();
    // Record lines seen, malformed ones included, to compare with the header.
    let mut in_file = 0u64;
    while let Some(line) = lines.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                truncated(opts, &mut summary, e)?;
                return Ok((result, summary));
            }
        };
        summary.records += 1;
        if summary.records % TICK_LINES == 0 {
            opts.tick(lines.input())?;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(header) = &result.header else {
            match parse_header(&line) {
                Ok(h) => result.header = Some(h),
                Err(m) => opts.bad_item(&mut summary, "malformed line", lines.error(m))?,
            }
            continue;
        };
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() == 6 && fields[5] == "summary" {
            match fields[4].parse::<u64>() {
                // Saturating: two damaged counts near 2^64 would wrap (found by fuzzing).
                Ok(n) => {
                    let sum = result.declared.entry(fields[2].to_string()).or_insert(0);
                    *sum = sum.saturating_add(n);
                }
                Err(_) => {
                    let e = lines.error(format!("bad count in summary line {line:?}"));
                    opts.bad_item(&mut summary, "malformed line", e)?
                }
            }
            continue;
        }
        in_file += 1;
        if !lines.has_line_end() && in_file < header.records {
            let e = lines.error(format!(
                "last line cut off (no line end, and the file holds {in_file} of the {} records its header announces): {line:?}",
                header.records
            ));
            opts.bad_item(&mut summary, "cut-off last line", e)?;
            summary.truncated = true;
            continue;
        }
        match parse_record(&fields) {
            Ok(d) => add(&mut result, &mut summary, d),
            Err(m) => opts.bad_item(&mut summary, "malformed line", lines.error(m))?,
        }
    }
    check_count(&result, &lines, in_file, opts, &mut summary)?;
    Ok((result, summary))
}

fn add(result: &mut Delegated, summary: &mut Summary, d: Delegation) {
    summary.entries += 1;
    if d.is_delegated() {
        summary.prefixes += d.resource.prefixes().count() as u64;
    } else {
        summary.count(&format!("not delegated ({})", d.status));
    }
    result.records.push(d);
}

/// At the end of a file not already found cut off: as many records as announced?
fn check_count(
    result: &Delegated,
    lines: &Lines,
    in_file: u64,
    opts: &ReadOptions,
    summary: &mut Summary,
) -> Result<(), LoadError> {
    let Some(header) = &result.header else {
        return Ok(());
    };
    if summary.truncated || in_file == header.records {
        return Ok(());
    }
    let e = lines.error(format!(
        "the file ends after {in_file} records, but its header announces {}{}",
        header.records,
        if in_file < header.records {
            " (truncated?)"
        } else {
            ""
        }
    ));
    opts.bad_item(summary, "record count differs from header", e)?;
    summary.truncated = in_file < header.records;
    Ok(())
}

fn parse_header(line: &str) -> Result<RirHeader, String> {
    let f: Vec<&str> = line.split('|').collect();
    let version_ok = |v: &str| {
        let mut parts = v.split('.');
        parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) && v.len() <= 8
    };
    let records = f.get(3).and_then(|r| r.parse::<u64>().ok());
    match records {
        Some(records) if f.len() == 7 && version_ok(f[0]) => Ok(RirHeader {
            version: f[0].to_string(),
            registry: f[1].to_string(),
            serial: f[2].to_string(),
            records,
            start_date: date(f[4]),
            end_date: date(f[5]),
            utc_offset: non_empty(f[6]),
        }),
        _ => Err(format!(
            "expected the version line '{VERSION_LINE}', got {line:?} (not an RIR delegated file?)"
        )),
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// An empty date or `00000000` is no date.
fn date(s: &str) -> Option<String> {
    non_empty(s).filter(|d| d != "00000000")
}

fn parse_record(f: &[&str]) -> Result<Delegation, String> {
    if f.len() < 7 {
        return Err(format!(
            "expected 'registry|cc|type|start|value|date|status[|opaque-id]', got {} field(s): {:?}",
            f.len(),
            f.join("|")
        ));
    }
    let country = match f[1] {
        "" | "ZZ" => None,
        cc if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(cc.to_ascii_uppercase())
        }
        cc => return Err(format!("bad country code {cc:?}")),
    };
    let date_ok = f[5].is_empty() || (f[5].len() == 8 && f[5].bytes().all(|b| b.is_ascii_digit()));
    if !date_ok {
        return Err(format!("bad date {:?} (expected YYYYMMDD)", f[5]));
    }
    if f[0].is_empty() || f[6].is_empty() {
        return Err(format!("empty registry or status in {:?}", f.join("|")));
    }
    Ok(Delegation {
        registry: f[0].to_string(),
        country,
        resource: parse_resource(f[2], f[3], f[4])?,
        date: date(f[5]),
        status: f[6].to_ascii_lowercase(),
        opaque_id: f.get(7).and_then(|s| non_empty(s)),
        extensions: f.iter().skip(8).map(|s| s.to_string()).collect(),
    })
}

fn parse_resource(kind: &str, start: &str, value: &str) -> Result<Resource, String> {
    let bad_value = || format!("bad {kind} value {value:?}");
    match kind {
        "ipv4" => {
            let first = u32::from(
                start
                    .parse::<Ipv4Addr>()
                    .map_err(|_| format!("bad IPv4 address {start:?}"))?,
            );
            let count = value.parse::<u64>().map_err(|_| bad_value())?;
            // Subtracted, not added: a count near 2^64 would wrap past the check.
            if count == 0 || count - 1 > u64::from(u32::MAX - first) {
                return Err(format!("{count} addresses from {start} do not fit in IPv4"));
            }
            Ok(Resource::Ipv4 { first, count })
        }
        "ipv6" => {
            let addr = start
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("bad IPv6 address {start:?}"))?;
            let len = value
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= 128)
                .ok_or_else(bad_value)?;
            Prefix::new(u128::from(addr), len)
                .map(Resource::Ipv6)
                .ok_or_else(|| format!("{start}/{len} has host bits set"))
        }
        "asn" => {
            let first = start
                .parse::<u32>()
                .map_err(|_| format!("bad AS number {start:?}"))?;
            let count = value.parse::<u32>().map_err(|_| bad_value())?;
            if count == 0 || first.checked_add(count - 1).is_none() {
                return Err(format!(
                    "{count} AS numbers from {first} do not fit in 32 bits"
                ));
            }
            Ok(Resource::Asn { first, count })
        }
        _ => Err(format!(
            "unknown type {kind:?} (expected asn, ipv4 or ipv6)"
        )),
    }
}

#[cfg(test)]
mod tests;
