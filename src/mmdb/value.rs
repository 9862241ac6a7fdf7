//! An MMDB data value as read: any of the format's types, maps in file order.

use serde::de::{Deserialize, DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// One decoded value. Unsigned integers of every width are one variant (`u128`
/// holds them all); `int32` is the format's only signed type.
#[derive(Clone, Debug, PartialEq)]
pub enum MmdbValue {
    Map(Vec<(String, MmdbValue)>),
    Array(Vec<MmdbValue>),
    Text(String),
    Bytes(Vec<u8>),
    Double(f64),
    Float(f32),
    Uint(u128),
    Int(i32),
    Bool(bool),
}

impl MmdbValue {
    /// The value at a dotted path: map keys, and array positions as numbers
    /// (`country.iso_code`, `subdivisions.0.names.en`).
    pub fn get(&self, path: &str) -> Option<&MmdbValue> {
        let mut v = self;
        for step in path.split('.') {
            v = match v {
                MmdbValue::Map(m) => &m.iter().find(|(k, _)| k == step)?.1,
                MmdbValue::Array(a) => a.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// The dotted paths of every value below this one that is not a map (arrays
    /// are leaves), in file order.
    ///
    /// At most [`MAX_LEAVES`] paths of at most [`MAX_PATH`] bytes: a file's record
    /// may nest maps under long keys and hold tens of thousands of leaves within the
    /// reader's budget, and paths repeat their prefix, so that a 2 MiB record would
    /// otherwise make gigabytes of paths. Leaves past either are left out (a field
    /// chosen by name is read whatever its path).
    pub fn leaf_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        leaves(self, &mut String::new(), &mut out);
        out
    }

    /// The value as JSON text (bytes as an array of numbers).
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        json(self, &mut s);
        s
    }
}

/// The most leaf paths taken from one record (a GeoIP2 City record has about 50).
pub const MAX_LEAVES: usize = 1024;
/// The longest leaf path taken, in bytes.
pub const MAX_PATH: usize = 1024;

fn leaves(v: &MmdbValue, prefix: &mut String, out: &mut Vec<String>) {
    match v {
        MmdbValue::Map(m) => {
            for (k, v) in m {
                let len = prefix.len();
                if out.len() >= MAX_LEAVES {
                    return;
                }
                if len + 1 + k.len() > MAX_PATH {
                    continue;
                }
                if len > 0 {
                    prefix.push('.');
                }
                prefix.push_str(k);
                leaves(v, prefix, out);
                prefix.truncate(len);
            }
        }
        _ if !prefix.is_empty() => out.push(prefix.clone()),
        _ => {}
    }
}

fn json(v: &MmdbValue, s: &mut String) {
    use std::fmt::Write;
    let list = |s: &mut String, items: &mut dyn Iterator<Item = &MmdbValue>| {
        s.push('[');
        for (i, x) in items.enumerate() {
            if i > 0 {
                s.push(',');
            }
            json(x, s);
        }
        s.push(']');
    };
    match v {
        MmdbValue::Map(m) => {
            s.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&serde_json::Value::from(k.as_str()).to_string());
                s.push(':');
                json(x, s);
            }
            s.push('}');
        }
        MmdbValue::Array(a) => list(s, &mut a.iter()),
        MmdbValue::Text(t) => s.push_str(&serde_json::Value::from(t.as_str()).to_string()),
        MmdbValue::Bytes(b) => {
            let as_values: Vec<_> = b.iter().map(|&x| MmdbValue::Uint(x.into())).collect();
            list(s, &mut as_values.iter())
        }
        MmdbValue::Double(x) => push_float(s, *x),
        MmdbValue::Float(x) => push_float(s, (*x).into()),
        MmdbValue::Uint(n) => write!(s, "{n}").unwrap_or(()),
        MmdbValue::Int(n) => write!(s, "{n}").unwrap_or(()),
        MmdbValue::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
    }
}

fn push_float(s: &mut String, x: f64) {
    match serde_json::Number::from_f64(x) {
        Some(n) => s.push_str(&n.to_string()),
        None => s.push_str("null"),
    }
}

