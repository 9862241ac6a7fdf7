"""read_asnames: pyasn's JSON and the cidr-report text (with ASDOT numbers) against a
plain-Python parse, the splitting of names into handle, description and country,
and every error path."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from conftest import require_shared

import geoip_rs

JSON = "asnames/asnames.json.gz"
TEXT = "asnames/asnames_20140524.txt.gz"
KEYS = {"asn", "text", "handle", "description", "country"}


def text_in_python(path: Path) -> tuple[dict[int, str], int]:
    """``(asn -> text, number of data lines)`` of a cidr-report text file."""
    names = {}
    lines = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            lines += 1
            number, _, text = line[2:].partition(" ")
            hi, dot, lo = number.partition(".")
            names[int(hi) * 65536 + int(lo) if dot else int(hi)] = text.strip()
    return names, lines


@pytest.fixture(scope="module")
def from_json():
    path = require_shared(JSON) / JSON
    with gzip.open(path, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    return raw, geoip_rs.read_asnames(path)


@pytest.fixture(scope="module")
def from_text():
    path = require_shared(TEXT) / TEXT
    return text_in_python(path), geoip_rs.read_asnames(path)


def test_json_has_every_key(from_json):
    raw, (names, summary) = from_json
    assert len(names) == len(raw) == summary["entries"] == 77_586  # SOURCES.md
    assert {asn: d["text"] for asn, d in names.items()} == {int(k): v.strip() for k, v in raw.items()}
    assert all(set(d) == KEYS and d["asn"] == asn for asn, d in names.items())
    assert list(names) == sorted(names)


def test_text_has_every_line_and_asdot_numbers(from_text):
    (expected, lines), (names, summary) = from_text
    assert len(names) == summary["entries"] == lines == len(expected)
    assert {asn: d["text"] for asn, d in names.items()} == expected
    # AS6.5 ISC-32AS - Internet Systems Consortium, Inc.; the last line is AS65535.65535.
    assert names[6 * 65536 + 5]["handle"] == "ISC-32AS"
    assert names[6 * 65536 + 5]["description"] == "Internet Systems Consortium, Inc."
    assert names[2**32 - 1]["text"] == "-Reserved AS-"
    assert sum(1 for asn in names if asn > 65535) > 60_000


def test_google_in_both(from_json, from_text):
    for _, (names, _) in (from_json, from_text):
        assert "GOOGLE" in names[15169]["text"]
        assert names[15169]["handle"] == "GOOGLE"
        assert names[15169]["description"] == "Google Inc."
    assert from_json[1][0][15169]["country"] == "US"
    assert from_text[1][0][15169]["country"] is None


def test_countries_in_the_json(from_json):
    raw, (names, _) = from_json
    with_cc = {int(k) for k, v in raw.items() if re.search(r", [A-Z]{2}$", v) and not v.endswith(", ZZ")}
    assert {asn for asn, d in names.items() if d["country"]} == with_cc
    assert names[3320] == {"asn": 3320, "text": "DTAG Deutsche Telekom AG, DE", "handle": "DTAG",
                           "description": "Deutsche Telekom AG", "country": "DE"}


@pytest.mark.parametrize(
    "text, handle, description, country",
    [
        ("GOOGLE - Google Inc., US", "GOOGLE", "Google Inc.", "US"),
        ("-Private Use AS-", None, "-Private Use AS-", None),
        ("-Reserved AS-, ZZ", None, "-Reserved AS-", None),
        ("DTAG Deutsche Telekom AG", "DTAG", "Deutsche Telekom AG", None),
        ("Rayservers GmbH, PA", None, "Rayservers GmbH", "PA"),
        ("Rubens Jose Belao - ME, BR", None, "Rubens Jose Belao - ME", "BR"),
        ("EYEMG - EYEMG - interactive media group, US", "EYEMG", "EYEMG - interactive media group", "US"),
        ("20069 - Royal Bank of Canada, CA", "20069", "Royal Bank of Canada", "CA"),
        ("SLLNET Stockholms Lans Landsting, na", "SLLNET", "Stockholms Lans Landsting, na", None),
        ("LACNIC", "LACNIC", None, None),
        ("UE-VARNA , BG", "UE-VARNA", None, "BG"),
        ("", None, None, None),
    ],
)
def test_splitting_rules(tmp_path, text, handle, description, country):
    for name, content in (("t.json", json.dumps({"64496": text})), ("t.txt", f"AS64496 {text}\n")):
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        names, _ = geoip_rs.read_asnames(p)
        assert names[64496] == {"asn": 64496, "text": text, "handle": handle,
                                "description": description, "country": country}, name


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("ipasn.txt", "; IP-ASN32-DAT\n1.0.0.0/24\t1\n", r"line 1: expected 'AS<number> <name>'"),
        ("dot.txt", "AS1 A\nAS1.65536 B\n", r"line 2: bad AS number 'AS1.65536'"),
        ("big.txt", "AS4294967296 X\n", r"line 1: bad AS number 'AS4294967296'"),
        ("sign.txt", "AS+1 X\n", r"line 1: expected 'AS<number> <name>'"),
        ("key.json", '{"1": "A",\n "AS2": "B"}', r'line 2: key "AS2" is not an AS number'),
        ("value.json", '{"1": "A",\n\n "2": null}', r"line 3: the name of AS 2 is not a string: null"),
        ("cut.json", '{"1": "A",\n "2": "B', r"line 2: invalid JSON: EOF while parsing a string"),
        ("array.json", '{"1": "A"}\n[]', r"line 2: invalid JSON: trailing characters"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(geoip_rs.FormatError, match=message) as info:
        geoip_rs.read_asnames(p)
    assert name in str(info.value)


def test_other_formats_fail_on_their_first_data_line():
    for relpath, line in (("rir/delegated-afrinic-20140630.gz", 1), ("as2org/20170401.as-org2info.txt.gz", 15)):
        path = require_shared(relpath) / relpath
        with pytest.raises(geoip_rs.FormatError, match=rf"line {line}: expected 'AS<number> <name>'"):
            geoip_rs.read_asnames(path)


def test_skip_counts(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"1": "A", "x": "B", "2": null, "3": "C", "1": "D"}')
    names, summary = geoip_rs.read_asnames(p, on_error="skip")
    assert {a: d["text"] for a, d in names.items()} == {1: "A", 3: "C"}
    assert summary["skipped"] == {"malformed entry": 2, "duplicate ASN": 1}
    assert len(summary["errors"]) == 2
    p = tmp_path / "s.txt"
    p.write_text("AS1 A\nbroken\nAS2 B\nAS1 C\n")
    names, summary = geoip_rs.read_asnames(p, on_error="skip")
    assert {a: d["text"] for a, d in names.items()} == {1: "A", 2: "B"}
    assert summary["skipped"] == {"malformed line": 1, "duplicate ASN": 1}


def test_empty_files_are_empty(tmp_path):
    for name, content in (("e.txt", ""), ("b.txt", "\n \n"), ("e.json", "{}"), ("w.json", "  \n{ }\n")):
        p = tmp_path / name
        p.write_text(content)
        names, summary = geoip_rs.read_asnames(p)
        assert names == {} and summary["entries"] == 0, name


def big_json() -> bytes:
    return json.dumps({str(i): f"AS-{i} - Org {i}, US" for i in range(1, 120_000)}).encode()


def test_truncated_and_bit_flipped_gzip(tmp_path):
    data = gzip.compress(big_json())
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(geoip_rs.FormatError, match=r"cut.json.gz: byte offset \d+: truncated or corrupt"):
        geoip_rs.read_asnames(cut)
    names, summary = geoip_rs.read_asnames(cut, on_error="skip")
    assert summary["truncated"] and summary["skipped"] == {"unreadable rest of file": 1}
    assert 0 < len(names) < 119_999 and list(names) == list(range(1, len(names) + 1))
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0x01
    p = tmp_path / "flipped.json.gz"
    p.write_bytes(bytes(flipped))
    with pytest.raises(geoip_rs.FormatError, match=r"flipped.json.gz: (byte offset|line) \d+"):
        geoip_rs.read_asnames(p)


def test_progress_reaches_the_end(tmp_path):
    path = require_shared(JSON) / JSON
    calls = []
    geoip_rs.read_asnames(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert calls[-1] == (size, size)

    def stop(done, total):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        geoip_rs.read_asnames(path, progress=stop)
