//! The routes of a RIB dump, per prefix, kept so that BGP4MP updates can be applied
//! on top and an origin can be chosen per prefix by any policy afterwards.
//!
//! Memory is what the result needs, not what the file holds. A prefix keeps an
//! ordered list of slots of 12 bytes each. A *route* slot is one peer's route (peer,
//! ADD-PATH id, origin) and is kept for peers whose routes may change later (peers of
//! update files). The routes of every other peer (a *folded* peer, see [`FoldPlan`])
//! are folded, once the record that holds them is read, into *tally* slots: an origin
//! and how many such peers saw it, at the place of the first of them. Every policy
//! reads only the order in which origins are first seen, the first slot and the peers
//! per origin, so tallies give the same answers as the routes they replace, and a
//! dump with hundreds of peers needs about one slot per prefix and origin.
//!
//! The origin is an ASN or, for an AS_SET, an index into a table of sets. That works
//! because origins are never reserved ASNs (see `path`), so the reserved range from
//! 4,200,000,000 up is free to number the sets.

use super::fast::Entry;
use super::path::{origin_of, NoOrigin};
use super::plan::FoldPlan;
use super::records::{BadRecord, Item, Records};
use crate::ip::IpPrefix;
use crate::key::{Key, Prefix};
use crate::loaders::{by_name, BadName, LoadError, ReadOptions, Summary};
use crate::origin::Origin;
use bgpkit_parser::models::*;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::net::IpAddr;

/// How to choose the origin of a prefix that several peers report.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OriginPolicy {
    /// The origin in the first peer's entry: the first RIB entry of the prefix's
    /// first record (TABLE_DUMP_V2), or the first record of the prefix (TABLE_DUMP),
    /// as pyasn converts RIBs. Entries without a usable origin are passed over.
    FirstPeer,
    /// The origin seen by the most peers; a tie goes to the one seen first.
    Majority,
    /// Every origin with the number of peers that saw it, most first (ties in the
    /// order first seen).
    All,
}

impl OriginPolicy {
    pub const ALL: [OriginPolicy; 3] = [
        OriginPolicy::FirstPeer,
        OriginPolicy::Majority,
        OriginPolicy::All,
    ];

    /// The name users pass and the database records (`origin_policy="majority"`).
    pub const fn name(self) -> &'static str {
        match self {
            OriginPolicy::FirstPeer => "first_peer",
            OriginPolicy::Majority => "majority",
            OriginPolicy::All => "all",
        }
    }
}

impl std::str::FromStr for OriginPolicy {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name("origin_policy", &OriginPolicy::ALL, OriginPolicy::name, s)
    }
}

/// The most routes one prefix keeps (one per peer and ADD-PATH id): the largest
/// collectors have about 1,500 peers, and each announcement scans its prefix's
/// routes, so a hostile file with millions for one prefix would take hours.
pub const MAX_ROUTES: usize = 1 << 14;
const TOO_MANY_ROUTES: &str = "route beyond 16,384 for one prefix";

/// An origin in 4 bytes: an ASN, or `SET_BASE + i` for the i-th AS_SET.
type OriginKey = u32;
const SET_BASE: u32 = 4_200_000_000;

/// A slot of a prefix: one peer's route, or (`peer == TALLY`) a tally of folded
/// peers' routes, `path_id` then holding how many peers saw `origin`.
#[derive(Copy, Clone, Debug)]
struct Route {
    peer: u32,
    path_id: u32,
    origin: OriginKey,
}

/// The `peer` of a tally slot (peer ids count up from 0 and never reach it).
const TALLY: u32 = u32::MAX;

impl Route {
    fn tally(origin: OriginKey, peers: u32) -> Route {
        Route {
            peer: TALLY,
            path_id: peers,
            origin,
        }
    }

    fn is_tally(&self) -> bool {
        self.peer == TALLY
    }
}

/// Who a route came from: a peer's address, or (in a RIB without a peer index table,
/// such as a sample cut from one) its index.
#[derive(Clone, Hash, PartialEq, Eq)]
enum PeerKey {
    Ip(IpAddr),
    Index(u16),
}

