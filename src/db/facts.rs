//! What a batch can answer from an address's route alone: its primary origin, and
//! its country wherever the country sources tried before the address's place (its
//! RIR block or MMDB network) decide it. With CAIDA's as2org, whose organisation
//! country comes before the block in the default order, that is nearly every
//! route, so most rows of a batch need neither the second trie walk (the RIR
//! blocks) nor the AS, organisation and RIR entries: one read of a small array
//! instead. The facts are made once per opened file, on the first batch large
//! enough to be worth it (or once single answers have asked for them as often),
//! for the newest snapshot, the one batches ask at unless given times.

use super::answers::{Answer, Snapshots, BLOCK};
use super::country::CountrySource;
use super::layout::NONE;
use super::query::Found;
use super::read::View;
use super::versions::VTrie;
use crate::key::Key;
use crate::poptrie::{prefetch, unpack, MISS};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A route's answer before the address's place is known.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteFacts {
    pub asn: u32,
    /// Zero bytes for none.
    pub country: [u8; 2],
    /// As [`Answer::country_source`].
    pub source: u8,
    /// The country depends on the address's place: `country` and `source` are
    /// not the answer, the full chain is.
    pub place: bool,
}

/// A route whose facts are not known (a damaged file's route id): the full
/// chain answers it.
const UNKNOWN: RouteFacts = RouteFacts {
    asn: 0,
    country: [0; 2],
    source: 0,
    place: true,
};

/// The facts of an opened file's routes, made once, and how many single answers
/// have asked for them so far.
#[derive(Default)]
pub struct FactsCell {
    made: OnceLock<Vec<RouteFacts>>,
    asked: AtomicUsize,
}

impl<'a> View<'a> {
    /// The facts of every route, for a batch of `n` rows at `snaps`: when this
    /// view reads the file's newest snapshot for every row, and the batch has at
    /// least a quarter as many rows as the file has routes (or they are made).
    pub(super) fn route_facts(&self, n: usize, snaps: Snapshots) -> Option<&'a [RouteFacts]> {
        let cell = self.facts?;
        let worth = cell.made.get().is_some() || n >= self.route_as.len() / 4;
        let usable = matches!(snaps, Snapshots::Own) && self.newest();
        (usable && worth).then(|| cell.made.get_or_init(|| self.make_facts()).as_slice())
    }

    /// Whether this view reads the file's newest snapshot, the one facts are of.
    fn newest(&self) -> bool {
        self.at.snapshot == self.times.len().saturating_sub(1) as u32
    }

    /// The facts for single answers: made once single answers have asked as many
    /// times as a quarter of the routes (as the batch rule, a row at a time), so
    /// that a loop of lookups gets them too.
    fn facts_for_one(&self) -> Option<&'a [RouteFacts]> {
        let cell = self.facts.filter(|_| self.newest())?;
        if let Some(made) = cell.made.get() {
            return Some(made);
        }
        let asked = cell.asked.fetch_add(1, Ordering::Relaxed) + 1;
        (asked >= self.route_as.len() / 4)
            .then(|| cell.made.get_or_init(|| self.make_facts()).as_slice())
    }

    /// The country of what [`View::find`] found (as its record gives it): from the
    /// route's facts where they decide it (see [`View::facts_for_one`]), else from
    /// the whole chain, with the address's RIR block.
    pub fn country_found(&self, f: &Found) -> Option<([u8; 2], CountrySource)> {
        match self
            .facts_for_one()
            .and_then(|all| all.get(f.route as usize))
        {
            Some(r) if !r.place => {
                let source = CountrySource::ALL.get(usize::from(r.source).wrapping_sub(1));
                source.map(|&s| (r.country, s))
            }
            _ => {
                let info = self.route_info(f.route, self.at);
                self.country_with(info, self.rir_block(f.address))
            }
        }
    }

    fn make_facts(&self) -> Vec<RouteFacts> {
        (0..self.route_as.len() as u32)
            .map(|r| self.facts_of(r))
            .collect()
    }

    /// The facts of `route`: the chain of [`View::country_with`] with the place's
    /// steps asked of nothing; if one of them is reached, the place decides.
    fn facts_of(&self, route: u32) -> RouteFacts {
        let info = self.route_info(route, self.at);
        let asked = Cell::new(false);
        let place = || {
            asked.set(true);
            None
        };
        let org = || {
            info.and_then(|i| self.org_info.get(i.org as usize))
                .map(|o| o.cc)
        };
        let rir_asn = || info.and_then(|i| self.rir(i.rir)).map(|r| r.cc);
        let found = self
            .order
            .first_known(place, org, place, rir_asn, || info.map(|i| i.name_cc));
        let (country, source) = found.map_or(([0; 2], 0), |(cc, s)| (cc, s as u8));
        RouteFacts {
            asn: self.asn(route),
            country,
            source,
            place: asked.get(),
        }
    }

    /// Answers for `keys`, all at the view's snapshot, from the routes' `facts`:
    /// a block at a time, the route trie walked for every row and the RIR trie
    /// only for the rows whose country their place decides. `block` is [`NONE`]
    /// where it was not looked up.
    pub(super) fn answers_by_route<K: Key>(
        &self,
        (routes_trie, rir_trie): (VTrie<'a, K>, VTrie<'a, K>),
        keys: &[K],
        facts: &[RouteFacts],
        out: &mut [Answer],
    ) {
        let (mut leaves, mut blocks) = ([0u32; BLOCK], [0u32; BLOCK]);
        let (mut wanted, mut rows) = (Vec::with_capacity(BLOCK), Vec::with_capacity(BLOCK));
        let at = self.at;
        for (k, o) in keys.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            let leaves = &mut leaves[..k.len()];
            routes_trie.trie.lookup_many(k, leaves);
            wanted.clear();
            rows.clear();
            // The facts of the whole block are asked for before any is read, so
            // that their lines (a random route each) come in together.
            for leaf in leaves.iter_mut() {
                *leaf = routes_trie.resolve(*leaf, at);
                if let Some((_, route)) = unpack(*leaf) {
                    prefetch(facts.as_ptr().wrapping_add(route as usize));
                }
            }
            for (i, (&leaf, o)) in leaves.iter().zip(o.iter_mut()).enumerate() {
                let Some((len, route)) = unpack(leaf) else {
                    *o = self.answer(leaf, MISS, at);
                    continue;
                };
                let f = facts.get(route as usize).unwrap_or(&UNKNOWN);
                *o = Answer {
                    route,
                    asn: f.asn,
                    block: NONE,
                    prefix_len: len,
                    country: f.country,
                    country_source: f.source,
                    snapshot: at.snapshot,
                };
                if f.place {
                    wanted.push(k[i]);
                    rows.push(i);
                }
            }
            let blocks = &mut blocks[..wanted.len()];
            rir_trie.trie.lookup_many(&wanted, blocks);
            for (&i, &block) in rows.iter().zip(&*blocks) {
                o[i] = self.answer(leaves[i], rir_trie.resolve(block, at), at);
            }
        }
    }
}
