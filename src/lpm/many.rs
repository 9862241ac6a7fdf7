//! Batches of lookups on an [`LpmTable`]: many addresses per call, large batches on
//! every core.

use super::{Compiled, LpmTable, SlotValue, COMPILE_FOR_BATCH};
use crate::alloc::{self, OutOfMemory};
use crate::batch::{for_chunks, v6_keys, Keys};
use crate::poptrie::{split, unpack};
use std::sync::atomic::{AtomicBool, Ordering};

/// The answers of a batch on a table of integers: values (`missing` for a miss),
/// prefix lengths (-1 for a miss) and found flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntAnswers {
    pub values: Vec<i64>,
    pub lens: Vec<i16>,
    pub found: Vec<bool>,
}

impl IntAnswers {
    fn new(n: usize) -> Result<Self, OutOfMemory> {
        Ok(IntAnswers {
            values: alloc::zeroed(n)?,
            lens: alloc::zeroed(n)?,
            found: alloc::zeroed(n)?,
        })
    }

    /// Rows without an address (`valid[i]` false: a null or malformed input) made
    /// misses.
    pub fn mask(&mut self, valid: &[bool], missing: i64) {
        for (i, _) in valid.iter().enumerate().filter(|(_, &v)| !v) {
            self.values[i] = missing;
            self.lens[i] = -1;
            self.found[i] = false;
        }
    }
}

/// Lookups per block of the integer fast path: small enough for the keys, leaves
/// and answers to stay in the first-level cache between the passes.
const BLOCK: usize = 1024;

impl<V: SlotValue + Sync> LpmTable<V> {
    /// A batch on a table of integers, without touching the slots; `None` if some
    /// value is not an integer.
    pub fn lookup_ints(&self, keys: Keys, missing: i64) -> Result<Option<IntAnswers>, OutOfMemory> {
        if !self.is_int_table() {
            return Ok(None);
        }
        let c = self.compiled(keys.len() >= COMPILE_FOR_BATCH);
        match (c.and_then(|c| Some((c, c.ints.as_deref()?))), keys) {
            (Some((c, ints)), Keys::V4(_) | Keys::V6(_)) => {
                compiled_ints(c, ints, keys, missing).map(Some)
            }
            _ => self.ints_from_slots(keys, missing),
        }
    }

    /// A batch of any values: each address's prefix length (-1 for a miss) and value.
    pub fn lookup_many(&self, keys: Keys) -> Result<(Vec<i16>, Vec<Option<&V>>), OutOfMemory> {
        let (lens, slots) = self.lens_and_slots(keys)?;
        let mut values = alloc::empty(slots.len())?;
        values.extend(
            slots
                .iter()
                .map(|&s| (s != u32::MAX).then(|| self.values.get(s))),
        );
        Ok((lens, values))
    }

    fn ints_from_slots(&self, keys: Keys, missing: i64) -> Result<Option<IntAnswers>, OutOfMemory> {
        let (lens, mut slots) = self.lens_and_slots(keys)?;
        let mut values = alloc::filled(slots.len(), missing)?;
        let all_int = AtomicBool::new(true);
        for_chunks((&mut slots[..], &mut values[..]), |_, (slots, vals)| {
            for (slot, v) in slots.iter().zip(vals) {
                if *slot != u32::MAX {
                    match self.values.int(*slot) {
                        Some(i) => *v = i,
                        None => all_int.store(false, Ordering::Relaxed),
                    }
                }
            }
        });
        let mut found = alloc::empty(lens.len())?;
        found.extend(lens.iter().map(|&l| l >= 0));
        Ok(all_int.into_inner().then_some(IntAnswers {
            values,
            lens,
            found,
        }))
    }

