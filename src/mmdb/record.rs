//! A database record as an MMDB data value.
//!
//! MaxMind's own field names come first, so that configurations written for
//! GeoLite2-ASN and GeoIP2-Country (nginx, ClickHouse, Logstash…) read an exported
//! file unchanged: `autonomous_system_number`, `autonomous_system_organization`,
//! `country.iso_code` and `registered_country.iso_code`. geoip_rs's country is where
//! the address space is registered (as2org, the RIRs), so it is both. Every field
//! of the record schema but the address follows under [`OWN`], by its schema name,
//! with the routed prefix's length as [`PREFIX_LENGTH`].

use super::encode::{DataSection, Encoder, Type};
use crate::db::schema::{FieldValue, RECORD_FIELDS};
use crate::db::Record;

/// The map that holds the record schema's fields.
pub const OWN: &str = "geoip_rs";
/// The length of the routed prefix, beside the prefix's text.
pub const PREFIX_LENGTH: &str = "prefix_length";

/// The bytes of `r`'s value (its address aside), its strings pointing into `ds`.
pub fn encode_record(ds: &mut DataSection, r: &Record<'_>) -> Vec<u8> {
    let mut e = Encoder::default();
    let org = r.org_name.or(r.as_name);
    let entries = 2 + org.is_some() as usize + 2 * r.country.is_some() as usize;
    e.control(Type::Map, entries);
    ds.string(&mut e, "autonomous_system_number");
    e.uint(Type::Uint32, r.asn.into());
    if let Some(name) = org {
        ds.string(&mut e, "autonomous_system_organization");
        ds.string(&mut e, name);
    }
    if let Some(cc) = r.country {
        // One `{iso_code}` map per country in the file, pointed to.
        let mut code = Encoder::default();
        code.control(Type::Map, 1);
        ds.string(&mut code, "iso_code");
        ds.string(&mut code, cc);
        let at = ds.record(&code.bytes);
        for key in ["country", "registered_country"] {
            ds.string(&mut e, key);
            e.pointer(at);
        }
    }
    ds.string(&mut e, OWN);
    let fields: Vec<_> = RECORD_FIELDS.iter().zip(r.fields()).skip(1).collect();
    let present = |v: &FieldValue<'_>| !matches!(v, FieldValue::Text(None));
    e.control(
        Type::Map,
        1 + fields.iter().filter(|(_, v)| present(v)).count(),
    );
    for (f, v) in fields.iter().filter(|(_, v)| present(v)) {
        ds.string(&mut e, f.name);
        field(ds, &mut e, v);
    }
    ds.string(&mut e, PREFIX_LENGTH);
    e.uint(Type::Uint16, r.prefix.prefix_len().into());
    e.bytes
}

fn field(ds: &mut DataSection, e: &mut Encoder, v: &FieldValue<'_>) {
    match v {
        FieldValue::Address(a) => ds.string(e, &a.to_string()),
        // Unique to the prefix: in place, not in the strings' table.
        FieldValue::Network(p) => e.utf8(&p.to_string()),
        FieldValue::Asn(n) => e.uint(Type::Uint32, (*n).into()),
        FieldValue::Origins(o) => {
            e.control(Type::Array, o.len());
            o.iter().for_each(|&n| e.uint(Type::Uint32, n.into()));
        }
        FieldValue::Text(t) => ds.string(e, t.as_deref().unwrap_or_default()),
    }
}