/// A prefix's routes: most prefixes in a RIB have one or two, kept inline.
type Routes = SmallVec<[Route; 2]>;

/// Routes per prefix, one map per family so that IPv4 keys stay 8 bytes. FxHash
/// rather than SipHash: the keys come from routing data, not from an adversary who
/// could aim collisions at a long-running service, and hashing is most of the cost.
#[derive(Default)]
struct PrefixMap {
    v4: Family<u32>,
    v6: Family<u128>,
}

/// The prefixes of one family and their routes. The routes are in a vector, in the
/// order their prefixes came, and the hash map holds only where: the map is what
/// each new prefix touches at a random place, and with 12-byte buckets for IPv4
/// (not 48 with the routes in them) a full table's map is a quarter of the memory,
/// so inserting and growing it miss the cache far less (loading a one-peer RIB
/// spent half its time on those misses). A dump's records come one per prefix, so
/// the vector is filled in order.
struct Family<K: Key> {
    index: FxHashMap<Prefix<K>, u32>,
    slots: Vec<(Prefix<K>, Routes)>,
}

impl<K: Key> Default for Family<K> {
    fn default() -> Self {
        Family {
            index: FxHashMap::default(),
            slots: Vec::new(),
        }
    }
}

impl<K: Key> Family<K> {
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn entry(&mut self, p: Prefix<K>) -> &mut Routes {
        // A table has far fewer than 2^32 prefixes.
        let next = self.slots.len() as u32;
        let i = *self.index.entry(p).or_insert(next);
        if i == next {
            self.slots.push((p, Routes::new()));
        }
        &mut self.slots[i as usize].1
    }

    fn get_mut(&mut self, p: &Prefix<K>) -> Option<&mut Routes> {
        let i = *self.index.get(p)?;
        Some(&mut self.slots[i as usize].1)
    }

    #[cfg(test)]
    fn get(&self, p: &Prefix<K>) -> Option<&Routes> {
        let i = *self.index.get(p)?;
        Some(&self.slots[i as usize].1)
    }

    /// Remove a prefix: the last slot takes its place.
    fn remove(&mut self, p: &Prefix<K>) {
        let Some(i) = self.index.remove(p) else {
            return;
        };
        self.slots.swap_remove(i as usize);
        if let Some((moved, _)) = self.slots.get(i as usize) {
            *self
                .index
                .get_mut(moved)
                .expect("every slot's prefix is indexed") = i;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(Prefix<K>, Routes)> {
        self.slots.iter()
    }
}

impl PrefixMap {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&mut self, p: IpPrefix) -> &mut Routes {
        match p {
            IpPrefix::V4(q) => self.v4.entry(q),
            IpPrefix::V6(q) => self.v6.entry(q),
        }
    }

    fn get_mut(&mut self, p: &IpPrefix) -> Option<&mut Routes> {
        match p {
            IpPrefix::V4(q) => self.v4.get_mut(q),
            IpPrefix::V6(q) => self.v6.get_mut(q),
        }
    }

    #[cfg(test)]
    fn get(&self, p: &IpPrefix) -> Option<&Routes> {
        match p {
            IpPrefix::V4(q) => self.v4.get(q),
            IpPrefix::V6(q) => self.v6.get(q),
        }
    }

    fn remove(&mut self, p: &IpPrefix) {
        match p {
            IpPrefix::V4(q) => self.v4.remove(q),
            IpPrefix::V6(q) => self.v6.remove(q),
        };
    }

    fn iter(&self) -> impl Iterator<Item = (IpPrefix, &Routes)> {
        let v4 = self.v4.iter().map(|(p, r)| (IpPrefix::V4(*p), r));
        v4.chain(self.v6.iter().map(|(p, r)| (IpPrefix::V6(*p), r)))
    }
}

/// Routes per prefix: per peer, or folded into tallies (see the module docs).
#[derive(Default)]
pub struct Rib {
    routes: PrefixMap,
    peers: HashMap<PeerKey, u32>,
    /// Per peer id: true if its routes are folded into tallies.
    folded: Vec<bool>,
    /// Per peer id: the number of the first peer index table that named it (0:
    /// none yet; a table may name one address twice).
    tabled: Vec<u32>,
    /// Peer index tables read so far.
    tables: u32,
    /// The peers whose routes are folded, by address.
    foldable: FoldPlan,
    sets: Vec<Vec<u32>>,
    set_ids: HashMap<Vec<u32>, u32>,
    /// The peers of the current TABLE_DUMP_V2 peer index table, by index.
    peer_index: Vec<u32>,
}

/// What a prefix's origin is under a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chosen {
    One(Origin),
    /// Each origin and how many peers saw it (policy `All`).
    All(Vec<(Origin, u32)>),
}

