"""Reading MMDB files: ``geoip_rs.open(x.mmdb)`` / ``MmdbDatabase``.

1. MaxMind's test databases against the JSON they were built from: every network's
   first and last address (the most specific JSON network holding it is the
   answer), and ``lookup_batch`` / ``to_arrow`` against per-address lookups.
2. Every well-formed test database and the real GeoLite2-Country (2019, CC BY-SA)
   against the ``maxminddb`` package: records, prefix lengths, iteration.
3. Broken files (MaxMind's bad-data and broken test databases): refused with a
   ``DatabaseError`` naming the file; unverified, every query answers or raises
   ``DatabaseError``. Each file in a child process, so a crash or hang fails its
   test instead of pytest.
4. Python conventions: closing, pickling, ``in``, repr, errors, batches from Arrow,
   ``on_error="null"``, pandas and Polars.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path

import maxminddb
import numpy as np
import pyarrow as pa
import pytest
from conftest import require_shared, shared_data_dir
from mmdbdata import Tree, as_floats, json_answer, json_networks, json_oracle, leaf, leaf_paths, no_gc
from timedata import build

import geoip_rs

MAXMIND = "mmdb/maxmind-test"
GEOLITE = "mmdb/geolite2-cc-by-sa/GeoLite2-Country_20190219.mmdb"
JSON_NAMES = ["GeoIP2-Country-Test", "GeoLite2-ASN-Test", "GeoIP2-ISP-Test",
              "GeoLite2-Country-Test", "GeoIP2-City-Test", "GeoLite2-City-Test"]
BROKEN_TEST_DATA = ["MaxMind-DB-test-broken-pointers-24", "MaxMind-DB-test-broken-search-tree-24",
                    "GeoIP2-City-Test-Invalid-Node-Count", "GeoIP2-City-Test-Broken-Double-Format"]
# test_broken_file's; the other test databases are compared with maxminddb.
NOT_COMPARED = set(BROKEN_TEST_DATA)


@pytest.fixture(scope="module", autouse=True)
def gc_off():
    """The cyclic garbage collector off while the module runs (see
    ``mmdbdata.no_gc``); autouse, so set up first and torn down last, when the
    module's big fixtures are gone and a collection is cheap."""
    with no_gc():
        yield


def maxmind_file(name: str) -> Path:
    rel = f"{MAXMIND}/test-data/{name}.mmdb"
    return require_shared(rel) / rel


# ---- 1. MaxMind's test databases against their JSON sources -------------------------------------


@pytest.mark.parametrize("name", JSON_NAMES)
def test_maxmind_test_database_against_json(name):
    src = f"{MAXMIND}/source-data/{name}.json"
    entries = json_networks(require_shared(src) / src)
    oracle = json_oracle(entries)
    ends = [a for net, _ in entries for a in (net.network_address, net.broadcast_address)]
    with geoip_rs.open(maxmind_file(name)) as m:
        assert isinstance(m, geoip_rs.MmdbDatabase)
        for a in ends:
            want = json_answer(oracle, a)
            assert want is not None  # an end of a network is in it
            assert as_floats(m.lookup(a)) == as_floats(want), a
            network, record = m.lookup_network(a)
            assert a in network and record == m.lookup(a)
        outside = ["0.0.0.1", "255.255.255.254", "fe80::1", "::1"]
        for a in outside:
            assert as_floats(m.lookup(a)) == as_floats(json_answer(oracle, ipaddress.ip_address(a)))
        check_batches(m, [str(a) for a in ends] + outside)


