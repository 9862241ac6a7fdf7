"""read_as2org: CAIDA's AS-to-organisation files (read from ../shared/data, never copied:
CAIDA's licence does not allow redistribution) against a plain-Python parse, facts
read from the files by hand, the JSON-lines format, and every error path."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from conftest import parse_as2org_pipe, require_shared

import geoip_rs

OLD = "as2org/20170401.as-org2info.txt.gz"  # 5 AS fields, duplicate ASNs
NEW = "as2org/20200701.as-org2info.txt.gz"  # 6 AS fields (opaque_id)
SAMPLE = Path(__file__).parent / "data" / "as2org_sample.jsonl"
KEYS = ("asn", "name", "org_id", "org_name", "country", "source", "changed", "opaque_id")


def parse_in_python(path: Path) -> tuple[dict[str, dict], dict[int, dict], int]:
    """The pipe format, independently: ``(orgs, ases, duplicate AS lines)``, where the
    record with the latest ``changed`` wins (empty is oldest; ties: the first)."""
    orgs, rows, duplicates = parse_as2org_pipe(path)
    ases = {}
    for asn, row in rows.items():
        org = orgs.get(row["org_id"], {})
        ases[asn] = {
            "asn": asn,
            "name": row["aut_name"] or None,
            "org_id": row["org_id"] or None,
            "org_name": org.get("org_name") or None,
            "country": org.get("country") or None,
            "source": row["source"] or None,
            "changed": row["changed"] or None,
            "opaque_id": row.get("opaque_id") or None,
        }
    return orgs, ases, duplicates


@pytest.fixture(scope="module", params=[OLD, NEW], ids=["2017", "2020"])
def loaded(request):
    path = require_shared(request.param) / request.param
    return request.param, path, geoip_rs.read_as2org(path)


def test_real_files_load_completely_and_match_a_python_parse(loaded):
    _, path, (ases, summary) = loaded
    orgs, expected, duplicates = parse_in_python(path)
    assert ases == expected
    assert summary["orgs"] == len(orgs)
    assert summary["prefixes"] == len(ases)
    assert summary["entries"] == len(orgs) + len(ases) + duplicates
    assert summary["skipped"] == ({"duplicate ASN": duplicates} if duplicates else {})
    assert summary["ases_without_org"] == 0 and not summary["truncated"]
    assert all(set(d) == set(KEYS) for d in ases.values())


def test_counts_published_in_sources_md(loaded):
    name, _, (ases, summary) = loaded
    if name == OLD:
        # 66,931 orgs and 80,070 AS lines, 234 of which repeat an ASN.
        assert (summary["orgs"], summary["skipped"]["duplicate ASN"]) == (66_931, 234)
        assert len(ases) == 80_070 - 234
    else:
        assert (summary["orgs"], len(ases)) == (79_462, 97_046)


def test_known_ases(loaded):
    name, _, (ases, _) = loaded
    google = ases[15169]
    assert (google["name"], google["org_id"], google["country"]) == ("GOOGLE", "GOGL-ARIN", "US")
    assert google["org_name"] == ("Google Inc." if name == OLD else "Google LLC")
    assert google["opaque_id"] == (None if name == OLD else "9d99e3f7d38d1b8026f2ebbea4017c9f_ARIN")
    # 3320|...: no changed date in either file.
    dtag = ases[3320]
    assert (dtag["name"], dtag["org_id"], dtag["org_name"], dtag["country"]) == (
        "DTAG", "ORG-DTA2-RIPE", "Deutsche Telekom AG", "DE")
    assert dtag["changed"] is None and dtag["source"] == "RIPE"


def test_duplicate_asn_keeps_the_latest_record():
    path = require_shared(OLD) / OLD
    ases, _ = geoip_rs.read_as2org(path)
    # 13335|20170217|CLOUDFLARENET|@family-424|ARIN beats 13335||CLOUDFLARENET-AS|...|RIPE.
    assert ases[13335] == {
        "asn": 13335, "name": "CLOUDFLARENET", "org_id": "@family-424",
        "org_name": "CloudFlare, Inc.", "country": "US", "source": "ARIN",
        "changed": "20170217", "opaque_id": None,
    }


SAMPLE_AS_PIPE = """\
# name: AS Org (the JSON-lines sample, written as pipes by hand)
# format:org_id|changed|org_name|country|source
EXNET-ARIN|20200114|Example Networks, Inc.|US|ARIN
ORG-BN1-RIPE||Beispiel Netz GmbH|DE|RIPE
@aut-64500-LACNIC|20190305|Exemplo Telecomunicações Ltda|BR|LACNIC
@family-77|20161102||JP|JPNIC
# format:aut|changed|aut_name|org_id|opaque_id|source
64496|20200114|EXNET-1|EXNET-ARIN|0f3c2a9e5b7d4e1a8c6b9d2e7f4a1c3b_ARIN|ARIN
64497||BEISPIEL-AS|ORG-BN1-RIPE||RIPE
64497|20180720|BEISPIEL|ORG-BN1-RIPE|7d1e4b2c9a3f5e8d6c0b1a2f3e4d5c6b_ARIN|ARIN
64498|20200114|EXNET-2|EXNET-ARIN||ARIN
64500|20190305|Exemplo Telecomunicações Ltda|@aut-64500-LACNIC|A1B2C3D4|LACNIC
64501|20161102|EXAMPLE-JP|@family-77||JPNIC
65536|20210901|ORPHAN-AP|ORG-GONE-AP|9e8d7c6b_APNIC|APNIC
"""


def test_json_lines_fixture_equals_the_pipe_format(tmp_path):
    pipe = tmp_path / "sample.txt"
    pipe.write_text(SAMPLE_AS_PIPE, encoding="utf-8")
    from_pipe, s_pipe = geoip_rs.read_as2org(pipe)
    from_json, s_json = geoip_rs.read_as2org(SAMPLE)
    assert from_json == from_pipe
    assert list(from_json) == [64496, 64497, 64498, 64500, 64501, 65536]
    for s in (s_json, s_pipe):
        assert (s["orgs"], s["ases_without_org"], s["skipped"]) == (4, 1, {"duplicate ASN": 1})
    assert from_json[64497]["source"] == "ARIN"  # dated record beats the undated one
    assert from_json[65536]["org_name"] is None and from_json[65536]["country"] is None
    assert from_json[64501]["org_name"] is None and from_json[64501]["country"] == "JP"
    # Compressed and under a misleading name, it is still told apart by content.
    gz = tmp_path / "sample.txt"
    gz.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert geoip_rs.read_as2org(gz)[0] == from_json


AS_HEADER = "# format:aut|changed|aut_name|org_id|opaque_id|source\n"


@pytest.mark.parametrize(
    "content, message",
    [
        ("1.0.0.0/24\t15169\n", r"line 1: expected a '# format:' line before the first data line"),
        ("# format: as|source|type\n1|CAIDA|Content\n", r"line 1: unknown '# format:' line"),
        (AS_HEADER + "1|x|A|B|C\n", r"line 2: expected 6 '\|'-separated fields for an AS line, got 5"),
        (AS_HEADER + "1|x|A|B|C|D|E\n", r"line 2: expected 6 '\|'-separated fields"),
        (AS_HEADER + "AS1||A|B||C\n", r'line 2: bad AS number "AS1"'),
        (AS_HEADER + "4294967296||A|B||C\n", r'line 2: bad AS number "4294967296"'),
        ("# format:org_id|changed|org_name|country|source\n|x|A|US|C\n", r"line 2: empty org_id"),
        ('{"type": "ASN", "asn": "1"}\n{"type": "Org"}\n', r'line 2: expected "type": "ASN" or "Organization", got "Org"'),
        ('{"type": "ASN", "asn": "1"}\n{"type": "ASN", "asn": "1",\n', r"line 2: invalid JSON"),
        ('{"type": "Organization", "name": "x"}\n', r"line 1: no organizationId"),
        ('{"type": "ASN", "asn": "1", "changed": 20200101}\n', r"line 1: changed is not a string"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, content, message):
    p = tmp_path / "bad.as2org"
    p.write_text(content)
    with pytest.raises(geoip_rs.FormatError, match=message) as info:
        geoip_rs.read_as2org(p)
    assert "bad.as2org" in str(info.value)


def test_other_formats_are_rejected_on_their_first_data_line():
    ipasn = "ipasn/ipasn.fake"
    with pytest.raises(geoip_rs.FormatError, match=r"ipasn.fake: line 1: expected a '# format:' line"):
        geoip_rs.read_as2org(require_shared(ipasn) / ipasn)
    # pyasn's AS names JSON: one line of megabytes, past the readers' 1 MiB line cap
    names = "asnames/asnames.json.gz"
    with pytest.raises(geoip_rs.FormatError,
                       match=r"asnames.json.gz: line 1: a line of more than 1048576 bytes: not a text file of this format"):
        geoip_rs.read_as2org(require_shared(names) / names)


def test_skip_counts_bad_lines(tmp_path):
    p = tmp_path / "mixed.txt"
    p.write_text(AS_HEADER + "1||A|ORG||ARIN\nbroken\n2||B|ORG||ARIN\n3|x\n")
    ases, summary = geoip_rs.read_as2org(p, on_error="skip")
    assert sorted(ases) == [1, 2]
    assert summary["skipped"] == {"malformed line": 2}
    assert "line 3" in summary["errors"][0] and "line 5" in summary["errors"][1]
    assert summary["ases_without_org"] == 2


def test_empty_and_comment_only_files_are_empty(tmp_path):
    for text in ("", "\n\n", "# just a comment\n# format:aut|changed|aut_name|org_id|source\n"):
        p = tmp_path / "empty.txt"
        p.write_text(text)
        ases, summary = geoip_rs.read_as2org(p)
        assert ases == {} and summary["entries"] == 0


def big_pipe_file() -> bytes:
    lines = [AS_HEADER.rstrip("\n")]
    lines += [f"{asn}|20200101|AS-{asn}|ORG-{asn % 97}|{asn:032x}_ARIN|ARIN" for asn in range(1, 150_000)]
    return ("\n".join(lines) + "\n").encode()


def test_truncated_gzip(tmp_path):
    data = gzip.compress(big_pipe_file())
    p = tmp_path / "cut.txt.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(geoip_rs.FormatError, match=r"cut.txt.gz: byte offset \d+: truncated or corrupt"):
        geoip_rs.read_as2org(p)
    ases, summary = geoip_rs.read_as2org(p, on_error="skip")
    assert summary["truncated"] and summary["skipped"] == {"unreadable rest of file": 1}
    # What was kept is the start of the file, read correctly (a last partial line
    # decoded before the cut may be missing).
    assert 0 < len(ases) < 150_000 - 1
    assert list(ases) == list(range(1, len(ases) + 1))
    assert ases[7]["opaque_id"] == f"{7:032x}_ARIN"


def test_bit_flipped_gzip(tmp_path):
    data = bytearray(gzip.compress(big_pipe_file()))
    data[len(data) // 3] ^= 0x10
    p = tmp_path / "flipped.gz"
    p.write_bytes(bytes(data))
    with pytest.raises(geoip_rs.FormatError, match=r"flipped.gz: (byte offset|line) \d+"):
        geoip_rs.read_as2org(p)


def test_progress_and_arguments(tmp_path):
    path = require_shared(NEW) / NEW
    calls = []
    geoip_rs.read_as2org(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert calls and calls[-1] == (size, size)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        geoip_rs.read_as2org(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        geoip_rs.read_as2org(path, on_error="ignore")
    with pytest.raises(TypeError, match="progress must be"):
        geoip_rs.read_as2org(path, progress="yes")

