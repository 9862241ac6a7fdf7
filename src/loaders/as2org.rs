//! CAIDA's AS-to-Organisation files (`as-org2info.txt(.gz)`, `as-org2info.jsonl(.gz)`,
//! <https://www.caida.org/catalog/datasets/as-organizations/>): which organisation
//! holds an AS, and that organisation's name and country.
//!
//! Two formats, told apart by content (the first non-empty line starting with `{`
//! means JSON lines):
//! - **pipe-separated text**: `#` comment lines; a `# format:` line names the columns
//!   of the lines after it, up to the next `# format:` line. The org block is
//!   `org_id|changed|org_name|country|source`; the AS block is
//!   `aut|changed|aut_name|org_id|source` in older files and
//!   `aut|changed|aut_name|org_id|opaque_id|source` in newer ones. Columns are found
//!   by name, so either layout (and either block order) reads. Names never contain
//!   `|` in CAIDA's files (every line has exactly its block's number of fields).
//! - **JSON lines**: one object per line, `"type": "Organization"` with
//!   `organizationId, changed, name, country, source`, or `"type": "ASN"` with
//!   `asn` (a string), `changed, name, opaqueId, organizationId, source`.
//!
//! Empty fields (and JSON `null`s) become `None`. Text is kept as the file has it:
//! some names in CAIDA's files are UTF-8 that was encoded twice (`FundaÃ§Ã£o`).
//!
//! **Duplicates.** The same ASN may come from two registries (e.g. 13335 from ARIN
//! and RIPE in the 2017 file). The record with the latest `changed` date wins (the
//! dates are `YYYYMMDD`, compared as text; a missing date is older than any date);
//! on a tie the first one in the file wins. Every record left out is counted in
//! the summary under `skipped["duplicate ASN"]`; organisations likewise under
//! `skipped["duplicate organisation"]`.
//!
//! **Missing organisations.** An AS whose org id is not in the org block is kept;
//! [`As2Org::org`] gives `None` for it and [`As2Org::ases_without_org`] counts them.

use super::{truncated, TICK_LINES};
use super::{Input, Lines, LoadError, ReadOptions, Summary};
use serde_json::{Map, Value};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// An organisation of the org block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    pub org_id: String,
    pub name: Option<String>,
    /// ISO 3166 alpha-2 code, as the file gives it.
    pub country: Option<String>,
    /// The registry (RIR or NIR) whose WHOIS data the record came from.
    pub source: Option<String>,
    /// `YYYYMMDD` of the WHOIS record's last change.
    pub changed: Option<String>,
}

/// An AS of the AS block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsEntry {
    pub asn: u32,
    /// The AS name (`aut_name`), e.g. `GOOGLE`.
    pub name: Option<String>,
    pub org_id: Option<String>,
    /// The opaque id of the RIR's extended delegation file (newer files only).
    pub opaque_id: Option<String>,
    pub source: Option<String>,
    pub changed: Option<String>,
}

/// The content of an as2org file: organisations by id, ASes by number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct As2Org {
    pub orgs: HashMap<String, Org>,
    pub ases: HashMap<u32, AsEntry>,
}

impl As2Org {
    /// The organisation holding `asn`, if the AS and its organisation are known.
    pub fn org(&self, asn: u32) -> Option<&Org> {
        let org_id = self.ases.get(&asn)?.org_id.as_ref()?;
        self.orgs.get(org_id)
    }

    /// How many ASes name an organisation that is not in the file.
    pub fn ases_without_org(&self) -> usize {
        self.ases
            .values()
            .filter(|a| {
                a.org_id
                    .as_ref()
                    .is_none_or(|id| !self.orgs.contains_key(id))
            })
            .count()
    }

    /// Keep `org` unless the one already there is at least as recent.
    fn add_org(&mut self, org: Org, summary: &mut Summary) {
        match self.orgs.entry(org.org_id.clone()) {
            Entry::Vacant(e) => {
                e.insert(org);
            }
            Entry::Occupied(mut e) => {
                summary.count("duplicate organisation");
                if org.changed > e.get().changed {
                    e.insert(org);
                }
            }
        }
    }

    /// Keep `entry` unless the one already there is at least as recent.
    fn add_as(&mut self, entry: AsEntry, summary: &mut Summary) {
        match self.ases.entry(entry.asn) {
            Entry::Vacant(e) => {
                e.insert(entry);
            }
            Entry::Occupied(mut e) => {
                summary.count("duplicate ASN");
                // `None < Some(_)`: a record without a date loses to one with a date.
                if entry.changed > e.get().changed {
                    e.insert(entry);
                }
            }
        }
    }
}

/// One data item of either format.
enum Item {
    Org(Org),
    As(AsEntry),
}

