"""Batches of the GeoIP database: ``lookup_batch`` (with and without details) and
``to_pandas``, checked against the prefix tables (Rust and the pure-Python reference)
and against single lookups. The databases are built in dbfixtures.py.
"""

from __future__ import annotations

import collections
import ipaddress
import random

import numpy as np
import pytest
from dbfixtures import ip4, v4_addresses


# ---- origin AS: the batch against the prefix tables -----------------------------------


def test_one_million_addresses_match_the_prefix_table(db, table):
    q = v4_addresses(1_000_000, seed=20140513)
    cols = db.lookup_batch(q)
    assert cols["found"].dtype == np.bool_ and cols["asn"].dtype == np.uint32
    assert cols["prefix_len"].dtype == np.uint8
    assert cols["country"].dtype == np.dtype("S2") and cols["country_source"].dtype == np.dtype("S10")
    values, plen, found = table.lookup_batch(q)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])
    # misses: zero AS, zero length, no country
    assert not cols["asn"][~found].any() and not cols["prefix_len"][~found].any()
    assert (cols["country"][~found] == b"").all() and (cols["country_source"][~found] == b"").all()
    assert 0.3 < found.mean() < 0.9


def test_batch_matches_the_python_reference(db, ref):
    q = v4_addresses(200_000, seed=99)
    cols = db.lookup_batch(q)
    values, plen, found = ref.lookup_batch(q)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])


def test_batch_argument_errors(tiny):
    with pytest.raises(TypeError):
        tiny.lookup_batch(5)
    with pytest.raises((TypeError, ValueError)):
        tiny.lookup_batch("10.0.0.1")  # a bare string is not a list of addresses
    with pytest.raises((TypeError, ValueError)):
        tiny.lookup_batch(np.zeros((3, 4), dtype=np.uint8))
    empty = tiny.lookup_batch([])
    assert all(len(v) == 0 for v in empty.values())


# ---- batches with details, pandas -----------------------------------------------------


def mixed_addresses(n4: int, n6: int, seed: int, table46) -> list[str]:
    rng = np.random.default_rng(seed)
    v6_nets = [n for n, _ in table46.items() if n.version == 6]
    v6 = [str(v6_nets[i].network_address + 1) for i in rng.integers(0, len(v6_nets), n6)]
    out = [ip4(a) for a in v4_addresses(n4, seed)] + v6 + ["d::d", "8.8.8.8", "193.0.6.139"]
    random.Random(seed).shuffle(out)
    return out


def test_details_columns_equal_single_lookups(full_db, table46):
    addresses = mixed_addresses(3000, 1000, seed=8, table46=table46)
    cols = full_db.lookup_batch(addresses, details=True)
    assert set(cols) == {"found", "asn", "prefix_len", "country", "country_source", "prefix",
                         "as_name", "org_id", "org_name", "registry"}
    seen = collections.Counter()
    for i, a in enumerate(addresses):
        r = full_db.lookup(a)
        if r is None:
            assert not cols["found"][i] and cols["prefix"][i] is None and cols["registry"][i] is None
            continue
        assert cols["found"][i] and cols["asn"][i] == r.asn
        assert cols["prefix"][i] == str(r.prefix) and cols["prefix_len"][i] == r.prefix.prefixlen
        assert (cols["as_name"][i], cols["org_id"][i], cols["org_name"][i], cols["registry"][i]) == (
            r.as_name, r.org_id, r.org_name, r.registry)
        assert cols["country"][i].decode() == (r.country or "")
        assert cols["country_source"][i].decode() == (r.country_source or "")
        seen[r.country_source] += 1
        seen["v6" if ":" in a else "v4"] += 1
    # every kind of answer occurs in this sample
    assert seen["as2org"] > 100 and seen["v6"] > 500 and seen["v4"] > 1000
    assert seen["rir-prefix"] + seen["rir-asn"] + seen["asname"] + seen[None] > 0


def test_to_pandas_rows_equal_records(full_db, table46):
    pd = pytest.importorskip("pandas")
    addresses = mixed_addresses(1500, 500, seed=9, table46=table46)
    frame = full_db.to_pandas(addresses)
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(addresses)
    assert list(frame.columns) == ["address", "prefix", "prefix_len", "asn", "origins", "as_name",
                                   "org_id", "org_name", "country", "country_source", "registry"]
    misses = 0
    for row, a in zip(frame.itertuples(index=False), addresses):
        r = full_db.lookup(a)
        assert row.address == a
        if r is None:
            misses += 1
            assert all(pd.isna(getattr(row, k)) for k in frame.columns if k != "address")
            continue
        assert int(row.asn) == r.asn and row.prefix == str(r.prefix)
        assert row.prefix_len == r.prefix.prefixlen and tuple(row.origins) == r.origins
        for k in ("as_name", "org_id", "org_name", "registry", "country", "country_source"):
            got = getattr(row, k)
            want = getattr(r, k)
            assert (None if pd.isna(got) else got) == want, (a, k)
    assert misses > 0
    # numpy input gives the addresses as text
    q = v4_addresses(100, seed=3)
    f2 = full_db.to_pandas(q)
    assert f2["address"].tolist() == [ip4(a) for a in q]
    assert f2["asn"].dropna().astype(int).tolist() == [full_db.lookup(int(a)).asn for a in q if int(a) in full_db]


def test_to_pandas_address_forms(full_db):
    pd = pytest.importorskip("pandas")
    v6 = ipaddress.IPv6Address("2001:41d0:2:7a6::1")
    packed = np.array([list(v6.packed)], dtype=np.uint8)
    assert full_db.to_pandas(packed)["address"].tolist() == [str(v6)]
    assert full_db.to_pandas(packed)["asn"].tolist() == [16276]
    forms = [0x08080808, b"\x08\x08\x04\x04", ipaddress.IPv4Address("1.1.1.1"), v6, "d::d"]
    frame = full_db.to_pandas(forms)
    assert frame["address"].tolist() == ["8.8.8.8", "8.8.4.4", "1.1.1.1", str(v6), "d::d"]
    assert frame["asn"].iloc[0] == frame["asn"].iloc[1] == 15169
    # a generator is read once, for both the lookups and the address column
    gen = full_db.to_pandas(a for a in ["8.8.8.8", "d::d"])
    assert gen["address"].tolist() == ["8.8.8.8", "d::d"] and gen["asn"].iloc[0] == 15169
    assert pd.isna(gen["asn"].iloc[1])
    text = full_db.to_pandas(np.array(["8.8.8.8", "d::d"]))
    assert text["address"].tolist() == ["8.8.8.8", "d::d"]
    assert len(full_db.to_pandas([])) == 0
    with pytest.raises(TypeError):
        full_db.to_pandas("8.8.8.8")
