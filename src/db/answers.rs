//! A batch's lookups: each address's route, prefix length, primary origin, country
//! and RIR block, answered a block of addresses at a time, with the two tries
//! (routes and RIR blocks) walked interleaved.

use super::layout::NONE;
use super::query::{Hit, Record};
use super::read::View;
use crate::batch::{v6_keys, Keys};
use crate::ip::IpPrefix;
use crate::key::Key;
use crate::poptrie::{unpack, PoptrieRef};
use std::net::IpAddr;

/// Addresses a batch answers at a time: small enough for the leaves and answers to
/// stay in the first-level cache.
const BLOCK: usize = 1024;

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
    /// 0 for none, else the [`super::CountrySource`] as `u8` (1 to 4, in their order).
    pub country_source: u8,
}

impl<'a> View<'a> {
    /// The answer for one address from its leaves in the two tries.
    fn answer(&self, leaf: u32, block_leaf: u32) -> Answer {
        let block = unpack(block_leaf).map_or(NONE, |(_, i)| i);
        let Some((len, route)) = unpack(leaf) else {
            return Answer {
                route: NONE,
                block,
                ..Answer::default()
            };
        };
        let as_index = self.route_as.get(route as usize).copied().unwrap_or(NONE);
        let (country, source) = match self.country_with(as_index, || self.rir(block)) {
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
        self.describe_in(addr, hit, self.rir(a.block))
    }

    /// Answers for IPv4 addresses given as integers.
    pub fn lookup_v4_many(&self, addrs: &[u32], out: &mut [Answer]) {
        self.lookup_keys(self.v4.trie, self.rir4, addrs, out)
    }

    /// [`View::lookup_v4_many`] for IPv6 addresses.
    pub fn lookup_v6_many(&self, addrs: &[u128], out: &mut [Answer]) {
        self.lookup_keys(self.v6.trie, self.rir6, addrs, out)
    }

    /// `emit(i, answer)` for the `i`-th address of a batch, in order, answered a
    /// block at a time into a buffer that stays in the first-level cache.
    pub fn answers(&self, keys: Keys, mut emit: impl FnMut(usize, &Answer)) {
        let mut buf = [Answer::default(); BLOCK];
        let mut keys6 = Vec::with_capacity(BLOCK);
        for lo in (0..keys.len()).step_by(BLOCK) {
            let part = keys.slice(lo..keys.len().min(lo + BLOCK));
            let out = &mut buf[..part.len()];
            match part {
                Keys::V4(addrs) => self.lookup_v4_many(addrs, out),
                Keys::V6(rows) => {
                    v6_keys(rows, &mut keys6);
                    self.lookup_v6_many(&keys6, out)
                }
                Keys::Mixed(addrs) => self.lookup_many(addrs, out),
            }
            for (i, a) in out.iter().enumerate() {
                emit(lo + i, a);
            }
        }
    }

    /// Arrays of one family walk both tries (routes and RIR blocks) for a block of
    /// addresses at a time with interleaved lookups, which is much faster than
    /// walking the RIR trie address by address when it is needed.
    fn lookup_keys<K: Key>(
        &self,
        routes_trie: PoptrieRef<'a, K>,
        rir_trie: PoptrieRef<'a, K>,
        keys: &[K],
        out: &mut [Answer],
    ) {
        let (mut routes, mut blocks) = ([0u32; BLOCK], [0u32; BLOCK]);
        for (k, o) in keys.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            let (routes, blocks) = (&mut routes[..k.len()], &mut blocks[..k.len()]);
            routes_trie.lookup_many(k, routes);
            rir_trie.lookup_many(k, blocks);
            for ((o, &leaf), &block) in o.iter_mut().zip(&*routes).zip(&*blocks) {
                *o = self.answer(leaf, block);
            }
        }
    }

    /// Answers for addresses of either family (parsed text, mostly): each family's
    /// addresses of a block are gathered and answered as arrays (interleaved, as
    /// [`View::lookup_v4_many`]), then put back in order.
    pub fn lookup_many(&self, addrs: &[IpAddr], out: &mut [Answer]) {
        let (mut v4, mut v6) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        let (mut at4, mut at6) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        let mut buf = [Answer::default(); BLOCK];
        for (part, o) in addrs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            v4.clear();
            v6.clear();
            at4.clear();
            at6.clear();
            for (i, a) in part.iter().enumerate() {
                match a {
                    IpAddr::V4(a) => (v4.push(u32::from(*a)), at4.push(i)),
                    IpAddr::V6(a) => (v6.push(u128::from(*a)), at6.push(i)),
                };
            }
            self.lookup_v4_many(&v4, &mut buf[..v4.len()]);
            for (a, &i) in buf.iter().zip(&at4) {
                o[i] = *a;
            }
            self.lookup_v6_many(&v6, &mut buf[..v6.len()]);
            for (a, &i) in buf.iter().zip(&at6) {
                o[i] = *a;
            }
        }
    }
}
