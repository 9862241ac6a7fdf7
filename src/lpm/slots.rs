//! The values of an [`LpmTable`](super::LpmTable), in slots addressed by the `u32`
//! that the tree bitmap stores, with a free list so that a slot id stays valid until
//! its prefix is removed.

use std::collections::HashMap;

/// What a table needs to know of its values.
pub trait SlotValue {
    /// The value as an integer, if it is one. Equal integers share one id in the
    /// compiled form, so that neighbouring leaves with the same value merge; and a
    /// table of integers only answers batches from a small array, without the slots.
    fn as_int(&self) -> Option<i64>;
}

impl SlotValue for i64 {
    fn as_int(&self) -> Option<i64> {
        Some(*self)
    }
}

impl SlotValue for u32 {
    fn as_int(&self) -> Option<i64> {
        Some(i64::from(*self))
    }
}

pub(crate) struct Slots<V> {
    slots: Vec<Option<V>>,
    free: Vec<u32>,
    /// How many slots hold a value that is not an integer; zero: an integer table.
    others: usize,
}

impl<V> Default for Slots<V> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
            others: 0,
        }
    }
}

impl<V: SlotValue> Slots<V> {
    pub(crate) fn get(&self, id: u32) -> &V {
        self.slots[id as usize].as_ref().expect("live slot")
    }

    /// The value as an integer (integer values only).
    #[inline]
    pub(crate) fn int(&self, id: u32) -> Option<i64> {
        self.slots[id as usize].as_ref()?.as_int()
    }

    pub(crate) fn is_int_table(&self) -> bool {
        self.others == 0
    }

    /// Value ids for the compiled form: equal integers share one id, every other
    /// value gets its own. Ids count from 0, so that the values of a full table's ids
    /// fit a small array that stays in cache, where the slots (one per prefix) do
    /// not. Returns each slot's id (`u32::MAX` for a free slot) and each id's first
    /// slot.
    pub(crate) fn compiled_ids(&self) -> (Vec<u32>, Vec<u32>) {
        let mut id_of_int: HashMap<i64, u32> = HashMap::new();
        let (mut ids, mut slots) = (Vec::with_capacity(self.slots.len()), Vec::new());
        for (i, s) in self.slots.iter().enumerate() {
            let next = slots.len() as u32;
            let id = match s.as_ref().map(|v| v.as_int()) {
                Some(Some(v)) => *id_of_int.entry(v).or_insert(next),
                Some(None) => next,
                None => u32::MAX,
            };
            if id == next {
                slots.push(i as u32);
            }
            ids.push(id);
        }
        (ids, slots)
    }

    pub(crate) fn add(&mut self, v: V) -> u32 {
        self.count(&v, 1);
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(v);
                id
            }
            None => {
                crate::alloc::reserve_gently(&mut self.slots, 1);
                self.slots.push(Some(v));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Put `v` in slot `id`; returns what was there.
    pub(crate) fn replace(&mut self, id: u32, v: V) -> V {
        self.count(&v, 1);
        let old = self.slots[id as usize].replace(v).expect("live slot");
        self.count(&old, -1);
        old
    }

    /// Empty slot `id`; returns what was there.
    pub(crate) fn take(&mut self, id: u32) -> V {
        let old = self.slots[id as usize].take().expect("live slot");
        self.count(&old, -1);
        self.free.push(id);
        old
    }

    /// Empty every slot; returns what they held.
    pub(crate) fn take_all(&mut self) -> Vec<V> {
        self.free.clear();
        self.others = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }

    /// Every live value.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().flatten()
    }

    pub(crate) fn nbytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Option<V>>() + self.free.capacity() * 4
    }

    fn count(&mut self, v: &V, delta: isize) {
        if v.as_int().is_none() {
            self.others = self.others.wrapping_add_signed(delta);
        }
    }
}
