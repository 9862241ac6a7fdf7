"""read_delegated: RIR delegated statistics of all five registries against the files'
own summary lines, the counts in SOURCES.md, a plain-Python parse with
``ipaddress.summarize_address_range``, and every error path."""

from __future__ import annotations

import gzip
import ipaddress
import random
from pathlib import Path

import pytest
from conftest import require_shared

import geoip_rs

# file: (asn, ipv4, ipv6) records, as in the file's summary lines and SOURCES.md.
COMPLETE = {
    "rir/delegated-apnic-20140804.gz": (5_783, 24_658, 3_551),
    "rir/delegated-lacnic-20140801.gz": (4_439, 8_879, 2_940),
    "rir/delegated-ripencc-20140803.gz": (26_493, 50_134, 9_513),
    "rir/delegated-afrinic-20140630.gz": (1_095, 2_500, 429),
    "rir/delegated-afrinic-extended-20230323.gz": (3_326, 5_089, 6_604),
    "rir/delegated-lacnic-extended-20230323.gz": (14_121, 19_618, 52_498),
    "rir/delegated-afrinic-extended-20260505.gz": (4_350, 5_958, 8_978),
}
ARIN = "rir/delegated-arin-extended-20140804.TRUNCATED.gz"
DELEGATED = ("allocated", "assigned")


def parse_in_python(path: Path) -> tuple[dict[str, int], list[list[str]]]:
    """``(summary line counts by type, record fields)`` of a delegated file."""
    declared: dict[str, int] = {}
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    for line in lines[1:]:  # lines[0] is the version line
        fields = line.split("|")
        if fields[-1] == "summary":
            declared[fields[2]] = int(fields[4])
        else:
            records.append(fields)
    return declared, records


def expected_dict(fields: list[str]) -> dict:
    return {
        "registry": fields[0],
        "country": None if fields[1] in ("", "ZZ") else fields[1],
        "status": fields[6],
        "date": fields[5] or None,
        "opaque_id": (fields[7] or None) if len(fields) > 7 else None,
    }


def v4_prefixes(fields: list[str]) -> list[ipaddress.IPv4Network]:
    first = ipaddress.IPv4Address(fields[3])
    return list(ipaddress.summarize_address_range(first, first + int(fields[4]) - 1))


@pytest.fixture(scope="module", params=sorted(COMPLETE), ids=lambda f: f.split("/")[1])
def loaded(request):
    path = require_shared(request.param) / request.param
    return request.param, path, geoip_rs.read_delegated(path), parse_in_python(path)


def test_counts_match_the_summary_lines(loaded):
    name, _, (table, asns, summary), (declared, records) = loaded
    asn, v4, v6 = COMPLETE[name]
    assert summary["counts"] == summary["declared"] == declared == {"asn": asn, "ipv4": v4, "ipv6": v6}
    assert summary["header"]["records"] == asn + v4 + v6 == len(records)
    assert summary["entries"] == len(records)
    assert summary["errors"] == [] and not summary["truncated"]
    assert summary["header"]["registry"] == name.split("-")[1]


def test_tables_hold_exactly_the_delegated_resources(loaded):
    _, _, (table, asns, summary), (_, records) = loaded
    delegated = [r for r in records if r[6] in DELEGATED]
    v4 = [p for r in delegated if r[2] == "ipv4" for p in v4_prefixes(r)]
    v6 = [ipaddress.IPv6Network(f"{r[3]}/{r[4]}") for r in delegated if r[2] == "ipv6"]
    assert table.counts() == (len(v4), len(v6))
    assert summary["prefixes"] == len(table)
    assert {net for net, _ in table.items()} == set(v4) | set(v6)
    expected_asns = {
        int(r[3]) + i: expected_dict(r) for r in delegated if r[2] == "asn" for i in range(int(r[4]))
    }
    assert asns == expected_asns
    left_out = {}
    for r in records:
        if r[6] not in DELEGATED:
            key = f"not delegated ({r[6]})"
            left_out[key] = left_out.get(key, 0) + 1
    assert summary["skipped"] == left_out


def test_sampled_ipv4_blocks_split_and_look_up_like_ipaddress(loaded):
    name, _, (table, _, _), (_, records) = loaded
    blocks = [r for r in records if r[2] == "ipv4" and r[6] in DELEGATED]
    rng = random.Random(f"{name}-20240601")
    sample = rng.sample(blocks, 300)
    # Blocks that are not a power of two, or not aligned, are the interesting ones.
    sample += [r for r in blocks if len(v4_prefixes(r)) > 1][:200]
    for r in sample:
        want = expected_dict(r)
        for net in v4_prefixes(r):
            assert table.exact(net) == want, (r, net)
        first = int(ipaddress.IPv4Address(r[3]))
        for addr in (first, first + int(r[4]) - 1, first + rng.randrange(int(r[4]))):
            assert table[addr]["country"] == want["country"], (r, ipaddress.IPv4Address(addr))


