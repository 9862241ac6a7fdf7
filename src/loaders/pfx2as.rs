//! CAIDA's RouteViews prefix-to-AS files (`routeviews-rv2-*.pfx2as.gz` for IPv4,
//! `rv6` for IPv6): one `network<TAB>prefixlen<TAB>origins` line per prefix, where
//! `origins` is one or more origins joined with `_` (a multi-origin prefix, ordered by
//! how many peers saw each origin) and an origin with `,` in it is an AS set
//! (<https://www.caida.org/catalog/datasets/routeviews-prefix2as/>). Read and written,
//! so that a table can be saved in the format it came in.

use super::{for_each_line, parse_asn, Input, LoadError, ReadOptions, Summary};
use crate::ip::{parse_prefix, IpPrefix};
use crate::origin::Origin;
use std::io::{self, Write};

/// Read a pfx2as file, calling `f(prefix, origins)` for each line in file order;
/// `origins` are in the order of the file (at least one).
pub fn read_pfx2as(
    input: Input,
    opts: &mut ReadOptions,
    mut f: impl FnMut(IpPrefix, Vec<Origin>),
) -> Result<Summary, LoadError> {
    let mut summary = Summary::default();
    for_each_line(
        input,
        opts,
        &mut summary,
        |_| false,
        |line, s| {
            let (prefix, origins) = parse_line(line)?;
            s.entries += 1;
            f(prefix, origins);
            Ok(())
        },
    )?;
    summary.prefixes = summary.entries;
    Ok(summary)
}

fn parse_line(line: &str) -> Result<(IpPrefix, Vec<Origin>), String> {
    let [network, len, origins] = columns(line)
        .ok_or_else(|| format!("expected 'network<TAB>prefixlen<TAB>origins', got {line:?}"))?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad prefix length '{len}'"));
    }
    let text = format!("{network}/{len}");
    let prefix = parse_prefix(&text, true).map_err(|e| e.message(&text))?;
    let origins = origins
        .split('_')
        .map(parse_origin)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e} in origins '{origins}'"))?;
    Ok((prefix, origins))
}

/// Exactly three tab-separated columns, each trimmed.
fn columns(line: &str) -> Option<[&str; 3]> {
    let mut it = line.split('\t').map(str::trim);
    let cols = [it.next()?, it.next()?, it.next()?];
    it.next().is_none().then_some(cols)
}

/// `15169`, or an AS set `1,2,3` of at least two distinct members (one member would
/// be written back as a plain AS, so it is not a set this format can hold).
fn parse_origin(s: &str) -> Result<Origin, String> {
    if !s.contains(',') {
        return parse_asn(s).map(Origin::Asn);
    }
    let members = s.split(',').map(parse_asn).collect::<Result<Vec<_>, _>>()?;
    match Origin::set(members) {
        Origin::Set(m) if m.len() < 2 => {
            Err(format!("AS set '{s}' has fewer than two distinct members"))
        }
        set => Ok(set),
    }
}

