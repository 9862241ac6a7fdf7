"""DataFrame throughput: a column of addresses to a table of records.

On the bundled sample (2014/2015 table) and, with ``--today``, a database built from
the synthetic table of today's size (scripts/synth_table.py, cached): 1M address
strings (80% IPv4, 20% IPv6, in routed space) in a pyarrow array through
``Database.to_arrow`` (every column), ``to_pandas`` and ``to_polars``; the same
through the ``to_pandas`` of before the Arrow path (a Python list, ``lookup_batch``
with ``details=True``, columns built as lists), kept here as the baseline; and IPv4
as a ``uint32`` Arrow array against numpy's ``lookup_batch``. On both cores, then on
one (the process pinned to a core; the batches split by the cores it may use).
Medians of ``--repeat`` runs; nothing is asserted.

    python benches/arrow.py [--rows N] [--repeat R] [--today] [--data DIR]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import geoip_rs
from compare import load_script, median_time

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def addresses(db: geoip_rs.Database, n: int, seed: int = 7) -> list[str]:
    """``n`` address strings inside the database's prefixes, 80% IPv4: a random
    prefix's network address plus random host bits."""
    rng = np.random.default_rng(seed)
    nets = [net for net, _ in db]
    v4 = [x for x in nets if x.version == 4]
    v6 = [x for x in nets if x.version == 6]
    out = []
    for i, k in enumerate(rng.integers(0, 1 << 62, n)):
        pool = v6 if i % 5 == 4 else v4
        net = pool[int(k) % len(pool)]
        host = int(rng.integers(0, 1 << 62)) % net.num_addresses
        out.append(str(net.network_address + host))
    return out


def legacy_to_pandas(db: geoip_rs.Database, addrs: list[str]) -> pd.DataFrame:
    """``to_pandas`` as it was before the Arrow path: the batch's numpy columns and
    the text columns as Python lists, made into a DataFrame."""
    cols = db.lookup_batch(addrs, details=True)

    def codes(arr):
        values, idx = np.unique(arr, return_inverse=True)
        text = [c.decode() for c in values.tolist()]
        idx = idx.reshape(-1)
        if "" in text:
            idx, text = idx - 1, text[1:]
        return pd.Categorical.from_codes(idx, categories=text)

    frame = pd.DataFrame({
        "address": list(addrs), "prefix": cols["prefix"], "asn": pd.array(cols["asn"], dtype="UInt32"),
        "as_name": cols["as_name"], "org_id": cols["org_id"], "org_name": cols["org_name"],
        "country": codes(cols["country"]), "country_source": codes(cols["country_source"]),
        "registry": cols["registry"],
    })
    frame.loc[~cols["found"], "asn"] = pd.NA
    return frame


def measure(db: geoip_rs.Database, addrs: list[str], repeat: int) -> dict[str, float]:
    """Rows per second of each path."""
    n = len(addrs)
    strings = pa.array(addrs, pa.string())
    v4 = np.array([int(ipaddress.IPv4Address(a)) for a in addrs if ":" not in a], dtype=np.uint32)
    v4_arrow = pa.array(v4)
    runs = {
        "to_arrow, strings": (lambda: pa.table(db.to_arrow(strings)), n),
        "to_pandas, strings": (lambda: db.to_pandas(strings), n),
        "to_polars, strings": (lambda: db.to_polars(strings), n),
        "to_pandas before (list)": (lambda: legacy_to_pandas(db, addrs), n),
        "to_arrow, uint32": (lambda: pa.table(db.to_arrow(v4_arrow)), len(v4)),
        "lookup_batch, uint32 Arrow": (lambda: db.lookup_batch(v4_arrow), len(v4)),
        "lookup_batch, uint32 numpy": (lambda: db.lookup_batch(v4), len(v4)),
    }
    out = {}
    for name, (fn, rows) in runs.items():
        fn()  # warm: pages of the file, first allocations
        slow = name.startswith("to_pandas before")
        out[name] = rows / median_time(fn, max(1, repeat // 2) if slow else repeat)
    return out


def report(title: str, cores: dict[int, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"{'path':<30}" + "".join(f"{f'{c} core(s) M rows/s':>22}" for c in cores) + f"{'vs to_arrow':>13}")
    both = cores[max(cores)]
    for name in both:
        ratio = both[name] / both["to_arrow, strings"]
        print(f"{name:<30}" + "".join(f"{cores[c][name] / 1e6:>22.2f}" for c in cores) + f"{ratio:>13.3f}")
    b = both
    print(f"to_arrow / before: {b['to_arrow, strings'] / b['to_pandas before (list)']:.1f}x;  "
          f"to_arrow uint32 / numpy lookup_batch: {b['to_arrow, uint32'] / b['lookup_batch, uint32 numpy']:.2f}x;  "
          f"to_arrow / to_pandas: {b['to_arrow, strings'] / b['to_pandas, strings']:.2f}x, "
          f"/ to_polars: {b['to_arrow, strings'] / b['to_polars, strings']:.2f}x")


def on_cores(db, addrs, repeat) -> dict[int, dict[str, float]]:
    every = os.sched_getaffinity(0)
    out = {}
    try:
        for cores in sorted({len(every), 1}, reverse=True):
            os.sched_setaffinity(0, set(sorted(every)[:cores]))
            out[cores] = measure(db, addrs, repeat)
    finally:
        os.sched_setaffinity(0, every)
    return out


def today_db(data: Path, out: Path) -> geoip_rs.Database:
    """A database from the synthetic table of today's size, with the sample's RIR
    files and AS names (as benches/compare.py builds it)."""
    table = load_script("synth_table").cached_table(data=data)
    sources = load_script("build_sample_db").sources(data)
    return geoip_rs.build_database(out / "today.geoipdb", ipasn=[str(table)], delegated=sources["delegated"],
                                   asnames=sources["asnames"], on_error="skip")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--today", action="store_true", help="also a database of today's size")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    db = geoip_rs.open(geoip_rs.sample_path())
    print(f"{args.rows:,} addresses, medians of {args.repeat} runs")
    report(f"Bundled sample ({len(db):,} prefixes)", on_cores(db, addresses(db, args.rows), args.repeat))
    if args.today:
        with tempfile.TemporaryDirectory(prefix="geoip_rs_arrow_") as out:
            big = today_db(args.data, Path(out))
            report(f"Today's size ({len(big):,} prefixes)", on_cores(big, addresses(big, args.rows), args.repeat))
            big.close()


if __name__ == "__main__":
    main()
