//! The MMDB data section's encoding (the MaxMind DB format, "Data Section Format"):
//! a control byte of type and size, then the payload, big-endian.
//!
//! Written by hand rather than through the `mmdb-writer` crate: its value model (a
//! `BTreeMap` per map, each value hashed whole on insert and kept in two tables,
//! every sub-value in a third) took 34 s and 5.9 GB of memory for the 2014 table's
//! 710,712 networks. Here a record is encoded once into bytes, identical records
//! are found by those bytes, and strings are written once and pointed to.

use rustc_hash::FxHashMap;

/// The types, as the control byte's top three bits (1–7) or, for the extended
/// ones, 7 plus the byte after it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Type {
    Pointer = 1,
    Utf8 = 2,
    Double = 3,
    Uint16 = 5,
    Uint32 = 6,
    Map = 7,
    Uint64 = 9,
    Array = 11,
    Boolean = 14,
}

/// One value's bytes, appended to a buffer.
#[derive(Default)]
pub struct Encoder {
    pub bytes: Vec<u8>,
}

impl Encoder {
    /// A control byte (and extended type byte) for `t` with payload size `size`.
    pub fn control(&mut self, t: Type, size: usize) {
        let t = t as u8;
        let (first, extended) = match t {
            1..=7 => (t << 5, None),
            _ => (0, Some(t - 7)),
        };
        let (low, extra): (u8, &[u8]) = match size {
            0..=28 => (size as u8, &[]),
            29..=284 => (29, &[(size - 29) as u8]),
            285..=65_820 => (30, &((size - 285) as u16).to_be_bytes()),
            _ => (31, &((size - 65_821) as u32).to_be_bytes()[1..]),
        };
        self.bytes.push(first | low);
        self.bytes.extend(extended);
        self.bytes.extend_from_slice(extra);
    }

    /// A pointer to `offset` in the data section, in the fewest bytes.
    pub fn pointer(&mut self, offset: u32) {
        let o = offset as usize;
        let top = (Type::Pointer as u8) << 5;
        if o < 2048 {
            self.bytes.extend([top | (o >> 8) as u8, o as u8]);
        } else if o < 2048 + 524_288 {
            let v = o - 2048;
            self.bytes
                .extend([top | 0x08 | (v >> 16) as u8, (v >> 8) as u8, v as u8]);
        } else if o < 526_336 + 134_217_728 {
            let v = o - 526_336;
            let b = (v as u32).to_be_bytes();
            self.bytes.extend([top | 0x10 | b[0], b[1], b[2], b[3]]);
        } else {
            self.bytes.push(top | 0x18);
            self.bytes.extend_from_slice(&offset.to_be_bytes());
        }
    }

    pub fn utf8(&mut self, s: &str) {
        self.control(Type::Utf8, s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// An unsigned integer of type `t` (16, 32 or 64 bits) in its fewest bytes.
    pub fn uint(&mut self, t: Type, n: u64) {
        let b = n.to_be_bytes();
        let skip = (n.leading_zeros() / 8) as usize;
        self.control(t, 8 - skip);
        self.bytes.extend_from_slice(&b[skip..]);
    }

    pub fn boolean(&mut self, b: bool) {
        self.control(Type::Boolean, b as usize);
    }

    pub fn double(&mut self, x: f64) {
        self.control(Type::Double, 8);
        self.bytes.extend_from_slice(&x.to_be_bytes());
    }
}

/// A data section under construction: strings written once, records once.
#[derive(Default)]
pub struct DataSection {
    pub out: Encoder,
    strings: FxHashMap<String, u32>,
    records: FxHashMap<Vec<u8>, u32>,
}

impl DataSection {
    /// Write `s` as a pointer to its one copy in the section (written now if new)
    /// into `e`; strings no longer than a pointer are written in place.
    pub fn string(&mut self, e: &mut Encoder, s: &str) {
        if s.len() <= 3 {
            return e.utf8(s);
        }
        let at = match self.strings.get(s) {
            Some(&at) => at,
            None => {
                let at = self.out.bytes.len() as u32;
                self.out.utf8(s);
                self.strings.insert(s.to_owned(), at);
                at
            }
        };
        e.pointer(at);
    }

    /// The offset of a value encoded as `bytes` (a record, or a part of records
    /// pointed to): of the same bytes written before, else of these, appended.
    pub fn record(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&at) = self.records.get(bytes) {
            return at;
        }
        let at = self.out.bytes.len() as u32;
        self.out.bytes.extend_from_slice(bytes);
        self.records.insert(bytes.to_vec(), at);
        at
    }

    pub fn len(&self) -> usize {
        self.out.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmdb::MmdbValue;

    /// MaxMind's reader decodes what we encode, at every size class.
    #[test]
    fn sizes_and_pointers_decode() {
        for n in [0usize, 28, 29, 284, 285, 65_820, 65_821, 70_000] {
            let mut e = Encoder::default();
            e.utf8(&"x".repeat(n));
            let s: String = maxminddb::fuzzing::decode(&e.bytes).unwrap();
            assert_eq!(s.len(), n);
        }
        for n in [0u64, 1, 255, 256, 65_535, u32::MAX as u64, u64::MAX] {
            let mut e = Encoder::default();
            let t = if n > u32::MAX as u64 {
                Type::Uint64
            } else {
                Type::Uint32
            };
            e.uint(t, n);
            let got: MmdbValue = maxminddb::fuzzing::decode(&e.bytes).unwrap();
            assert_eq!(got, MmdbValue::Uint(n.into()));
        }
        for b in [true, false] {
            let mut e = Encoder::default();
            e.boolean(b);
            assert_eq!(maxminddb::fuzzing::decode::<bool>(&e.bytes).unwrap(), b);
        }
        // A pointer at each size class, to a string placed there.
        for at in [
            5usize,
            2047,
            2048,
            526_335,
            526_336,
            134_744_063,
            134_744_064,
        ] {
            if at > 1 << 24 {
                continue; // the buffer would be large; the arithmetic is shared
            }
            let mut e = Encoder::default();
            e.control(Type::Map, 1);
            e.utf8("k");
            e.pointer(at as u32);
            e.bytes.resize(at, 0);
            e.utf8("target");
            let m: std::collections::BTreeMap<String, String> =
                maxminddb::fuzzing::decode(&e.bytes).unwrap();
            assert_eq!(m["k"], "target", "pointer to {at}");
        }
    }
}
