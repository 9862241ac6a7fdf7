"""Rows a second through the cluster helpers: ``geoip_rs.dask.enrich`` on a Dask
LocalCluster of two worker processes and ``geoip_rs.spark.enrich`` on PySpark
``local[2]``, against one process's ``pa.table(db.to_arrow(addresses))`` on the same
addresses.

The addresses are strings, shuffled: 60% IPv4 inside routed prefixes, 15% uniform
IPv4, 20% IPv6 inside routed prefixes (written out in full, ``2001:db8:0:0:...``),
5% uniform IPv6 in 2000::/3. They are written once to Parquet files (one a
partition) in a temporary folder; each engine reads them and holds them in memory
(Dask ``persist``, Spark ``cache``) before anything is timed, so the times are the
lookups and the engine's own costs, not reading files. The engines write nowhere:
Dask counts each enriched partition's rows, Spark runs the ``noop`` writer. The
"no lookup" rows time the same jobs without ``enrich``: the engine's floor.

Every figure is the median of ``--runs`` timed runs after one untimed run (which
opens the database in each worker and starts Spark's Python workers). Everything
runs on the loopback interface; nothing is asserted.

    python benches/clusters.py [--rows 10000000] [--runs 3] [--partitions N]
                               [--db PATH] [--engines single,dask,spark]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import geoip_rs

ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def routed(db: geoip_rs.Database) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The database's prefixes: IPv4 (network, length) and IPv6 (high and low
    64 bits, length), as arrays."""
    v4: list[tuple[int, int]] = []
    v6: list[tuple[int, int]] = []
    for net, _ in db:
        (v4 if net.version == 4 else v6).append((int(net.network_address), net.prefixlen))
    a4 = np.array(v4, dtype=np.uint64).reshape(-1, 2)
    a6 = np.array([(n >> 64, n & int(ALL), plen) for n, plen in v6], dtype=np.uint64).reshape(-1, 3)
    return a4[:, 0], a4[:, 1], a6[:, :2], a6[:, 2]


