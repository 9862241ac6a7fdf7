//! Read MRT files (a RIB dump, then update files) into a [`Rib`] the way the
//! database builder does, and print the time taken and the number of prefixes: for
//! profiling (`valgrind --tool=callgrind`) and for timing loads outside Python.
//!
//! ```sh
//! cargo run --release --example load_mrt -- RIB [UPDATES...]
//! ```

use geoip_rs::loaders::mrt::{OriginPolicy, Rib};
use geoip_rs::loaders::{NoProgress, OnError, ReadOptions};
use std::time::Instant;

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    let Ok(mut rib) = Rib::for_files(&paths, &mut NoProgress) else {
        unreachable!("NoProgress never stops the scan");
    };
    for p in &paths {
        let mut opts = ReadOptions {
            on_error: OnError::Raise,
            progress: &mut NoProgress,
        };
        if let Err(e) = rib.read_file(p, &mut opts) {
            eprintln!("load_mrt: {e}");
            std::process::exit(1);
        }
    }
    let prefixes = rib.origins(OriginPolicy::FirstPeer).count();
    let seconds = start.elapsed().as_secs_f64();
    println!("{{\"seconds\": {seconds:.3}, \"prefixes\": {prefixes}}}");
}
