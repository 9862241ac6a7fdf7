"""Histories: many dated databases merged into one file that answers, at any time,
exactly as the one-date database in force then (the newest taken at or before it;
before the first, a miss).

The oracle is always the one-date databases themselves, asked without ``at``: the
snapshot in force at a time is worked out here with ``numpy.searchsorted`` over
snapshot times written down from the sources (a date in the file name, or the first
MRT record's time read with ``bz2``), never taken from the history.

1. Real tables of 2008 to 2016 from ../shared/data (ipasn, MRT RIBs, pfx2as), each
   with other registry files, against 1,000,000 random (address, time) pairs.
2. A synthetic churn series (seeded): prefixes added, withdrawn, re-originated,
   split and merged day by day, registry files changing on some days; also ``diff``
   against the tables' set difference, ``history`` expanded per snapshot,
   ``snapshots``, ``snapshot_at`` and ``add_snapshot``.
3. What a history answers without ``at``: the newest snapshot's database.
4. Bad input: each refused with an error naming the problem.
"""

from __future__ import annotations

import bz2
import csv
import io
import ipaddress
import pickle
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

import geoip_rs
from geoip_rs.cli import export as cli_export

pa = pytest.importorskip("pyarrow")

# ---- times ---------------------------------------------------------------------------

UTC = timezone.utc


def seconds(text: str) -> int:
    """Unix seconds of ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp())


def in_force(times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The index of the snapshot in force at each of ``at`` (Unix seconds) among
    snapshots taken at ``times`` (ascending): the newest at or before; -1 before all."""
    return np.searchsorted(times, at, side="right").astype(np.int32) - 1


def mrt_time(path: Path) -> int:
    """The Unix time in an MRT file's first record header (big-endian u32)."""
    with bz2.open(path) as f:
        return struct.unpack(">I", f.read(4))[0]


def random_times(rng: np.random.Generator, times: np.ndarray, n: int) -> np.ndarray:
    """``n`` Unix seconds: before the first snapshot (some before 1970), exactly at
    snapshot times and a second before them, between the first and the last, and
    after the last."""
    first, last = int(times[0]), int(times[-1])
    kinds = rng.choice(5, n, p=[0.1, 0.2, 0.1, 0.45, 0.15])
    at = np.empty(n, np.int64)
    for kind, lo, hi in [(0, -(10**9), first), (3, first, last), (4, last, last + 15 * 365 * 86_400)]:
        k = kinds == kind
        at[k] = rng.integers(lo, hi, k.sum())
    on = rng.choice(times, n)
    at[kinds == 1] = on[kinds == 1]
    at[kinds == 2] = on[kinds == 2] - 1
    return at


# ---- addresses -----------------------------------------------------------------------


def exported_prefixes(db: geoip_rs.Database) -> tuple[list[str], list[str]]:
    """The database's IPv4 and IPv6 prefixes as text, from its ipasn export."""
    buf = io.StringIO()
    cli_export(db, "ipasn", buf)
    v4, v6 = [], []
    for line in buf.getvalue().splitlines():
        if line and not line.startswith(";"):
            prefix = line.split("\t", 1)[0]
            (v6 if ":" in prefix else v4).append(prefix)
    return v4, v6


def v4_inside(rng: np.random.Generator, prefixes: list[str], n: int) -> np.ndarray:
    """``n`` uint32 IPv4 addresses, each at a random place in a random prefix."""
    pick = [prefixes[i].split("/") for i in rng.integers(0, len(prefixes), n)]
    net = np.frombuffer(b"".join(socket.inet_aton(a) for a, _ in pick), ">u4").astype(np.uint64)
    host = (np.uint64(1) << (32 - np.array([int(p) for _, p in pick], np.uint64))) - np.uint64(1)
    noise = rng.integers(0, 2**32, n, dtype=np.uint64)
    return (net | (noise & host)).astype(np.uint32)


