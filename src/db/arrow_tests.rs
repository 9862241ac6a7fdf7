//! Arrow record batches against the records they stand for: every column of every
//! row equal to the field `View::record` gives, for every kind of address column.

use super::arrow::{arrow_columns, select, ArrowColumn};
use super::tests::{addresses, small_db};
use super::*;
use crate::addresses::{ColumnError, OnError};
use crate::batch::PARALLEL_BATCH;
use arrow_array::builder::{FixedSizeBinaryBuilder, StringDictionaryBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, UInt32Type, UInt8Type};
use arrow_array::{
    Array, ArrayRef, Int8Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    UInt32Array,
};
use arrow_schema::DataType;
use std::net::IpAddr;
use std::sync::Arc;

/// A column's cells as text (None for null), whatever its type.
fn cells(col: &dyn Array) -> Vec<Option<String>> {
    let dict = col.as_any_dictionary_opt().map(|d| {
        let keys = if d.values().is_empty() {
            vec![0; col.len()]
        } else {
            d.normalized_keys()
        };
        (keys, d.values())
    });
    (0..col.len())
        .map(|row| cell(col, row, dict.as_ref()))
        .collect()
}

fn cell(col: &dyn Array, row: usize, dict: Option<&(Vec<usize>, &ArrayRef)>) -> Option<String> {
    if col.is_null(row) {
        return None;
    }
    if let Some((keys, values)) = dict {
        return Some(values.as_string::<i32>().value(keys[row]).to_owned());
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(row).to_owned(),
        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(row).to_string(),
        DataType::UInt8 => col.as_primitive::<UInt8Type>().value(row).to_string(),
        DataType::List(_) => {
            let v = col.as_list::<i32>().value(row);
            let v = v.as_primitive::<UInt32Type>().values().to_vec();
            format!("{v:?}")
        }
        t => panic!("unexpected column type {t}"),
    })
}

/// What each column should hold for an address (`None`: no address in the row),
/// shown as `text`, from the record `View::record` gives.
fn expected(v: &View<'_>, addr: Option<IpAddr>, text: Option<&str>) -> Vec<Option<String>> {
    let record = addr.and_then(|a| v.record(a));
    let mut out = Vec::new();
    for (field, value) in RECORD_FIELDS.iter().zip(
        record
            .as_ref()
            .map(|r| r.fields())
            .into_iter()
            .flatten()
            .map(Some)
            .chain(std::iter::repeat(None)),
    ) {
        let shown = match (field.kind, value) {
            (FieldType::Address, _) => text.map(str::to_owned),
            (_, None) => None,
            (_, Some(FieldValue::Network(p))) => Some(p.to_string()),
            (_, Some(FieldValue::Asn(a))) => Some(a.to_string()),
            (_, Some(FieldValue::Origins(o))) => Some(format!("{:?}", o.to_vec())),
            (_, Some(FieldValue::Text(t))) => t.map(|t| t.into_owned()),
            (_, Some(FieldValue::Address(a))) => Some(a.to_string()),
        };
        out.push(shown);
        if field.kind == FieldType::Network {
            let len = record.as_ref().map(|r| r.prefix.prefix_len().to_string());
            out.push(len);
        }
    }
    out
}

/// Every row of `batches`, each as its cells.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for b in batches {
        let columns: Vec<_> = b.columns().iter().map(|c| cells(c.as_ref())).collect();
        for row in 0..b.num_rows() {
            out.push(columns.iter().map(|c| c[row].clone()).collect());
        }
    }
    out
}

/// Addresses in and around the small database's prefixes, of both families, as text.
fn sample_texts(n: usize) -> Vec<String> {
    let bases = [
        "8.8.8.0",
        "8.0.0.0",
        "1.0.0.0",
        "10.0.0.0",
        "192.0.2.0",
        "2001:db8::",
        "9.0.0.0",
    ];
    addresses(n, 5)
        .map(|x| {
            let base: IpAddr = bases[(x % bases.len() as u128) as usize].parse().unwrap();
            match base {
                IpAddr::V4(b) => IpAddr::V4((u32::from(b) | (x >> 64) as u32 & 0x3ff).into()),
                IpAddr::V6(b) => IpAddr::V6((u128::from(b) | x >> 40).into()),
            }
            .to_string()
        })
        .collect()
}

#[test]
fn every_cell_is_the_records_field_in_parallel_batches_too() {
    let db = Database::open(small_db("arrow.db"), true).unwrap();
    let v = db.view();
    let columns = arrow_columns();
    for n in [0, 1, 100, PARALLEL_BATCH + 17] {
        let texts = sample_texts(n);
        let chunk: ArrayRef = Arc::new(StringArray::from_iter_values(&texts));
        let batches = v
            .arrow_batches(&[chunk], OnError::Raise, &columns, Snapshots::Own)
            .unwrap();
        assert!(
            n < PARALLEL_BATCH || batches.len() > 1,
            "a large batch is split"
        );
        let got = rows(&batches);
        assert_eq!(got.len(), n);
        for (t, row) in texts.iter().zip(got) {
            assert_eq!(row, expected(&v, t.parse().ok(), Some(t)), "{t}");
        }
    }
}

