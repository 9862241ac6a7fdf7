"""benches/mmdb.py runs: its quick form prints the export table, the lookup table and
the goal. The figures are timings, so only the rows are checked, not their values.

The second run stands in for what is not there yet or not installed everywhere: a
``geoip_rs.convert_mmdb`` that copies the file (so the "converted" row is timed,
the copy opening as an MMDB file with the same ``lookup_batch``), and no maxminddb
(the extra ``compare``, not among the test extras)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from conftest import require_shared

BENCH = Path(__file__).resolve().parents[1] / "benches" / "mmdb.py"
MMDB = "mmdb/geolite2-cc-by-sa/GeoLite2-Country_20190219.mmdb"

ROWS = [
    "Export of the bundled sample",
    "seconds (median of 1)",
    "peak RSS of a child doing it, MB",
    "networks",
    "node_count",
    "Batch lookups on GeoLite2-Country",
    "geoip_rs: [db.get(a) for a in strs]",
    'lookup_batch(array, ["country.iso_code"])',
    "lookup_batch(array), default fields",
    'lookup_batch(str list, ["country.iso_code"])',
    "to_arrow(array), default fields",
    "Goal: a batch >= x100",
    "| row | input | IPv4 M/s | vs C loop | IPv6 M/s | vs C loop |",
]

#: The bench, run with a stand-in convert_mmdb and with maxminddb unimportable.
STAND_IN = """
import os, runpy, shutil, sys
import geoip_rs
geoip_rs.convert_mmdb = lambda src, dst: {"copied": shutil.copyfile(src, dst)}
sys.modules["maxminddb"] = None
sys.path.insert(0, os.path.dirname(sys.argv[1]))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(*argv: str) -> str:
    p = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_quick_mmdb_bench_prints_its_table():
    out = run(str(BENCH), "--quick", "--data", str(require_shared(MMDB)))
    missing = [row for row in ROWS if row not in out]
    assert not missing, out
    if importlib.util.find_spec("maxminddb") is None:
        return
    assert "maxminddb C: [r.get(a) for a in strs]" in out, out
    assert "maxminddb pure Python" in out, out
    if hasattr(__import__("geoip_rs"), "convert_mmdb"):
        assert 'converted: lookup_batch(array, ["country.iso_code"])' in out, out
    else:
        assert "skipped: this geoip_rs has no convert_mmdb" in out, out


def test_quick_mmdb_bench_converted_row_and_no_maxminddb():
    out = run("-c", STAND_IN, str(BENCH), "--quick", "--data", str(require_shared(MMDB)))
    missing = [row for row in ROWS if row not in out]
    assert not missing, out
    assert "converted with geoip_rs.convert_mmdb" in out, out
    assert 'converted: lookup_batch(array, ["country.iso_code"])' in out, out
    assert "differ" not in out, out  # the copy answers as the file
    assert "maxminddb not installed" in out, out
    assert "\nmaxminddb C: [r.get(a)" not in out and "\nmaxminddb pure Python" not in out, out
    assert "no maxminddb" in out, out
