//! [`LpmTable`]: a longest-prefix-match table of any values that compiles itself.
//!
//! Writes go to the mutable tree bitmap ([`IpTable`]); reads go there too until
//! compiling the read-only Poptrie ([`CompiledTable`]) pays off, and to the compiled
//! form after that, until the next write drops it. The policy:
//! - a batch of at least [`COMPILE_FOR_BATCH`] addresses compiles first (compiling
//!   is linear in the prefixes, and a compiled batch is several times faster);
//! - single lookups compile once there have been as many of them since the last
//!   write as there are prefixes (and at least [`COMPILE_FOR_BATCH`]), so a table
//!   that is written often and read rarely never pays for compiling;
//! - every write, even of a value in place, drops the compiled form: it may have
//!   merged the written prefix's leaves with a neighbour that held the old value.
//!
//! Values live in slots ([`slots`]); the compiled form stores value ids in which
//! equal integers share one id, so that neighbouring leaves with the same value
//! merge (most neighbouring prefixes share an origin AS).

mod many;
mod slots;

pub use many::IntAnswers;
pub use slots::SlotValue;

use crate::compiled::CompiledTable;
use crate::ip::IpPrefix;
use crate::table::IpTable;
use slots::Slots;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Batches of at least this many addresses compile the table first.
pub const COMPILE_FOR_BATCH: usize = 4096;

/// A value found by a lookup: an integer table answers from the compiled form's
/// small array of integers, without reading the slot (one cache miss fewer).
#[derive(Debug, PartialEq)]
pub enum Found<'a, V> {
    Int(i64),
    Value(&'a V),
}

/// The compiled form, whose leaves hold compiled value ids.
struct Compiled {
    table: CompiledTable,
    /// The value slot of each compiled id.
    slots: Vec<u32>,
    /// The integer of each compiled id, for a table of integers.
    ints: Option<Vec<i64>>,
}

impl Compiled {
    fn build<V: SlotValue>(table: &IpTable<u32>, values: &Slots<V>) -> Option<Self> {
        let (ids, slots) = values.compiled_ids();
        let table = CompiledTable::build_with(table, |slot| ids[slot as usize]).ok()?;
        let ints = values
            .is_int_table()
            .then(|| slots.iter().map(|&s| values.int(s).unwrap_or(0)).collect());
        Some(Compiled { table, slots, ints })
    }

    fn nbytes(&self) -> usize {
        self.table.nbytes()
            + self.slots.capacity() * 4
            + self.ints.as_ref().map_or(0, |v| v.capacity() * 8)
    }
}

pub struct LpmTable<V> {
    table: IpTable<u32>,
    values: Slots<V>,
    /// Built on demand, dropped by every write; `None` inside: the table cannot be
    /// compiled (more distinct values than a leaf holds).
    compiled: OnceLock<Option<Compiled>>,
    /// Single lookups answered by the tree since the last write.
    tree_lookups: AtomicUsize,
}

impl<V> Default for LpmTable<V> {
    fn default() -> Self {
        LpmTable {
            table: IpTable::new(),
            values: Slots::default(),
            compiled: OnceLock::new(),
            tree_lookups: AtomicUsize::new(0),
        }
    }
}

impl<V: SlotValue> FromIterator<(IpPrefix, V)> for LpmTable<V> {
    /// Later duplicates replace earlier ones.
    fn from_iter<I: IntoIterator<Item = (IpPrefix, V)>>(items: I) -> Self {
        let mut t = LpmTable::default();
        for (p, v) in items {
            t.insert(&p, v);
        }
        t
    }
}

