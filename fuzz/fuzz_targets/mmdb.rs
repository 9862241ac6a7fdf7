//! An MMDB file of arbitrary bytes, opened without the reader's verification:
//! never a panic; lookups, the network walk and the batch index answer or err.
#![no_main]

use geoip_rs::mmdb::MmdbFile;
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("geoip_rs_fuzz_mmdb_{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(file) = MmdbFile::open(&path, false) else {
        return;
    };
    for a in ["1.2.3.4", "81.2.69.160", "::1", "2001:218::1", "::ffff:1.2.3.4"] {
        let _ = file.lookup(a.parse::<IpAddr>().unwrap());
    }
    for n in file.networks().take(10_000) {
        if n.is_err() {
            break;
        }
    }
    let _ = file.index(usize::MAX);
});
