//! A batch's answers as columns, filled in place on every core: what
//! `Database.lookup_batch` returns as numpy arrays, and the per-row details (prefix
//! and names) for the text columns.

use super::answers::Snapshots;
use super::country::CountrySource;
use super::layout::NONE;
use super::read::View;
use crate::alloc::{self, OutOfMemory};
use crate::batch::{for_chunks, Keys};
use crate::ip::IpPrefix;

/// `country_source` as the batch column spells it, by [`Answer::country_source`]
/// code (0 for none, else the [`CountrySource`] as `u8`), in ten bytes.
pub const SOURCE_CODES: [[u8; 10]; 6] = {
    const fn code(name: &str) -> [u8; 10] {
        let mut out = [0u8; 10];
        let b = name.as_bytes();
        let mut i = 0;
        while i < b.len() {
            out[i] = b[i];
            i += 1;
        }
        out
    }
    let all = CountrySource::ALL;
    [
        code(""),
        code(all[0].name()),
        code(all[1].name()),
        code(all[2].name()),
        code(all[3].name()),
        code(all[4].name()),
    ]
};

/// The answers of a batch, one row per address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    pub found: Vec<bool>,
    pub asn: Vec<u32>,
    pub prefix_len: Vec<u8>,
    /// Two ASCII capitals, zero bytes for none.
    pub country: Vec<[u8; 2]>,
    /// One of [`SOURCE_CODES`].
    pub country_source: Vec<[u8; 10]>,
    /// The route (origin list) of each row, [`NONE`] for a miss: what
    /// [`View::detail`] needs. Empty unless the batch was asked to keep its rows'.
    pub route: Vec<u32>,
    /// The snapshot that answered each row ([`NONE`]: a time before the first);
    /// empty as `route`.
    pub snapshot: Vec<u32>,
}

/// What the text columns show for one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail<'a> {
    pub prefix: IpPrefix,
    /// The route and the snapshot, the key under which [`View::names`] can be
    /// shared between rows.
    pub route: u32,
    pub snapshot: u32,
    pub registry: Option<&'a str>,
}

impl Columns {
    /// Columns for `n` rows, with or without their `rows`' routes and snapshots.
    fn new(n: usize, rows: bool) -> Result<Self, OutOfMemory> {
        let kept = if rows { n } else { 0 };
        Ok(Columns {
            found: alloc::zeroed(n)?,
            asn: alloc::zeroed(n)?,
            prefix_len: alloc::zeroed(n)?,
            country: alloc::zeroed(n)?,
            country_source: alloc::zeroed(n)?,
            route: alloc::zeroed(kept)?,
            snapshot: alloc::zeroed(kept)?,
        })
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Rows without an address (`valid[i]` false: a null or malformed input) made
    /// misses.
    pub fn mask(&mut self, valid: &[bool]) {
        for (i, _) in valid.iter().enumerate().filter(|(_, &v)| !v) {
            self.found[i] = false;
            self.asn[i] = 0;
            self.prefix_len[i] = 0;
            self.country[i] = [0; 2];
            self.country_source[i] = SOURCE_CODES[0];
            if let Some(r) = self.route.get_mut(i) {
                *r = NONE;
            }
        }
    }
}

impl<'a> View<'a> {
    /// The answers for every address of `keys`; large batches on every core.
    pub fn columns(&self, keys: Keys) -> Result<Columns, OutOfMemory> {
        self.columns_at(keys, Snapshots::Own)
    }

    /// [`View::columns`] with each address at its snapshot.
    pub fn columns_at(&self, keys: Keys, snaps: Snapshots) -> Result<Columns, OutOfMemory> {
        self.columns_in(keys, snaps, true)
    }

    /// [`View::columns_at`] without the rows' routes and snapshots (a third of
    /// the bytes a batch writes), for a batch that needs neither the text columns
    /// nor the snapshot that answered.
    pub fn bare_columns_at(&self, keys: Keys, snaps: Snapshots) -> Result<Columns, OutOfMemory> {
        self.columns_in(keys, snaps, false)
    }

