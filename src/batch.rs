//! What every batch of lookups shares: the addresses as the caller holds them
//! ([`Keys`]), and the split of a large batch's output over the machine's cores
//! ([`for_chunks`]), used by [`crate::lpm::LpmTable`] and the database alike.

use std::borrow::Cow;
use std::net::IpAddr;

/// Addresses of one batch, borrowed from the caller (numpy arrays are read in place).
#[derive(Copy, Clone, Debug)]
pub enum Keys<'a> {
    V4(&'a [u32]),
    /// IPv6 addresses as 16 bytes each, in network order.
    V6(&'a [[u8; 16]]),
    /// Addresses of either family, one by one.
    Mixed(&'a [IpAddr]),
}

impl<'a> Keys<'a> {
    pub fn len(&self) -> usize {
        match self {
            Keys::V4(v) => v.len(),
            Keys::V6(v) => v.len(),
            Keys::Mixed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th address.
    #[inline]
    pub fn get(&self, i: usize) -> IpAddr {
        match self {
            Keys::V4(v) => IpAddr::V4(v[i].into()),
            Keys::V6(v) => IpAddr::V6(v[i].into()),
            Keys::Mixed(v) => v[i],
        }
    }

    /// The IPv4 addresses of a `V4` batch (empty for another).
    pub fn v4(&self) -> &'a [u32] {
        match self {
            Keys::V4(v) => v,
            _ => &[],
        }
    }

    /// The rows of a `V6` batch (empty for another).
    pub fn v6(&self) -> &'a [[u8; 16]] {
        match self {
            Keys::V6(v) => v,
            _ => &[],
        }
    }

    /// The addresses `range` of this batch.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Keys<'a> {
        match self {
            Keys::V4(v) => Keys::V4(&v[range]),
            Keys::V6(v) => Keys::V6(&v[range]),
            Keys::Mixed(v) => Keys::Mixed(&v[range]),
        }
    }
}

/// The addresses of a batch, borrowed where the caller's memory holds them as
/// [`Keys`] needs them (a contiguous numpy or Arrow array), else owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedKeys<'a> {
    V4(Cow<'a, [u32]>),
    V6(Cow<'a, [[u8; 16]]>),
    Mixed(Vec<IpAddr>),
}

impl OwnedKeys<'_> {
    pub fn keys(&self) -> Keys<'_> {
        match self {
            OwnedKeys::V4(v) => Keys::V4(v),
            OwnedKeys::V6(v) => Keys::V6(v),
            OwnedKeys::Mixed(v) => Keys::Mixed(v),
        }
    }
}

/// IPv6 rows as trie keys; `out` is as long as `rows`.
#[inline]
pub fn v6_keys(rows: &[[u8; 16]], out: &mut Vec<u128>) {
    out.clear();
    out.extend(rows.iter().map(|r| u128::from_be_bytes(*r)));
}

/// Batches this large are split over the machine's cores: the lookups are
/// independent and the tables are shared read-only. Below it, starting threads costs
/// more than it saves.
pub const PARALLEL_BATCH: usize = 1 << 17;

/// Output columns that a batch splits between threads: a slice, or a tuple of
/// equally long slices.
pub trait Split: Sized + Send {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn split_at(self, mid: usize) -> (Self, Self);
}

impl<A: Send> Split for &mut [A] {
    fn len(&self) -> usize {
        <[A]>::len(self)
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        self.split_at_mut(mid)
    }
}

macro_rules! split_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Send),+> Split for ($(&mut [$t],)+) {
            fn len(&self) -> usize {
                self.0.len()
            }

            fn split_at(self, mid: usize) -> (Self, Self) {
                let parts = ($(self.$i.split_at_mut(mid),)+);
                (($(parts.$i.0,)+), ($(parts.$i.1,)+))
            }
        }
    };
}

split_tuple!(A 0, B 1);
split_tuple!(A 0, B 1, C 2);
split_tuple!(A 0, B 1, C 2, D 3, E 4);
split_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
split_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);

/// `f(start, chunk)` over chunks of `out` (`start` is the chunk's first index), on
/// every core for a large batch; the calling thread takes the last chunk.
pub fn for_chunks<S: Split>(out: S, f: impl Fn(usize, S) + Sync) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = out.len();
    if n < PARALLEL_BATCH || threads < 2 {
        return f(0, out);
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let (mut rest, mut start) = (out, 0);
        while rest.len() > chunk {
            let (head, tail) = rest.split_at(chunk);
            let f = &f;
            s.spawn(move || f(start, head));
            (rest, start) = (tail, start + chunk);
        }
        f(start, rest);
    });
}

/// `f(range)` over `0..n`, split into one range per core for a large batch (one
/// range for a small one); the results in the order of their ranges.
pub fn map_ranges<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if n < PARALLEL_BATCH || threads < 2 {
        return vec![f(0..n)];
    }
    let chunk = n.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (chunk..n)
            .step_by(chunk)
            .map(|lo| s.spawn(move || f(lo..n.min(lo + chunk))))
            .collect();
        let mut out = vec![f(0..chunk)];
        // A panic in a worker is a bug; it surfaces here as one in the caller.
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_index_once() {
        for n in [
            0,
            1,
            PARALLEL_BATCH - 1,
            PARALLEL_BATCH,
            3 * PARALLEL_BATCH + 7,
        ] {
            let (mut a, mut b) = (vec![0usize; n], vec![0u8; n]);
            for_chunks((&mut a[..], &mut b[..]), |start, (a, b)| {
                for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
                    *x = start + i;
                    *y += 1;
                }
            });
            assert!(a.iter().enumerate().all(|(i, &x)| x == i), "n = {n}");
            assert!(b.iter().all(|&y| y == 1), "n = {n}");
        }
    }

    #[test]
    fn keys_read_both_families() {
        let rows = [[0u8; 16], {
            let mut r = [0u8; 16];
            r[15] = 1;
            r
        }];
        let k = Keys::V6(&rows);
        assert_eq!(k.get(1), "::1".parse::<IpAddr>().unwrap());
        assert_eq!(k.slice(1..2).len(), 1);
        let mut keys = Vec::new();
        v6_keys(&rows, &mut keys);
        assert_eq!(keys, [0, 1]);
        assert_eq!(
            Keys::V4(&[0x08080808]).get(0),
            "8.8.8.8".parse::<IpAddr>().unwrap()
        );
    }
}