/// How deep maps and arrays may nest (real records nest 3 or 4 deep; libmaxminddb
/// allows 512, whose frames are smaller than serde's in a debug build). A damaged file can
/// nest without end (or loop through pointers), which must not overflow the stack.
pub const MAX_DEPTH: u32 = 128;

impl<'de> Deserialize<'de> for MmdbValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Seed(0).deserialize(d)
    }
}

/// A value at nesting depth `.0`.
#[derive(Copy, Clone)]
struct Seed(u32);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = MmdbValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MmdbValue, D::Error> {
        if self.0 > MAX_DEPTH {
            return Err(D::Error::custom(format!(
                "maps and arrays nested deeper than {MAX_DEPTH}"
            )));
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = MmdbValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an MMDB value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Bool(v))
    }
    fn visit_i32<E>(self, v: i32) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Int(v))
    }
    fn visit_i64<E: Error>(self, v: i64) -> Result<MmdbValue, E> {
        match i32::try_from(v) {
            Ok(v) => Ok(MmdbValue::Int(v)),
            Err(_) => Ok(MmdbValue::Uint(u128::try_from(v).map_err(E::custom)?)),
        }
    }
    fn visit_u64<E>(self, v: u64) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Uint(v.into()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Uint(v))
    }
    fn visit_f32<E>(self, v: f32) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Float(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Double(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Text(v.to_owned()))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<MmdbValue, E> {
        Ok(MmdbValue::Bytes(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MmdbValue, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed(self.0 + 1))? {
            out.push(v);
        }
        Ok(MmdbValue::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MmdbValue, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            out.push((k, map.next_value_seed(Seed(self.0 + 1))?));
        }
        Ok(MmdbValue::Map(out))
    }
}

#[cfg(test)]
mod tests {
    use super::MmdbValue::*;
    use super::{MmdbValue, MAX_LEAVES};

    #[test]
    fn paths_reach_into_maps_and_arrays() {
        let v = Map(vec![
            (
                "country".into(),
                Map(vec![("iso_code".into(), Text("SE".into()))]),
            ),
            (
                "subdivisions".into(),
                Array(vec![Map(vec![("x".into(), Uint(7))])]),
            ),
            ("ok".into(), Bool(true)),
        ]);
        assert_eq!(v.get("country.iso_code"), Some(&Text("SE".into())));
        assert_eq!(v.get("subdivisions.0.x"), Some(&Uint(7)));
        assert_eq!(v.get("subdivisions.1.x"), None);
        assert_eq!(v.get("country.iso_code.more"), None);
        assert_eq!(v.leaf_paths(), ["country.iso_code", "subdivisions", "ok"]);
        let json: serde_json::Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(json["subdivisions"][0]["x"], 7);
        assert_eq!(Double(f64::NAN).to_json(), "null");
    }

    #[test]
    fn leaf_paths_are_bounded_where_prefixes_repeat() {
        // 200 maps deep under 1,000-byte keys, then 60,000 leaves: within a
        // reader's budget, and 12 GB of paths if each repeated its prefix.
        let leaves: Vec<_> = (0..60_000)
            .map(|i| (format!("k{i}"), MmdbValue::Bool(true)))
            .collect();
        let mut v = MmdbValue::Map(leaves);
        for d in 0..200 {
            v = MmdbValue::Map(vec![(format!("{d:01000}"), v)]);
        }
        assert!(
            v.leaf_paths().is_empty(),
            "every leaf is deeper than MAX_PATH"
        );
        let wide = MmdbValue::Map(
            (0..60_000)
                .map(|i| (format!("k{i}"), MmdbValue::Int(i)))
                .collect(),
        );
        let paths = wide.leaf_paths();
        assert_eq!(paths.len(), MAX_LEAVES);
        assert_eq!(
            (paths[0].as_str(), paths[MAX_LEAVES - 1].as_str()),
            ("k0", "k1023")
        );
        assert!(wide.get("k59999").is_some(), "a field named is still read");
    }
}