def check_batches(m, addresses: list[str], fields: list[str] | None = None) -> None:
    """``lookup_batch`` and ``to_arrow`` hold, field by field, what ``lookup`` gives
    for each address; by default one field per leaf of the records found."""
    records = [m.lookup(a) for a in addresses]
    plens = np.array([m.get_with_prefix_len(a)[1] for a in addresses])
    found = np.array([r is not None for r in records])
    cols = m.lookup_batch(addresses, fields)
    assert cols["found"].tolist() == found.tolist()
    assert (cols["prefix_len"][found] == plens[found]).all()
    names = [c for c in cols if c not in ("found", "prefix_len")]
    if fields is None:
        assert set(names) == set().union(*(leaf_paths(r) for r in records if r is not None))
    else:
        assert names == fields
    for f in names:
        check_column(f, cols[f], [leaf(r, f) for r in records])
    # to_arrow: the same values as the batch's columns, null where there is no leaf.
    table = pa.table(m.to_arrow(addresses, fields))
    assert table.column_names == ["prefix_len", *names]
    assert table.column("prefix_len").to_pylist() == [int(p) if k else None for p, k in zip(plens, found)]
    for f in names:
        if cols[f].dtype == object:
            assert pa.types.is_dictionary(table.column(f).type), f
        want = [None if leaf(r, f) is None else v for r, v in zip(records, cols[f].tolist())]
        assert table.column(f).to_pylist() == want, f


def from_text(v):
    """JSON text back to its value (so that key order and spacing do not matter)."""
    if isinstance(v, str) and v[:1] in "[{":
        return json.loads(v)
    return v


def check_column(name: str, column: np.ndarray, values: list) -> None:
    """One ``lookup_batch`` column against the leaves it must hold, by its type."""
    kind = column.dtype.kind
    if kind in "ui":
        assert column.tolist() == [0 if v is None else v for v in values], name
    elif kind == "f":
        want = [math.nan if v is None else v for v in values]
        np.testing.assert_array_equal(column, np.array(want, float), err_msg=name)
    elif kind == "b":
        assert column.tolist() == [bool(v) for v in values], name
    else:
        assert kind == "O", (name, column.dtype)
        want = [v if v is None or isinstance(v, (str, dict, list)) else str(v) for v in values]
        assert [from_text(c) for c in column] == want, name


def test_batch_fields_by_path():
    with geoip_rs.open(maxmind_file("GeoIP2-City-Test")) as m:
        addresses = ["81.2.69.160", "2001:218::1", "89.160.20.112", "1.1.1.1", "216.160.83.56"]
        check_batches(m, addresses, ["country.iso_code", "location.latitude", "subdivisions.0.iso_code",
                                     "subdivisions.1.names.en", "city.names.de", "no.such.field"])


# ---- 2. against the maxminddb package ------------------------------------------------------------


def comparable_test_files() -> list[str]:
    folder = shared_data_dir() / MAXMIND / "test-data"
    names = sorted(p.stem for p in folder.glob("*.mmdb"))
    return [n for n in names if n not in NOT_COMPARED] or ["GeoIP2-City-Test"]


@pytest.mark.parametrize("name", comparable_test_files())
def test_test_database_against_maxminddb(name):
    """Every network of the file (the search tree read from its bytes) with the
    record maxminddb gives there, and the lookups at both ends of each, as
    maxminddb's pure-Python reader gives them (all three record sizes, IPv4-only
    files...). Its iteration is not the oracle: it makes ::/64 an IPv4 network of
    length -32 (MaxMind-DB-no-ipv4-search-tree)."""
    path = maxmind_file(name)
    networks = [net for net, _ in Tree(path).leaves()]
    with maxminddb.open_database(str(path), maxminddb.MODE_FILE) as reader, geoip_rs.open(path) as m:
        assert list(m) == [(net, reader.get(net.network_address)) for net in networks]
        assert m.metadata == {k: getattr(reader.metadata(), k) for k in m.metadata}
        ends = [a for net in networks for a in (net.network_address, net.broadcast_address)]
        ends += [ipaddress.ip_address(a) for a in ("1.1.1.1", "0.0.0.0", "255.255.255.255")]
        for a in ends:
            if a.version == 6 and reader.metadata().ip_version == 4:
                continue  # test_ipv6_in_ipv4_only_file
            assert m.get_with_prefix_len(a) == reader.get_with_prefix_len(a), a


@pytest.fixture(scope="module")
def geolite() -> Path:
    return require_shared(GEOLITE) / GEOLITE