impl<V: SlotValue> LpmTable<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Insert or replace; returns the value replaced.
    pub fn insert(&mut self, prefix: &IpPrefix, value: V) -> Option<V> {
        self.changed();
        match self.table.exact(prefix) {
            Some(id) => Some(self.values.replace(id, value)),
            None => {
                let id = self.values.add(value);
                self.table.insert(prefix, id);
                None
            }
        }
    }

    /// Remove exactly `prefix`; returns its value.
    pub fn remove(&mut self, prefix: &IpPrefix) -> Option<V> {
        let id = self.table.remove(prefix)?;
        self.changed();
        Some(self.values.take(id))
    }

    /// Remove everything; returns the values (for the caller to drop where it may).
    pub fn clear(&mut self) -> Vec<V> {
        self.table.clear();
        self.changed();
        self.values.take_all()
    }

    fn changed(&mut self) {
        self.compiled = OnceLock::new();
        *self.tree_lookups.get_mut() = 0;
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Numbers of IPv4 and IPv6 prefixes.
    pub fn counts(&self) -> (usize, usize) {
        (self.table.v4().len(), self.table.v6().len())
    }

    /// Whether every value is an integer.
    pub fn is_int_table(&self) -> bool {
        self.values.is_int_table()
    }

    /// Bytes held: the tree, the slots and the compiled form if there is one.
    pub fn nbytes(&self) -> usize {
        let compiled = self.compiled_form().map_or(0, Compiled::nbytes);
        self.table.nbytes() + self.values.nbytes() + compiled
    }

    /// Whether lookups go to the compiled form now.
    pub fn is_compiled(&self) -> bool {
        self.compiled_form().is_some()
    }

    /// Compile now (if not yet); false if the table cannot be compiled.
    pub fn compile(&self) -> bool {
        self.compiled(true).is_some()
    }

    /// The compiled Poptrie, if there is one (its leaves hold compiled value ids).
    pub fn compiled_table(&self) -> Option<&CompiledTable> {
        self.compiled_form().map(|c| &c.table)
    }

    fn compiled_form(&self) -> Option<&Compiled> {
        self.compiled.get().and_then(Option::as_ref)
    }

    /// The compiled form if there is one, built first if `build`.
    fn compiled(&self, build: bool) -> Option<&Compiled> {
        match build {
            true => self
                .compiled
                .get_or_init(|| Compiled::build(&self.table, &self.values))
                .as_ref(),
            false => self.compiled_form(),
        }
    }

    /// The compiled form for a single lookup, built once there have been as many
    /// single lookups as prefixes.
    #[inline]
    fn compiled_for_single(&self) -> Option<&Compiled> {
        let build = self.compiled.get().is_none()
            && self.tree_lookups.fetch_add(1, Ordering::Relaxed)
                >= self.table.len().max(COMPILE_FOR_BATCH);
        self.compiled(build)
    }

    /// The longest match of an address: its length and value.
    #[inline(always)]
    pub fn longest_match(&self, addr: IpAddr) -> Option<(u8, Found<'_, V>)> {
        match self.compiled_for_single() {
            Some(c) => {
                let (len, id) = c.table.longest_match(addr)?;
                Some((len, self.found(c, id)))
            }
            None => {
                let (len, slot) = self.table.longest_match(addr)?;
                Some((len, Found::Value(self.values.get(slot))))
            }
        }
    }

    #[inline(always)]
    fn found(&self, c: &Compiled, id: u32) -> Found<'_, V> {
        match &c.ints {
            Some(ints) => Found::Int(ints[id as usize]),
            None => Found::Value(self.values.get(c.slots[id as usize])),
        }
    }

    /// Whether any prefix contains the address.
    #[inline]
    pub fn contains(&self, addr: IpAddr) -> bool {
        match self.compiled_for_single() {
            Some(c) => c.table.longest_match(addr).is_some(),
            None => self.table.longest_match(addr).is_some(),
        }
    }

    /// The value of exactly `prefix`.
    pub fn exact(&self, prefix: &IpPrefix) -> Option<&V> {
        self.table.exact(prefix).map(|id| self.values.get(id))
    }

    /// The longest prefix containing `prefix` (itself included), with its value.
    pub fn longest_covering(&self, prefix: &IpPrefix) -> Option<(IpPrefix, &V)> {
        let (p, id) = self.table.longest_covering(prefix)?;
        Some((p, self.values.get(id)))
    }

    /// Every prefix containing `prefix` (itself included), shortest first.
    pub fn covering(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, &V)> {
        self.with_values(self.table.covering(prefix))
    }

    /// Every prefix inside `prefix` (itself included), in address order.
    pub fn covered(&self, prefix: &IpPrefix) -> Vec<(IpPrefix, &V)> {
        self.with_values(self.table.covered(prefix))
    }

    /// Every prefix in address order, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = (IpPrefix, &V)> + '_ {
        self.table.iter().map(|(p, id)| (p, self.values.get(id)))
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.values.iter()
    }

    fn with_values(&self, items: Vec<(IpPrefix, u32)>) -> Vec<(IpPrefix, &V)> {
        let value = |(p, id): (IpPrefix, u32)| (p, self.values.get(id));
        items.into_iter().map(value).collect()
    }
}

#[cfg(test)]
mod tests;
