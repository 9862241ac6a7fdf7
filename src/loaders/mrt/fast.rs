//! The RIB records of a TABLE_DUMP_V2 dump (RFC 6396 4.3), read for what the
//! [`Rib`](super::Rib) needs: the prefix and each entry's peer, ADD-PATH id and
//! origin. They are nearly all of a dump, and `bgpkit-parser` makes every attribute
//! of every entry (communities, next hops, ...) an owned value, which took 4/5 of
//! the time of a load. So the fixed framing of the record and of its attributes is
//! walked here, and the origin is read straight from the AS_PATH bytes by the rules
//! of [`origin_of`](super::path::origin_of) (the crate parses a path only as part of
//! all the attributes, into allocated segments: half the time left). Anything
//! unusual (a length that overruns, a second AS_PATH, an unknown segment type,
//! bytes left over) gives `None`, and the caller parses the record with
//! `bgpkit-parser` as before: odd records get exactly its handling. The tests check
//! both ways agree on real dumps and on random paths.

use super::path::{is_reserved, NoOrigin};
use crate::ip::IpPrefix;
use crate::key::Prefix;
use crate::origin::Origin;
use bgpkit_parser::models::TableDumpV2Type;

/// One RIB entry: peer index, ADD-PATH id, the origin of its AS path.
pub(super) type Entry = (u16, Option<u32>, Result<Origin, NoOrigin>);

/// A RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record (or their ADD-PATH forms).
pub(super) struct RibRecord {
    pub prefix: IpPrefix,
    pub entries: Vec<Entry>,
}

/// The AS_PATH attribute's type code.
const AS_PATH: u8 = 2;
/// The attribute flag of a two-byte length.
const EXTENDED_LENGTH: u8 = 0x10;

/// The MRT type of TABLE_DUMP_V2.
pub(super) const TABLE_DUMP_V2: u16 = 13;

/// The record of MRT type `kind` and `subtype` with message `body`, read the fast
/// way into `entries` (emptied first: a vector reused from record to record);
/// `None` if it is of another kind or unusual.
pub(super) fn rib_record(
    kind: u16,
    subtype: u16,
    body: &[u8],
    mut entries: Vec<Entry>,
) -> Option<RibRecord> {
    if kind != TABLE_DUMP_V2 {
        return None;
    }
    let (v6, add_path) = match TableDumpV2Type::try_from(subtype).ok()? {
        TableDumpV2Type::RibIpv4Unicast => (false, false),
        TableDumpV2Type::RibIpv4UnicastAddPath => (false, true),
        TableDumpV2Type::RibIpv6Unicast => (true, false),
        TableDumpV2Type::RibIpv6UnicastAddPath => (true, true),
        _ => return None,
    };
    let mut r = Reader { data: body, pos: 4 }; // past the sequence number
    let prefix = r.prefix(v6)?;
    let count = r.u16()?;
    entries.clear();
    for _ in 0..count {
        let peer = r.u16()?;
        r.take(4)?; // originated time
        let path_id = if add_path { Some(r.u32()?) } else { None };
        let len = usize::from(r.u16()?);
        let start = r.pos;
        r.take(len)?;
        let origin = match as_path(body, start, start + len)? {
            Some(path) => wire_origin(path)?,
            None => Err(NoOrigin::EmptyPath),
        };
        entries.push((peer, path_id, origin));
    }
    (r.pos == body.len()).then_some(RibRecord { prefix, entries })
}

/// The AS_PATH value among the attributes in `body[start..end]`: `Some(None)` if
/// there is none, `None` if the attributes are malformed or hold two.
fn as_path(body: &[u8], start: usize, end: usize) -> Option<Option<&[u8]>> {
    let mut r = Reader {
        data: &body[..end],
        pos: start,
    };
    let mut found = None;
    while r.pos < end {
        let flags = r.u8()?;
        let kind = r.u8()?;
        let len = match flags & EXTENDED_LENGTH {
            0 => usize::from(r.u8()?),
            _ => usize::from(r.u16()?),
        };
        let at = r.pos;
        r.take(len)?;
        if kind == AS_PATH {
            if found.is_some() {
                return None;
            }
            found = Some(&body[at..at + len]);
        }
    }
    Some(found)
}

/// The origin of an AS_PATH value of 4-byte ASNs (segments of type, count, ASNs),
/// by the rules of [`origin_of`](super::path::origin_of): the last segment that
/// gives one decides, an AS_SET by its public members, an AS_SEQUENCE by its last
/// public AS, confederation segments never. `None` if malformed.
fn wire_origin(path: &[u8]) -> Option<Result<Origin, NoOrigin>> {
    let mut r = Reader { data: path, pos: 0 };
    let mut any = false;
    let mut last: Option<(u8, &[u8])> = None;
    while r.pos < path.len() {
        let kind = r.u8()?;
        let count = usize::from(r.u8()?);
        let asns = r.take(count * 4)?;
        any |= count > 0;
        let any_public = || asns.chunks_exact(4).any(|b| !is_reserved(asn(b)));
        match kind {
            AS_SET | AS_SEQUENCE if any_public() => last = Some((kind, asns)),
            AS_SET | AS_SEQUENCE | AS_CONFED_SEQUENCE | AS_CONFED_SET => {}
            _ => return None,
        }
    }
    Some(match last {
        _ if !any => Err(NoOrigin::EmptyPath),
        None => Err(NoOrigin::NoPublicAs),
        Some((kind, asns)) => {
            let mut public = asns.chunks_exact(4).map(asn).filter(|&a| !is_reserved(a));
            match kind {
                AS_SET => Ok(Origin::set(public.collect())),
                _ => Ok(Origin::Asn(public.next_back()?)),
            }
        }
    })
}

