"""The DuckDB functions (geoip_rs.duckdb.register): SQL over a Parquet file of
addresses, against ``db.lookup`` of each address (tests/frames_oracle.py)."""

from __future__ import annotations

import collections
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import timedata
from frames_oracle import COLUMNS, addresses, assert_rows, expected_rows, hits_and_misses, sample_db, texts

import geoip_rs
import geoip_rs.duckdb

RECORD = [c for c in COLUMNS if c != "address"]

#: What each Arrow type of to_arrow is in SQL.
SQL_TYPES = {"prefix": "VARCHAR", "prefix_len": "UTINYINT", "asn": "UINTEGER", "origins": "UINTEGER[]",
             "as_name": "VARCHAR", "org_id": "VARCHAR", "org_name": "VARCHAR", "country": "VARCHAR",
             "country_source": "VARCHAR", "registry": "VARCHAR"}


@pytest.fixture(scope="module")
def db() -> geoip_rs.Database:
    return sample_db()


@pytest.fixture(scope="module")
def ips() -> list:
    return addresses(12000, seed=31)


@pytest.fixture(scope="module")
def parquet(ips, tmp_path_factory) -> str:
    # Several row groups, so that DuckDB's threads each take some.
    path = tmp_path_factory.mktemp("duckdb") / "ips.parquet"
    table = pa.table({"id": pa.array(range(len(ips)), pa.int64()), "ip": pa.array(texts(ips), pa.string())})
    pq.write_table(table, path, row_group_size=2500)
    return str(path)


@pytest.fixture
def con(db) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    geoip_rs.duckdb.register(con, db)
    return con


