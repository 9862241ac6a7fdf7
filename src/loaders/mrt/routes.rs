//! Every route of an MRT file, one [`Route`] per RIB entry, announced prefix or
//! withdrawn prefix, in file order: what the file says, before any origin is chosen
//! (for inspection and for comparing with other MRT tools such as `bgpdump -m`).

use super::path::path_text;
use super::records::{BadRecord, Records};
use crate::loaders::{Input, LoadError};
use bgpkit_parser::models::{
    AttributeValue, Bgp4MpEnum, BgpElem, BgpMessage, ElemType, MrtMessage, MrtRecord,
    TableDumpV2Message,
};
use bgpkit_parser::Elementor;
use std::collections::VecDeque;
use std::net::IpAddr;

/// Where a route comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// An entry of a RIB dump (TABLE_DUMP or TABLE_DUMP_V2).
    Rib,
    /// A prefix announced in a BGP4MP update.
    Announce,
    /// A prefix withdrawn in a BGP4MP update.
    Withdraw,
}

impl RouteKind {
    /// `B`, `A` or `W`, as `bgpdump -m` prints the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Rib => "B",
            RouteKind::Announce => "A",
            RouteKind::Withdraw => "W",
        }
    }
}

/// One route as the file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub kind: RouteKind,
    /// Seconds since the epoch: when the route was learned (RIB entries) or the
    /// update's time.
    pub timestamp: u32,
    pub peer_ip: IpAddr,
    pub peer_asn: u32,
    /// The prefix as the file holds it: its address (host bits are not masked, as
    /// `bgpdump -m` prints them too) and length.
    pub prefix: (IpAddr, u8),
    /// The ADD-PATH path id (RFC 7911), if the record has one.
    pub path_id: Option<u32>,
    /// The AS path as [`path_text`] writes it: empty for an announcement without a
    /// path, `None` for a withdrawal.
    pub as_path: Option<String>,
}

/// Iterator over the routes of an MRT file. Unsupported record types are passed
/// over; a malformed record or a cut stream is an error that ends the iteration.
pub struct Routes {
    records: Records,
    elementor: Elementor,
    pending: VecDeque<Route>,
    done: bool,
}

impl Routes {
    pub fn new(input: Input) -> Routes {
        Routes {
            records: Records::new(input),
            elementor: Elementor::new(),
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// The routes of one record, queued; an error if they would take more than
    /// [`MAX_RECORD_ROUTES_BYTES`].
    fn queue(&mut self, record: MrtRecord) -> Result<(), LoadError> {
        let cost = update_cost(&record);
        if cost > MAX_RECORD_ROUTES_BYTES {
            let msg = format!(
                "an update whose routes would take {cost} bytes (its prefixes each with a copy \
                 of its attributes); at most {MAX_RECORD_ROUTES_BYTES} are read from one record"
            );
            return Err(self.records.error(msg));
        }
        let rib = matches!(
            record.message,
            MrtMessage::TableDumpMessage(_)
                | MrtMessage::TableDumpMessageBatch(_)
                | MrtMessage::TableDumpV2Message(_)
        );
        // The elementor drops TABLE_DUMP_V2 ADD-PATH ids; they are per RIB entry, and
        // it makes one element per entry, in order, so they can be put back by index.
        let entry_path_ids: Vec<Option<u32>> = match &record.message {
            MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(r)) => {
                r.rib_entries.iter().map(|e| e.path_id).collect()
            }
            _ => Vec::new(),
        };
        let elems = self.elementor.record_to_elems(record);
        for (i, e) in elems.into_iter().enumerate() {
            let entry_id = entry_path_ids.get(i).copied().flatten();
            self.pending.push_back(route(e, rib, entry_id));
        }
        Ok(())
    }
}

/// The most bytes the routes of one record may take: the parser gives each prefix of
/// an update a copy of all its attributes, so a 64 KiB update of thousands of
/// prefixes and a long path would take gigabytes. Real updates take kilobytes.
pub const MAX_RECORD_ROUTES_BYTES: u64 = 1 << 28;

/// An upper bound of what [`Routes::queue`] makes of a BGP4MP update: its prefixes
/// (announced and withdrawn, plain and multiprotocol) times its length, which bounds
/// its attributes' size. Other records (RIB dumps) give one route per entry.
fn update_cost(record: &MrtRecord) -> u64 {
    let MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)) = &record.message else {
        return 0;
    };
    let BgpMessage::Update(u) = &m.bgp_message else {
        return 0;
    };
    let mp: usize = u
        .attributes
        .iter()
        .map(|a| match a {
            AttributeValue::MpReachNlri(n) | AttributeValue::MpUnreachNlri(n) => n.prefixes.len(),
            _ => 0,
        })
        .sum();
    let prefixes = (u.announced_prefixes.len() + u.withdrawn_prefixes.len() + mp) as u64;
    prefixes * u64::from(record.common_header.length)
}

/// An element as a route.
fn route(e: BgpElem, rib: bool, entry_path_id: Option<u32>) -> Route {
    let kind = match (rib, e.elem_type) {
        (true, _) => RouteKind::Rib,
        (false, ElemType::ANNOUNCE) => RouteKind::Announce,
        (false, ElemType::WITHDRAW) => RouteKind::Withdraw,
    };
    Route {
        kind,
        timestamp: e.timestamp as u32,
        peer_ip: e.peer_ip,
        peer_asn: u32::from(e.peer_asn),
        prefix: (e.prefix.prefix.addr(), e.prefix.prefix.prefix_len()),
        path_id: entry_path_id.or(e.prefix.path_id),
        // An announcement always has a path, if empty; a withdrawal none.
        as_path: (kind != RouteKind::Withdraw)
            .then(|| e.as_path.as_ref().map(path_text).unwrap_or_default()),
    }
}

impl Iterator for Routes {
    type Item = Result<Route, LoadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pending.is_empty() && !self.done {
            match self.records.next() {
                None => self.done = true,
                Some(Ok(record)) => {
                    if let Err(e) = self.queue(record) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Some(Err(BadRecord::Unsupported)) => {}
                Some(Err(BadRecord::Malformed(e))) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.pending.pop_front().map(Ok)
    }
}
