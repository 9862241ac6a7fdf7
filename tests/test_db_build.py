"""Building GeoIP databases: every kind of prefix source, the sources named and hashed in
the metadata, reproducible builds, saves that replace the file atomically, build
errors, progress, and the bundled sample. The shared databases are built in
dbfixtures.py.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from dbfixtures import (
    APNIC,
    AS2ORG,
    IPASN,
    JINX,
    RIPE,
    build_tiny,
    ip4,
    parse_as2org,
    shared,
    v4_addresses,
)

import geoip_rs


# ---- sources and provenance -----------------------------------------------------------


def test_pyasn_fake_file(tmp_path):
    """pyasn's toy file and the answers its unit tests expect (SOURCES.md)."""
    d = geoip_rs.build_database(tmp_path / "fake.geoipdb", ipasn=shared("ipasn/ipasn.fake"))
    with d:
        cases = {"1.0.0.0": (1, "1.0.0.0/30"), "1.0.0.3": (1, "1.0.0.0/30"), "1.0.0.4": (2, "1.0.0.0/24"),
                 "1.0.0.255": (2, "1.0.0.0/24"), "2.0.0.7": (3, "2.0.0.0/24"), "3.200.1.1": (4, "3.0.0.0/8"),
                 "3.128.0.0": (4, "3.0.0.0/8"), "3.0.0.0": (5, "3.0.0.0/9"), "3.127.255.255": (5, "3.0.0.0/9")}
        for ip, (asn, prefix) in cases.items():
            r = d.lookup(ip)
            assert (r.asn, str(r.prefix)) == (asn, prefix), ip
            assert r.country is None and r.country_source is None and r.as_name is None
        assert d.lookup("5.0.0.0") is None and len(d) == 5
        assert d.as_sizes() == {1: (4, 0), 2: (252, 0), 3: (256, 0), 4: (2**23, 0), 5: (2**23, 0)}