/// In `peer_index`: a folded peer that an earlier peer index table named already.
const REPEATED: u32 = u32::MAX - 1;

/// How often (in records) loading reports progress.
const TICK_RECORDS: u64 = 1 << 12;

impl Rib {
    /// A RIB that keeps every peer's route (what [`Rib::read`] needs when nothing is
    /// known about the files to come).
    pub fn new() -> Self {
        Self::default()
    }

    /// A RIB that folds the routes of the peers `plan` names (see [`FoldPlan`]): the
    /// same answers as [`Rib::new`], in memory independent of the number of peers.
    pub fn folding(plan: FoldPlan) -> Self {
        Rib {
            foldable: plan,
            ..Self::default()
        }
    }

    /// Number of prefixes with at least one route.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Read an MRT file (RIB dump or BGP4MP updates) into this RIB: RIB entries and
    /// announcements add or replace the peer's route, withdrawals remove it.
    pub(super) fn read(
        &mut self,
        mut records: Records,
        opts: &mut ReadOptions,
    ) -> Result<Summary, LoadError> {
        let mut summary = Summary::default();
        while let Some(record) = records.next_item() {
            if records.count.is_multiple_of(TICK_RECORDS) {
                opts.tick_at(records.tracker())?;
            }
            match record {
                Ok(Item::Record(r)) => self.record(r, &mut summary),
                Ok(Item::Rib(mut r)) => {
                    self.rib_entries(Some(r.prefix), r.entries.drain(..), &mut summary);
                    records.recycle(r.entries);
                }
                Err(BadRecord::Unsupported) => summary.count("unsupported record type"),
                Err(BadRecord::Malformed(e)) => {
                    let fatal = e.to_string().contains("truncated or corrupt input");
                    opts.bad_item(
                        &mut summary,
                        if fatal {
                            "unreadable rest of file"
                        } else {
                            "malformed record"
                        },
                        e,
                    )?;
                    summary.truncated |= fatal;
                }
            }
        }
        summary.records = records.count;
        summary.prefixes = self.routes.len() as u64;
        Ok(summary)
    }