const AS_SET: u8 = 1;
const AS_SEQUENCE: u8 = 2;
const AS_CONFED_SEQUENCE: u8 = 3;
const AS_CONFED_SET: u8 = 4;

fn asn(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Big-endian fields of a byte slice; each read is `None` past its end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A prefix: its length in bits, then as many bytes as that needs; host bits
    /// are cleared, as for prefixes `bgpkit-parser` reads.
    fn prefix(&mut self, v6: bool) -> Option<IpPrefix> {
        let len = self.u8()?;
        let bytes = self.take(usize::from(len).div_ceil(8))?;
        if bytes.len() > 16 {
            return None;
        }
        // The address as 128 bits, first byte highest (a byte at a time: a call to
        // `memcpy` for a few bytes costs more).
        let addr = bytes
            .iter()
            .enumerate()
            .fold(0u128, |a, (i, &b)| a | u128::from(b) << (120 - 8 * i));
        match v6 {
            false if len <= 32 => Some(IpPrefix::V4(Prefix::new_masked((addr >> 96) as u32, len)?)),
            true if len <= 128 => Some(IpPrefix::V6(Prefix::new_masked(addr, len)?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::mrt::path::origin_of;
    use crate::loaders::mrt::rib::ip_prefix;
    use crate::loaders::Input;
    use bgpkit_parser::models::{MrtMessage, TableDumpV2Message};
    use bgpkit_parser::parser::mrt::mrt_record::chunk_mrt_record;

    /// Every RIB record of `path` read the fast way and by `bgpkit-parser` in full;
    /// returns how many were read the fast way.
    fn compare(path: &std::path::Path) -> usize {
        let mut input = Input::open(path).unwrap();
        let mut fast = 0;
        while let Ok(raw) = chunk_mrt_record(&mut input) {
            let h = &raw.common_header;
            let ours = rib_record(
                h.entry_type as u16,
                h.entry_subtype,
                &raw.message_bytes,
                vec![],
            );
            let Ok(record) = raw.parse() else { continue };
            let MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(rib)) = record.message
            else {
                assert!(ours.is_none(), "{path:?}: only RIB records");
                continue;
            };
            let Some(ours) = ours else { continue };
            fast += 1;
            assert_eq!(Some(ours.prefix), ip_prefix(&rib.prefix), "{path:?}");
            let theirs: Vec<Entry> = rib
                .rib_entries
                .iter()
                .map(|e| (e.peer_index, e.path_id, origin_of(e.attributes.as_path())))
                .collect();
            assert_eq!(ours.entries, theirs, "{path:?} {}", rib.prefix);
        }
        fast
    }

    #[test]
    fn rib_records_read_as_bgpkit_parser_reads_them() {
        let mrt = |name: &str| crate::testutil::shared(&format!("mrt/{name}"));
        for (name, some) in [
            ("rib6.20151101.0600_firstMB.bz2", 6000),
            ("rib.20140523.0600_firstMB.bz2", 9000),
            ("ripe-ris-bgpdump/bview.ipv4_unicast_add_path.gz", 1),
            ("ripe-ris-bgpdump/bview.ipv6_unicast_add_path.gz", 1),
            ("mrtparse-samples/openbgpd_rib_table-v2", 1),
            ("mrtparse-samples/bird-mrtdump_rib", 1),
            ("bview.20140112.1600_3samples.bz2", 3),
        ] {
            let fast = compare(&mrt(name));
            assert!(fast >= some, "{name}: {fast} records read the fast way");
        }
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::loaders::mrt::path::origin_of;
    use bgpkit_parser::models::AsnLength;
    use bgpkit_parser::parser::bgp::attributes::parse_attributes;
    use proptest::prelude::*;

    /// ASNs that are public, private, or confederation-like, so all rules are hit.
    fn asn() -> impl Strategy<Value = u32> {
        prop_oneof![1u32..5, Just(64512), Just(23456), Just(4_200_000_001)]
    }

    proptest! {
        #[test]
        fn wire_origin_follows_origin_of(segments in prop::collection::vec((1u8..5, prop::collection::vec(asn(), 0..4)), 0..4)) {
            let mut value = Vec::new();
            for (kind, asns) in &segments {
                value.extend([*kind, asns.len() as u8]);
                asns.iter().for_each(|a| value.extend(a.to_be_bytes()));
            }
            let mut attribute = vec![0x40, AS_PATH, value.len() as u8];
            attribute.extend(&value);
            let attrs = parse_attributes(attribute.into(), &AsnLength::Bits32, false, None, None, None).unwrap();
            prop_assert_eq!(wire_origin(&value), Some(origin_of(attrs.as_path())));
        }
    }
}
