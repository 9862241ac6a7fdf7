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
import re
import socket
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import require_shared

import geoip_rs
from geoip_rs.cli import export as cli_export

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
    ``dbs[snap[i]]`` (a miss where ``snap[i]`` is -1: the row a null address gives)."""
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
    """A history's batch ``got`` is ``want`` (``expected_batch``) column by column,
    dtypes included, and its snapshot columns are ``snap`` and those snapshots' times."""
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
    assert [seconds(db.metadata["data_time"]) for db in real.dbs] == real.times.tolist()
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



def csv_origins(db) -> dict[str, str]:
    """``{prefix: origins}`` of a one-date database, from its CSV export."""
    buf = io.StringIO()
    cli_export(db, "csv", buf)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("prefix,asn,origins,")
    # The first three fields are never quoted: a prefix and numbers.
    return {p: o for p, _, o, _ in (line.split(",", 3) for line in lines[1:])}


def test_real_diff_multi_origin(real):
    """``diff`` between the two pfx2as tables (prefixes with several origins), both
    ways, against the set difference of the one-date databases' exports: a prefix
    whose origin list changes is ``changed`` even where its first origin stays."""
    old, new = csv_origins(real.dbs[3]), csv_origins(real.dbs[6])
    assert sum(" " in v for v in new.values()) > 1000
    want = {p: ("announced", None, new[p]) for p in new.keys() - old.keys()}
    want |= {p: ("withdrawn", old[p], None) for p in old.keys() - new.keys()}
    want |= {p: ("changed", old[p], new[p]) for p in old.keys() & new.keys() if old[p] != new[p]}
    back = {"announced": "withdrawn", "withdrawn": "announced", "changed": "changed"}
    text = lambda o: None if o is None else " ".join(map(str, o))  # noqa: E731
    for t1, t2, expected in [(real.times[3] + 1, real.times[6], want),
                             (real.times[6] + 86_400, real.times[3], {p: (back[k], n, o) for p, (k, o, n) in want.items()})]:
        d = real.history.diff(int(t1), int(t2), frame=False)
        assert len(set(d["prefix"])) == len(d["prefix"])
        got = {p: (k, text(oo), text(no)) for p, k, oo, no in zip(d["prefix"], d["kind"], d["old_origins"], d["new_origins"])}
        assert got == expected
        for o, n, oo, no in zip(d["old"], d["new"], d["old_origins"], d["new_origins"]):
            assert o == (oo[0] if oo else None) and n == (no[0] if no else None)
        assert sum(k == "changed" and o == n for k, o, n in zip(d["kind"], d["old"], d["new"])) > 100


def test_real_history_of_addresses(real, pairs):
    """``history(address)`` expanded per snapshot is each real table's lookup."""
    v4, _, v6, _ = pairs
    addresses = [v4_text(a) for a in v4[:150]] + [v6_text(a) for a in v6[:50]] + ["8.8.8.8", "2001:4860:4860::8888"]
    changing = 0
    for a in addresses:
        want = {i: r for i, db in enumerate(real.dbs) if (r := db.lookup(a)) is not None}
        runs = real.history.history(a)
        assert expand(runs, real.times) == want, a
        changing += len(runs) > 1
    assert changing > 50


# ---- 2. a synthetic churn series -------------------------------------------------------

DAYS = ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-05", "2021-01-09",
        "2021-01-10", "2021-01-20", "2021-02-01", "2021-03-01", "2022-01-01"]
# The routing changes every day but two: 2021-01-10 changes the registry files only,
# and 2021-01-20 changes nothing at all.
ROUTING_CHANGES = [False, True, True, True, True, False, False, True, True, True]
REGISTRY = [0, 0, 1, 1, 1, 2, 2, 2, 3, 3]  # the version of the registry files each day
V4_ROOTS = ["11.0.0.0/8", "45.0.0.0/8", "193.0.0.0/8"]
V6_ROOTS = ["2a01::/16", "2600::/16"]
COUNTRIES = ["DE", "NL", "FR", "GB", "IT", "SE", "PL", "ES", "JP", "BR"]


def sub_prefix(rng: np.random.Generator, net, longest: int):
    """A random prefix inside ``net``, 1 to 8 bits longer (at most ``longest``)."""
    length = min(net.prefixlen + int(rng.integers(1, 9)), longest)
    offset = int(rng.integers(0, 2 ** (length - net.prefixlen))) << (net.max_prefixlen - length)
    return type(net)((int(net.network_address) + offset, length))


