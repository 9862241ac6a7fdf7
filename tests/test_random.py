"""Property tests: random tables and random write sequences, two implementations side
by side.

Two pairs are checked with the same code:
  * Rust vs the pure-Python reference;
  * the reference vs ``NaiveTable`` below, a plain list of ``(network, value)`` scanned
    with ``ipaddress`` -- so the reference itself is checked against something simpler.

Prefixes are drawn from a small pool of base addresses, keeping a random number of
the base's leading bits, so that drawn prefixes share leading bits and nest (random
128-bit prefixes would almost never overlap).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

import numpy as np
import pytest
from conftest import load_impl
from hypothesis import given
from hypothesis import strategies as st

BITS = {4: 32, 6: 128}
ADDRESS = {4: IPv4Address, 6: IPv6Address}
NETWORK = {4: IPv4Network, 6: IPv6Network}
POOL = {
    4: [0, 0x0A000000, 0x0A010200, 0x7FFFFFFF, 0x80000000, 0xC0A80100, 0xFFFFFFFF],
    6: [0, 0x20010DB8 << 96, (0x20010DB8 << 96) | 1 << 80, 0xFFFF << 32,  # ::ffff:0:0 (IPv4-mapped)
        1 << 127, 0xFE80 << 112, 2**128 - 1],
}
MISS = object()  # "no answer" marker passed as a default by the checks
_NO_DEFAULT = object()
INT64 = st.integers(-(2**63), 2**63 - 1)
ANY_VALUE = st.one_of(
    st.integers(-5, 5), st.none(), st.booleans(), st.text(max_size=2),
    st.integers(2**63, 2**70), st.tuples(st.integers(0, 3)),
)


def _mask(x: int, plen: int, bits: int) -> int:
    return x >> (bits - plen) << (bits - plen)


@st.composite
def addresses(draw, version=None):
    v = draw(st.sampled_from([4, 6])) if version is None else version
    bits = BITS[v]
    keep = draw(st.integers(0, bits))  # leading bits taken from a pool base
    base = _mask(draw(st.sampled_from(POOL[v])), keep, bits)
    return ADDRESS[v](base | draw(st.integers(0, 2 ** (bits - keep) - 1)))


@st.composite
def networks(draw, version=None):
    a = draw(addresses(version))
    bits = BITS[a.version]
    plen = draw(st.one_of(st.sampled_from([0, 1, bits - 1, bits]), st.integers(0, bits)))
    return NETWORK[a.version]((_mask(int(a), plen, bits), plen))


def prefix_forms(n):
    """Equivalent ways to pass network n as a prefix argument."""
    forms = [n, str(n), (str(n.network_address), n.prefixlen), (n.network_address.packed, n.prefixlen)]
    if n.version == 4:
        forms.append((int(n.network_address), n.prefixlen))
    if n.prefixlen == BITS[n.version]:
        forms += [str(n.network_address), n.network_address.packed]
    return forms


@st.composite
def scenarios(draw):
    pool = draw(st.lists(networks(), min_size=1, max_size=20))
    values = INT64 | st.integers(-3, 3) if draw(st.booleans()) else ANY_VALUE
    kinds = st.sampled_from(["insert", "insert", "setitem", "update", "pop", "delitem"])
    ops = draw(st.lists(st.tuples(kinds, st.sampled_from(pool), st.integers(0, 5), values), max_size=50))
    probes = draw(st.lists(addresses(), max_size=20))
    queries = draw(st.lists(networks(), max_size=10))
    seed = draw(st.integers(0, 2**32 - 1))
    return pool, ops, probes, queries, seed


class NaiveTable:
    """The model: a list of (network, value), every query a linear scan."""

    def __init__(self, items=()):
        self.rows: list[list] = []
        self.update(items)

    @staticmethod
    def _prefix(x):
        return x if isinstance(x, (IPv4Network, IPv6Network)) else ip_network(x)

    @staticmethod
    def _key(x):
        if isinstance(x, (tuple, IPv4Network, IPv6Network)) or (isinstance(x, str) and "/" in x):
            return ip_network(x)
        return ip_address(x)

    def _find(self, net):
        return next((row for row in self.rows if row[0] == net), None)

    def insert(self, prefix, value):
        net = self._prefix(prefix)
        row = self._find(net)
        if row is None:
            self.rows.append([net, value])
            return None
        old, row[1] = row[1], value
        return old

    __setitem__ = insert

    def update(self, items):
        for prefix, value in items.items() if hasattr(items, "items") else items:
            self.insert(prefix, value)

    def pop(self, prefix, default=_NO_DEFAULT):
        row = self._find(self._prefix(prefix))
        if row is None:
            if default is _NO_DEFAULT:
                raise KeyError(prefix)
            return default
        self.rows.remove(row)
        return row[1]

    def __delitem__(self, prefix):
        self.pop(prefix)

    def exact(self, prefix, default=None):
        row = self._find(self._prefix(prefix))
        return default if row is None else row[1]

    def has_prefix(self, prefix):
        return self._find(self._prefix(prefix)) is not None

    def covering(self, key):
        k = self._key(key)
        if isinstance(k, (IPv4Network, IPv6Network)):
            hits = [(n, v) for n, v in self.rows if n.version == k.version and k.subnet_of(n)]
        else:
            hits = [(n, v) for n, v in self.rows if k in n]  # `in` is False across families
        return sorted(hits, key=lambda r: r[0].prefixlen)

    def lookup_with_prefix(self, key):
        hits = self.covering(key)
        return hits[-1] if hits else None

    def get(self, key, default=None):
        m = self.lookup_with_prefix(key)
        return default if m is None else m[1]

    def __contains__(self, key):
        return self.lookup_with_prefix(key) is not None

    def covered(self, prefix):
        p = self._prefix(prefix)
        return [(n, v) for n, v in self.items() if n.version == p.version and n.subnet_of(p)]

    def items(self):
        return [tuple(r) for r in sorted(self.rows, key=lambda r: (r[0].version, r[0]))]

    def counts(self):
        v4 = sum(n.version == 4 for n, _ in self.rows)
        return v4, len(self.rows) - v4

    def __len__(self):
        return len(self.rows)

    def __repr__(self):
        return "PrefixTable(ipv4={}, ipv6={})".format(*self.counts())

    def lookup_batch(self, addrs, *, missing=-1):
        if isinstance(addrs, np.ndarray) and addrs.dtype == np.uint32:
            addrs = [IPv4Address(int(x)) for x in addrs]
        elif isinstance(addrs, np.ndarray) and addrs.dtype == np.uint8:
            addrs = [IPv6Address(bytes(row)) for row in addrs]
        found = [self.lookup_with_prefix(ip_address(a)) for a in addrs]
        if all(type(v) is int and -(2**63) <= v < 2**63 for _, v in self.rows):
            values = np.array([m[1] if m else missing for m in found], dtype=np.int64)
        else:
            values = [m[1] if m else None for m in found]
        plen = np.array([m[0].prefixlen if m else -1 for m in found], dtype=np.int16)
        return values, plen, np.array([m is not None for m in found], dtype=np.bool_)


@pytest.fixture(scope="module", params=[("rust", "reference"), ("reference", "naive")],
                ids=["rust-vs-reference", "reference-vs-naive"])
def pair(request):
    return tuple(NaiveTable if name == "naive" else load_impl(name) for name in request.param)


def assert_same(x, y):
    # repr too, so that 1 vs True or a list vs a tuple count as different
    assert x == y and repr(x) == repr(y)


def assert_same_batch(ra, rb):
    va, vb = ra[0], rb[0]
    assert type(va) is type(vb)
    if isinstance(va, np.ndarray):
        assert va.dtype == vb.dtype == np.int64
        np.testing.assert_array_equal(va, vb)
    else:
        assert_same(va, vb)
    for xa, xb, dtype in ((ra[1], rb[1], np.int16), (ra[2], rb[2], np.bool_)):
        assert xa.dtype == xb.dtype == dtype
        np.testing.assert_array_equal(xa, xb)


def boundary_addresses(nets):
    """First and last address of each prefix, and the ones just outside."""
    out = []
    for n in nets:
        lo, hi = int(n.network_address), int(n.broadcast_address)
        out += [ADDRESS[n.version](a) for a in (lo - 1, lo, hi, hi + 1) if 0 <= a < 2 ** BITS[n.version]]
    return out


def check_same(a, b, pool, probes, queries, seed):
    assert_same(a.items(), b.items())
    assert len(a) == len(b) and a.counts() == b.counts() and repr(a) == repr(b)
    addrs = probes + boundary_addresses(pool + queries)
    for x in addrs:
        assert_same(a.get(x, MISS), b.get(x, MISS))
        assert_same(a.lookup_with_prefix(x), b.lookup_with_prefix(x))
        assert_same(a.covering(x), b.covering(x))
        assert (x in a) == (x in b)
    for n in pool + queries:
        for f in (lambda t: t.exact(n, MISS), lambda t: t.has_prefix(n), lambda t: t.covered(n),
                  lambda t: t.covering(n), lambda t: t.lookup_with_prefix(n)):
            assert_same(f(a), f(b))

    # batches: the probes as arrays and as a mixed list, plus random addresses near the pool
    rng = np.random.default_rng(seed)
    v4 = [int(x) for x in addrs if x.version == 4]
    v6 = [x.packed for x in addrs if x.version == 6]
    for n in pool:
        size = int(n.num_addresses)
        for _ in range(5):
            off = int(rng.integers(0, min(size, 2**62))) if size > 1 else 0
            x = int(n.network_address) + off
            (v4 if n.version == 4 else v6).append(x if n.version == 4 else x.to_bytes(16, "big"))
    q4 = np.array(v4, dtype=np.uint32)
    q6 = np.frombuffer(b"".join(v6), dtype=np.uint8).reshape(-1, 16)
    assert_same_batch(a.lookup_batch(q4), b.lookup_batch(q4))
    assert_same_batch(a.lookup_batch(q6), b.lookup_batch(q6))
    mixed = [str(x) for x in addrs]
    assert_same_batch(a.lookup_batch(mixed, missing=-9), b.lookup_batch(mixed, missing=-9))


def apply(t, kind, prefix, value):
    """Apply one write; return what it returned (or the exception type it raised)."""
    try:
        if kind == "insert":
            return t.insert(prefix, value)
        if kind == "setitem":
            t[prefix] = value
        elif kind == "update":
            t.update([(prefix, value)])
        elif kind == "pop":
            return t.pop(prefix, MISS)
        else:
            del t[prefix]
    except KeyError as e:
        return ("KeyError", e.args)
    return None


@given(scenario=scenarios())
def test_random_writes_agree(pair, scenario):
    pool, ops, probes, queries, seed = scenario
    A, B = pair
    a, b = A(), B()
    for kind, net, form, value in ops:
        forms = prefix_forms(net)
        prefix = forms[form % len(forms)]
        assert_same(apply(a, kind, prefix, value), apply(b, kind, prefix, value))
        assert len(a) == len(b)
    check_same(a, b, pool, probes, queries, seed)


@given(nets=st.lists(networks(), max_size=40), probes=st.lists(addresses(), max_size=20),
       seed=st.integers(0, 2**32 - 1))
def test_random_tables_agree(pair, nets, probes, seed):
    A, B = pair
    pairs = [(n, i) for i, n in enumerate(nets)]
    a, b = A(pairs), B(pairs)
    check_same(a, b, nets, probes, [], seed)
    # removing everything in a random order empties both tables
    for n in sorted(set(nets), key=lambda n: (seed * hash(n)) % 1009):
        assert_same(a.pop(n), b.pop(n))
    assert len(a) == len(b) == 0 and a.items() == b.items() == []


@given(nets=st.lists(networks(version=4), min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_ipv4_batch_matches_single_lookups(pair, nets, seed):
    # Large uniform batches for IPv4 (where uniform addresses do hit prefixes).
    A, B = pair
    a = A((n, int(n.network_address) % 1000) for n in nets)
    q = np.random.default_rng(seed).integers(0, 2**32, 2000, dtype=np.uint32)
    values, plen, found = a.lookup_batch(q)
    if B is not NaiveTable:  # the naive model is too slow for 2000 addresses
        assert_same_batch((values, plen, found), B(a.items()).lookup_batch(q))
    for i in range(0, len(q), 40):
        m = a.lookup_with_prefix(int(q[i]))
        assert (values[i], plen[i], found[i]) == ((m[1], m[0].prefixlen, True) if m else (-1, -1, False))


@given(nets=st.lists(networks(), min_size=1, max_size=60), more=st.lists(networks(), min_size=1, max_size=10),
       seed=st.integers(0, 2**32 - 1))
def test_compiled_lookups_agree_and_follow_writes(nets, more, seed):
    """Lookups through the tree, then large batches that compile the Rust table, then
    lookups through its compiled form; after each write (which must drop the compiled
    form) all of them must answer for the new table."""
    rust, ref = load_impl("rust"), load_impl("reference")
    rng = np.random.default_rng(seed)
    a = rust((n, i) for i, n in enumerate(nets))
    b = ref(a.items())
    edges = boundary_addresses(nets + more)
    v4 = [int(x) for x in edges if x.version == 4]
    v6 = [x.packed for x in edges if x.version == 6]
    batch4 = np.concatenate([np.array(v4, dtype=np.uint32), rng.integers(0, 2**32, 4096, dtype=np.uint32)])
    # IPv6: the edges and addresses inside the prefixes, padded to a large batch.
    rows = [np.frombuffer(p, np.uint8) for p in v6] or [np.zeros(16, np.uint8)]
    batch6 = np.array([rows[i % len(rows)] for i in range(4100)], dtype=np.uint8)
    for step, net in enumerate([None] + more):
        if net is not None:  # alternately add and remove, so both invalidate
            if step % 3 == 1 and a.has_prefix(net):
                a.pop(net, None)
                b.pop(net, None)
            elif step % 3 == 2 and len(a):
                # Replace a value in place with another table's value, so that leaves
                # merged by equal values must come apart.
                target = a.items()[step % len(a)][0]
                a[target] = b[target] = a.items()[-1][1]
            else:
                a[net] = b[net] = 1000 + step
        assert not a.compiled, "every write drops the compiled form"
        for x in edges:  # through the tree
            assert_same(a.lookup_with_prefix(x), b.lookup_with_prefix(x))
        for batch in (batch4, batch6):  # these batches are large enough to compile
            assert_same_batch(a.lookup_batch(batch), b.lookup_batch(batch))
        assert a.compiled
        for x in edges:  # through the compiled form
            assert_same(a.lookup_with_prefix(x), b.lookup_with_prefix(x))


@given(keys=st.lists(
    st.text(alphabet="0123456789.", max_size=17)
    | addresses().map(str)
    | st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**128 - 1, 2**128, -1])
    | st.integers(-(2**129), 2**129),
    min_size=1, max_size=30))
def test_str_and_int_keys_read_like_ipaddress(keys):
    """Single lookups read a dotted-quad ``str`` and an ``int`` below 2**63 on a fast
    path of their own; they must read every key as ``ipaddress.ip_address`` does,
    through the tree and through the compiled form alike."""
    rust, ref = load_impl("rust"), load_impl("reference")
    nets = ["0.0.0.0/1", "10.0.0.0/8", "128.0.0.0/2", "::/1", "::ffff:0:0/96", "8000::/1"]
    tree = rust((n, i) for i, n in enumerate(nets))
    compiled = rust(tree.items())
    assert compiled.compile() and compiled.compiled and not tree.compiled
    want = ref(tree.items())
    for k in keys:
        try:
            ip_address(k)
        except ValueError:
            for t in (tree, compiled):
                with pytest.raises(ValueError):
                    t.get(k)
            continue
        assert tree.get(k) == compiled.get(k) == want.get(k), k
        assert (k in tree) == (k in compiled) == (want.get(k) is not None)
