//! What the criterion benches share: the real tables from ../shared/data, read with
//! the crate's own ipasn reader, and seeded addresses.

use geoip_rs::loaders::ipasn::read_ipasn;
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use geoip_rs::{IpPrefix, Key, Prefix, TreeBitmap};
use std::path::PathBuf;

pub type Rows<K> = Vec<(Prefix<K>, u32)>;

/// The IPv4 and IPv6 `(prefix, asn)` rows of a pyasn ipasn file in shared/data.
pub fn ipasn(name: &str) -> (Rows<u32>, Rows<u128>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ipasn")
        .join(name);
    let input = Input::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = ReadOptions {
        on_error: OnError::Raise,
        progress: &mut NoProgress,
    };
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    read_ipasn(input, &mut opts, |p, asn| match p {
        IpPrefix::V4(p) => v4.push((p, asn)),
        IpPrefix::V6(p) => v6.push((p, asn)),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (v4, v6)
}

pub fn build_tree<K: Key>(items: &[(Prefix<K>, u32)]) -> TreeBitmap<K, u32> {
    let mut t = TreeBitmap::new();
    for (p, v) in items {
        t.insert(p, *v);
    }
    t
}

/// A small seeded generator (xorshift), so the benches need no extra crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` random addresses, each inside a random prefix of `items`.
pub fn inside<K: Key>(items: &[(Prefix<K>, u32)], n: usize, rng: &mut Rng) -> Vec<K> {
    (0..n)
        .map(|_| {
            let (p, _) = items[rng.next() as usize % items.len()];
            let noise = (rng.next() as u128) << 64 | rng.next() as u128;
            let host_mask = p.last().to_u128() - p.addr().to_u128();
            K::from_u128(p.addr().to_u128() | (noise & host_mask))
        })
        .collect()
}
