"""The GeoIP database's single lookups and records, checked against the prefix tables
(Rust and the pure-Python reference) and against pyasn's and Team Cymru's published
answers. The databases are built in dbfixtures.py.
"""

from __future__ import annotations

import ipaddress
import pickle
import random

import numpy as np
import pytest
from conftest import read_expected_tsv
from dbfixtures import CYMRU, PYASN_EXCEPTIONS, PYASN_SAMPLE, ip4, shared, v4_addresses

import geoip_rs


# ---- origin AS: the database against the prefix tables --------------------------------


def test_single_lookups_agree_with_the_batch_and_the_reference(db, ref):
    q = v4_addresses(4_000, seed=4)
    cols = db.lookup_batch(q)
    for i, a in enumerate(q.tolist()):
        rec = db.lookup(ip4(a))
        want = ref.lookup_with_prefix(a)
        if want is None:
            assert rec is None and not cols["found"][i]
            continue
        assert cols["found"][i]
        assert rec.prefix == want[0] and rec.asn == want[1] == cols["asn"][i]
        assert rec.prefix.prefixlen == cols["prefix_len"][i]
        assert rec.address == ipaddress.IPv4Address(a)
        assert (rec.country or "").encode() == cols["country"][i]
        assert (rec.country_source or "").encode() == cols["country_source"][i]


def test_pyasn_v12_sample(db):
    expected = read_expected_tsv(shared(PYASN_SAMPLE))
    assert len(expected) == 10_000
    cols = db.lookup_batch([ip for ip, _ in expected])
    got = [int(a) if f else None for a, f in zip(cols["asn"].tolist(), cols["found"].tolist())]
    diffs = [(ip, want, g) for (ip, want), g in zip(expected, got) if want != g]
    assert [d for d in diffs if d[0] not in PYASN_EXCEPTIONS] == []
    assert sum(w is not None for _, w in expected) > 7000
    # and one at a time
    singles = [(r.asn if (r := db.lookup(ip)) else None) for ip, _ in expected[:2000]]
    assert singles == got[:2000]


def test_cymru_whois(db):
    expected = read_expected_tsv(shared(CYMRU))
    assert len(expected) == 1_000
    diffs = [ip for ip, asn in expected if (r := db.lookup(ip)) is None and asn is not None
             or r is not None and r.asn != asn]
    assert len(diffs) < 30, diffs


def test_ipv6_and_mixed_lists_match_the_prefix_table(full_db, table46):
    rng = np.random.default_rng(6)
    v6_nets = [n for n, _ in table46.items() if n.version == 6]
    picks = [v6_nets[i] for i in rng.integers(0, len(v6_nets), 3000)]
    v6 = [str(n.network_address + int(rng.integers(0, min(n.num_addresses, 2**62)))) for n in picks]
    v4 = [ip4(a) for a in v4_addresses(3000, seed=66)]
    mixed = v4 + v6 + ["2001:41d0:2:7a6::1", "d::d", "8.8.8.8"]
    random.Random(6).shuffle(mixed)
    cols = full_db.lookup_batch(mixed)
    values, plen, found = table46.lookup_batch(mixed)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])
    assert found[: len(mixed)].sum() > 3000  # the IPv6 addresses lie in routed prefixes
    # the same IPv6 addresses as an (N, 16) uint8 array
    arr = np.array([list(ipaddress.IPv6Address(a).packed) for a in v6], dtype=np.uint8)
    cols6 = full_db.lookup_batch(arr)
    v, p, f = table46.lookup_batch(arr)
    np.testing.assert_array_equal(cols6["found"], f)
    np.testing.assert_array_equal(cols6["asn"][f], v[f])
    assert full_db.lookup("2001:41d0:2:7a6::1").asn == 16276
    assert full_db.lookup("2607:f8b0:4006:80f::200e").asn == 15169
    assert full_db.lookup("d::d") is None


# ---- records --------------------------------------------------------------------------


FIELDS = [
    "address", "prefix", "asn", "origins", "as_name", "org_id", "org_name", "country",
    "country_source", "registry",
]


