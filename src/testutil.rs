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
    std::fs::write(&p, content).unwrap();
    p
}