def test_geolite2_country_lookups(geolite):
    rng = np.random.default_rng(2019)
    v4 = [str(ipaddress.IPv4Address(int(a))) for a in rng.integers(0, 2**32, 60_000)]
    v6 = [str(ipaddress.IPv6Address((0x2000 + int(h)) << 112 | int(lo) << 64))
          for h, lo in zip(rng.integers(0, 0x2000, 40_000), rng.integers(0, 2**63, 40_000))]
    addresses = v4 + v6  # IPv6 all over 2000::/3, where the file has networks
    with maxminddb.open_database(str(geolite), maxminddb.MODE_MMAP_EXT) as reader, geoip_rs.open(geolite) as m:
        want = [reader.get_with_prefix_len(a) for a in addresses]
        got = [m.get_with_prefix_len(a) for a in addresses]
        bad = [(a, g, w) for a, g, w in zip(addresses, got, want) if g != w]
        assert not bad, (len(bad), bad[:2])
        assert 40_000 < sum(r is not None for r, _ in want) < 99_000  # guards the sampling
        fields = ["country.iso_code", "registered_country.names.en", "continent.geoname_id",
                  "country.is_in_european_union", "represented_country.type"]
        cols = m.lookup_batch(addresses, fields)
        for f in fields:
            check_column(f, cols[f], [leaf(r, f) for r, _ in want])
        assert cols["prefix_len"][cols["found"]].tolist() == [p for r, p in want if r is not None]


def test_geolite2_country_iteration(geolite):
    if not hasattr(maxminddb.extension.Reader, "__iter__"):
        pytest.skip(f"maxminddb {maxminddb.__version__}'s reader cannot iterate")
    with maxminddb.open_database(str(geolite), maxminddb.MODE_MMAP_EXT) as reader, \
            geoip_rs.open(geolite) as m:
        want = list(reader)
        got = list(m)
        assert len(got) == len(want) > 400_000
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        assert not bad, (len(bad), got[bad[0]], want[bad[0]])


# ---- 3. broken files ---------------------------------------------------------------------------

CHILD = r"""
import json, sys
import geoip_rs

path, out = sys.argv[1], {}

def attempt(name, call):
    try:
        call()
        out[name] = ["ok", ""]
    except Exception as e:
        out[name] = [type(e).__name__, str(e)]

attempt("open", lambda: geoip_rs.open(path))
m = []
attempt("unverified", lambda: m.append(geoip_rs.MmdbDatabase(path, verify=False)))
if m:
    m = m[0]
    attempt("metadata", lambda: m.metadata)
    v6 = m.metadata.get("ip_version") == 6 if out["metadata"][0] == "ok" else False
    asks = ["1.1.1.1", "0.0.0.0", "255.255.255.255", "81.2.69.160", "1.2.3.4", "128.0.0.1"]
    asks += ["::", "::1.1.1.1", "2001:218::1", "ffff::1", "2a02:cf40::1", "::ffff:1.1.1.1"] if v6 else []
    for a in asks:
        for name in ("lookup", "get_with_prefix_len", "lookup_network", "__contains__"):
            attempt(f"{name}({a})", lambda: getattr(m, name)(a))
    attempt("iteration", lambda: sum(1 for _ in m))
    attempt("lookup_batch", lambda: m.lookup_batch(asks * 50))
    attempt("lookup_batch(fields)", lambda: m.lookup_batch(asks, ["country.iso_code", "a.0.b"]))
    attempt("to_arrow", lambda: m.to_arrow(asks * 50))
    attempt("lookup_batch(null)", lambda: m.lookup_batch(asks + ["bad"], on_error="null"))
    m.close()
print(json.dumps(out))
"""


def broken_files() -> list[str]:
    root = shared_data_dir() / MAXMIND
    bad = sorted(str(p.relative_to(root)) for p in root.glob("bad-data/**/*.mmdb"))
    return bad + [f"test-data/{n}.mmdb" for n in BROKEN_TEST_DATA]


