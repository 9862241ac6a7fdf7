//! The Python values of a `PrefixTable`, in slots addressed by the `u32` that the tree
//! bitmap stores. Integers that fit in 64 bits are kept as `i64`, so that a batch
//! lookup on an integer table (ASNs) fills a numpy array without touching Python.

use pyo3::prelude::*;
use pyo3::types::PyInt;
use std::collections::HashMap;

pub(crate) enum Value {
    Int(i64),
    Obj(Py<PyAny>),
}

impl Value {
    /// An exact `int` that fits in `i64` is stored natively; anything else (bool,
    /// big ints, any object) by reference.
    pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> Self {
        if obj.is_exact_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                return Value::Int(i);
            }
        }
        Value::Obj(obj.clone().unbind())
    }

    pub(crate) fn into_py(self, py: Python<'_>) -> Bound<'_, PyAny> {
        match self {
            Value::Int(i) => i.into_pyobject(py).expect("int conversion").into_any(),
            Value::Obj(o) => o.into_bound(py),
        }
    }

    /// A copy to take out of the table's lock: making a Python object can run the
    /// garbage collector, and so any Python code, which must not happen under it.
    pub(crate) fn clone_ref(&self, py: Python<'_>) -> Self {
        match self {
            Value::Int(i) => Value::Int(*i),
            Value::Obj(o) => Value::Obj(o.clone_ref(py)),
        }
    }
}

/// Slots with a free list; a slot id stays valid until its prefix is removed.
#[derive(Default)]
pub(crate) struct Values {
    slots: Vec<Option<Value>>,
    free: Vec<u32>,
    /// How many slots hold `Value::Obj`; zero means an integer table.
    objects: usize,
}

impl Values {
    pub(crate) fn get(&self, id: u32) -> &Value {
        self.slots[id as usize].as_ref().expect("live slot")
    }

    /// The value as `i64` (integer tables only).
    #[inline]
    pub(crate) fn int(&self, id: u32) -> Option<i64> {
        match self.slots[id as usize] {
            Some(Value::Int(i)) => Some(i),
            _ => None,
        }
    }

    /// Value ids for the compiled form: equal integers share one id, so that
    /// neighbouring leaves with the same value merge (most neighbouring prefixes share
    /// an origin AS); each object gets its own. Ids count from 0, so that the values
    /// of a full table's ids fit a small array that stays in cache, where the slots
    /// (one per prefix) do not. Returns each slot's id (`u32::MAX` for a free slot)
    /// and each id's first slot.
    pub(crate) fn compiled_ids(&self) -> (Vec<u32>, Vec<u32>) {
        let mut id_of_int: HashMap<i64, u32> = HashMap::new();
        let (mut ids, mut slots) = (Vec::with_capacity(self.slots.len()), Vec::new());
        for (i, s) in self.slots.iter().enumerate() {
            let next = slots.len() as u32;
            let id = match s {
                Some(Value::Int(v)) => *id_of_int.entry(*v).or_insert(next),
                Some(Value::Obj(_)) => next,
                None => u32::MAX,
            };
            if id == next {
                slots.push(i as u32);
            }
            ids.push(id);
        }
        (ids, slots)
    }

    pub(crate) fn is_int_table(&self) -> bool {
        self.objects == 0
    }

    pub(crate) fn add(&mut self, v: Value) -> u32 {
        self.count(&v, 1);
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(v);
                id
            }
            None => {
                self.slots.push(Some(v));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Put `v` in slot `id`; returns what was there.
    pub(crate) fn replace(&mut self, id: u32, v: Value) -> Value {
        self.count(&v, 1);
        let old = self.slots[id as usize].replace(v).expect("live slot");
        self.count(&old, -1);
        old
    }

    /// Empty slot `id`; returns what was there.
    pub(crate) fn take(&mut self, id: u32) -> Value {
        let old = self.slots[id as usize].take().expect("live slot");
        self.count(&old, -1);
        self.free.push(id);
        old
    }

    /// Empty every slot; returns what they held, to be dropped outside any lock.
    pub(crate) fn take_all(&mut self) -> Vec<Option<Value>> {
        self.free.clear();
        self.objects = 0;
        std::mem::take(&mut self.slots)
    }

    pub(crate) fn objects(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.slots.iter().filter_map(|s| match s {
            Some(Value::Obj(o)) => Some(o),
            _ => None,
        })
    }

    pub(crate) fn nbytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Option<Value>>() + self.free.capacity() * 4
    }

    fn count(&mut self, v: &Value, delta: isize) {
        if let Value::Obj(_) = v {
            self.objects = self.objects.wrapping_add_signed(delta);
        }
    }
}
