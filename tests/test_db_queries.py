"""Queries of the GeoIP database beyond lookups: ``prefixes``, ``covering``, ``covered``,
iteration, ``as_info``, ``as_sizes`` and ``summary``, checked against the prefix tables
and against counts made here from the source rows. The databases are built in
dbfixtures.py.
"""

from __future__ import annotations

import collections
import ipaddress
import random

import numpy as np
import pytest
from dbfixtures import as2org_country, ip4, v4_addresses


# ---- prefixes of an AS ----------------------------------------------------------------


def test_prefixes_of_an_as(db):
    want_1128 = {"130.161.0.0/16", "131.180.0.0/16", "145.94.0.0/16"}
    for key in (1128, "1128", "AS1128", "as1128"):
        got = db.prefixes(key)
        assert {str(n) for n in got} == want_1128, key
    assert [str(n) for n in db.prefixes(13289)] == ["82.212.192.0/18"]
    assert db.covering("82.212.192.0/19")[-1] == (ipaddress.ip_network("82.212.192.0/19"), 29624)
    assert [str(n) for n in db.prefixes(11018)] == ["216.69.64.0/19"]
    assert db.prefixes(64_999) == [] and 64_999 not in {a for _, a in db}


def test_prefixes_of_every_as_match_the_file(db, rows):
    by_asn = collections.defaultdict(list)
    for p, a in rows:
        by_asn[a].append(ipaddress.ip_network(p))
    for asn in random.Random(1).sample(sorted(by_asn), 300) + [15169, 3356, 701]:
        got = db.prefixes(asn)
        assert got == sorted(by_asn[asn]), asn


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (2**32, ValueError), ("ASX", ValueError),
                                      ("", ValueError), ("AS", ValueError), (1.5, TypeError),
                                      (None, TypeError), ([1], TypeError)])
def test_bad_asn(tiny, bad, exc):
    with pytest.raises(exc):
        tiny.prefixes(bad)
    with pytest.raises(exc):
        tiny.as_info(bad)


def test_tiny_as_info(tiny):
    assert tiny.as_info(64500) == {
        "asn": 64500, "name": "ALPHA - Alpha Name", "org_id": "ORG-A", "org_name": "Alpha Org",
        "org_country": "JP", "registry": "ripencc", "rir_country": "IT", "name_country": "US",
    }
    assert tiny.as_info("AS64501") == {
        "asn": 64501, "name": None, "org_id": None, "org_name": None,
        "org_country": None, "registry": "apnic", "rir_country": "FR", "name_country": None,
    }
    assert tiny.as_info(64999) is None


# ---- sizes and summaries --------------------------------------------------------------


def own_sizes(table, rows) -> tuple[dict[int, int], int]:
    """Addresses per origin AS counted by longest match, and all routed addresses,
    from elementary intervals: between consecutive prefix boundaries the longest
    match is the same, so looking up each interval's first address is exact."""
    starts, ends = [], []
    for p, _ in rows:
        n = ipaddress.IPv4Network(p)
        starts.append(int(n.network_address))
        ends.append(int(n.broadcast_address) + 1)
    bounds = np.unique(np.array(starts + ends + [0, 2**32], dtype=np.int64))
    firsts, widths = bounds[:-1], np.diff(bounds)
    values, _, found = table.lookup_batch(firsts.astype(np.uint32))
    asns, inverse = np.unique(values[found], return_inverse=True)
    sums = np.zeros(len(asns), dtype=np.int64)
    np.add.at(sums, inverse, widths[found])
    return dict(zip(asns.tolist(), sums.tolist())), int(widths[found].sum())


@pytest.fixture(scope="module")
def sizes(table, rows):
    return own_sizes(table, rows)


def test_as_sizes(db, sizes, rows):
    per_as, total = sizes
    got = db.as_sizes()
    assert got == {a: (per_as.get(a, 0), 0) for a in {a for _, a in rows}}
    # pyasn's get_as_size facts
    assert got[1133] == (65536, 0) and got[1128] == (196608, 0) and got[1124] == (163840, 0)
    assert sum(v4 for v4, _ in got.values()) == total


def test_summaries_are_consistent(db, sizes, rows, as2org):
    per_as, total = sizes
    by_asn = db.summary(by="asn", frame=False)
    assert list(by_asn) == ["asn", "as_name", "org_id", "org_name", "country", "ipv4_prefixes",
                            "ipv6_prefixes", "ipv4_addresses", "ipv6_addresses"]
    assert dict(zip(by_asn["asn"], by_asn["ipv4_addresses"])) == {a: per_as.get(a, 0) for _, a in rows}
    assert dict(zip(by_asn["asn"], by_asn["ipv4_prefixes"])) == collections.Counter(a for _, a in rows)
    by_cc = db.summary(by="country", frame=False)
    assert sum(by_cc["ipv4_addresses"]) == total
    assert sum(by_cc["ipv4_prefixes"]) == len(db) == sum(by_asn["ipv4_prefixes"])
    # per country: the as2org country of each AS (the only country source here)
    country = as2org_country(*as2org)
    want = collections.Counter()
    ases = collections.defaultdict(set)
    for asn, n in per_as.items():
        want[country.get(asn)] += n
    for _, asn in rows:
        ases[country.get(asn)].add(asn)
    got = dict(zip(by_cc["country"], by_cc["ipv4_addresses"]))
    assert got == {k: want.get(k, 0) for k in ases}
    assert dict(zip(by_cc["country"], by_cc["ases"])) == {k: len(v) for k, v in ases.items()}
    # the DataFrame forms
    frame = db.summary(by="country")
    assert int(frame["ipv4_addresses"].sum()) == total
    assert len(db.summary()) == len({a for _, a in rows})
    for bad in ("org", "", "ASN", None):
        with pytest.raises((ValueError, TypeError)):
            db.summary(by=bad)
    with pytest.raises(ValueError, match="by must be"):
        db.summary(by="countries")