def test_metadata_names_and_hashes_the_sources(db, rows):
    meta = db.metadata
    assert meta["format_version"] == 2 and meta["geoip_rs_version"] == geoip_rs.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["built"])
    assert [s["kind"] for s in meta["sources"]] == ["ipasn", "as2org"]
    for s, rel in zip(meta["sources"], (IPASN, AS2ORG)):
        data = shared(rel).read_bytes()
        assert s["name"] == Path(rel).name
        assert s["size"] == len(data)
        assert s["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["sources"][0]["date"] == "2014-05-13"
    counts = meta["counts"]
    assert counts["ipv4_prefixes"] == len(db) == len(rows) == 512_621
    assert counts["ipv6_prefixes"] == 0
    orgs, ases = parse_as2org(shared(AS2ORG))
    assert counts["orgs"] == len(orgs)
    assert counts["ases"] == len(set(ases) | {a for _, a in rows})
    assert db.file_size == os.path.getsize(db.path)


def test_mrt_build_records_its_origin_policy(dbdir):
    path = shared(JINX)
    d = geoip_rs.build_database(dbdir / "majority.geoipdb", mrt=path, origin_policy="majority")
    with d:
        assert d.metadata["options"]["origin_policy"] == "majority"
        (src,) = d.metadata["sources"]
        assert src["kind"] == "mrt" and src["name"] == path.name
        assert src["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert src["date"] == "2014-05-30T22:00:00Z"  # `date -u -d @1401487200`
        t, _ = geoip_rs.read_mrt(path, origin_policy="majority")
        q = v4_addresses(300_000, seed=1)
        cols = d.lookup_batch(q)
        values, plen, found = t.lookup_batch(q)
        np.testing.assert_array_equal(cols["found"], found)
        np.testing.assert_array_equal(cols["asn"][found], values[found])
        assert len(d) == len(t)


def pfx2as_origins(value) -> tuple[int, ...]:
    """The origins of a pfx2as table value in order, AS sets as their sorted members,
    without repeats."""
    parts = value if isinstance(value, tuple) else (value,)
    out: list[int] = []
    for p in parts:
        for a in (sorted(p) if isinstance(p, frozenset) else [p]):
            if a not in out:
                out.append(a)
    return tuple(out)


def test_multi_origin_prefixes_from_pfx2as(dbdir):
    path = shared("pfx2as/routeviews-rv2-20141202-1200.pfx2as.gz")
    t, _ = geoip_rs.read_pfx2as(path)
    d = geoip_rs.build_database(dbdir / "pfx2as.geoipdb", pfx2as=path)
    with d:
        assert d.metadata["sources"][0]["kind"] == "pfx2as" and len(d) == len(t)
        items = t.items()
        multi = [(n, v) for n, v in items if not isinstance(v, int)]
        assert len(multi) > 1000 and any(isinstance(p, frozenset) for _, v in multi for p in v)
        checked = 0
        for n, v in multi[:: max(1, len(multi) // 1500)]:
            want = pfx2as_origins(v)
            r = d.lookup(n.network_address)
            if r.prefix != n:  # a more specific prefix covers the first address
                continue
            checked += 1
            assert r.origins == want and r.asn == want[0], n
            assert d.covering(n)[-1] == (n, want[0])
        assert checked > 500
        # a prefix counts for each of its origins, also the second ones
        second = collections.Counter(a for _, v in multi for a in pfx2as_origins(v)[1:])
        origins_of = {n: pfx2as_origins(v) for n, v in items}
        for asn, _ in second.most_common(20):
            assert d.prefixes(asn) == [n for n, o in origins_of.items() if asn in o], asn
        sizes = d.as_sizes()
        per_as = collections.Counter(a for o in origins_of.values() for a in o)
        assert {a: n for a, n in zip(*map(d.summary(frame=False).get, ("asn", "ipv4_prefixes")))} == dict(per_as)
        assert set(sizes) == set(per_as)
        # the batch gives the primary origin
        q = v4_addresses(200_000, seed=3)
        cols = d.lookup_batch(q)
        values = [t.get(int(a)) for a in q[cols["found"]][:20_000]]
        assert cols["asn"][cols["found"]][:20_000].tolist() == [pfx2as_origins(v)[0] for v in values]


# ---- reproducible and atomic writes, errors, progress ---------------------------------


def test_source_date_epoch_makes_builds_reproducible(tiny_src, tmp_path, monkeypatch):
    epoch = 1_400_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    a = build_tiny(tmp_path / "a.geoipdb", tiny_src)
    b = build_tiny(tmp_path / "b.geoipdb", tiny_src)
    want = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert a.metadata["built"] == want
    assert (tmp_path / "a.geoipdb").read_bytes() == (tmp_path / "b.geoipdb").read_bytes()
    a.close()
    b.close()


def test_rebuilding_over_an_open_file_leaves_it_working(tiny_src, tmp_path):
    """Saves replace the file by rename: a database opened before keeps its map."""
    path = tmp_path / "x.geoipdb"
    first = build_tiny(path, tiny_src)
    before = first.lookup("10.0.0.1")
    (tmp_path / "other.dat").write_text("10.0.0.0/8\t1\n")
    second = geoip_rs.build_database(path, ipasn=tmp_path / "other.dat")
    assert first.lookup("10.0.0.1") == before
    assert second.lookup("10.0.0.1").asn == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    first.close()
    second.close()


def test_build_errors(tmp_path):
    fake = shared("ipasn/ipasn.fake")
    with pytest.raises(ValueError, match="prefix source"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", as2org=shared(AS2ORG))
    with pytest.raises(FileNotFoundError):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=tmp_path / "missing.dat")
    with pytest.raises(ValueError, match="origin_policy"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=fake, origin_policy="bogus")
    with pytest.raises(geoip_rs.FormatError, match="ipasn.fake"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=fake, as2org=fake)
    with pytest.raises(OSError):
        geoip_rs.build_database(tmp_path / "no" / "x.geoipdb", ipasn=fake)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary files left


def test_build_reports_progress_over_all_its_files(tmp_path):
    """One progress bar for the whole build: (done, total) over every file's bytes,
    never going back, ending at the total."""
    rv6 = "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"
    # Two MRT files: one RIB built from both, each reporting from its own start.
    files = {"mrt": [shared(JINX), shared(rv6)], "delegated": [shared(RIPE), shared(APNIC)]}
    total = sum(os.path.getsize(f) for fs in files.values() for f in fs)
    calls: list[tuple[int, int]] = []
    geoip_rs.build_database(
        tmp_path / "p.geoipdb", **files, progress=lambda d, t: calls.append((d, t))
    ).close()
    assert len(calls) >= 2  # reading the RIB alone takes several reporting periods
    assert {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total


# ---- the bundled sample ---------------------------------------------------------------


def test_bundled_sample():
    path = Path(geoip_rs.sample_path())
    if not path.is_file():
        pytest.skip(f"no bundled sample database at {path} yet")
    jinx = shared(JINX)
    with geoip_rs.open() as d:
        assert Path(d.path) == path
        meta = d.metadata
        kinds = {s["kind"] for s in meta["sources"]}
        assert "as2org" not in kinds and "pfx2as" not in kinds  # CAIDA may not be redistributed
        assert meta["counts"]["orgs"] == 0
        assert meta["options"]["origin_policy"] == "first_peer"
        (src,) = [s for s in meta["sources"] if s["name"] == jinx.name]
        assert src["sha256"] == hashlib.sha256(jinx.read_bytes()).hexdigest()
        t, _ = geoip_rs.read_mrt(jinx, origin_policy="first_peer")
        assert d.lookup("8.8.8.8").asn == t["8.8.8.8"] == 15169
        q = v4_addresses(5000, seed=2014)
        cols = d.lookup_batch(q)
        values, _, found = t.lookup_batch(q)
        np.testing.assert_array_equal(cols["found"], found)
        np.testing.assert_array_equal(cols["asn"][found], values[found])
        some = [ip4(a) for a in q[found][:300]]
        assert [d.lookup(a).asn for a in some] == [t[a] for a in some]
