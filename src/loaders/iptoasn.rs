//! iptoasn.com's TSV files (<https://iptoasn.com/>), in two layouts, told apart by
//! the column count of the first data line:
//! - ip2asn (`ip2asn-v4.tsv.gz`, `-v6`, `-combined`): `range_start<TAB>range_end<TAB>
//!   AS_number<TAB>country_code<TAB>AS_description`; rows of AS 0 (`None`,
//!   `Not routed`) mark unrouted space and are left out;
//! - ip2country (`ip2country-v4.tsv.gz`, `-v6`): `range_start<TAB>range_end<TAB>
//!   country_code`; rows without a country are left out.
//!
//! Ranges are inclusive and are split into the fewest prefixes that cover them
//! ([`crate::range`]). The files are sorted by range start but a few hundred ranges
//! overlap (a range inside an earlier one); every row's prefixes are handed on, in
//! file order, so a table built from them keeps the later row for a prefix that two
//! rows give, and a lookup finds the more specific one.

use super::{for_each_line, parse_asn, Input, LoadError, ReadOptions, Summary};
use crate::ip::{bad_address_message, parse_addr, IpPrefix};
use crate::range::ip_range_to_prefixes;
use std::net::IpAddr;

/// What an ip2asn row says about each prefix of its range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IptoasnRecord {
    pub asn: u32,
    /// The country of the AS's registration; `None` where the file says `None` (or
    /// nothing). Other values (iptoasn also writes `Unknown`) are kept as they are.
    pub country: Option<String>,
    pub description: String,
}

/// One data row of either layout.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IptoasnRow {
    /// An ip2asn row (5 columns).
    As(IptoasnRecord),
    /// An ip2country row (3 columns): the country code.
    Country(String),
}

/// The two layouts, by their column count.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Layout {
    As = 5,
    Country = 3,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::As => "ip2asn",
            Layout::Country => "ip2country",
        }
    }
}

/// Read an iptoasn file of either layout, calling `f(prefix, row)` for each prefix
/// of each kept row, in file order (all prefixes of one row one after the other,
/// with the same `row`).
///
/// Summary: `entries` counts the rows kept, `prefixes` the calls of `f`; rows left
/// out on purpose are counted under "not routed" (ip2asn, AS 0) or "no country"
/// (ip2country).
pub fn read_iptoasn(
    input: Input,
    opts: &mut ReadOptions,
    mut f: impl FnMut(IpPrefix, &IptoasnRow),
) -> Result<Summary, LoadError> {
    let mut summary = Summary::default();
    let mut layout = None;
    let mut prefixes = 0;
    for_each_line(
        input,
        opts,
        &mut summary,
        |_| false,
        |line, s| {
            match parse_line(line, &mut layout)? {
                Parsed::Row(range, row) => {
                    s.entries += 1;
                    for prefix in range {
                        prefixes += 1;
                        f(prefix, &row);
                    }
                }
                Parsed::Left(reason) => s.count(reason),
            }
            Ok(())
        },
    )?;
    summary.prefixes = prefixes;
    Ok(summary)
}

