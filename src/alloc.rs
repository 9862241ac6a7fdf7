//! Buffers as long as a batch the caller chose, allocated fallibly: a batch too
//! large for the memory left is an [`OutOfMemory`] error (the binding raises
//! `MemoryError`), where Rust's own allocation failure aborts the process (on
//! stable Rust `handle_alloc_error` aborts; the hooks that would change it are
//! unstable). Small and bounded allocations stay infallible.

use bytemuck::Zeroable;
use std::fmt;

/// A batch's buffers did not fit in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    pub rows: usize,
    pub bytes: usize,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, bytes) = (self.rows, self.bytes);
        write!(
            f,
            "not enough memory for a batch of {rows} rows (a buffer of {bytes} bytes)"
        )
    }
}

impl std::error::Error for OutOfMemory {}

fn refused<T>(n: usize) -> OutOfMemory {
    OutOfMemory {
        rows: n,
        bytes: n.saturating_mul(std::mem::size_of::<T>()),
    }
}

/// `n` zero values, from zeroed pages (as `vec![0; n]`, which the kernel fills
/// lazily), or the error.
pub fn zeroed<T: Zeroable>(n: usize) -> Result<Vec<T>, OutOfMemory> {
    bytemuck::allocation::try_zeroed_vec(n).map_err(|()| refused::<T>(n))
}

/// `n` copies of `value`, or the error.
pub fn filled<T: Clone>(n: usize, value: T) -> Result<Vec<T>, OutOfMemory> {
    let mut v = empty(n)?;
    v.resize(n, value);
    Ok(v)
}

/// An empty vector with room for `n`, or the error.
pub fn empty<T>(n: usize) -> Result<Vec<T>, OutOfMemory> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| refused::<T>(n))?;
    Ok(v)
}

/// Room in `v` for `extra` more items, growing a large vector by a quarter of its
/// length rather than doubling it: a table of a million prefixes, just past a power
/// of two, held nearly twice the memory it used. Each item is still moved a
/// bounded number of times (about four, against one), and the allocator moves
/// large blocks by remapping their pages rather than copying them.
pub fn reserve_gently<T>(v: &mut Vec<T>, extra: usize) {
    if v.len() + extra <= v.capacity() {
        return;
    }
    let step = match v.len() < 1 << 16 {
        true => v.len().max(16),
        false => v.len() / 4,
    };
    v.reserve_exact(step.max(extra));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_too_large_are_errors_not_aborts() {
        let e = zeroed::<u64>(usize::MAX / 4).unwrap_err();
        assert_eq!(e.rows, usize::MAX / 4);
        assert!(e.to_string().contains("not enough memory for a batch"));
        assert!(filled(usize::MAX / 2, 7u32).is_err());
        assert!(empty::<[u8; 16]>(usize::MAX / 8).is_err());
        assert_eq!(zeroed::<u32>(3).unwrap(), [0; 3]);
        assert_eq!(filled(2, 9i64).unwrap(), [9, 9]);
    }

    #[test]
    fn large_vectors_grow_by_a_quarter() {
        let mut v: Vec<u32> = Vec::new();
        let mut grew = 0;
        for i in 0..1_000_000u32 {
            let before = v.capacity();
            reserve_gently(&mut v, 1);
            v.push(i);
            if v.capacity() != before {
                grew += 1;
                let spare = v.capacity() - v.len();
                // Small vectors double; past 2^16 items the room left is a quarter.
                assert!(spare <= v.len().max(16), "{} {}", v.len(), v.capacity());
                if v.len() > 1 << 16 {
                    assert!(spare <= v.len() / 4 + 1, "{} {}", v.len(), v.capacity());
                }
            }
        }
        assert!(v.capacity() <= 1_000_000 * 5 / 4 + 16);
        // Still a bounded number of moves: doubling to 2^16, then steps of 5/4.
        assert!(grew < 40, "{grew}");
    }
}