def ipv4_text(a: np.ndarray) -> pa.Array:
    """Dotted quads of uint addresses, built column-wise from a table of octets."""
    octets = pa.array([str(i) for i in range(256)])
    parts = [pc.take(octets, pa.array(((a >> np.uint64(s)) & np.uint64(255)).astype(np.int64)))
             for s in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


def ipv6_text(hi: np.ndarray, lo: np.ndarray) -> pa.Array:
    """Full-form IPv6 text (eight hex groups) of (high, low) 64-bit halves."""
    groups = pa.array([format(i, "x") for i in range(65536)])
    parts = [pc.take(groups, pa.array(((half >> np.uint64(s)) & np.uint64(0xFFFF)).astype(np.int64)))
             for half in (hi, lo) for s in (48, 32, 16, 0)]
    return pc.binary_join_element_wise(*parts, ":")


def inside_v4(rng: np.random.Generator, nets: np.ndarray, plens: np.ndarray, n: int) -> np.ndarray:
    i = rng.integers(0, len(nets), n)
    host = (np.uint64(1) << (np.uint64(32) - plens[i])) - np.uint64(1)
    return nets[i] | (rng.integers(0, 2**32, n, dtype=np.uint64) & host)


def inside_v6(rng: np.random.Generator, nets: np.ndarray, plens: np.ndarray, n: int):
    i = rng.integers(0, len(nets), n)
    plen = plens[i]
    mask_hi = np.where(plen >= 64, np.uint64(0), ALL >> np.minimum(plen, 63))
    lo_shift = np.clip(plen.astype(np.int64) - 64, 0, 64)
    mask_lo = np.where(lo_shift >= 64, np.uint64(0), ALL >> np.minimum(lo_shift, 63).astype(np.uint64))
    hi = nets[i, 0] | (rng.integers(0, ALL, n, dtype=np.uint64, endpoint=True) & mask_hi)
    lo = nets[i, 1] | (rng.integers(0, ALL, n, dtype=np.uint64, endpoint=True) & mask_lo)
    return hi, lo


def addresses(db: geoip_rs.Database, rows: int, seed: int) -> pa.Array:
    """``rows`` address strings in the mix the module docstring describes."""
    rng = np.random.default_rng(seed)
    nets4, plens4, nets6, plens6 = routed(db)
    n4, u4, n6 = int(rows * 0.60), int(rows * 0.15), int(rows * 0.20)
    u6 = rows - n4 - u4 - n6
    uniform_hi = (rng.integers(0, ALL, u6, dtype=np.uint64, endpoint=True) >> np.uint64(3)) | (
        np.uint64(1) << np.uint64(61))  # 2000::/3
    parts = [
        ipv4_text(inside_v4(rng, nets4, plens4, n4)),
        ipv4_text(rng.integers(0, 2**32, u4, dtype=np.uint64)),
        ipv6_text(*inside_v6(rng, nets6, plens6, n6)),
        ipv6_text(uniform_hi, rng.integers(0, ALL, u6, dtype=np.uint64, endpoint=True)),
    ]
    return pc.take(pa.concat_arrays(parts), pa.array(rng.permutation(rows)))


def write_parquet(folder: Path, column: pa.Array, partitions: int) -> None:
    step = -(-len(column) // partitions)
    for i in range(partitions):
        chunk = column.slice(i * step, step)
        pq.write_table(pa.table({"address": chunk}), folder / f"part-{i:05}.parquet")


def median_rate(run: Callable[[], object], rows: int, runs: int) -> tuple[float, float]:
    """(median seconds, rows a second) over ``runs`` timed runs after an untimed one."""
    run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    return s, rows / s


def bench_single(folder: Path, db_path: str, rows: int, runs: int) -> dict[str, tuple[float, float]]:
    column = pq.read_table(folder).column("address")
    with geoip_rs.open(db_path) as db:
        return {"single process, pa.table(db.to_arrow(...))":
                median_rate(lambda: pa.table(db.to_arrow(column)), rows, runs)}


def bench_dask(folder: Path, db_path: str, rows: int, runs: int) -> dict[str, tuple[float, float]]:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    import geoip_rs.dask

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=None)
    with cluster, Client(cluster):
        ddf = dd.read_parquet(str(folder)).persist()
        wait(ddf)

        def count(frame):
            n = frame.map_partitions(len).compute().sum()
            assert n == rows, n

        out = {"dask, 2 workers, no lookup": median_rate(lambda: count(ddf), rows, runs)}
        enriched = geoip_rs.dask.enrich(ddf, "address", db_path)
        out["dask, 2 workers, enrich"] = median_rate(lambda: count(enriched), rows, runs)
    return out


def spark_session():
    os.environ.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
                      SPARK_LOCAL_IP="127.0.0.1")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("geoip_rs clusters bench")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def bench_spark(folder: Path, db_path: str, rows: int, runs: int, partitions: int) -> dict[str, tuple[float, float]]:
    import geoip_rs.spark

    spark = spark_session()
    try:
        df = spark.read.parquet(str(folder)).repartition(partitions).cache()
        assert df.count() == rows

        def noop(frame):
            frame.write.format("noop").mode("overwrite").save()

        out = {"spark local[2], no lookup": median_rate(lambda: noop(df), rows, runs)}
        enriched = geoip_rs.spark.enrich(df, "address", db_path)
        out["spark local[2], enrich"] = median_rate(lambda: noop(enriched), rows, runs)
        return out
    finally:
        spark.stop()


def report(results: dict[str, tuple[float, float]], rows: int, args: argparse.Namespace) -> None:
    import dask
    import pyspark

    print(f"\n{rows:,} addresses, {args.partitions} partitions, median of {args.runs} runs "
          f"(after one untimed); geoip_rs {geoip_rs.__version__}, pyarrow {pa.__version__}, "
          f"dask {dask.__version__}, pyspark {pyspark.__version__}, {os.cpu_count()} CPUs")
    base = next((r for name, (_, r) in results.items() if name.startswith("single")), None)
    print("\n| engine | seconds | rows/s | vs single process |\n|---|---|---|---|")
    for name, (s, rate) in results.items():
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"| {name} | {s:.2f} | {rate:,.0f} | {ratio} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--partitions", type=int, default=None, help="default: one per 250,000 rows, at least 4")
    ap.add_argument("--db", default=None, help="database file (default: the bundled sample)")
    ap.add_argument("--engines", default="single,dask,spark")
    ap.add_argument("--seed", type=int, default=2014)
    args = ap.parse_args()
    args.partitions = args.partitions or max(4, args.rows // 250_000)
    db_path = os.path.abspath(args.db or geoip_rs.sample_path())
    engines = args.engines.split(",")
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="geoip_rs_clusters_") as tmp, geoip_rs.open(db_path) as db:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_parquet(folder, addresses(db, args.rows, args.seed), args.partitions)
        print(f"addresses made and written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        if "single" in engines:
            results.update(bench_single(folder, db_path, args.rows, args.runs))
        if "dask" in engines:
            results.update(bench_dask(folder, db_path, args.rows, args.runs))
        if "spark" in engines:
            results.update(bench_spark(folder, db_path, args.rows, args.runs, args.partitions))
    report(results, args.rows, args)


if __name__ == "__main__":
    main()