/// Read an as2org file (pipe-separated or JSON lines, plain or compressed).
pub fn read_as2org(input: Input, opts: &mut ReadOptions) -> Result<(As2Org, Summary), LoadError> {
    let mut result = As2Org::default();
    let mut summary = Summary::default();
    let mut lines = input.lines();
    let mut parser: Option<Parser> = None;
    while let Some(line) = lines.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                truncated(opts, &mut summary, e)?;
                return Ok(finish(result, summary));
            }
        };
        summary.records += 1;
        if summary.records % TICK_LINES == 0 {
            opts.tick(lines.input())?;
        }
        if line.trim().is_empty() {
            continue;
        }
        let parser = parser.get_or_insert_with(|| match line.starts_with('{') {
            true => Parser::Json,
            false => Parser::Pipe(None),
        });
        match parser.parse(&line, &lines) {
            Ok(None) => {}
            Ok(Some(item)) => {
                summary.entries += 1;
                match item {
                    Item::Org(org) => result.add_org(org, &mut summary),
                    Item::As(entry) => result.add_as(entry, &mut summary),
                }
            }
            Err(e) => opts.bad_item(&mut summary, "malformed line", e)?,
        }
    }
    Ok(finish(result, summary))
}

fn finish(result: As2Org, mut summary: Summary) -> (As2Org, Summary) {
    summary.prefixes = result.ases.len() as u64;
    (result, summary)
}

/// The format of the file, once its first line is seen.
enum Parser {
    Json,
    /// The columns of the current block (none before the first `# format:` line).
    Pipe(Option<Block>),
}

impl Parser {
    /// The item on `line`, `None` for a comment or format line.
    fn parse(&mut self, line: &str, lines: &Lines) -> Result<Option<Item>, LoadError> {
        match self {
            Parser::Json if line.starts_with('#') => Ok(None),
            Parser::Json => json_item(line).map(Some).map_err(|m| lines.error(m)),
            Parser::Pipe(block) => {
                if let Some(spec) = line.strip_prefix("# format:") {
                    *block = Some(Block::new(spec).map_err(|m| lines.error(m))?);
                    return Ok(None);
                }
                if line.starts_with('#') {
                    return Ok(None);
                }
                match block {
                    Some(block) => block.item(line).map(Some).map_err(|m| lines.error(m)),
                    None => Err(lines.error(format!(
                        "expected a '# format:' line before the first data line, got {line:?} (not an as2org file?)"
                    ))),
                }
            }
        }
    }
}

/// What a column of a pipe-format block holds.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Column {
    Aut,
    OrgId,
    Changed,
    Name,
    Country,
    OpaqueId,
    Source,
    Other,
}

/// The columns named by a `# format:` line, and whether it is the org or AS block.
struct Block {
    is_org: bool,
    columns: Vec<Column>,
}

const FORMATS: &str = "the org block 'org_id|changed|org_name|country|source' or the AS block 'aut|changed|aut_name|org_id[|opaque_id]|source'";

impl Block {
    fn new(spec: &str) -> Result<Block, String> {
        let names: Vec<&str> = spec.trim().split('|').map(str::trim).collect();
        let is_org = match names.first() {
            Some(&"org_id") => true,
            Some(&"aut") => false,
            _ => {
                return Err(format!(
                    "unknown '# format:' line {spec:?}, expected {FORMATS}"
                ))
            }
        };
        let columns = names
            .iter()
            .map(|name| match *name {
                "aut" => Column::Aut,
                "org_id" => Column::OrgId,
                "changed" => Column::Changed,
                "name" | "org_name" | "aut_name" => Column::Name,
                "country" => Column::Country,
                "opaque_id" => Column::OpaqueId,
                "source" => Column::Source,
                _ => Column::Other,
            })
            .collect();
        Ok(Block { is_org, columns })
    }

