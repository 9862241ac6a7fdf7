//! Address columns in Arrow form, read into batch keys: text of either family
//! (`utf8`, `large_utf8`, `utf8_view`, or a dictionary of them), 4- or 16-byte
//! fixed-size binary in network order, or `uint32`. Nulls, and malformed text when
//! asked to, become rows without an address. Large text columns are parsed on every
//! core, as the lookups are.

use crate::batch::{for_chunks, OwnedKeys};
use crate::ip::{bad_address_message, parse_addr};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{Array, ArrayAccessor};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;

/// What a malformed address string does: fail the batch, or give a row without an
/// address (a null row).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    #[default]
    Raise,
    Null,
}

impl std::str::FromStr for OnError {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raise" => Ok(OnError::Raise),
            "null" => Ok(OnError::Null),
            _ => Err(format!("on_error must be 'raise' or 'null', not {s:?}")),
        }
    }
}

/// Why a column gives no addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnError {
    /// The column's type holds no addresses.
    Type(DataType),
    /// Row `row` holds `text`, which is not an address.
    BadAddress { row: usize, text: String },
}

impl fmt::Display for ColumnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnError::Type(t) => {
                write!(
                    f,
                    "expected addresses as strings, fixed_size_binary[4], fixed_size_binary[16] \
                     or uint32, got {}",
                    type_name(t)
                )?;
                match t.is_integer() {
                    true => write!(f, " (cast IPv4 addresses held as integers to uint32)"),
                    false => Ok(()),
                }
            }
            ColumnError::BadAddress { row, text } => {
                write!(f, "row {row}: {}", bad_address_message(text))
            }
        }
    }
}

impl std::error::Error for ColumnError {}

/// A type as Arrow's Python libraries spell it (`int8`, `list<utf8>`,
/// `fixed_size_binary[5]`), which users know better than arrow-rs's `Debug` names.
fn type_name(t: &DataType) -> String {
    match t {
        DataType::FixedSizeBinary(n) => format!("fixed_size_binary[{n}]"),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("list<{}>", type_name(f.data_type()))
        }
        DataType::Dictionary(k, v) => format!("dictionary<{}, {}>", type_name(k), type_name(v)),
        t => t.to_string().to_lowercase(),
    }
}

impl ColumnError {
    /// The error of a chunk that starts at row `start` of the whole column.
    pub fn at(self, start: usize) -> Self {
        match self {
            ColumnError::BadAddress { row, text } => ColumnError::BadAddress {
                row: row + start,
                text,
            },
            e => e,
        }
    }
}

/// The addresses of a column, and which rows have one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressColumn<'a> {
    pub keys: OwnedKeys<'a>,
    /// Whether each row has an address; `None` when every row does.
    pub valid: Option<Vec<bool>>,
}

/// The addresses of a column in chunks, as one column (rows numbered across the
/// chunks); a single chunk is read as [`read`] reads it.
pub fn read_chunks<A: AsRef<dyn Array>>(
    chunks: &[A],
    on_error: OnError,
) -> Result<AddressColumn<'_>, ColumnError> {
    if let [one] = chunks {
        return read(one.as_ref(), on_error);
    }
    let mut parts = Vec::with_capacity(chunks.len());
    let mut start = 0;
    for c in chunks {
        parts.push(read(c.as_ref(), on_error).map_err(|e| e.at(start))?);
        start += c.as_ref().len();
    }
    Ok(concat(parts, start))
}

/// Columns one after the other: as one family's array where they all are.
fn concat(parts: Vec<AddressColumn<'_>>, n: usize) -> AddressColumn<'static> {
    let keys = parts.iter().map(|p| &p.keys);
    let keys = if keys.clone().all(|k| matches!(k, OwnedKeys::V4(_))) {
        OwnedKeys::V4(
            parts
                .iter()
                .flat_map(|p| p.keys.keys().v4().iter().copied())
                .collect(),
        )
    } else if keys.clone().all(|k| matches!(k, OwnedKeys::V6(_))) {
        OwnedKeys::V6(
            parts
                .iter()
                .flat_map(|p| p.keys.keys().v6().iter().copied())
                .collect(),
        )
    } else {
        let all = parts.iter().flat_map(|p| {
            let k = p.keys.keys();
            (0..k.len()).map(move |i| k.get(i))
        });
        OwnedKeys::Mixed(all.collect())
    };
    let valid = parts.iter().any(|p| p.valid.is_some()).then(|| {
        let mut v = Vec::with_capacity(n);
        for p in &parts {
            match &p.valid {
                Some(pv) => v.extend_from_slice(pv),
                None => v.resize(v.len() + p.keys.keys().len(), true),
            }
        }
        v
    });
    AddressColumn { keys, valid }
}

/// The addresses of `array`: integers and 16-byte rows read in place, the rest
/// converted.
pub fn read(array: &dyn Array, on_error: OnError) -> Result<AddressColumn<'_>, ColumnError> {
    let nulls = array.logical_nulls();
    let valid = |n: &Option<NullBuffer>| n.as_ref().map(|n| n.iter().collect());
    let keys = match array.data_type() {
        DataType::UInt32 => {
            OwnedKeys::V4(Cow::Borrowed(array.as_primitive::<UInt32Type>().values()))
        }
        DataType::FixedSizeBinary(4) => {
            let a = array.as_fixed_size_binary();
            let quad = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            OwnedKeys::V4(a.value_data().chunks_exact(4).map(quad).collect())
        }
        DataType::FixedSizeBinary(16) => {
            let rows = array.as_fixed_size_binary().value_data();
            OwnedKeys::V6(Cow::Borrowed(bytemuck::cast_slice(rows)))
        }
        DataType::Utf8 => return text(array.as_string::<i32>(), nulls, on_error),
        DataType::LargeUtf8 => return text(array.as_string::<i64>(), nulls, on_error),
        DataType::Utf8View => return text(array.as_string_view(), nulls, on_error),
        DataType::Dictionary(_, v) if is_text(v) => return dictionary(array, on_error),
        // A column of nulls only (a frame's all-missing column): no addresses.
        DataType::Null => OwnedKeys::V4(vec![0; array.len()].into()),
        t => return Err(ColumnError::Type(t.clone())),
    };
    Ok(AddressColumn {
        keys,
        valid: valid(&nulls),
    })
}

