//! A batch's records as Arrow record batches: one column per record field, in the
//! order of the one schema ([`RECORD_FIELDS`]), the prefix followed by its length.
//! Each field's Arrow type follows from its [`FieldType`]; text fields, whose values
//! repeat (names, codes, registries), are dictionary-encoded. A large batch is made on
//! every core, one record batch per core.

use super::answers::{Answer, Snapshots};
use super::layout::NONE;
use super::read::View;
use super::schema::{FieldType, FieldValue, RECORD_FIELDS};
use crate::addresses::{self, ColumnError, OnError};
use crate::batch::{map_ranges, Keys};
use crate::ip::{push_addr, push_decimal, py_repr, IpPrefix};
use arrow_array::builder::{ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, PrimitiveArray, RecordBatch, RecordBatchOptions,
    StringArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// The column after the prefix: its length.
pub const PREFIX_LEN: &str = "prefix_len";

/// What a column holds: a record field (by its index in [`RECORD_FIELDS`]) or the
/// prefix's length.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Content {
    Field(usize),
    PrefixLen,
}

/// One column of a batch's Arrow form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrowColumn {
    pub name: &'static str,
    pub data_type: DataType,
    content: Content,
}

/// The Arrow type of a field's values.
pub fn arrow_type(kind: FieldType) -> DataType {
    match kind {
        FieldType::Address | FieldType::Network => DataType::Utf8,
        FieldType::Asn => DataType::UInt32,
        FieldType::Origins => DataType::new_list(DataType::UInt32, true),
        FieldType::Text | FieldType::Code => {
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        }
    }
}

/// Every column, in order.
pub fn arrow_columns() -> Vec<ArrowColumn> {
    let mut out = Vec::new();
    for (i, f) in RECORD_FIELDS.iter().enumerate() {
        out.push(ArrowColumn {
            name: f.name,
            data_type: arrow_type(f.kind),
            content: Content::Field(i),
        });
        if f.kind == FieldType::Network {
            out.push(ArrowColumn {
                name: PREFIX_LEN,
                data_type: DataType::UInt8,
                content: Content::PrefixLen,
            });
        }
    }
    out
}

