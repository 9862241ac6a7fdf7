"""Full IPv4 RIB -> prefix/origin table: geoip_rs against pyasn's converter and against
iterating the same file with pybgpkit-parser in Python (each only if installed:
`pip install pyasn pybgpkit-parser`). Every job runs in a fresh child process, so the
peak memory (max RSS) is its own; the time is the median of --repeat runs.

    python benches/load_rib.py [--rib PATH] [--repeat 3]

The decompress / parse / build split of geoip_rs itself is in the criterion bench:
`cargo bench --bench load_rib`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_RIB = HERE.parent.parent / "shared/data/mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"

# Each job prints one JSON line: {"seconds": ..., "prefixes": ...}; the parent adds
# the child's max RSS.
JOBS = {
    "geoip_rs.read_mrt": """
import time, geoip_rs
t = time.perf_counter()
table, summary = geoip_rs.read_mrt(RIB)
print(json.dumps({"seconds": time.perf_counter() - t, "prefixes": len(table)}))
""",
    "geoip_rs.mrt_routes (iterate in Python)": """
import time, geoip_rs
t = time.perf_counter()
n = sum(1 for _ in geoip_rs.mrt_routes(RIB))
print(json.dumps({"seconds": time.perf_counter() - t, "prefixes": None, "routes": n}))
""",
    "pybgpkit-parser (iterate in Python)": """
import time
from pybgpkit_parser import Parser
t = time.perf_counter()
n = sum(1 for _ in Parser(url=RIB))
print(json.dumps({"seconds": time.perf_counter() - t, "prefixes": None, "routes": n}))
""",
}

# pyasn's converter as its users run it, in-process in the child so that the peak
# memory measured is its own.
PYASN_SCRIPT = Path(sysconfig.get_path("scripts")) / "pyasn_util_convert.py"
JOBS["pyasn_util_convert.py --single"] = f"""
import runpy, sys, tempfile, time, os, io, contextlib
out = os.path.join(tempfile.mkdtemp(), "ipasn.dat")
sys.argv = ["pyasn_util_convert.py", "--single", RIB, out]
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    runpy.run_path({str(PYASN_SCRIPT)!r}, run_name="__main__")
seconds = time.perf_counter() - t
n = sum(1 for line in open(out) if not line.startswith(";"))
print(json.dumps({{"seconds": seconds, "prefixes": n}}))
"""


def run_child(code: str, rib: Path) -> dict:
    prelude = f"import json\nRIB = {str(rib)!r}\n"
    proc = subprocess.run(
        [sys.executable, "-c", "import resource, sys\n" + prelude + code
         + "\nprint(json.dumps({'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    out = {}
    for line in proc.stdout.splitlines():
        out.update(json.loads(line))
    return out


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rib", type=Path, default=DEFAULT_RIB)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    needs = {"pybgpkit": "pybgpkit_parser", "pyasn": "pyasn"}
    jobs = {n: c for n, c in JOBS.items() if all(k not in n or importable(m) for k, m in needs.items())}
    results: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        for name, code in jobs.items():
            results.setdefault(name, []).append(run_child(code, args.rib))
    size = os.path.getsize(args.rib)
    print(f"\n{args.rib.name} ({size / 1e6:.1f} MB), median of {args.repeat} runs, fresh process each")
    print(f"{'job':<42}{'seconds':>10}{'peak RSS MB':>14}{'prefixes':>10}{'routes':>10}{'vs geoip_rs':>13}")
    base = statistics.median(r["seconds"] for r in results["geoip_rs.read_mrt"])
    for name, runs in results.items():
        if any("error" in r for r in runs):
            print(f"{name:<42} failed: {runs[0].get('error')}")
            continue
        secs = statistics.median(r["seconds"] for r in runs)
        rss = max(r["maxrss_kb"] for r in runs) / 1024
        prefixes = runs[0].get("prefixes") or ""
        routes = runs[0].get("routes") or ""
        print(f"{name:<42}{secs:>10.2f}{rss:>14.0f}{prefixes!s:>10}{routes!s:>10}{f'x{secs / base:.1f}':>13}")


if __name__ == "__main__":
    main()
