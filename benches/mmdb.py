"""MMDB (MaxMind DB) files: geoip_rs's export, and batch lookups against maxminddb.

Export: the bundled sample (497k IPv4 + 26k IPv6 prefixes) written as an MMDB file
by ``geoip_rs.open(sample).to_mmdb(path)``: seconds (median of ``--export-repeat``),
the peak RSS of a child process doing only that (``python -c``, read from
``getrusage(RUSAGE_CHILDREN)``) beside that of a child that only opens the database,
the file's size, and the returned summary's networks and node_count.

Lookups on GeoLite2-Country 2019 (``mmdb/geolite2-cc-by-sa/`` in the shared data,
``--data``; default ``$GEOIP_RS_SHARED_DATA``, else ``../shared/data`` beside the
repository). Seeded inputs: ``--batch`` uniform random IPv4 addresses as a numpy
``uint32`` array and as a list of str; as many IPv6 addresses, half inside the
sample's routed IPv6 prefixes (2015; a random prefix's address with random host bits)
and half uniform over 2000::/3 (mostly misses), shuffled, as an ``(N, 16)`` ``uint8``
array and as a list of str. Rows:

- single lookups from a Python loop over the first ``--single`` str addresses
  (``--pure`` for pure Python), rated per address, so scaled to the batch: maxminddb's
  C extension (``MODE_MMAP_EXT``) ``[r.get(a) for a in strs]``, and its
  ``r.get(a)["country"]["iso_code"]`` as users write it; maxminddb's pure-Python
  reader (``MODE_MMAP``); geoip_rs's ``MmdbDatabase.get(a)`` in the same loop;
- geoip_rs batches over all the addresses: ``lookup_batch`` of the array with
  ``["country.iso_code"]`` and with the default fields (every leaf, names in
  English), of the str list with ``["country.iso_code"]``, ``to_arrow`` of the array
  with the default fields and with ``country.iso_code``;
- "converted": the file converted by ``geoip_rs.convert_mmdb`` to geoip_rs's own
  format and read with ``lookup_batch``, when geoip_rs has that function (skipped
  until then).

Prints M addresses/s per row and the ratio against maxminddb's C loop in the same
run: every round times each row once, in turn (so that the load of a shared machine,
which comes and goes, weighs on each alike), each round gives each row a ratio, and
the table shows the medians of ``--repeat`` rounds. Then the goal (a batch at least
100x maxminddb's single-lookup loop) and the table again, ready for the README.
Nothing is asserted but that the answers agree: geoip_rs's ``country.iso_code``
columns and ``get`` records against maxminddb's, on the loops' addresses. maxminddb
is optional (``pip install geoip_rs[compare]``): without it its rows and the ratios
are left out. It installs nothing.

    python benches/mmdb.py [--quick] [--data DIR] [--batch N] [--single N] [--pure N]
                           [--repeat R] [--export-repeat R] [--seed S]

``--quick``: small inputs, one round, one export, for a smoke test.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import geoip_rs
from compare import DEFAULT_DATA, inside_prefixes, median_time

#: The MMDB file the lookups read, under the shared data directory.
GEOLITE = Path("mmdb") / "geolite2-cc-by-sa" / "GeoLite2-Country_20190219.mmdb"
#: The field the narrow batches ask for.
CC = ["country.iso_code"]
#: The goal: a batch's rate over maxminddb's C single-lookup loop's.
GOAL = 100
FAMILIES = ("IPv4", "IPv6")
BASELINE = "maxminddb C: [r.get(a) for a in strs]"
#: Addresses a loop looks up once before the rounds (a batch runs whole once).
WARM = 2_000


def default_data() -> Path:
    env = os.environ.get("GEOIP_RS_SHARED_DATA")
    return Path(env) if env else DEFAULT_DATA


# ---- export ---------------------------------------------------------------------------

CHILD_OPEN = "import sys, geoip_rs; geoip_rs.open(sys.argv[1]).close()"
CHILD_EXPORT = "import sys, geoip_rs; geoip_rs.open(sys.argv[1]).to_mmdb(sys.argv[2])"


def child_peak_rss(code: str, *args: str) -> int:
    """Peak RSS in bytes of a child ``python -c code args``. ``RUSAGE_CHILDREN``'s
    ``ru_maxrss`` is the largest of all the children waited for so far, so the
    children are run smallest first (the one that only opens before the export)."""
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kB on Linux


def export(tmp: Path, repeat: int) -> dict:
    sample = geoip_rs.sample_path()
    out = tmp / "sample.mmdb"
    opened = child_peak_rss(CHILD_OPEN, sample)
    peak = child_peak_rss(CHILD_EXPORT, sample, str(out))
    with geoip_rs.open(sample) as db:
        counts = db.metadata["counts"]
        times, summary = [], {}
        for _ in range(repeat):
            gc.collect()
            t0 = time.perf_counter()
            summary = db.to_mmdb(out)
            times.append(time.perf_counter() - t0)
    with geoip_rs.open(out) as m:
        nodes = m.metadata["node_count"]
    if summary.get("node_count", nodes) != nodes:
        raise SystemExit(f"to_mmdb says {summary['node_count']} nodes, the file's metadata {nodes}")
    return {"times": times, "summary": summary, "bytes": out.stat().st_size, "rss": peak, "rss open": opened,
            "v4": counts["ipv4_prefixes"], "v6": counts["ipv6_prefixes"]}


def print_export(e: dict) -> None:
    s, times = e["summary"], e["times"]
    print(f"Export of the bundled sample ({e['v4']:,} IPv4 + {e['v6']:,} IPv6 prefixes) to MMDB: "
          f"geoip_rs.open(sample).to_mmdb(path)")
    print(f"{'figure':<44}{'value':>16}")
    print("-" * 60)
    runs = ", ".join(f"{t:.2f}" for t in times)
    print(f"{f'seconds (median of {len(times)})':<44}{statistics.median(times):>16.2f}   runs: {runs}")
    print(f"{'peak RSS of a child doing it, MB':<44}{e['rss'] / 1e6:>16.0f}")
    print(f"{'  of a child only opening the sample, MB':<44}{e['rss open'] / 1e6:>16.0f}")
    print(f"{'file size, MB':<44}{e['bytes'] / 1e6:>16.1f}")
    for key in ("networks", "node_count", "record_size", "records"):
        if key in s:
            print(f"{key:<44}{s[key]:>16,}")


# ---- inputs ---------------------------------------------------------------------------


def v4_text(a: np.ndarray) -> list[str]:
    raw = a.astype(">u4").tobytes()
    return [socket.inet_ntoa(raw[i:i + 4]) for i in range(0, len(raw), 4)]


def v6_text(a: np.ndarray) -> list[str]:
    raw = np.ascontiguousarray(a).tobytes()
    return [socket.inet_ntop(socket.AF_INET6, raw[i:i + 16]) for i in range(0, len(raw), 16)]


def inputs(n: int, seed: int) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per family, the addresses as an array and as a list of str."""
    rng = np.random.default_rng(seed)
    v4 = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    with geoip_rs.open(geoip_rs.sample_path()) as sample:
        routed = [net for net, _ in sample.covered("::/0")]
    inside = inside_prefixes(rng, routed, n // 2, 16)
    uniform = rng.integers(0, 256, size=(n - n // 2, 16), dtype=np.uint8)
    uniform[:, 0] = 0x20 | (uniform[:, 0] & 0x1F)  # 2000::/3
    v6 = np.ascontiguousarray(np.concatenate([inside, uniform])[rng.permutation(n)])
    return {"IPv4": (v4, v4_text(v4)), "IPv6": (v6, v6_text(v6))}


# ---- lookups --------------------------------------------------------------------------


def iso(records) -> list:
    return [r["country"].get("iso_code") if r and "country" in r else None for r in records]


def text_column(col) -> list:
    """A text column as a list, a missing value (None, NaN, '') as None."""
    return [x if isinstance(x, str) and x else None for x in list(col)]


def check_answers(db, reader, data: dict, single: int) -> None:
    """geoip_rs's country.iso_code columns (array and str list) are maxminddb's
    answers on the loops' addresses, and ``get`` gives maxminddb's records."""
    for fam, (arr, strs) in data.items():
        want = iso(reader.get(a) for a in strs[:single]) if reader else iso(db.get(a) for a in strs[:single])
        for label, addrs in (("array", arr[:single]), ("str list", strs[:single])):
            bad = sum(x != y for x, y in zip(text_column(db.lookup_batch(addrs, CC)[CC[0]]), want))
            if bad:
                raise SystemExit(f"{fam} lookup_batch({label}): {bad} of {single:,} country codes differ")
        if reader:
            bad = sum(db.get(a) != reader.get(a) for a in strs[:2000])
            if bad:
                raise SystemExit(f"{fam}: MmdbDatabase.get differs from maxminddb's get on {bad} of 2,000")
    hits = {fam: float(np.mean(db.lookup_batch(arr, CC)["found"])) for fam, (arr, _) in data.items()}
    print("answers checked against " + ("maxminddb" if reader else "MmdbDatabase.get (no maxminddb)")
          + f" on {single:,} addresses a family; found: "
          + ", ".join(f"{fam} {h:.0%}" for fam, h in hits.items()))


def converted_row(src: Path, tmp: Path, data: dict, mmdb) -> tuple[dict, object] | None:
    """The "converted" row: the MMDB file converted to geoip_rs's own format by
    ``geoip_rs.convert_mmdb(mmdb_path, out_path) -> dict``, opened with
    ``geoip_rs.open(out_path)`` and read with ``lookup_batch(addresses, fields)``,
    the array of each family with the fields of the other narrow batches
    (``country.iso_code``).

    Skipped (None, and the table says so) when this geoip_rs has no
    ``convert_mmdb``. Otherwise prints the conversion's time, the file's size and the
    returned summary, checks the converted file's country codes against the MMDB
    file's (a difference is printed, and the row marked with a *), and returns the row
    and the open database (for the caller to close)."""
    if not hasattr(geoip_rs, "convert_mmdb"):
        return None
    out = tmp / "GeoLite2-Country.geoipdb"
    t0 = time.perf_counter()
    summary = geoip_rs.convert_mmdb(str(src), str(out))
    took = time.perf_counter() - t0
    db = geoip_rs.open(out)
    print(f"converted with geoip_rs.convert_mmdb in {took:.2f} s: {out.stat().st_size / 1e6:.1f} MB, {summary}")
    row = {"input": "array", "runs": {}, "note": ""}
    for fam, (arr, _) in data.items():
        got = text_column(db.lookup_batch(arr, CC)[CC[0]])
        want = text_column(mmdb.lookup_batch(arr, CC)[CC[0]])
        bad = sum(x != y for x, y in zip(got, want)) + abs(len(got) - len(want))
        if bad:
            print(f"converted: {fam} country codes differ from the MMDB file's on {bad:,} of {len(arr):,} addresses")
            row["note"] = " *"
        row["runs"][fam] = ((lambda arr=arr: db.lookup_batch(arr, CC)), len(arr))
    return row, db


def rows(db, reader, pure, data: dict, single: int, n_pure: int) -> dict[str, dict]:
    """Each row: what it reads and, per family, ``(callable, addresses it looks up)``."""
    out: dict[str, dict] = {}

    def loop(name, get, n, field=False):
        def make(strs):
            if field:
                return lambda: [r["country"]["iso_code"] if (r := get(a)) and "country" in r else None for a in strs]
            return lambda: [get(a) for a in strs]

        out[name] = {"input": "str loop", "runs": {fam: (make(strs[:n]), len(strs[:n]))
                                                   for fam, (_, strs) in data.items()},
                     "warm": [make(strs[:WARM]) for _, strs in data.values()]}

    def batch(name, kind, fn):
        out[name] = {"input": kind, "runs": {fam: ((lambda x=(arr if kind == "array" else strs): fn(x)),
                                                   len(arr)) for fam, (arr, strs) in data.items()}}

    if reader:
        loop(BASELINE, reader.get, single)
        loop('maxminddb C: r.get(a)["country"]["iso_code"]', reader.get, single, field=True)
    if pure:
        loop("maxminddb pure Python: [r.get(a) for a in strs]", pure.get, n_pure)
    loop("geoip_rs: [db.get(a) for a in strs]", db.get, single)
    batch('lookup_batch(array, ["country.iso_code"])', "array", lambda a: db.lookup_batch(a, CC))
    batch("lookup_batch(array), default fields", "array", lambda a: db.lookup_batch(a))
    batch('lookup_batch(str list, ["country.iso_code"])', "str list", lambda a: db.lookup_batch(a, CC))
    batch("to_arrow(array), default fields", "array", lambda a: db.to_arrow(a))
    batch('to_arrow(array, ["country.iso_code"])', "array", lambda a: db.to_arrow(a, CC))
    return out


def measure(table: dict[str, dict], repeat: int) -> dict[str, dict[str, dict]]:
    """Per row and family: median M/s and median ratio against the baseline's rate
    in the same round, over ``repeat`` rounds of every row timed in turn."""
    for row in table.values():  # the pages in memory, as in steady use
        for fn in row.get("warm") or [fn for fn, _ in row["runs"].values()]:
            fn()
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat):
        for name, row in table.items():
            for fam, (fn, n) in row["runs"].items():
                rates.setdefault((name, fam), []).append(n / median_time(fn, 1))
    out: dict[str, dict[str, dict]] = {}
    for (name, fam), rs in rates.items():
        base = rates.get((BASELINE, fam))
        out.setdefault(name, {})[fam] = {
            "M/s": statistics.median(rs) / 1e6,
            "ratio": statistics.median(r / b for r, b in zip(rs, base)) if base else None,
        }
    return out


def cells(r: dict | None) -> tuple[str, str]:
    if r is None:
        return "-", "-"
    return f"{r['M/s']:.3g}", ("-" if r["ratio"] is None else f"x{r['ratio']:,.{0 if r['ratio'] >= 10 else 2}f}")


def print_lookups(table, results, skipped: dict[str, str], title: str) -> None:
    print(f"\n{title}")
    header = (f"{'row':<56}{'input':<10}{'timed':>10}" + "".join(f"{f'{fam} M/s':>11}{'vs C loop':>11}"
                                                              for fam in FAMILIES))
    print(header)
    print("-" * len(header))
    for name, row in table.items():
        timed = f"{next(iter(row['runs'].values()))[1]:,}"
        line = f"{name + row.get('note', ''):<56}{row['input']:<10}{timed:>10}"
        for fam in FAMILIES:
            m, r = cells(results[name].get(fam))
            line += f"{m:>11}{r:>11}"
        print(line)
    for name, why in skipped.items():
        print(f"{name:<56}{'':<10}{'':>10}  skipped: {why}")
    if any(row.get("note") for row in table.values()):
        print("* its answers differ from the MMDB file's (printed above the table)")


def print_goals(table, results) -> None:
    print(f"\nGoal: a batch >= x{GOAL} maxminddb's C single-lookup loop ({BASELINE}), same run")
    print(f"{'batch':<56}" + "".join(f"{fam:>10}{'':>8}" for fam in FAMILIES))
    print("-" * (56 + 18 * len(FAMILIES)))
    for name, row in table.items():
        if row["input"] == "str loop":
            continue
        line = f"{name:<56}"
        for fam in FAMILIES:
            r = results[name][fam]["ratio"]
            line += (f"{'-':>10}{'no maxminddb':>14}" if r is None
                     else f"{f'x{r:,.0f}':>10}{'met' if r >= GOAL else 'MISSED':>8}")
        print(line)


def print_markdown(e: dict, table, results, args) -> None:
    print("\nFor the README:\n")
    print("| row | input | IPv4 M/s | vs C loop | IPv6 M/s | vs C loop |\n|---|---|---|---|---|---|")
    for name, row in table.items():
        cs = [c for fam in FAMILIES for c in cells(results[name].get(fam))]
        print(f"| `{name}`{row.get('note', '')} | {row['input']} | " + " | ".join(cs) + " |")
    s = e["summary"]
    print(f"\nExport of the sample: {statistics.median(e['times']):.2f} s (median of {len(e['times'])}), "
          f"peak RSS {e['rss'] / 1e6:.0f} MB ({e['rss open'] / 1e6:.0f} MB only opening), "
          f"{e['bytes'] / 1e6:.1f} MB, {s.get('networks', 0):,} networks, {s.get('node_count', 0):,} nodes.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small inputs, one round, one export")
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--batch", type=int, default=1_000_000, help="addresses a family in the batches")
    ap.add_argument("--single", type=int, default=200_000, help="addresses a family in the single-lookup loops")
    ap.add_argument("--pure", type=int, default=20_000, help="addresses a family in maxminddb's pure-Python loop")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of lookups")
    ap.add_argument("--export-repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2019)
    args = ap.parse_args()
    if args.quick:
        args.batch, args.single, args.pure, args.repeat, args.export_repeat = 20_000, 5_000, 1_000, 1, 1
    args.single, args.pure = min(args.single, args.batch), min(args.pure, args.batch)
    src = args.data / GEOLITE
    if not src.exists():
        raise SystemExit(f"{src} not found (--data or GEOIP_RS_SHARED_DATA: the shared data directory)")

    try:
        import maxminddb
    except ImportError:
        maxminddb = None
    with tempfile.TemporaryDirectory(prefix="geoip_rs_bench_mmdb_") as tmp:
        e = export(Path(tmp), args.export_repeat)
        print_export(e)

        data = inputs(args.batch, args.seed)
        db = geoip_rs.open(src)
        reader = pure = None
        if maxminddb is not None:
            reader = maxminddb.open_database(str(src), maxminddb.MODE_MMAP_EXT)
            pure = maxminddb.open_database(str(src), maxminddb.MODE_MMAP)
        meta = db.metadata
        print(f"\nGeoIP file: {src.name} ({meta['database_type']}, {meta['node_count']:,} nodes, record size "
              f"{meta['record_size']}); geoip_rs {geoip_rs.__version__}, maxminddb "
              f"{maxminddb.__version__ if maxminddb else 'not installed (pip install geoip_rs[compare])'}, "
              f"{os.cpu_count()} CPUs")
        check_answers(db, reader, data, args.single)
        table = rows(db, reader, pure, data, args.single, args.pure)
        skipped = {}
        conv = converted_row(src, Path(tmp), data, db)
        if conv is None:
            skipped["converted: convert_mmdb, then lookup_batch"] = "this geoip_rs has no convert_mmdb"
        else:
            table['converted: lookup_batch(array, ["country.iso_code"])'] = conv[0]
        results = measure(table, args.repeat)
        print_lookups(table, results, skipped,
                      f"Batch lookups on GeoLite2-Country: {args.batch:,} seeded uniform random IPv4 / {args.batch:,} "
                      f"IPv6 (half inside routed prefixes, half uniform in 2000::/3) a family; loops time the first "
                      f"{args.single:,} (pure Python {args.pure:,}), rated per address; median of {args.repeat} "
                      f"rounds; 'vs C loop': the row's rate over maxminddb's C get loop's, same round")
        print_goals(table, results)
        print_markdown(e, table, results, args)
        if conv is not None:
            conv[1].close()
        db.close()
        if reader:
            reader.close()
            pure.close()


if __name__ == "__main__":
    main()
