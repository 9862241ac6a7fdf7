"""read_iptoasn: iptoasn.com's ip2asn and ip2country files against a plain-Python parse
(ranges split by ``ipaddress.summarize_address_range``, lookups by ``bisect``), the
rows left out, overlapping ranges, and every error path."""

from __future__ import annotations

import bisect
import gzip
import ipaddress
import itertools
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_shared

import geoip_rs

IP2ASN_V6 = "iptoasn/ip2asn-v6.tsv.gz"
COUNTRY_V4 = "iptoasn/ip2country-v4.tsv.gz"
COUNTRY_V6 = "iptoasn/ip2country-v6.tsv.gz"
FILES = [IP2ASN_V6, COUNTRY_V4, COUNTRY_V6]


@dataclass
class Plain:
    """A file parsed with gzip and str.split: rows in file order (sorted by start)."""

    starts: list[int]
    ends: list[int]
    reach: list[int]  # reach[i]: the furthest end of rows 0..i
    values: list[object]  # None for rows the reader leaves out
    # True for rows whose range meets another row's: where the expected answer
    # depends on how overlaps are resolved, so the random checks leave them alone.
    overlapping: list[bool]
    version: int


def plain_parse(path: Path) -> Plain:
    starts, ends, values = [], [], []
    version = None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            first, last = ipaddress.ip_address(cols[0]), ipaddress.ip_address(cols[1])
            version = first.version
            starts.append(int(first))
            ends.append(int(last))
            if len(cols) == 5:
                asn, cc, desc = int(cols[2]), cols[3], cols[4]
                values.append(None if asn == 0 else (asn, None if cc in ("None", "") else cc, desc))
            else:
                values.append(None if cols[2] in ("None", "") else cols[2])
    assert starts == sorted(starts), "the plain model relies on rows sorted by start"
    # reach[i]: the furthest end of rows 0..i. Row i meets an earlier row if the reach
    # before it gets to its start, and a later row if the next row starts inside it
    # (later rows start no earlier than the next one).
    reach = list(itertools.accumulate(ends, max))
    n = len(starts)
    overlapping = [
        (i > 0 and reach[i - 1] >= starts[i]) or (i + 1 < n and starts[i + 1] <= ends[i])
        for i in range(n)
    ]
    return Plain(starts, ends, reach, values, overlapping, version)


def expected_lookup(plain: Plain, addr: int):
    """``(row index, value)`` of the row holding ``addr`` (value None for a left-out
    row), ``(None, None)`` if no row holds it, or None when overlapping rows make
    it depend on how overlaps are resolved."""
    i = bisect.bisect_right(plain.starts, addr) - 1
    if i < 0:
        return (None, None)
    if addr <= plain.ends[i]:
        return None if plain.overlapping[i] else (i, plain.values[i])
    # Past row i's end: an earlier, longer row may still hold it (then the two overlap).
    return None if plain.reach[i] >= addr else (None, None)


@pytest.fixture(scope="module", params=FILES)
def loaded(request):
    rel = request.param
    path = require_shared(rel) / rel
    return rel, geoip_rs.read_iptoasn(path), plain_parse(path)


def test_real_files_load_with_the_rows_a_plain_parse_finds(loaded):
    rel, (table, summary), plain = loaded
    kept = sum(v is not None for v in plain.values)
    left = len(plain.values) - kept
    assert summary["records"] == len(plain.values)
    assert summary["entries"] == kept
    reason = "not routed" if rel == IP2ASN_V6 else "no country"
    assert summary["skipped"] == {reason: left}
    assert summary["errors"] == [] and not summary["truncated"]
    # Rows that overlap can give the same prefix twice; the table holds it once.
    assert 0 <= summary["prefixes"] - len(table) <= sum(plain.overlapping)
    v4, v6 = table.counts()
    assert (v4 if plain.version == 4 else v6) == len(table)


def test_published_counts(loaded):
    rel, (table, summary), _ = loaded
    # SOURCES.md: 111,939 IPv6 ranges of which 75,482 routed; 450,114 and 111,965
    # ranges in the ip2country files.
    published = {IP2ASN_V6: 111_939, COUNTRY_V4: 450_114, COUNTRY_V6: 111_965}
    assert summary["records"] == published[rel]
    if rel == IP2ASN_V6:
        assert summary["entries"] == 75_482
        assert table["2001:200::1"] == (2500, "JP", "WIDE-BB WIDE Project")
    if rel == COUNTRY_V4:
        assert table.exact("1.0.0.0/24") == "US"
        assert table.get("1.0.2.1") is None  # 1.0.1.0-1.0.3.255 None
        assert table.exact("1.0.4.0/22") == "AU"