    fn record(&mut self, record: MrtRecord, s: &mut Summary) {
        match record.message {
            MrtMessage::TableDumpV2Message(TableDumpV2Message::PeerIndexTable(t)) => {
                let mut ids: Vec<(u16, IpAddr)> =
                    t.id_peer_map.iter().map(|(i, p)| (*i, p.peer_ip)).collect();
                ids.sort_unstable();
                let max = ids.last().map_or(0, |(i, _)| *i as usize + 1);
                self.peer_index = vec![u32::MAX; max];
                self.tables += 1;
                for (i, ip) in ids {
                    let fold = self.foldable.contains(&ip);
                    let peer = self.peer(PeerKey::Ip(ip)) as usize;
                    // A folded peer in a second table (dumps joined into one file):
                    // its tallies cannot be replaced as its routes would be, so its
                    // entries there are left out (and counted) rather than counted twice.
                    if self.tabled[peer] == 0 {
                        self.tabled[peer] = self.tables;
                    }
                    let again = self.tabled[peer] != self.tables && self.folded[peer];
                    self.folded[peer] |= fold;
                    self.peer_index[i as usize] = if again { REPEATED } else { peer as u32 };
                }
            }
            MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(rib)) => {
                let entries = rib.rib_entries.iter().map(|e| {
                    let origin = origin_of(e.attributes.as_path());
                    (e.peer_index, e.path_id, origin)
                });
                self.rib_entries(ip_prefix(&rib.prefix), entries, s)
            }
            MrtMessage::TableDumpMessage(m) => self.table_dump(m, s),
            MrtMessage::TableDumpMessageBatch(ms) => {
                ms.into_iter().for_each(|m| self.table_dump(m, s))
            }
            MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)) => match m.bgp_message {
                BgpMessage::Update(u) => self.update(m.peer_ip, u, s),
                _ => s.count("BGP message other than UPDATE"),
            },
            MrtMessage::TableDumpV2Message(TableDumpV2Message::RibGeneric(_)) => {
                s.count("RIB_GENERIC record")
            }
            _ => s.count("record without routes"),
        }
    }

    /// The entries of one TABLE_DUMP_V2 record: every peer's route for one prefix.
    /// They are read as routes first, so that a peer's repeated or unusable entries
    /// act as they would on routes; then the folded peers' routes become tallies.
    fn rib_entries(
        &mut self,
        prefix: Option<IpPrefix>,
        entries: impl IntoIterator<Item = Entry>,
        s: &mut Summary,
    ) {
        let mut any_folded = false;
        // Whether the prefix's slots are on the heap after the last entry read: fold
        // only acts on those, and most prefixes are not, so the lookup is saved.
        let mut spilled = false;
        for (index, path_id, origin) in entries {
            s.entries += 1;
            let peer = match self.peer_index.get(index as usize) {
                Some(&REPEATED) => {
                    s.count("entry of a folded peer in a second peer index table");
                    continue;
                }
                Some(&p) if p != u32::MAX => p,
                // Only a file without a peer table (a cut sample) may do this.
                _ if !self.peer_index.is_empty() => {
                    s.count("peer index not in the peer table");
                    continue;
                }
                _ => self.peer(PeerKey::Index(index)),
            };
            any_folded |= self.folded[peer as usize];
            spilled = self.announce(prefix, peer, path_id, origin, s);
        }
        if let (true, true, Some(prefix)) = (any_folded, spilled, prefix) {
            self.fold(&prefix);
        }
    }

    /// Fold the routes of folded peers for `prefix` into tallies. Each origin has at
    /// most one tally, at the place of its first folded route (earlier tallies come
    /// from earlier records, so they are in front); a peer counts once per origin
    /// (ADD-PATH gives a peer several routes), as [`Rib::choose`] counts routes.
    ///
    /// Folding only saves memory: a folded peer's route left as a route counts the
    /// same. So a prefix whose slots all fit inline (most, with one or two peers)
    /// is left as it is.
    fn fold(&mut self, prefix: &IpPrefix) {
        let folded = &self.folded;
        let Some(routes) = self.routes.get_mut(prefix) else {
            return;
        };
        if !routes.spilled() {
            return;
        }
        let mut seen: SmallVec<[(u32, OriginKey); 4]> = SmallVec::new();
        let mut out = Routes::new();
        for r in routes.drain(..) {
            if r.is_tally() || !folded[r.peer as usize] {
                out.push(r);
                continue;
            }
            if seen.contains(&(r.peer, r.origin)) {
                continue;
            }
            seen.push((r.peer, r.origin));
            match out
                .iter_mut()
                .find(|t| t.is_tally() && t.origin == r.origin)
            {
                Some(t) => t.path_id += 1,
                None => out.push(Route::tally(r.origin, 1)),
            }
        }
        // The record's routes grew the list to one slot per peer; what is left
        // needs far fewer (often none on the heap): give that memory back.
        out.shrink_to_fit();
        *routes = out;
    }

    fn table_dump(&mut self, m: TableDumpMessage, s: &mut Summary) {
        s.entries += 1;
        let peer = self.peer(PeerKey::Ip(m.peer_ip));
        let origin = origin_of(m.attributes.effective_as_path().as_ref());
        let _ = self.announce(ip_prefix(&m.prefix), peer, None, origin, s);
    }

    fn update(&mut self, peer_ip: IpAddr, u: BgpUpdateMessage, s: &mut Summary) {
        let peer = self.peer(PeerKey::Ip(peer_ip));
        let attrs = &u.attributes;
        let unreach = attrs
            .get_unreachable_nlri()
            .map(|n| n.prefixes.as_slice())
            .unwrap_or(&[]);
        for p in u.withdrawn_prefixes.iter().chain(unreach) {
            s.entries += 1;
            if let Some(prefix) = ip_prefix(p) {
                self.withdraw(prefix, peer, p.path_id.unwrap_or(0));
            }
        }
        let reach = attrs
            .get_reachable_nlri()
            .map(|n| n.prefixes.as_slice())
            .unwrap_or(&[]);
        let origin = origin_of(attrs.effective_as_path().as_ref());
        for p in u.announced_prefixes.iter().chain(reach) {
            s.entries += 1;
            let _ = self.announce(ip_prefix(p), peer, p.path_id, origin.clone(), s);
        }
    }

    /// The peer's route for `prefix` is now one with `origin`; a route without an
    /// origin replaces (so withdraws) the peer's earlier one. Returns whether the
    /// prefix's slots are now on the heap (false if it has none).
    #[must_use]
    fn announce(
        &mut self,
        prefix: Option<IpPrefix>,
        peer: u32,
        path_id: Option<u32>,
        origin: Result<Origin, NoOrigin>,
        s: &mut Summary,
    ) -> bool {
        let Some(prefix) = prefix else {
            s.count("invalid prefix");
            return false;
        };
        if prefix.prefix_len() == 0 {
            // Never in the map, so never spilled.
            s.count("default route");
            return false;
        }
        let path_id = path_id.unwrap_or(0);
        let origin = match origin.map(|o| self.key(o)) {
            Ok(Some(key)) => key,
            Ok(None) => {
                s.count("AS_SET beyond the first 94,967,296 distinct ones");
                return self.withdraw(prefix, peer, path_id);
            }
            Err(why) => {
                s.count(why.reason());
                return self.withdraw(prefix, peer, path_id);
            }
        };
        let routes = self.routes.entry(prefix);
        let full = routes.len() >= MAX_ROUTES;
        match routes
            .iter_mut()
            .find(|r| r.peer == peer && r.path_id == path_id)
        {
            Some(r) => r.origin = origin,
            None if full => s.count(TOO_MANY_ROUTES),
            None => routes.push(Route {
                peer,
                path_id,
                origin,
            }),
        }
        routes.spilled()
    }

    /// Remove the peer's route for `prefix`. Returns whether the prefix's slots are
    /// still on the heap (false if it has none left).
    fn withdraw(&mut self, prefix: IpPrefix, peer: u32, path_id: u32) -> bool {
        let Some(routes) = self.routes.get_mut(&prefix) else {
            return false;
        };
        routes.retain(|r| !(r.peer == peer && r.path_id == path_id));
        if routes.is_empty() {
            self.routes.remove(&prefix);
            return false;
        }
        routes.spilled()
    }

    fn peer(&mut self, key: PeerKey) -> u32 {
        let next = self.peers.len() as u32;
        let id = *self.peers.entry(key).or_insert(next);
        if id == next {
            self.folded.push(false);
            self.tabled.push(0);
        }
        id
    }

    /// `None` once the keys above [`SET_BASE`] are used up (only a hostile file
    /// holds that many distinct sets; wrapping would alias real AS numbers).
    fn key(&mut self, origin: Origin) -> Option<OriginKey> {
        match origin {
            Origin::Asn(a) => Some(a),
            Origin::Set(members) => {
                if let Some(&id) = self.set_ids.get(&members) {
                    return Some(id);
                }
                let next = SET_BASE.checked_add(u32::try_from(self.sets.len()).ok()?)?;
                self.set_ids.insert(members.clone(), next);
                self.sets.push(members);
                Some(next)
            }
        }
    }

    fn origin(&self, key: OriginKey) -> Origin {
        match key.checked_sub(SET_BASE) {
            Some(i) => Origin::Set(self.sets[i as usize].clone()),
            None => Origin::Asn(key),
        }
    }

    /// The origin of one prefix under `policy`.
    fn choose(&self, routes: &[Route], policy: OriginPolicy) -> Chosen {
        if policy == OriginPolicy::FirstPeer {
            return Chosen::One(self.origin(routes[0].origin));
        }
        // Distinct peers per origin, in the order first seen (ADD-PATH gives a peer
        // several routes; it counts once per origin). A tally's peers are distinct
        // from each other and from every route's peer, and were counted so when folded.
        let mut counts: Vec<(OriginKey, u32)> = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            let peers = match r.is_tally() {
                true => r.path_id,
                false
                    if routes[..i]
                        .iter()
                        .any(|q| q.peer == r.peer && q.origin == r.origin) =>
                {
                    continue
                }
                false => 1,
            };
            match counts.iter_mut().find(|(o, _)| *o == r.origin) {
                Some((_, n)) => *n += peers,
                None => counts.push((r.origin, peers)),
            }
        }
        // A stable sort keeps first-seen order among equal counts.
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        match policy {
            OriginPolicy::Majority => Chosen::One(self.origin(counts[0].0)),
            _ => Chosen::All(
                counts
                    .into_iter()
                    .map(|(o, n)| (self.origin(o), n))
                    .collect(),
            ),
        }
    }

    /// Every prefix with its origin under `policy`, in no particular order.
    pub fn origins(&self, policy: OriginPolicy) -> impl Iterator<Item = (IpPrefix, Chosen)> + '_ {
        self.routes
            .iter()
            .map(move |(p, routes)| (p, self.choose(routes, policy)))
    }
}