/// Whether a column holds addresses as text (which a record batch can show as the
/// caller wrote them).
pub fn is_text_column(array: &dyn Array) -> bool {
    match array.data_type() {
        DataType::Dictionary(_, v) => is_text(v),
        t => is_text(t),
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Parsed text; a placeholder address in rows without one.
fn text<'s, T>(
    text: T,
    nulls: Option<NullBuffer>,
    on_error: OnError,
) -> Result<AddressColumn<'static>, ColumnError>
where
    T: ArrayAccessor<Item = &'s str> + Sync,
{
    let n = text.len();
    let mut addrs = vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED); n];
    let mut valid = vec![true; n];
    // The first malformed row of every chunk; the smallest is reported.
    let bad: Mutex<Option<usize>> = Mutex::new(None);
    for_chunks((&mut addrs[..], &mut valid[..]), |start, (addrs, valid)| {
        for (i, (addr, ok)) in addrs.iter_mut().zip(valid.iter_mut()).enumerate() {
            let row = start + i;
            if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                *ok = false;
                continue;
            }
            match parse_addr(text.value(row)) {
                Some(a) => *addr = a,
                None if on_error == OnError::Null => *ok = false,
                None => {
                    let mut b = bad.lock().unwrap_or_else(|e| e.into_inner());
                    *b = Some(b.map_or(row, |r| r.min(row)));
                    return;
                }
            }
        }
    });
    if let Some(row) = bad.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let text = text.value(row).to_owned();
        return Err(ColumnError::BadAddress { row, text });
    }
    let all = valid.iter().all(|&v| v);
    Ok(AddressColumn {
        keys: OwnedKeys::Mixed(addrs),
        valid: (!all).then_some(valid),
    })
}

/// A dictionary of text (a categorical column): each distinct value parsed once.
fn dictionary(array: &dyn Array, on_error: OnError) -> Result<AddressColumn<'static>, ColumnError> {
    let d = array.as_any_dictionary();
    if d.values().is_empty() {
        // Every key is null (arrow's key normalising needs a value to clamp to).
        let n = array.len();
        let addrs = vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED); n];
        return Ok(AddressColumn {
            keys: OwnedKeys::Mixed(addrs),
            valid: Some(vec![false; n]),
        });
    }
    let values = read(d.values().as_ref(), OnError::Null)?;
    let value_ok = |k: usize| values.valid.as_ref().is_none_or(|v| v[k]);
    let nulls = d.keys().logical_nulls();
    let keys = d.normalized_keys();
    let mut addrs = Vec::with_capacity(keys.len());
    let mut valid = vec![true; keys.len()];
    for (row, &k) in keys.iter().enumerate() {
        let present = nulls.as_ref().is_none_or(|n| n.is_valid(row));
        if present && !value_ok(k) && on_error == OnError::Raise {
            let text = d
                .values()
                .as_string_opt::<i32>()
                .map(|s| s.value(k).to_owned());
            let text = text.unwrap_or_else(|| format!("value {k} of the dictionary"));
            return Err(ColumnError::BadAddress { row, text });
        }
        valid[row] = present && value_ok(k);
        let placeholder = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        addrs.push(match valid[row] {
            true => values.keys.keys().get(k),
            false => placeholder,
        });
    }
    let all = valid.iter().all(|&v| v);
    Ok(AddressColumn {
        keys: OwnedKeys::Mixed(addrs),
        valid: (!all).then_some(valid),
    })
}