def v6_inside(rng: np.random.Generator, prefixes: list[str], n: int) -> np.ndarray:
    """``n`` IPv6 addresses as an (n, 16) uint8 array, each inside a random prefix."""
    pick = [prefixes[i].split("/") for i in rng.integers(0, len(prefixes), n)]
    net = np.frombuffer(b"".join(socket.inet_pton(socket.AF_INET6, a) for a, _ in pick), np.uint8)
    net = net.reshape(n, 16)
    plen = np.array([int(p) for _, p in pick])
    bit = np.arange(128)
    mask = np.packbits(bit[None, :] < plen[:, None], axis=1)
    noise = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    return (net & mask) | (noise & ~mask)


def v4_text(a) -> str:
    return str(ipaddress.IPv4Address(int(a)))


def v6_text(a) -> str:
    return str(ipaddress.IPv6Address(bytes(a)))


def take(addresses, rows: np.ndarray):
    """The ``rows`` of a batch's addresses: a numpy array, an Arrow array or a list."""
    if isinstance(addresses, np.ndarray):
        return addresses[rows]
    if isinstance(addresses, (pa.Array, pa.ChunkedArray)):
        return addresses.take(pa.array(rows, pa.int64()))
    return [addresses[i] for i in rows]


# ---- the oracle: one-date databases per snapshot -----------------------------------


def expected_batch(dbs, snap: np.ndarray, addresses, **kw) -> dict:
    """``lookup_batch`` columns as the one-date databases answer them, row ``i`` by
    ``dbs[snap[i]]`` (a miss where ``snap[i]`` is -1: the row a null address gives),
    plus the ``snapshot`` and ``snapshot_time`` columns of the snapshot in force."""
    n = len(snap)
    miss = dbs[0].lookup_batch([None], **kw)
    out = {k: (np.empty(n, object) if isinstance(v, list) else np.empty(n, v.dtype)) for k, v in miss.items()}
    for k, v in miss.items():
        out[k][:] = v[0]
    for i, db in enumerate(dbs):
        rows = np.flatnonzero(snap == i)
        if len(rows):
            got = db.lookup_batch(take(addresses, rows), **kw)
            for k, v in got.items():
                if isinstance(v, list):
                    out[k][rows] = np.array(v + [None], object)[:-1]  # a list of Nones stays 1-D
                else:
                    assert v.dtype == out[k].dtype, k
                    out[k][rows] = v
    return out


def assert_batch_equal(got: dict, want: dict, snap: np.ndarray, times: np.ndarray) -> None:
    assert set(got) == set(want) | {"snapshot", "snapshot_time"}
    for k, w in want.items():
        g = got[k]
        if w.dtype == object:
            assert isinstance(g, list) and len(g) == len(w), k
            g = np.array(g + [None], object)[:-1]
        else:
            assert g.dtype == w.dtype, (k, g.dtype, w.dtype)
        bad = np.flatnonzero(g != w)
        assert len(bad) == 0, f"{k}: {len(bad)} rows differ, first {bad[:5]}: {g[bad[:5]]} != {w[bad[:5]]}"
    assert got["snapshot"].dtype == np.int32
    np.testing.assert_array_equal(got["snapshot"], snap)
    want_time = np.where(snap >= 0, times[np.maximum(snap, 0)], 0).astype("datetime64[s]")
    want_time[snap < 0] = np.datetime64("NaT")
    assert got["snapshot_time"].dtype == np.dtype("datetime64[s]")
    np.testing.assert_array_equal(got["snapshot_time"], want_time)


# ---- 1. real tables --------------------------------------------------------------------

