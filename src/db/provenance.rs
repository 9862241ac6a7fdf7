//! Where a database came from: each source file's name, date, size and SHA-256, the
//! build options, the geoip_rs version and the build time, saved as JSON in the
//! `meta` section.

use crate::loaders::{Input, LoadError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// One input file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceInfo {
    /// `mrt`, `ipasn`, `pfx2as`, `as2org`, `delegated` or `asnames`.
    pub kind: String,
    /// The file name (without its folder, which says nothing about the data).
    pub name: String,
    /// The date the data is from: from the content where the format has one (an MRT
    /// dump's first timestamp, a delegated file's end date), else from the file name
    /// (`20140513`, or a Unix time such as `1401487200`); `None` if neither has one.
    pub date: Option<String>,
    pub size: u64,
    pub sha256: String,
    /// Records (lines or MRT records) read, and those left out, by reason (as the
    /// load's summary gives them: malformed ones under `on_error="skip"`, and those a
    /// format leaves out, such as the default route or blocks not delegated).
    #[serde(default)]
    pub records: u64,
    #[serde(default)]
    pub skipped: BTreeMap<String, u64>,
}

/// The provenance and counts of a database.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    pub format_version: u32,
    pub geoip_rs_version: String,
    /// UTC, ISO 8601; `SOURCE_DATE_EPOCH` is honoured for reproducible builds.
    pub built: String,
    pub sources: Vec<SourceInfo>,
    pub options: BTreeMap<String, String>,
    pub counts: BTreeMap<String, u64>,
    /// A history's snapshots, oldest first: each the metadata of the database it
    /// was made from (the history's own `sources` are its newest snapshot's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<Metadata>,
}

impl SourceInfo {
    /// Describe `path`; `content_date` is the date the loader found inside, if any.
    pub fn of(path: &Path, kind: &str, content_date: Option<String>) -> Result<Self, LoadError> {
        let io = |error| LoadError::Io {
            path: path.to_path_buf(),
            error,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            size += n as u64;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let date = content_date.or_else(|| date_in_name(&name));
        Ok(SourceInfo {
            kind: kind.into(),
            sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            name,
            date,
            size,
            records: 0,
            skipped: BTreeMap::new(),
        })
    }

    /// With the counts of a load's summary.
    pub fn with_counts(self, summary: &crate::loaders::Summary) -> Self {
        SourceInfo {
            records: summary.records,
            skipped: summary.skipped.clone(),
            ..self
        }
    }
}

/// The time of an MRT file's first record (every MRT header starts with a Unix time).
pub fn mrt_date(path: &Path) -> Result<Option<String>, LoadError> {
    let mut input = Input::open(path)?;
    let head = input.peek()?;
    Ok(head
        .get(..4)
        .map(|b| iso_time(u32::from_be_bytes(b.try_into().unwrap()) as i64)))
}

/// A delegated file's `YYYYMMDD` as `YYYY-MM-DD`.
pub fn ymd(s: &str) -> Option<String> {
    let ok = s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit());
    let (y, m, d) = ok.then(|| (&s[..4], &s[4..6], &s[6..8]))?;
    let valid = ("1970".."2100").contains(&y) && ("01"..="12").contains(&m);
    (valid && ("01"..="31").contains(&d)).then(|| format!("{y}-{m}-{d}"))
}

/// A date in a file name: a run of 8 digits that reads as a date, else a run of 10
/// digits that reads as a Unix time between 1995 and 2100.
pub fn date_in_name(name: &str) -> Option<String> {
    let runs: Vec<&str> = name
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect();
    runs.iter().find_map(|r| ymd(r)).or_else(|| {
        runs.iter()
            .filter(|r| r.len() == 10)
            .filter_map(|r| r.parse::<i64>().ok())
            .find(|&t| (788_918_400..4_102_444_800).contains(&t))
            .map(iso_time)
    })
}

/// Unix time as `YYYY-MM-DDTHH:MM:SSZ` (the civil-from-days algorithm of Howard
/// Hinnant, so that no date crate is needed for this one conversion).
pub fn iso_time(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The build time: `SOURCE_DATE_EPOCH` if set (reproducible builds), else now.
pub fn build_time() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    iso_time(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_read_as_utc_dates() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1401487200`: the jinx RIB's time.
        assert_eq!(iso_time(1_401_487_200), "2014-05-30T22:00:00Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn dates_are_found_in_file_names() {
        assert_eq!(
            date_in_name("ipasn_20140513.dat.gz").as_deref(),
            Some("2014-05-13")
        );
        assert_eq!(
            date_in_name("routeviews-rv2-20141202-1200.pfx2as.gz").as_deref(),
            Some("2014-12-02")
        );
        assert_eq!(
            date_in_name("routeviews.route-views.jinx.ribs.1401487200.bz2").as_deref(),
            Some("2014-05-30T22:00:00Z")
        );
        assert_eq!(date_in_name("asnames.json.gz"), None);
        assert_eq!(date_in_name("x_20141399.txt"), None);
        assert_eq!(ymd("20140804").as_deref(), Some("2014-08-04"));
        assert_eq!(ymd("00000000"), None);
    }

    #[test]
    fn sources_are_hashed_and_sized() {
        let p = crate::testutil::temp_file("prov", "prov_20200102.txt", b"abc");
        let s = SourceInfo::of(&p, "ipasn", None).unwrap();
        assert_eq!(s.size, 3);
        // sha256("abc"), FIPS 180-2 example.
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.date.as_deref(), Some("2020-01-02"));
        assert!(SourceInfo::of(Path::new("/nonexistent/x"), "mrt", None).is_err());
    }
}
