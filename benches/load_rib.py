"""Full RIB -> prefix/origin table: geoip_rs against decompression alone (`bzcat` /
`zcat` of the same file to /dev/null) and against its peers, each only if installed:
pyasn's converter (`pyasn_util_convert.py --single`), `bgpdump -m`, and iterating
the file with pybgpkit-parser in Python (and with `geoip_rs.mrt_routes`). Every job runs in a fresh child process, so
the peak memory (max RSS) is its own; the time is the median of --repeat runs.

    python benches/load_rib.py [--rib PATH ...] [--synthetic DIR] [--repeat 3]
                               [--peers-upto MB] [--baseline OTHER_VENV/bin/python]

Without --rib: the real 2014 route-views.jinx RIB from ../shared/data, and the
synthetic RIBs in --synthetic (default $GEOIP_RS_BENCH_DATA or /work/bench-data),
made from scripts/synth_table.py's table by examples/synth_rib.rs, e.g.

    python scripts/synth_table.py -o DIR/synth_table.dat.gz
    cargo run --release --example synth_rib -- --peers 30 --out DIR/rib.p30.mrt DIR/synth_table.dat.gz
    lbzip2 -9 -k DIR/rib.p30.mrt; gzip -6 -k DIR/rib.p30.mrt   # -> rib.p30.mrt.bz2, .gz

(any `rib.*.bz2` / `rib.*.gz` there is taken). The peers, much slower, run only on
files of at most --peers-upto MB decompressed. The decompress / parse / build split
of geoip_rs itself is in the criterion bench: `cargo bench --bench load_rib`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL_RIB = HERE.parent.parent / "shared/data/mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
SYNTHETIC = Path(os.environ.get("GEOIP_RS_BENCH_DATA", "/work/bench-data"))

# Each job prints one JSON line: {"seconds": ..., "prefixes": ...}; the parent adds
# the child's max RSS (of the child itself or, for a command, of the command).
DECOMPRESS = "decompress alone (bzcat/zcat)"
OURS = "geoip_rs.read_mrt"
JOBS = {
    DECOMPRESS: """
import resource, subprocess, time
tool = "bzcat" if open(RIB, "rb").read(3) == b"BZh" else "zcat"
t = time.perf_counter()
subprocess.run([tool, RIB], stdout=subprocess.DEVNULL, check=True)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "prefixes": None,
                  "child_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
""",
    OURS: """
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
    "bgpdump -m (to /dev/null)": """
import resource, subprocess, time
t = time.perf_counter()
subprocess.run(["bgpdump", "-m", RIB], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "prefixes": None,
                  "child_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
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
PEERS = [n for n in JOBS if n not in (DECOMPRESS, OURS)]


def run_child(code: str, rib: Path, python: str = sys.executable) -> dict:
    prelude = f"import json\nRIB = {str(rib)!r}\n"
    proc = subprocess.run(
        [python, "-c", "import resource, sys\n" + prelude + code
         + "\nprint(json.dumps({'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    out = {}
    for line in proc.stdout.splitlines():
        out.update(json.loads(line))
    if "child_rss_kb" in out:
        out["maxrss_kb"] = out["child_rss_kb"]
    return out


def available(name: str) -> bool:
    needs = {"pybgpkit": ("module", "pybgpkit_parser"), "pyasn": ("module", "pyasn"),
             "bgpdump": ("tool", "bgpdump")}
    for key, (kind, what) in needs.items():
        if key in name:
            if kind == "tool":
                return shutil.which(what) is not None
            return subprocess.run([sys.executable, "-c", f"import {what}"], capture_output=True).returncode == 0
    return True


def raw_mb(rib: Path) -> float:
    """The decompressed size, in MB (read through once)."""
    # Only the magic: the children inherit this process's peak memory (ru_maxrss
    # survives fork and exec), so it must not read the file.
    with open(rib, "rb") as f:
        tool = "bzcat" if f.read(3) == b"BZh" else "zcat"
    out = subprocess.run(f"{tool} {str(rib)!r} | wc -c", shell=True, capture_output=True, text=True)
    return int(out.stdout) / 1e6


BASELINE = f"{OURS} (--baseline build)"


def bench(rib: Path, repeat: int, peers_upto: float, baseline: str | None) -> None:
    mb = raw_mb(rib)
    names = [DECOMPRESS, OURS] + ([BASELINE] if baseline else [])
    names += [p for p in PEERS if available(p)] if mb <= peers_upto else []
    results: dict[str, list[dict]] = {}
    for _ in range(repeat):
        for name in names:
            if name == BASELINE:
                results.setdefault(name, []).append(run_child(JOBS[OURS], rib, baseline))
            else:
                results.setdefault(name, []).append(run_child(JOBS[name], rib))
    print(f"\n{rib.name} ({os.path.getsize(rib) / 1e6:.1f} MB, {mb:.0f} MB decompressed), "
          f"median of {repeat}, fresh process each")
    print(f"{'job':<38}{'seconds':>9}{'peak RSS MB':>13}{'prefixes':>10}{'routes':>11}"
          f"{'/ decompress':>14}{'/ geoip_rs':>12}")
    med = {n: statistics.median(r["seconds"] for r in runs) for n, runs in results.items()
           if not any("error" in r for r in runs)}
    for name, runs in results.items():
        if name not in med:
            print(f"{name:<38} failed: {next(r for r in runs if 'error' in r)['error']}")
            continue
        secs = med[name]
        rss = max(r["maxrss_kb"] for r in runs) / 1024
        prefixes = runs[0].get("prefixes") or ""
        routes = runs[0].get("routes") or ""
        vs_d = f"x{secs / med[DECOMPRESS]:.2f}" if DECOMPRESS in med else ""
        vs_o = f"x{secs / med[OURS]:.2f}" if OURS in med else ""
        print(f"{name:<38}{secs:>9.2f}{rss:>13.0f}{prefixes!s:>10}{routes!s:>11}{vs_d:>14}{vs_o:>12}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rib", type=Path, action="append", help="a RIB file (repeatable)")
    ap.add_argument("--synthetic", type=Path, default=SYNTHETIC, help="folder of synthetic RIBs")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers-upto", type=float, default=150, help="MB decompressed; bigger files: geoip_rs only")
    ap.add_argument("--baseline", help="a Python whose geoip_rs (another build) runs too, to compare")
    args = ap.parse_args()
    ribs = args.rib or [REAL_RIB] + sorted(
        p for p in args.synthetic.glob("rib.*") if p.suffix in (".bz2", ".gz"))
    for rib in ribs:
        bench(rib, args.repeat, args.peers_upto, args.baseline)


if __name__ == "__main__":
    main()
