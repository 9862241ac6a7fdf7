//! The routed prefixes as text: pyasn's ipasn format (prefix and primary origin) or
//! CSV with every record field but the address. Written a range of rows at a time,
//! so that a caller streams a database of any size in bounded memory.

use super::read::Database;
use super::schema::{FieldValue, RECORD_FIELDS};
use crate::loaders::ipasn::{write_ipasn, FILE_TAG};
use crate::loaders::{by_name, BadName};
use std::io::{self, Write};
use std::ops::Range;
use std::str::FromStr;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Ipasn,
    Csv,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Ipasn, ExportFormat::Csv];

    pub const fn name(self) -> &'static str {
        match self {
            ExportFormat::Ipasn => "ipasn",
            ExportFormat::Csv => "csv",
        }
    }
}

impl FromStr for ExportFormat {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name("format", &ExportFormat::ALL, ExportFormat::name, s)
    }
}

/// The CSV columns: every record field but the address.
pub fn csv_columns() -> impl Iterator<Item = &'static str> {
    RECORD_FIELDS.iter().skip(1).map(|f| f.name)
}

impl Database {
    /// Positions `range` of [`super::View::nth`]'s order (clamped to the end) in
    /// `format`, preceded by the header if `range` starts at 0; returns where the
    /// next rows start. Positions the newest snapshot (or a damaged file) does not
    /// have give no row.
    pub fn export(
        &self,
        format: ExportFormat,
        range: Range<usize>,
        w: &mut impl Write,
    ) -> io::Result<usize> {
        let v = self.view();
        let end = range.end.min(v.slots()).max(range.start);
        let rows = (range.start..end)
            .filter_map(|i| v.nth(i))
            .filter_map(|(p, r)| v.prefix_record(p, r));
        let header = range.start == 0;
        match format {
            ExportFormat::Ipasn => {
                let lines = if header {
                    self.ipasn_header()
                } else {
                    Vec::new()
                };
                write_ipasn(&mut *w, &lines, rows.map(|r| (r.prefix, r.asn)))?
            }
            ExportFormat::Csv => {
                let mut csv = csv::WriterBuilder::new().from_writer(&mut *w);
                if header {
                    csv.write_record(csv_columns())?;
                }
                for r in rows {
                    csv.write_record(r.fields()[1..].iter().map(field_text))?;
                }
                csv.flush()?;
            }
        }
        Ok(end)
    }

    fn ipasn_header(&self) -> Vec<String> {
        let meta = self.metadata();
        let mut lines = vec![
            FILE_TAG.to_string(),
            format!(
                "exported by geoip-rs {} from a database built {}",
                env!("CARGO_PKG_VERSION"),
                meta.built
            ),
        ];
        for s in &meta.sources {
            lines.push(format!("source: {} {}", s.kind, s.name));
        }
        lines
    }
}

/// A field as CSV text: origins separated by spaces, none as empty.
fn field_text(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::Address(a) => a.to_string(),
        FieldValue::Network(p) => p.to_string(),
        FieldValue::Asn(a) => a.to_string(),
        FieldValue::Origins(o) => o.iter().map(u32::to_string).collect::<Vec<_>>().join(" "),
        FieldValue::Text(t) => t.as_deref().unwrap_or_default().to_string(),
    }
}
