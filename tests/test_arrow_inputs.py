"""Database.to_arrow's inputs as each engine hands them over: pyarrow, Polars, pandas,
DuckDB, arro3, numpy and lists; address types: text (IPv4 and IPv6 mixed, with
nulls), packed fixed_size_binary(4)/(16) in network byte order, and uint32. Every
answer is checked against ``db.lookup`` of the same address (tests/frames_oracle.py).
Then the inputs it must refuse, and malformed text with either ``on_error``.
"""

from __future__ import annotations

import ipaddress

import arro3.core as a3
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from frames_oracle import COLUMNS, addresses, assert_rows, assert_table, expected_rows, hits_and_misses, sample_db, texts

import geoip_rs


@pytest.fixture(scope="module")
def db() -> geoip_rs.Database:
    return sample_db()


@pytest.fixture(scope="module")
def ips() -> list:
    return addresses(3000, seed=11)


@pytest.fixture(scope="module")
def v4() -> list:
    return addresses(2000, seed=12, v6=False)


@pytest.fixture(scope="module")
def v6() -> list:
    return addresses(2000, seed=13, v4=False)


def test_the_addresses_mix_hits_misses_nulls_and_families(db, ips):
    found, missed, nulls = hits_and_misses(db, ips)
    assert found > 1500 and missed > 300 and nulls > 50
    assert {ip.version for ip in ips if ip is not None and db.lookup(ip)} == {4, 6}


def packed(ips: list, width: int) -> pa.Array:
    return pa.array([None if ip is None else ip.packed for ip in ips], pa.binary(width))


# ---- text ----------------------------------------------------------------------


def test_list_of_str(db, ips):
    assert_table(db, db.to_arrow(texts(ips)), ips)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view()], ids=str)
def test_pyarrow_text_types(db, ips, kind):
    assert_table(db, db.to_arrow(pa.array(texts(ips), kind)), ips)


def test_chunked_array_with_empty_chunks(db, ips):
    cuts = [0, 0, 700, 701, 701, 2000, 3000, 3000]
    chunks = [pa.array(texts(ips[a:b]), pa.string()) for a, b in zip(cuts, cuts[1:])]
    arr = pa.chunked_array(chunks, pa.string())
    assert arr.num_chunks == 7 and min(len(c) for c in arr.chunks) == 0
    assert_table(db, db.to_arrow(arr), ips)


def test_chunked_array_of_no_chunks(db):
    assert_table(db, db.to_arrow(pa.chunked_array([], pa.string())), [])


def test_sliced_array(db, ips):
    # Offsets not a multiple of 8 put the validity bits mid-byte.
    arr = pa.array(texts(ips), pa.string())
    assert_table(db, db.to_arrow(arr.slice(13, 1001)), ips[13:1014])
    assert_table(db, db.to_arrow(arr.slice(2995)), ips[2995:])


def test_sliced_chunked_array_across_chunks(db, ips):
    arr = pa.chunked_array([pa.array(texts(ips[:1000])), pa.array(texts(ips[1000:]))])
    assert_table(db, db.to_arrow(arr.slice(997, 11)), ips[997:1008])


def test_empty(db):
    assert_table(db, db.to_arrow([]), [])
    assert_table(db, db.to_arrow(pa.array([], pa.string())), [])


def test_columns_chosen_and_ordered(db, ips):
    columns = ["country", "asn", "address", "origins"]
    assert_table(db, db.to_arrow(texts(ips), columns), ips, columns)


def test_unknown_column(db):
    with pytest.raises(ValueError, match="'asnumber'"):
        db.to_arrow(["8.8.8.8"], ["asn", "asnumber"])


# ---- the engines ---------------------------------------------------------------


def test_polars_series(db, ips):
    s = pl.Series("ip", texts(ips), dtype=pl.String)
    assert_table(db, db.to_arrow(s), ips)  # exported as string_view
    assert_table(db, db.to_arrow(s.to_arrow()), ips)  # large_string


def test_polars_series_of_several_chunks(db, ips):
    s = pl.concat([pl.Series("ip", texts(ips[:10])), pl.Series("ip", texts(ips[10:]))], rechunk=False)
    assert s.n_chunks() == 2
    assert_table(db, db.to_arrow(s), ips)


@pytest.mark.parametrize("dtype", ["string[pyarrow]", pd.ArrowDtype(pa.string()), "str", object], ids=str)
def test_pandas_series(db, ips, dtype):
    s = pd.Series(texts(ips), dtype=dtype, name="ip")
    assert_table(db, db.to_arrow(s), ips)


def test_pandas_column_of_a_sliced_frame(db, ips):
    df = pd.DataFrame({"n": range(len(ips)), "ip": pd.Series(texts(ips), dtype=pd.ArrowDtype(pa.string()))})
    assert_table(db, db.to_arrow(df["ip"].iloc[100:300]), ips[100:300])


def test_duckdb_results(db, ips):
    con = duckdb.connect()
    con.register("t", pa.table({"id": range(len(ips)), "ip": pa.array(texts(ips), pa.string())}))
    rel = con.sql("SELECT ip FROM t ORDER BY id")
    assert_table(db, db.to_arrow(rel.to_arrow_table()["ip"]), ips)
    assert_table(db, db.to_arrow(rel.arrow().read_all().column("ip")), ips)
    # DuckDB's own VARCHAR, not a scan of the registered Arrow data.
    con.execute("CREATE TABLE u AS SELECT id, ip FROM t")
    assert_table(db, db.to_arrow(con.sql("SELECT ip FROM u ORDER BY id").to_arrow_table()["ip"]), ips)


