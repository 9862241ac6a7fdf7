"""The Polars ``geoip`` namespace (geoip_rs.polars): eager, lazy and streaming frames,
pickled plans, against ``db.lookup`` of each address (tests/frames_oracle.py)."""

from __future__ import annotations

import collections
import io
import os
import pickle
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import timedata
from frames_oracle import COLUMNS, addresses, assert_rows, expected_rows, hits_and_misses, sample_db, texts

import geoip_rs
import geoip_rs.polars  # noqa: F401  (registers the namespace)
from geoip_rs.polars import GeoipLookup

RECORD = [c for c in COLUMNS if c != "address"]


@pytest.fixture(scope="module")
def db() -> geoip_rs.Database:
    return sample_db()


@pytest.fixture(scope="module")
def ips() -> list:
    return addresses(5000, seed=21)


@pytest.fixture(scope="module")
def frame(ips) -> pl.DataFrame:
    return pl.DataFrame({"n": range(len(ips)), "ip": texts(ips)}, schema={"n": pl.Int64, "ip": pl.String})


def geo_rows(df: pl.DataFrame, columns: list[str]) -> list[dict]:
    return df.unnest("geo").select(columns).to_dicts()


class CountingDatabase(geoip_rs.Database):
    """Counts to_arrow calls and their sizes: how the engines cut the column."""

    calls: list[int]

    def to_arrow(self, addresses, columns=None, *, on_error="raise", at=None):
        self.calls.append(len(addresses))
        return super().to_arrow(addresses, columns, on_error=on_error, at=at)


def test_the_addresses_mix_hits_misses_and_nulls(db, ips):
    found, missed, nulls = hits_and_misses(db, ips)
    assert found > 2500 and missed > 500 and nulls > 100


def test_eager(db, ips, frame):
    out = frame.with_columns(geo=pl.col("ip").geoip.lookup(db))
    assert out.columns == ["n", "ip", "geo"]
    assert_rows(geo_rows(out, RECORD), expected_rows(db, ips, RECORD))
    assert out["ip"].to_list() == texts(ips)


def test_dtypes_are_to_polars_dtypes(db, frame):
    dtype = frame.select(pl.col("ip").geoip.lookup(db)).schema["ip"]
    assert dtype == pl.Struct(db.to_polars([], RECORD).schema)
    assert dtype.to_schema()["country"] == pl.Categorical
    assert dtype.to_schema()["origins"] == pl.List(pl.UInt32)


def test_lazy_schema_resolves_without_running(db):
    # A malformed address would raise if the lookup ran: only the schema is asked.
    lf = pl.LazyFrame({"ip": ["8.8.8.8", "not an address"]})
    lf = lf.with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn", "country"]))
    assert lf.collect_schema()["geo"] == pl.Struct({"asn": pl.UInt32, "country": pl.Categorical})
    assert lf.unnest("geo").collect_schema().names() == ["ip", "asn", "country"]
    # The row counts within the batch Polars hands over, so only the text is pinned.
    with pytest.raises(ValueError, match="not an address"):
        lf.collect()


def test_lazy(db, ips, frame):
    lf = frame.lazy().with_columns(geo=pl.col("ip").geoip.lookup(db)).unnest("geo").filter(pl.col("n") % 2 == 0)
    out = lf.collect(engine="in-memory")
    assert_rows(out.select(RECORD).to_dicts(), expected_rows(db, ips[::2], RECORD))


def test_streaming_runs_in_batches(db, ips, frame):
    counting = CountingDatabase(db.path)
    counting.calls = []
    lf = frame.lazy().with_columns(geo=pl.col("ip").geoip.lookup(counting, ["asn", "country", "prefix"]))
    with pl.Config(streaming_chunk_size=700):
        out = lf.collect(engine="streaming")
    assert sum(counting.calls) == len(ips) and len(counting.calls) > 5, counting.calls
    assert_rows(geo_rows(out.sort("n"), ["asn", "country", "prefix"]),
                expected_rows(db, ips, ["asn", "country", "prefix"]))


