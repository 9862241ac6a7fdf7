//! A batch's MMDB answers as an Arrow record batch: the network's length, then one
//! column per chosen field (text dictionary-encoded, as its values repeat), null
//! where a row has no record or its record no such field.

use super::batch::{FieldColumn, MmdbAnswers, NO_RECORD};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    RecordBatchOptions, StringArray, UInt64Array, UInt8Array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{ArrowError, Field, Schema};
use std::sync::Arc;

/// The first column: the length of the MMDB network the address is in.
pub const PREFIX_LEN: &str = "prefix_len";

/// A field's column as an Arrow array.
pub fn field_array(c: FieldColumn) -> ArrayRef {
    let nulls = |ok: Vec<bool>| Some(NullBuffer::from(ok));
    match c {
        FieldColumn::Uint(x, ok) => Arc::new(UInt64Array::new(x.into(), nulls(ok))),
        FieldColumn::Int(x, ok) => Arc::new(Int64Array::new(x.into(), nulls(ok))),
        FieldColumn::Float(x, ok) => Arc::new(Float64Array::new(x.into(), nulls(ok))),
        FieldColumn::Bool(x, ok) => Arc::new(BooleanArray::new(x.into(), nulls(ok))),
        FieldColumn::Text(keys, dict) => {
            let ok: Vec<bool> = keys.iter().map(|&k| k >= 0).collect();
            let keys: Vec<i32> = keys.into_iter().map(|k| k.max(0)).collect();
            let keys = Int32Array::new(keys.into(), nulls(ok));
            let values = Arc::new(StringArray::from(dict));
            // Every key is below the dictionary's length by construction.
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("keys in range"))
        }
    }
}

/// The answers with `fields` as one record batch.
pub fn record_batch(a: &MmdbAnswers, fields: &[String]) -> Result<RecordBatch, ArrowError> {
    let found: Vec<bool> = a.record.iter().map(|&r| r != NO_RECORD).collect();
    let len = UInt8Array::new(a.prefix_len.clone().into(), Some(NullBuffer::from(found)));
    let mut columns: Vec<ArrayRef> = vec![Arc::new(len)];
    columns.extend(fields.iter().map(|f| field_array(a.column(f))));
    let mut names = vec![PREFIX_LEN.to_owned()];
    names.extend(fields.iter().cloned());
    let schema = Schema::new(
        names
            .iter()
            .zip(&columns)
            .map(|(n, c)| Field::new(n, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    let options = RecordBatchOptions::new().with_row_count(Some(a.record.len()));
    RecordBatch::try_new_with_options(Arc::new(schema), columns, &options)
}