    /// Lengths (-1 for a miss) and value slots (`u32::MAX` for a miss).
    fn lens_and_slots(&self, keys: Keys) -> Result<(Vec<i16>, Vec<u32>), OutOfMemory> {
        let n = keys.len();
        let compiled = self.compiled(n >= COMPILE_FOR_BATCH);
        let (mut lens, mut slots) = (alloc::zeroed::<i16>(n)?, alloc::zeroed::<u32>(n)?);
        for_chunks((&mut lens[..], &mut slots[..]), |start, (l, s)| {
            let keys = keys.slice(start..start + l.len());
            match compiled {
                Some(c) => compiled_slots(c, keys, l, s),
                None => self.tree_slots(keys, l, s),
            }
        });
        Ok((lens, slots))
    }

    /// Slots straight from the tree (they may not fit a packed leaf).
    fn tree_slots(&self, keys: Keys, lens: &mut [i16], slots: &mut [u32]) {
        for (i, (len, slot)) in lens.iter_mut().zip(slots.iter_mut()).enumerate() {
            (*len, *slot) = found(self.table.longest_match(keys.get(i)));
        }
    }
}

fn found(f: Option<(u8, u32)>) -> (i16, u32) {
    f.map_or((-1, u32::MAX), |(l, id)| (l as i16, id))
}

/// Slots from the compiled form: numpy batches with interleaved lookups.
fn compiled_slots(c: &Compiled, keys: Keys, lens: &mut [i16], slots: &mut [u32]) {
    match keys {
        Keys::V4(k) => c.table.v4().lookup_many(k, slots),
        Keys::V6(rows) => {
            let mut k = Vec::with_capacity(rows.len());
            v6_keys(rows, &mut k);
            c.table.v6().lookup_many(&k, slots)
        }
        Keys::Mixed(addrs) => {
            for (a, s) in addrs.iter().zip(slots.iter_mut()) {
                *s = match a {
                    std::net::IpAddr::V4(a) => c.table.v4().lookup(u32::from(*a)),
                    std::net::IpAddr::V6(a) => c.table.v6().lookup(u128::from(*a)),
                };
            }
        }
    }
    for (len, slot) in lens.iter_mut().zip(slots.iter_mut()) {
        (*len, *slot) = found(unpack(*slot).map(|(l, id)| (l, c.slots[id as usize])));
    }
}

/// The fast path, for a numpy batch on an integer table with a compiled form: each
/// thread looks up a block at a time and writes the answers straight into the
/// output, reading values from the compiled form's small array of integers.
fn compiled_ints(
    c: &Compiled,
    ints: &[i64],
    keys: Keys,
    missing: i64,
) -> Result<IntAnswers, OutOfMemory> {
    let mut a = IntAnswers::new(keys.len())?;
    let out = (&mut a.values[..], &mut a.lens[..], &mut a.found[..]);
    for_chunks(out, |start, (values, lens, found)| {
        let mut leaves = [0u32; BLOCK];
        let mut keys6 = Vec::with_capacity(BLOCK);
        for lo in (0..values.len()).step_by(BLOCK) {
            let m = BLOCK.min(values.len() - lo);
            let leaves = &mut leaves[..m];
            match keys.slice(start + lo..start + lo + m) {
                Keys::V4(k) => c.table.v4().lookup_many(k, leaves),
                Keys::V6(rows) => {
                    v6_keys(rows, &mut keys6);
                    c.table.v6().lookup_many(&keys6, leaves)
                }
                Keys::Mixed(_) => unreachable!("numpy batches only"),
            }
            let rows = values[lo..lo + m]
                .iter_mut()
                .zip(&mut lens[lo..lo + m])
                .zip(&mut found[lo..lo + m]);
            for (((value, len), found), &leaf) in rows.zip(leaves.iter()) {
                // Selects, not a branch on hit or miss: uniform addresses miss a third
                // of the time at random, and the mispredictions measured as costly as
                // the lookups. A miss reads id 0, which is in cache.
                let (hit, l, id) = split(leaf);
                let v = ints.get(id as usize).copied().unwrap_or(missing);
                *value = if hit { v } else { missing };
                *len = if hit { l as i16 } else { -1 };
                *found = hit;
            }
        }
    });
    Ok(a)
}