/// The columns named, in the order given; every column for `None`.
pub fn select<S: AsRef<str>>(names: Option<&[S]>) -> Result<Vec<ArrowColumn>, String> {
    let all = arrow_columns();
    let Some(names) = names else { return Ok(all) };
    if let Some(n) = names.iter().enumerate().find_map(|(i, n)| {
        names[..i]
            .iter()
            .any(|m| m.as_ref() == n.as_ref())
            .then_some(n)
    }) {
        return Err(format!("column {} asked for twice", py_repr(n.as_ref())));
    }
    let find = |name: &str| all.iter().find(|c| c.name == name).cloned();
    names
        .iter()
        .map(|n| {
            find(n.as_ref()).ok_or_else(|| {
                let known: Vec<_> = all.iter().map(|c| c.name).collect();
                format!(
                    "unknown column {}; the columns are {}",
                    py_repr(n.as_ref()),
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Whether a column is dictionary-encoded text.
fn is_text(c: &ArrowColumn) -> bool {
    matches!(c.data_type, DataType::Dictionary(..))
}

/// The schema of record batches with `columns` (every column nullable: misses).
pub fn schema(columns: &[ArrowColumn]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.name, c.data_type.clone(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

impl View<'_> {
    /// The records of the addresses in an Arrow column's `chunks`, as record
    /// batches with `columns` (one or more per chunk); rows are numbered across the
    /// chunks in errors.
    pub fn arrow_batches(
        &self,
        chunks: &[ArrayRef],
        on_error: OnError,
        columns: &[ArrowColumn],
        snaps: Snapshots,
    ) -> Result<Vec<RecordBatch>, ColumnError> {
        let mut out = Vec::new();
        let mut start = 0;
        for chunk in chunks {
            let column = addresses::read(chunk.as_ref(), on_error).map_err(|e| e.at(start))?;
            let text = addresses::is_text_column(chunk.as_ref()).then_some(chunk);
            let (keys, valid) = (column.keys.keys(), column.valid.as_deref());
            let snaps = snaps.slice(start..start + chunk.len());
            out.extend(self.record_batches(keys, valid, text, columns, snaps));
            start += chunk.len();
        }
        Ok(out)
    }

    /// The records of `keys` (`valid[i]` false for a row without an address) as
    /// record batches with `columns`, one per core for a large batch. `text`, where
    /// given, is the address column as the caller wrote it, taken over as the
    /// `address` column instead of formatting the parsed addresses.
    pub fn record_batches(
        &self,
        keys: Keys,
        valid: Option<&[bool]>,
        text: Option<&ArrayRef>,
        columns: &[ArrowColumn],
        snaps: Snapshots,
    ) -> Vec<RecordBatch> {
        if let Some(r) = self.resolved(keys.len(), snaps) {
            return self
                .with_resolved(&r)
                .record_batches_of(keys, valid, text, columns, snaps);
        }
        self.record_batches_of(keys, valid, text, columns, snaps)
    }

    fn record_batches_of(
        &self,
        keys: Keys,
        valid: Option<&[bool]>,
        text: Option<&ArrayRef>,
        columns: &[ArrowColumn],
        snaps: Snapshots,
    ) -> Vec<RecordBatch> {
        let schema = schema(columns);
        map_ranges(keys.len(), |r| {
            let (keys, snaps) = (keys.slice(r.clone()), snaps.slice(r.clone()));
            let rows = Rows::new(self, keys, valid.map(|v| &v[r.clone()]), snaps);
            let text = text.map(|t| t.slice(r.start, r.len()));
            let arrays = rows.arrays(columns, text);
            let options = RecordBatchOptions::new().with_row_count(Some(r.len()));
            RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
                .expect("the columns are made to the schema")
        })
    }
}

/// The answers of a part of a batch, and which rows have a record.
struct Rows<'v, 'a> {
    view: &'v View<'a>,
    keys: Keys<'v>,
    valid: Option<&'v [bool]>,
    answers: Vec<Answer>,
    found: Vec<bool>,
    /// `found` as the validity of the record columns (made once, shared by them).
    nulls: Option<NullBuffer>,
}

impl<'v, 'a> Rows<'v, 'a> {
    fn new(
        view: &'v View<'a>,
        keys: Keys<'v>,
        valid: Option<&'v [bool]>,
        snaps: Snapshots,
    ) -> Self {
        let mut answers = vec![Answer::default(); keys.len()];
        view.answers_at(keys, snaps, |i, a| answers[i] = *a);
        let has = |i: usize| valid.is_none_or(|v| v[i]);
        let found: Vec<bool> = (0..keys.len())
            .map(|i| has(i) && answers[i].route != NONE)
            .collect();
        let nulls = null_buffer(found.len(), |i| found[i]);
        Rows {
            view,
            keys,
            valid,
            answers,
            found,
            nulls,
        }
    }

    fn arrays(&self, columns: &[ArrowColumn], text: Option<ArrayRef>) -> Vec<ArrayRef> {
        let text_fields: Vec<usize> = columns
            .iter()
            .filter_map(|c| match c.content {
                Content::Field(f) if is_text(c) => Some(f),
                _ => None,
            })
            .collect();
        let mut texts = self.text_columns(&text_fields).into_iter();
        columns
            .iter()
            .map(|c| match c.content {
                Content::PrefixLen => self.prefix_lens(),
                Content::Field(_) if is_text(c) => texts.next().expect("one per text field"),
                Content::Field(f) => match RECORD_FIELDS[f].kind {
                    FieldType::Address => self.addresses(text.clone()),
                    FieldType::Network => self.prefixes(),
                    FieldType::Asn => self.asns(),
                    _ => self.origins(),
                },
            })
            .collect()
    }

    fn prefix_lens(&self) -> ArrayRef {
        let lens = self.answers.iter().map(|a| a.prefix_len).collect();
        Arc::new(PrimitiveArray::<arrow_array::types::UInt8Type>::new(
            lens,
            self.nulls.clone(),
        ))
    }

    fn asns(&self) -> ArrayRef {
        let asns = self.answers.iter().map(|a| a.asn).collect();
        Arc::new(PrimitiveArray::<arrow_array::types::UInt32Type>::new(
            asns,
            self.nulls.clone(),
        ))
    }

    fn origins(&self) -> ArrayRef {
        let mut b = ListBuilder::with_capacity(UInt32Builder::new(), self.found.len());
        for (a, &found) in self.answers.iter().zip(&self.found) {
            match found {
                true => b.append_value(self.view.origins(a.route).iter().map(|&x| Some(x))),
                false => b.append_null(),
            }
        }
        Arc::new(b.finish())
    }

    /// The prefixes as text.
    fn prefixes(&self) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(self.found.len(), self.found.len() * 16);
        let mut s = String::with_capacity(64);
        for (i, a) in self.answers.iter().enumerate() {
            match IpPrefix::new(self.keys.get(i), a.prefix_len, false) {
                Ok(p) if self.found[i] => {
                    s.clear();
                    push_addr(&mut s, p.addr());
                    s.push('/');
                    push_decimal(&mut s, p.prefix_len());
                    b.append_value(&s);
                }
                _ => b.append_null(),
            }
        }
        Arc::new(b.finish())
    }

    /// The addresses: the caller's text where given (as `utf8`), else the parsed
    /// addresses in their standard form; null where a row has no address.
    fn addresses(&self, text: Option<ArrayRef>) -> ArrayRef {
        if let Some(t) = text {
            return match t.data_type() {
                DataType::Utf8 => t,
                _ => Arc::new(utf8(&t)),
            };
        }
        let mut b = StringBuilder::with_capacity(self.keys.len(), self.keys.len() * 12);
        let mut s = String::with_capacity(48);
        for i in 0..self.keys.len() {
            match self.valid.is_none_or(|v| v[i]) {
                true => {
                    s.clear();
                    push_addr(&mut s, self.keys.get(i));
                    b.append_value(&s);
                }
                false => b.append_null(),
            }
        }
        Arc::new(b.finish())
    }

    /// The dictionary-encoded columns of `fields`. Every text field of a record is
    /// decided by its route and RIR block (and in a history its snapshot), so each
    /// distinct pair is described once.
    fn text_columns(&self, fields: &[usize]) -> Vec<ArrayRef> {
        if fields.is_empty() {
            return Vec::new();
        }
        let mut dicts: Vec<Dictionary<'a>> = fields.iter().map(|_| Dictionary::default()).collect();
        let mut keys: Vec<Vec<i32>> = vec![Vec::with_capacity(self.found.len()); fields.len()];
        let mut slots: FxHashMap<(u32, u32, u32), usize> = FxHashMap::default();
        let mut table: Vec<i32> = Vec::new();
        for (i, a) in self.answers.iter().enumerate() {
            if !self.found[i] {
                keys.iter_mut().for_each(|k| k.push(-1));
                continue;
            }
            let slot = *slots
                .entry((a.route, a.block, a.snapshot))
                .or_insert_with(|| {
                    let values = self.view.record_of(self.keys.get(i), a).map(|r| r.fields());
                    for (f, d) in fields.iter().zip(&mut dicts) {
                        let text = match values.as_ref().map(|v| &v[*f]) {
                            Some(FieldValue::Text(t)) => t.clone(),
                            _ => None,
                        };
                        table.push(text.map_or(-1, |t| d.intern(t)));
                    }
                    table.len() / fields.len() - 1
                });
            let row = &table[slot * fields.len()..][..fields.len()];
            keys.iter_mut().zip(row).for_each(|(k, &x)| k.push(x));
        }
        keys.into_iter()
            .zip(dicts)
            .map(|(k, d)| d.array(k))
            .collect()
    }
}

/// The distinct values of a text column, in order of first use.
#[derive(Default)]
struct Dictionary<'a> {
    index: FxHashMap<Cow<'a, str>, i32>,
    values: Vec<Cow<'a, str>>,
}

impl<'a> Dictionary<'a> {
    fn intern(&mut self, s: Cow<'a, str>) -> i32 {
        if let Some(&i) = self.index.get(&s) {
            return i;
        }
        let i = self.values.len() as i32;
        self.index.insert(s.clone(), i);
        self.values.push(s);
        i
    }

    /// The column of `keys` (-1 for null) over these values.
    fn array(self, mut keys: Vec<i32>) -> ArrayRef {
        let nulls = null_buffer(keys.len(), |i| keys[i] >= 0);
        keys.iter_mut().for_each(|k| *k = (*k).max(0));
        let keys = Int32Array::new(keys.into(), nulls);
        let values = StringArray::from_iter_values(self.values.iter());
        let array = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values))
            .expect("every key indexes a value");
        Arc::new(array)
    }
}

/// The validity of `n` rows (`None` when every row is valid), packed 64 rows at a
/// time.
fn null_buffer(n: usize, valid: impl FnMut(usize) -> bool) -> Option<NullBuffer> {
    let nulls = NullBuffer::new(BooleanBuffer::collect_bool(n, valid));
    (nulls.null_count() > 0).then_some(nulls)
}

/// Text of any string type as `utf8`.
fn utf8(t: &ArrayRef) -> StringArray {
    match t.data_type() {
        DataType::Utf8 => t.as_string::<i32>().clone(),
        DataType::LargeUtf8 => t.as_string::<i64>().iter().collect(),
        DataType::Utf8View => t.as_string_view().iter().collect(),
        _ => {
            // A dictionary of text (only text types reach here: see addresses::read).
            let d = t.as_any_dictionary();
            if d.values().is_empty() {
                return StringArray::new_null(t.len());
            }
            let values = utf8(d.values());
            let nulls = t.logical_nulls();
            d.normalized_keys()
                .iter()
                .enumerate()
                .map(
                    |(row, &k)| match nulls.as_ref().is_none_or(|n| n.is_valid(row)) {
                        true => Some(values.value(k)),
                        false => None,
                    },
                )
                .collect()
        }
    }
}