/// A parsed prefix as ours, host bits masked (the parser keeps them as the file has
/// them; a table holds each prefix once).
pub(crate) fn ip_prefix(p: &NetworkPrefix) -> Option<IpPrefix> {
    let len = p.prefix.prefix_len();
    match p.prefix.network() {
        IpAddr::V4(a) => Prefix::new_masked(u32::from(a), len).map(IpPrefix::V4),
        IpAddr::V6(a) => Prefix::new_masked(u128::from(a), len).map(IpPrefix::V6),
    }
}

#[cfg(test)]
impl Rib {
    /// Slots held over all prefixes (routes, tallies and room for more), for tests.
    pub(crate) fn slots(&self) -> usize {
        self.routes.iter().map(|(_, r)| r.capacity()).sum()
    }

    /// The origin of one prefix, for tests.
    pub(crate) fn get(&self, prefix: &IpPrefix, policy: OriginPolicy) -> Option<Chosen> {
        self.routes.get(prefix).map(|r| self.choose(r, policy))
    }
}

#[cfg(test)]
mod family_tests {
    use super::*;

    fn p(addr: u32, len: u8) -> Prefix<u32> {
        Prefix::new_masked(addr, len).unwrap()
    }

    fn route(origin: u32) -> Route {
        Route {
            peer: 0,
            path_id: 0,
            origin,
        }
    }

