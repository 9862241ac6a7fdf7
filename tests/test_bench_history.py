"""benches/history.py runs: its quick form, in a work directory of its own, prints
every table. The figures are timings, so only the rows are checked, not their values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benches" / "history.py"

ROWS = [
    "Synthetic churn series from the bundled sample",
    "one snapshot",
    "3 daily (1.0%/day)",
    "3 monthly (5.0%/month)",
    "Section sizes in kB",
    "Timeline section by owner",
    "Build time: 3 daily databases to a history",
    "one-date database, uniform",
    "history, one time, uniform",
    "history, time per address, uniform",
    "one-date database, inside",
    "history, time per address, inside",
    "The 'inside' batch by its addresses' leaf",
    "one-date lookup(str)",
    "history lookup(str, at=int seconds)",
    "history lookup(str, at=datetime UTC)",
    "Goals",
    "size: 3 daily (1.0%/day) / one snapshot",
    "lookup(str, at=int seconds) vs one-date lookup(str)",
]


def test_quick_history_bench_prints_its_tables(shared_data, tmp_path):
    p = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--data", str(shared_data), "--work-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode == 0, p.stderr
    missing = [row for row in ROWS if row not in p.stdout]
    assert not missing, p.stdout