def test_tiny_summaries_exactly(tiny):
    by_cc = tiny.summary(by="country", frame=False)
    rows = {c: (a, p4, p6, n4, n6) for c, a, p4, p6, n4, n6 in zip(
        by_cc["country"], by_cc["ases"], by_cc["ipv4_prefixes"], by_cc["ipv6_prefixes"],
        by_cc["ipv4_addresses"], by_cc["ipv6_addresses"])}
    assert rows == {
        # 10/8 less 10.1/16, and 50.0.0/24; 2001:db8::/32
        "JP": (1, 2, 1, 2**24 - 2**16 + 256, 2**96),
        "FR": (1, 2, 0, 2 * 65536, 0),  # 10.1/16 and 20.1/16: rir-asn
        "DE": (1, 1, 0, 65536, 0),  # 20.0/16: rir-prefix
        "BR": (1, 1, 0, 256, 0),
        "GB": (1, 1, 0, 256, 0),
        None: (1, 1, 0, 256, 0),  # AS64503 has no country
    }
    by_asn = tiny.summary(by="asn", frame=False)
    table = {a: (c, n4, n6) for a, c, n4, n6 in zip(by_asn["asn"], by_asn["country"],
                                                    by_asn["ipv4_addresses"], by_asn["ipv6_addresses"])}
    assert table == {
        64500: ("JP", 2**24 - 2**16 + 256, 2**96),
        64501: ("FR", 3 * 65536, 0),
        64502: ("BR", 256, 0),
        64503: (None, 256, 0),
        64505: (None, 256, 0),
    }
    assert tiny.as_sizes() == {a: (n4, n6) for a, (_, n4, n6) in table.items()}


# ---- covering, covered, iteration -----------------------------------------------------


def random_prefixes(n: int, seed: int, min_len: int = 0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(min_len, 32)
        out.append(ipaddress.IPv4Network((rng.getrandbits(32), length), strict=False))
    return out


def test_covering_and_covered_match_the_tables(db, table, ref, rows):
    rng = random.Random(21)
    exact = [ipaddress.ip_network(p) for p, _ in rng.sample(rows, 300)]
    wider = [n.supernet(new_prefix=max(8, n.prefixlen - 4)) for n in exact[:100]]
    nets = random_prefixes(700, seed=21) + exact + wider
    for n in nets:
        want = table.covering(n)
        assert db.covering(n) == want == ref.covering(n), n
        assert db.covering(str(n)) == want
    for n in nets:
        if n.prefixlen < 8:
            continue
        want = table.covered(n)
        assert db.covered(n) == want == ref.covered(n), n
    # an address is its host prefix
    assert db.covering("8.8.8.8") == table.covering("8.8.8.8/32")
    assert db.covering(ipaddress.IPv4Address("8.8.8.8"))[-1][1] == 15169
    assert [str(p) for p, _ in db.covered("130.161.0.0/16")] == ["130.161.0.0/16"]
    assert db.covered("8.8.8.8/32") == [] and db.covering("0.0.0.0/0") == []


def test_iteration_len_and_contains(db, ref, rows):
    items = list(db)
    assert items == ref.items()
    assert len(items) == len(db) == len(rows)
    assert all(isinstance(a, int) for _, a in items[:100])
    q = v4_addresses(10_000, seed=77)
    found = db.lookup_batch(q)["found"].tolist()
    assert [ip4(a) in db for a in q.tolist()] == found
    assert "8.8.8.8" in db and ipaddress.IPv4Address("8.8.8.8") in db


def test_ipv6_queries_match_the_prefix_table(full_db, table46):
    items = list(full_db)
    assert items == table46.items()  # IPv4 then IPv6, each in address order
    counts = full_db.metadata["counts"]
    assert len(full_db) == len(items) == counts["ipv4_prefixes"] + counts["ipv6_prefixes"]
    rng = random.Random(46)
    v6 = [n for n, _ in items if n.version == 6]
    nets = rng.sample(v6, 200)
    nets += [n.supernet(new_prefix=max(16, n.prefixlen - rng.randint(1, 12))) for n in nets[:100]]
    nets += [ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(0, 128)), strict=False) for _ in range(200)]
    for n in nets:
        assert full_db.covering(n) == table46.covering(n), n
        if n.prefixlen >= 16:
            assert full_db.covered(n) == table46.covered(n), n
    by_asn = collections.defaultdict(list)
    for n, a in items:
        by_asn[a].append(n)
    for asn in (6939, 16276, 15169, 196752, 112):
        assert full_db.prefixes(asn) == by_asn[asn], asn
    # IPv6 address space per AS, by longest match over elementary intervals
    bounds = sorted({int(n.network_address) for n in v6} | {int(n.broadcast_address) + 1 for n in v6} | {0, 2**128})
    firsts = [ipaddress.IPv6Address(b) for b in bounds[:-1]]
    values, _, found = table46.lookup_batch(firsts)
    want = collections.Counter()
    for i, (v, f) in enumerate(zip(values.tolist(), found.tolist())):
        if f:
            want[v] += bounds[i + 1] - bounds[i]
    sizes = full_db.as_sizes()
    assert {a: s6 for a, (_, s6) in sizes.items() if s6} == dict(want)
    assert sum(full_db.summary(by="country", frame=False)["ipv6_addresses"]) == sum(want.values())
