//! Which peers' routes a [`Rib`](super::Rib) may fold into tallies: those no later
//! input can change.
//!
//! A folded route is counted, not kept, so it can be neither replaced nor withdrawn.
//! That is safe for a peer whose routes for a prefix all come in one record, read
//! once: a peer named in the peer index table of one TABLE_DUMP_V2 dump (RFC 6396
//! 4.3: a dump holds each prefix in one record, with all its peers' entries), and
//! in no other file given. Peers of BGP4MP update files, of old TABLE_DUMP files
//! (one record per route, no peer table) and of dumps given twice are kept route by
//! route, so updates and repeats act on them as they would without folding.

use super::records::Records;
use crate::loaders::{Input, LoadError, Progress};
use bgpkit_parser::models::{Bgp4MpEnum, MrtMessage, MrtRecord, TableDumpV2Message};
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::path::Path;

/// The peers whose routes may be folded, by address.
#[derive(Clone, Debug, Default)]
pub struct FoldPlan {
    peers: FxHashSet<IpAddr>,
}

/// What a first pass learns of one file.
#[derive(Default)]
struct FilePeers {
    /// The peers of the peer index table that starts the file (a RIB dump).
    table: FxHashSet<IpAddr>,
    /// Peers whose routes are not all in one record (updates, old TABLE_DUMP).
    others: FxHashSet<IpAddr>,
}

impl FoldPlan {
    /// The plan for reading `paths`, in any order, into one RIB. A file that starts
    /// with a peer index table is a RIB dump: only that record is read (the dump
    /// itself is the big file). Any other file (updates) is read through; those are
    /// small. A file that cannot be opened or read is passed over: reading it for
    /// real reports why, and what cannot be read adds no routes.
    ///
    /// An update file or an old TABLE_DUMP RIB is read through here, and can be
    /// large: `progress` is asked every few thousand records whether to go on (it
    /// is told the reading has not begun: this pass adds no routes).
    pub fn scan(
        paths: &[impl AsRef<Path>],
        progress: &mut dyn Progress,
    ) -> Result<Self, LoadError> {
        let mut tables: FxHashMap<IpAddr, u32> = FxHashMap::default();
        let mut others = FxHashSet::default();
        for path in paths {
            let Ok(input) = Input::open(path) else {
                continue;
            };
            let file = file_peers(Records::new(input), progress)?;
            for ip in file.table {
                *tables.entry(ip).or_default() += 1;
            }
            others.extend(file.others);
        }
        let peers = tables
            .into_iter()
            .filter(|(ip, files)| *files == 1 && !others.contains(ip))
            .map(|(ip, _)| ip)
            .collect();
        Ok(FoldPlan { peers })
    }

    /// True if `peer`'s routes are folded.
    pub fn contains(&self, peer: &IpAddr) -> bool {
        self.peers.contains(peer)
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

/// Records between two questions to [`Progress`].
const TICK_RECORDS: u64 = 1 << 12;

/// The peers of one file (see [`FoldPlan::scan`]).
fn file_peers(mut records: Records, progress: &mut dyn Progress) -> Result<FilePeers, LoadError> {
    let mut peers = FilePeers::default();
    let mut first = true;
    let mut n = 0u64;
    while let Some(record) = records.next() {
        n += 1;
        if n.is_multiple_of(TICK_RECORDS) && !progress.update(0, records.tracker().size()) {
            return Err(LoadError::Interrupted);
        }
        let Ok(record) = record else { continue };
        if first {
            first = false;
            if let MrtMessage::TableDumpV2Message(TableDumpV2Message::PeerIndexTable(t)) =
                &record.message
            {
                peers.table = t.id_peer_map.values().map(|p| p.peer_ip).collect();
                return Ok(peers);
            }
        }
        other_peers(&record, &mut peers.others);
    }
    Ok(peers)
}

/// The peers of a record that is not part of a TABLE_DUMP_V2 dump.
fn other_peers(record: &MrtRecord, out: &mut FxHashSet<IpAddr>) {
    match &record.message {
        MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)) => {
            out.insert(m.peer_ip);
        }
        MrtMessage::Bgp4Mp(Bgp4MpEnum::StateChange(m)) => {
            out.insert(m.peer_ip);
        }
        MrtMessage::TableDumpMessage(m) => {
            out.insert(m.peer_ip);
        }
        MrtMessage::TableDumpMessageBatch(ms) => out.extend(ms.iter().map(|m| m.peer_ip)),
        MrtMessage::TableDumpV2Message(TableDumpV2Message::PeerIndexTable(t)) => {
            out.extend(t.id_peer_map.values().map(|p| p.peer_ip))
        }
        MrtMessage::TableDumpV2Message(_) | MrtMessage::LegacyBgp(_) => {}
    }
}