def test_ipv6_blocks_look_up(loaded):
    name, _, (table, _, _), (_, records) = loaded
    blocks = [r for r in records if r[2] == "ipv6" and r[6] in DELEGATED]
    for r in random.Random(name).sample(blocks, 100):
        net = ipaddress.IPv6Network(f"{r[3]}/{r[4]}")
        assert table.exact(net) == expected_dict(r)
        assert table.lookup_with_prefix(net.broadcast_address)[0] == net


def test_non_power_of_two_blocks_from_the_files():
    name = "rir/delegated-afrinic-20140630.gz"
    table, _, _ = geoip_rs.read_delegated(require_shared(name) / name)
    # afrinic|ZA|ipv4|164.146.0.0|393216|19930312|allocated: six /16s.
    block = [(str(n), d["date"]) for n, d in table.covered("164.144.0.0/12") if d["date"] == "19930312"]
    assert block == [("164.146.0.0/15", "19930312"), ("164.148.0.0/14", "19930312")]
    assert table.lookup_with_prefix("164.151.255.255")[0] == ipaddress.ip_network("164.148.0.0/14")


def test_available_and_reserved_rows_stay_out():
    name = "rir/delegated-lacnic-extended-20230323.gz"
    table, asns, summary = geoip_rs.read_delegated(require_shared(name) / name)
    # lacnic||ipv4|177.39.96.0|1024||available
    assert table.get("177.39.96.1") is None
    assert summary["header"]["version"] == "2.3"
    assert summary["skipped"]["not delegated (available)"] > 0
    assert all(d["status"] in DELEGATED and d["country"] for _, d in table.items())
    assert all(d["status"] in DELEGATED and d["opaque_id"] for d in asns.values())


def test_truncated_arin_file_raises_at_the_cut_line():
    path = require_shared(ARIN) / ARIN
    with pytest.raises(
        geoip_rs.FormatError,
        match=r"delegated-arin-extended-20140804\.TRUNCATED\.gz: line 48965: last line cut off "
        r"\(no line end, and the file holds 48961 of the 111240 records its header announces\)",
    ):
        geoip_rs.read_delegated(path)


def test_truncated_arin_file_with_skip_keeps_the_complete_lines():
    path = require_shared(ARIN) / ARIN
    table, asns, summary = geoip_rs.read_delegated(path, on_error="skip")
    declared, records = parse_in_python(path)
    complete = records[:-1]
    assert summary["truncated"]
    assert summary["counts"] == {"asn": 23_395, "ipv4": 25_566 - 1}
    assert summary["declared"] == declared == {"asn": 23_395, "ipv4": 55_018, "ipv6": 32_827}
    assert summary["skipped"]["cut-off last line"] == 1
    assert "192.219.208.0|2048|19930405|allocated|25afe15f55" in summary["errors"][0]
    v4 = {p for r in complete if r[2] == "ipv4" and r[6] in DELEGATED for p in v4_prefixes(r)}
    assert {n for n, _ in table.items()} == v4
    assert table.get("192.219.208.1") is None  # the cut line's block
    assert table["192.219.192.1"]["country"] == "CA"
    assert len(asns) == sum(int(r[4]) for r in complete if r[2] == "asn" and r[6] in DELEGATED)
    assert asns[1] == {"registry": "arin", "country": "US", "status": "assigned",
                       "date": "20010920", "opaque_id": "abc43e5fcdb68e284085cf6f1b34834e"}


HEAD = "2|test|20200101|3|19700101|20200101|+0000\ntest|*|ipv4|*|3|summary\n"
TAIL = "test|ZZ|asn|2|1||reserved\ntest|US|asn|3|1|20200101|assigned\n"