/// A well-formed line: a row to keep, or one left out for a reason.
enum Parsed {
    Row(crate::range::IpRangePrefixes, IptoasnRow),
    Left(&'static str),
}

/// Parse one data line; the first line with a known column count sets `layout`.
fn parse_line(line: &str, layout: &mut Option<Layout>) -> Result<Parsed, String> {
    let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
    let this = match cols.len() {
        5 => Layout::As,
        3 => Layout::Country,
        n => {
            return Err(format!(
                "expected 5 (ip2asn) or 3 (ip2country) tab-separated columns, got {n}: {line:?}"
            ))
        }
    };
    match *layout {
        Some(l) if l != this => {
            return Err(format!(
                "expected {} tab-separated columns ({} layout, as on the first data line), got {}",
                l as usize,
                l.name(),
                cols.len()
            ))
        }
        _ => *layout = Some(this),
    }
    let first = address(cols[0])?;
    let last = address(cols[1])?;
    let range = ip_range_to_prefixes(first, last).map_err(|e| e.message(first, last))?;
    let country = match cols[2 + (this == Layout::As) as usize] {
        "None" | "" => None,
        c => Some(c.to_string()),
    };
    Ok(match this {
        Layout::As => match parse_asn(cols[2])? {
            0 => Parsed::Left("not routed"),
            asn => Parsed::Row(
                range,
                IptoasnRow::As(IptoasnRecord {
                    asn,
                    country,
                    description: cols[4].to_string(),
                }),
            ),
        },
        Layout::Country => match country {
            None => Parsed::Left("no country"),
            Some(c) => Parsed::Row(range, IptoasnRow::Country(c)),
        },
    })
}

fn address(s: &str) -> Result<IpAddr, String> {
    parse_addr(s).ok_or_else(|| bad_address_message(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::parse_prefix;
    use crate::loaders::{NoProgress, OnError};
    use std::path::{Path, PathBuf};

    use crate::testutil::shared;

    fn temp(name: &str, content: &[u8]) -> PathBuf {
        crate::testutil::temp_file("iptoasn", name, content)
    }

    type Items = Vec<(IpPrefix, IptoasnRow)>;

    fn read(path: &Path, on_error: OnError) -> Result<(Items, Summary), LoadError> {
        let mut items = Vec::new();
        let mut opts = ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        let s = read_iptoasn(Input::open(path)?, &mut opts, |p, r| {
            items.push((p, r.clone()))
        })?;
        Ok((items, s))
    }

    fn p(s: &str) -> IpPrefix {
        parse_prefix(s, true).unwrap()
    }

    fn record(asn: u32, country: Option<&str>, description: &str) -> IptoasnRow {
        IptoasnRow::As(IptoasnRecord {
            asn,
            country: country.map(str::to_string),
            description: description.to_string(),
        })
    }

    #[test]
    fn splits_ip2asn_ranges_and_leaves_out_unrouted_space() {
        let path = temp(
            "small.tsv",
            b"1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n\
              1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n\
              1.0.4.0\t1.0.6.255\t38803\tNone\tWPL-AS-AP Wirefreebroadband\tPty Ltd\n\
              2001:200::\t2001:200:5ff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB WIDE Project\n",
        );
        // The description with a tab in it makes line 3 six columns: malformed.
        let err = read(&path, OnError::Raise).unwrap_err().to_string();
        assert!(err.contains("line 3: expected 5 (ip2asn) or 3"), "{err}");
        let (items, s) = read(&path, OnError::Skip).unwrap();
        let wide = record(2500, Some("JP"), "WIDE-BB WIDE Project");
        assert_eq!(
            items,
            [
                (p("1.0.0.0/24"), record(13335, Some("US"), "CLOUDFLARENET")),
                (p("2001:200::/38"), wide.clone()),
                (p("2001:200:400::/39"), wide),
            ]
        );
        assert_eq!((s.records, s.entries, s.prefixes), (4, 2, 3));
        assert_eq!(s.skipped["not routed"], 1);
        assert_eq!(s.skipped["malformed line"], 1);
    }

    #[test]
    fn reads_ip2country_rows_without_a_country_as_left_out() {
        let path = temp(
            "country.tsv",
            b"1.0.0.0\t1.0.0.255\tUS\n1.0.1.0\t1.0.3.255\tNone\n::\t::1\t\n1.0.4.0\t1.0.7.255\tAU\n",
        );
        let (items, s) = read(&path, OnError::Raise).unwrap();
        let c = |s: &str| IptoasnRow::Country(s.into());
        assert_eq!(
            items,
            [(p("1.0.0.0/24"), c("US")), (p("1.0.4.0/22"), c("AU"))]
        );
        assert_eq!(s.skipped["no country"], 2);
        assert_eq!(s.entries, 2);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let cases = [
            ("1.0.0.0\t1.0.0.255\n", "expected 5 (ip2asn) or 3 (ip2country) tab-separated columns, got 2"),
            ("1.0.0.0/24\t15169\n", "expected 5 (ip2asn) or 3 (ip2country)"),
            ("1.0.0.x\t1.0.0.255\tUS\n", "'1.0.0.x' does not appear to be an IPv4 or IPv6 address"),
            ("1.0.0.0\t::1\tUS\n", "range start 1.0.0.0 and end ::1 are of different IP versions"),
            ("1.0.0.9\t1.0.0.1\tUS\n", "range end 1.0.0.1 comes before its start 1.0.0.9"),
            ("1.0.0.0\t1.0.0.9\tAS1\tUS\tx\n", "bad AS number 'AS1'"),
            ("1.0.0.0\t1.0.0.9\t-1\tNone\tNot routed\n", "bad AS number '-1'"),
            (
                "1.0.0.0\t1.0.0.9\tUS\n1.0.0.10\t1.0.0.11\t1\tUS\tx\n",
                "line 2: expected 3 tab-separated columns (ip2country layout, as on the first data line), got 5",
            ),
            (
                "1.0.0.0\t1.0.0.9\t1\tUS\tx\n1.0.0.10\t1.0.0.11\tUS\n",
                "line 2: expected 5 tab-separated columns (ip2asn layout",
            ),
        ];
        for (i, (content, message)) in cases.iter().enumerate() {
            let path = temp(&format!("bad{i}.tsv"), content.as_bytes());
            let err = read(&path, OnError::Raise).unwrap_err().to_string();
            assert!(
                err.contains(&format!("bad{i}.tsv: line ")) && err.contains(message),
                "{content:?}: {err}"
            );
        }
    }

    #[test]
    fn the_first_well_formed_line_sets_the_layout() {
        let path = temp(
            "skip_layout.tsv",
            b"garbage\n1.0.0.0\t1.0.0.255\tUS\n1.0.1.0\t1.0.1.255\t1\tUS\tx\n",
        );
        let (items, s) = read(&path, OnError::Skip).unwrap();
        assert_eq!(items, [(p("1.0.0.0/24"), IptoasnRow::Country("US".into()))]);
        assert_eq!(s.skipped["malformed line"], 2);
        assert!(s.errors[1].contains("line 3"), "{:?}", s.errors);
    }

    /// Counts from a plain pass over the decompressed text.
    fn plain_counts(path: &Path) -> (u64, u64, u64) {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut kept = 0;
        let mut left = 0;
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let out = match cols.len() {
                5 => cols[2] == "0",
                _ => matches!(cols[2], "None" | ""),
            };
            match out {
                true => left += 1,
                false => kept += 1,
            }
        }
        (text.lines().count() as u64, kept, left)
    }

    #[test]
    fn reads_the_real_files() {
        for file in [
            "iptoasn/ip2asn-v6.tsv.gz",
            "iptoasn/ip2country-v4.tsv.gz",
            "iptoasn/ip2country-v6.tsv.gz",
        ] {
            let path = shared(file);
            let (items, s) = read(&path, OnError::Raise).unwrap();
            let (lines, kept, left) = plain_counts(&path);
            assert_eq!((s.records, s.entries), (lines, kept), "{file}");
            assert_eq!(s.skipped_total(), left, "{file}");
            assert_eq!(s.prefixes, items.len() as u64, "{file}");
            assert!(s.errors.is_empty() && !s.truncated);
        }
        // Published: 111,939 ranges, 75,482 routed.
        let (_, s) = read(&shared("iptoasn/ip2asn-v6.tsv.gz"), OnError::Raise).unwrap();
        assert_eq!((s.records, s.entries), (111_939, 75_482));
        let (items, _) = read(&shared("iptoasn/ip2country-v4.tsv.gz"), OnError::Raise).unwrap();
        assert_eq!(
            items[0],
            (p("1.0.0.0/24"), IptoasnRow::Country("US".into()))
        );
        assert_eq!(
            items[1],
            (p("1.0.4.0/22"), IptoasnRow::Country("AU".into()))
        );
    }
}
