//! Distinct values, each kept once with the id it was first given: the routes,
//! organisations and RIR blocks of a build or a history, the values of a prefix file.

use std::collections::HashMap;
use std::hash::Hash;

/// Distinct values of one kind, in the order first seen.
pub struct Pool<T> {
    pub items: Vec<T>,
    ids: HashMap<T, u32>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            ids: HashMap::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Pool<T> {
    /// A pool holding `items` with their ids as they are (a repeat, only in a
    /// damaged file, keeps its place; lookups find the first).
    pub fn from_items(items: Vec<T>) -> Self {
        let mut ids = HashMap::with_capacity(items.len());
        for (i, x) in items.iter().enumerate().rev() {
            ids.insert(x.clone(), i as u32);
        }
        Pool { items, ids }
    }

    pub fn id(&mut self, value: T) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = self.items.len() as u32;
        self.ids.insert(value.clone(), id);
        self.items.push(value);
        id
    }
}
