"""``geoip_rs.spark.enrich`` on a real PySpark ``local[2]`` session (loopback only,
no UI): every answer against ``Database.lookup`` on the same address, the Spark
types of the added columns, the file shipped with ``addFile`` (or read in place)
and opened once per Python worker process, and the errors raised before any job.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import timedata
from clusterdata import IN_CI, MALFORMED, check_rows, mixed_addresses, record_columns, require
from dbfixtures import TINY_EXPECTED, TINY_UNROUTED

import geoip_rs

pa = require("pyarrow")
pyspark_sql = require("pyspark.sql")
st = require("pyspark.sql.types")
gspark = require("geoip_rs.spark")

pytestmark = pytest.mark.filterwarnings(
    # pyspark 4.3 warns on import that it is not tested with pandas 3; mapInArrow
    # does not go through pandas.
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)


@pytest.fixture(scope="module")
def spark():
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        (pytest.fail if IN_CI else pytest.skip)("Spark needs Java: no JAVA_HOME and no java on PATH")
    with pytest.MonkeyPatch.context() as mp:
        # The Python workers must be this interpreter (with this geoip_rs), and
        # everything stays on the loopback interface.
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            pyspark_sql.SparkSession.builder.master("local[2]")
            .appName("geoip_rs tests")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


@pytest.fixture(scope="module")
def sample():
    with geoip_rs.open(geoip_rs.sample_path()) as db:
        yield db


@pytest.fixture(scope="module")
def addresses(sample):
    return mixed_addresses(seed=20142)


def frame(spark, addresses, partitions):
    rows = list(enumerate(addresses))
    return spark.createDataFrame(rows, "id long, address string").repartition(partitions)


def plain_rows(df):
    """The rows in ``id`` order (sorted here: ``orderBy`` would cost Spark a
    sampling job and a shuffle)."""
    return sorted((r.asDict() for r in df.collect()), key=lambda r: r["id"])


def worker_opens(spark, name: str) -> dict[int, dict[str, int]]:
    """Each Python worker's opens of database files named ``name``, by pid: a job
    of many small tasks run right after the one under test, which Spark hands in
    turn to the idle workers it keeps for reuse (the processes that ran it)."""

    # Nested, so that cloudpickle sends it by value: the workers cannot import
    # this test module.
    def report(batches):
        import geoip_rs.spark

        for _ in batches:
            pass
        opened = {p: n for p, n in geoip_rs.spark._opens().items() if os.path.basename(p) == name}
        yield pa.RecordBatch.from_pydict({"pid": [os.getpid()], "opens": [json.dumps(opened)]})

    rows = spark.range(0, 40, 1, 40).mapInArrow(report, "pid long, opens string").collect()
    return {r.pid: json.loads(r.opens) for r in rows if r.opens != "{}"}


def test_records_equal_lookups_and_one_open_per_worker(spark, sample, addresses, tmp_path):
    path = tmp_path / "shipped-sample.geoipdb"  # a name no worker has opened yet
    shutil.copy(sample.path, path)
    out = gspark.enrich(frame(spark, addresses, 20), "address", geoip_rs.open(path))
    names = record_columns()
    assert out.columns == ["id", "address", *names]
    types = {f.name: f.dataType for f in out.schema.fields}
    assert types["asn"] == st.LongType() and types["prefix_len"] == st.ShortType()
    assert types["origins"] == st.ArrayType(st.LongType())
    assert all(types[n] == st.StringType() for n in ("prefix", "as_name", "org_name", "country", "registry"))
    rows = plain_rows(out)
    assert [r["id"] for r in rows] == list(range(len(addresses)))
    seen = check_rows(sample, addresses, rows, names)
    assert seen["v4"] > 800 and seen["v6"] > 300 and seen["null"] > 40
    # The 20 tasks ran in a few reused processes, each of which opened the file
    # once: its copy in the worker's SparkFiles folder, not the driver's path.
    assert spark.sparkContext.getConf().get("spark.python.worker.reuse", "true") == "true"
    opens = worker_opens(spark, path.name)
    assert opens and len(opens) <= 4
    for opened in opens.values():
        assert list(opened.values()) == [1]
        assert next(iter(opened)) != str(path)


def test_shared_path_columns_prefix_and_malformed_as_null(spark, tiny):
    addresses = [*TINY_EXPECTED, *TINY_UNROUTED, *MALFORMED, None]
    for a in MALFORMED:
        with pytest.raises(ValueError):
            tiny.lookup(a)
    names = ["asn", "prefix_len", "origins", "org_name", "country"]
    df = frame(spark, addresses, 3)
    out = gspark.enrich(df, "address", tiny.path, names, on_error="null", prefix="geo_", ship=False)
    assert out.columns == ["id", "address", *("geo_" + n for n in names)]
    rows = plain_rows(out)
    seen = check_rows(tiny, addresses, rows, names, prefix="geo_")
    assert seen["null"] == len(TINY_UNROUTED) + len(MALFORMED) + 1
    by_address = {r["address"]: r for r in rows}
    for a, (asn, prefix, country, _, _, _, _, org_name) in TINY_EXPECTED.items():
        r = by_address[a]
        assert (r["geo_asn"], r["geo_prefix_len"], r["geo_country"], r["geo_org_name"]) == (
            asn, int(prefix.split("/")[1]), country, org_name)
    # read where it is, not shipped
    opened = [p for o in worker_opens(spark, os.path.basename(tiny.path)).values() for p in o]
    assert opened and set(opened) == {tiny.path}


def test_malformed_address_fails_the_job_by_default(spark, sample):
    df = frame(spark, ["8.8.8.8", None, "8.8.8.800"], 1)
    with pytest.raises(Exception, match="8.8.8.800") as e:
        gspark.enrich(df, "address", sample, ["asn"]).collect()
    assert "ValueError" in str(e.value)


def test_argument_errors_before_any_job(spark, sample):
    df = spark.createDataFrame([(1, "8.8.8.8", 7)], "id long, address string, asn long")
    with pytest.raises(ValueError, match="no column 'addr'.*'address'"):
        gspark.enrich(df, "addr", sample, ["country"])
    with pytest.raises(ValueError, match="cuntry"):
        gspark.enrich(df, "address", sample, ["asn", "cuntry"])
    with pytest.raises(ValueError, match=r"already has column\(s\) \['asn'\]; pass prefix="):
        gspark.enrich(df, "address", sample, ["asn", "country"])
    with pytest.raises(ValueError, match="on_error"):
        gspark.enrich(df, "address", sample, ["country"], on_error="skip")
    assert gspark.enrich(df, "address", sample, ["asn"], prefix="geo_").columns[-1] == "geo_asn"


def test_a_shipped_name_stands_for_one_file(spark, sample, tiny, tmp_path):
    df = spark.createDataFrame([(1, "8.8.8.8")], "id long, address string")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, other = tmp_path / "a" / "once.geoipdb", tmp_path / "b" / "once.geoipdb"
    shutil.copy(sample.path, first)
    shutil.copy(sample.path, other)
    gspark.enrich(df, "address", first, ["asn"])
    gspark.enrich(df, "address", first, ["country"])  # the same file again is fine
    with pytest.raises(ValueError, match=re.escape(f"another file named 'once.geoipdb' ({first})")):
        gspark.enrich(df, "address", other, ["asn"])
    # Spark would keep serving the old file: rebuilt in place, it is refused.
    shutil.copy(tiny.path, tmp_path / "next.geoipdb")
    os.replace(tmp_path / "next.geoipdb", first)
    with pytest.raises(ValueError, match=re.escape(f"{first} has changed since it was sent")):
        gspark.enrich(df, "address", first, ["asn"])
    # The executors fetch an added file at their next task and fail every task of
    # the session from then on if it no longer matches the copy Spark made: put
    # the shipped content back for the tests after this one.
    shutil.copy(sample.path, first)


def test_default_database(spark, sample):
    # conftest points the cache at an empty folder, so the default is the sample.
    assert geoip_rs.default_path() == geoip_rs.sample_path()
    addresses = ["8.8.8.8", "2001:4860::8888", "193.0.6.139", None, "10.0.0.1"]
    rows = plain_rows(gspark.enrich(frame(spark, addresses, 2), "address"))
    seen = check_rows(sample, addresses, rows, record_columns())
    assert seen["v4"] >= 2 and seen["v6"] == 1


# ---- at=: each row answered at its own time, against the one-date databases ----------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    history = timedata.build(tmp_path_factory.mktemp("spark_history"))
    yield history
    history.close()


TIMED = "id long, address string, ts timestamp, ntz timestamp_ntz, day date, secs long"


def timed_frame(spark, addresses, seconds, partitions, null=None):
    """Each time as a timestamp (from datetimes in New York: the same instants), a
    timestamp_ntz of the UTC wall clock, the UTC date and integer seconds; where
    ``null`` is set, every time null."""
    rows = []
    aware = timedata.datetimes(seconds, ZoneInfo("America/New_York"))
    for i, (a, t, day) in enumerate(zip(addresses, aware, timedata.dates(seconds))):
        times = (t, t.astimezone(timedata.UTC).replace(tzinfo=None), day, int(seconds[i]))
        rows.append((i, a, *((None,) * 4 if null is not None and null[i] else times)))
    return spark.createDataFrame(rows, TIMED).repartition(partitions)


def test_rows_at_their_own_times(spark, small):
    addresses, seconds = timedata.rows(300, seed=9)
    df = timed_frame(spark, addresses, seconds, 3)
    names = record_columns()
    for at in ("ts", "ntz", "day", "secs"):  # one job for all four
        df = gspark.enrich(df, "address", small.history, names, at=at, prefix=at + "_", ship=False)
    # The session's time zone is the zone of the timestamps mapInArrow hands over;
    # they are instants whatever it is.
    conf = spark.conf
    zone = conf.get("spark.sql.session.timeZone")
    conf.set("spark.sql.session.timeZone", "Asia/Kolkata")
    try:
        rows = plain_rows(df)
    finally:
        conf.set("spark.sql.session.timeZone", zone)
    assert [r["id"] for r in rows] == list(range(len(addresses)))
    for at, asked in [("ts", seconds), ("ntz", seconds), ("day", timedata.day_start(seconds)), ("secs", seconds)]:
        seen = timedata.check_rows_at(small, addresses, asked, rows, names, prefix=at + "_")
        assert seen["found"] > 80 and min(seen[s] for s in ("-1", "0", "1", "2")) > 30, (at, seen)


def test_null_times(spark, small):
    addresses, seconds = timedata.rows(100, seed=10)
    null = np.arange(len(addresses)) % 6 == 2
    df = timed_frame(spark, addresses, seconds, 2, null)
    with pytest.raises(Exception, match=r"no time \(NaT or null\) at index") as e:
        gspark.enrich(df, "address", small.history, ["asn"], at="ts", ship=False).collect()
    assert "ValueError" in str(e.value)
    for at in ("ts", "day"):
        df = gspark.enrich(df, "address", small.history, ["asn", "org_name"], at=at, prefix=at + "_",
                           on_error="null", ship=False)
    rows = plain_rows(df)
    timedata.check_rows_at(small, addresses, seconds, rows, ["asn", "org_name"], prefix="ts_", null=null)
    timedata.check_rows_at(small, addresses, timedata.day_start(seconds), rows, ["asn", "org_name"],
                           prefix="day_", null=null)


def test_time_argument_errors_before_any_job(spark, small):
    df = spark.createDataFrame([(1, "10.0.0.1", "2021-01-05", 1.5)], "id long, address string, text string, f double")
    with pytest.raises(ValueError, match="no time column 'ts'.*'address'"):
        gspark.enrich(df, "address", small.history, ["asn"], at="ts")
    for at, kind in (("text", "string"), ("f", "double")):
        with pytest.raises(TypeError, match=f"time column '{at}' is of type {kind}"):
            gspark.enrich(df, "address", small.history, ["asn"], at=at)