def test_record_api(db):
    r = db.lookup("8.8.8.8")
    d = r.to_dict()
    assert list(d) == FIELDS
    assert d == {k: getattr(r, k) for k in FIELDS}
    assert d["address"] == ipaddress.IPv4Address("8.8.8.8")
    assert isinstance(d["prefix"], ipaddress.IPv4Network) and ipaddress.IPv4Address("8.8.8.8") in d["prefix"]
    assert d["asn"] == 15169 and d["origins"] == (15169,) and d["country"] == "US"
    text = repr(r)
    assert text.startswith("Record(") and "address='8.8.8.8'" in text
    assert f"prefix='{r.prefix}'" in text and "asn=15169" in text and "country='US'" in text
    assert "org_name='Google Inc.'" in text and "registry='arin'" in text
    # equality, hashing
    again = db.lookup(ipaddress.IPv4Address("8.8.8.8"))
    assert again == r and hash(again) == hash(r) and len({r, again}) == 1
    other = db.lookup("8.8.8.9")  # same prefix, another address
    assert other != r and other.prefix == r.prefix
    assert geoip_rs.Record(**d) == r
    assert r != geoip_rs.Record(**{**d, "country": "DE"})
    assert r != "8.8.8.8"
    # pickle and copy
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(r, protocol=proto))
        assert back == r and back.to_dict() == d and repr(back) == text
    # frozen
    with pytest.raises(AttributeError):
        r.asn = 1  # type: ignore[misc]


def test_records_made_when_read_match_the_batch_and_outlive_close(full_db):
    """A record keeps what the lookup found and makes its other fields when one is
    read: they must be the batch's (its own path through the core), and still
    readable after the database is closed."""
    rng = np.random.default_rng(61)
    v6_nets = [p for p, _ in full_db if p.version == 6]
    v6 = [str(v6_nets[i].network_address + 1) for i in rng.integers(0, len(v6_nets), 500)]
    addrs = [ip4(a) for a in v4_addresses(1500, seed=62)] + v6
    cols = full_db.lookup_batch(addrs, details=True)
    other = geoip_rs.open(full_db.path)
    records = [other.lookup(a) for a in addrs]
    other.close()
    with pytest.raises(ValueError, match="closed"):
        other.lookup("8.8.8.8")
    assert sum(r is not None for r in records) > 1000
    for i, (a, r) in enumerate(zip(addrs, records)):
        assert (r is not None) == cols["found"][i], a
        if r is None:
            continue
        got = (str(r.prefix), r.asn, r.as_name, r.org_id, r.org_name, r.registry,
               (r.country or "").encode(), (r.country_source or "").encode())
        want = (cols["prefix"][i], cols["asn"][i], cols["as_name"][i], cols["org_id"][i],
                cols["org_name"][i], cols["registry"][i], cols["country"][i], cols["country_source"][i])
        assert got == want, a
        assert r == full_db.lookup(a) and r.to_dict() == full_db.lookup(a).to_dict()


def test_records_join_the_garbage_collector_only_when_they_hold_objects(db):
    """Untracked while they hold only Rust values (a loop of them costs no
    collections), tracked once they keep an ipaddress object, so that a cycle
    through one is still collected."""
    import gc
    import weakref

    r = db.lookup("8.8.8.8")
    assert not gc.is_tracked(r)
    assert r.country == "US" and not gc.is_tracked(r)
    assert r.prefix is r.prefix and r.address is r.address and gc.is_tracked(r)

    class Marker:
        pass

    marker = Marker()
    gone = weakref.ref(marker)
    r.prefix.cycle = (r, marker)  # record -> network -> its dict -> record
    del r, marker
    gc.collect()
    assert gone() is None


# ---- keys and bad keys ----------------------------------------------------------------


def test_lookup_key_forms_and_misses(db, ref):
    r = db.lookup("8.8.8.8")
    for key in (0x08080808, ipaddress.IPv4Address("8.8.8.8"), bytes([8, 8, 8, 8])):
        assert db.lookup(key) == r == db.get(key)
    # unrouted addresses (by the reference table) give None
    misses = [a for a in v4_addresses(2000, seed=5).tolist() if ref.get(a) is None][:200]
    assert len(misses) == 200
    assert all(db.lookup(ip4(a)) is None and db.get(a) is None for a in misses)
    assert db.lookup("2001:db8::1") is None  # IPv6 on an IPv4-only database: a miss
    assert db.lookup("::ffff:8.8.8.8") is None  # IPv4-mapped is IPv6, as in ipaddress


@pytest.mark.parametrize("bad", ["8.8.8.800", "2001:500g:88:200::8", "", "8.8.8", "8.8.8.8/24",
                                 "hello", "1.2.3.4.5"])
def test_malformed_addresses(tiny, bad):
    with pytest.raises(ValueError) as want:
        ipaddress.ip_address(bad)
    for call in (tiny.lookup, tiny.get, tiny.__contains__):
        with pytest.raises(ValueError) as e:
            call(bad)
        assert not isinstance(e.value, geoip_rs.DatabaseError)
        if "/" not in bad:
            assert str(e.value) == str(want.value)
    with pytest.raises(ValueError):
        tiny.lookup_batch(["10.0.0.1", bad])


@pytest.mark.parametrize("bad", [1.5, None, [1, 2], object(), {"a": 1}])
def test_wrong_types(tiny, bad):
    with pytest.raises(TypeError):
        tiny.lookup(bad)
    with pytest.raises(TypeError):
        tiny.covering(bad)