#[test]
fn nulls_and_malformed_rows_have_no_record() {
    let db = Database::open(small_db("arrow-nulls.db"), true).unwrap();
    let v = db.view();
    let columns = arrow_columns();
    let texts = [
        Some("8.8.8.8"),
        None,
        Some("8.8.8.256"),
        Some("2001:db8::1"),
        Some(""),
    ];
    let chunk: ArrayRef = Arc::new(StringArray::from(texts.to_vec()));
    let batches = v
        .arrow_batches(
            std::slice::from_ref(&chunk),
            OnError::Null,
            &columns,
            Snapshots::Own,
        )
        .unwrap();
    for (t, row) in texts.iter().zip(rows(&batches)) {
        let addr = t.and_then(|t| t.parse().ok());
        // A malformed row keeps its text in the address column, to show what it was.
        assert_eq!(row, expected(&v, addr, *t), "{t:?}");
    }
    // Raising names the first malformed row, counted across the chunks.
    let empty: ArrayRef = Arc::new(StringArray::from(Vec::<&str>::new()));
    let err = v
        .arrow_batches(
            &[chunk.clone(), empty, chunk],
            OnError::Raise,
            &columns,
            Snapshots::Own,
        )
        .unwrap_err();
    assert_eq!(
        err,
        ColumnError::BadAddress {
            row: 2,
            text: "8.8.8.256".into()
        }
    );
    let first_ok: ArrayRef = Arc::new(StringArray::from(vec!["1.0.0.1"]));
    let err = v.arrow_batches(
        &[first_ok, Arc::new(StringArray::from(texts.to_vec()))],
        OnError::Raise,
        &columns,
        Snapshots::Own,
    );
    assert_eq!(
        err.unwrap_err(),
        ColumnError::BadAddress {
            row: 3,
            text: "8.8.8.256".into()
        }
    );
}

/// The sample's addresses in every column form there is, each with what a text
/// column of the same addresses answers.
fn every_form(texts: &[String]) -> Vec<(&'static str, ArrayRef)> {
    let addrs: Vec<IpAddr> = texts.iter().map(|t| t.parse().unwrap()).collect();
    let (v4, _) = crate::testutil::by_family(&addrs);
    let mut fsb4 = FixedSizeBinaryBuilder::new(4);
    let mut fsb16 = FixedSizeBinaryBuilder::new(16);
    let mut dict = StringDictionaryBuilder::<Int16Type>::new();
    for a in &addrs {
        match a {
            IpAddr::V4(a) => fsb4.append_value(a.octets()).unwrap(),
            IpAddr::V6(a) => fsb16.append_value(a.octets()).unwrap(),
        }
        dict.append_value(a.to_string());
    }
    let text = |a: &IpAddr| a.to_string();
    let wide: Vec<String> = addrs.iter().map(text).collect();
    let sliced: ArrayRef = Arc::new(StringArray::from_iter_values(
        ["x", "y"].iter().map(|s| s.to_string()).chain(wide.clone()),
    ));
    vec![
        ("uint32", Arc::new(UInt32Array::from(v4)) as ArrayRef),
        ("fsb4", Arc::new(fsb4.finish())),
        ("fsb16", Arc::new(fsb16.finish())),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from_iter_values(&wide)),
        ),
        (
            "utf8_view",
            Arc::new(StringViewArray::from_iter_values(&wide)),
        ),
        ("dictionary", Arc::new(dict.finish())),
        ("sliced", sliced.slice(2, wide.len())),
    ]
}

#[test]
fn every_column_form_answers_as_text_does() {
    let db = Database::open(small_db("arrow-forms.db"), true).unwrap();
    let v = db.view();
    let columns = arrow_columns();
    let texts: Vec<String> = sample_texts(2000)
        .into_iter()
        .map(|t| t.parse::<IpAddr>().unwrap().to_string())
        .collect();
    for (name, array) in every_form(&texts) {
        let want_texts: Vec<&String> = texts
            .iter()
            .filter(|t| match name {
                "uint32" | "fsb4" => t.contains('.'),
                "fsb16" => t.contains(':'),
                _ => true,
            })
            .collect();
        let got = rows(
            &v.arrow_batches(&[array], OnError::Raise, &columns, Snapshots::Own)
                .unwrap(),
        );
        assert_eq!(got.len(), want_texts.len(), "{name}");
        for (t, row) in want_texts.iter().zip(got) {
            assert_eq!(row, expected(&v, t.parse().ok(), Some(t)), "{name}: {t}");
        }
    }
}

#[test]
fn columns_without_addresses_are_refused_by_type() {
    let db = Database::open(small_db("arrow-types.db"), true).unwrap();
    let v = db.view();
    let int8: ArrayRef = Arc::new(Int8Array::from(vec![1i8]));
    let err = v
        .arrow_batches(&[int8], OnError::Raise, &arrow_columns(), Snapshots::Own)
        .unwrap_err();
    assert_eq!(err, ColumnError::Type(DataType::Int8));
    assert!(err.to_string().contains("got int8"), "{err}");
}

#[test]
fn columns_are_picked_by_name_in_the_order_given() {
    let picked = select(Some(&["country", "asn"])).unwrap();
    let names: Vec<&str> = picked.iter().map(|c: &ArrowColumn| c.name).collect();
    assert_eq!(names, ["country", "asn"]);
    let err = select(Some(&["asn", "nope"])).unwrap_err();
    assert!(
        err.contains("'nope'") && err.contains("prefix_len"),
        "{err}"
    );
    // Every field of the schema has its column, with the prefix's length after the prefix.
    let all: Vec<&str> = arrow_columns().iter().map(|c| c.name).collect();
    let fields: Vec<&str> = RECORD_FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(
        all.iter()
            .filter(|n| **n != "prefix_len")
            .copied()
            .collect::<Vec<_>>(),
        fields
    );
    assert_eq!(
        all[all.iter().position(|n| *n == "prefix").unwrap() + 1],
        "prefix_len"
    );
}