@pytest.fixture(scope="module")
def broken_results() -> dict:
    """Each broken file's child process, run several at a time: the report, or
    why there is none (a crash, a hang past the timeout)."""
    root = require_shared(*(f"{MAXMIND}/{f}" for f in broken_files())) / MAXMIND

    def run(rel):
        try:
            p = subprocess.run([sys.executable, "-c", CHILD, str(root / rel)],
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return {"failure": "hung for 120 s"}
        if p.returncode != 0:
            return {"failure": f"exit status {p.returncode}: {p.stderr[-2000:]}"}
        return {"path": str(root / rel), **json.loads(p.stdout)}

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(zip(broken_files(), pool.map(run, broken_files())))


@pytest.mark.parametrize("rel", broken_files())
def test_broken_file(broken_results, rel):
    result = dict(broken_results[rel])
    assert "failure" not in result, result.get("failure")
    path = result.pop("path")
    assert result.pop("open")[0] == "DatabaseError"
    for what, (outcome, message) in result.items():
        assert outcome in ("ok", "DatabaseError"), (what, outcome, message)
        assert outcome == "ok" or path in message, (what, message)


def test_at_least_the_known_broken_files():
    require_shared(f"{MAXMIND}/test-data/{BROKEN_TEST_DATA[0]}.mmdb")
    assert len(broken_files()) >= 25  # 21 bad-data files and 4 broken test databases


# ---- 4. Python conventions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_mmdb(tmp_path_factory) -> tuple[Path, object]:
    """The small history of tests/timedata.py exported: a file of a few networks."""
    folder = tmp_path_factory.mktemp("small_mmdb")
    h = build(folder)
    path = folder / "small.mmdb"
    h.history.to_mmdb(path)
    yield path, h.history
    h.close()


def test_open_and_construct(small_mmdb):
    path, db = small_mmdb
    with geoip_rs.open(path) as a, geoip_rs.MmdbDatabase(path) as b, geoip_rs.MmdbDatabase(str(path), verify=False) as c:
        assert isinstance(a, geoip_rs.MmdbDatabase) and a.path == str(path)
        for address in ["10.1.2.3", "2001:db8::1", "99.0.0.1"]:
            rec = db.lookup(address)
            assert a.lookup(address) == b.get(address) == c.lookup(address)
            assert (address in a) == (rec is not None) == (a.lookup(address) is not None)
            assert a.get_with_prefix_len(address)[0] == a.lookup(address)
        network, record = a.lookup_network("10.1.2.3")
        assert network == ipaddress.ip_network("10.1.0.0/16") and record["geoip_rs"]["asn"] == 64501
        assert a.lookup_network("99.0.0.1") is None


def test_repr_and_pickle(small_mmdb):
    path, _ = small_mmdb
    with geoip_rs.open(path) as m:
        text = repr(m)
        assert str(path) in text and m.metadata["database_type"] in text
        copy = pickle.loads(pickle.dumps(m))
        assert type(copy) is type(m) and copy.path == m.path and not copy.closed
        assert copy.lookup("10.1.2.3") == m.lookup("10.1.2.3") and list(copy) == list(m)
        copy.close()
    assert "closed" in repr(m)


def test_use_after_close(small_mmdb):
    path, _ = small_mmdb
    with geoip_rs.open(path) as m:
        pass
    assert m.closed
    m.close()  # closing twice is fine
    for use in [lambda: m.lookup("10.1.2.3"), lambda: m.get("10.1.2.3"), lambda: m.get_with_prefix_len("10.1.2.3"),
                lambda: m.lookup_network("10.1.2.3"), lambda: "10.1.2.3" in m, lambda: list(m),
                lambda: m.metadata, lambda: m.lookup_batch(["10.1.2.3"]), lambda: m.to_arrow(["10.1.2.3"])]:
        with pytest.raises(ValueError, match="closed"):
            use()


def test_iteration_across_close(small_mmdb):
    """An iteration begun before ``close`` either stops with ``ValueError`` or
    goes on to the end, the same as a whole one (it never reads unmapped memory)."""
    path, _ = small_mmdb
    m = geoip_rs.open(path)
    whole = list(m)
    it = iter(m)
    first = next(it)
    m.close()
    try:
        rest = list(it)
    except ValueError as e:
        assert "closed" in str(e)
    else:
        assert [first, *rest] == whole


@pytest.mark.parametrize("bad", [None, 1.5, [1, 2], object(), {"ip": "1.2.3.4"}])
def test_wrong_types(small_mmdb, bad):
    with geoip_rs.open(small_mmdb[0]) as m:
        for method in (m.lookup, m.get, m.get_with_prefix_len, m.lookup_network, m.__contains__):
            with pytest.raises(TypeError):
                method(bad)
        with pytest.raises(TypeError):  # None in a batch is a row without an address
            m.lookup_batch(["10.1.2.3", bad] if bad is not None else 5)
    with pytest.raises(TypeError):
        geoip_rs.MmdbDatabase(5)


def test_fields_as_one_path_or_a_list(small_mmdb):
    with geoip_rs.open(small_mmdb[0]) as m:
        addrs = [str(net.network_address) for net, _ in list(m)[:50]]
        leaf = m.lookup_batch(addrs).keys() - {"found", "prefix_len"}
        path = sorted(leaf)[0]
        one, listed = m.lookup_batch(addrs, path), m.lookup_batch(addrs, [path])
        assert list(one) == list(listed) == ["found", path, "prefix_len"]
        assert one[path].tolist() == listed[path].tolist()
        assert m.to_arrow(addrs, path).column_names == ["prefix_len", path]
        with pytest.raises(TypeError, match="fields: expected a field path"):
            m.lookup_batch(addrs, 5)


@pytest.mark.parametrize("bad", ["1.2.3", "", "x", "1.2.3.4/24", "::g", "256.1.1.1", "1.2.3.4 ", "-1"])
def test_malformed_addresses(small_mmdb, bad):
    with geoip_rs.open(small_mmdb[0]) as m:
        for method in (m.lookup, m.get, m.get_with_prefix_len, m.lookup_network, m.__contains__):
            with pytest.raises(ValueError, match=re.escape(repr(bad))):
                method(bad)
        with pytest.raises(ValueError, match=r"\b2\b"):  # names the row
            m.lookup_batch(["10.1.2.3", "99.0.0.1", bad])
        with pytest.raises(ValueError):
            m.to_arrow([bad])


def test_on_error_null_and_inputs(small_mmdb):
    """Malformed rows (and nulls) are misses under ``on_error="null"``, from a list
    or an Arrow column; the others answer as the database the file was made of."""
    path, db = small_mmdb
    texts = ["10.1.2.3", "nope", None, "2001:db8::1", "99.0.0.1", "20.0.0.9", "1.2.3"]
    answers = [db.lookup(t) if t in ("10.1.2.3", "2001:db8::1", "99.0.0.1", "20.0.0.9") else None for t in texts]
    fields = ["geoip_rs.asn", "geoip_rs.prefix"]
    with geoip_rs.open(path) as m:
        for given in (texts, pa.array(texts), pa.chunked_array([texts[:3], texts[3:]])):
            got = m.lookup_batch(given, fields, on_error="null")
            assert got["found"].tolist() == [r is not None for r in answers]
            assert got["geoip_rs.asn"].tolist() == [r.asn if r else 0 for r in answers]
            assert got["geoip_rs.prefix"].tolist() == [str(r.prefix) if r else None for r in answers]
            assert got["prefix_len"][got["found"]].tolist() == [r.prefix.prefixlen for r in answers if r]
        rows = pa.table(m.to_arrow(texts, fields, on_error="null")).to_pylist()
        assert [r["geoip_rs.asn"] for r in rows] == [r.asn if r else None for r in answers]
        # Numbers and packed addresses ask the same as their text.
        v4 = np.array([int(ipaddress.IPv4Address(t)) for t in ("10.1.2.3", "20.0.0.9")], np.uint32)
        v6 = np.frombuffer(ipaddress.IPv6Address("2001:db8::1").packed, np.uint8).reshape(1, 16)
        assert_same_batch(m.lookup_batch(v4), m.lookup_batch(["10.1.2.3", "20.0.0.9"]))
        assert_same_batch(m.lookup_batch(v6), m.lookup_batch(["2001:db8::1"]))


def assert_same_batch(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert a[k].tolist() == b[k].tolist(), k


def test_pandas_and_polars(small_mmdb):
    import pandas as pd
    import polars as pl

    path, _ = small_mmdb
    asks = ["10.1.2.3", "99.0.0.1", "2001:db8::1"]
    with geoip_rs.open(path) as m:
        rows = pa.table(m.to_arrow(asks)).to_pylist()
        df = m.to_pandas(asks)
        assert list(df.columns) == list(rows[0])
        assert df["prefix_len"].dtype == pd.ArrowDtype(pa.uint8())
        assert df["geoip_rs.asn"].dtype == pd.ArrowDtype(pa.uint64())
        assert isinstance(df["geoip_rs.prefix"].dtype, pd.CategoricalDtype)
        assert df["geoip_rs.prefix"].tolist()[0] == rows[0]["geoip_rs.prefix"] and pd.isna(df["geoip_rs.prefix"][1])
        assert df["geoip_rs.asn"].tolist() == [r["geoip_rs.asn"] for r in rows[:1]] + [pd.NA, rows[2]["geoip_rs.asn"]]
        frame = m.to_polars(asks)
        assert frame.schema["prefix_len"] == pl.UInt8 and frame.schema["geoip_rs.prefix"] == pl.Categorical
        assert frame.to_dicts() == rows


def test_broken_or_missing_file(small_mmdb, tmp_path):
    data = small_mmdb[0].read_bytes()
    cut = tmp_path / "cut.mmdb"
    cut.write_bytes(data[: len(data) // 3])
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"\x00" * 100 + b"\xab\xcd\xefMaxMind.com" + b"\xff" * 20)
    for path in (cut, garbage):
        for opener in (geoip_rs.open, geoip_rs.MmdbDatabase):
            with pytest.raises(geoip_rs.DatabaseError, match=str(path)):
                opener(path)
    with pytest.raises(FileNotFoundError):
        geoip_rs.MmdbDatabase(tmp_path / "nope.mmdb")


def test_ipv6_in_ipv4_only_file():
    """An IPv4-only file has no record for an IPv6 address: a miss, as an unrouted
    address is (maxminddb raises ValueError; a miss lets a batch of both families
    through)."""
    with geoip_rs.open(maxmind_file("MaxMind-DB-test-ipv4-24")) as m:
        assert m.lookup("::1") is None and "::1" not in m
        assert m.get_with_prefix_len("::1") == (None, 0)
        v4 = next(iter(m))[0].network_address
        cols = m.lookup_batch([str(v4), "::1", "2001:db8::"])
        assert cols["found"].tolist() == [True, False, False]
        assert cols["prefix_len"].tolist()[1:] == [0, 0]

DAG_WALK = r'''
import sys, geoip_rs
try:
    geoip_rs.open(sys.argv[1])  # verified on open
except geoip_rs.DatabaseError as e:
    print("refused on open:", e)
db = geoip_rs.open(sys.argv[1], verify=False)
db.lookup("1.2.3.4")  # one path: answers (or errs) at once
try:
    list(db)
except geoip_rs.DatabaseError as e:
    print("refused walk:", e)
'''


def test_a_tree_of_shared_subtrees_is_refused_not_walked_forever(tmp_path):
    """Nodes 0..99 each pointing twice at the next one: 2^100 paths for a walk over
    the networks (MaxMind's verify walks them too: hours), one for a lookup. The
    tree's shape is checked first, in time linear in its nodes."""
    rel = "mmdb/maxmind-test/test-data/MaxMind-DB-test-ipv6-24.mmdb"
    src = require_shared(rel) / rel
    meta = maxminddb.open_database(str(src)).metadata()
    n, size = meta.node_count, meta.record_size
    assert size == 24 and n > 100, (size, n)
    data = bytearray(src.read_bytes())
    for i in range(100):
        child = (i + 1 if i < 99 else n).to_bytes(3, "big")  # the last: empty
        data[i * 6:(i + 1) * 6] = child + child
    dag = tmp_path / "dag.mmdb"
    dag.write_bytes(bytes(data))
    run = subprocess.run([sys.executable, "-c", DAG_WALK, str(dag)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and all("dag.mmdb" in x and "shared by many paths" in x for x in lines), lines
    assert lines[0].startswith("refused on open:") and lines[1].startswith("refused walk:")
