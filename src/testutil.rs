//! Helpers for the Rust tests: the shared data folder, scratch files, addresses
//! split by family.

use std::net::IpAddr;
use std::path::PathBuf;

/// The IPv4 addresses of `addrs` as integers and the IPv6 ones as 16 bytes each,
/// in their order: the array forms of a batch.
pub(crate) fn by_family(addrs: &[IpAddr]) -> (Vec<u32>, Vec<[u8; 16]>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for a in addrs {
        match a {
            IpAddr::V4(a) => v4.push(u32::from(*a)),
            IpAddr::V6(a) => v6.push(a.octets()),
        }
    }
    (v4, v6)
}

/// A file of the team's public datasets (`../shared/data` beside the repository).
pub(crate) fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel)
}

/// A scratch file with `content`, in a folder of its own per `tag` (tests of one
/// module run in parallel threads, so each module keeps its names to itself).
pub(crate) fn temp_file(tag: &str, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("geoip_rs_{tag}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    // Written aside and renamed: tests on other threads write the same fixtures
    // under the same names, and one must never read another's half-written file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let aside = dir.join(format!(".{name}.{n}.tmp"));
    std::fs::write(&aside, content).unwrap();
    std::fs::rename(&aside, &p).unwrap();
    p
}
