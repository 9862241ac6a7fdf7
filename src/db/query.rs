//! Questions a [`View`] answers: the record of an address, batches of them, and the
//! prefix-level and AS-level queries over the sorted prefix arrays.

use super::country::{country_text, CountrySource};
use super::layout::{cc_str, find_range, AsInfo, RirInfo, Stored, NONE};
use super::read::{Database, Family, View};
use super::versions::{own_route, At, TIMELINE};
use crate::ip::IpPrefix;
use crate::key::{Key, Prefix};
use crate::poptrie::{unpack, MISS};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The routed prefix an address falls in, and its route (origin list) id.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub prefix: IpPrefix,
    pub route: u32,
}

/// Where an address was found: the little a lookup reads (its prefix, route and
/// primary origin), from which [`Database::record_found`] makes the whole
/// [`Record`] when it is asked for. Python's `Record` keeps this, so that a lookup
/// costs about what a bare table's does and the names and the country, which
/// take another trie walk and several reads, are made only for the records whose
/// fields are read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub address: IpAddr,
    /// The length of the prefix `address` is in (kept rather than the prefix, to
    /// keep a Python record small).
    pub prefix_len: u8,
    pub route: u32,
    pub asn: u32,
    /// The snapshot of the view that found it.
    pub snapshot: u32,
}

impl Found {
    pub fn prefix(&self) -> IpPrefix {
        IpPrefix::new(self.address, self.prefix_len, false).expect("a length the trie gave")
    }

    pub fn hit(&self) -> Hit {
        Hit {
            prefix: self.prefix(),
            route: self.route,
        }
    }
}

/// Everything the database says about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub address: IpAddr,
    pub prefix: IpPrefix,
    /// The origin ASes, the primary one first.
    pub origins: &'a [u32],
    pub asn: u32,
    pub as_name: Option<&'a str>,
    pub org_id: Option<&'a str>,
    pub org_name: Option<&'a str>,
    /// Codes are made once for all records (see [`country_text`]).
    pub country: Option<&'static str>,
    pub country_source: Option<CountrySource>,
    /// The RIR that delegated the address block, else the AS number, else the
    /// registry as2org took the organisation from.
    pub registry: Option<&'a str>,
}

/// What the database knows about one AS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsRecord<'a> {
    pub asn: u32,
    pub name: Option<&'a str>,
    pub org_id: Option<&'a str>,
    pub org_name: Option<&'a str>,
    pub org_country: Option<&'a str>,
    pub registry: Option<&'a str>,
    pub rir_country: Option<&'a str>,
    pub name_country: Option<&'a str>,
    /// The AS's own country: as a record's, without the address block's step.
    pub country: Option<&'a str>,
    pub country_source: Option<CountrySource>,
}

/// Addresses (summed per AS or country) and prefix counts, per family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub v4_prefixes: u64,
    pub v6_prefixes: u64,
    pub v4_addresses: u64,
    pub v6_addresses: u128,
}