IPASN08 = "ipasn/ipasn_20080501_v12.dat.gz"
IPASN14 = "ipasn/ipasn_20140513.dat.gz"
JINX = "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
PFX2AS14 = "pfx2as/routeviews-rv2-20141202-1200.pfx2as.gz"
RV6 = "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"
IPASN15 = "ipasn/ipasn6_20151101.dat.gz"
PFX2AS16 = "pfx2as/routeviews-rv2-20160202-1200.pfx2as.gz"
PFX2AS16_6 = "pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz"
AS2ORG17 = "as2org/20170401.as-org2info.txt.gz"
AS2ORG20 = "as2org/20200701.as-org2info.txt.gz"
RIPE = "rir/delegated-ripencc-20140803.gz"
APNIC = "rir/delegated-apnic-20140804.gz"
LACNIC = "rir/delegated-lacnic-20140801.gz"
AFRINIC = "rir/delegated-afrinic-20140630.gz"
AFRINIC23 = "rir/delegated-afrinic-extended-20230323.gz"
LACNIC23 = "rir/delegated-lacnic-extended-20230323.gz"
AFRINIC26 = "rir/delegated-afrinic-extended-20260505.gz"
NAMES_JSON = "asnames/asnames.json.gz"
NAMES_TXT = "asnames/asnames_20140524.txt.gz"

# Each snapshot: when (a date in a file name; None for an MRT file, whose first
# record tells), and its sources, the registry files varying from one to the next
# (a registry file's own date is not the data's: 2008 routing with 2014 names).
REAL = [
    ("2008-05-01", {"ipasn": IPASN08, "asnames": NAMES_TXT}),
    ("2014-05-13", {"ipasn": IPASN14, "as2org": AS2ORG17, "delegated": [RIPE, APNIC]}),
    (None, {"mrt": JINX, "asnames": NAMES_JSON, "delegated": [LACNIC, AFRINIC]}),
    ("2014-12-02", {"pfx2as": PFX2AS14, "as2org": AS2ORG20}),
    (None, {"mrt": RV6, "delegated": [AFRINIC23]}),
    ("2015-11-01", {"ipasn": IPASN15, "as2org": AS2ORG17, "delegated": [RIPE, LACNIC23], "asnames": NAMES_JSON}),
    ("2016-02-02", {"pfx2as": [PFX2AS16, PFX2AS16_6], "as2org": AS2ORG20, "delegated": [APNIC, AFRINIC26], "asnames": NAMES_TXT}),
]


@dataclass
class Series:
    """One-date databases (oldest first), the history of them all, their snapshot
    times (Unix seconds, from the sources) and their prefixes as text."""

    dbs: list
    history: geoip_rs.Database
    times: np.ndarray
    v4: list[str]
    v6: list[str]


def _paths(root: Path, spec):
    return [root / p for p in spec] if isinstance(spec, list) else root / spec


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Series:
    files = {p for _, spec in REAL for s in spec.values() for p in (s if isinstance(s, list) else [s])}
    root = require_shared(*sorted(files))
    folder = tmp_path_factory.mktemp("real_history")
    dbs, times = [], []
    for i, (when, spec) in enumerate(REAL):
        db = geoip_rs.build_database(folder / f"{i}.geoipdb", **{k: _paths(root, v) for k, v in spec.items()})
        dbs.append(db)
        times.append(seconds(when) if when else mrt_time(root / spec["mrt"]))
    order = np.random.default_rng(1).permutation(len(dbs))
    assert list(order) != sorted(order)
    history = geoip_rs.build_history(folder / "history.geoipdb", [dbs[i].path for i in order])
    v4, v6 = [], []
    for db in dbs:
        a, b = exported_prefixes(db)
        v4 += a
        v6 += b
    yield Series(dbs, history, np.array(times, np.int64), v4, v6)
    history.close()
    for db in dbs:
        db.close()


@pytest.fixture(scope="module")
def pairs(real):
    """1,000,000 (address, time) pairs: IPv4 uniform and inside announced prefixes
    (uint32), and IPv6 inside announced prefixes ((n, 16) uint8)."""
    rng = np.random.default_rng(20160202)
    v4 = np.concatenate([rng.integers(0, 2**32, 350_000, dtype=np.uint32), v4_inside(rng, real.v4, 350_000)])
    v4 = v4[rng.permutation(len(v4))]
    v6 = v6_inside(rng, real.v6, 300_000)
    return v4, random_times(rng, real.times, len(v4)), v6, random_times(rng, real.times, len(v6))


