//! Real database files (built by fuzz/seeds.py; their folder in
//! `GEOIP_RS_FUZZ_DATABASES`) damaged as the input says, opened without the checksum
//! (which would refuse any damage): never a panic; every query answers or errs.
//!
//! A database is megabytes of mostly fixed-size tables, too large for libFuzzer to
//! mutate whole, so the input is a damage list instead: the first byte picks the
//! file and whether to cut it, then 5 bytes per change (offset, xor mask).
#![no_main]

use geoip_rs::batch::Keys;
use geoip_rs::db::{Answer, Database};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use std::sync::OnceLock;

/// Addresses spread over both families, the same for every input.
fn addresses() -> Vec<IpAddr> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..64)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 4 {
                3 => IpAddr::V6((u128::from(x) << 64 | u128::from(x.rotate_left(9))).into()),
                _ => IpAddr::V4((x as u32).into()),
            }
        })
        .collect()
}

/// The real files, read once.
fn bases() -> &'static [Vec<u8>] {
    static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BASES.get_or_init(|| {
        let dir = std::env::var("GEOIP_RS_FUZZ_DATABASES").expect("GEOIP_RS_FUZZ_DATABASES");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
    })
}

fn damaged(data: &[u8]) -> Option<Vec<u8>> {
    let (&how, changes) = data.split_first()?;
    let mut bytes = bases()[how as usize % bases().len()].clone();
    for c in changes.chunks_exact(5) {
        let at = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize % bytes.len();
        bytes[at] ^= c[4];
    }
    if how & 0x80 != 0 && changes.len() >= 4 {
        let at = u32::from_le_bytes([changes[0], changes[1], changes[2], changes[3]]) as usize;
        bytes.truncate(at % bytes.len());
    }
    Some(bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = damaged(data) else {
        return;
    };
    let path = std::env::temp_dir().join(format!("geoip_rs_fuzz_db_{}", std::process::id()));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let Ok(db) = Database::open(&path, false) else {
        return;
    };
    let addrs = addresses();
    let v4: Vec<u32> = addrs
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(v) => Some(u32::from(*v)),
            _ => None,
        })
        .collect();
    for s in 0..db.snapshots().min(4) {
        let view = db.view_at(s);
        for &a in &addrs {
            let _ = view.record(a).map(|r| format!("{r:?}"));
        }
        let mut out = vec![Answer::default(); v4.len()];
        view.lookup_v4_many(&v4, &mut out);
        let _ = view.columns(Keys::Mixed(&addrs));
        let _ = view.iter().take(10_000).count();
        let _ = (view.as_tally().len(), view.country_tally().len());
    }
    let _ = format!("{:?}", db.metadata());
});