impl<K: Stored> Family<'_, K> {
    /// Prefix `i` of the arrays and its route at `at`; `None` if that snapshot does
    /// not have it.
    #[inline]
    pub fn prefix(&self, i: usize, at: At<'_>) -> Option<(Prefix<K>, u32)> {
        let p = self.slot(i)?;
        let cell = *self.route.get(i)?;
        let route = match cell & TIMELINE {
            0 => cell,
            _ => own_route(at.entry(cell & !TIMELINE, MISS), p.prefix_len())?,
        };
        Some((p, route))
    }

    /// Prefix `i` of the arrays, whichever snapshots have it.
    fn slot(&self, i: usize) -> Option<Prefix<K>> {
        Prefix::new_masked(K::load(*self.addr.get(i)?), *self.len.get(i)?)
    }

    pub fn count(&self) -> usize {
        self.addr.len()
    }

    /// Index of the first prefix at or after `(addr, len)` in address order.
    fn lower_bound(&self, addr: K, len: u8) -> usize {
        let key = |i: usize| (K::load(self.addr[i]), self.len.get(i).copied().unwrap_or(0));
        let (mut lo, mut hi) = (0, self.count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key(mid) < (addr, len) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The position of exactly `p` in the arrays.
    fn position(&self, p: Prefix<K>) -> Option<usize> {
        let i = self.lower_bound(p.addr(), p.prefix_len());
        (self.slot(i)? == p).then_some(i)
    }

    fn exact(&self, p: Prefix<K>, at: At<'_>) -> Option<u32> {
        self.prefix(self.position(p)?, at).map(|(_, r)| r)
    }

    /// Prefixes containing `p` (itself included), shortest first.
    fn covering(&self, p: Prefix<K>, at: At<'_>) -> Vec<(Prefix<K>, u32)> {
        (0..=p.prefix_len())
            .filter_map(|l| {
                let q = Prefix::new_masked(p.addr(), l)?;
                self.exact(q, at).map(|r| (q, r))
            })
            .collect()
    }

    /// Positions of the prefixes inside `p` (itself included), in address order.
    fn inside(&self, p: Prefix<K>) -> std::ops::Range<usize> {
        let start = self.lower_bound(p.addr(), p.prefix_len());
        let n = (start..self.count())
            .take_while(|&i| self.slot(i).is_some_and(|q| p.contains(&q)))
            .count();
        start..start + n
    }

    /// Prefixes inside `p` (itself included), in address order.
    fn covered(&self, p: Prefix<K>, at: At<'_>) -> Vec<(Prefix<K>, u32)> {
        self.inside(p).filter_map(|i| self.prefix(i, at)).collect()
    }

    /// Each prefix's own addresses: those whose longest match it is (its size less
    /// the sizes of the largest prefixes inside it), from one pass in address order.
    fn own_sizes(&self, at: At<'_>) -> Vec<u128> {
        let size = |p: &Prefix<K>| {
            let bits = K::BITS - p.prefix_len();
            if bits == 128 {
                u128::MAX // ::/0 has 2^128 addresses; one fewer is close enough
            } else {
                1u128 << bits
            }
        };
        let mut own = Vec::with_capacity(self.count());
        let mut stack: Vec<(Prefix<K>, usize)> = Vec::new();
        for i in 0..self.count() {
            let Some((p, _)) = self.prefix(i, at) else {
                own.push(0);
                continue;
            };
            while stack.last().is_some_and(|(q, _)| !q.contains(&p)) {
                stack.pop();
            }
            if let Some(&(_, parent)) = stack.last() {
                // Wrapping: only a damaged file (unsorted prefixes) could go below zero.
                own[parent] = u128::wrapping_sub(own[parent], size(&p));
            }
            own.push(size(&p));
            stack.push((p, i));
        }
        own
    }
}

impl<'a> View<'a> {
    /// Number of routed prefixes (at this snapshot).
    pub fn len(&self) -> usize {
        match self.times.is_empty() {
            true => self.slots(),
            false => self.iter().count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of positions in [`View::nth`]'s order: every prefix of any snapshot.
    pub fn slots(&self) -> usize {
        self.v4.count() + self.v6.count()
    }

    /// The longest match of `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Option<Hit> {
        let (len, route) = match addr {
            IpAddr::V4(a) => unpack(self.v4.trie.lookup(u32::from(a), self.at))?,
            IpAddr::V6(a) => unpack(self.v6.trie.lookup(u128::from(a), self.at))?,
        };
        let prefix = IpPrefix::new(addr, len, false).ok()?;
        Some(Hit { prefix, route })
    }

    /// The origins of a route, the primary one first.
    pub fn origins(&self, route: u32) -> &'a [u32] {
        let r = route as usize;
        match (self.route_off.get(r), self.route_off.get(r + 1)) {
            (Some(&a), Some(&b)) => self.route_asn.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The primary origin of a route (0 for a route a damaged file does not hold).
    pub fn asn(&self, route: u32) -> u32 {
        self.origins(route).first().copied().unwrap_or(0)
    }

    /// The AS table index of `asn`.
    pub fn as_index(&self, asn: u32) -> Option<u32> {
        self.as_num.binary_search(&asn).ok().map(|i| i as u32)
    }

    /// The entry of the AS at `as_index` at snapshot `at` (the view's own but for
    /// a batch's rows, each at its own).
    #[inline]
    pub fn as_info_at(&self, as_index: u32, at: At<'_>) -> Option<&'a AsInfo> {
        let i = match self.as_cell.get(as_index as usize) {
            Some(&cell) => at.cell(cell),
            None if self.as_cell.is_empty() => as_index,
            None => NONE,
        };
        self.as_info.get(i as usize)
    }

    /// [`View::as_info_at`] at the view's snapshot.
    pub fn as_info(&self, as_index: u32) -> Option<&'a AsInfo> {
        self.as_info_at(as_index, self.at)
    }

    pub(super) fn rir(&self, i: u32) -> Option<&'a RirInfo> {
        self.rir_info.get(i as usize)
    }

    /// The RIR delegation of an AS number (ranges, searched).
    fn rir_of_asn(&self, asn: u32) -> Option<&'a RirInfo> {
        let (f, l, i) = (self.rir_asn_first, self.rir_asn_last, self.rir_asn_info);
        match find_range(f, l, i, asn) {
            Some(i) => self.rir(i),
            None => self.rir(unpack(self.rir_asn.lookup(asn, self.at))?.1),
        }
    }

    /// The RIR delegated block covering `addr`.
    pub fn rir_block(&self, addr: IpAddr) -> Option<&'a RirInfo> {
        let leaf = match addr {
            IpAddr::V4(a) => self.rir4.lookup(u32::from(a), self.at),
            IpAddr::V6(a) => self.rir6.lookup(u128::from(a), self.at),
        };
        self.rir(unpack(leaf)?.1)
    }

    /// What the database knows about `asn`, `None` if nothing.
    pub fn as_record(&self, asn: u32) -> Option<AsRecord<'a>> {
        let info = self.as_index(asn).and_then(|i| self.as_info(i));
        let rir = match info {
            Some(i) => self.rir(i.rir),
            None => self.rir_of_asn(asn),
        };
        if info.is_none() && rir.is_none() {
            return None;
        }
        let org = info.and_then(|i| self.org_info.get(i.org as usize));
        // An AS has no address: the chain without the address's steps.
        let country = self.order.first_known(
            || None,
            || org.map(|o| o.cc),
            || None,
            || rir.map(|r| r.cc),
            || info.map(|i| i.name_cc),
        );
        Some(AsRecord {
            asn,
            country: country.and_then(|(cc, _)| country_text(cc)),
            country_source: country.map(|(_, s)| s),
            name: info.and_then(|i| self.strings.get(i.name)),
            org_id: org.and_then(|o| self.strings.get(o.id)),
            org_name: org.and_then(|o| self.strings.get(o.name)),
            org_country: org.and_then(|o| cc_str(&o.cc)),
            registry: rir
                .and_then(|r| self.strings.get(r.registry))
                .or_else(|| org.and_then(|o| self.strings.get(o.source))),
            rir_country: rir.and_then(|r| cc_str(&r.cc)),
            name_country: info.and_then(|i| cc_str(&i.name_cc)),
        })
    }

    /// The country of an address in `block` (what its place says: RIR block, MMDB
    /// network) routed by the AS whose entry is `info`, from the sources in the
    /// file's [`super::CountryOrder`].
    #[inline]
    pub(super) fn country_with(
        &self,
        info: Option<&'a AsInfo>,
        block: Option<&'a RirInfo>,
    ) -> Option<([u8; 2], CountrySource)> {
        let org = || info.and_then(|i| self.org_info.get(i.org as usize));
        self.order.first_known(
            || block.map(|r| r.mmdb_cc),
            || org().map(|o| o.cc),
            || block.map(|r| r.cc),
            || info.and_then(|i| self.rir(i.rir)).map(|r| r.cc),
            || info.map(|i| i.name_cc),
        )
    }

    /// Where `addr` is found; `None` where [`View::record`] gives none.
    pub fn find(&self, addr: IpAddr) -> Option<Found> {
        let hit = self.lookup(addr)?;
        let asn = *self.origins(hit.route).first()?;
        Some(Found {
            address: addr,
            prefix_len: hit.prefix.prefix_len(),
            route: hit.route,
            asn,
            snapshot: self.at.snapshot,
        })
    }

    /// The full record of `addr`; `None` if no prefix covers it.
    pub fn record(&self, addr: IpAddr) -> Option<Record<'a>> {
        let hit = self.lookup(addr)?;
        self.describe(addr, hit)
    }

    /// The record of a routed prefix as a whole: as [`View::record`] gives it for
    /// the prefix's first address, but about this prefix even where a more specific
    /// one covers that address.
    pub fn prefix_record(&self, prefix: IpPrefix, route: u32) -> Option<Record<'a>> {
        self.describe(prefix.addr(), Hit { prefix, route })
    }

    fn describe(&self, addr: IpAddr, hit: Hit) -> Option<Record<'a>> {
        self.describe_in(addr, hit, self.rir_block(addr), self.at)
    }

    /// The AS entry of a route's primary origin at `at`. `routeas` holds the
    /// entry's cell: in a one-date file the AS's index, which is its entry's.
    #[inline]
    pub(super) fn route_info(&self, route: u32, at: At<'_>) -> Option<&'a AsInfo> {
        let cell = self.route_as.get(route as usize).copied().unwrap_or(NONE);
        self.as_info.get(at.cell(cell) as usize)
    }

    /// [`View::describe`] for an address whose RIR block is known (`block`), at
    /// snapshot `at`.
    pub(super) fn describe_in(
        &self,
        addr: IpAddr,
        hit: Hit,
        block: Option<&'a RirInfo>,
        at: At<'_>,
    ) -> Option<Record<'a>> {
        let origins = self.origins(hit.route);
        let asn = *origins.first()?;
        let info = self.route_info(hit.route, at);
        let org = info.and_then(|i| self.org_info.get(i.org as usize));
        let country = self.country_with(info, block);
        let registry = self.registry_with(block, info);
        Some(Record {
            address: addr,
            prefix: hit.prefix,
            origins,
            asn,
            as_name: info.and_then(|i| self.strings.get(i.name)),
            org_id: org.and_then(|o| self.strings.get(o.id)),
            org_name: org.and_then(|o| self.strings.get(o.name)),
            country: country.and_then(|(cc, _)| country_text(cc)),
            country_source: country.map(|(_, s)| s),
            registry,
        })
    }

    /// The registry of an address in RIR block `block` routed by the AS whose entry
    /// is `info`: the block's, else the AS number's, else as2org's for the AS.
    fn registry_with(
        &self,
        block: Option<&'a RirInfo>,
        info: Option<&'a AsInfo>,
    ) -> Option<&'a str> {
        let org = info.and_then(|i| self.org_info.get(i.org as usize));
        // A place that only an MMDB network covers has no registry.
        let block = block.filter(|b| b.registry != NONE);
        let rir = block.or_else(|| info.and_then(|i| self.rir(i.rir)));
        rir.and_then(|r| self.strings.get(r.registry))
            .or_else(|| org.and_then(|o| self.strings.get(o.source)))
    }

    /// The registry of `addr` routed by `route` (as [`Record::registry`]).
    pub fn registry(&self, addr: IpAddr, route: u32) -> Option<&'a str> {
        self.registry_with(self.rir_block(addr), self.route_info(route, self.at))
    }

    /// Every prefix with its route, IPv4 then IPv6, each in address order.
    pub fn iter(&self) -> impl Iterator<Item = (IpPrefix, u32)> + 'a {
        let (v4, v6, at) = (self.v4, self.v6, self.at);
        let a = (0..v4.count())
            .filter_map(move |i| v4.prefix(i, at))
            .map(|(p, r)| (IpPrefix::V4(p), r));
        let b = (0..v6.count())
            .filter_map(move |i| v6.prefix(i, at))
            .map(|(p, r)| (IpPrefix::V6(p), r));
        a.chain(b)
    }

    /// The prefix at position `i` of [`View::iter`]'s order over every snapshot's
    /// prefixes (up to [`View::slots`]); `None` where this snapshot has none.
    pub fn nth(&self, i: usize) -> Option<(IpPrefix, u32)> {
        match i.checked_sub(self.v4.count()) {
            None => self
                .v4
                .prefix(i, self.at)
                .map(|(p, r)| (IpPrefix::V4(p), r)),
            Some(j) => self
                .v6
                .prefix(j, self.at)
                .map(|(p, r)| (IpPrefix::V6(p), r)),
        }
    }

    /// The route of exactly `prefix`.
    pub fn exact(&self, prefix: &IpPrefix) -> Option<u32> {
        match prefix {
            IpPrefix::V4(p) => self.v4.exact(*p, self.at),
            IpPrefix::V6(p) => self.v6.exact(*p, self.at),
        }
    }

    /// Routed prefixes containing `prefix` (itself included), shortest first.
    pub fn covering(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, u32)> {
        match prefix {
            IpPrefix::V4(p) => wrap(self.v4.covering(*p, self.at), IpPrefix::V4),
            IpPrefix::V6(p) => wrap(self.v6.covering(*p, self.at), IpPrefix::V6),
        }
    }

    /// Routed prefixes inside `prefix` (itself included), in address order.
    pub fn covered(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, u32)> {
        match prefix {
            IpPrefix::V4(p) => wrap(self.v4.covered(*p, self.at), IpPrefix::V4),
            IpPrefix::V6(p) => wrap(self.v6.covered(*p, self.at), IpPrefix::V6),
        }
    }

    /// The prefixes `asn` originates (as any of a prefix's origins), in order.
    pub fn prefixes_of(&self, asn: u32) -> Vec<IpPrefix> {
        let routes: Vec<bool> = (0..self.route_as.len() as u32)
            .map(|r| self.origins(r).contains(&asn))
            .collect();
        let has = |r: u32| routes.get(r as usize).copied().unwrap_or(false);
        self.iter()
            .filter(|(_, r)| has(*r))
            .map(|(p, _)| p)
            .collect()
    }

    /// Per origin AS: prefixes and the addresses whose longest match it originates.
    /// A prefix with several origins counts for each of them.
    pub fn as_tally(&self) -> BTreeMap<u32, Tally> {
        let mut out: BTreeMap<u32, Tally> = BTreeMap::new();
        for (i, own) in self.v4.own_sizes(self.at).into_iter().enumerate() {
            let Some((_, route)) = self.v4.prefix(i, self.at) else {
                continue;
            };
            for &asn in self.origins(route) {
                let t = out.entry(asn).or_default();
                t.v4_prefixes += 1;
                t.v4_addresses = t.v4_addresses.saturating_add(own as u64);
            }
        }
        for (i, own) in self.v6.own_sizes(self.at).into_iter().enumerate() {
            let Some((_, route)) = self.v6.prefix(i, self.at) else {
                continue;
            };
            for &asn in self.origins(route) {
                let t = out.entry(asn).or_default();
                t.v6_prefixes += 1;
                t.v6_addresses = t.v6_addresses.saturating_add(own);
            }
        }
        out
    }

    /// Per country (as a record gives it for each prefix's first address,
    /// with the primary origin): prefixes, addresses, and the number of origin ASes.
    /// Addresses in no country are under `None`.
    pub fn country_tally(&self) -> BTreeMap<Option<[u8; 2]>, (Tally, u64)> {
        let mut out: BTreeMap<Option<[u8; 2]>, (Tally, std::collections::BTreeSet<u32>)> =
            BTreeMap::new();
        let mut add = |addr: IpAddr, route: u32, v4: bool, own: u128| {
            let info = self.route_info(route, self.at);
            let cc = self
                .country_with(info, self.rir_block(addr))
                .map(|(cc, _)| cc);
            let (t, ases) = out.entry(cc).or_default();
            if v4 {
                t.v4_prefixes += 1;
                t.v4_addresses = t.v4_addresses.saturating_add(own as u64);
            } else {
                t.v6_prefixes += 1;
                t.v6_addresses = t.v6_addresses.saturating_add(own);
            }
            ases.extend(self.origins(route).first());
        };
        for (i, own) in self.v4.own_sizes(self.at).into_iter().enumerate() {
            if let Some((p, r)) = self.v4.prefix(i, self.at) {
                add(IpAddr::V4(p.addr().into()), r, true, own);
            }
        }
        for (i, own) in self.v6.own_sizes(self.at).into_iter().enumerate() {
            if let Some((p, r)) = self.v6.prefix(i, self.at) {
                add(IpAddr::V6(p.addr().into()), r, false, own);
            }
        }
        out.into_iter()
            .map(|(k, (t, ases))| (k, (t, ases.len() as u64)))
            .collect()
    }
}

impl Database {
    /// The record of what [`View::find`] found in this file: the one
    /// [`View::record`] gives for the same address at the same snapshot.
    pub fn record_found(&self, f: &Found) -> Option<Record<'_>> {
        self.view_at(f.snapshot).describe(f.address, f.hit())
    }

    /// The country and its source in [`Database::record_found`]'s record, without
    /// the rest of it (no names to copy, and where a batch has made the routes'
    /// facts, mostly no RIR block to look up).
    pub fn country_found(&self, f: &Found) -> (Option<&'static str>, Option<CountrySource>) {
        match self.view_at(f.snapshot).country_found(f) {
            Some((cc, source)) => (country_text(cc), Some(source)),
            None => (None, None),
        }
    }
}

fn wrap<K: Key>(v: Vec<(Prefix<K>, u32)>, f: fn(Prefix<K>) -> IpPrefix) -> Vec<(IpPrefix, u32)> {
    v.into_iter().map(|(p, r)| (f(p), r)).collect()
}
