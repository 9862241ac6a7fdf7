//! The GeoIP database file: a container of sections ([`file`]) holding, among others,
//! the compiled lookup arrays, used in place from a memory map.

pub mod file;