class Churn:
    """Routing tables (``{network: asn}``) day by day: a base of nested prefixes, then
    prefixes added, withdrawn, announced again, re-originated (some back to their
    previous origin), split into their two halves and merged from them."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.asns = [int(a) for a in self.rng.choice(np.arange(1000, 400_000), 150, replace=False)]
        self.asns += [4_200_000_000 + i for i in range(10)]  # 32-bit ASNs
        table = {ipaddress.ip_network(p): self.asn() for p in V4_ROOTS + V6_ROOTS}
        for version, count in ((4, 2500), (6, 700)):
            keys = [n for n in table if n.version == version]
            while len(keys) < count:
                self.add(table, keys)
        self.tables = [table]
        self.gone: set = set()
        self.previous: dict = {}

    def asn(self) -> int:
        return self.asns[int(self.rng.integers(0, len(self.asns)))]

    def pick(self, table: dict, version: int, k: int) -> list:
        keys = [n for n in table if n.version == version]  # in insertion order: seeded
        return [keys[i] for i in self.rng.choice(len(keys), k, replace=False)]

    def add(self, table: dict, keys: list) -> None:
        """A prefix inside a random one of ``keys`` (appended to them)."""
        parent = keys[int(self.rng.integers(0, len(keys)))]
        net = sub_prefix(self.rng, parent, 28 if parent.version == 4 else 64)
        if net not in table:  # a third inherit their covering prefix's origin
            table[net] = table[parent] if self.rng.random() < 0.3 else self.asn()
            keys.append(net)

    def next_day(self, changes: bool) -> None:
        table = dict(self.tables[-1])
        for version, k in ((4, 40), (6, 10)) if changes else ():
            for net in self.pick(table, version, k):  # withdrawn
                self.gone.add((net, table.pop(net)))
            back = sorted(self.gone, key=str)
            for i in self.rng.choice(len(back), min(k // 4, len(back)), replace=False):
                net, asn = back[i]  # announced again, half of them by another AS
                if net not in table:
                    table[net] = asn if i % 2 else self.asn()
                    self.gone.discard(back[i])
            keys = [n for n in table if n.version == version]
            for _ in range(k):
                self.add(table, keys)
            for net in self.pick(table, version, k):  # re-originated
                old = table[net]
                table[net] = self.previous.get(net, self.asn()) if self.rng.random() < 0.3 else self.asn()
                self.previous[net] = old
            longest = 28 if version == 4 else 64
            for net in self.pick(table, version, k // 2):  # split into its halves
                halves = list(net.subnets())
                if net.prefixlen < longest and not any(h in table for h in halves):
                    asn = table.pop(net)
                    table[halves[0]], table[halves[1]] = asn, (asn if self.rng.random() < 0.5 else self.asn())
            merged = 0
            for net in self.pick(table, version, len(keys) // 2):  # merged into the covering prefix
                parent = net.supernet()
                halves = list(parent.subnets())
                if net == halves[0] and halves[1] in table and parent not in table and merged < k // 2:
                    asn = table.pop(halves[0])
                    del table[halves[1]]
                    table[parent] = asn
                    merged += 1
        self.tables.append(table)


def ipasn_text(table: dict) -> str:
    lines = [f"{net}\t{asn}\n" for net, asn in sorted(table.items(), key=lambda x: (x[0].version, str(x[0])))]
    return "; a synthetic day\n" + "".join(lines)


def delegated_text(registry: str, records: list[str]) -> str:
    """An RIR delegated file (version line, summary lines, records)."""
    head = f"2|{registry}|20210101|{len(records)}|19700101|20210101|+0000\n"
    kinds = sorted({r.split("|")[2] for r in records})
    summary = "".join(f"{registry}|*|{k}|*|{sum(r.split('|')[2] == k for r in records)}|summary\n" for k in kinds)
    return head + summary + "".join(r + "\n" for r in records)


def registry_files(folder: Path, version: int, asns: list[int]) -> dict[str, list[Path] | Path]:
    """The registry files of one version: RIR delegations of /10 (IPv4) and /20
    (IPv6) blocks of the roots and of some ASNs, in two registries (193.0.0.0/8 is
    APNIC's), CAIDA as2org and AS names; countries, holders and names change from one
    version to the next, and some blocks and ASes are in none."""
    ripe, apnic = [], []
    for root in V4_ROOTS + V6_ROOTS:
        net = ipaddress.ip_network(root)
        for i, block in enumerate(net.subnets(new_prefix=net.prefixlen + 2 if net.version == 4 else 20)):
            if (i + version) % 5 == 0:
                continue
            cc = COUNTRIES[(i * 3 + version) % len(COUNTRIES)]
            reg, out = ("apnic", apnic) if root.startswith("193.") else ("ripencc", ripe)
            size = block.num_addresses if block.version == 4 else block.prefixlen
            out.append(f"{reg}|{cc}|ipv{block.version}|{block.network_address}|{size}|20200101|allocated")
    for k, asn in enumerate(asns):
        if (k + version) % 3 == 0:
            ripe.append(f"ripencc|{COUNTRIES[(k + version) % len(COUNTRIES)]}|asn|{asn}|1|20200101|assigned")
    orgs = [f"ORG-{k}|20200101|Org {k} {'renamed ' * (k % 4 == version)}Ltd|"
            f"{'' if k % 7 == 0 else COUNTRIES[(k + version // 2) % len(COUNTRIES)]}|RIPE" for k in range(20)]
    aut = [f"{asn}|20200101|AS-{asn}-V{version % 2}|ORG-{(k + version) % 20}|RIPE"
           for k, asn in enumerate(asns) if (k + version) % 4 != 1]
    as2org = ("# format:org_id|changed|org_name|country|source\n" + "\n".join(orgs)
              + "\n# format:aut|changed|aut_name|org_id|source\n" + "\n".join(aut) + "\n")
    names = "".join(f"AS{asn} NAME{asn} - Name {asn}, {COUNTRIES[k % len(COUNTRIES)]}\n"
                    for k, asn in enumerate(asns) if (k + version) % 2 == 0)
    files = {}
    for kind, name, text in [("ripe", "delegated-ripencc-v", delegated_text("ripencc", ripe)),
                             ("apnic", "delegated-apnic-v", delegated_text("apnic", apnic)),
                             ("as2org", "as-org2info-v", as2org), ("asnames", "asnames-v", names)]:
        path = folder / f"{name}{version}.txt"
        path.write_text(text, encoding="utf-8")
        files[kind] = path
    return {"delegated": [files["ripe"], files["apnic"]], "as2org": files["as2org"], "asnames": files["asnames"]}


@dataclass
class Synthetic:
    """The churn series: each day's table, one-date database and time, and the
    history of them all."""

    tables: list[dict]
    dbs: list
    history: geoip_rs.Database
    times: np.ndarray
    folder: Path


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Synthetic:
    folder = tmp_path_factory.mktemp("synthetic_history")
    churn = Churn(seed=2021)
    for changes in ROUTING_CHANGES[1:]:
        churn.next_day(changes)
    registries = {v: registry_files(folder, v, churn.asns) for v in sorted(set(REGISTRY))}
    dbs = []
    for day, table, version in zip(DAYS, churn.tables, REGISTRY):
        src = folder / f"ipasn_{day.replace('-', '')}.dat"
        src.write_text(ipasn_text(table), encoding="ascii")
        dbs.append(geoip_rs.build_database(folder / f"day_{day}.geoipdb", ipasn=src, **registries[version]))
    order = np.random.default_rng(5).permutation(len(dbs))
    history = geoip_rs.build_history(folder / "history.geoipdb", [dbs[i] for i in order])
    yield Synthetic(churn.tables, dbs, history, np.array([seconds(d) for d in DAYS], np.int64), folder)
    history.close()
    for db in dbs:
        db.close()


def test_synthetic_series_is_churn(synth):
    """The series has what it claims: every kind of change on the days that change,
    none on the two that do not (guards the generator, not the library)."""
    t = synth.tables
    for a, b, changes in zip(t, t[1:], ROUTING_CHANGES[1:]):
        assert (a == b) != changes
        if changes:
            gone, new = a.keys() - b.keys(), b.keys() - a.keys()
            assert len(gone) > 20 and len(new) > 20
            assert sum(a[n] != b[n] for n in a.keys() & b.keys()) > 20
            assert any(h in new for n in gone for h in n.subnets()), "no split"
            assert any(n.supernet() in new for n in gone), "no merge"
    everything = set().union(*t)
    nested = sum(n.supernet() in everything or n.supernet().supernet() in everything for n in everything)
    assert nested > 500 and len(t[0]) == 3200


def synthetic_pairs(synth: Synthetic, n: int, seed: int):
    """``n`` IPv4 and ``n // 2`` IPv6 (address, time) pairs: inside the prefixes of
    every day, and (IPv4) anywhere in the roots."""
    rng = np.random.default_rng(seed)
    everything = set().union(*synth.tables)
    v4 = sorted(str(p) for p in everything if p.version == 4)
    v6 = sorted(str(p) for p in everything if p.version == 6)
    a4 = np.concatenate([v4_inside(rng, v4, n - n // 4), v4_inside(rng, V4_ROOTS, n // 4)])
    a6 = v6_inside(rng, v6, n // 2)
    return a4, random_times(rng, synth.times, len(a4)), a6, random_times(rng, synth.times, len(a6))


def test_synthetic_batches(synth):
    """Batches with details at every kind of time, as each day's database answers."""
    a4, t4, a6, t6 = synthetic_pairs(synth, 100_000, seed=1)
    for addresses, at in [(a4, t4.astype("datetime64[s]")), (a6, t6)]:
        snap = in_force(synth.times, at.astype(np.int64))
        got = synth.history.lookup_batch(addresses, details=True, at=at)
        assert_batch_equal(got, expected_batch(synth.dbs, snap, addresses, details=True), snap, synth.times)
        # Every country source occurs (the registry files are used), and no country.
        assert set(got["country_source"][got["found"]]) == {b"as2org", b"rir-prefix", b"rir-asn", b"asname", b""}
    # Days (numpy datetime64[D], Arrow date32): in force from their midnight.
    days = (t4 // 86_400).astype("datetime64[D]")
    snap = in_force(synth.times, (t4 // 86_400) * 86_400)
    want = expected_batch(synth.dbs, snap, a4)
    for at in (days, pa.array(days, pa.date32())):
        assert_batch_equal(synth.history.lookup_batch(a4, at=at), want, snap, synth.times)
    # Arrow timestamps are instants whatever their time zone.
    snap = in_force(synth.times, t4)
    at = pa.array(t4, pa.timestamp("s", tz="Asia/Kolkata"))
    assert_batch_equal(synth.history.lookup_batch(a4, at=at), expected_batch(synth.dbs, snap, a4), snap, synth.times)


def test_synthetic_records_and_to_arrow(synth):
    """``lookup`` records, ``to_arrow`` rows (text or Arrow addresses) and
    ``to_pandas`` at one time per address, as each day's database answers."""
    a4, t4, a6, t6 = synthetic_pairs(synth, 2000, seed=2)
    text = [v4_text(a) for a in a4] + [v6_text(a) for a in a6]
    secs = np.concatenate([t4, t6])
    snap = in_force(synth.times, secs)
    want = [synth.dbs[s].lookup(a) if s >= 0 else None for a, s in zip(text, snap)]
    assert [synth.history.lookup(a, at=int(t)) for a, t in zip(text, secs)] == want
    assert sum(w is not None for w in want) > 1500
    rows = pa.table(synth.history.to_arrow(text, at=pa.array(secs, pa.int64()))).to_pylist()
    assert pa.table(synth.history.to_arrow(pa.array(text), at=secs)).to_pylist() == rows  # Arrow addresses
    frame = synth.history.to_pandas(text, at=pd.Series(secs.astype("datetime64[s]")).dt.tz_localize("UTC"))
    assert [None if x is pd.NA else x for x in frame["asn"].astype(object)] == [None if w is None else w.asn for w in want]
    for a, w, row in zip(text, want, rows):
        if w is None:
            assert row == {k: (a if k == "address" else None) for k in row}
        else:
            assert row == {**w.to_dict(), "address": a, "prefix": str(w.prefix),
                           "prefix_len": w.prefix.prefixlen, "origins": list(w.origins)}


def test_synthetic_snapshots(synth):
    h = synth.history
    snaps = h.snapshots
    assert [s["time"] for s in snaps] == [datetime.fromisoformat(d).replace(tzinfo=UTC) for d in DAYS]
    for s, db, day in zip(snaps, synth.dbs, DAYS):
        assert s["sources"] == db.metadata["sources"]
        assert s["sources"][0]["name"] == f"ipasn_{day.replace('-', '')}.dat"
        assert s["counts"] == db.metadata["counts"]
    for i, t in enumerate(synth.times):
        for at, offset in [(int(t), 0), (int(t) + 3600, 3600), (datetime.fromtimestamp(t, UTC) - timedelta(seconds=1), None)]:
            got = h.snapshot_at(at)
            if offset is None:  # a second before snapshot i: the one before, or none
                assert got == (None if i == 0 else {"index": i - 1, "time": snaps[i - 1]["time"],
                                                      "age": snaps[i]["time"] - snaps[i - 1]["time"] - timedelta(seconds=1)})
            else:
                assert got == {"index": i, "time": snaps[i]["time"], "age": timedelta(seconds=offset)}
    assert h.snapshot_at("2100-01-01")["index"] == len(DAYS) - 1


def expected_diff(a: dict, b: dict) -> dict:
    """``{prefix: (kind, old, new)}`` from two tables' set difference."""
    out = {str(n): ("announced", None, b[n]) for n in b.keys() - a.keys()}
    out |= {str(n): ("withdrawn", a[n], None) for n in a.keys() - b.keys()}
    out |= {str(n): ("changed", a[n], b[n]) for n in a.keys() & b.keys() if a[n] != b[n]}
    return out


def test_synthetic_diff(synth):
    """``diff`` between any two days (also at times between snapshots) is the set
    difference of their tables; with ``frame=True`` a DataFrame of the same rows."""
    h, t = synth.history, synth.times
    for i in range(len(DAYS)):
        for j in range(len(DAYS)):
            d = h.diff(int(t[i]) + 7200, DAYS[j], frame=False)
            assert len(set(d["prefix"])) == len(d["prefix"])
            got = {p: (k, o, n) for p, k, o, n in zip(d["prefix"], d["kind"], d["old"], d["new"])}
            assert got == expected_diff(synth.tables[i], synth.tables[j]), (i, j)
            for o, n, oo, no in zip(d["old"], d["new"], d["old_origins"], d["new_origins"]):
                assert oo == (None if o is None else [o]) and no == (None if n is None else [n])
            assert (len(got) == 0) == (synth.tables[i] == synth.tables[j])
    frame = h.diff(DAYS[2], DAYS[3])
    assert list(frame.columns) == ["prefix", "kind", "old", "new", "old_origins", "new_origins"]
    want = expected_diff(synth.tables[2], synth.tables[3])
    assert len(frame) == len(want) and set(frame["kind"].cat.categories) == {"announced", "withdrawn", "changed"}
    for row in frame.itertuples():
        kind, old, new = want[row.prefix]
        assert (row.kind, None if old is None else int(old), None if new is None else int(new)) == (kind, old, new)
        assert (row.old is pd.NA) == (old is None)
    with pytest.raises(ValueError, match="no snapshot at"):
        h.diff("2020-12-31", DAYS[0])


def csv_rows(db) -> dict[str, dict]:
    """A one-date database's prefixes' records, by prefix, from its CSV export."""
    buf = io.StringIO()
    cli_export(db, "csv", buf)
    return {r["prefix"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}


def expand(runs: list, times: np.ndarray) -> dict[int, object]:
    """``{snapshot: record}`` from ``history``'s ``(start, end, record)`` runs, which
    are checked to be in order, whole snapshots, and maximal."""
    stamps = [datetime.fromtimestamp(t, UTC) for t in times]
    out = {}
    for k, (start, end, record) in enumerate(runs):
        first = stamps.index(start)
        last = len(stamps) - 1 if end is None else stamps.index(end) - 1
        assert first <= last
        if k:
            prev_start, prev_end, prev_record = runs[k - 1]
            assert prev_end is not None and prev_end <= start
            assert prev_end < start or prev_record != record, "two runs with one record touch"
        for s in range(first, last + 1):
            out[s] = record
    return out


def test_synthetic_history_of_addresses(synth):
    """``history(address)``, expanded to one record per snapshot, is each day's
    lookup (gaps where it is not routed)."""
    a4, _, a6, _ = synthetic_pairs(synth, 300, seed=3)
    addresses = [v4_text(a) for a in a4] + [v6_text(a) for a in a6]
    runs_seen = registry_only = 0
    day5 = datetime.fromisoformat(DAYS[5]).replace(tzinfo=UTC)
    for a in addresses:
        runs = synth.history.history(a)
        want = {i: r for i, db in enumerate(synth.dbs) if (r := db.lookup(a)) is not None}
        assert expand(runs, synth.times) == want, a
        runs_seen += len(runs) > 1
        # A run ends where only the registry files changed (2021-01-10), not where
        # nothing did (2021-01-20).
        registry_only += any(s == day5 for s, _, _ in runs[1:])
        assert all(s != datetime.fromisoformat(DAYS[6]).replace(tzinfo=UTC) for s, _, _ in runs)
    assert runs_seen > 100 and registry_only > 20
    frame = synth.history.history(addresses[0], frame=True)
    runs = synth.history.history(addresses[0])
    assert list(frame.columns[:2]) == ["start", "end"] and len(frame) == len(runs)
    assert [r.asn for _, _, r in runs] == frame["asn"].tolist()


def test_synthetic_history_of_prefixes(synth):
    """``history(prefix)``, expanded per snapshot, holds the snapshots in which
    exactly that prefix is routed, with its record as the day's export gives it."""
    exports = [csv_rows(db) for db in synth.dbs]
    everything = sorted(set().union(*synth.tables), key=str)
    rng = np.random.default_rng(4)
    chosen = [everything[i] for i in rng.choice(len(everything), 600, replace=False)]
    chosen += [ipaddress.ip_network("11.0.0.0/7", strict=False), ipaddress.ip_network("203.0.113.0/24")]
    for net in chosen:
        got = expand(synth.history.history(str(net)), synth.times)
        assert set(got) == {i for i, t in enumerate(synth.tables) if net in t}, net
        for i, record in got.items():
            row = {k: ("" if v is None else str(v)) for k, v in record.to_dict().items()}
            row["origins"] = " ".join(str(o) for o in record.origins)
            assert record.address == net.network_address and record.prefix == net
            assert record.asn == synth.tables[i][net]
            assert {k: row[k] for k in exports[i][str(net)]} == exports[i][str(net)], (net, i)
            at_start = synth.dbs[i].lookup(net.network_address)
            if at_start.prefix == net:
                assert record == at_start
    assert synth.history.history(ipaddress.ip_network("11.0.0.0/8")) != []


def test_add_snapshot_day_by_day(synth, tmp_path):
    """A history grown one day at a time (``add_snapshot`` on a file that does not
    exist yet, then on itself) answers as the databases added so far, and in the
    end as the history built at once."""
    path = tmp_path / "grown.geoipdb"
    a4, t4, a6, t6 = synthetic_pairs(synth, 20_000, seed=5)
    for k, db in enumerate(synth.dbs):
        grown = geoip_rs.add_snapshot(path, db.path)
        assert [s["time"] for s in grown.snapshots] == [datetime.fromtimestamp(t, UTC) for t in synth.times[:k + 1]]
        snap = in_force(synth.times[:k + 1], t4)
        got = grown.lookup_batch(a4, details=True, at=t4)
        assert_batch_equal(got, expected_batch(synth.dbs[:k + 1], snap, a4, details=True), snap, synth.times)
        grown.close()
    with geoip_rs.open(path) as grown:
        assert grown.is_history
        assert grown.snapshots == synth.history.snapshots
        for addresses, at in [(a4, t4), (a6, t6)]:
            got, want = grown.lookup_batch(addresses, details=True, at=at), synth.history.lookup_batch(addresses, details=True, at=at)
            assert got.keys() == want.keys()
            for key in got:
                assert np.array_equal(np.asarray(got[key], object), np.asarray(want[key], object)), key
        for i in range(len(DAYS) - 1):
            assert grown.diff(DAYS[i], DAYS[i + 1], frame=False) == synth.history.diff(DAYS[i], DAYS[i + 1], frame=False)
        for a in [v4_text(a) for a in a4[:200]]:
            assert grown.history(a) == synth.history.history(a)


def test_history_of_histories(synth, tmp_path):
    """Two histories of interleaved days merged into one: the history of all days."""
    even = geoip_rs.build_history(tmp_path / "even.geoipdb", synth.dbs[0::2])
    odd = geoip_rs.build_history(tmp_path / "odd.geoipdb", synth.dbs[1::2])
    both = geoip_rs.build_history(tmp_path / "both.geoipdb", [odd, even])
    assert both.snapshots == synth.history.snapshots
    a4, t4, a6, t6 = synthetic_pairs(synth, 20_000, seed=7)
    for addresses, at in [(a4, t4), (a6, t6)]:
        snap = in_force(synth.times, at)
        got = both.lookup_batch(addresses, details=True, at=at)
        assert_batch_equal(got, expected_batch(synth.dbs, snap, addresses, details=True), snap, synth.times)
    for db in (even, odd, both):
        db.close()


def test_add_snapshot_out_of_order(synth, tmp_path):
    """An older day added to a history takes its place by time."""
    path = tmp_path / "h.geoipdb"
    geoip_rs.build_history(path, [synth.dbs[i] for i in (0, 3, 9)]).close()
    h = geoip_rs.add_snapshot(path, synth.dbs[5])
    assert [s["sources"] for s in h.snapshots] == [synth.dbs[i].metadata["sources"] for i in (0, 3, 5, 9)]
    assert h.lookup("11.0.0.1", at=DAYS[6]) == synth.dbs[5].lookup("11.0.0.1")
    h.close()


# ---- 3. a history without at: its newest snapshot ------------------------------------


def test_real_newest_snapshot_queries(real):
    """Without ``at``, a history is its newest snapshot's database: length,
    iteration, ``in``, covering, covered, prefixes, as_info, as_sizes, summaries and
    lookups."""
    h, newest, oldest = real.history, real.dbs[-1], real.dbs[0]
    assert len(h) == len(newest) != len(real.dbs[-2])
    n = 0
    for a, b in zip(h, newest, strict=True):
        assert a == b
        n += 1
    assert n == len(newest)
    rng = np.random.default_rng(9)
    nets = [ipaddress.ip_network(real.v4[i]) for i in rng.choice(len(real.v4), 1500, replace=False)]
    nets += [ipaddress.ip_network(real.v6[i]) for i in rng.choice(len(real.v6), 500, replace=False)]
    absent = 0
    for net in nets:
        covering = newest.covering(net)
        assert h.covering(net) == covering, net
        absent += all(p != net for p, _ in covering)
        assert (net.network_address in h) == (net.network_address in newest)
    assert absent > 100  # prefixes of older snapshots only are among them
    for net in [n.supernet(new_prefix=max(n.prefixlen - 4, 0)) for n in nets[::40]] + [ipaddress.ip_network("193.0.0.0/8")]:
        assert h.covered(net) == newest.covered(net), net
    asns = [int(a) for db in (oldest, newest) for a in rng.choice(sorted(db.as_sizes()), 400, replace=False)]
    for asn in asns + [0, 4_294_967_295]:
        assert h.as_info(asn) == newest.as_info(asn), asn
    for asn in asns[::20] + [3356, 15169]:  # prefixes() scans every prefix: 10-20 ms a call
        assert h.prefixes(asn) == newest.prefixes(asn), asn
    assert h.as_sizes() == newest.as_sizes()
    for by in ("asn", "country"):
        assert h.summary(by, frame=False) == newest.summary(by, frame=False)
    assert h.summary().equals(newest.summary())
    v4 = rng.integers(0, 2**32, 50_000, dtype=np.uint32)
    got, want = h.lookup_batch(v4, details=True), newest.lookup_batch(v4, details=True)
    assert got.keys() == want.keys()
    for k in got:
        assert np.array_equal(np.asarray(got[k], object), np.asarray(want[k], object)), k
    assert h.lookup("8.8.8.8") == newest.lookup("8.8.8.8") != oldest.lookup("8.8.8.8")
    meta = h.metadata
    assert (meta["sources"], meta["data_time"]) == (newest.metadata["sources"], newest.metadata["data_time"])


def cli(*args) -> str:
    p = subprocess.run([sys.executable, "-m", "geoip_rs", *map(str, args)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("fmt", ["ipasn", "csv"])
def test_synthetic_export_is_the_newest(synth, fmt):
    """``geoip-rs export`` of a history writes its newest snapshot's prefixes: the
    one-date database's export but for the build time in the ipasn header."""
    got, want = (cli("export", path, "--format", fmt).splitlines() for path in (synth.history.path, synth.dbs[-1].path))
    built = [line for line in got if line.startswith("; exported by")]
    assert len(built) == (fmt == "ipasn")
    if built:
        assert built[0].endswith(f"from a database built {synth.history.metadata['built']}")
    assert [x for x in got if x not in built] == [x for x in want if not x.startswith("; exported by")]
    assert len(got) - (8 if fmt == "ipasn" else 1) > 0.9 * len(synth.tables[-1])
    rows = got[1:] if fmt == "csv" else [x for x in got if not x.startswith(";")]
    assert {r.split(",")[0] if fmt == "csv" else r.split("\t")[0] for r in rows} == {str(n) for n in synth.tables[-1]}


def test_synthetic_iteration_and_summary(synth):
    h, newest = synth.history, synth.dbs[-1]
    assert list(h) == list(newest) == sorted(synth.tables[-1].items(), key=lambda x: (x[0].version, x[0]))
    assert len(h) == len(synth.tables[-1])
    for by in ("asn", "country"):
        assert h.summary(by, frame=False) == newest.summary(by, frame=False)
    for asn in synth.dbs[0].as_sizes():
        assert h.as_info(asn) == newest.as_info(asn) and h.prefixes(asn) == newest.prefixes(asn)


def test_history_pickles_as_its_path(synth):
    h = synth.history
    data = pickle.dumps(h)
    assert h.path.encode() in data and len(data) < len(h.path) + 200
    copy = pickle.loads(data)
    try:
        assert type(copy) is type(h) and copy.path == h.path and copy.is_history
        assert copy.snapshots == h.snapshots
        at = np.array(synth.times) + 1
        for a in ["11.0.0.1", "45.1.2.3", "2a01::1"]:
            assert copy.history(a) == h.history(a)
            assert [copy.lookup(a, at=int(t)) for t in at] == [h.lookup(a, at=int(t)) for t in at]
    finally:
        copy.close()


def test_history_context_manager(synth):
    with geoip_rs.open(synth.history.path) as h:
        assert h.lookup("11.0.0.1", at=DAYS[2]) == synth.dbs[2].lookup("11.0.0.1")
    assert h.closed
    for use in [lambda: h.lookup("11.0.0.1", at=DAYS[2]), lambda: h.lookup_batch(["11.0.0.1"], at=DAYS[2]),
                lambda: h.snapshots, lambda: h.snapshot_at(DAYS[2]), lambda: h.history("11.0.0.1"),
                lambda: h.diff(DAYS[0], DAYS[1]), lambda: h.is_history, lambda: len(h)]:
        with pytest.raises(ValueError, match="closed"):
            use()
    assert not synth.history.closed  # another handle on the same file is unaffected


def test_one_date_database_at(synth):
    """A one-date database is one snapshot, taken at its data time: before it every
    answer is a miss, from it on the database's own."""
    db, t = synth.dbs[3], int(synth.times[3])
    assert not db.is_history
    assert [s["time"] for s in db.snapshots] == [datetime.fromtimestamp(t, UTC)]
    assert db.snapshots[0]["sources"] == db.metadata["sources"]
    a4, _, a6, _ = synthetic_pairs(synth, 2000, seed=6)
    text = [v4_text(a) for a in a4] + [v6_text(a) for a in a6]
    for a in text[:300]:
        own = db.lookup(a)
        assert db.lookup(a, at=t - 1) is None and db.get(a, at=DAYS[2]) is None
        assert db.lookup(a, at=t) == db.lookup(a, at="2100-01-01") == own
        assert db.history(a) == ([] if own is None else [(datetime.fromtimestamp(t, UTC), None, own)])
    before = db.lookup_batch(a4, at=t - 1)
    assert not before["found"].any() and (before["snapshot"] == -1).all()
    after, own = db.lookup_batch(a4, at=np.full(len(a4), t + 86_400 * 400)), db.lookup_batch(a4)
    assert own["found"].mean() > 0.5 and (after["snapshot"] == 0).all()
    for k in own:
        np.testing.assert_array_equal(after[k], own[k])
    assert db.snapshot_at(t - 1) is None and db.snapshot_at(t + 60)["age"] == timedelta(seconds=60)
    assert db.diff(t, t + 1, frame=False)["prefix"] == []


# ---- 4. bad input ----------------------------------------------------------------------

BAD_TIMES = [
    (True, TypeError, "got bool"),
    ({"at": 1}, TypeError, "got dict"),
    (object(), TypeError, "got object"),
    (float("nan"), ValueError, "NaN is not a time"),
    (float("-inf"), ValueError, "inf is not a time"),
    (np.datetime64("NaT"), ValueError, "NaT is not a time"),
    (np.datetime64("NaT", "ns"), ValueError, "NaT is not a time"),
    ("2021-13-01", ValueError, '"2021-13-01" is not a date'),
    ("2021-02-29", ValueError, "is not a date"),  # not a leap year
    ("1 Jan 2021", ValueError, "is not a date"),
    ("2021-01-01T25:00:00Z", ValueError, "is not a date"),
    ("", ValueError, "is not a date"),
]


@pytest.mark.parametrize("at, error, message", BAD_TIMES, ids=[repr(b[0])[:24] for b in BAD_TIMES])
def test_bad_time(synth, at, error, message):
    """One bad time, wherever ``at`` is taken: an error that says it is ``at``."""
    h = synth.history
    calls = [
        lambda: h.lookup("11.0.0.1", at=at),
        lambda: h.get("11.0.0.1", at=at),
        lambda: h.lookup_batch(["11.0.0.1"], at=at),
        lambda: h.to_arrow(np.array([1], np.uint32), at=at),
        lambda: h.snapshot_at(at),
        lambda: h.diff(DAYS[0], at),
        lambda: synth.dbs[0].lookup("11.0.0.1", at=at),  # a one-date database too
    ]
    for call in calls:
        with pytest.raises(error, match=f"^at: .*{message}"):
            call()


def _addresses(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.uint32) + (11 << 24)


BAD_TIME_ARRAYS = [
    (np.zeros((4, 1), "datetime64[s]"), "expected a 1-D array of times, got 2 dimensions"),
    (np.array([[1, 2], [3, 4]]), "got 2 dimensions"),
    (np.array(["2021-01-01", "2021-01-02", "2021-01-03", "NaT"], "datetime64[D]"), "no time \\(NaT or null\\) at index 3"),
    (np.array(["2021-01-01", "NaT", "2021-01-03", "2021-01-04"], "datetime64[ns]"), "at index 1"),
    (pa.array([1, 2, None, 4], pa.timestamp("s")), "no time \\(NaT or null\\) at index 2"),
    (pa.chunked_array([[1, 2], [3, None]], pa.timestamp("ms", tz="UTC")), "at index 3"),
    (pa.array([date(2021, 1, 1), None, None, None], pa.date32()), "at index 1"),
    (np.arange(3), "3 times for 4 addresses"),
    (np.arange(5).astype("datetime64[s]"), "5 times for 4 addresses"),
    (pa.array([1, 2, 3], pa.timestamp("s")), "3 times for 4 addresses"),
    (["2021-01-01"] * 5, "5 times for 4 addresses"),
    ([], "0 times for 4 addresses"),
    (["2021-01-01", None, "2021-01-01", "2021-01-01"], "None is not a time \\(at index 1\\)"),
    (np.array([1.5e9, np.nan, 1.5e9, 1.5e9]), "at index 1 is not a time"),
    (np.array([2**64 - 1, 0, 0, 0], np.uint64), "at index 0 is not a time or out of range"),
]


@pytest.mark.parametrize("at, message", BAD_TIME_ARRAYS, ids=range(len(BAD_TIME_ARRAYS)))
def test_bad_times_per_address(synth, at, message):
    """Times per address that cannot be used: a ValueError saying why (and which row)."""
    h = synth.history
    for call in [lambda: h.lookup_batch(_addresses(4), at=at), lambda: h.lookup_batch(pa.array(["11.0.0.1"] * 4), at=at),
                 lambda: h.to_arrow(_addresses(4), at=at), lambda: h.to_pandas(["11.0.0.1"] * 4, at=at)]:
        with pytest.raises(ValueError, match=f"^at: .*{message}"):
            call()


def test_times_of_other_types_are_type_errors(synth):
    h = synth.history
    with pytest.raises(TypeError, match="^at: expected datetime64 or number .*got a \\|S1 array"):
        h.lookup_batch(_addresses(2), at=np.array([b"x", b"y"]))
    with pytest.raises(TypeError, match="^at: expected times as an Arrow timestamp, date or integer"):
        h.lookup_batch(_addresses(4), at=pa.array(["2021-01-01"] * 4))
    with pytest.raises(TypeError, match="^at: expected a time .*got list"):
        h.lookup("11.0.0.1", at=[DAYS[0]])  # one address, one time


def craft_version(src: str, dst: Path, version: int) -> None:
    """A copy of a database file with another format version in its header (the u32
    at byte 8) and the checksum (the u32 at byte 24: CRC-32 of every other byte of
    the file) made right again, so that only the version is wrong."""
    data = bytearray(Path(src).read_bytes())
    data[8:12] = struct.pack("<I", version)
    data[24:28] = struct.pack("<I", zlib.crc32(bytes(data[:24]) + bytes(data[28:])))
    dst.write_bytes(bytes(data))


def test_build_history_bad_inputs(synth, tmp_path):
    """Each input a history cannot be made of: an error naming the file and what is
    wrong with it; the output is not written, nor an existing one replaced."""
    good, other = synth.dbs[0].path, synth.dbs[1].path
    undated_src = tmp_path / "undated.dat"
    undated_src.write_text("11.0.0.0/8\t64500\n")
    undated = geoip_rs.build_database(tmp_path / "undated.geoipdb", ipasn=undated_src)
    assert undated.metadata["data_time"] is None
    same_day = tmp_path / "ipasn_20210101.dat"
    same_day.write_text("45.0.0.0/8\t64501\n")
    same = geoip_rs.build_database(tmp_path / "same.geoipdb", ipasn=same_day)
    v1 = tmp_path / "version1.geoipdb"
    craft_version(good, v1, 1)
    recrafted = tmp_path / "version2.geoipdb"
    craft_version(good, recrafted, 2)  # the checksum is made right: the file is sound
    with geoip_rs.open(recrafted) as db:
        assert db.lookup("11.0.0.1") == synth.dbs[0].lookup("11.0.0.1")
    corrupt = tmp_path / "corrupt.geoipdb"
    data = bytearray(Path(good).read_bytes())
    data[len(data) // 2] ^= 0x10
    corrupt.write_bytes(bytes(data))
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")

    out = tmp_path / "out.geoipdb"
    q = lambda p: re.escape(str(p))  # noqa: E731
    cases = [
        ([good, undated.path], rf"^{q(undated.path)}: no date"),
        ([good, same.path], rf"^{q(same.path)}: its data is of 2021-01-01, as is that of {q(good)}"),
        ([other, v1], rf"^{q(v1)}: format version 1, this geoip_rs reads versions 2 \(one date\), 3 \(history\) and 4 \(a compiled MMDB file\)"),
        ([corrupt, other], rf"^{q(corrupt)}: checksum mismatch"),
        ([text], rf"^{q(text)}: not a geoip_rs database"),
        ([], rf"^{q(out)}: no snapshots"),
    ]
    for inputs, message in cases:
        with pytest.raises(geoip_rs.DatabaseError, match=message):
            geoip_rs.build_history(out, inputs)
        assert not out.exists()
    missing = tmp_path / "missing.geoipdb"
    with pytest.raises(FileNotFoundError) as e:
        geoip_rs.build_history(out, [good, missing])
    assert e.value.filename == str(missing) and str(missing) in str(e.value)
    with pytest.raises(geoip_rs.DatabaseError, match="format version 1"):
        geoip_rs.open(v1)
    # A failed build leaves an existing file as it was.
    geoip_rs.build_history(out, [good, other]).close()
    before = out.read_bytes()
    for inputs in ([good, same.path], [good, missing], [out, undated.path]):
        with pytest.raises((geoip_rs.DatabaseError, FileNotFoundError)):
            geoip_rs.build_history(out, inputs)
    assert out.read_bytes() == before
    # add_snapshot: the same checks, naming the database added.
    with pytest.raises(geoip_rs.DatabaseError, match=f"^{q(same.path)}: its data is of 2021-01-01"):
        geoip_rs.add_snapshot(out, same)
    with pytest.raises(geoip_rs.DatabaseError, match=f"^{q(undated.path)}: no date"):
        geoip_rs.add_snapshot(tmp_path / "new.geoipdb", undated)
    assert out.read_bytes() == before and not (tmp_path / "new.geoipdb").exists()
    undated.close()
    same.close()


# ---- times of every form, and pandas' NaT -------------------------------------------


def test_pandas_nat_is_refused():
    """``pandas.NaT`` is a ``datetime`` whose ``replace(tzinfo=...)`` gives NaT again:
    taking it as a naive datetime must not loop. Run in a child process, in case it crashes."""
    code = """if True:
        import geoip_rs, pandas as pd
        db = geoip_rs.open(geoip_rs.sample_path())
        for call in (lambda: db.lookup("8.8.8.8", at=pd.NaT),
                     lambda: db.lookup_batch(["8.8.8.8"] * 2, at=[pd.Timestamp("2015-01-01"), pd.NaT])):
            try:
                call()
            except ValueError as e:
                print(e)
    """
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"exit status {p.returncode}"
    assert p.stdout.count("NaT") == 2


def test_lists_of_float_seconds(synth):
    """``at`` per address may be a list of times, and a float is a time."""
    h, t = synth.history, float(synth.times[3])
    got = h.lookup_batch(["11.0.0.1"] * 2, at=[t - 0.5, t + 0.5])
    assert got["snapshot"].tolist() == [2, 3]
    assert h.lookup_batch([], at=[])["snapshot"].tolist() == []


def test_month_and_year_units_are_converted(synth):
    """Months and years are no fixed length: numpy converts them, to the same answers."""
    h = synth.history
    for unit, days in (("M", ["2020-01", "2021-02", "2021-03", "2030-04"]), ("Y", ["2019", "2020", "2021", "2030"])):
        at = np.array(days, f"datetime64[{unit}]")
        got, want = h.lookup_batch(_addresses(4), at=at), h.lookup_batch(_addresses(4), at=at.astype("datetime64[s]"))
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])


def test_none_in_a_list_of_times(synth):
    with pytest.raises(ValueError, match="index 1"):
        synth.history.lookup_batch(["11.0.0.1"] * 2, at=[DAYS[0], None])


def test_numpy_integer_scalar_time(synth):
    t = synth.times  # int64
    assert synth.history.lookup("11.0.0.1", at=t[3]) == synth.dbs[3].lookup("11.0.0.1")