def test_real_snapshots(real):
    """The data times the databases give are those of their sources, and the
    history (built from them shuffled) holds them oldest first with their sources."""
    assert [int(seconds(db.metadata["data_time"])) for db in real.dbs] == real.times.tolist()
    assert (np.diff(real.times) > 0).all()
    h = real.history
    assert h.is_history and not any(db.is_history for db in real.dbs)
    snaps = h.snapshots
    assert [s["index"] for s in snaps] == list(range(len(REAL)))
    assert [s["time"] for s in snaps] == [datetime.fromtimestamp(t, UTC) for t in real.times]
    for s, db in zip(snaps, real.dbs):
        meta = db.metadata
        assert (s["sources"], s["built"], s["options"], s["counts"]) == (
            meta["sources"], meta["built"], meta["options"], meta["counts"])
    assert h.metadata["data_time"] == real.dbs[-1].metadata["data_time"]


def test_real_million_pairs(real, pairs):
    """Every one of 1,000,000 (address, time) pairs answered as the database in force
    then: IPv4 as uint32 with datetime64[s] times, IPv6 as (n, 16) uint8 with integer
    seconds."""
    v4, t4, v6, t6 = pairs
    assert len(v4) + len(v6) == 1_000_000
    for addresses, at in [(v4, t4.astype("datetime64[s]")), (v6, t6)]:
        secs = at.astype(np.int64)
        snap = in_force(real.times, secs)
        got = real.history.lookup_batch(addresses, at=at)
        assert_batch_equal(got, expected_batch(real.dbs, snap, addresses), snap, real.times)
        # A real mix: every snapshot answers some rows, and many rows are found.
        assert set(np.unique(snap)) == set(range(-1, len(real.dbs)))
        assert 0.25 < got["found"].mean() < 0.95
    # Snapshots that differ do answer differently (else the test would prove little).
    assert (real.history.lookup_batch(v4, at="2008-05-01")["asn"]
            != real.history.lookup_batch(v4, at="2016-02-02")["asn"]).mean() > 0.2