def test_streaming_sink(db, ips, frame, tmp_path):
    path = tmp_path / "geo.parquet"
    with pl.Config(streaming_chunk_size=1000):
        frame.lazy().with_columns(geo=pl.col("ip").geoip.lookup(db)).unnest("geo").sink_parquet(path)
    out = pl.read_parquet(path).sort("n")
    assert_rows(out.select(RECORD).to_dicts(), expected_rows(db, ips, RECORD))


def test_group_by_country(db, ips, frame):
    out = (frame.lazy()
           .group_by(country=pl.col("ip").geoip.lookup(db, ["country"]).struct.field("country"))
           .len()
           .collect())
    want = collections.Counter(row["country"] for row in expected_rows(db, ips, ["country"]))
    assert {r["country"]: r["len"] for r in out.to_dicts()} == dict(want)


def test_columns_chosen_and_ordered(db, ips, frame):
    columns = ["registry", "asn", "address", "origins"]
    out = frame.with_columns(geo=pl.col("ip").geoip.lookup(db, columns))
    assert list(out.schema["geo"].to_schema()) == columns
    assert_rows(geo_rows(out, columns), expected_rows(db, ips, columns))


def test_series_namespace(db, ips):
    s = pl.Series("ip", texts(ips)).geoip.lookup(db, ["asn", "prefix_len"])
    assert s.name == "ip"
    assert_rows(s.to_list(), expected_rows(db, ips, ["asn", "prefix_len"]))


@pytest.mark.parametrize("how", ["path", "pathlib", "default"])
def test_database_named_by_path_or_default(ips, frame, how):
    # The tests' cache is empty (conftest), so the default is the bundled sample.
    db = {"path": geoip_rs.sample_path(), "pathlib": Path(geoip_rs.sample_path()), "default": None}[how]
    out = frame.with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn"]))
    assert_rows(geo_rows(out, ["asn"]), expected_rows(sample_db(), ips, ["asn"]))


def test_bad_arguments(db):
    with pytest.raises(FileNotFoundError):
        pl.col("ip").geoip.lookup("/nonexistent/x.geoipdb")
    with pytest.raises(TypeError, match="db must be"):
        pl.col("ip").geoip.lookup(42)
    with pytest.raises(ValueError, match="'asnumber'"):
        pl.col("ip").geoip.lookup(db, ["asnumber"])
    with pytest.raises(ValueError, match="on_error"):
        pl.col("ip").geoip.lookup(db, on_error="skip")


def test_missing_column(db):
    lf = pl.LazyFrame({"ip": ["8.8.8.8"]}).with_columns(geo=pl.col("addr").geoip.lookup(db))
    with pytest.raises(pl.exceptions.ColumnNotFoundError, match="addr"):
        lf.collect_schema()


def test_on_error(db):
    df = pl.DataFrame({"ip": ["8.8.8.8", None, "8.8.8", "2001:4860::8888"]})
    with pytest.raises(ValueError, match=r"row 2\b") as e:
        df.with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn"]))
    assert "'8.8.8'" in str(e.value)
    out = df.with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn"], on_error="null"))
    assert out.unnest("geo")["asn"].to_list() == [15169, None, None, 15169]


def test_input_dtypes(db, ips):
    present = [ip for ip in ips if ip is not None]
    v4 = [ip for ip in present if ip.version == 4]
    cases = [
        (pl.Series("ip", texts(ips), dtype=pl.Categorical), ips),
        (pl.Series("ip", [int(ip) for ip in v4], dtype=pl.UInt32), v4),
        (pl.Series("ip", [None] * 3), [None] * 3),  # dtype Null
        (pl.Series("ip", [], dtype=pl.String), []),
    ]
    for s, want in cases:
        out = s.to_frame().with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn", "country"]))
        assert_rows(geo_rows(out, ["asn", "country"]), expected_rows(db, want, ["asn", "country"]))


