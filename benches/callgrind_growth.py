"""What each cost of geoip_rs grew by from the 2014/2015 table to today's size,
counted instead of timed: instructions and simulated cache misses under valgrind's
callgrind, which give the same numbers on a busy machine as on a quiet one (the
timings of compare.py and the criterion benches vary by 2x when other work shares
the cores).

One run a table does everything once: ``read_ipasn``, ``compile()``, single
``t.get(str)`` calls from a Python loop, a ``lookup_batch`` of uniform uint32
addresses, then opening a database built alike (``compare.py``'s: the table with
the RIR files and AS names of the bundled sample) and ``db.lookup(str)`` calls.
Each figure is the inclusive cost of the geoip_rs function doing it (so the Python
loop around a call is not in it), per operation. Callgrind's cache model has two
levels; its last one is set to 1 MiB, 16-way, the L2 of this machine's cores,
because that is the cache the tables outgrow (a 32 MiB L3 modelled whole would
hold both tables and miss nothing; shared with other work it holds far less). So
the "L2 misses" show the table outgrowing the cache, which instruction counts
alone do not. The two runs take a
few minutes (valgrind runs Python about 50x slower).

    python benches/callgrind_growth.py [--data DIR] [--single N] [--batch N]
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: figure -> (the function whose inclusive cost it is, what it is divided by)
OPS = {
    "read_ipasn, per prefix": ("py::load_prefixes::__pyfunction_read_ipasn", "prefixes"),
    "compile, per prefix": ("py::table::PrefixTable::__pymethod_compile__", "prefixes"),
    "single get(str)": ("py::table::PrefixTable::__pymethod_get__", "single"),
    "batch, per address": ("poptrie::PoptrieRef<K>::lookup_many", "batch"),
    "db open (checksum)": ("db::read::Database::open", "one"),
    "db lookup(str)": ("py::database::PyDatabase::__pymethod_lookup__", "single"),
}
EVENTS = ("Ir", "D1mr", "DLmr")

WORKLOAD = """
import ipaddress, sys
import numpy as np
import geoip_rs
table, db, n_single, n_batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
batch = rng.integers(0, 2**32, size=n_batch, dtype=np.uint64).astype(np.uint32)
strs = [str(ipaddress.IPv4Address(int(x))) for x in batch[:n_single]]
t, _ = geoip_rs.read_ipasn(table)
t.compile()
[t.get(a) for a in strs]
t.lookup_batch(batch)
d = geoip_rs.open(db)
[d.lookup(a) for a in strs]
"""


def start(table: Path, db: Path, out: Path, args) -> subprocess.Popen:
    cmd = ["valgrind", "--tool=callgrind", "--cache-sim=yes", "--LL=1048576,16,64", f"--callgrind-out-file={out}",
           sys.executable, "-c", WORKLOAD, str(table), str(db), str(args.single), str(args.batch)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def inclusive(out: Path) -> dict[str, dict[str, int]]:
    """Inclusive Ir, D1mr, DLmr of each function in OPS, from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--show-percs=no", str(out)],
                          capture_output=True, text=True, check=True).stdout
    events = re.search(r"^Events shown:\s*(.+)$", text, re.M).group(1).split()
    found = {}
    for line in text.splitlines():
        for op, (func, _) in OPS.items():
            if op not in found and line.rstrip().split(" [")[0].endswith("geoip_rs::" + func):
                counts = line.split()[: len(events)]  # "." is a zero
                found[op] = {e: int(n.replace(",", "").replace(".", "0")) for e, n in zip(events, counts)}
    return found


def per_op(costs: dict, n: dict[str, int]) -> dict[str, dict[str, float]]:
    return {op: {e: costs[op][e] / n[OPS[op][1]] for e in EVENTS} for op in OPS if op in costs}


def then_table(data: Path, out: Path) -> Path:
    """The 2014 IPv4 table and the 2015 IPv6 one in one ipasn file, as today's has both."""
    sys.path.insert(0, str(HERE))
    import compare

    rows = compare.read_ipasn(data / "ipasn" / "ipasn_20140513.dat.gz")
    rows += [r for r in compare.read_ipasn(data / "ipasn" / "ipasn6_20151101.dat.gz") if ":" in r[0]]
    path = out / "then.dat.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(f"{p}\t{a}\n" for p, a in rows)
    return path


def build_database(data: Path, table: Path) -> Path:
    """A database of ``table`` with the RIR files and AS names of the bundled sample."""
    import compare

    import geoip_rs

    sources = compare.load_script("build_sample_db").sources(data)
    path = table.parent / f"{table.name.split('.')[0]}.geoipdb"
    geoip_rs.build_database(path, ipasn=[str(table)], delegated=sources["delegated"],
                            asnames=sources["asnames"], on_error="skip").close()
    return path


def print_rows(then: dict, now: dict) -> None:
    print("\nPer operation, at the 2014/2015 size and at today's (callgrind); growth = today / then")
    print(f"{'operation':<24}{'instructions':>28}{'growth':>8}{'D1 read misses':>24}"
          f"{'L2 read misses':>24}{'growth':>8}")
    for op in OPS:
        a, b = then.get(op), now.get(op)
        if not a or not b:
            continue
        grow = {e: f"x{b[e] / a[e]:.2f}" if a[e] > 0.01 else "-" for e in EVENTS}
        print(f"{op:<24}{a['Ir']:>14,.1f}{b['Ir']:>14,.1f}{grow['Ir']:>8}{a['D1mr']:>12,.2f}{b['D1mr']:>12,.2f}"
              f"{a['DLmr']:>12,.3f}{b['DLmr']:>12,.3f}{grow['DLmr']:>8}")


def main() -> None:
    sys.path.insert(0, str(HERE))
    import compare

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=compare.DEFAULT_DATA)
    ap.add_argument("--single", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1_000_000)
    args = ap.parse_args()
    today = compare.load_script("synth_table").cached_table(data=args.data)
    with tempfile.TemporaryDirectory(prefix="geoip_rs_callgrind_") as tmp:
        out = Path(tmp)
        tables = {"then": then_table(args.data, out), "today": out / "today.dat.gz"}
        tables["today"].write_bytes(today.read_bytes())
        runs = {k: start(t, build_database(args.data, t), out / f"{k}.cg", args) for k, t in tables.items()}
        results = {}
        for k, proc in runs.items():
            if proc.wait():
                raise SystemExit(f"valgrind failed on the {k} table")
            n = {"prefixes": len(compare.read_ipasn(tables[k])), "single": args.single, "batch": args.batch, "one": 1}
            results[k] = per_op(inclusive(out / f"{k}.cg"), n)
    print_rows(results["then"], results["today"])


if __name__ == "__main__":
    main()
