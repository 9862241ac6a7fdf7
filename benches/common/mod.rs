//! What the criterion benches share: the real tables from ../shared/data and the
//! synthetic one of today's size, read with the crate's own ipasn reader, and seeded
//! addresses.

use geoip_rs::loaders::ipasn::read_ipasn;
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use geoip_rs::{IpPrefix, Key, Prefix, TreeBitmap};
use std::path::{Path, PathBuf};
use std::process::Command;

pub type Rows<K> = Vec<(Prefix<K>, u32)>;

/// The IPv4 and IPv6 `(prefix, asn)` rows of a pyasn ipasn file in shared/data.
pub fn ipasn(name: &str) -> (Rows<u32>, Rows<u128>) {
    ipasn_file(&shared_data().join("ipasn").join(name))
}

pub fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// The IPv4 and IPv6 `(prefix, asn)` rows of any pyasn ipasn file.
pub fn ipasn_file(path: &Path) -> (Rows<u32>, Rows<u128>) {
    let input = Input::open(path).unwrap_or_else(|e| panic!("{e}"));
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

/// The synthetic table of today's size (about 1.05M IPv4 and 230k IPv6 prefixes),
/// from `scripts/synth_table.py`, which makes it once and keeps it in its cache, so
/// the benches need no manual step. `$PYTHON` names an interpreter with numpy.
pub fn synth_table() -> PathBuf {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/synth_table.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg("--cached")
        .output()
        .unwrap_or_else(|e| panic!("{python} {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(stdout.trim())
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
