//! The one schema of a record's fields: their names, types and meanings, in order.
//! `Record` in Python, its `to_dict`, the batch columns, `to_pandas`, the command
//! line's output columns and the export's columns all follow it.

use super::query::Record;
use crate::ip::IpPrefix;
use std::borrow::Cow;
use std::net::IpAddr;

/// What kind of value a field holds (and so how Python and pandas show it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    Address,
    Network,
    Asn,
    /// AS numbers, the primary origin first.
    Origins,
    Text,
    /// A two-letter country code: few distinct values (categorical).
    Code,
}

impl FieldType {
    pub const fn name(self) -> &'static str {
        match self {
            FieldType::Address => "address",
            FieldType::Network => "network",
            FieldType::Asn => "asn",
            FieldType::Origins => "origins",
            FieldType::Text => "text",
            FieldType::Code => "code",
        }
    }
}

/// One field of a record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldType,
    pub doc: &'static str,
}

const fn field(name: &'static str, kind: FieldType, doc: &'static str) -> Field {
    Field { name, kind, doc }
}

/// The fields of a record, in order.
pub const RECORD_FIELDS: [Field; 10] = [
    field("address", FieldType::Address, "the address looked up"),
    field(
        "prefix",
        FieldType::Network,
        "the longest routed prefix containing it",
    ),
    field("asn", FieldType::Asn, "the primary origin AS of the prefix"),
    field(
        "origins",
        FieldType::Origins,
        "every origin AS, the primary one first",
    ),
    field("as_name", FieldType::Text, "the primary origin's AS name"),
    field(
        "org_id",
        FieldType::Text,
        "its organisation's id (CAIDA as2org)",
    ),
    field("org_name", FieldType::Text, "its organisation's name"),
    field("country", FieldType::Code, "ISO 3166 country code"),
    field(
        "country_source",
        FieldType::Code,
        "where the country came from: as2org, rir-prefix, rir-asn or asname",
    ),
    field(
        "registry",
        FieldType::Text,
        "the RIR that delegated the address block, else the AS number",
    ),
];

/// One field's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldValue<'a> {
    Address(IpAddr),
    Network(IpPrefix),
    Asn(u32),
    Origins(Cow<'a, [u32]>),
    Text(Option<Cow<'a, str>>),
}

impl FieldValue<'_> {
    pub fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::Address(a) => FieldValue::Address(a),
            FieldValue::Network(p) => FieldValue::Network(p),
            FieldValue::Asn(a) => FieldValue::Asn(a),
            FieldValue::Origins(o) => FieldValue::Origins(Cow::Owned(o.into_owned())),
            FieldValue::Text(t) => FieldValue::Text(t.map(|t| Cow::Owned(t.into_owned()))),
        }
    }
}

impl<'a> Record<'a> {
    /// The values, in the order of [`RECORD_FIELDS`].
    pub fn fields(&self) -> [FieldValue<'a>; 10] {
        let text = |t: Option<&'a str>| FieldValue::Text(t.map(Cow::Borrowed));
        [
            FieldValue::Address(self.address),
            FieldValue::Network(self.prefix),
            FieldValue::Asn(self.asn),
            FieldValue::Origins(Cow::Borrowed(self.origins)),
            text(self.as_name),
            text(self.org_id),
            text(self.org_name),
            text(self.country),
            text(self.country_source.map(|s| s.name())),
            text(self.registry),
        ]
    }
}

/// The index of a field in [`RECORD_FIELDS`].
pub fn field_index(name: &str) -> Option<usize> {
    RECORD_FIELDS.iter().position(|f| f.name == name)
}