    fn columns_in(&self, keys: Keys, snaps: Snapshots, rows: bool) -> Result<Columns, OutOfMemory> {
        match self.resolved(keys.len(), snaps) {
            Some(r) => self.with_resolved(&r).fill_columns(keys, snaps, rows),
            None => self.fill_columns(keys, snaps, rows),
        }
    }

    fn fill_columns(
        &self,
        keys: Keys,
        snaps: Snapshots,
        rows: bool,
    ) -> Result<Columns, OutOfMemory> {
        let mut c = Columns::new(keys.len(), rows)?;
        let (found, asn, len) = (&mut c.found[..], &mut c.asn[..], &mut c.prefix_len[..]);
        let (cc, source) = (&mut c.country[..], &mut c.country_source[..]);
        match rows {
            true => {
                let parts = (
                    found,
                    asn,
                    len,
                    cc,
                    source,
                    &mut c.route[..],
                    &mut c.snapshot[..],
                );
                for_chunks(
                    parts,
                    |start, (found, asn, len, cc, source, route, snap)| {
                        let part = (found, asn, len, cc, source);
                        self.fill_part(keys, snaps, start, part, Some((route, snap)))
                    },
                )
            }
            false => for_chunks((found, asn, len, cc, source), |start, part| {
                self.fill_part(keys, snaps, start, part, None)
            }),
        }
        Ok(c)
    }

    /// The rows from `start` of the columns, `part`, and where kept, their routes
    /// and snapshots.
    #[allow(clippy::type_complexity)]
    fn fill_part(
        &self,
        keys: Keys,
        snaps: Snapshots,
        start: usize,
        (found, asn, len, cc, source): (
            &mut [bool],
            &mut [u32],
            &mut [u8],
            &mut [[u8; 2]],
            &mut [[u8; 10]],
        ),
        mut rows: Option<(&mut [u32], &mut [u32])>,
    ) {
        let range = start..start + found.len();
        let (keys, snaps) = (keys.slice(range.clone()), snaps.slice(range));
        self.column_answers(keys, snaps, |lo, answers| {
            let r = lo..lo + answers.len();
            let cols = found[r.clone()].iter_mut().zip(&mut asn[r.clone()]);
            let cols = cols.zip(&mut len[r.clone()]).zip(&mut cc[r.clone()]);
            for ((((found, asn), len), cc), (source, a)) in
                cols.zip(source[r.clone()].iter_mut().zip(answers))
            {
                *found = a.route != NONE;
                *asn = a.asn;
                *len = a.prefix_len;
                *cc = a.country;
                *source = SOURCE_CODES[a.country_source as usize];
            }
            if let Some((route, snap)) = rows.as_mut() {
                for ((route, snap), a) in route[r.clone()].iter_mut().zip(&mut snap[r]).zip(answers)
                {
                    (*route, *snap) = (a.route, a.snapshot);
                }
            }
        });
    }

    /// The details of row `i` of `columns` for address `addr`; `None` for a miss.
    pub fn detail(
        &self,
        columns: &Columns,
        i: usize,
        addr: std::net::IpAddr,
    ) -> Option<Detail<'a>> {
        let route = *columns.route.get(i)?;
        let prefix = IpPrefix::new(addr, columns.prefix_len[i], false).ok();
        let prefix = prefix.filter(|_| route != NONE)?;
        let snapshot = columns.snapshot[i];
        Some(Detail {
            prefix,
            route,
            snapshot,
            registry: self.at_snapshot(snapshot).registry(addr, route),
        })
    }

    /// The AS name, organisation id and organisation name of a row's route: the
    /// same for every address the route answers at one snapshot.
    pub fn names(&self, detail: &Detail<'_>) -> [Option<&'a str>; 3] {
        let v = self.at_snapshot(detail.snapshot);
        match v.prefix_record(detail.prefix, detail.route) {
            Some(r) => [r.as_name, r.org_id, r.org_name],
            None => [None; 3],
        }
    }
}