@pytest.mark.parametrize(
    "bad, message",
    [
        ("test|US|ipv4|1.0.0.0|256|20200101\n", r"line 3: expected 'registry\|cc\|type\|start\|value\|date\|status"),
        ("test|US|ipv4|1.0.0.256|256|20200101|allocated\n", r'line 3: bad IPv4 address "1.0.0.256"'),
        ("test|US|ipv4|1.0.0.0|0|20200101|allocated\n", r"line 3: 0 addresses from 1.0.0.0 do not fit"),
        ("test|US|ipv4|255.255.255.0|257|20200101|allocated\n", r"line 3: 257 addresses from 255.255.255.0"),
        ("test|US|ipv6|2001:db8::1|32|20200101|allocated\n", r"line 3: 2001:db8::1/32 has host bits set"),
        ("test|US|ipv6|2001:db8::|129|20200101|allocated\n", r'line 3: bad ipv6 value "129"'),
        ("test|USA|asn|1|1|20200101|allocated\n", r'line 3: bad country code "USA"'),
        ("test|US|asn|4294967295|2|20200101|allocated\n", r"line 3: 2 AS numbers from 4294967295"),
        ("test|US|ipx|1|1|20200101|allocated\n", r'line 3: unknown type "ipx"'),
        ("test|US|asn|1|1|2020-01-01|allocated\n", r'line 3: bad date "2020-01-01"'),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, bad, message):
    p = tmp_path / "delegated-bad"
    p.write_text(HEAD + bad + TAIL)
    with pytest.raises(geoip_rs.FormatError, match=message) as info:
        geoip_rs.read_delegated(p)
    assert "delegated-bad" in str(info.value)
    table, asns, summary = geoip_rs.read_delegated(p, on_error="skip")
    assert summary["skipped"] == {"malformed line": 1, "not delegated (reserved)": 1}
    assert list(asns) == [3] and len(table) == 0


@pytest.mark.parametrize(
    "relpath",
    ["ipasn/ipasn.fake", "as2org/20200701.as-org2info.txt.gz", "asnames/asnames_20140524.txt.gz"],
)
def test_other_formats_fail_on_their_first_line(relpath):
    path = require_shared(relpath) / relpath
    name = relpath.split("/")[1]
    with pytest.raises(geoip_rs.FormatError, match=rf"{name}: line \d+: expected the version line"):
        geoip_rs.read_delegated(path)


def test_record_count_differs_from_header(tmp_path):
    p = tmp_path / "short"
    p.write_text(HEAD + "test|US|ipv4|1.0.0.0|256||allocated\n")
    with pytest.raises(geoip_rs.FormatError, match=r"short: line 3: the file ends after 1 records, but its header announces 3 \(truncated\?\)"):
        geoip_rs.read_delegated(p)
    table, _, summary = geoip_rs.read_delegated(p, on_error="skip")
    assert len(table) == 1 and summary["truncated"]
    assert summary["skipped"] == {"record count differs from header": 1}
    # A complete file without a final newline is not truncated.
    p.write_text(HEAD + "test|US|ipv4|1.0.0.0|768||allocated\n" + TAIL.rstrip("\n"))
    table, asns, summary = geoip_rs.read_delegated(p)
    assert [str(n) for n, _ in table.items()] == ["1.0.0.0/23", "1.0.2.0/24"]
    assert not summary["truncated"] and list(asns) == [3]


def test_empty_file_and_header_only(tmp_path):
    p = tmp_path / "empty"
    p.write_text("")
    table, asns, summary = geoip_rs.read_delegated(p)
    assert len(table) == 0 and asns == {} and summary["header"] is None
    p.write_text("# comment\n2|test|1|0|19700101|20200101|+0000\n")
    table, asns, summary = geoip_rs.read_delegated(p)
    assert len(table) == 0 and summary["header"]["records"] == 0


def test_corrupt_gzip(tmp_path):
    name = "rir/delegated-apnic-20140804.gz"
    data = bytearray((require_shared(name) / name).read_bytes())
    cut = tmp_path / "cut.gz"
    cut.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(geoip_rs.FormatError, match=r"cut.gz: byte offset \d+: truncated or corrupt"):
        geoip_rs.read_delegated(cut)
    table, _, summary = geoip_rs.read_delegated(cut, on_error="skip")
    assert summary["truncated"] and summary["skipped"] == {"unreadable rest of file": 1}
    assert 0 < len(table)
    data[len(data) // 2] ^= 0x04
    flipped = tmp_path / "flipped.gz"
    flipped.write_bytes(bytes(data))
    with pytest.raises(geoip_rs.FormatError, match=r"flipped.gz: (byte offset|line) \d+"):
        geoip_rs.read_delegated(flipped)


def test_values_are_separate_dicts():
    name = "rir/delegated-afrinic-20140630.gz"
    table, _, _ = geoip_rs.read_delegated(require_shared(name) / name)
    a, b = table.exact("164.146.0.0/15"), table.exact("164.148.0.0/14")
    assert a == b and a is not b


def test_cut_gzip_with_skip_counts_the_prefixes_of_the_lines_read(tmp_path):
    """The summary's prefix count on a cut file is that of the delegated records in
    the lines that could be decompressed, counted here with zlib and ipaddress."""
    import zlib

    name = "rir/delegated-apnic-20140804.gz"
    data = (require_shared(name) / name).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(data[: len(data) // 2])
    readable = zlib.decompressobj(wbits=31).decompress(cut.read_bytes())
    lines = readable[: readable.rindex(b"\n")].decode().split("\n")
    data = [line for line in lines if line.strip() and not line.startswith("#")]
    # data[0] is the version line.
    records = [line.split("|") for line in data[1:] if not line.endswith("|summary")]
    delegated = [r for r in records if r[6] in DELEGATED]
    expected = sum(len(v4_prefixes(r)) for r in delegated if r[2] == "ipv4")
    expected += sum(1 for r in delegated if r[2] == "ipv6")
    _, _, summary = geoip_rs.read_delegated(cut, on_error="skip")
    assert summary["truncated"]
    assert summary["entries"] == len(records)
    assert summary["prefixes"] == expected != summary["entries"]
