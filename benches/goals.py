"""The speed goals, measured for `compare.py`: a database against a bare
`PrefixTable` of the same prefixes, in interleaved pairs (so that both sides of a
ratio see the same noise), at the 2014/2015 size and at today's; then one table of
every goal with both sizes side by side.

The database of each size is built from the same ipasn table the prefix table
holds, with the sample's RIR files and AS names and CAIDA's as2org (from
../shared/data; it is read there, never copied), as a full build would have.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time

import geoip_rs

#: pairs timed per figure; each pair runs the table, then the database.
PAIRS = 7


def _once(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(db_path, items, addrs_str, batch, pairs: int = PAIRS) -> dict:
    """Single `str` lookups and batches, the table's and the database's, timed in
    interleaved pairs: medians of each and of the per-pair ratios."""
    table = geoip_rs.PrefixTable()
    table.update(items)
    db = geoip_rs.open(db_path)
    # Steady state: the table compiled and the database's route facts made, as
    # after a first batch.
    table.lookup_batch(batch)
    db.lookup_batch(batch)
    get, lookup = table.get, db.lookup

    def read(addrs):
        # What a loop that uses the answer does: the AS and the country.
        for a in addrs:
            r = lookup(a)
            if r is not None:
                r.asn, r.country

    sides = {
        "get": lambda: [get(a) for a in addrs_str],
        "lookup": lambda: [lookup(a) for a in addrs_str],
        "lookup+read": lambda: read(addrs_str),
        "table batch": lambda: table.lookup_batch(batch),
        "db batch": lambda: db.lookup_batch(batch),
    }
    times = {k: [] for k in sides}
    for _ in range(pairs):
        for k, fn in sides.items():
            times[k].append(_once(fn))
    pandas_rows = addrs_str[:100_000]
    try:
        pandas = statistics.median(_once(lambda: db.to_pandas(pandas_rows)) for _ in range(3))
        pandas_ns = pandas / len(pandas_rows) * 1e9
    except ImportError:  # pandas or pyarrow not installed
        pandas_ns = None
    med = statistics.median
    single = lambda k: med(times[k]) / len(addrs_str) * 1e9
    rate = lambda k: len(batch) / med(times[k]) / 1e6
    row = {
        "table get ns": single("get"),
        "lookup ns": single("lookup"),
        "lookup+read ns": single("lookup+read"),
        "lookup / get": med(a / b for a, b in zip(times["lookup"], times["get"])),
        "table batch M/s": rate("table batch"),
        "db batch M/s": rate("db batch"),
        "db batch / table": med(b / a for a, b in zip(times["db batch"], times["table batch"])),
        "to_pandas ns/row": pandas_ns,
    }
    db.close()
    return row


def build_in_child(path, **sources) -> dict:
    """`geoip_rs.build_database(path, **sources)` in a fresh child process: its
    seconds and its own peak RSS, which the child reads from its VmHWM (its
    ru_maxrss would count this process's, which it had before its exec)."""
    code = (
        "import json, re, sys, time, geoip_rs\n"
        "kw = json.loads(sys.argv[1])\n"
        "t0 = time.perf_counter()\n"
        "geoip_rs.build_database(kw.pop('path'), **kw).close()\n"
        "took = time.perf_counter() - t0\n"
        "kib = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps({'build s': took, 'peak RSS MB': kib * 1024 / 1e6}))\n"
    )
    args = json.dumps({"path": str(path), **sources})
    out = subprocess.run([sys.executable, "-c", code, args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rib_build(sources: dict, as2org: list[str], out_dir) -> dict | None:
    """`build_database` from the biggest synthetic RIB of today's size in
    $GEOIP_RS_BENCH_DATA (default /work/bench-data; how to make one:
    benches/load_rib.py), with the RIR files, AS names and as2org: its time, peak
    RSS and bytes per prefix. None if there is no such RIB."""
    import os
    from pathlib import Path

    found = sorted(Path(os.environ.get("GEOIP_RS_BENCH_DATA", "/work/bench-data")).glob("rib.p*.mrt.gz"),
                   key=lambda p: p.stat().st_size)
    if not found:
        return None
    path = Path(out_dir) / "rib.geoipdb"
    row = build_in_child(path, mrt=[str(found[-1])], delegated=sources["delegated"], asnames=sources["asnames"],
                         as2org=as2org, on_error="skip")
    db = geoip_rs.open(path)
    row.update({"rib": found[-1].name, "file MB": path.stat().st_size / 1e6,
                "file B/prefix": path.stat().st_size / len(db)})
    db.close()
    return row


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_goals(then: dict, now: dict) -> None:
    """Every goal with its figure at both sizes, its target, and whether it holds.
    `then` and `now` are compare.py's sections: "IPv4", "IPv6", "database",
    "pairs", "prefixes"."""
    rows = []

    def goal(name, a, b, target, ok, spec=".2f"):
        held = "-" if ok is None else ("yes" if ok else "NO")
        rows.append((name, _fmt(a, spec), _fmt(b, spec), target, held))

    p0, p1 = then["pairs"], now["pairs"]
    for key, target, test in (
        ("lookup / get", "<= 2", lambda v: v <= 2),
        ("db batch / table", ">= 0.5", lambda v: v >= 0.5),
    ):
        a, b = p0.get(key), p1.get(key)
        goal(f"Database {key} (same prefixes)", a, b, target,
             None if a is None or b is None else test(a) and test(b))
    rust = "geoip_rs (Rust)"
    for family, single_limit in (("IPv4", 1.3), ("IPv6", 1.3)):
        a, b = then[family][rust].get("str ns"), now[family][rust].get("str ns")
        goal(f"{family} get(str) ns, today within {single_limit}x", a, b, f"x{b / a:.2f} <= {single_limit}",
             b / a <= single_limit, ".0f")
        a, b = then[family][rust].get("batch M/s"), now[family][rust].get("batch M/s")
        goal(f"{family} batch M/s, today within 1.2x", a, b, f"x{a / b:.2f} <= 1.2", a / b <= 1.2, ".0f")
    # What compiling adds to a PrefixTable: the Poptrie and the arrays of its
    # value ids. The Poptrie alone, which the goal is about, is printed by
    # `cargo bench --bench lookup`.
    for family in ("IPv4", "IPv6"):
        goal(f"{family} compiled form + value ids, bytes/prefix", then[family][rust].get("compiled B/prefix"),
             now[family][rust].get("compiled B/prefix"), "reported", None, ".1f")
    a, b = then["IPv4"][rust].get("tree B/prefix"), now["IPv4"][rust].get("tree B/prefix")
    goal("IPv4 mutable table bytes/prefix", a, b, f"x{b / a:.2f} <= 1.5", b / a <= 1.5, ".1f")
    a, b = then["database"].get("peak RSS MB"), now["database"].get("peak RSS MB")
    goal("build_database peak RSS MB (ipasn + RIR + as2org)", a, b, "< 1000", b is not None and b < 1000, ".0f")
    a, b = then["database"].get("file B/prefix"), now["database"].get("file B/prefix")
    goal("database file bytes/prefix", a, b, "reported", None, ".1f")
    rib = now.get("rib build")
    if rib:
        goal(f"  from a full RIB ({rib['rib']}): peak RSS MB", None, rib["peak RSS MB"], "< 1000",
             rib["peak RSS MB"] < 1000, ".0f")
        goal("  from a full RIB: seconds", None, rib["build s"], "reported", None, ".1f")
        goal("  from a full RIB: file bytes/prefix", None, rib["file B/prefix"], "reported", None, ".1f")
    # The withdrawn targets, kept as figures so that nothing slides back.
    for peer, target in (("pytricia", 7), ("pyasn", 10)):
        a = _ratio(then["IPv4"], peer, rust)
        b = _ratio(now["IPv4"], peer, rust)
        goal(f"get(str) vs {peer} (x faster)", a, b, f">= {target}",
             None if a is None or b is None else a >= target and b >= target, ".1f")
    for key, spec in (("to_pandas ns/row", ".0f"), ("lookup+read ns", ".0f"), ("lookup ns", ".0f"),
                      ("table get ns", ".0f"), ("db batch M/s", ".0f"), ("table batch M/s", ".0f")):
        goal(key, p0.get(key), p1.get(key), "reported", None, spec)
    width = max(len(r[0]) for r in rows) + 2
    print("\nGoals: figure at the 2014/2015 size and at today's (synthetic), target, held in this run")
    print(f"{'goal':<{width}}{'2014/2015':>12}{'today':>12}  {'target':<16}{'held':>5}")
    print("-" * (width + 47))
    for name, a, b, target, held in rows:
        print(f"{name:<{width}}{a:>12}{b:>12}  {target:<16}{held:>5}")
    print("(the Poptrie's own bytes/prefix, goals <= 6 for IPv4 and <= 25 for IPv6, and batches against"
          " DIR-24-8, the other withdrawn targets, are printed by `cargo bench --bench lookup`)")


def _ratio(section: dict, peer: str, base: str):
    """How many times faster geoip_rs's single `str` lookup is than `peer`'s."""
    row = next((r for name, r in section.items() if name.startswith(peer)), None)
    if row is None or not row.get("str ns") or not section[base].get("str ns"):
        return None
    return row["str ns"] / section[base]["str ns"]
