//! The MRT reader over arbitrary bytes (RIB dumps and updates): never a panic; the
//! routes read fold into origin tables under every policy.
#![no_main]

use geoip_rs::loaders::mrt::{OriginPolicy, Rib, Routes};
use geoip_rs::loaders::{Input, NoProgress, OnError, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for on_error in [OnError::Raise, OnError::Skip] {
        let Ok(input) = Input::from_bytes("fuzz.mrt", data.to_vec()) else {
            return;
        };
        let mut rib = Rib::new();
        let opts = &mut ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        if rib.read_input(input, opts).is_ok() {
            for policy in OriginPolicy::ALL {
                let _ = rib.origins(policy).count();
            }
        }
    }
    if let Ok(input) = Input::from_bytes("fuzz.mrt", data.to_vec()) {
        for route in Routes::new(input).take(100_000) {
            if route.is_err() {
                break;
            }
        }
    }
});
