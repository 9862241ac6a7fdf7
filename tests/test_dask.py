"""``geoip_rs.dask.enrich`` on a real ``distributed.LocalCluster`` of two worker
processes (loopback only, no dashboard): every answer against ``Database.lookup``
on the same address, the database opened once per worker process whatever the
number of partitions, and the errors raised before anything is computed.
"""

from __future__ import annotations

import io
import os
import shutil
import time

import numpy as np
import pytest
import timedata
from clusterdata import MALFORMED, check_rows, mixed_addresses, record_columns, require
from dbfixtures import TINY_EXPECTED, TINY_UNROUTED

import geoip_rs

pd = require("pandas")
pa = require("pyarrow")
dd = require("dask.dataframe")
distributed = require("distributed")
cloudpickle = require("cloudpickle")
gdask = require("geoip_rs.dask")


@pytest.fixture(scope="module")
def client():
    # Worker processes inherit the environment (PYTHONPATH included), so they import
    # the same geoip_rs as this process.
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def sample():
    with geoip_rs.open(geoip_rs.sample_path()) as db:
        yield db


@pytest.fixture(scope="module")
def addresses(sample):
    return mixed_addresses(seed=20141)


def frame(addresses, index=None):
    return pd.DataFrame({"address": addresses, "n": range(len(addresses))}, index=index)


def plain_rows(df):
    """The rows as plain Python values (nulls as None, lists as lists)."""
    return pa.Table.from_pandas(df, preserve_index=False).to_pylist()


def opens_of(client, path) -> list[int]:
    """Each worker process's count of opens of ``path``."""
    return sorted(o.get(str(path), 0) for o in client.run(gdask._opens).values())


def databases_in(obj) -> list:
    """The ``Database`` objects pickling ``obj`` would send (the graph must hold
    paths only, or each task would open the file again)."""
    found = []

    class Spy(cloudpickle.Pickler):
        def reducer_override(self, o):
            if isinstance(o, geoip_rs.Database):
                found.append(o)
            return super().reducer_override(o)

    Spy(io.BytesIO()).dump(obj)
    return found


def test_records_equal_lookups(client, sample, addresses):
    ddf = dd.from_pandas(frame(addresses), npartitions=20)
    out = gdask.enrich(ddf, "address", sample.path)
    names = record_columns()
    assert list(out.columns) == ["address", "n", *names]
    got = out.compute()
    assert got["n"].tolist() == list(range(len(addresses)))
    # The meta, made without computing anything, is what the partitions hold.
    for c in names:
        if isinstance(out.dtypes[c], pd.CategoricalDtype):
            assert isinstance(got.dtypes[c], pd.CategoricalDtype), c
        else:
            assert got.dtypes[c] == out.dtypes[c], c
    assert str(out.dtypes["asn"]) == "uint32[pyarrow]"
    seen = check_rows(sample, addresses, plain_rows(got), names)
    assert seen["v4"] > 800 and seen["v6"] > 300 and seen["null"] > 40


def test_one_open_per_worker_process(client, sample, addresses, tmp_path):
    path = tmp_path / "copy.geoipdb"  # a path no worker has opened yet
    shutil.copy(sample.path, path)
    with geoip_rs.open(path) as db:
        assert databases_in({"db": db})  # the spy sees a Database where there is one
        out = gdask.enrich(dd.from_pandas(frame(addresses), npartitions=20), "address", db, ["asn"])
    graph = dict(out.__dask_graph__())
    assert databases_in(graph) == []
    assert str(path).encode() in cloudpickle.dumps(graph)
    for _ in range(2):  # 40 partitions in two computations
        check_rows(sample, addresses, plain_rows(out.compute()), ["asn"])
    assert opens_of(client, path) == [1, 1]


def test_columns_prefix_index_and_malformed_as_null(client, tiny):
    addresses = [*TINY_EXPECTED, *TINY_UNROUTED, *MALFORMED, None]
    for a in MALFORMED:
        with pytest.raises(ValueError):
            tiny.lookup(a)
    index = [f"row{i:02}" for i in range(len(addresses))]
    ddf = dd.from_pandas(frame(addresses, index=index), npartitions=4)
    names = ["asn", "origins", "org_name", "country", "country_source"]
    out = gdask.enrich(ddf, "address", tiny, names, on_error="null", prefix="geo_")
    assert list(out.columns) == ["address", "n", *("geo_" + n for n in names)]
    got = out.compute()
    assert got.index.tolist() == index
    rows = plain_rows(got)
    seen = check_rows(tiny, addresses, rows, names, prefix="geo_")
    assert seen["null"] == len(TINY_UNROUTED) + len(MALFORMED) + 1
    # and what the tiny database's sources say, worked out by hand
    by_address = {r["address"]: r for r in rows}
    for a, (asn, _, country, source, _, _, _, org_name) in TINY_EXPECTED.items():
        r = by_address[a]
        assert (r["geo_asn"], r["geo_country"], r["geo_country_source"], r["geo_org_name"]) == (
            asn, country, source, org_name)


def test_malformed_address_raises_by_default(client, sample):
    ddf = dd.from_pandas(frame(["8.8.8.8", None, "8.8.8.800"]), npartitions=1)
    with pytest.raises(ValueError, match="8.8.8.800"):
        gdask.enrich(ddf, "address", sample).compute()


