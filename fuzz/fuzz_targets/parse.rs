//! Address and prefix parsing: never a panic; where `std::net` reads the text too,
//! the same address; a parsed prefix prints as text that parses back to it.
#![no_main]

use geoip_rs::{parse_addr, parse_prefix};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let ours = parse_addr(s);
    if let (Some(a), Ok(b)) = (ours, s.parse::<IpAddr>()) {
        assert_eq!(a, b, "{s:?}");
    }
    if let Some(a) = ours {
        assert_eq!(parse_addr(&a.to_string()), Some(a), "{s:?}");
    }
    for strict in [true, false] {
        if let Ok(p) = parse_prefix(s, strict) {
            assert_eq!(parse_prefix(&p.to_string(), true).ok(), Some(p), "{s:?}");
            if strict {
                assert_eq!(parse_prefix(s, false).ok(), Some(p), "{s:?}");
            }
        }
    }
});
