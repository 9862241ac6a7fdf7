//! A batch's lookups: each address's route, prefix length, primary origin, country
//! and RIR block, answered a block of addresses at a time, with the two tries
//! (routes and RIR blocks) walked interleaved.

use super::facts::RouteFacts;
use super::history::time::SnapshotTimes;
use super::layout::NONE;
use super::query::{Hit, Record};
use super::read::View;
use super::versions::{At, VTrie};
use crate::batch::{v6_keys, Keys};
use crate::ip::IpPrefix;
use crate::key::Key;
use crate::poptrie::{unpack, MISS};
use std::net::IpAddr;

/// Addresses a batch answers at a time: small enough for the leaves and answers to
/// stay in the first-level cache.
pub(super) const BLOCK: usize = 1024;

/// One answer of a batch: `route` is [`NONE`] for an address no prefix covers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub route: u32,
    pub asn: u32,
    /// The RIR block the address is in, [`NONE`] for none. With the route it
    /// decides every text field of the record (see [`View::record_of`]).
    pub block: u32,
    pub prefix_len: u8,
    pub country: [u8; 2],
    /// 0 for none, else the [`super::CountrySource`] as `u8` (counting from 1 in the order of
    /// [`super::CountrySource::ALL`]).
    pub country_source: u8,
    /// The snapshot that answered (in a history; 0 in a one-date file), [`NONE`]
    /// for a time before the first.
    pub snapshot: u32,
}

/// The snapshot each address of a batch is asked at: the view's own for all, or
/// one per address ([`NONE`] for a time before the first snapshot).
#[derive(Copy, Clone, Debug)]
pub enum Snapshots<'t> {
    Own,
    Each(&'t [u32]),
    /// Per row, the snapshot in force at the row's time (`times`, Unix seconds)
    /// among snapshots taken at `taken` (found as the rows are answered, on every
    /// core).
    At {
        times: &'t [i64],
        taken: &'t SnapshotTimes,
    },
}

impl<'t> Snapshots<'t> {
    /// Those of rows `range`.
    pub fn slice(self, range: std::ops::Range<usize>) -> Snapshots<'t> {
        match self {
            Snapshots::Own => Snapshots::Own,
            Snapshots::Each(s) => Snapshots::Each(&s[range]),
            Snapshots::At { times, taken } => Snapshots::At {
                times: &times[range],
                taken,
            },
        }
    }

    /// Row `i`'s.
    #[inline(always)]
    fn get(self, i: usize, own: u32) -> u32 {
        match self {
            Snapshots::Own => own,
            Snapshots::Each(s) => s[i],
            Snapshots::At { times, taken } => taken.in_force(times[i]),
        }
    }
}

/// Every changing leaf of the tries a batch walks, resolved at one snapshot.
pub struct Resolved {
    v4: Vec<u32>,
    v6: Vec<u32>,
    rir4: Vec<u32>,
    rir6: Vec<u32>,
}

impl<'a> View<'a> {
    /// For a batch of `n` rows at `snaps`: the changing leaves resolved once, when
    /// all rows are at the view's snapshot and there are more rows than changing
    /// leaves (a row then reads one value instead of a timeline: a dependent read
    /// fewer; a one-date file has none).
    pub fn resolved(&self, n: usize, snaps: Snapshots) -> Option<Resolved> {
        let changing = self.v4.trie.churn.len() + self.v6.trie.churn.len();
        let changing = changing + self.rir4.churn.len() + self.rir6.churn.len();
        let worth = matches!(snaps, Snapshots::Own) && changing > 0 && n >= 4 * changing;
        worth.then(|| Resolved {
            v4: self.v4.trie.resolve_all(self.at),
            v6: self.v6.trie.resolve_all(self.at),
            rir4: self.rir4.resolve_all(self.at),
            rir6: self.rir6.resolve_all(self.at),
        })
    }

