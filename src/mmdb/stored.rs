//! A decoded value as a compiled file keeps it: JSON, but with every type kept
//! (floats by their bits, so NaN and infinities survive; `uint128` as digits;
//! bytes as bytes), through a tagged mirror of [`MmdbValue`].

use super::value::MmdbValue;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
enum Stored {
    M(Vec<(String, Stored)>),
    A(Vec<Stored>),
    T(String),
    B(Vec<u8>),
    D(u64),
    F(u32),
    U(String),
    I(i32),
    Z(bool),
}

impl From<&MmdbValue> for Stored {
    fn from(v: &MmdbValue) -> Stored {
        match v {
            MmdbValue::Map(m) => Stored::M(m.iter().map(|(k, v)| (k.clone(), v.into())).collect()),
            MmdbValue::Array(a) => Stored::A(a.iter().map(Stored::from).collect()),
            MmdbValue::Text(t) => Stored::T(t.clone()),
            MmdbValue::Bytes(b) => Stored::B(b.clone()),
            MmdbValue::Double(x) => Stored::D(x.to_bits()),
            MmdbValue::Float(x) => Stored::F(x.to_bits()),
            MmdbValue::Uint(n) => Stored::U(n.to_string()),
            MmdbValue::Int(n) => Stored::I(*n),
            MmdbValue::Bool(b) => Stored::Z(*b),
        }
    }
}

impl TryFrom<Stored> for MmdbValue {
    type Error = String;

    fn try_from(s: Stored) -> Result<MmdbValue, String> {
        Ok(match s {
            Stored::M(m) => MmdbValue::Map(
                m.into_iter()
                    .map(|(k, v)| Ok((k, v.try_into()?)))
                    .collect::<Result<_, String>>()?,
            ),
            Stored::A(a) => MmdbValue::Array(
                a.into_iter()
                    .map(MmdbValue::try_from)
                    .collect::<Result<_, _>>()?,
            ),
            Stored::T(t) => MmdbValue::Text(t),
            Stored::B(b) => MmdbValue::Bytes(b),
            Stored::D(x) => MmdbValue::Double(f64::from_bits(x)),
            Stored::F(x) => MmdbValue::Float(f32::from_bits(x)),
            Stored::U(n) => MmdbValue::Uint(n.parse().map_err(|e| format!("integer {n:?}: {e}"))?),
            Stored::I(n) => MmdbValue::Int(n),
            Stored::Z(b) => MmdbValue::Bool(b),
        })
    }
}

/// `v` as stored.
pub fn store(v: &MmdbValue) -> Vec<u8> {
    // A tree of strings, numbers and lists always serialises.
    serde_json::to_vec(&Stored::from(v)).expect("serialisable")
}

/// A stored value back; an error for bytes that are not one. serde_json stops
/// at 128 levels of nesting, so damaged bytes cannot exhaust the stack.
pub fn load(bytes: &[u8]) -> Result<MmdbValue, String> {
    let s: Stored = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    s.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_comes_back() {
        let v = MmdbValue::Map(vec![
            ("nan".into(), MmdbValue::Double(f64::NAN)),
            ("inf".into(), MmdbValue::Float(f32::NEG_INFINITY)),
            ("big".into(), MmdbValue::Uint(u128::MAX)),
            ("b".into(), MmdbValue::Bytes(vec![0, 255])),
            (
                "a".into(),
                MmdbValue::Array(vec![MmdbValue::Int(-3), MmdbValue::Bool(true)]),
            ),
            ("t".into(), MmdbValue::Text("ü".into())),
        ]);
        let back = load(&store(&v)).unwrap();
        // NaN is not equal to itself: compare the stored forms.
        assert_eq!(store(&back), store(&v));
        assert!(matches!(back.get("nan"), Some(MmdbValue::Double(x)) if x.is_nan()));
        assert!(load(br#"{"U":"x"}"#).is_err());
        assert!(load(b"[").is_err());
    }
}
