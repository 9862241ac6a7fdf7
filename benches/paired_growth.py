"""How much slower lookups are at today's size than at the 2014/2015 size, timed
in pairs: each round times the same operation on both tables back to back (in
alternating order) and keeps the ratio, and the answer is the median ratio over the
rounds. Other work on a shared machine then slows both halves of a pair alike,
where separate runs (compare.py, criterion) differ by 2x or more from run to run.

Tables: ``PrefixTable`` of the 2014 IPv4 + 2015 IPv6 tables, and of the synthetic
one of today's size (scripts/synth_table.py, made and cached on first use), both
compiled. IPv4 addresses are uniform random; IPv6 ones lie inside each table's own
prefixes.

    python benches/paired_growth.py [--data DIR] [--rounds R]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import geoip_rs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402


def seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def one_core(fn):
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        return fn()
    finally:
        os.sched_setaffinity(0, cpus)


def table_and_v6(rows4, rows6, rng) -> tuple[geoip_rs.PrefixTable, np.ndarray, list[str]]:
    """The compiled table, 1M IPv6 addresses inside its prefixes, 100k of them as text."""
    t = geoip_rs.PrefixTable()
    t.update(rows4)
    t.update(rows6)
    t.compile()
    v6 = compare.inside_prefixes(rng, [ipaddress.IPv6Network(p) for p, _ in rows6], 1_000_000, 16)
    return t, v6, [str(ipaddress.IPv6Address(bytes(r))) for r in v6[:100_000]]


def tests(u: np.ndarray, strs: list[str]) -> dict:
    """name -> fn(table, v6 array, v6 strings) giving the figure (ns a call or M/s)."""
    return {
        "IPv4 get(str), ns": lambda t, a6, s6: seconds(lambda: [t.get(a) for a in strs]) / len(strs) * 1e9,
        "IPv4 batch 1M uniform, M/s": lambda t, a6, s6: len(u) / seconds(lambda: t.lookup_batch(u)) / 1e6,
        "IPv4 batch, one core, M/s": lambda t, a6, s6: one_core(
            lambda: len(u) / seconds(lambda: t.lookup_batch(u)) / 1e6),
        "IPv6 get(str), ns": lambda t, a6, s6: seconds(lambda: [t.get(a) for a in s6]) / len(s6) * 1e9,
        "IPv6 batch 1M inside, M/s": lambda t, a6, s6: len(a6) / seconds(lambda: t.lookup_batch(a6)) / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=compare.DEFAULT_DATA)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(3)
    today = compare.read_ipasn(compare.load_script("synth_table").cached_table(data=args.data))
    then6 = compare.read_ipasn(args.data / "ipasn" / "ipasn6_20151101.dat.gz")
    tables = {
        "then": table_and_v6(compare.read_ipasn(args.data / "ipasn" / "ipasn_20140513.dat.gz"),
                             [r for r in then6 if ":" in r[0]], rng),
        "today": table_and_v6([r for r in today if ":" not in r[0]], [r for r in today if ":" in r[0]], rng),
    }
    u = rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32)
    strs = [str(ipaddress.IPv4Address(int(x))) for x in u[:200_000]]
    print(f"{'figure':<30}{'2014/2015':>11}{'today':>11}{'today/then':>12}  (range of the {args.rounds} rounds)")
    for name, fn in tests(u, strs).items():
        got = {"then": [], "today": []}
        for r in range(args.rounds):
            for k in ("then", "today") if r % 2 == 0 else ("today", "then"):
                got[k].append(fn(*tables[k]))
        ratios = [b / a for a, b in zip(got["then"], got["today"])]
        print(f"{name:<30}{statistics.median(got['then']):>11.1f}{statistics.median(got['today']):>11.1f}"
              f"{f'x{statistics.median(ratios):.2f}':>12}  ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
