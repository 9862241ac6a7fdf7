//! Helpers for the Rust tests: the shared data folder and scratch files.

use std::path::PathBuf;

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
