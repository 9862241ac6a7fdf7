//! AS names: the name and country a registry gives each AS number, offline. Two
//! formats, told apart by content (a first non-blank byte `{` means JSON):
//! - **pyasn's JSON** (`asnames.json(.gz)`): one object `{"<asn>": "<text>"}`, e.g.
//!   `"15169": "GOOGLE - Google Inc., US"`.
//! - **cidr-report text** (`autnums`, pyasn's `asnames.txt`): lines `AS<n> <text>`,
//!   32-bit ASNs written ASDOT as `AS<hi>.<lo>` (= hi * 65536 + lo) or as plain
//!   numbers; `#` lines are comments. RIPE's `asn.txt` (all registries' AS names,
//!   updated daily) is the same with the `AS` left out: `15169 GOOGLE - Google LLC, US`.
//!
//! The text is kept whole ([`AsName::text`]) and split by [`AsName::parse`]:
//! 1. A trailing `, CC` (two ASCII capitals) is the **country**, cut off the rest;
//!    `ZZ` (the registries' "unknown") reads as no country. Anything else (`, na`)
//!    stays in the text.
//! 2. Registry placeholders starting with `-` (`-Reserved AS-`, `-Private Use AS-`)
//!    have no handle: the description is the whole rest.
//! 3. If the rest holds ` - ` and the part before the first one is a single word,
//!    that word is the **handle** and the part after it the **description**
//!    (`GOOGLE - Google Inc.`; ARIN style, the handle may be numeric).
//! 4. Otherwise, if the first word looks like a handle (only ASCII capitals, digits,
//!    `-`, `_`, `.`, with a capital), it is the handle and the rest the description
//!    (`DTAG Deutsche Telekom AG`; RIPE and APNIC style).
//! 5. Otherwise there is no handle (`Rayservers GmbH`; LACNIC names often have none).
//!
//! The split is a heuristic: an organisation name in capitals without a handle
//! (`DF LINK TELECOM`) gets its first word as handle. An empty description is `None`.
//! An ASN listed twice keeps its first text; later ones count as `duplicate ASN`.

use super::{
    for_each_line, truncated, Input, LoadError, Location, OnError, Progress, ReadOptions, Summary,
};
use serde::de::{self, MapAccess, Visitor};
use serde::Deserializer as _;
use std::cell::Cell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::path::PathBuf;

/// An AS's name text and its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsName {
    /// The text as the file gives it (surrounding blanks removed).
    pub text: String,
    /// The AS handle (`GOOGLE`, `LVLT-1`).
    pub handle: Option<String>,
    /// The holder's name or other description.
    pub description: Option<String>,
    /// ISO 3166 alpha-2 country code.
    pub country: Option<String>,
}

impl AsName {
    /// Split `text` by the rules in the module documentation.
    pub fn parse(text: &str) -> AsName {
        let text = text.trim();
        let (rest, country) = split_country(text);
        let (handle, description) = split_handle(rest);
        AsName {
            text: text.to_string(),
            handle: handle.map(str::to_string),
            description: Some(description.trim())
                .filter(|d| !d.is_empty())
                .map(str::to_string),
            country: country.filter(|&c| c != "ZZ").map(str::to_string),
        }
    }
}

fn split_country(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(", ") {
        Some((rest, cc)) if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_uppercase()) => {
            (rest.trim_end(), Some(cc))
        }
        _ => (text, None),
    }
}

fn split_handle(rest: &str) -> (Option<&str>, &str) {
    if rest.starts_with('-') {
        return (None, rest);
    }
    if let Some((before, after)) = rest.split_once(" - ") {
        if !before.is_empty() && !before.contains(char::is_whitespace) {
            return (Some(before), after);
        }
    }
    let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let handle_like = first.bytes().any(|b| b.is_ascii_uppercase())
        && first
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    match handle_like {
        true => (Some(first), after),
        false => (None, rest),
    }
}

/// Read an AS names file (pyasn JSON or cidr-report text, plain or compressed).
pub fn read_asnames(
    mut input: Input,
    opts: &mut ReadOptions,
) -> Result<(HashMap<u32, AsName>, Summary), LoadError> {
    let is_json = input
        .peek()?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    let mut names = HashMap::new();
    let mut summary = match is_json {
        true => read_json(input, opts, &mut names)?,
        false => read_text(input, opts, &mut names)?,
    };
    summary.prefixes = names.len() as u64;
    Ok((names, summary))
}

