"""Real routing tables from pyasn (SOURCES.md section 1): both implementations
against each other on millions of addresses, and against pyasn's published answers.

The tables are loaded once per module. The reference's per-address Python path is
slow, so the big comparisons use its ``lookup_batch`` and single lookups are compared
on a 20,000-address subset only.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Address, ip_network

import numpy as np
import pytest
from conftest import IMPLS, available_impls, load_impl, read_expected_tsv, read_ipasn, require_shared

V4_FILE = "ipasn/ipasn_20140513.dat.gz"  # 512,621 IPv4 prefixes
V46_FILE = "ipasn/ipasn6_20151101.dat.gz"  # 606,138 IPv4 + 27,693 IPv6 prefixes
PYASN_SAMPLE = "expected/pyasn_v1.2__ipasn_20140513__sample_10000.tsv"
CYMRU = "expected/cymru_whois_20140513.tsv"
# pyasn's own comparison test exempts these two addresses of its v1.2 sample.
PYASN_EXCEPTIONS = {"128.189.32.228", "209.159.249.194"}


def _rows(relpath):
    return read_ipasn(require_shared(relpath) / relpath)


def _build(rows):
    tables = {}
    for name in available_impls():
        t = load_impl(name)()
        t.update(rows)
        tables[name] = t
    return tables


@pytest.fixture(scope="module")
def rows14():
    return _rows(V4_FILE)


@pytest.fixture(scope="module")
def rows15():
    return _rows(V46_FILE)


@pytest.fixture(scope="module")
def tables14(rows14):
    return _build(rows14)


@pytest.fixture(scope="module")
def tables15(rows15):
    return _build(rows15)


@pytest.fixture(params=IMPLS)
def impl(request):
    load_impl(request.param)  # skips "rust" when GEOIP_RS_REFERENCE_ONLY=1
    return request.param


@pytest.fixture
def both():
    if available_impls() != ["rust", "reference"]:
        pytest.skip("needs both implementations")
    return "rust", "reference"


def assert_batches_equal(got, want):
    for g, w, dtype in zip(got, want, (np.int64, np.int16, np.bool_)):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_array_equal(g, w)


def v4_addresses(n, seed):
    return np.random.default_rng(seed).integers(0, 2**32, n, dtype=np.uint32)


def v6_addresses(rows, n, seed, inside=0.9):
    """(n, 16) uint8 IPv6 addresses: most drawn inside random announced prefixes
    (random bits below the prefix), the rest uniform (which almost never match)."""
    rng = np.random.default_rng(seed)
    nets = [ip_network(p) for p, _ in rows if ":" in p]
    prefix = np.array([list(n.network_address.packed) for n in nets], dtype=np.uint8)
    mask = np.array([list(n.netmask.packed) for n in nets], dtype=np.uint8)
    noise = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    k = int(n * inside)
    pick = rng.integers(0, len(nets), k)
    noise[:k] = (prefix[pick] & mask[pick]) | (noise[:k] & ~mask[pick])
    return noise[rng.permutation(n)]


# ---- loading --------------------------------------------------------------------------


def test_counts(impl, tables14, tables15, rows14, rows15):
    t14, t15 = tables14[impl], tables15[impl]
    assert len(rows14) == len(t14) == 512_621 and t14.counts() == (512_621, 0)
    assert len(rows15) == len(t15) == 633_831 and t15.counts() == (606_138, 27_693)
    assert repr(t15) == "PrefixTable(ipv4=606138, ipv6=27693)"
    assert t14.nbytes > 0


def test_items_are_the_file(impl, tables15, rows15):
    items = tables15[impl].items()
    assert {(str(n), v) for n, v in items} == set(rows15)
    keys = [(n.version, int(n.network_address), n.prefixlen) for n, _ in items]
    assert all(a < b for a, b in zip(keys, keys[1:]))  # strictly in sorted() order


def test_items_equal_across_impls(both, tables15):
    rust, ref = (tables15[name] for name in both)
    assert rust.items() == ref.items()


# ---- Rust vs reference on many addresses -----------------------------------------------


@pytest.mark.parametrize("which", ["2014", "2015"])
def test_batch_one_million_ipv4(both, tables14, tables15, which):
    rust, ref = ({"2014": tables14, "2015": tables15}[which][name] for name in both)
    q = v4_addresses(1_000_000, seed=20140513)
    got = rust.lookup_batch(q)
    assert_batches_equal(got, ref.lookup_batch(q))
    assert 0.3 < got[2].mean() < 0.9  # a real mix of hits and misses


def test_batch_ipv6(both, tables15, rows15):
    rust, ref = (tables15[name] for name in both)
    q = v6_addresses(rows15, 200_000, seed=20151101)
    got = rust.lookup_batch(q)
    assert_batches_equal(got, ref.lookup_batch(q))
    assert got[2].mean() > 0.85  # the addresses drawn inside prefixes all match


def test_single_lookups_subset(both, tables15, rows15):
    rust, ref = (tables15[name] for name in both)
    v4 = v4_addresses(15_000, seed=7).tolist()
    v6 = [IPv6Address(bytes(r)) for r in v6_addresses(rows15, 5_000, seed=8)]
    keys = v4[:10_000] + [_ip4(a) for a in v4[10_000:]] + v6  # ints, str, IPv6Address
    assert len(keys) == 20_000
    answers = [rust.lookup_with_prefix(k) for k in keys]
    assert answers == [ref.lookup_with_prefix(k) for k in keys]
    # and the batch path agrees with the single path
    values, plen, found = rust.lookup_batch(keys)
    assert found.tolist() == [a is not None for a in answers]
    assert values[found].tolist() == [a[1] for a in answers if a is not None]
    assert plen[found].tolist() == [a[0].prefixlen for a in answers if a is not None]


def _ip4(a: int) -> str:
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


# ---- pyasn's published answers ----------------------------------------------------------


def test_pyasn_v12_sample(impl, tables14):
    expected = read_expected_tsv(require_shared(PYASN_SAMPLE) / PYASN_SAMPLE)
    assert len(expected) == 10_000
    values, _, found = tables14[impl].lookup_batch([ip for ip, _ in expected])
    got = [int(v) if f else None for v, f in zip(values.tolist(), found.tolist())]
    diffs = [(ip, want, g) for (ip, want), g in zip(expected, got) if want != g]
    assert [d for d in diffs if d[0] not in PYASN_EXCEPTIONS] == []
    assert sum(w is not None for _, w in expected) > 7000  # the sample is mostly routed


def test_cymru_whois(impl, tables14):
    expected = read_expected_tsv(require_shared(CYMRU) / CYMRU)
    assert len(expected) == 1_000
    t = tables14[impl]
    diffs = [ip for ip, asn in expected if t.get(ip) != asn]
    assert len(diffs) < 30, diffs


def test_pyasn_ipv6_facts(impl, tables15):
    t = tables15[impl]
    assert t.get("2001:41d0:2:7a6::1") == 16276
    assert t.get("2002:2d22:b585::2d22:b585") == 6939
    assert t.get("2a02:2770:11:0:21a:4aff:fef0:e779") == 196752
    assert t.get("2607:f8b0:4006:80f::200e") == 15169
    assert t.get("d::d") is None and t.lookup_with_prefix("d::d") is None
    assert t.exact("2001::/32") == 6939 and t.exact("2001:4:112::/48") == 112


def test_pyasn_ipv4_facts(impl, tables14):
    t = tables14[impl]
    first = t.lookup_with_prefix("8.8.8.8")
    assert first is not None and first[1] == 15169
    assert all(t.lookup_with_prefix("8.8.8.8") == first for _ in range(100))
    assert t.lookup_batch(["8.8.8.8"] * 100)[0].tolist() == [15169] * 100
    by_asn: dict[int, set[str]] = {}
    for n, asn in t.items():
        by_asn.setdefault(asn, set()).add(str(n))
    assert by_asn[1128] == {"130.161.0.0/16", "131.180.0.0/16", "145.94.0.0/16"}
    assert by_asn[13289] == {"82.212.192.0/18"}  # 82.212.192.0/19 belongs to 29624
    assert t.exact("82.212.192.0/19") == 29624
    assert by_asn[11018] == {"216.69.64.0/19"}
    sizes = {asn: sum(ip_network(p).num_addresses for p in by_asn[asn]) for asn in (1133, 1128, 1124)}
    assert sizes == {1133: 65536, 1128: 196608, 1124: 163840}
    for bad in ("8.8.8.800", "2001:500g:88:200::8"):
        with pytest.raises(ValueError):
            t.get(bad)
    assert t.get("2001:41d0:2:7a6::1") is None  # IPv6 on an IPv4-only table: no error
    assert t.lookup_batch(["2001:41d0:2:7a6::1"])[2].tolist() == [False]


# ---- covered() against a brute-force filter ---------------------------------------------


@pytest.fixture(scope="module")
def rows14_arrays(rows14):
    """(network int, prefixlen, asn) arrays of the 2014 file, parsed without ipaddress."""
    nets, plens = [], []
    for p, _ in rows14:
        addr, plen = p.split("/")
        a, b, c, d = map(int, addr.split("."))
        nets.append(a << 24 | b << 16 | c << 8 | d)
        plens.append(int(plen))
    return np.array(nets, dtype=np.int64), np.array(plens, dtype=np.int64), np.array([a for _, a in rows14])


def test_covered_matches_brute_force(impl, tables14, rows14, rows14_arrays):
    nets, plens, asns = rows14_arrays
    rng = np.random.default_rng(16)
    picks = [ip_network(rows14[i][0]).supernet(new_prefix=16) for i in rng.integers(0, len(rows14), 12)
             if int(rows14[i][0].split("/")[1]) >= 16]
    queries = [IPv4Network(s) for s in ("130.161.0.0/16", "82.212.0.0/16", "8.8.0.0/16", "1.0.0.0/16",
                                        "10.0.0.0/16", "145.94.0.0/16", "216.0.0.0/8")] + picks
    t = tables14[impl]
    nonempty = 0
    for q in queries:
        lo, hi = int(q.network_address), int(q.broadcast_address)
        sel = np.flatnonzero((nets >= lo) & (nets <= hi) & (plens >= q.prefixlen))
        sel = sel[np.lexsort((plens[sel], nets[sel]))]
        want = [(rows14[i][0], int(asns[i])) for i in sel]
        got = [(str(n), v) for n, v in t.covered(q)]
        assert got == want, q
        nonempty += bool(want)
    assert nonempty >= len(queries) - 2  # the brute force found something to compare