def test_arro3(db, ips):
    arr = a3.Array.from_arrow(pa.array(texts(ips), pa.string()))
    assert_table(db, db.to_arrow(arr), ips)
    chunked = a3.ChunkedArray([a3.Array.from_arrow(pa.array(texts(ips[:5]))),
                               a3.Array.from_arrow(pa.array(texts(ips[5:])))])
    assert_table(db, db.to_arrow(chunked), ips)


def test_numpy_text(db, ips):
    present = [ip for ip in ips if ip is not None]
    assert_table(db, db.to_arrow(np.array(texts(present))), present)
    assert_table(db, db.to_arrow(np.array(texts(ips), dtype=object)), ips)


def test_numpy_uint32(db, v4):
    present = [ip for ip in v4 if ip is not None]
    assert_table(db, db.to_arrow(np.array([int(ip) for ip in present], dtype=np.uint32)), present)


def test_numpy_packed_ipv6(db, v6):
    present = [ip for ip in v6 if ip is not None]
    rows = np.frombuffer(b"".join(ip.packed for ip in present), dtype=np.uint8).reshape(-1, 16)
    assert_table(db, db.to_arrow(rows), present)


# ---- packed and integer addresses ----------------------------------------------


def test_fixed_size_binary_4(db, v4):
    assert_table(db, db.to_arrow(packed(v4, 4)), v4)


def test_fixed_size_binary_16(db, v6):
    # IPv4-mapped addresses are IPv6 (and so mostly misses), as in db.lookup.
    v6 = v6 + [ipaddress.ip_address("::ffff:8.8.8.8"), None]
    assert_table(db, db.to_arrow(packed(v6, 16)), v6)


def test_fixed_size_binary_sliced_and_chunked(db, v6):
    arr = pa.chunked_array([packed(v6[:500], 16), packed([], 16), packed(v6[500:], 16)])
    assert_table(db, db.to_arrow(arr.slice(7, 900)), v6[7:907])
    assert_table(db, db.to_arrow(a3.Array.from_arrow(packed(v6, 16).slice(3))), v6[3:])


def test_uint32(db, v4):
    arr = pa.array([None if ip is None else int(ip) for ip in v4], pa.uint32())
    assert_table(db, db.to_arrow(arr), v4)
    assert_table(db, db.to_arrow(arr.slice(5, 77)), v4[5:82])
    assert_table(db, db.to_arrow(pl.Series([None if ip is None else int(ip) for ip in v4], dtype=pl.UInt32)), v4)


# ---- refused inputs and malformed addresses -------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        pa.array([["8.8.8.8"], None], pa.list_(pa.string())),
        pa.array([1, 2, None], pa.int8()),
        pa.array([b"\x08\x08\x08\x08\x00"], pa.binary(5)),
    ],
    ids=["list<utf8>", "int8", "fixed_size_binary(5)"],
)
def test_wrong_arrow_type(db, bad):
    with pytest.raises(TypeError, match=str(bad.type).split("<")[0].split("[")[0]):
        db.to_arrow(bad)


def test_table_with_several_columns(db):
    table = pa.table({"ip": ["8.8.8.8"], "other": ["1.1.1.1"]})
    with pytest.raises(TypeError, match="column"):
        db.to_arrow(table)


@pytest.mark.parametrize("bad", ["1.2.3", "8.8.8.800", "", "2001:db8::g", "hello"])
def test_malformed_text_raises_naming_the_row(db, bad):
    # A column names the row; a Python list the index, as every list argument does.
    with pytest.raises(ValueError, match=r"(row|index) 3\b") as e:
        db.to_arrow(["8.8.8.8", None, "::1", bad, "1.1.1.1"])
    assert repr(bad) in str(e.value) or bad in str(e.value)


def test_malformed_row_counts_across_chunks_and_from_the_slice(db):
    chunked = pa.chunked_array([["8.8.8.8", "1.1.1.1"], [], ["9.9.9.9", "1.2.3", "4.4.4.4"]])
    with pytest.raises(ValueError, match=r"row 3\b"):
        db.to_arrow(chunked)
    with pytest.raises(ValueError, match=r"row 1\b"):
        db.to_arrow(pa.array(["x", "8.8.8.8", "9.9.9.9", "1.2.3"]).slice(2))


def test_malformed_text_as_null_rows(db, ips):
    # Every 7th address spoiled: those rows answer nothing, the others as usual. The
    # address column of a spoiled row is left out (the contract says "null row").
    spoiled = [f"{t}x" if t is not None and i % 7 == 0 else t for i, t in enumerate(texts(ips))]
    want_ips = [None if i % 7 == 0 else ip for i, ip in enumerate(ips)]
    columns = COLUMNS[1:]
    for given in (spoiled, pa.array(spoiled, pa.string()), pl.Series(spoiled)):
        table = pa.table(db.to_arrow(given, columns, on_error="null"))
        assert_rows(table.to_pylist(), expected_rows(db, want_ips, columns))


def test_unknown_on_error(db):
    with pytest.raises(ValueError, match="on_error"):
        db.to_arrow(["8.8.8.8"], on_error="ignore")