    fn item(&self, line: &str) -> Result<Item, String> {
        let fields: Vec<&str> = line.split('|').collect();
        if fields.len() != self.columns.len() {
            let what = if self.is_org { "organisation" } else { "AS" };
            return Err(format!(
                "expected {} '|'-separated fields for an {what} line, got {}: {line:?}",
                self.columns.len(),
                fields.len()
            ));
        }
        let get = |want: Column| {
            let i = self.columns.iter().position(|&c| c == want)?;
            non_empty(fields[i])
        };
        if self.is_org {
            let org_id = get(Column::OrgId).ok_or("empty org_id")?;
            Ok(Item::Org(Org {
                org_id,
                name: get(Column::Name),
                country: get(Column::Country),
                source: get(Column::Source),
                changed: get(Column::Changed),
            }))
        } else {
            let aut = get(Column::Aut).unwrap_or_default();
            Ok(Item::As(AsEntry {
                asn: parse_asn(&aut)?,
                name: get(Column::Name),
                org_id: get(Column::OrgId),
                opaque_id: get(Column::OpaqueId),
                source: get(Column::Source),
                changed: get(Column::Changed),
            }))
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_asn(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(asn) if !s.trim().starts_with('+') => Ok(asn),
        _ => Err(format!("bad AS number {s:?}")),
    }
}

/// One line of the JSON-lines format.
fn json_item(line: &str) -> Result<Item, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value.as_object().ok_or("expected a JSON object")?;
    match obj.get("type").and_then(Value::as_str) {
        Some("Organization") => Ok(Item::Org(Org {
            org_id: text(obj, "organizationId")?.ok_or("no organizationId")?,
            name: text(obj, "name")?,
            country: text(obj, "country")?,
            source: text(obj, "source")?,
            changed: text(obj, "changed")?,
        })),
        Some("ASN") => {
            let asn = match obj.get("asn") {
                Some(Value::String(s)) => parse_asn(s)?,
                Some(Value::Number(n)) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("bad AS number {n}"))?,
                _ => return Err("no asn".into()),
            };
            Ok(Item::As(AsEntry {
                asn,
                name: text(obj, "name")?,
                org_id: text(obj, "organizationId")?,
                opaque_id: text(obj, "opaqueId")?,
                source: text(obj, "source")?,
                changed: text(obj, "changed")?,
            }))
        }
        _ => Err(format!(
            "expected \"type\": \"ASN\" or \"Organization\", got {}",
            obj.get("type").map_or("none".into(), Value::to_string)
        )),
    }
}