def test_pickled_plan(db, ips, frame):
    lf = frame.lazy().with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn", "as_name"]))
    want = lf.collect()
    assert pickle.loads(pickle.dumps(lf)).collect().equals(want)
    assert pl.LazyFrame.deserialize(io.BytesIO(lf.serialize())).collect().equals(want)
    fn = pickle.loads(pickle.dumps(GeoipLookup(db, ["asn"])))
    assert fn.db.path == db.path and fn.columns == ["asn"]


def test_pickled_plan_in_another_process(db, frame, tmp_path):
    lf = frame.lazy().head(500).with_columns(geo=pl.col("ip").geoip.lookup(db)).unnest("geo")
    (tmp_path / "plan.pkl").write_bytes(pickle.dumps(lf))
    code = ("import pickle, sys; lf = pickle.load(open(sys.argv[1], 'rb')); "
            "lf.collect(engine='streaming').write_parquet(sys.argv[2])")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "plan.pkl"), str(tmp_path / "out.parquet")],
                   check=True, env=env, timeout=120)
    assert pl.read_parquet(tmp_path / "out.parquet").equals(lf.collect())


# ---- at=: answers at a time, against the one-date databases (tests/timedata.py) -----


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    history = timedata.build(tmp_path_factory.mktemp("polars_history"))
    yield history
    history.close()


def timed_frame(addresses, seconds) -> pl.DataFrame:
    """Each time as a naive (UTC) datetime, a tz-aware one in New York (the same
    instant), the UTC date and integer seconds."""
    naive = pl.Series(seconds * 1_000_000, dtype=pl.Int64).cast(pl.Datetime("us"))
    return pl.DataFrame({
        "n": range(len(addresses)),
        "ip": pl.Series(addresses, dtype=pl.String),
        "naive": naive,
        "aware": naive.dt.replace_time_zone("UTC").dt.convert_time_zone("America/New_York").cast(
            pl.Datetime("ns", "America/New_York")),
        "day": pl.Series(timedata.dates(seconds), dtype=pl.Date),
        "secs": seconds,
    })


AT_COLUMNS = [("naive", False), (pl.col("aware"), False), ("day", True), (pl.col("secs"), False),
              (pl.col("secs").cast(pl.Int32), False)]


def test_rows_at_their_own_times(small):
    addresses, seconds = timedata.rows(400, seed=11)
    frame = timed_frame(addresses, seconds)
    for at, by_day in AT_COLUMNS:
        out = frame.with_columns(geo=pl.col("ip").geoip.lookup(small.history, RECORD, at=at))
        assert out.schema["geo"] == pl.Struct(small.history.to_polars([], RECORD).schema)
        assert frame.head(3).select(pl.col("ip").geoip.lookup(small.history, at=at)).columns == ["ip"]
        asked = timedata.day_start(seconds) if by_day else seconds
        seen = timedata.check_rows_at(small, addresses, asked, geo_rows(out, RECORD), RECORD)
        assert seen["found"] > 100 and min(seen[s] for s in ("-1", "0", "1", "2")) > 40, (at, seen)


def test_at_streams_in_batches(small):
    addresses, seconds = timedata.rows(3000, seed=12)
    counting = CountingDatabase(small.history.path)
    counting.calls = []
    lf = timed_frame(addresses, seconds).lazy().with_columns(
        geo=pl.col("ip").geoip.lookup(counting, ["asn", "country"], at="aware"))
    assert lf.collect_schema()["geo"] == pl.Struct({"asn": pl.UInt32, "country": pl.Categorical})
    with pl.Config(streaming_chunk_size=250):
        out = lf.collect(engine="streaming").sort("n")
    assert sum(counting.calls) == len(addresses) and len(counting.calls) > 5, counting.calls
    timedata.check_rows_at(small, addresses, seconds, geo_rows(out, ["asn", "country"]), ["asn", "country"])
    plain = timed_frame(addresses, seconds).lazy().with_columns(
        geo=pl.col("ip").geoip.lookup(small.history, ["asn", "country"], at="aware"))
    assert pickle.loads(pickle.dumps(plain)).collect().equals(out)


