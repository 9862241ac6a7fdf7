"""Side-by-side benchmark: the pure-Python reference vs the Rust PrefixTable (and any
peer library that happens to be importable: pytricia, py-radix, pyasn), on the full
2014 IPv4 table and the 2015 IPv4+IPv6 table from ../shared/data; then whole GeoIP
records: geoip_rs's bundled database against maxminddb reading the GeoLite2-Country
file in ../shared/data and geoip2fast on its own data (the peers: ``pip install
geoip_rs[compare]``). Then the same on a synthetic table of today's size (about
1.05M IPv4 and 230k IPv6 prefixes, made by scripts/synth_table.py on first use and
cached), databases built alike from both (with CAIDA's as2org), each against a
prefix table of the same prefixes in interleaved pairs, a table of how each cost
grew from the 2014/2015 size to today's, and last the goals (benches/goals.py):
every figure with both sizes side by side, its target and whether it held.

Prints one table: build time, memory, single lookups from a Python loop (ns per call,
str and int input), batch lookups (lookups/s) on every core and on one, with the ratio
of each to geoip_rs.
Every figure is the median of several runs; nothing is asserted. It installs nothing.

    python benches/compare.py [--data DIR] [--batch N] [--single N] [--repeat R] [--no-today]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import importlib.util
import ipaddress
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# numpy's OpenBLAS threads spin on the cores after numpy starts them, which only
# adds noise here (nothing below calls BLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import geoip_rs  # noqa: E402
import geoip_rs.reference  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import goals  # noqa: E402  (beside this script)
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def read_ipasn(path: Path) -> list[tuple[str, int]]:
    with gzip.open(path, "rt") as f:
        rows = (line.split("\t") for line in f if not line.startswith(";") and line.strip())
        return [(p, int(asn)) for p, asn in rows]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class Impl:
    """A table under test: how to build it, how to look up one address (as that
    library's users would), and how to read the AS out of that answer."""

    def __init__(self, name, build, single=None, single_int=None, batch=None, asn=lambda r: r,
                 insert=None, delete=None):
        self.name, self.build, self.single = name, build, single
        self.single_int, self.batch, self.asn = single_int, batch, asn
        self.insert, self.delete = insert, delete


def geoip_impl(cls, name):
    def build(items):
        t = cls()
        t.update(items)
        return t

    return Impl(
        name,
        build,
        single=lambda t: t.get,
        single_int=lambda t: t.get,
        batch=lambda t, arr: t.lookup_batch(arr),
        insert=lambda t, p, v: t.__setitem__(p, v),
        delete=lambda t, p: t.__delitem__(p),
    )


def peer_impls(items) -> list[Impl]:
    """Peers, if installed (`pip install geoip_rs[compare]`)."""
    peers = []
    try:
        import pytricia

        def build_pytricia(items):
            t = pytricia.PyTricia(32)
            for p, v in items:
                t[p] = v
            return t

        peers.append(Impl("pytricia", build_pytricia, single=lambda t: t.get, single_int=lambda t: t.get,
                          insert=lambda t, p, v: t.__setitem__(p, v), delete=lambda t, p: t.__delitem__(p)))
    except ImportError:
        pass
    try:
        import radix

        def build_radix(items):
            t = radix.Radix()
            for p, v in items:
                t.add(p).data["asn"] = v
            return t

        def radix_insert(t, p, v):
            t.add(p).data["asn"] = v

        peers.append(Impl("py-radix", build_radix, single=lambda t: t.search_best,
                          asn=lambda node: node.data["asn"] if node else None,
                          insert=radix_insert, delete=lambda t, p: t.delete(p)))
    except ImportError:
        pass
    try:
        import pyasn

        def build_pyasn(items):
            # pyasn reads its own file format; the same prefixes, written out.
            path = os.path.join(tempfile.gettempdir(), f"compare_{os.getpid()}.dat")
            with open(path, "w") as f:
                f.writelines(f"{p}\t{v}\n" for p, v in items)
            return pyasn.pyasn(path)

        peers.append(Impl("pyasn", build_pyasn, single=lambda t: t.lookup, asn=lambda r: r[0]))
    except ImportError:
        pass
    return peers


def check_agreement(impls, tables, addrs) -> None:
    """Every implementation must give the same AS for every address."""
    base = [impls[0].asn(impls[0].single(tables[0])(a)) for a in addrs]
    for impl, table in zip(impls[1:], tables[1:]):
        got = [impl.asn(impl.single(table)(a)) for a in addrs]
        bad = sum(x != y for x, y in zip(base, got))
        if bad:
            raise SystemExit(f"{impl.name} disagrees with {impls[0].name} on {bad} of {len(addrs)} addresses")
    print(f"all {len(impls)} implementations agree on {len(addrs):,} addresses")


def latency_percentiles(get, addrs) -> dict:
    """p50 / p99 / p99.9 of single calls, less the cost of the timer itself."""
    clock = time.perf_counter_ns
    empty = []
    for _ in range(20_000):
        t0 = clock()
        empty.append(clock() - t0)
    overhead = statistics.median(empty)
    samples = []
    for a in addrs:
        t0 = clock()
        get(a)
        samples.append(clock() - t0 - overhead)
    samples.sort()
    q = lambda f: samples[min(len(samples) - 1, int(f * len(samples)))]
    return {"p50 ns": q(0.5), "p99 ns": q(0.99), "p99.9 ns": q(0.999)}


@contextlib.contextmanager
def one_core():
    """Run on one core only (threads started meanwhile inherit it), to show how a
    batch scales with the cores."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


def inside_prefixes(rng, prefixes, n: int, width: int) -> np.ndarray:
    """`n` random addresses, each inside a random one of `prefixes` (packed rows)."""
    packed = np.frombuffer(b"".join(p.network_address.packed for p in prefixes), np.uint8).reshape(-1, width)
    masks = np.frombuffer(b"".join(p.hostmask.packed for p in prefixes), np.uint8).reshape(-1, width)
    picks = rng.integers(0, len(prefixes), size=n)
    noise = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    return packed[picks] | (noise & masks[picks])


def measure(impl: Impl, items, addrs_str, addrs_int, batch_arr, repeat, addrs_in=()):
    gc.collect()
    before = rss_bytes()
    table = impl.build(items)
    row = {"memory MB": (rss_bytes() - before) / 1e6}
    row["build s"] = median_time(lambda: impl.build(items), max(1, repeat // 2))
    if hasattr(table, "nbytes"):
        # Before any lookup: the mutable form alone (tree bitmap and values).
        row["tree B/prefix"] = table.nbytes / len(items)
    if impl.batch:
        # Steady state: a first batch compiles geoip_rs's lookup form (single lookups
        # alone would do so after as many lookups as there are prefixes) and builds
        # the reference's range cache.
        impl.batch(table, batch_arr)
    if impl.single:
        get = impl.single(table)
        row["str ns"] = median_time(lambda: [get(a) for a in addrs_str], repeat) / len(addrs_str) * 1e9
        row.update(latency_percentiles(get, addrs_str[:50_000]))
        if addrs_in:
            row["str in ns"] = median_time(lambda: [get(a) for a in addrs_in], repeat) / len(addrs_in) * 1e9
    if impl.single_int:
        get = impl.single_int(table)
        row["int ns"] = median_time(lambda: [get(a) for a in addrs_int], repeat) / len(addrs_int) * 1e9
    if impl.batch:
        row["batch M/s"] = len(batch_arr) / median_time(lambda: impl.batch(table, batch_arr), repeat) / 1e6
    if impl.batch and hasattr(os, "sched_setaffinity"):  # Linux
        with one_core():
            row["1-core M/s"] = len(batch_arr) / median_time(lambda: impl.batch(table, batch_arr), repeat) / 1e6
    if hasattr(table, "nbytes"):
        row["nbytes MB"] = table.nbytes / 1e6
        row["B/prefix"] = table.nbytes / len(items)
        row["compiled B/prefix"] = row["B/prefix"] - row["tree B/prefix"]
    return row, table


COLUMNS = ["build s", "memory MB", "nbytes MB", "tree B/prefix", "compiled B/prefix", "str ns", "str in ns", "int ns", "p50 ns", "p99 ns",
           "p99.9 ns", "batch M/s", "1-core M/s"]
HIGHER_IS_BETTER = {"batch M/s", "1-core M/s", "updates/s"}


def print_table(title: str, rows: dict[str, dict], baseline: str, columns=COLUMNS) -> None:
    print(f"\n{title}")
    widths = [max(11, len(c) + 2) for c in columns]
    header = f"{'implementation':<22}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths))
    print(header)
    print("-" * len(header))
    base = rows[baseline]
    for name, row in rows.items():
        cells = []
        for c, w in zip(columns, widths):
            v = row.get(c)
            cells.append(f"{'-':>{w}}" if v is None else f"{v:>{w}.3g}")
        print(f"{name:<22}" + "".join(cells))
        if name != baseline:
            ratios = []
            for c, w in zip(columns, widths):
                v, b = row.get(c), base.get(c)
                if v is None or b is None or not v or not b:
                    ratios.append(f"{'':>{w}}")
                else:
                    r = (v / b) if c not in HIGHER_IS_BETTER else (b / v)
                    ratios.append(f"{f'x{r:.1f}':>{w}}")
            print(f"{'  vs geoip_rs':<22}" + "".join(ratios))


def update_rows(impls, tables, items, batch_arr, repeat) -> dict[str, dict]:
    """Writes on a live full table: each round deletes 1,000 of its prefixes and
    inserts them back (2,000 updates). Then how soon a write shows: the first single
    lookup after a write, and the first batch after one (geoip_rs's batches compile
    the table again after every write; single lookups read the tree meanwhile)."""
    rng = np.random.default_rng(7)
    picks = [items[i] for i in rng.choice(len(items), size=1000, replace=False)]
    # A host route of its own with a value no prefix has, put in and taken out again.
    host, mark = "192.0.2.77/32", 4_000_000_007
    probe = host.split("/")[0]
    rows = {}
    for impl, table in zip(impls, tables):
        if impl.delete is None:
            continue

        def churn():
            for p, _ in picks:
                impl.delete(table, p)
            for p, v in picks:
                impl.insert(table, p, v)

        row = {"updates/s": 2 * len(picks) / median_time(churn, repeat)}
        get = impl.single(table)

        def write_then_get():
            impl.insert(table, host, mark)
            t0 = time.perf_counter()
            got = impl.asn(get(probe))
            took = time.perf_counter() - t0
            impl.delete(table, host)
            if got != mark or impl.asn(get(probe)) == mark:
                raise SystemExit(f"{impl.name}: a write did not show in the next lookup")
            return took

        row["get after write ns"] = statistics.median(write_then_get() for _ in range(repeat)) * 1e9
        if impl.batch:
            def write_then_batch():
                impl.insert(table, picks[0][0], picks[0][1])
                impl.batch(table, batch_arr)
            row["batch after write ms"] = median_time(write_then_batch, repeat) * 1e3
            row["batch ms"] = median_time(lambda: impl.batch(table, batch_arr), repeat) * 1e3
        rows[impl.name] = row
    return rows


UPDATE_COLUMNS = ["updates/s", "get after write ns", "batch after write ms", "batch ms"]


DB_COLUMNS = ["open ms", "memory MB", "str ns", "p50 ns", "p99 ns", "p99.9 ns", "batch M/s"]


def db_row(open_db, get, batch, addrs_str, batch_arr, repeat) -> dict:
    """A database reader: memory, open time, a record per address (mean and
    percentiles), batches when it has them."""
    gc.collect()
    before = rss_bytes()
    db = open_db()
    row = {"memory MB": (rss_bytes() - before) / 1e6}
    row["open ms"] = median_time(open_db, repeat) * 1e3
    if batch:
        batch(db, batch_arr)  # the pages in memory, as in steady use
    g = get(db)
    row["str ns"] = median_time(lambda: [g(a) for a in addrs_str], repeat) / len(addrs_str) * 1e9
    row.update(latency_percentiles(g, addrs_str[:50_000]))
    if batch:
        row["batch M/s"] = len(batch_arr) / median_time(lambda: batch(db, batch_arr), repeat) / 1e6
    return row


def database_rows(data: Path, addrs_str, batch_arr, repeat) -> dict[str, dict]:
    """geoip_rs.Database (the bundled sample) and, if importable, maxminddb's reader
    on GeoLite2-Country and geoip2fast on its own data: open time, memory, a full
    record per address, batches.
    The data differ (routing 2014 against GeoLite2 2019), so answers are not compared;
    both return a whole record per lookup."""
    args = (addrs_str, batch_arr, repeat)
    rows = {"geoip_rs Database": db_row(geoip_rs.open, lambda db: db.lookup, lambda db, a: db.lookup_batch(a), *args)}
    mmdb = data / "mmdb" / "geolite2-cc-by-sa" / "GeoLite2-Country_20190219.mmdb"
    try:
        import maxminddb
    except ImportError:
        print("(maxminddb not installed: pip install geoip_rs[compare])")
        return rows
    rows[f"maxminddb {maxminddb.__version__}"] = db_row(lambda: maxminddb.open_database(str(mmdb)),
                                                        lambda db: db.get, None, *args)
    try:
        from importlib.metadata import version

        from geoip2fast import GeoIP2Fast
    except ImportError:
        print("(geoip2fast not installed: pip install geoip_rs[compare])")
        return rows
    # Pure Python with its own data (country and AS): the ASN file, so that each
    # answer has both, as ours do.
    rows[f"geoip2fast {version('geoip2fast')}"] = db_row(
        lambda: GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz"), lambda db: db.lookup, None, *args)
    return rows


def all_impls(items) -> list[Impl]:
    return [geoip_impl(geoip_rs.PrefixTable, "geoip_rs (Rust)"),
            geoip_impl(geoip_rs.reference.PrefixTable, "reference (Python)")] + peer_impls(items)


def ipv4_section(title: str, items, impls, args, rng):
    """Every implementation on an IPv4 table: one printed table; returns its rows, the
    built tables, the batch and the single addresses (the same for later sections)."""
    batch = rng.integers(0, 2**32, size=args.batch, dtype=np.uint64).astype(np.uint32)
    addrs_int = [int(x) for x in batch[: args.single]]
    addrs_str = [str(ipaddress.IPv4Address(x)) for x in addrs_int]
    nets4 = [ipaddress.IPv4Network(p) for p, _ in items]
    addrs_in = [str(ipaddress.IPv4Address(bytes(r))) for r in inside_prefixes(rng, nets4, args.single, 4)]
    results = [measure(i, items, addrs_str, addrs_int, batch, args.repeat, addrs_in) for i in impls]
    tables = [t for _, t in results]
    check_agreement(impls, tables, addrs_str[:20_000])
    rows = {i.name: row for i, (row, _) in zip(impls, results)}
    print_table(f"{title}IPv4: {len(items):,} prefixes, {args.single:,} single / {args.batch:,} batch "
                f"uniform random addresses ('str in': inside announced prefixes), median of {args.repeat}",
                rows, "geoip_rs (Rust)")
    return rows, tables, batch, addrs_str


def ipv6_section(title: str, items6, impls, args, rng) -> dict[str, dict]:
    batch6 = inside_prefixes(rng, [ipaddress.IPv6Network(p) for p, _ in items6], args.batch, 16)
    addrs6 = [str(ipaddress.IPv6Address(bytes(row))) for row in batch6[: args.single]]
    impls6 = [i for i in impls if i.name.startswith(("geoip_rs", "reference"))]
    for i in impls6:
        i.single_int = None
    rows6 = {i.name: measure(i, items6, addrs6, [], batch6, args.repeat)[0] for i in impls6}
    print_table(f"{title}IPv6: {len(items6):,} prefixes, addresses inside announced prefixes", rows6,
                "geoip_rs (Rust)")
    return rows6


def real_tables(args) -> dict[str, dict]:
    """The 2014 IPv4 and 2015 IPv6 tables, the updates and the bundled database; the
    rows measured, by section."""
    rng = np.random.default_rng(20140513)
    items = read_ipasn(args.data / "ipasn" / "ipasn_20140513.dat.gz")
    impls = all_impls(items)
    rows, tables, batch, addrs_str = ipv4_section("", items, impls, args, rng)
    print_table("Updates on the live IPv4 table (delete and re-insert 1,000 prefixes)",
                update_rows(impls, tables, items, batch, args.repeat),
                "geoip_rs (Rust)", UPDATE_COLUMNS)
    del tables
    items6 = [(p, a) for p, a in read_ipasn(args.data / "ipasn" / "ipasn6_20151101.dat.gz") if ":" in p]
    rows6 = ipv6_section("", items6, impls, args, rng)
    db_rows = database_rows(args.data, addrs_str, batch, args.repeat)
    print_table("Whole records (AS, country, ...): geoip_rs's bundled database vs maxminddb on GeoLite2-Country",
                db_rows, "geoip_rs Database", DB_COLUMNS)
    return {"IPv4": rows, "IPv6": rows6, "prefixes": {"IPv4": len(items), "IPv6": len(items6)}}


# ---- today's size: the synthetic table, and how each cost grew ------------------------


def load_script(name: str):
    """A script of scripts/ as a module."""
    spec = importlib.util.spec_from_file_location(name, HERE.parent / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def database_growth_rows(data: Path, today: Path, today_items, addrs_str, batch_arr,
                         repeat) -> tuple[dict, dict, dict | None]:
    """geoip_rs databases built alike (the RIR files and AS names of the bundled
    sample, and CAIDA's as2org) from the 2014 IPv4 + 2015 IPv6 tables and from
    today's synthetic one (``today``, whose rows are ``today_items``), each in a child process (its time and peak RSS); file
    size, then as ``db_row``; each against a prefix table of the same prefixes
    (``goals.paired``); and a build from a full RIB, if there is one
    (``goals.rib_build``)."""
    sources = load_script("build_sample_db").sources(data)
    as2org = [str(data / "as2org" / "20170401.as-org2info.txt.gz")]
    rows, pairs = {}, {}
    then4 = read_ipasn(data / "ipasn" / "ipasn_20140513.dat.gz")
    then6 = [(p, a) for p, a in read_ipasn(data / "ipasn" / "ipasn6_20151101.dat.gz") if ":" in p]
    with tempfile.TemporaryDirectory(prefix="geoip_rs_compare_") as out:
        v6 = Path(out) / "ipasn6_20151101_v6.dat"
        with open(v6, "w") as f:
            f.writelines(f"{p}\t{a}\n" for p, a in then6)
        tables = {"then": ([data / "ipasn" / "ipasn_20140513.dat.gz", v6], then4 + then6),
                  "today": ([today], today_items)}
        for label, (ipasn, items) in tables.items():
            path = Path(out) / f"{label}.geoipdb"
            built = goals.build_in_child(path, ipasn=[str(p) for p in ipasn], delegated=sources["delegated"],
                                         asnames=sources["asnames"], as2org=as2org, on_error="skip")
            row = db_row(lambda: geoip_rs.open(path), lambda db: db.lookup, lambda db, a: db.lookup_batch(a),
                         addrs_str, batch_arr, repeat)
            size = path.stat().st_size
            rows[label] = {**built, "file MB": size / 1e6, "file B/prefix": size / len(items), **row}
            pairs[label] = goals.paired(path, items, addrs_str, batch_arr)
            gc.collect()  # the mapped files, before the directory goes
        rib = goals.rib_build(sources, as2org, out)
    return rows, pairs, rib


#: What the growth table shows: every figure of geoip_rs, the main ones of the rest.
GROWTH = {"IPv4": ["build s", "memory MB", "nbytes MB", "tree B/prefix", "compiled B/prefix", "str ns",
                   "str in ns", "int ns", "p50 ns", "p99 ns", "batch M/s", "1-core M/s"],
          "IPv6": ["build s", "memory MB", "nbytes MB", "tree B/prefix", "compiled B/prefix", "str ns",
                   "p99 ns", "batch M/s", "1-core M/s"],
          "database": ["build s", "peak RSS MB", "file MB", "file B/prefix", "memory MB", "open ms", "str ns",
                       "p99 ns", "batch M/s"]}
PEER_GROWTH = ["build s", "memory MB", "str ns", "str in ns"]


def print_growth(then: dict, now: dict) -> None:
    print("\nCost at the 2014/2015 size and at today's (synthetic table); growth = today / then "
          "(for M/s, below 1 is slower)")
    print(f"{'figure':<44}{'2014/2015':>12}{'today':>12}{'growth':>9}")
    print("-" * 77)
    for family in ("IPv4", "IPv6"):
        a, b = then["prefixes"][family], now["prefixes"][family]
        print(f"{family + ' prefixes':<44}{a:>12,}{b:>12,}{f'x{b / a:.2f}':>9}")
    for section, columns in GROWTH.items():
        for impl, row in now[section].items():
            old = then[section].get(impl, {})
            for c in columns if impl.startswith("geoip_rs") else PEER_GROWTH:
                a, b = old.get(c), row.get(c)
                if a and b:
                    print(f"{f'{section} {impl}: {c}':<44}{a:>12.4g}{b:>12.4g}{f'x{b / a:.2f}':>9}")


def today_tables(args, then: dict) -> None:
    """Every implementation on the synthetic table of today's size (made and cached
    by scripts/synth_table.py on first use), databases built alike from both, and the
    growth table."""
    path = load_script("synth_table").cached_table(data=args.data)
    rows = read_ipasn(path)
    items = [r for r in rows if ":" not in r[0]]
    items6 = [r for r in rows if ":" in r[0]]
    rng = np.random.default_rng(20140513)  # the same uniform addresses as for 2014
    impls = all_impls(items)
    title = f"Today's size ({path.name}): "
    rows4, tables, batch, addrs_str = ipv4_section(title, items, impls, args, rng)
    del tables
    rows6 = ipv6_section(title, items6, impls, args, rng)
    dbs, pairs, rib = database_growth_rows(args.data, path, rows, addrs_str, batch, args.repeat)
    then = {**then, "database": {"geoip_rs Database": dbs["then"]}}
    now = {"IPv4": rows4, "IPv6": rows6, "database": {"geoip_rs Database": dbs["today"]},
           "prefixes": {"IPv4": len(items), "IPv6": len(items6)}}
    print_growth(then, now)
    goals.print_goals({**then, "database": dbs["then"], "pairs": pairs["then"]},
                      {**now, "database": dbs["today"], "pairs": pairs["today"], "rib build": rib})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--single", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-today", dest="today", action="store_false",
                    help="leave out the synthetic table of today's size and the growth table")
    args = ap.parse_args()
    then = real_tables(args)
    if args.today:
        today_tables(args, then)


if __name__ == "__main__":
    main()
