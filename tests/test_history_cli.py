"""The command line's side of histories, end to end in subprocesses: ``geoip-rs
build-history`` (and ``--append``), ``info`` on a history, ``lookup --at``, and the
user errors (one line, status 1). The oracle is the one-date databases a history is
made of: at each date the history must answer as the database of that date."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import require_shared
from test_cli import addresses, expected, fails, run

import geoip_rs

IPASN_2008 = "ipasn/ipasn_20080501_v12.dat.gz"
IPASN_2014 = "ipasn/ipasn_20140513.dat.gz"
IPASN6_2015 = "ipasn/ipasn6_20151101.dat.gz"
RIPE = "rir/delegated-ripencc-20140803.gz"
AS2ORG = "as2org/20170401.as-org2info.txt.gz"
#: Each database's snapshot time: the date in its ipasn file's name.
TIMES = {"2008": "2008-05-01T00:00:00Z", "2014": "2014-05-13T00:00:00Z",
         "2015": "2015-11-01T00:00:00Z"}


@pytest.fixture(scope="module")
def dbs(tmp_path_factory) -> dict[str, Path]:
    """Three dated databases (the 2014 one with registry data too) and one without
    a date (its only file's name has none)."""
    root = require_shared(IPASN_2008, IPASN_2014, IPASN6_2015, RIPE, AS2ORG)
    d = tmp_path_factory.mktemp("dated")
    sources = {"2008": {"ipasn": root / IPASN_2008},
               "2014": {"ipasn": root / IPASN_2014, "delegated": root / RIPE,
                        "as2org": root / AS2ORG},
               "2015": {"ipasn": root / IPASN6_2015}}
    for name, files in sources.items():
        geoip_rs.build_database(d / f"{name}.geoipdb", **files).close()
    (d / "table.ipasn").write_text("8.0.0.0/8\t3356\n9.0.0.0/8\t3356\n")
    geoip_rs.build_database(d / "undated.geoipdb", ipasn=d / "table.ipasn").close()
    return {name: d / f"{name}.geoipdb" for name in [*sources, "undated"]}


@pytest.fixture(scope="module")
def history(dbs, tmp_path_factory) -> Path:
    """2015 and 2008 merged, then 2014 appended."""
    h = tmp_path_factory.mktemp("history") / "h.geoipdb"
    p = run("build-history", h, dbs["2015"], dbs["2008"], "-q")
    assert p.stderr == (f"wrote {h}: 2 snapshots, 2008-05-01 00:00 UTC .. "
                        "2015-11-01 00:00 UTC\n")
    p = run("build-history", h, dbs["2014"], "--append", "-q")
    assert "3 snapshots, 2008-05-01 00:00 UTC .. 2015-11-01 00:00 UTC" in p.stderr
    return h


def test_build_history_and_append_keep_each_database_as_a_snapshot(history, dbs, tmp_path):
    with geoip_rs.open(history) as h:
        snaps = h.snapshots
        assert [s["time"].strftime("%Y-%m-%dT%H:%M:%SZ") for s in snaps] == list(TIMES.values())
        for s, name in zip(snaps, TIMES):
            with geoip_rs.open(dbs[name]) as db:
                assert s["sources"] == db.metadata["sources"]
                assert s["counts"] == db.metadata["counts"]
    # --append to a file not there makes it; without --append the file is replaced.
    new = tmp_path / "new.geoipdb"
    run("build-history", new, dbs["2014"], "--append", "-q")
    run("build-history", new, dbs["2008"], "-q")
    with geoip_rs.open(new) as h:
        assert [s["time"].year for s in h.snapshots] == [2008]


def lookups(db: Path, *args: str, fmt: str = "jsonl") -> str:
    return run("lookup", "-d", db, "-o", fmt, *args).stdout


def test_lookup_at_answers_as_the_database_of_that_date(history, dbs):
    ips = addresses(400, 5)
    answers = {}
    for at, name in (("2008-05-01", "2008"), ("2014-06-01T12:00", "2014"),
                     ("2015-11-01T00:00:00Z", "2015"), ("2030-01-01", "2015")):
        got = [json.loads(x) for x in lookups(history, "--at", at, *ips).splitlines()]
        with geoip_rs.open(dbs[name]) as db:
            want = [{**expected(db, a), "snapshot_time": TIMES[name]} for a in ips]
        assert got == want, at
        answers[name] = [r["asn"] for r in got]
    # The dates answer differently, so a wrong snapshot would not pass.
    assert sum(a != b for a, b in zip(answers["2008"], answers["2015"])) > 100
    assert sum(a is not None for a in answers["2008"]) > 100
    before = [json.loads(x) for x in lookups(history, "--at", "2008-04-30", *ips).splitlines()]
    assert before == [{**dict.fromkeys(before[0]), "address": a} for a in ips]
    # CSV and the table end with the column; without --at the output is as before.
    rows = list(csv.DictReader(io.StringIO(lookups(history, "--at", "2014-05-13", *ips,
                                                   fmt="csv"))))
    assert [r["snapshot_time"] for r in rows] == [TIMES["2014"]] * len(ips)
    table = lookups(history, "--at", "2014-05-13", "8.8.8.8", fmt="table").splitlines()
    assert table[0].split()[-1] == "SNAPSHOT_TIME" and table[1].endswith(TIMES["2014"])
    with geoip_rs.open(dbs["2015"]) as db:
        newest = [expected(db, a) for a in ips]
    assert [json.loads(x) for x in lookups(history, *ips).splitlines()] == newest
    assert lookups(history, "8.8.8.8", fmt="csv").splitlines()[0].endswith(",registry")


def test_lookup_at_on_a_one_date_database(dbs):
    """A one-date database is one snapshot, taken at the time of its data."""
    ips = ["8.8.8.8", "1.0.0.1", "2001:4860::8888"]
    rows = [json.loads(x) for x in lookups(dbs["2014"], "--at", "2014-05-13", *ips).splitlines()]
    with geoip_rs.open(dbs["2014"]) as db:
        assert rows == [{**expected(db, a), "snapshot_time": TIMES["2014"]} for a in ips]
    assert rows[0]["asn"] == 15169
    before = [json.loads(x) for x in lookups(dbs["2014"], "--at", "2014-05-12T23:59", *ips)
              .splitlines()]
    assert before == [{**dict.fromkeys(rows[0]), "address": a} for a in ips]


def test_info_on_a_history(history, dbs):
    text = run("info", history).stdout.splitlines()
    assert "history:   3 snapshots, 2008-05-01 00:00 UTC .. 2015-11-01 00:00 UTC" in text
    start = text.index("snapshots:")
    lines = []
    for name, file in (("2008", IPASN_2008), ("2014", IPASN_2014), ("2015", IPASN6_2015)):
        with geoip_rs.open(dbs[name]) as db:
            c = db.metadata["counts"]
        # The prefix sources only: they are what dates a snapshot.
        lines.append(f"  {TIMES[name][:10]} 00:00 UTC  {c['ipv4_prefixes']:>9,} IPv4 "
                     f"{c['ipv6_prefixes']:>7,} IPv6 prefixes  ipasn {Path(file).name}")
    assert text[start + 1:start + 4] == lines
    assert text[start + 4] == "sources of the newest snapshot:"
    assert json.loads(run("info", history, "--json").stdout) == geoip_rs.open(history).metadata
    # One-date databases: as before, no history lines.
    one = run("info", dbs["2014"]).stdout.splitlines()
    assert not [x for x in one if x.startswith(("history:", "snapshots:", "sources of"))]
    assert "sources:" in one and any("delegated  delegated-ripencc" in x for x in one)


def test_errors_are_one_line(history, dbs, tmp_path):
    out = tmp_path / "out.geoipdb"
    assert "undated.geoipdb: no date" in fails("build-history", out, dbs["2008"], dbs["undated"])
    copy = tmp_path / "copy.geoipdb"
    copy.write_bytes(dbs["2008"].read_bytes())
    assert "its data is of 2008-05-01, as is that of" in fails("build-history", out,
                                                               dbs["2008"], copy)
    assert "No such file" in fails("build-history", out, dbs["2008"], tmp_path / "nope.geoipdb")
    junk = tmp_path / "junk.geoipdb"
    junk.write_bytes(b"x" * 100)
    assert "junk.geoipdb: not a geoip_rs database" in fails("build-history", out, junk)
    assert not out.exists()
    # A date the history has already: it is left as it was.
    before = history.read_bytes()
    assert "its data is of 2014-05-13" in fails("build-history", history, dbs["2014"], "--append")
    assert history.read_bytes() == before
    fails("build-history", out, status=2)  # no database: bad usage
    assert "--at '2014-13-01' is not YYYY-MM-DD" in fails("lookup", "-d", history, "--at",
                                                          "2014-13-01", "8.8.8.8")


def test_update_range_errors_come_before_any_download(tmp_path):
    cache = ["--cache-dir", tmp_path / "cache", "--offline"]
    assert "needs --history FILE" in fails("update", *cache, "--date", "2014-01-01..2014-03-01")
    assert "--every is for a range" in fails("update", *cache, "--date", "2014-01-01",
                                             "--every", "week")
    h = tmp_path / "h.geoipdb"
    assert "the range ends (2014-01-01) before it starts (2014-03-01)" in fails(
        "update", *cache, "--date", "2014-03-01..2014-01-01", "--history", h)
    assert "is not YYYY-MM-DD" in fails("update", *cache, "--date", "2014-01-01..2014-02",
                                        "--history", h)
    assert "no folder" in fails("update", *cache, "--history", tmp_path / "no" / "h.geoipdb")
    assert not (tmp_path / "cache").exists() and not h.exists()
