//! Every text loader (the first byte picks one) over arbitrary bytes, plain or
//! compressed: never a panic, and skipping reads at least as far as raising.
#![no_main]

use geoip_rs::loaders::{
    as2org::read_as2org, asnames::read_asnames, ipasn::read_ipasn, iptoasn::read_iptoasn,
    pfx2as::read_pfx2as, rir::read_delegated, Input, LoadError, NoProgress, OnError,
    ReadOptions, Summary,
};
use libfuzzer_sys::fuzz_target;

fn read(which: u8, bytes: &[u8], on_error: OnError) -> Result<Summary, LoadError> {
    let input = Input::from_bytes("fuzz", bytes.to_vec())?;
    let opts = &mut ReadOptions {
        on_error,
        progress: &mut NoProgress,
    };
    match which % 6 {
        0 => read_delegated(input, opts).map(|(d, s)| {
            let _ = (d.prefixes().count(), d.asns().asn_count());
            s
        }),
        1 => read_as2org(input, opts).map(|r| r.1),
        2 => read_asnames(input, opts).map(|r| r.1),
        3 => read_ipasn(input, opts, |_, _| {}),
        4 => read_iptoasn(input, opts, |_, _| {}),
        _ => read_pfx2as(input, opts, |_, _| {}),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let raised = read(which, bytes, OnError::Raise);
    let skipped = read(which, bytes, OnError::Skip);
    if let (Ok(r), Ok(s)) = (&raised, &skipped) {
        assert_eq!(r.entries, s.entries);
    }
    if raised.is_ok() {
        assert!(skipped.is_ok());
    }
});