def test_argument_errors_before_any_computation(sample):
    ddf = dd.from_pandas(frame(["8.8.8.8"]).assign(asn=1), npartitions=1)
    with pytest.raises(ValueError, match="no column 'addr'.*'address'"):
        gdask.enrich(ddf, "addr", sample, ["country"])
    with pytest.raises(ValueError, match="cuntry"):
        gdask.enrich(ddf, "address", sample, ["asn", "cuntry"])
    with pytest.raises(ValueError, match=r"already has column\(s\) \['asn'\]; pass prefix="):
        gdask.enrich(ddf, "address", sample, ["asn", "country"])
    with pytest.raises(ValueError, match="asked for twice"):
        gdask.enrich(ddf, "address", sample, ["country", "country"])
    with pytest.raises(ValueError, match="on_error"):
        gdask.enrich(ddf, "address", sample, ["country"], on_error="skip")
    with pytest.raises(TypeError, match="'country'"):
        gdask.enrich(ddf, "address", sample, "country")
    assert "geo_asn" in gdask.enrich(ddf, "address", sample, ["asn"], prefix="geo_").columns


def forgotten(client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
        assert time.monotonic() < deadline, "the scheduler still holds tasks"
        time.sleep(0.02)


def test_default_database_and_a_replaced_file(client, sample, tiny, tmp_path):
    addresses = ["8.8.8.8", "10.0.0.1", "2001:db8::1", "2001:4860::8888", None]
    ddf = dd.from_pandas(frame(addresses), npartitions=2)
    # conftest points the cache at an empty folder, so the default is the sample.
    assert geoip_rs.default_path() == geoip_rs.sample_path()
    check_rows(sample, addresses, plain_rows(gdask.enrich(ddf, "address").compute()), record_columns())
    path = tmp_path / "live.geoipdb"
    shutil.copy(sample.path, path)
    out = gdask.enrich(ddf, "address", path, ["asn", "org_name", "country"])
    check_rows(sample, addresses, plain_rows(out.compute()), ["asn", "org_name", "country"])
    # A rebuilt database put in its place (atomically, as build_database writes)
    # is opened again by the same graph; the old one is not served from the cache.
    shutil.copy(tiny.path, tmp_path / "next.geoipdb")
    os.replace(tmp_path / "next.geoipdb", path)
    # The same graph has the same keys: wait until the scheduler has let go of the
    # first run's results (it does so a moment after compute returns), so that the
    # second run computes rather than reusing them.
    forgotten(client)
    seen = check_rows(tiny, addresses, plain_rows(out.compute()), ["asn", "org_name", "country"])
    assert seen["v4"] == 1 and seen["v6"] == 1
    assert max(opens_of(client, path)) <= 2


# ---- at=: each row answered at its own time, against the one-date databases ----------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    history = timedata.build(tmp_path_factory.mktemp("dask_history"))
    yield history
    history.close()


def timed_frame(addresses, seconds):
    """Each time as naive UTC datetimes, tz-aware ones (the same instants, shown
    in Kolkata), integer seconds and the UTC date."""
    naive = pd.Series(seconds.astype("datetime64[s]")).astype("datetime64[ns]")
    return pd.DataFrame({
        "address": addresses,
        "n": range(len(addresses)),
        "naive": naive,
        "aware": naive.dt.tz_localize("UTC").dt.tz_convert("Asia/Kolkata").astype("datetime64[us, Asia/Kolkata]"),
        "secs": seconds,
        "day": pd.Series(timedata.dates(seconds), dtype=pd.ArrowDtype(pa.date32())),
    })


def test_rows_at_their_own_times(client, small):
    addresses, seconds = timedata.rows(400, seed=7)
    ddf = dd.from_pandas(timed_frame(addresses, seconds), npartitions=4)
    names = record_columns()
    for at, asked in [("naive", seconds), ("aware", seconds), ("secs", seconds),
                      ("day", timedata.day_start(seconds))]:
        out = gdask.enrich(ddf, "address", small.history, names, at=at, prefix="geo_")
        got = out.compute()
        assert got["n"].tolist() == list(range(len(addresses)))
        seen = timedata.check_rows_at(small, addresses, asked, plain_rows(got), names, prefix="geo_")
        assert seen["found"] > 100 and min(seen[s] for s in ("-1", "0", "1", "2")) > 40, (at, seen)


def test_null_times(client, small):
    addresses, seconds = timedata.rows(120, seed=8)
    df = timed_frame(addresses, seconds)
    null = np.arange(len(df)) % 7 == 3
    df.loc[null, "naive"] = pd.NaT
    df["secs"] = pd.array(np.where(null, 0, seconds), dtype="Int64")
    df.loc[null, "secs"] = pd.NA
    ddf = dd.from_pandas(df, npartitions=3)
    for at in ("naive", "secs"):
        with pytest.raises(ValueError, match=r"no time \(NaT or null\) at index"):
            gdask.enrich(ddf, "address", small.history, ["asn"], at=at).compute()
        out = gdask.enrich(ddf, "address", small.history, ["asn", "country"], at=at, on_error="null")
        seen = timedata.check_rows_at(small, addresses, seconds, plain_rows(out.compute()),
                                      ["asn", "country"], null=null)
        assert seen["found"] > 20


def test_time_argument_errors_before_any_computation(small):
    ddf = dd.from_pandas(timed_frame(["10.0.0.1"], np.array([0])).assign(text="2021-01-05", f=1.5),
                         npartitions=1)
    with pytest.raises(ValueError, match="no time column 'ts'.*'naive'"):
        gdask.enrich(ddf, "address", small.history, ["asn"], at="ts")
    for at in ("text", "f"):
        with pytest.raises(TypeError, match=f"time column '{at}' is of dtype"):
            gdask.enrich(ddf, "address", small.history, ["asn"], at=at)