def select(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_the_addresses_mix_hits_misses_and_nulls(db, ips):
    found, missed, nulls = hits_and_misses(db, ips)
    assert found > 7000 and missed > 1500 and nulls > 300


def test_names_come_from_the_schema(db):
    con = duckdb.connect()
    names = geoip_rs.duckdb.register(con, db)
    plain = [*RECORD, "lookup"]
    assert names == [f"geoip_{c}" for c in plain] + [f"geoip_{c}_at" for c in plain] + [f"geoip_{c}_at_us" for c in plain]
    assert geoip_rs.duckdb.register(con, db, prefix="ip2_")[:len(plain) + 1] == [f"ip2_{c}" for c in plain] + ["ip2_prefix_at"]


def test_asn_and_country_over_parquet(con, db, ips, parquet):
    got = select(con, f"SELECT geoip_asn(ip) AS asn, geoip_country(ip) AS country "
                      f"FROM read_parquet('{parquet}') ORDER BY id")
    assert_rows(got, expected_rows(db, ips, ["asn", "country"]))


def test_every_function_and_its_type(con, db, ips, parquet):
    calls = ", ".join(f"geoip_{c}(ip) AS {c}" for c in RECORD)
    sql = f"SELECT {calls} FROM read_parquet('{parquet}') ORDER BY id"
    assert dict(zip(con.sql(sql).columns, map(str, con.sql(sql).types))) == SQL_TYPES
    assert_rows(select(con, sql), expected_rows(db, ips, RECORD))


def test_lookup_struct(con, db, ips, parquet):
    rel = con.sql(f"SELECT geoip_lookup(ip) AS r FROM read_parquet('{parquet}') ORDER BY id")
    assert str(rel.types[0]) == "STRUCT(" + ", ".join(f"{c} {t}" for c, t in SQL_TYPES.items()) + ")"
    got = [row[0] for row in rel.fetchall()]
    # No record (a NULL address or a miss) is a NULL struct.
    want = [None if row["prefix"] is None else row for row in expected_rows(db, ips, RECORD)]
    assert_rows(got, want)
    fields = select(con, f"SELECT geoip_lookup(ip).asn AS asn FROM read_parquet('{parquet}') ORDER BY id")
    assert_rows(fields, expected_rows(db, ips, ["asn"]))


def test_group_by_country(con, db, ips, parquet):
    got = con.sql(f"SELECT geoip_country(ip) AS country, count(*) AS n FROM read_parquet('{parquet}') "
                  "WHERE ip IS NOT NULL GROUP BY ALL").fetchall()
    want = collections.Counter(row["country"] for ip, row in zip(ips, expected_rows(db, ips, ["country"]))
                               if ip is not None)
    assert dict(got) == dict(want)


def test_group_by_asn_with_names(con, db, ips, parquet):
    got = con.sql(f"SELECT geoip_asn(ip), any_value(geoip_as_name(ip)), count(*) FROM read_parquet('{parquet}') "
                  "WHERE geoip_asn(ip) IS NOT NULL GROUP BY 1").fetchall()
    rows = [r for r in expected_rows(db, ips, ["asn", "as_name"]) if r["asn"] is not None]
    assert {asn: n for asn, _, n in got} == dict(collections.Counter(r["asn"] for r in rows))
    names = {r["asn"]: r["as_name"] for r in rows}
    assert {asn: name for asn, name, _ in got} == names


def test_null_and_constant_arguments(con):
    assert con.execute("SELECT geoip_asn(NULL), geoip_asn('8.8.8.8'), geoip_prefix('192.0.2.1'), "
                       "geoip_lookup('192.0.2.1')").fetchall() == [(None, 15169, None, None)]


def test_malformed_raises(con):
    with pytest.raises(duckdb.InvalidInputException, match=r"ValueError.*8\.8\.8\.800"):
        con.sql("SELECT geoip_asn(ip) FROM (VALUES ('8.8.8.8'), ('8.8.8.800')) t(ip)").fetchall()


def test_malformed_as_null(db, ips, tmp_path):
    spoiled = [f"{t}/x" if t is not None and i % 5 == 0 else t for i, t in enumerate(texts(ips[:3000]))]
    path = tmp_path / "spoiled.parquet"
    pq.write_table(pa.table({"id": range(len(spoiled)), "ip": pa.array(spoiled, pa.string())}), path)
    con = duckdb.connect()
    geoip_rs.duckdb.register(con, db, on_error="null")
    got = select(con, f"SELECT geoip_asn(ip) AS asn, geoip_registry(ip) AS registry "
                      f"FROM read_parquet('{path}') ORDER BY id")
    want_ips = [None if i % 5 == 0 else ip for i, ip in enumerate(ips[:3000])]
    assert_rows(got, expected_rows(db, want_ips, ["asn", "registry"]))


@pytest.mark.parametrize("how", ["path", "pathlib", "default"])
def test_database_named_by_path_or_default(how):
    # The tests' cache is empty (conftest), so the default is the bundled sample.
    con = duckdb.connect()
    db = {"path": geoip_rs.sample_path(), "pathlib": Path(geoip_rs.sample_path()), "default": None}[how]
    geoip_rs.duckdb.register(con, db)
    assert con.execute("SELECT geoip_asn('8.8.8.8')").fetchall() == [(15169,)]


def test_bad_arguments(db):
    con = duckdb.connect()
    with pytest.raises(ValueError, match="on_error"):
        geoip_rs.duckdb.register(con, db, on_error="skip")
    with pytest.raises(FileNotFoundError):
        geoip_rs.duckdb.register(con, "/nonexistent/x.geoipdb")
    geoip_rs.duckdb.register(con, db)
    with pytest.raises(duckdb.NotImplementedException, match="geoip_prefix"):
        geoip_rs.duckdb.register(con, db)


# ---- the _at functions: answers at a time, against the one-date databases -----------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    history = timedata.build(tmp_path_factory.mktemp("duckdb_history"))
    yield history
    history.close()


def timed_parquet(path: Path, addresses, seconds, null=None) -> str:
    """Each time as a TIMESTAMP (UTC wall clock), a TIMESTAMPTZ (the instant, from
    datetimes in Kolkata) and a DATE (the UTC day); where ``null`` is set, NULL."""
    mask = null
    table = pa.table({
        "id": pa.array(range(len(addresses)), pa.int64()),
        "ip": pa.array(addresses, pa.string()),
        "ts": pa.array(seconds, pa.timestamp("s"), mask=mask).cast(pa.timestamp("us")),
        "tstz": pa.array(timedata.datetimes(seconds, ZoneInfo("Asia/Kolkata")), pa.timestamp("us", "Asia/Kolkata"),
                         mask=mask),
        "day": pa.array(timedata.dates(seconds), pa.date32(), mask=mask),
    })
    pq.write_table(table, path, row_group_size=100)
    return str(path)


@pytest.fixture
def timed_con(small) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # A zone far from UTC: a TIMESTAMP cast to TIMESTAMPTZ through it, or back,
    # would move by hours and cross snapshot times.
    con.execute("SET threads = 2; SET TimeZone = 'America/Los_Angeles'")
    geoip_rs.duckdb.register(con, small.history)
    return con


def test_every_at_function(timed_con, small, tmp_path):
    addresses, seconds = timedata.rows(400, seed=15)
    path = timed_parquet(tmp_path / "timed.parquet", addresses, seconds)
    for ts, asked in [("ts", seconds), ("tstz", seconds), ("day", timedata.day_start(seconds)),
                      ("ts::TIMESTAMP_NS", seconds)]:
        calls = ", ".join(f"geoip_{c}_at(ip, {ts}) AS {c}" for c in RECORD)
        rel = timed_con.sql(f"SELECT {calls}, geoip_lookup_at(ip, {ts}) AS r FROM read_parquet('{path}') ORDER BY id")
        assert dict(zip(rel.columns[:-1], map(str, rel.types[:-1]))) == SQL_TYPES
        rows = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
        seen = timedata.check_rows_at(small, addresses, asked, rows, RECORD)
        assert seen["found"] > 100 and min(seen[s] for s in ("-1", "0", "1", "2")) > 40, (ts, seen)
        # The struct: NULL where there is no record, else the columns' values.
        assert [r["r"] for r in rows] == [None if r["prefix"] is None else {c: r[c] for c in RECORD} for r in rows]


def test_constant_times(timed_con):
    asked = {
        "TIMESTAMP '2021-01-06 01:00'": 64503,  # UTC: the second snapshot
        "TIMESTAMPTZ '2021-01-06 01:00+02'": 64501,  # 2021-01-05 23:00 UTC: the first
        "DATE '2021-01-06'": 64503,
        "DATE '2021-01-03'": None,  # before the first
        "TIMESTAMP '2031-01-01'": 64501,
    }
    calls = ", ".join(f"geoip_asn_at('10.1.2.3', {ts})" for ts in asked)
    assert timed_con.sql(f"SELECT {calls}").fetchall() == [tuple(asked.values())]


def test_null_times(small, tmp_path):
    addresses, seconds = timedata.rows(300, seed=16)
    null = np.arange(len(addresses)) % 4 == 0
    path = timed_parquet(tmp_path / "nulls.parquet", addresses, seconds, null)
    con = duckdb.connect()
    geoip_rs.duckdb.register(con, small.history)
    with pytest.raises(duckdb.InvalidInputException, match=r"ValueError.*no time \(NaT or null\)"):
        con.sql(f"SELECT geoip_asn_at(ip, ts) FROM read_parquet('{path}')").fetchall()
    con = duckdb.connect()
    geoip_rs.duckdb.register(con, small.history, on_error="null")
    for ts in ("ts", "tstz", "day"):
        got = select(con, f"SELECT geoip_asn_at(ip, {ts}) AS asn, geoip_lookup_at(ip, {ts}).country AS country "
                          f"FROM read_parquet('{path}') ORDER BY id")
        asked = timedata.day_start(seconds) if ts == "day" else seconds
        timedata.check_rows_at(small, addresses, asked, got, ["asn", "country"], null=null)
