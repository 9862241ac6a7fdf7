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
    /// A code of few distinct values (categorical): a country code or the
    /// country's source.
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

/// A record that owns its values, to keep after the database is closed (the Python
/// `Record`). Text from the file is copied; country codes and sources, which are
/// static, are not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnedRecord {
    pub address: IpAddr,
    pub prefix: IpPrefix,
    pub asn: u32,
    pub origins: Box<[u32]>,
    pub as_name: Option<Cow<'static, str>>,
    pub org_id: Option<Cow<'static, str>>,
    pub org_name: Option<Cow<'static, str>>,
    pub country: Option<Cow<'static, str>>,
    pub country_source: Option<Cow<'static, str>>,
    pub registry: Option<Cow<'static, str>>,
}

impl OwnedRecord {
    /// The values, in the order of [`RECORD_FIELDS`].
    pub fn fields(&self) -> [FieldValue<'_>; 10] {
        fn text<'a>(t: &'a Option<Cow<'static, str>>) -> FieldValue<'a> {
            FieldValue::Text(t.as_deref().map(Cow::Borrowed))
        }
        [
            FieldValue::Address(self.address),
            FieldValue::Network(self.prefix),
            FieldValue::Asn(self.asn),
            FieldValue::Origins(Cow::Borrowed(&self.origins)),
            text(&self.as_name),
            text(&self.org_id),
            text(&self.org_name),
            text(&self.country),
            text(&self.country_source),
            text(&self.registry),
        ]
    }
}

impl Record<'_> {
    pub fn to_owned_record(&self) -> OwnedRecord {
        let own = |t: Option<&str>| t.map(|t| Cow::Owned(t.to_owned()));
        OwnedRecord {
            address: self.address,
            prefix: self.prefix,
            asn: self.asn,
            origins: self.origins.into(),
            as_name: own(self.as_name),
            org_id: own(self.org_id),
            org_name: own(self.org_name),
            country: self.country.map(Cow::Borrowed),
            country_source: self.country_source.map(|s| Cow::Borrowed(s.name())),
            registry: own(self.registry),
        }
    }
}
