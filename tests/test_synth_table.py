"""scripts/synth_table.py at a small scale: the same seed gives the same bytes, the
counts and length mix are today's, every line is a valid prefix, and geoip_rs reads
the file as a plain-Python parse (with ``ipaddress``) reads it."""

from __future__ import annotations

import collections
import gzip
import importlib.util
import ipaddress
import sys
from pathlib import Path

import pytest
from conftest import require_shared

import geoip_rs

SCALE = 0.02
START = ("ipasn/ipasn_20140513.dat.gz", "ipasn/ipasn6_20151101.dat.gz")
TODAY_V4 = "prefixes/prefix-trie_prefixes_ipv4.txt.gz"


def load_script():
    path = Path(__file__).resolve().parents[1] / "scripts" / "synth_table.py"
    spec = importlib.util.spec_from_file_location("synth_table", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synth():
    return load_script()


@pytest.fixture(scope="module")
def made(synth, tmp_path_factory):
    """Two files of seed 1 and one of seed 2, all at SCALE."""
    data = require_shared(*START)
    out = tmp_path_factory.mktemp("synth")
    paths = [out / "a.dat.gz", out / "b.dat.gz", out / "c.dat.gz"]
    for path, seed in zip(paths, (1, 1, 2)):
        synth.write_ipasn(path, synth.generate(seed, SCALE, data), seed, SCALE)
    return paths


@pytest.fixture(scope="module")
def rows(made):
    return parse(made[0])[1]


def parse(path: Path) -> tuple[list[str], list[tuple[ipaddress._BaseNetwork, int]]]:
    """The header lines and ``(network, asn)`` rows; ``strict`` rejects host bits."""
    header, rows = [], []
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            if line.startswith(";"):
                header.append(line)
                continue
            prefix, asn = line.rstrip("\n").split("\t")
            rows.append((ipaddress.ip_network(prefix, strict=True), int(asn)))
    return header, rows


def test_same_seed_same_bytes_other_seed_other_table(made):
    a, b, c = (p.read_bytes() for p in made)
    assert a == b
    assert a != c


def test_counts_and_header(made):
    header, rows = parse(made[0])
    v4 = sum(n.version == 4 for n, _ in rows)
    v6 = len(rows) - v4
    assert (v4, v6) == (round(1_050_000 * SCALE), round(230_000 * SCALE))
    assert header[0] == "; IP-ASN32-DAT file\n"
    assert f"; Prefixes-v4   : {v4}\n" in header and f"; Prefixes-v6   : {v6}\n" in header


def test_no_duplicates_and_valid_origins(rows):
    nets = [n for n, _ in rows]
    assert len(set(nets)) == len(nets)
    assert all(0 < asn < 2**32 for _, asn in rows)


def shares(lengths) -> dict[int, float]:
    counts = collections.Counter(lengths)
    return {n: c / len(lengths) for n, c in counts.items()}


def test_ipv4_length_mix_is_todays(rows):
    """Against the real list of today, counted here from the file itself."""
    root = require_shared(TODAY_V4)
    with gzip.open(root / TODAY_V4, "rt") as f:
        today = shares([int(line.split("/")[1]) for line in f if line.strip()])
    got = shares([n.prefixlen for n, _ in rows if n.version == 4])
    assert 0.58 < got[24] < 0.66
    distance = sum(abs(got.get(n, 0) - today.get(n, 0)) for n in set(got) | set(today)) / 2
    assert distance < 0.02


def test_ipv6_length_mix_is_todays(rows):
    got = shares([n.prefixlen for n, _ in rows if n.version == 6])
    assert 0.45 < got[48] < 0.55
    top = sorted(got, key=got.get, reverse=True)[:6]
    assert set(top) == {48, 32, 44, 40, 36, 29}


def test_grows_the_real_start(rows, synth):
    """Most of the 2014 table is still there, and growth brought new 32-bit ASes."""
    start = require_shared(*START) / START[0]
    with gzip.open(start, "rt") as f:
        old = {line.split("\t")[0] for line in f if not line.startswith(";")}
    nets = {str(n) for n, _ in rows if n.version == 4}
    kept = len(nets & old)
    assert kept >= round(len(old) * SCALE)  # the start's sample, none withdrawn
    blocks = [range(a, b) for a, b in synth.NEW_ASN_BLOCKS]
    new_ases = {asn for n, asn in rows if str(n) not in old and any(asn in r for r in blocks)}
    assert len(new_ases) > 100


def test_geoip_rs_reads_what_python_reads(made, rows):
    table, summary = geoip_rs.read_ipasn(made[0])
    assert table == geoip_rs.PrefixTable([(str(n), asn) for n, asn in rows])
    v4 = sum(n.version == 4 for n, _ in rows)
    assert table.counts() == (v4, len(rows) - v4)
    assert summary["prefixes"] == summary["entries"] == len(rows)
    assert summary["skipped"] == {}


def test_cached_table_is_made_once(synth, tmp_path, monkeypatch):
    data = require_shared(*START)
    monkeypatch.setenv("GEOIP_RS_CACHE", str(tmp_path))
    path = synth.cached_table(3, 0.005, data)
    assert path.parent == tmp_path / "bench" and path.exists()
    stamp = path.stat().st_mtime_ns
    assert synth.cached_table(3, 0.005, data) == path
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]