    /// This view with its tries reading the changing leaves from `r` (for its
    /// snapshot only: every query at it answers as before).
    pub fn with_resolved<'b>(&self, r: &'b Resolved) -> View<'b>
    where
        'a: 'b,
    {
        let mut v: View<'b> = *self;
        v.v4.trie = self.v4.trie.resolved_in(&r.v4);
        v.v6.trie = self.v6.trie.resolved_in(&r.v6);
        v.rir4 = self.rir4.resolved_in(&r.rir4);
        v.rir6 = self.rir6.resolved_in(&r.rir6);
        v
    }

    /// The answer for one address from its leaves in the two tries, at `at`.
    #[inline]
    pub(super) fn answer(&self, leaf: u32, block_leaf: u32, at: At<'_>) -> Answer {
        let block = unpack(block_leaf).map_or(NONE, |(_, i)| i);
        let Some((len, route)) = unpack(leaf) else {
            return Answer {
                route: NONE,
                block,
                snapshot: at.snapshot,
                ..Answer::default()
            };
        };
        let info = self.route_info(route, at);
        let (country, source) = match self.country_with(info, self.rir(block)) {
            Some((cc, s)) => (cc, s as u8),
            None => ([0, 0], 0),
        };
        Answer {
            route,
            asn: self.origins(route).first().copied().unwrap_or(0),
            block,
            prefix_len: len,
            country,
            country_source: source,
            snapshot: at.snapshot,
        }
    }

    /// The full record of `addr` from its batch answer; `None` for a miss.
    pub fn record_of(&self, addr: IpAddr, a: &Answer) -> Option<Record<'a>> {
        let prefix = IpPrefix::new(addr, a.prefix_len, false).ok();
        let prefix = prefix.filter(|_| a.route != NONE)?;
        let hit = Hit {
            prefix,
            route: a.route,
        };
        self.describe_in(addr, hit, self.rir(a.block), self.at.with(a.snapshot))
    }

    /// Answers for IPv4 addresses given as integers.
    pub fn lookup_v4_many(&self, addrs: &[u32], out: &mut [Answer]) {
        self.lookup_keys(self.v4.trie, self.rir4, addrs, Snapshots::Own, out)
    }

    /// [`View::lookup_v4_many`] for IPv6 addresses.
    pub fn lookup_v6_many(&self, addrs: &[u128], out: &mut [Answer]) {
        self.lookup_keys(self.v6.trie, self.rir6, addrs, Snapshots::Own, out)
    }

    /// `emit(i, answer)` for the `i`-th address of a batch, in order, answered a
    /// block at a time into a buffer that stays in the first-level cache.
    pub fn answers(&self, keys: Keys, emit: impl FnMut(usize, &Answer)) {
        self.answers_at(keys, Snapshots::Own, emit)
    }

    /// [`View::answers`] with each address at its snapshot.
    pub fn answers_at(&self, keys: Keys, snaps: Snapshots, mut emit: impl FnMut(usize, &Answer)) {
        self.answers_in(keys, snaps, None, |lo, block| {
            for (i, a) in block.iter().enumerate() {
                emit(lo + i, a);
            }
        })
    }

    /// [`View::answers_at`] for columns that need no RIR block where the route
    /// decides the country (those rows' `block` is [`NONE`]), given a block of
    /// rows at a time: `emit(first row, answers)`.
    pub fn column_answers(&self, keys: Keys, snaps: Snapshots, emit: impl FnMut(usize, &[Answer])) {
        self.answers_in(keys, snaps, self.route_facts(keys.len(), snaps), emit)
    }

    /// [`View::answers_at`] a block at a time, from the routes' `facts` where
    /// given (see [`View::answers_by_route`]).
    fn answers_in(
        &self,
        keys: Keys,
        snaps: Snapshots,
        facts: Option<&[RouteFacts]>,
        mut emit: impl FnMut(usize, &[Answer]),
    ) {
        let mut buf = [Answer::default(); BLOCK];
        let mut keys6 = Vec::with_capacity(BLOCK);
        for lo in (0..keys.len()).step_by(BLOCK) {
            let range = lo..keys.len().min(lo + BLOCK);
            let (part, snaps) = (keys.slice(range.clone()), snaps.slice(range));
            let out = &mut buf[..part.len()];
            match part {
                Keys::V4(addrs) => self.family_answers(self.tries4(), addrs, snaps, facts, out),
                Keys::V6(rows) => {
                    v6_keys(rows, &mut keys6);
                    self.family_answers(self.tries6(), &keys6, snaps, facts, out)
                }
                Keys::Mixed(addrs) => self.lookup_many_in(addrs, snaps, facts, out),
            }
            emit(lo, out);
        }
    }

    /// The tries of IPv4 (routes, RIR blocks), as [`View::family_answers`] takes them.
    fn tries4(&self) -> (VTrie<'a, u32>, VTrie<'a, u32>) {
        (self.v4.trie, self.rir4)
    }

    /// The tries of IPv6.
    fn tries6(&self) -> (VTrie<'a, u128>, VTrie<'a, u128>) {
        (self.v6.trie, self.rir6)
    }

    /// Answers for one family's `keys`: from the routes' `facts` where given
    /// ([`View::answers_by_route`]: every row at the view's snapshot), else by
    /// walking both tries for every row ([`View::lookup_keys`]).
    fn family_answers<K: Key>(
        &self,
        tries: (VTrie<'a, K>, VTrie<'a, K>),
        keys: &[K],
        snaps: Snapshots,
        facts: Option<&[RouteFacts]>,
        out: &mut [Answer],
    ) {
        match facts {
            Some(f) => self.answers_by_route(tries, keys, f, out),
            None => self.lookup_keys(tries.0, tries.1, keys, snaps, out),
        }
    }

    /// Arrays of one family walk both tries (routes and RIR blocks) for a block of
    /// addresses at a time with interleaved lookups, which is much faster than
    /// walking the RIR trie address by address when it is needed.
    fn lookup_keys<K: Key>(
        &self,
        routes_trie: VTrie<'a, K>,
        rir_trie: VTrie<'a, K>,
        keys: &[K],
        snaps: Snapshots,
        out: &mut [Answer],
    ) {
        let (mut routes, mut blocks, mut at) = ([0u32; BLOCK], [0u32; BLOCK], [0u32; BLOCK]);
        for (lo, (k, o)) in keys.chunks(BLOCK).zip(out.chunks_mut(BLOCK)).enumerate() {
            let n = k.len();
            let (routes, blocks, at) = (&mut routes[..n], &mut blocks[..n], &mut at[..n]);
            routes_trie.trie.lookup_many(k, routes);
            rir_trie.trie.lookup_many(k, blocks);
            for (i, s) in at.iter_mut().enumerate() {
                *s = snaps.get(lo * BLOCK + i, self.at.snapshot);
            }
            // The changing leaves read their timelines in a loop of their own, where
            // the reads of many rows are under way at once, rather than each in the
            // middle of its row's answer.
            for ((leaf, block), &s) in routes.iter_mut().zip(blocks.iter_mut()).zip(&*at) {
                let when = self.at.with(s);
                (*leaf, *block) = match s {
                    NONE => (MISS, MISS),
                    _ => (
                        routes_trie.resolve(*leaf, when),
                        rir_trie.resolve(*block, when),
                    ),
                };
            }
            for (o, ((&leaf, &block), &s)) in
                o.iter_mut().zip(routes.iter().zip(&*blocks).zip(&*at))
            {
                *o = self.answer(leaf, block, self.at.with(s));
            }
        }
    }

    /// Answers for addresses of either family (parsed text, mostly): each family's
    /// addresses of a block are gathered and answered as arrays (interleaved, as
    /// [`View::lookup_v4_many`]), then put back in order.
    pub fn lookup_many(&self, addrs: &[IpAddr], snaps: Snapshots, out: &mut [Answer]) {
        self.lookup_many_in(addrs, snaps, None, out)
    }

    /// [`View::lookup_many`], from the routes' `facts` where given.
    fn lookup_many_in(
        &self,
        addrs: &[IpAddr],
        snaps: Snapshots,
        facts: Option<&[RouteFacts]>,
        out: &mut [Answer],
    ) {
        let (mut v4, mut v6) = (Gathered::default(), Gathered::default());
        let mut buf = [Answer::default(); BLOCK];
        for (lo, (part, o)) in addrs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)).enumerate() {
            v4.clear();
            v6.clear();
            for (i, a) in part.iter().enumerate() {
                let s = snaps.get(lo * BLOCK + i, 0);
                match a {
                    IpAddr::V4(a) => v4.push(u32::from(*a), i, s),
                    IpAddr::V6(a) => v6.push(u128::from(*a), i, s),
                };
            }
            let out4 = &mut buf[..v4.keys.len()];
            self.family_answers(self.tries4(), &v4.keys, v4.snaps(snaps), facts, out4);
            v4.put_back(out4, o);
            let out6 = &mut buf[..v6.keys.len()];
            self.family_answers(self.tries6(), &v6.keys, v6.snaps(snaps), facts, out6);
            v6.put_back(out6, o);
        }
    }
}

/// One family's addresses of a mixed block, with their rows and snapshots.
struct Gathered<K> {
    keys: Vec<K>,
    rows: Vec<usize>,
    snaps: Vec<u32>,
}

impl<K> Default for Gathered<K> {
    fn default() -> Self {
        Gathered {
            keys: Vec::with_capacity(BLOCK),
            rows: Vec::with_capacity(BLOCK),
            snaps: Vec::with_capacity(BLOCK),
        }
    }
}

impl<K> Gathered<K> {
    fn clear(&mut self) {
        self.keys.clear();
        self.rows.clear();
        self.snaps.clear();
    }

    fn push(&mut self, key: K, row: usize, snapshot: u32) {
        self.keys.push(key);
        self.rows.push(row);
        self.snaps.push(snapshot);
    }

    /// The gathered rows' snapshots, if the batch has one per row.
    fn snaps(&self, all: Snapshots) -> Snapshots<'_> {
        match all {
            Snapshots::Own => Snapshots::Own,
            _ => Snapshots::Each(&self.snaps),
        }
    }

    fn put_back(&self, answers: &[Answer], out: &mut [Answer]) {
        for (a, &i) in answers.iter().zip(&self.rows) {
            out[i] = *a;
        }
    }
}
