//! A history's sections: the one-date layout over every snapshot's values, with
//! cells, timelines and versioned tries where values change (see
//! [`crate::db::layout`]).

use super::changes::{layout, Lpm};
use super::HistoryBuilder;
use crate::db::build::Sections;
use crate::db::country::CountryOrder;
use crate::db::file::{Writer, HISTORY_VERSION};
use crate::db::layout::{FamilySections, Section, Stored, NONE, V4_SECTIONS, V6_SECTIONS};
use crate::db::provenance::{build_time, Metadata};
use crate::key::{Key, Prefix};
use crate::poptrie::{default_direct_bits, Poptrie};
use bytemuck::cast_slice;
use std::collections::BTreeMap;

/// The one order of country sources every snapshot was built with: a history
/// answers each snapshot in the order of its newest.
fn one_country_order(metas: &[Metadata]) -> Result<(), String> {
    let orders = metas
        .iter()
        .map(|m| CountryOrder::of_options(&m.options))
        .collect::<Result<Vec<_>, _>>()?;
    match orders.iter().position(|o| *o != orders[0]) {
        None => Ok(()),
        Some(i) => Err(format!(
            "the snapshots of {} and {} were built with different country orders \
             ({} and {}): build them with the same order",
            metas[0].built, metas[i].built, orders[0], orders[i]
        )),
    }
}

impl HistoryBuilder {
    /// The sections of the file, and the metadata they include.
    pub fn to_writer(self) -> Result<(Writer, Metadata), String> {
        let newest = self
            .metas
            .last()
            .ok_or("no snapshots: a history needs at least one")?;
        one_country_order(&self.metas)?;
        let mut w = Sections::default();
        let mut timeline = Vec::new();
        let routes = self.pools.routes.items.len() as u32;
        let rirs = self.pools.rirs.items.len() as u32;
        let v4 = layout(&self.v4, routes, &mut timeline)?;
        let v6 = layout(&self.v6, routes, &mut timeline)?;
        family(&mut w, &V4_SECTIONS, &v4)?;
        family(&mut w, &V6_SECTIONS, &v6)?;
        trie(
            &mut w,
            Section::Rir4Trie,
            Section::Rir4Churn,
            &layout(&self.rir4, rirs, &mut timeline)?,
        )?;
        trie(
            &mut w,
            Section::Rir6Trie,
            Section::Rir6Churn,
            &layout(&self.rir6, rirs, &mut timeline)?,
        )?;
        let asn = layout(&self.rir_asn, rirs, &mut timeline)?;
        // AS numbers fill a small corner of the 32-bit space: a direct level of 2^18
        // entries (1 MiB, as IPv4 addresses take) would be nearly all misses.
        trie_with(&mut w, Section::AsnTrie, Section::AsnChurn, &asn, 8)?;
        for s in [
            Section::RirAsnFirst,
            Section::RirAsnLast,
            Section::RirAsnInfo,
        ] {
            w.add(s, Vec::new());
        }
        let ases = &self.ases;
        let as_cells = ases.cells(&mut timeline);
        w.add(Section::AsCell, cast_slice(&as_cells).to_vec());
        let as_num = &ases.keys;
        w.add(Section::AsNum, cast_slice(as_num).to_vec());
        w.add(Section::AsInfo, cast_slice(&self.pools.ases.items).to_vec());
        w.add(
            Section::OrgInfo,
            cast_slice(&self.pools.orgs.items).to_vec(),
        );
        w.add(
            Section::RirInfo,
            cast_slice(&self.pools.rirs.items).to_vec(),
        );
        let (mut off, mut asns, mut route_as) = (vec![0u32], Vec::new(), Vec::new());
        for r in &self.pools.routes.items {
            asns.extend_from_slice(r);
            off.push(asns.len() as u32);
            // The cell itself rather than the AS's index, so that a lookup goes from
            // the route to its AS entry without the AS table's cells in between.
            let cell = as_num.binary_search(&r[0]).ok().map(|i| as_cells[i]);
            route_as.push(cell.unwrap_or(NONE));
        }
        w.add(Section::RouteOff, cast_slice(&off).to_vec());
        w.add(Section::RouteAsn, cast_slice(&asns).to_vec());
        w.add(Section::RouteAs, cast_slice(&route_as).to_vec());
        let (off, data) = self.pools.strings.into_sections();
        w.add(Section::StrOff, cast_slice(&off).to_vec());
        w.add(Section::StrData, data);
        w.add(Section::SnapTime, cast_slice(&self.times).to_vec());
        w.add(Section::Timeline, cast_slice(&timeline).to_vec());
        let counts = [
            ("snapshots", self.times.len()),
            ("ipv4_prefixes", v4.prefixes.len()),
            ("ipv6_prefixes", v6.prefixes.len()),
            ("changing_prefixes", v4.churn.len() + v6.churn.len()),
            ("routes", routes as usize),
            ("ases", as_num.len()),
            ("as_entries", self.pools.ases.items.len()),
            ("orgs", self.pools.orgs.items.len()),
            ("timeline_words", timeline.len()),
        ];
        let meta = Metadata {
            format_version: HISTORY_VERSION,
            geoip_rs_version: env!("CARGO_PKG_VERSION").into(),
            built: build_time(),
            sources: newest.sources.clone(),
            options: newest.options.clone(),
            counts: counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v as u64))
                .collect::<BTreeMap<_, _>>(),
            snapshots: self.metas,
        };
        w.add(
            Section::Meta,
            serde_json::to_vec(&meta).map_err(|e| e.to_string())?,
        );
        let all: Vec<Section> = Section::ALL
            .iter()
            .chain(&Section::HISTORY)
            .copied()
            .collect();
        Ok((w.into_writer_of(&all, HISTORY_VERSION)?, meta))
    }
}

/// A routed family: its trie, and every snapshot's prefixes with their cells.
fn family<K: Stored>(w: &mut Sections, s: &FamilySections, l: &Lpm<K>) -> Result<(), String> {
    trie(w, s.trie, s.churn, l)?;
    let addr: Vec<K::Raw> = l.prefixes.iter().map(|p| p.addr().store()).collect();
    let len: Vec<u8> = l.prefixes.iter().map(Prefix::prefix_len).collect();
    w.add(s.addr, cast_slice(&addr).to_vec());
    w.add(s.len, len);
    w.add(s.route, cast_slice(&l.cells).to_vec());
    Ok(())
}

fn trie<K: Key>(w: &mut Sections, trie: Section, churn: Section, l: &Lpm<K>) -> Result<(), String> {
    trie_with(w, trie, churn, l, default_direct_bits::<K>())
}

fn trie_with<K: Key>(
    w: &mut Sections,
    trie: Section,
    churn: Section,
    l: &Lpm<K>,
    direct_bits: u8,
) -> Result<(), String> {
    let t = Poptrie::build(&l.items, direct_bits).map_err(|e| format!("{}: {e}", trie.name()))?;
    w.add(trie, t.to_bytes());
    w.add(churn, cast_slice(&l.churn).to_vec());
    Ok(())
}