/// Write a pfx2as file: one line per prefix, origins in the order given. A prefix
/// with no origins, or an AS set with fewer than two members, is an
/// `InvalidInput` error (the format cannot hold it: it would read back differently).
pub fn write_pfx2as<W: Write, O: AsRef<[Origin]>>(
    mut w: W,
    items: impl IntoIterator<Item = (IpPrefix, O)>,
) -> io::Result<()> {
    for (prefix, origins) in items {
        let origins = origins.as_ref();
        if origins.is_empty() {
            return Err(invalid(format!("{prefix} has no origin")));
        }
        write!(w, "{}\t{}\t", prefix.addr(), prefix.prefix_len())?;
        for (i, origin) in origins.iter().enumerate() {
            if i > 0 {
                w.write_all(b"_")?;
            }
            match origin {
                Origin::Asn(a) => write!(w, "{a}")?,
                Origin::Set(m) if m.len() < 2 => {
                    return Err(invalid(format!(
                        "{prefix}: an AS set of fewer than two members ({origin}) cannot be written"
                    )))
                }
                Origin::Set(m) => {
                    let members: Vec<String> = m.iter().map(u32::to_string).collect();
                    w.write_all(members.join(",").as_bytes())?;
                }
            }
        }
        w.write_all(b"\n")?;
    }
    w.flush()
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loaders::{NoProgress, OnError};
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use crate::testutil::shared;

    fn temp(name: &str, content: &[u8]) -> PathBuf {
        crate::testutil::temp_file("pfx2as", name, content)
    }

    type Items = Vec<(IpPrefix, Vec<Origin>)>;

    fn read(path: &Path, on_error: OnError) -> Result<(Items, Summary), LoadError> {
        let mut items = Vec::new();
        let mut opts = ReadOptions {
            on_error,
            progress: &mut NoProgress,
        };
        let s = read_pfx2as(Input::open(path)?, &mut opts, |p, o| items.push((p, o)))?;
        Ok((items, s))
    }

    fn p(s: &str) -> IpPrefix {
        parse_prefix(s, true).unwrap()
    }

    #[test]
    fn reads_multi_origins_and_as_sets_in_file_order() {
        let path = temp(
            "small.pfx2as",
            b"1.2.4.0\t24\t24151_24409_24406\n\n10.0.0.0\t8\t7,3,5\n2001::\t32\t6939_3,2_1\n",
        );
        let (items, s) = read(&path, OnError::Raise).unwrap();
        use Origin::{Asn, Set};
        assert_eq!(
            items,
            [
                (p("1.2.4.0/24"), vec![Asn(24151), Asn(24409), Asn(24406)]),
                (p("10.0.0.0/8"), vec![Set(vec![3, 5, 7])]),
                (p("2001::/32"), vec![Asn(6939), Set(vec![2, 3]), Asn(1)]),
            ]
        );
        assert_eq!((s.records, s.entries, s.prefixes), (4, 3, 3));
    }

    #[test]
    fn bad_lines_raise_or_are_skipped() {
        let cases = [
            (
                "1.0.0.0\t24\n",
                "line 1: expected 'network<TAB>prefixlen<TAB>origins'",
            ),
            (
                "1.0.0.0 24 1\n",
                "expected 'network<TAB>prefixlen<TAB>origins'",
            ),
            (
                "1.0.0.0\t24\t1\t2\n",
                "expected 'network<TAB>prefixlen<TAB>origins'",
            ),
            ("1.0.0.1\t24\t1\n", "1.0.0.1/24 has host bits set"),
            (
                "1.0.0.0\t33\t1\n",
                "'1.0.0.0/33' does not appear to be an IPv4 or IPv6 network",
            ),
            ("1.0.0.0\t255.0.0.0\t1\n", "bad prefix length '255.0.0.0'"),
            ("1.0.0\t24\t1\n", "'1.0.0/24' does not appear"),
            ("1.0.0.0\t24\tAS1\n", "bad AS number 'AS1' in origins 'AS1'"),
            ("1.0.0.0\t24\t1__2\n", "bad AS number '' in origins '1__2'"),
            ("1.0.0.0\t24\t1,x\n", "bad AS number 'x' in origins '1,x'"),
            ("1.0.0.0\t24\t4294967296\n", "bad AS number '4294967296'"),
            ("1.0.0.0\t24\t+1\n", "bad AS number '+1'"),
            (
                "1.0.0.0\t24\t5,5\n",
                "AS set '5,5' has fewer than two distinct members",
            ),
        ];
        for (i, (content, message)) in cases.iter().enumerate() {
            let path = temp(&format!("bad{i}.pfx2as"), content.as_bytes());
            let err = read(&path, OnError::Raise).unwrap_err().to_string();
            assert!(
                err.contains(&format!("bad{i}.pfx2as: line 1: ")) && err.contains(message),
                "{content:?}: {err}"
            );
        }
        let path = temp(
            "mixed.pfx2as",
            b"1.0.0.0\t24\t1\nx\n2.0.0.0\t8\t2\n2.0.0.1\t8\t3\n",
        );
        let (items, s) = read(&path, OnError::Skip).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(s.skipped["malformed line"], 2);
        assert!(s.errors[0].contains("line 2") && s.errors[1].contains("line 4"));
    }

    #[test]
    fn reads_the_real_files() {
        for (file, lines, multi) in [
            ("routeviews-rv2-20160202-1200.pfx2as.gz", 615_842, 5_463),
            ("routeviews-rv6-20160202-1200.pfx2as.gz", 28_744, 204),
            ("routeviews-rv2-20141202-1200.pfx2as.gz", 541_262, 4_279),
        ] {
            let (items, s) = read(&shared(&format!("pfx2as/{file}")), OnError::Raise).unwrap();
            assert_eq!((items.len(), s.prefixes), (lines, lines as u64), "{file}");
            let n_multi = items
                .iter()
                .filter(|(_, o)| o.len() > 1 || matches!(o[0], Origin::Set(_)))
                .count();
            assert_eq!(n_multi, multi, "{file}");
        }
    }

    #[test]
    fn first_lines_of_the_real_files() {
        let (items, _) = read(
            &shared("pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz"),
            OnError::Raise,
        )
        .unwrap();
        use Origin::Asn;
        assert_eq!(
            items[..3],
            [
                (p("2001::/32"), vec![Asn(6939), Asn(1101), Asn(25192)]),
                (p("2001:4:112::/48"), vec![Asn(112)]),
                (p("2001:200::/32"), vec![Asn(2500)]),
            ]
        );
    }

    #[test]
    fn write_then_read_gives_the_same_items_and_text() {
        let src = shared("pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz");
        let (items, _) = read(&src, OnError::Raise).unwrap();
        let out = temp("again.pfx2as", b"");
        write_pfx2as(
            std::fs::File::create(&out).unwrap(),
            items.iter().map(|(p, o)| (*p, o)),
        )
        .unwrap();
        let (again, _) = read(&out, OnError::Raise).unwrap();
        assert_eq!(again, items);
        // CAIDA lists AS set members in ascending order, as we do: the text is the same
        // but for IPv6 spellings (CAIDA shortens a single zero group to `::`, RFC 5952
        // does not).
        let mut original = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&src).unwrap())
            .read_to_string(&mut original)
            .unwrap();
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(written.lines().count(), original.lines().count());
        for (ours, theirs) in written.lines().zip(original.lines()) {
            let (a, rest_a) = ours.split_once('\t').unwrap();
            let (b, rest_b) = theirs.split_once('\t').unwrap();
            assert_eq!(rest_a, rest_b);
            assert_eq!(
                a.parse::<std::net::IpAddr>(),
                b.parse(),
                "{ours} vs {theirs}"
            );
        }
    }

    #[test]
    fn write_refuses_what_would_read_back_differently() {
        let mut out = Vec::new();
        let err = write_pfx2as(&mut out, [(p("10.0.0.0/8"), vec![])]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("10.0.0.0/8 has no origin"));
        let err =
            write_pfx2as(&mut out, [(p("10.0.0.0/8"), vec![Origin::Set(vec![5])])]).unwrap_err();
        assert!(err.to_string().contains("fewer than two members"), "{err}");
    }
}