def test_each_range_is_split_into_exactly_its_prefixes(loaded):
    _, (table, _), plain = loaded
    rng = random.Random(3)
    rows = [i for i, v in enumerate(plain.values) if v is not None and not plain.overlapping[i]]
    make = ipaddress.IPv4Address if plain.version == 4 else ipaddress.IPv6Address
    for i in rng.sample(rows, 3000):
        nets = list(ipaddress.summarize_address_range(make(plain.starts[i]), make(plain.ends[i])))
        for net in nets:
            # The prefix is in the table with the row's value, and nothing else in the
            # table covers it or lies inside it (the row overlaps no other row).
            assert table.covering(net) == [(net, plain.values[i])], net
            assert table.covered(net) == [(net, plain.values[i])], net
        # ... and the prefixes just outside the range are not the row's.
        for addr in (plain.starts[i] - 1, plain.ends[i] + 1):
            if 0 <= addr < 2 ** (32 if plain.version == 4 else 128):
                hit = table.lookup_with_prefix(make(addr))
                assert hit is None or hit[0] not in nets


def test_random_lookups_match_a_bisect_over_the_rows(loaded):
    _, (table, _), plain = loaded
    rng = random.Random(11)
    bits = 32 if plain.version == 4 else 128
    n = len(plain.starts)
    addrs = []
    for _ in range(20_000):
        # Inside a random row (a hit, or a miss for a left-out row) ...
        i = rng.randrange(n)
        addrs.append(rng.randint(plain.starts[i], plain.ends[i]))
    # ... and anywhere (for IPv4 often between rows: misses).
    addrs += [rng.getrandbits(bits) for _ in range(5_000)]
    make = ipaddress.IPv4Address if plain.version == 4 else ipaddress.IPv6Address
    hits = misses = 0
    for addr in addrs:
        expected = expected_lookup(plain, addr)
        if expected is None:
            continue
        row, value = expected
        got = table.get(make(addr))
        assert got == value, (make(addr), row)
        # Equality would not tell a tuple's int from a bool, nor a str from a subclass.
        assert type(got) is type(value)
        if type(value) is tuple:
            assert [type(x) for x in got] == [type(x) for x in value]
        if value is None:
            misses += 1
        else:
            hits += 1
    assert hits > 5_000 and misses > 1_000, (hits, misses)


def test_overlapping_rows(tmp_path):
    p = tmp_path / "overlap.tsv"
    p.write_text(
        "10.0.0.0\t10.0.255.255\tA\n"  # 10.0.0.0/16
        "10.0.1.0\t10.0.1.255\tB\n"  # inside: a more specific /24
        "10.0.2.0\t10.0.3.255\tC\n"  # the /23 ...
        "10.0.2.0\t10.0.3.255\tD\n"  # ... again: the later row's value
    )
    table, summary = geoip_rs.read_iptoasn(p)
    assert (table["10.0.0.1"], table["10.0.1.1"], table["10.0.3.1"]) == ("A", "B", "D")
    assert summary["prefixes"] == 4 and len(table) == 3


def test_ip2asn_layout_on_a_small_file(tmp_path):
    p = tmp_path / "ip2asn.tsv"
    p.write_text(
        "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
        "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
        "1.0.4.0\t1.0.6.255\t38803\tNone\tWPL-AS-AP Wirefreebroadband Pty Ltd\n"
        "1.0.7.0\t1.0.7.255\t65505\tUnknown\t\n"
    )
    table, summary = geoip_rs.read_iptoasn(p)
    assert dict((str(n), v) for n, v in table.items()) == {
        "1.0.0.0/24": (13335, "US", "CLOUDFLARENET"),
        "1.0.4.0/23": (38803, None, "WPL-AS-AP Wirefreebroadband Pty Ltd"),
        "1.0.6.0/24": (38803, None, "WPL-AS-AP Wirefreebroadband Pty Ltd"),
        "1.0.7.0/24": (65505, "Unknown", ""),
    }
    assert table.get("1.0.2.0") is None
    assert summary["skipped"] == {"not routed": 1}
    assert (summary["entries"], summary["prefixes"]) == (3, 4)


# ---- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        ("1.0.0.0\t1.0.0.255\n", r"line 1: expected 5 \(ip2asn\) or 3 \(ip2country\) tab-separated columns, got 2"),
        ("1.0.0.0 1.0.0.255 US\n", r"line 1: expected 5 \(ip2asn\) or 3 \(ip2country\)"),
        ("1.0.0.0\t1.0.0.255\t1\tUS\tx\ty\n", r"line 1: expected 5 \(ip2asn\) or 3 \(ip2country\).*got 6"),
        ("1.0.0.0\t1.0.0.256\tUS\n", r"line 1: '1.0.0.256' does not appear to be an IPv4 or IPv6 address"),
        ("\t1.0.0.255\tUS\n", r"line 1: '' does not appear to be an IPv4 or IPv6 address"),
        ("1.0.0.0\t2001:db8::\tUS\n", r"line 1: range start 1.0.0.0 and end 2001:db8:: are of different IP versions"),
        ("2001:db8::1\t2001:db8::\tUS\n", r"line 1: range end 2001:db8:: comes before its start 2001:db8::1"),
        ("1.0.0.0\t1.0.0.255\tAS13335\tUS\tx\n", r"line 1: bad AS number 'AS13335'"),
        ("1.0.0.0\t1.0.0.255\t4294967296\tUS\tx\n", r"line 1: bad AS number '4294967296'"),
        (
            "1.0.0.0\t1.0.0.255\tUS\n1.0.1.0\t1.0.1.255\t1\tUS\tx\n",
            r"line 2: expected 3 tab-separated columns \(ip2country layout, as on the first data line\), got 5",
        ),
        (
            "1.0.0.0\t1.0.0.255\t1\tUS\tx\n1.0.1.0\t1.0.1.255\tUS\n",
            r"line 2: expected 5 tab-separated columns \(ip2asn layout, as on the first data line\), got 3",
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, content, message):
    p = tmp_path / "bad.tsv"
    p.write_text(content)
    with pytest.raises(geoip_rs.FormatError, match=message) as info:
        geoip_rs.read_iptoasn(p)
    assert "bad.tsv" in str(info.value)


