//! What every snapshot of a history shares: one list each of strings, routes
//! (origin lists), organisations, registries and AS entries, each value once, and
//! the mapping of one input's ids into them.

use crate::db::layout::{AsInfo, OrgInfo, RirInfo, NONE};
use crate::db::pool::Pool;
use crate::db::read::View;
use crate::db::strings::StringsBuilder;

#[derive(Default)]
pub struct Pools {
    pub strings: StringsBuilder,
    pub routes: Pool<Vec<u32>>,
    pub orgs: Pool<OrgInfo>,
    pub rirs: Pool<RirInfo>,
    pub ases: Pool<AsInfo>,
}

/// One input view's ids mapped to the pools' as they are met ([`NONE`] maps to
/// itself; an id the view does not hold, only in a damaged file, to [`NONE`]).
pub struct Remap<'v, 'a> {
    view: &'v View<'a>,
    strings: Vec<u32>,
    routes: Vec<u32>,
    orgs: Vec<u32>,
    rirs: Vec<u32>,
}

/// Not yet mapped.
const UNSEEN: u32 = NONE - 1;

impl<'v, 'a> Remap<'v, 'a> {
    pub fn new(view: &'v View<'a>) -> Self {
        Remap {
            view,
            strings: vec![UNSEEN; view.strings.len()],
            routes: vec![UNSEEN; view.route_as.len()],
            orgs: vec![UNSEEN; view.org_info.len()],
            rirs: vec![UNSEEN; view.rir_info.len()],
        }
    }

    pub fn string(&mut self, pools: &mut Pools, id: u32) -> u32 {
        let view = self.view;
        cached(&mut self.strings, id, || {
            view.strings
                .get(id)
                .map_or(NONE, |s| pools.strings.id(Some(s)))
        })
    }

    pub fn route(&mut self, pools: &mut Pools, route: u32) -> u32 {
        let origins = self.view.origins(route);
        cached(&mut self.routes, route, || match origins {
            [] => NONE,
            o => pools.routes.id(o.to_vec()),
        })
    }

    pub fn rir(&mut self, pools: &mut Pools, i: u32) -> u32 {
        let Some(&r) = self.view.rir_info.get(i as usize) else {
            return NONE;
        };
        let registry = self.string(pools, r.registry);
        cached(&mut self.rirs, i, || {
            pools.rirs.id(RirInfo { registry, ..r })
        })
    }

    fn org(&mut self, pools: &mut Pools, i: u32) -> u32 {
        let Some(&o) = self.view.org_info.get(i as usize) else {
            return NONE;
        };
        if let Some(&done) = self.orgs.get(i as usize).filter(|&&v| v != UNSEEN) {
            return done;
        }
        let org = OrgInfo {
            id: self.string(pools, o.id),
            name: self.string(pools, o.name),
            source: self.string(pools, o.source),
            ..o
        };
        cached(&mut self.orgs, i, || pools.orgs.id(org))
    }

    /// The pool id of an AS entry of the view.
    pub fn as_info(&mut self, pools: &mut Pools, info: &AsInfo) -> u32 {
        let entry = AsInfo {
            name: self.string(pools, info.name),
            org: self.org(pools, info.org),
            rir: self.rir(pools, info.rir),
            ..*info
        };
        pools.ases.id(entry)
    }
}

/// `table[id]`, made by `make` the first time.
fn cached(table: &mut [u32], id: u32, make: impl FnOnce() -> u32) -> u32 {
    match table.get_mut(id as usize) {
        Some(v) if *v != UNSEEN => *v,
        Some(v) => {
            *v = make();
            *v
        }
        None => NONE,
    }
}