def mixed_text(pairs, n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """``n`` addresses as text, IPv4 and IPv6 shuffled together, with their times."""
    v4, t4, v6, t6 = pairs
    rng = np.random.default_rng(seed)
    i4, i6 = rng.choice(len(v4), n * 3 // 5, replace=False), rng.choice(len(v6), n - n * 3 // 5, replace=False)
    text = [v4_text(a) for a in v4[i4]] + [v6_text(a) for a in v6[i6]]
    at = np.concatenate([t4[i4], t6[i6]])
    order = rng.permutation(n)
    return [text[i] for i in order], at[order]


def test_real_arrow_strings_and_timestamps(real, pairs):
    """A mixed Arrow string column with an Arrow timestamp column (milliseconds, UTC):
    times round down to the second, so a millisecond before a snapshot is the one before."""
    text, secs = mixed_text(pairs, 100_000, seed=3)
    rng = np.random.default_rng(4)
    ms = secs * 1000 + rng.integers(0, 1000, len(secs))
    near = rng.random(len(ms)) < 0.1
    ms[near] = rng.choice(real.times, near.sum()) * 1000 - 1
    addresses = pa.array(text, pa.string())
    at = pa.array(ms, pa.timestamp("ms", tz="UTC"))
    snap = in_force(real.times, np.floor_divide(ms, 1000))
    got = real.history.lookup_batch(addresses, at=at)
    assert_batch_equal(got, expected_batch(real.dbs, snap, addresses), snap, real.times)
    # The millisecond before a snapshot is answered by the previous one.
    assert (snap[near] == np.searchsorted(real.times, np.floor_divide(ms[near] + 1, 1000)) - 1).all()


def test_real_details(real, pairs):
    """``details=True`` (the text columns) with datetime64[ns] times."""
    text, secs = mixed_text(pairs, 20_000, seed=5)
    rng = np.random.default_rng(6)
    ns = secs * 10**9 + rng.integers(0, 10**9, len(secs))
    ns[:1000] = rng.choice(real.times, 1000) * 10**9 - 1  # a nanosecond before a snapshot
    snap = in_force(real.times, np.floor_divide(ns, 10**9))
    got = real.history.lookup_batch(text, details=True, at=ns.astype("datetime64[ns]"))
    want = expected_batch(real.dbs, snap, text, details=True)
    assert {"prefix", "as_name", "org_id", "org_name", "registry"} <= set(want)
    assert_batch_equal(got, want, snap, real.times)
    names = np.array(got["as_name"], object)[got["found"]]
    assert (names != None).mean() > 0.5  # noqa: E711 - the registry sources are used


def arrow_rows(table) -> list[dict]:
    return pa.table(table).to_pylist()


def test_real_to_arrow(real, pairs):
    """``to_arrow(at=)``, times as a list of aware datetimes in several time zones:
    each row as the one-date database in force gives it; before the first snapshot
    the address alone."""
    text, secs = mixed_text(pairs, 20_000, seed=7)
    zones = [timezone(timedelta(hours=h)) for h in (0, 5.5, -8, 14)]
    at = [datetime.fromtimestamp(int(t), zones[i % 4]) for i, t in enumerate(secs)]
    snap = in_force(real.times, secs)
    got = pa.table(real.history.to_arrow(text, at=at))
    assert got.schema == pa.schema(geoip_rs.arrow_schema())
    want: list = [None] * len(text)
    for i, db in enumerate(real.dbs):
        rows = np.flatnonzero(snap == i)
        t = pa.table(db.to_arrow([text[r] for r in rows]))
        assert t.schema == got.schema
        for r, row in zip(rows, t.to_pylist()):
            want[r] = row
    for r in np.flatnonzero(snap < 0):
        want[r] = {name: (text[r] if name == "address" else None) for name in got.column_names}
    assert got.to_pylist() == want


def test_real_record_lookups(real, pairs):
    """``lookup``/``get`` with one time of every kind ``at`` takes, on 3,000 pairs."""
    v4, t4, v6, t6 = pairs
    h = real.history
    rng = np.random.default_rng(8)
    i4, i6 = rng.choice(len(v4), 2000, replace=False), rng.choice(len(v6), 1000, replace=False)
    cases = [(int(a), int(t)) for a, t in zip(v4[i4], t4[i4])]
    cases += [(ipaddress.IPv6Address(bytes(a)), int(t)) for a, t in zip(v6[i6], t6[i6])]
    ist = timezone(timedelta(hours=5, minutes=30))

    def as_time(t: int, kind: int):
        """``t`` in one of the forms ``at`` takes, and the second it means."""
        day = t - t % 86_400
        return [
            (t, t),
            (t + 0.75, t),
            (datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), t),
            (datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%d"), day),
            (datetime.fromtimestamp(t, UTC).replace(tzinfo=None), t),
            (datetime.fromtimestamp(t, ist), t),
            (datetime.fromtimestamp(day, UTC).date(), day),
            (np.datetime64(t, "s"), t),
            (np.datetime64(t * 10**9 + 999_999_999, "ns"), t),
        ][kind % 9]

    forms = [lambda a: str(ipaddress.ip_address(a)), lambda a: a, lambda a: ipaddress.ip_address(a).packed]
    hits = 0
    for k, (addr, t) in enumerate(cases):
        at, sec = as_time(t, k)
        s = int(in_force(real.times, np.array([sec]))[0])
        key = forms[k % 3](addr)
        want = real.dbs[s].lookup(key) if s >= 0 else None
        assert h.lookup(key, at=at) == want, (addr, at)
        hits += want is not None
        if k % 10 == 0:
            assert h.get(key, at=at) == want
            snap = h.snapshot_at(at)
            assert (snap and snap["index"]) == (s if s >= 0 else None)
    assert hits > 1000
