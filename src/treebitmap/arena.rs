//! Contiguous blocks of items in one flat `Vec`, addressed by `u32` index.
//!
//! A tree-bitmap node keeps its children (and its prefixes' values) in one contiguous
//! block so that it can reach the i-th one as `base + popcount(...)`. Growing or
//! shrinking a node moves its block to a block of the new size; the old one goes on
//! a free list for its size, so that a long run of inserts and removals reuses space
//! instead of growing without bound. Blocks are small (at most 32 items), so one free
//! list per size is exact and cheap.

pub(crate) struct Arena<T> {
    items: Vec<T>,
    /// `free[n]` holds the start of every free block of `n` items.
    free: Vec<Vec<u32>>,
    /// Items in free blocks, for the memory report.
    free_items: usize,
}

impl<T: Copy + Default> Arena<T> {
    pub(crate) fn new() -> Self {
        Arena {
            items: Vec::new(),
            free: Vec::new(),
            free_items: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn get(&self, i: u32) -> &T {
        &self.items[i as usize]
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, i: u32) -> &mut T {
        &mut self.items[i as usize]
    }

    /// The `n` items of the block that starts at `start`.
    #[cfg(test)]
    pub(crate) fn block(&self, start: u32, n: usize) -> &[T] {
        &self.items[start as usize..start as usize + n]
    }

    /// A block of `n` default items; returns its start.
    pub(crate) fn alloc(&mut self, n: usize) -> u32 {
        debug_assert!(n > 0);
        if let Some(start) = self.free.get_mut(n).and_then(Vec::pop) {
            self.free_items -= n;
            self.items[start as usize..start as usize + n].fill(T::default());
            return start;
        }
        let start = self.items.len();
        assert!(
            start + n <= u32::MAX as usize,
            "tree bitmap arena is full (2^32 items)"
        );
        crate::alloc::reserve_gently(&mut self.items, n);
        self.items.resize(start + n, T::default());
        start as u32
    }

    /// Return a block of `n` items to the free list.
    pub(crate) fn free(&mut self, start: u32, n: usize) {
        if n == 0 {
            return;
        }
        if self.free.len() <= n {
            self.free.resize_with(n + 1, Vec::new);
        }
        self.free[n].push(start);
        self.free_items += n;
    }

    /// Move the block `(start, n)` to a new block of `n + 1` items with `item`
    /// inserted at position `at`; frees the old block and returns the new start.
    pub(crate) fn grow(&mut self, start: u32, n: usize, at: usize, item: T) -> u32 {
        let new = self.alloc(n + 1);
        for i in 0..n {
            let dst = if i < at { i } else { i + 1 };
            self.items[new as usize + dst] = self.items[start as usize + i];
        }
        self.items[new as usize + at] = item;
        self.free(start, n);
        new
    }

    /// Move the block `(start, n)` to a new block of `n - 1` items without the item at
    /// position `at`; frees the old block and returns the new start (0 when empty).
    pub(crate) fn shrink(&mut self, start: u32, n: usize, at: usize) -> u32 {
        if n == 1 {
            self.free(start, 1);
            return 0;
        }
        let new = self.alloc(n - 1);
        for i in (0..n).filter(|&i| i != at) {
            let dst = if i < at { i } else { i - 1 };
            self.items[new as usize + dst] = self.items[start as usize + i];
        }
        self.free(start, n);
        new
    }

    /// Items in use (allocated minus free).
    pub(crate) fn live(&self) -> usize {
        self.items.len() - self.free_items
    }

    /// Bytes held, counting spare capacity and free blocks.
    pub(crate) fn nbytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<T>()
            + self.free.iter().map(|f| f.capacity() * 4).sum::<usize>()
    }

    /// Drop everything.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.free.clear();
        self.free_items = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_and_shrink_keep_order_and_reuse_blocks() {
        let mut a: Arena<u32> = Arena::new();
        let s = a.alloc(1);
        *a.get_mut(s) = 10;
        let s = a.grow(s, 1, 1, 30);
        let s = a.grow(s, 2, 1, 20);
        assert_eq!(a.block(s, 3), &[10, 20, 30]);
        let s = a.shrink(s, 3, 0);
        assert_eq!(a.block(s, 2), &[20, 30]);
        assert_eq!(a.live(), 2);
        // The freed blocks of 1 and 3 items are reused.
        let before = a.items.len();
        let t = a.alloc(3);
        let u = a.alloc(1);
        assert_eq!(a.items.len(), before);
        assert_eq!(a.block(t, 3), &[0, 0, 0]);
        assert_eq!(*a.get(u), 0);
        assert_eq!(a.shrink(u, 1, 0), 0);
    }
}
