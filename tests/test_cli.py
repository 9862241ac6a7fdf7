"""The ``geoip-rs`` command end to end, in subprocesses: lookups in every output
format and from every input, build, info, export (checked against the library and
by reading the export back), and each user error (one line, no traceback)."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import random
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import read_ipasn, require_shared

import geoip_rs

IPASN = "ipasn/ipasn_20140513.dat.gz"
AS2ORG = "as2org/20170401.as-org2info.txt.gz"
RIPE = "rir/delegated-ripencc-20140803.gz"
CMD = [sys.executable, "-m", "geoip_rs"]


def run(*args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [*CMD, *map(str, args)], input=stdin, capture_output=True, text=True, timeout=300
    )
    if ok:
        assert p.returncode == 0, p.stderr
    return p


def fails(*args: str, status: int = 1, stdin: str | None = None) -> str:
    """Run a command that must fail: one line on stderr, no traceback."""
    p = run(*args, stdin=stdin, ok=False)
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    if status == 1:
        assert p.stderr.startswith("geoip-rs: error: ") and p.stderr.count("\n") == 1, p.stderr
    return p.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = require_shared(IPASN, AS2ORG, RIPE)
    out = tmp_path_factory.mktemp("cli") / "t.geoipdb"
    run("build", out, "--ipasn", root / IPASN, "--as2org", root / AS2ORG,
        "--delegated", root / RIPE, "-q")
    return out


def addresses(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    v4 = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(n)]
    return v4 + ["2001:4860::8888", "::1"]


def expected(db: geoip_rs.Database, address: str) -> dict:
    """The row the CLI should print, from the library."""
    r = db.lookup(address)
    keys = ["prefix", "asn", "as_name", "org_id", "org_name", "country", "country_source",
            "registry"]
    if r is None:
        return {"address": address, **dict.fromkeys(keys)}
    d = r.to_dict()
    return {"address": address, **{k: str(d[k]) if k == "prefix" else d[k] for k in keys}}


def test_the_script_is_installed():
    script = Path(sysconfig.get_path("scripts")) / "geoip-rs"
    assert script.exists(), script
    p = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert p.stdout.strip() == f"geoip-rs {geoip_rs.__version__}"


def test_lookup_formats_agree_with_the_library(built):
    ips = addresses(300, 1)
    with geoip_rs.open(built) as db:
        want = [expected(db, a) for a in ips]
    got = [json.loads(line) for line in run("lookup", "-d", built, "-o", "jsonl", *ips).stdout.splitlines()]
    assert got == want
    rows = list(csv.DictReader(io.StringIO(run("lookup", "-d", built, "-o", "csv", *ips).stdout)))
    assert rows == [{k: "" if v is None else str(v) for k, v in w.items()} for w in want]
    table = run("lookup", "-d", built, *ips).stdout.splitlines()
    assert table[0].split()[:3] == ["ADDRESS", "PREFIX", "ASN"]
    assert len(table) == len(ips) + 1
    for line, w in zip(table[1:], want):
        cells = line.split()
        assert cells[0] == w["address"]
        assert cells[2] == (str(w["asn"]) if w["asn"] is not None else "-")
    assert sum(w["asn"] is not None for w in want) > 100  # the check had substance


def test_lookup_reads_files_and_stdin(built, tmp_path):
    ips = addresses(50, 2)
    text = "# addresses\n" + "\n".join(f"  {a}  # note" if i % 7 == 0 else a for i, a in enumerate(ips)) + "\n\n"
    f = tmp_path / "ips.txt"
    f.write_text(text)
    direct = run("lookup", "-d", built, "-o", "jsonl", *ips).stdout
    assert run("lookup", "-d", built, "-o", "jsonl", "-f", f).stdout == direct
    assert run("lookup", "-d", built, "-o", "jsonl", "-f", "-", stdin=text).stdout == direct
    assert run("lookup", "-d", built, "-o", "jsonl", stdin=text).stdout == direct


def test_lookup_uses_the_bundled_database_by_default():
    rows = [json.loads(x) for x in run("lookup", "-o", "jsonl", "8.8.8.8", "192.0.2.1").stdout.splitlines()]
    with geoip_rs.open() as db:
        assert rows == [expected(db, "8.8.8.8"), expected(db, "192.0.2.1")]
    assert rows[0]["asn"] is not None


def test_build_info_and_export_round_trip(built, tmp_path):
    root = require_shared(IPASN)
    info = json.loads(run("info", built, "--json").stdout)
    with geoip_rs.open(built) as db:
        assert info == db.metadata
        n = len(db)
    assert [s["kind"] for s in info["sources"]] == ["ipasn", "as2org", "delegated"]
    text = run("info", built).stdout
    assert f"{info['counts']['ipv4_prefixes']:,} IPv4" in text and "sha256" in text
    # ipasn export read back gives the source table exactly.
    out = tmp_path / "export.dat"
    run("export", built, "--format", "ipasn", "-o", out)
    assert geoip_rs.read_ipasn(out)[0] == geoip_rs.PrefixTable(read_ipasn(root / IPASN))
    rows = list(csv.DictReader(io.StringIO(run("export", built, "--format", "csv").stdout)))
    assert len(rows) == n
    with geoip_rs.open(built) as db:
        for row in random.Random(3).sample(rows, 300):
            net = ipaddress.ip_network(row["prefix"])
            r = db.lookup(net.network_address)
            if r.prefix == net:  # no more specific prefix at its first address
                assert row["asn"] == str(r.asn)
                assert row["country"] == (r.country or "")
                assert row["org_name"] == (r.org_name or "")
            assert (net, int(row["asn"])) in db.covering(net)


def test_export_to_a_closed_pipe_is_quiet():
    p = subprocess.run(
        f"{sys.executable} -m geoip_rs export | head -n 2", shell=True,
        capture_output=True, text=True,
    )
    assert p.stdout.startswith("; IP-ASN32-DAT file") and p.stderr == ""


def test_user_errors(built, tmp_path):
    root = require_shared(IPASN)
    assert "argument 2: '8.8.8.800' does not appear to be an IPv4 or IPv6 address" in fails(
        "lookup", "-d", built, "8.8.8.8", "8.8.8.800"
    )
    f = tmp_path / "bad.txt"
    f.write_text("8.8.8.8\n\nnot-an-ip\n")
    assert f"line 3 of {f}: 'not-an-ip'" in fails("lookup", "-d", built, "-f", f)
    assert "No such file" in fails("lookup", "-f", tmp_path / "missing.txt", "-d", built)
    assert "No such file" in fails("lookup", "-d", tmp_path / "missing.db", "8.8.8.8")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 100)
    assert "not a geoip_rs database" in fails("info", junk)
    cut = tmp_path / "cut.db"
    cut.write_bytes(built.read_bytes()[:5000])
    assert "cut.db" in fails("info", cut)
    assert "prefix source" in fails("build", tmp_path / "o.db", "--asnames", root / IPASN)
    assert "No such file" in fails("build", tmp_path / "o.db", "--ipasn", tmp_path / "nope.gz")
    assert "line 1" in fails("build", tmp_path / "o.db", "--ipasn", f)
    assert not (tmp_path / "o.db").exists()
    assert "not both" in fails("lookup", "-d", built, "-f", f, "8.8.8.8")
    fails("lookup", "-o", "xml", "8.8.8.8", status=2)
    fails(status=2)
    # Empty stdin (not a terminal) is no addresses, not an error: just the header.
    assert run("lookup", "-d", built, stdin="").stdout.startswith("ADDRESS")


def test_build_skips_bad_lines_when_asked(tmp_path):
    f = tmp_path / "t.ipasn"
    f.write_text("8.0.0.0/8\t3356\nrubbish\n9.0.0.0/8\t3356\n")
    out = tmp_path / "t.db"
    p = run("build", out, "--ipasn", f, "--skip-errors", "-q")
    assert "t.ipasn: 3 records read, left out: 1 malformed line" in p.stderr
    with geoip_rs.open(out) as db:
        assert len(db) == 2 and db.lookup("9.1.1.1").asn == 3356