fn add(names: &mut HashMap<u32, AsName>, summary: &mut Summary, asn: u32, text: &str) {
    summary.entries += 1;
    match names.entry(asn) {
        Entry::Vacant(e) => {
            e.insert(AsName::parse(text));
        }
        Entry::Occupied(_) => summary.count("duplicate ASN"),
    }
}

fn read_text(
    input: Input,
    opts: &mut ReadOptions,
    names: &mut HashMap<u32, AsName>,
) -> Result<Summary, LoadError> {
    let mut summary = Summary::default();
    for_each_line(
        input,
        opts,
        &mut summary,
        |l| l.starts_with('#'),
        |line, s| {
            let (asn, text) = parse_text_line(line)?;
            add(names, s, asn, text);
            Ok(())
        },
    )?;
    Ok(summary)
}

/// `AS<n> <text>` or `AS<hi>.<lo> <text>`, the `AS` optional (RIPE's `asn.txt`).
fn parse_text_line(line: &str) -> Result<(u32, &str), String> {
    let bad = || format!("expected 'AS<number> <name>' or '<number> <name>', got {line:?}");
    let rest = line.strip_prefix("AS").unwrap_or(line);
    let (number, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let asn = match number.split_once('.') {
        None if digits(number) => number.parse::<u32>().ok(),
        Some((hi, lo)) if digits(hi) && digits(lo) => {
            match (hi.parse::<u16>(), lo.parse::<u16>()) {
                (Ok(hi), Ok(lo)) => Some((hi as u32) << 16 | lo as u32),
                _ => None,
            }
        }
        _ => return Err(bad()),
    };
    let written = &line[..line.len() - rest.len() + number.len()];
    asn.map(|a| (a, text))
        .ok_or_else(|| format!("bad AS number '{written}'"))
}

/// The decompressed stream as serde_json reads it (a byte at a time): counts line
/// ends so that entries can be placed, reports progress, and keeps the load error
/// behind an I/O failure.
struct Tracked<'a> {
    input: Input,
    progress: &'a mut dyn Progress,
    newlines: &'a Cell<u64>,
    failed: &'a Cell<Option<LoadError>>,
    since_tick: u64,
}

const TICK_BYTES: u64 = 1 << 16;

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf).map_err(|e| {
            let kind = e.kind();
            self.failed.set(Some(self.input.read_error(e)));
            io::Error::from(kind)
        })?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.newlines.set(self.newlines.get() + newlines as u64);
        self.since_tick += n as u64;
        if self.since_tick >= TICK_BYTES {
            self.since_tick = 0;
            if !self
                .progress
                .update(self.input.position(), self.input.size())
            {
                self.failed.set(Some(LoadError::Interrupted));
                return Err(io::Error::other("interrupted"));
            }
        }
        Ok(n)
    }
}

