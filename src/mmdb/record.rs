//! A database record as an MMDB data value.
//!
//! MaxMind's own field names come first, so that configurations written for
//! GeoLite2-ASN and GeoIP2-Country (nginx, ClickHouse, Logstash…) read an exported
//! file unchanged: `autonomous_system_number`, `autonomous_system_organization`,
//! `country.iso_code` and `registered_country.iso_code`. geoip_rs's country is where
//! the address space is registered (as2org, the RIRs), so it is both. Every field
//! of the record schema but the address follows under [`OWN`], by its schema name,
//! with the routed prefix's length as [`PREFIX_LENGTH`].

use crate::db::schema::{FieldValue, RECORD_FIELDS};
use crate::db::Record;
use mmdb_writer::Value;

/// The map that holds the record schema's fields.
pub const OWN: &str = "geoip_rs";
/// The length of the routed prefix, beside the prefix's text.
pub const PREFIX_LENGTH: &str = "prefix_length";

/// The value of `r` (its address aside).
pub fn record_value(r: &Record<'_>) -> Value {
    let mut own = Vec::new();
    for (f, v) in RECORD_FIELDS.iter().zip(r.fields()).skip(1) {
        if let Some(v) = field_value(v) {
            own.push((f.name, v));
        }
    }
    own.push((PREFIX_LENGTH, Value::U16(r.prefix.prefix_len().into())));
    let mut top = vec![("autonomous_system_number", Value::U32(r.asn))];
    if let Some(name) = r.org_name.or(r.as_name) {
        top.push(("autonomous_system_organization", name.into()));
    }
    if let Some(cc) = r.country {
        let code = || Value::map([("iso_code", cc)]);
        top.push(("country", code()));
        top.push(("registered_country", code()));
    }
    top.push((OWN, Value::map(own)));
    Value::map(top)
}

fn field_value(v: FieldValue<'_>) -> Option<Value> {
    Some(match v {
        FieldValue::Address(a) => a.to_string().into(),
        FieldValue::Network(p) => p.to_string().into(),
        FieldValue::Asn(n) => Value::U32(n),
        FieldValue::Origins(o) => Value::array(o.iter().map(|&n| Value::U32(n))),
        FieldValue::Text(t) => t?.into_owned().into(),
    })
}