/// A string field: `None` when missing, null or empty.
fn text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(non_empty(s)),
        Some(other) => Err(format!("{key} is not a string: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::{NoProgress, OnError};
    use std::path::{Path, PathBuf};

    use crate::testutil::shared;

    fn read(path: &Path, on_error: OnError) -> Result<(As2Org, Summary), LoadError> {
        let mut opts = ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        read_as2org(Input::open(path)?, &mut opts)
    }

    fn temp(name: &str, text: &str) -> PathBuf {
        crate::testutil::temp_file("as2org", name, text)
    }

    #[test]
    fn reads_the_2017_file_with_five_as_fields() {
        let (db, s) = read(
            &shared("as2org/20170401.as-org2info.txt.gz"),
            OnError::Raise,
        )
        .unwrap();
        // Counts from SOURCES.md: 66,931 orgs, 80,070 AS lines of which 234 repeat an ASN.
        assert_eq!((db.orgs.len(), s.entries), (66_931, 66_931 + 80_070));
        assert_eq!(
            (db.ases.len(), s.skipped["duplicate ASN"]),
            (80_070 - 234, 234)
        );
        assert_eq!(db.ases_without_org(), 0);
        let google = db.org(15169).unwrap();
        assert_eq!(
            (
                google.org_id.as_str(),
                google.name.as_deref(),
                google.country.as_deref()
            ),
            ("GOGL-ARIN", Some("Google Inc."), Some("US"))
        );
        // 13335 is in the file from ARIN (changed 20170217) and RIPE (no date).
        let cf = &db.ases[&13335];
        assert_eq!(cf.name.as_deref(), Some("CLOUDFLARENET"));
        assert_eq!(
            (cf.source.as_deref(), cf.changed.as_deref()),
            (Some("ARIN"), Some("20170217"))
        );
        assert_eq!(cf.opaque_id, None);
    }

    #[test]
    fn reads_the_2020_file_with_six_as_fields() {
        let (db, s) = read(
            &shared("as2org/20200701.as-org2info.txt.gz"),
            OnError::Raise,
        )
        .unwrap();
        assert_eq!((db.orgs.len(), db.ases.len()), (79_462, 97_046));
        assert!(s.skipped.is_empty());
        let google = &db.ases[&15169];
        assert_eq!(
            google.opaque_id.as_deref(),
            Some("9d99e3f7d38d1b8026f2ebbea4017c9f_ARIN")
        );
        assert_eq!(db.org(15169).unwrap().name.as_deref(), Some("Google LLC"));
        let dtag = &db.ases[&3320];
        assert_eq!(
            (dtag.changed.as_deref(), dtag.opaque_id.as_deref()),
            (None, None)
        );
        assert_eq!(db.org(3320).unwrap().country.as_deref(), Some("DE"));
    }

    const PIPE: &str = "# comment\n\
        # format:aut|changed|aut_name|org_id|source\n\
        10|20010101|OLD|ORG-A|ARIN\n\
        # format:org_id|changed|org_name|country|source\n\
        ORG-A|20200202|Org A|US|ARIN\n\
        # format:aut|changed|aut_name|org_id|opaque_id|source\n\
        10|20200101|NEW|ORG-A|x_ARIN|RIPE\n\
        10|20200101|TIE|ORG-A|y_ARIN|RIPE\n\
        11||ORPHAN|ORG-Z||APNIC\n\
        12|20190101|NOORG|||APNIC\n";

    #[test]
    fn layouts_switch_at_format_lines_and_the_latest_record_wins() {
        let (db, s) = read(&temp("pipe.txt", PIPE), OnError::Raise).unwrap();
        let a = &db.ases[&10];
        assert_eq!(
            (a.name.as_deref(), a.opaque_id.as_deref()),
            (Some("NEW"), Some("x_ARIN"))
        );
        assert_eq!(s.skipped["duplicate ASN"], 2);
        assert_eq!(db.ases_without_org(), 2);
        assert_eq!(db.org(11), None);
        assert_eq!(db.ases[&12].org_id, None);
        assert_eq!((s.entries, s.prefixes, s.records), (6, 3, 10));
    }

    #[test]
    fn json_lines_give_the_same_as_the_pipe_format() {
        let json = [
            r#"{"type": "ASN", "asn": "10", "changed": "20010101", "name": "OLD", "organizationId": "ORG-A", "source": "ARIN"}"#,
            r#"{"type": "Organization", "organizationId": "ORG-A", "changed": "20200202", "name": "Org A", "country": "US", "source": "ARIN"}"#,
            r#"{"type": "ASN", "asn": "10", "changed": "20200101", "name": "NEW", "organizationId": "ORG-A", "opaqueId": "x_ARIN", "source": "RIPE"}"#,
            r#"{"type": "ASN", "asn": 10, "changed": "20200101", "name": "TIE", "organizationId": "ORG-A", "opaqueId": "y_ARIN", "source": "RIPE"}"#,
            r#"{"type": "ASN", "asn": "11", "changed": null, "name": "ORPHAN", "organizationId": "ORG-Z", "opaqueId": "", "source": "APNIC"}"#,
            "",
            r#"{"type": "ASN", "asn": "12", "changed": "20190101", "name": "NOORG", "source": "APNIC"}"#,
        ];
        let (from_json, _) = read(&temp("a.jsonl", &json.join("\n")), OnError::Raise).unwrap();
        let (from_pipe, _) = read(&temp("pipe2.txt", PIPE), OnError::Raise).unwrap();
        assert_eq!(from_json, from_pipe);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let cases = [
            ("1.0.0.0/24\t15169\n", "line 1: expected a '# format:' line"),
            (
                "# format:as|source|type\n1|CAIDA|Content\n",
                "line 1: unknown '# format:' line",
            ),
            (
                "# format:aut|changed|aut_name|org_id|source\n1|x|A|B\n",
                "line 2: expected 5 '|'-separated fields for an AS line, got 4",
            ),
            (
                "# format:aut|changed|aut_name|org_id|source\nAS1|x|A|B|C\n",
                "line 2: bad AS number \"AS1\"",
            ),
            (
                "# format:org_id|changed|org_name|country|source\n|x|A|B|C\n",
                "line 2: empty org_id",
            ),
            (
                "{\"type\": \"ASN\", \"asn\": \"1\"}\n{\"type\": \"AS\"}\n",
                "line 2: expected \"type\": \"ASN\" or \"Organization\", got \"AS\"",
            ),
            (
                "{\"type\": \"ASN\", \"asn\": \"1\"}\n{\"type\": \"ASN\",\n",
                "line 2: invalid JSON",
            ),
            (
                "{\"type\": \"ASN\", \"asn\": \"4294967296\"}\n",
                "line 1: bad AS number",
            ),
            (
                "{\"type\": \"ASN\", \"asn\": \"1\", \"name\": 5}\n",
                "line 1: name is not a string: 5",
            ),
            (
                "{\"type\": \"ASN\", \"asn\": \"1\"}\n[1]\n",
                "line 2: expected a JSON object",
            ),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let name = format!("bad{i}.txt");
            let err = read(&temp(&name, text), OnError::Raise)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&name) && err.contains(want),
                "{err} (wanted {want})"
            );
        }
        let (db, s) = read(&temp("bad.txt", cases[2].0), OnError::Skip).unwrap();
        assert!(db.ases.is_empty() && s.skipped["malformed line"] == 1);
    }

    #[test]
    fn empty_file_is_empty() {
        let (db, s) = read(&temp("empty.txt", ""), OnError::Raise).unwrap();
        assert_eq!((db, s.records), (As2Org::default(), 0));
    }
}