/// Visits the top-level object, entry by entry.
struct Entries<'a> {
    names: &'a mut HashMap<u32, AsName>,
    summary: &'a mut Summary,
    on_error: OnError,
    path: PathBuf,
    newlines: &'a Cell<u64>,
    failed: &'a Cell<Option<LoadError>>,
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of AS number -> name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value: serde_json::Value = map.next_value()?;
            let asn = key.parse::<u32>().ok().filter(|_| !key.starts_with('+'));
            let message = match (asn, value.as_str()) {
                (Some(asn), Some(text)) => {
                    add(self.names, self.summary, asn, text);
                    continue;
                }
                (None, _) => format!("key {key:?} is not an AS number"),
                (_, None) => format!("the name of AS {key} is not a string: {value}"),
            };
            let at = Location::Line(self.newlines.get() + 1);
            let err = LoadError::format(&self.path, at, message);
            let opts = ReadOptions {
                on_error: self.on_error,
                progress: &mut super::NoProgress,
            };
            if let Err(e) = opts.bad_item(self.summary, "malformed entry", err) {
                self.failed.set(Some(e));
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

fn read_json(
    input: Input,
    opts: &mut ReadOptions,
    names: &mut HashMap<u32, AsName>,
) -> Result<Summary, LoadError> {
    let mut summary = Summary::default();
    let path = input.path().to_path_buf();
    let (newlines, failed) = (Cell::new(0), Cell::new(None));
    let mut reader = Tracked {
        input,
        progress: &mut *opts.progress,
        newlines: &newlines,
        failed: &failed,
        since_tick: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(&mut reader);
    let visitor = Entries {
        names,
        summary: &mut summary,
        on_error: opts.on_error,
        path: path.clone(),
        newlines: &newlines,
        failed: &failed,
    };
    let result = de.deserialize_map(visitor).and_then(|()| de.end());
    summary.records = newlines.get() + 1;
    let Err(e) = result else {
        return Ok(summary);
    };
    // A read error, or a bad entry with OnError::Raise (raised again just below).
    let err = match failed.take() {
        Some(LoadError::Interrupted) => return Err(LoadError::Interrupted),
        Some(e) => e,
        None => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or_default();
            let at = Location::Line(e.line() as u64);
            LoadError::format(
                &path,
                at,
                format!("invalid JSON: {message}, column {}", e.column()),
            )
        }
    };
    truncated(opts, &mut summary, err)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::NoProgress;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    fn shared(rel: &str) -> PathBuf {
        crate::testutil::shared(&format!("asnames/{rel}"))
    }

    type Names = HashMap<u32, AsName>;

    fn read(path: &Path, on_error: OnError) -> Result<(Names, Summary), LoadError> {
        let mut opts = ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        read_asnames(Input::open(path)?, &mut opts)
    }

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        crate::testutil::temp_file("asnames", name, bytes)
    }

    fn parts(text: &str) -> (Option<String>, Option<String>, Option<String>) {
        let n = AsName::parse(text);
        (n.handle, n.description, n.country)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn splitting_rules() {
        assert_eq!(
            parts("GOOGLE - Google Inc., US"),
            (some("GOOGLE"), some("Google Inc."), some("US"))
        );
        assert_eq!(
            parts("DTAG Deutsche Telekom AG, DE"),
            (some("DTAG"), some("Deutsche Telekom AG"), some("DE"))
        );
        assert_eq!(
            parts("-Private Use AS-"),
            (None, some("-Private Use AS-"), None)
        );
        assert_eq!(
            parts("-Reserved AS-, ZZ"),
            (None, some("-Reserved AS-"), None)
        );
        assert_eq!(
            parts("Rayservers GmbH, PA"),
            (None, some("Rayservers GmbH"), some("PA"))
        );
        assert_eq!(
            parts("Rubens Jose Belao - ME, BR"),
            (None, some("Rubens Jose Belao - ME"), some("BR"))
        );
        assert_eq!(parts("LACNIC"), (some("LACNIC"), None, None));
        assert_eq!(parts("UE-VARNA , BG"), (some("UE-VARNA"), None, some("BG")));
        assert_eq!(
            parts("SLLNET Stockholms Lans Landsting, na"),
            (some("SLLNET"), some("Stockholms Lans Landsting, na"), None)
        );
        assert_eq!(
            parts("ECG-CHARLOTTE - Ecommerce Group, Inc. - Charlotte, US"),
            (
                some("ECG-CHARLOTTE"),
                some("Ecommerce Group, Inc. - Charlotte"),
                some("US")
            )
        );
        assert_eq!(
            parts("20069 - Royal Bank of Canada, CA"),
            (some("20069"), some("Royal Bank of Canada"), some("CA"))
        );
        assert_eq!(
            parts("LVLT-1 - Level 3 Communications, Inc."),
            (some("LVLT-1"), some("Level 3 Communications, Inc."), None)
        );
        assert_eq!(parts(""), (None, None, None));
        assert_eq!(AsName::parse("  X - y  ").text, "X - y");
    }

    #[test]
    fn reads_pyasns_json() {
        let (names, s) = read(&shared("asnames.json.gz"), OnError::Raise).unwrap();
        assert_eq!((names.len(), s.entries), (77_586, 77_586));
        let g = &names[&15169];
        assert_eq!(g.text, "GOOGLE - Google Inc., US");
        assert_eq!(
            (g.handle.as_deref(), g.country.as_deref()),
            (Some("GOOGLE"), Some("US"))
        );
    }

    #[test]
    fn reads_the_cidr_report_text_with_asdot() {
        let (names, s) = read(&shared("asnames_20140524.txt.gz"), OnError::Raise).unwrap();
        assert_eq!((names.len() as u64, s.records), (105_750, 105_750));
        assert_eq!(names[&0].description.as_deref(), Some("-Private Use AS-"));
        assert_eq!(names[&15169].handle.as_deref(), Some("GOOGLE"));
        // AS6.5 ISC-32AS - Internet Systems Consortium, Inc.
        assert_eq!(names[&(6 * 65536 + 5)].handle.as_deref(), Some("ISC-32AS"));
        assert_eq!(names[&u32::MAX].text, "-Reserved AS-");
    }

    #[test]
    fn reads_ripe_asn_txt_without_the_as() {
        let p = crate::testutil::temp_file(
            "asnames",
            "asn.txt",
            "15169 GOOGLE - Google LLC, US\n4294967295 X\n",
        );
        let (names, _) = read(&p, OnError::Raise).unwrap();
        assert_eq!(names[&15169].handle.as_deref(), Some("GOOGLE"));
        assert_eq!(names[&15169].country.as_deref(), Some("US"));
        assert_eq!(names[&u32::MAX].text, "X");
        std::fs::write(&p, "4294967296 X\n").unwrap();
        let err = read(&p, OnError::Raise).unwrap_err().to_string();
        assert!(err.contains("line 1: bad AS number '4294967296'"), "{err}");
    }

    #[test]
    fn bad_input_names_file_and_line() {
        let cases: [(&str, &[u8], &str); 8] = [
            (
                "ipasn.txt",
                b"; IP-ASN32-DAT\n1.0.0.0/24\t1\n",
                "line 1: expected 'AS<number> <name>'",
            ),
            (
                "dot.txt",
                b"AS1 A\nAS1.65536 B\n",
                "line 2: bad AS number 'AS1.65536'",
            ),
            (
                "big.txt",
                b"AS4294967296 X\n",
                "line 1: bad AS number 'AS4294967296'",
            ),
            (
                "neg.txt",
                b"AS-1 X\n",
                "line 1: expected 'AS<number> <name>'",
            ),
            (
                "key.json",
                b"{\"1\": \"A\",\n \"x\": \"B\"}",
                "line 2: key \"x\" is not an AS number",
            ),
            (
                "val.json",
                b"{\"1\": \"A\",\n\n \"2\": 3}",
                "line 3: the name of AS 2 is not a string: 3",
            ),
            (
                "cut.json",
                b"{\"1\": \"A\",\n \"2\": \"B",
                "line 2: invalid JSON: EOF while parsing a string, column 8",
            ),
            (
                "list.json",
                b"{\"1\": \"A\"} []",
                "line 1: invalid JSON: trailing characters",
            ),
        ];
        for (name, bytes, want) in cases {
            let err = read(&temp(name, bytes), OnError::Raise)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name) && err.contains(want),
                "{err} (wanted {want})"
            );
        }
    }

    #[test]
    fn skip_keeps_what_can_be_read() {
        let (names, s) = read(
            &temp(
                "s.json",
                b"{\"1\": \"A\", \"x\": \"B\", \"2\": null, \"3\": \"C\", \"1\": \"D\"}",
            ),
            OnError::Skip,
        )
        .unwrap();
        assert_eq!((names.len(), names[&1].text.as_str()), (2, "A"));
        assert_eq!(
            (s.skipped["malformed entry"], s.skipped["duplicate ASN"]),
            (2, 1)
        );
        let (names, s) =
            read(&temp("c.json", b"{\"1\": \"A\", \"2\": \"B"), OnError::Skip).unwrap();
        assert_eq!((names.len(), s.truncated), (1, true));
        let (names, s) = read(&temp("t.txt", b"AS1 A\nxx\nAS2 B\n"), OnError::Skip).unwrap();
        assert_eq!((names.len(), s.skipped["malformed line"]), (2, 1));
    }

    #[test]
    fn corrupt_gzip_and_empty_files() {
        let text: String = (0..100_000)
            .map(|i| format!("\"{i}\": \"AS-{i} - Org {i}, US\", "))
            .collect();
        let json = format!("{{{} \"0\": \"x\"}}", text);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(json.as_bytes()).unwrap();
        let gz = e.finish().unwrap();
        let p = temp("cut.json.gz", &gz[..gz.len() / 2]);
        let err = read(&p, OnError::Raise).unwrap_err().to_string();
        assert!(
            err.contains("cut.json.gz: byte offset") && err.contains("truncated or corrupt"),
            "{err}"
        );
        let (names, s) = read(&p, OnError::Skip).unwrap();
        assert!(s.truncated && !names.is_empty() && names.len() < 100_000);
        for (name, bytes) in [
            ("e.txt", &b""[..]),
            ("e.json", b"{}"),
            ("blank.txt", b"\n\n"),
        ] {
            let (names, _) = read(&temp(name, bytes), OnError::Raise).unwrap();
            assert!(names.is_empty(), "{name}");
        }
    }
}