    /// Removing a prefix moves the last slot into its place; every other prefix
    /// keeps its routes, and a removed prefix can come back.
    #[test]
    fn remove_keeps_the_other_prefixes() {
        let mut f = Family::<u32>::default();
        for i in 0..5u32 {
            f.entry(p(i << 24, 8)).push(route(i));
        }
        f.remove(&p(1 << 24, 8));
        f.remove(&p(4 << 24, 8)); // the last slot
        f.remove(&p(9 << 24, 8)); // never there
        assert_eq!(f.len(), 3);
        assert!(f.get(&p(1 << 24, 8)).is_none());
        for i in [0u32, 2, 3] {
            assert_eq!(f.get(&p(i << 24, 8)).unwrap()[0].origin, i);
        }
        f.entry(p(1 << 24, 8)).push(route(7));
        f.get_mut(&p(3 << 24, 8)).unwrap()[0].origin = 8;
        let mut all: Vec<(Prefix<u32>, u32)> = f.iter().map(|(q, r)| (*q, r[0].origin)).collect();
        all.sort_unstable();
        let want = [(0, 0), (1, 7), (2, 2), (3, 8)].map(|(i, o)| (p(i << 24, 8), o));
        assert_eq!(all, want);
        assert_eq!(f.index.len(), f.slots.len());
    }
}
