//! pyasn's "ipasn" files (`.dat`, `.dat.gz`): `;` comment lines, then one
//! `prefix<TAB>asn` line per prefix. Read and written, so that pyasn users can move
//! both ways.

use super::{for_each_line, Input, LoadError, ReadOptions, Summary};
use crate::ip::{parse_prefix, IpPrefix};
use std::io::{self, Write};

/// The first header line of an ipasn file, as pyasn writes it.
pub const FILE_TAG: &str = "IP-ASN32-DAT file";

/// Read an ipasn file, calling `f(prefix, asn)` for each data line in file order.
pub fn read_ipasn(
    input: Input,
    opts: &mut ReadOptions,
    mut f: impl FnMut(IpPrefix, u32),
) -> Result<Summary, LoadError> {
    let mut summary = Summary::default();
    for_each_line(
        input,
        opts,
        &mut summary,
        |l| l.starts_with(';'),
        |line, s| {
            let (prefix, asn) = parse_line(line)?;
            s.entries += 1;
            f(prefix, asn);
            Ok(())
        },
    )?;
    summary.prefixes = summary.entries;
    Ok(summary)
}

fn parse_line(line: &str) -> Result<(IpPrefix, u32), String> {
    let (prefix, asn) = line
        .split_once('\t')
        .ok_or_else(|| format!("expected 'prefix<TAB>asn', got {line:?}"))?;
    let prefix = parse_prefix(prefix.trim(), true).map_err(|e| e.message(prefix))?;
    let asn = asn
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("bad AS number '{}'", asn.trim()))?;
    Ok((prefix, asn))
}

/// Write an ipasn file: the `header` lines as `;` comments, then the items.
pub fn write_ipasn<W: Write>(
    mut w: W,
    header: &[String],
    items: impl IntoIterator<Item = (IpPrefix, u32)>,
) -> io::Result<()> {
    for line in header {
        writeln!(w, "; {line}")?;
    }
    for (prefix, asn) in items {
        writeln!(w, "{prefix}\t{asn}")?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::{LoadError, NoProgress, OnError};

    use crate::testutil::shared;

    fn read(
        path: &std::path::Path,
        on_error: OnError,
    ) -> Result<(Vec<(IpPrefix, u32)>, Summary), LoadError> {
        let mut items = Vec::new();
        let mut opts = ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        let s = read_ipasn(Input::open(path)?, &mut opts, |p, a| items.push((p, a)))?;
        Ok((items, s))
    }

    #[test]
    fn reads_pyasns_fake_file() {
        let (items, s) = read(&shared("ipasn/ipasn.fake"), OnError::Raise).unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(s.records, 12);
        assert_eq!(items[0], (parse_prefix("1.0.0.0/30", true).unwrap(), 1));
    }

    #[test]
    fn reads_the_full_tables() {
        let (v4, s) = read(&shared("ipasn/ipasn_20140513.dat.gz"), OnError::Raise).unwrap();
        assert_eq!((v4.len(), s.prefixes), (512_621, 512_621));
        let (v46, _) = read(&shared("ipasn/ipasn6_20151101.dat.gz"), OnError::Raise).unwrap();
        let v6 = v46
            .iter()
            .filter(|(p, _)| matches!(p, IpPrefix::V6(_)))
            .count();
        assert_eq!((v46.len() - v6, v6), (606_138, 27_693));
    }

    #[test]
    fn write_then_read_gives_the_same_items() {
        let (items, _) = read(&shared("ipasn/ipasn6_20151101.dat.gz"), OnError::Raise).unwrap();
        let path = std::env::temp_dir().join(format!("geoip_rs_ipasn_{}.dat", std::process::id()));
        write_ipasn(
            std::fs::File::create(&path).unwrap(),
            &["test".into()],
            items.iter().copied(),
        )
        .unwrap();
        let (again, _) = read(&path, OnError::Raise).unwrap();
        assert_eq!(again, items);
    }

    #[test]
    fn bad_lines_raise_or_are_skipped() {
        let path =
            std::env::temp_dir().join(format!("geoip_rs_ipasn_bad_{}.dat", std::process::id()));
        std::fs::write(
            &path,
            "; c\n1.0.0.0/24\t1\n1.0.0.1/24\t2\nx\n2.0.0.0/8\tAS3\n3.0.0.0/8\t3\n",
        )
        .unwrap();
        let err = read(&path, OnError::Raise).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("has host bits set"),
            "{err}"
        );
        let (items, s) = read(&path, OnError::Skip).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(s.skipped["malformed line"], 3);
        assert!(s.errors[1].contains("line 4"), "{:?}", s.errors);
    }
}