def test_other_formats_are_format_errors(shared_data):
    ipasn, pfx2as = "ipasn/ipasn_20140513.dat.gz", "pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz"
    require_shared(ipasn, pfx2as)
    with pytest.raises(geoip_rs.FormatError, match=r"ipasn_20140513.dat.gz: line 1: expected 5 \(ip2asn\) or 3"):
        geoip_rs.read_iptoasn(shared_data / ipasn)
    # Three columns like ip2country, but the second is a prefix length.
    with pytest.raises(geoip_rs.FormatError, match=r"line 1: '32' does not appear to be an IPv4 or IPv6 address"):
        geoip_rs.read_iptoasn(shared_data / pfx2as)


def test_empty_file_is_an_empty_table(tmp_path):
    for name, content in (("empty.tsv", b""), ("blank.tsv", b"\n \n"), ("empty.gz", gzip.compress(b""))):
        p = tmp_path / name
        p.write_bytes(content)
        table, summary = geoip_rs.read_iptoasn(p)
        assert len(table) == 0 and summary["entries"] == summary["prefixes"] == 0, name
        assert summary["skipped"] == {}


def test_skip_counts_bad_lines_apart_from_left_out_rows(tmp_path):
    p = tmp_path / "mixed.tsv"
    p.write_text(
        "1.0.0.0\t1.0.0.255\t1\tUS\tx\n"
        "garbage\n"
        "1.0.1.0\t1.0.1.255\t0\tNone\tNot routed\n"
        "1.0.2.9\t1.0.2.0\t2\tUS\ty\n"
        "1.0.3.0\t1.0.3.255\tUS\n"
        "1.0.4.0\t1.0.4.255\t3\tNone\tz\n"
    )
    table, summary = geoip_rs.read_iptoasn(p, on_error="skip")
    assert table == geoip_rs.PrefixTable({"1.0.0.0/24": (1, "US", "x"), "1.0.4.0/24": (3, None, "z")})
    assert summary["skipped"] == {"malformed line": 3, "not routed": 1}
    assert [re.search(r"line \d+", e)[0] for e in summary["errors"]] == ["line 2", "line 4", "line 5"]
    assert (summary["records"], summary["entries"]) == (6, 2)


def test_truncated_gzip(shared_data, tmp_path):
    require_shared(COUNTRY_V4)
    data = (shared_data / COUNTRY_V4).read_bytes()
    p = tmp_path / "cut.tsv.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(geoip_rs.FormatError, match=r"cut.tsv.gz: byte offset \d+: truncated or corrupt"):
        geoip_rs.read_iptoasn(p)
    table, summary = geoip_rs.read_iptoasn(p, on_error="skip")
    assert summary["truncated"] and summary["skipped"]["unreadable rest of file"] == 1
    assert 100_000 < summary["records"] < 450_114
    assert summary["prefixes"] >= len(table) > 100_000


def test_bit_flipped_gzip(shared_data, tmp_path):
    require_shared(IP2ASN_V6)
    data = (shared_data / IP2ASN_V6).read_bytes()
    p = tmp_path / "flip.gz"
    crc = bytearray(data)
    crc[-7] ^= 0x40  # in the trailer's CRC-32: every line reads, then the check fails
    p.write_bytes(crc)
    with pytest.raises(geoip_rs.FormatError, match=r"flip.gz: byte offset \d+: truncated or corrupt .*checksum"):
        geoip_rs.read_iptoasn(p)
    _, summary = geoip_rs.read_iptoasn(p, on_error="skip")
    assert summary["truncated"] and summary["records"] == 111_939
    for pos in (500, len(data) // 3, 2 * len(data) // 3):
        mid = bytearray(data)
        mid[pos] ^= 0x10
        p.write_bytes(mid)
        with pytest.raises(geoip_rs.FormatError, match=r"flip.gz: (line|byte offset) \d+: "):
            geoip_rs.read_iptoasn(p)


def test_progress_and_bad_arguments(shared_data, tmp_path):
    require_shared(COUNTRY_V6)
    path = shared_data / COUNTRY_V6
    calls = []
    geoip_rs.read_iptoasn(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (path.stat().st_size,) * 2
    with pytest.raises(FileNotFoundError, match="nope"):
        geoip_rs.read_iptoasn(tmp_path / "nope")
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        geoip_rs.read_iptoasn(path, on_error="warn")