def test_one_time_for_all(small):
    frame = pl.DataFrame({"ip": timedata.ADDRESSES})
    n = len(timedata.ADDRESSES)
    for t in timedata.time_pool():
        when = datetime.fromtimestamp(t, timezone.utc)
        for at in (t, when, pl.lit(when)):
            out = frame.with_columns(geo=pl.col("ip").geoip.lookup(small.history, ["asn", "org_name"], at=at))
            timedata.check_rows_at(small, timedata.ADDRESSES, np.full(n, t), geo_rows(out, ["asn", "org_name"]),
                                   ["asn", "org_name"])
    with pytest.raises(pl.exceptions.ColumnNotFoundError, match="2021-01-07"):  # a string names a column
        frame.with_columns(geo=pl.col("ip").geoip.lookup(small.history, ["asn"], at="2021-01-07"))


def test_series_namespace_at(small):
    addresses, seconds = timedata.rows(200, seed=13)
    frame = timed_frame(addresses, seconds)
    s = frame["ip"].geoip.lookup(small.history, ["asn", "prefix"], at=frame["aware"])
    assert s.name == "ip"
    timedata.check_rows_at(small, addresses, seconds, s.to_list(), ["asn", "prefix"])
    after = frame.filter(pl.col("secs") >= 0)  # integers of any width are seconds
    s = after["ip"].geoip.lookup(small.history, ["asn"], at=after["secs"].cast(pl.UInt64))
    timedata.check_rows_at(small, after["ip"].to_list(), after["secs"].to_numpy(), s.to_list(), ["asn"])
    one = frame["ip"].geoip.lookup(small.history, ["asn"], at="2021-01-07")  # a Series' one time
    timedata.check_rows_at(small, addresses, np.full(len(addresses), timedata.TIMES[1]), one.to_list(), ["asn"])


def test_null_times(small):
    addresses, seconds = timedata.rows(150, seed=14)
    null = np.arange(len(addresses)) % 5 == 1
    frame = timed_frame(addresses, seconds).with_columns(
        pl.when(pl.Series(null)).then(None).otherwise(pl.col(c)).alias(c) for c in ("naive", "secs"))
    for at in ("naive", "secs"):
        with pytest.raises(ValueError, match=r"no time \(NaT or null\) at index 1\b"):
            frame.with_columns(geo=pl.col("ip").geoip.lookup(small.history, ["asn"], at=at))
        out = frame.with_columns(geo=pl.col("ip").geoip.lookup(small.history, RECORD, at=at, on_error="null"))
        assert out["geo"].dtype == pl.Struct(small.history.to_polars([], RECORD).schema)  # the batch's own
        timedata.check_rows_at(small, addresses, seconds, geo_rows(out, RECORD), RECORD, null=null)
    everything = frame.with_columns(pl.lit(None, pl.Datetime("us")).alias("naive"))
    out = everything.with_columns(geo=pl.col("ip").geoip.lookup(small.history, ["asn"], at="naive", on_error="null"))
    assert out.unnest("geo")["asn"].null_count() == len(addresses)


def test_bad_times(small):
    with pytest.raises(ValueError, match="^at: NaT is not a time"):
        pl.col("ip").geoip.lookup(small.history, at=np.datetime64("NaT"))  # checked before anything runs
    with pytest.raises(TypeError, match="^at: expected a time"):
        pl.col("ip").geoip.lookup(small.history, at=[1, 2])
    df = pl.DataFrame({"ip": ["10.0.0.1"], "text": ["2021-01-07"]})
    with pytest.raises(pl.exceptions.ColumnNotFoundError, match="ts"):
        df.lazy().with_columns(geo=pl.col("ip").geoip.lookup(small.history, at="ts")).collect_schema()
    with pytest.raises(TypeError, match="^at: expected times as an Arrow timestamp, date or integer"):
        df.with_columns(geo=pl.col("ip").geoip.lookup(small.history, at="text"))
