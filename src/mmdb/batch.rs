//! Many addresses looked up in an MMDB file, with chosen fields as typed columns.
//!
//! The tree walks run on every core; each distinct record (MMDB files share one
//! record among many networks) is then decoded once, and a column takes its value
//! per record, not per row.

use super::source::MmdbSource;
use super::value::MmdbValue;
use crate::alloc;
use crate::batch::{map_ranges, Keys};
use crate::db::DbError;
use rustc_hash::FxHashMap;

/// No record for a row.
pub const NO_RECORD: u32 = u32::MAX;

/// A batch's answers: per row the network's length and the record's index.
pub struct MmdbAnswers {
    /// The length of the network the row fell in (0 where no record).
    pub prefix_len: Vec<u8>,
    /// Index into `records`, or [`NO_RECORD`].
    pub record: Vec<u32>,
    /// The distinct records, decoded.
    pub records: Vec<MmdbValue>,
}

/// A field's values per row, as the one type its values share.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldColumn {
    /// Unsigned integers up to 64 bits; `valid` marks rows with a value.
    Uint(Vec<u64>, Vec<bool>),
    /// Signed (`int32`, or mixed with unsigned that fit 64 bits).
    Int(Vec<i64>, Vec<bool>),
    /// Any mix of numbers with a float among them.
    Float(Vec<f64>, Vec<bool>),
    Bool(Vec<bool>, Vec<bool>),
    /// Text (maps, arrays and anything mixed as JSON): each row's index into
    /// `dict`, or -1.
    Text(Vec<i32>, Vec<String>),
}

impl MmdbSource {
    /// The answers for `keys` and the fields to give: `fields`, else
    /// [`MmdbAnswers::default_fields`].
    pub fn answers_with(
        &self,
        keys: &Keys,
        valid: Option<&[bool]>,
        fields: Option<Vec<String>>,
    ) -> Result<(MmdbAnswers, Vec<String>), DbError> {
        let a = self.answers(keys, valid)?;
        let fields = fields.unwrap_or_else(|| a.default_fields());
        Ok((a, fields))
    }

    /// The answers for `keys`; rows that `valid` marks false get no record.
    pub fn answers(&self, keys: &Keys, valid: Option<&[bool]>) -> Result<MmdbAnswers, DbError> {
        let finder = self.finder(keys.len())?;
        let parts = map_ranges(keys.len(), |r| finder.find_many(keys, r));
        let mut index: FxHashMap<usize, u32> = FxHashMap::default();
        let mut records = Vec::new();
        let n = keys.len();
        let (mut prefix_len, mut record) = (alloc::empty(n)?, alloc::empty(n)?);
        let mut row = 0;
        for part in parts {
            for (offset, len) in part? {
                let ok = valid.is_none_or(|v| v[row]) && offset != usize::MAX;
                let r = match ok {
                    false => NO_RECORD,
                    true => match index.get(&offset) {
                        Some(&r) => r,
                        None => {
                            records.push(self.record_of(offset, keys.get(row))?);
                            index.insert(offset, records.len() as u32 - 1);
                            records.len() as u32 - 1
                        }
                    },
                };
                prefix_len.push(if r == NO_RECORD { 0 } else { len });
                record.push(r);
                row += 1;
            }
        }
        Ok(MmdbAnswers {
            prefix_len,
            record,
            records,
        })
    }
}

impl MmdbAnswers {
    /// The dotted paths of every leaf of the records found, in the order first
    /// met, with localised names (`names.<language>`) in English only.
    pub fn default_fields(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in &self.records {
            for p in r.leaf_paths() {
                let localised = p.contains(".names.") || p.starts_with("names.");
                if localised && !p.ends_with(".en") {
                    continue;
                }
                if seen.insert(p.clone()) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The column of field `path` (see [`MmdbValue::get`]).
    pub fn column(&self, path: &str) -> FieldColumn {
        let values: Vec<Option<&MmdbValue>> = self.records.iter().map(|r| r.get(path)).collect();
        let per_row =
            |f: &dyn Fn(&MmdbValue) -> Option<()>| values.iter().flatten().all(|v| f(v).is_some());
        let uint = |v: &MmdbValue| match v {
            MmdbValue::Uint(n) => u64::try_from(*n).ok(),
            _ => None,
        };
        let int = |v: &MmdbValue| match v {
            MmdbValue::Uint(n) => i64::try_from(*n).ok(),
            MmdbValue::Int(n) => Some(i64::from(*n)),
            _ => None,
        };
        let float = |v: &MmdbValue| match v {
            MmdbValue::Double(x) => Some(*x),
            MmdbValue::Float(x) => Some(f64::from(*x)),
            _ => int(v).map(|n| n as f64),
        };
        let boolean = |v: &MmdbValue| match v {
            MmdbValue::Bool(b) => Some(*b),
            _ => None,
        };
        let any = values.iter().any(|v| v.is_some());
        if any && per_row(&|v| uint(v).map(drop)) {
            let (x, ok) = self.spread(&values, uint);
            return FieldColumn::Uint(x, ok);
        }
        if any && per_row(&|v| int(v).map(drop)) {
            let (x, ok) = self.spread(&values, int);
            return FieldColumn::Int(x, ok);
        }
        if any && per_row(&|v| float(v).map(drop)) {
            let (x, ok) = self.spread(&values, float);
            return FieldColumn::Float(x, ok);
        }
        if any && per_row(&|v| boolean(v).map(drop)) {
            let (x, ok) = self.spread(&values, boolean);
            return FieldColumn::Bool(x, ok);
        }
        self.text(&values)
    }

    /// Per row, `f` of its record's value, and whether there is one.
    fn spread<T: Copy + Default>(
        &self,
        values: &[Option<&MmdbValue>],
        f: impl Fn(&MmdbValue) -> Option<T>,
    ) -> (Vec<T>, Vec<bool>) {
        let per_record: Vec<Option<T>> = values.iter().map(|v| v.and_then(&f)).collect();
        let at = |r: u32| per_record.get(r as usize).copied().flatten();
        let x = self
            .record
            .iter()
            .map(|&r| at(r).unwrap_or_default())
            .collect();
        let ok = self.record.iter().map(|&r| at(r).is_some()).collect();
        (x, ok)
    }

    fn text(&self, values: &[Option<&MmdbValue>]) -> FieldColumn {
        let mut dict: Vec<String> = Vec::new();
        let mut index: FxHashMap<String, i32> = FxHashMap::default();
        let per_record: Vec<i32> = values
            .iter()
            .map(|v| {
                let Some(v) = v else { return -1 };
                let s = match v {
                    MmdbValue::Text(t) => t.clone(),
                    other => other.to_json(),
                };
                *index.entry(s.clone()).or_insert_with(|| {
                    dict.push(s);
                    dict.len() as i32 - 1
                })
            })
            .collect();
        let at = |r: u32| per_record.get(r as usize).copied().unwrap_or(-1);
        FieldColumn::Text(self.record.iter().map(|&r| at(r)).collect(), dict)
    }
}
