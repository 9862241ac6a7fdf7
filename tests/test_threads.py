"""Concurrency of the Rust table: many reader threads (single and batch lookups, the
latter releasing the GIL) while writer threads insert and remove prefixes.

The writers only touch prefixes that cannot change the answers the readers check,
so every answer must stay exactly what the reference gives for the initial table.
One prefix is toggled on and off under a permanent covering prefix: a reader must
see either the old or the new answer whole (value, prefix length and found flag of
the same state), never a mix.
"""

from __future__ import annotations

import threading
import time
from ipaddress import IPv4Address

import numpy as np
import pytest

DURATION = 2.0  # seconds of concurrent load per test
N_READERS = 8
TOGGLED = "172.31.255.0/24"  # inside the permanent 172.16.0.0/12
TOGGLED_VALUE = 424242
COVER_VALUE = 17216


def stable_table_items(rng):
    """Nested IPv4 and IPv6 prefixes whose answers the readers check."""
    items = {"10.0.0.0/8": 1, "172.16.0.0/12": COVER_VALUE, "2001:db8::/32": 6}
    for i in range(0, 256, 3):
        items[f"10.{i}.0.0/16"] = 1000 + i
        for j in rng.choice(256, 8, replace=False):
            items[f"10.{i}.{j}.0/24"] = 100_000 + i * 256 + int(j)
            items[f"2001:db8:{i:x}{j:02x}::/48"] = 200_000 + i * 256 + int(j)
        items[f"20.{i}.0.0/16"] = 2000 + i
        items[f"20.{i}.1.{i}/32"] = 3000 + i
    return items


def queries(rng):
    q4 = np.concatenate([
        rng.integers(10 << 24, 11 << 24, 20_000),
        rng.integers(20 << 24, 21 << 24, 20_000),
        rng.integers(30 << 24, 31 << 24, 2_000),  # misses
    ]).astype(np.uint32)
    q6 = rng.integers(0, 256, (20_000, 16), dtype=np.uint8)
    q6[:, :4] = [0x20, 0x01, 0x0D, 0xB8]
    q6[:5000, 4] = rng.integers(0, 256, 5000) // 3 * 3  # more hits on the /48s
    return q4, q6


@pytest.fixture
def setup(RustTable, RefTable):
    rng = np.random.default_rng(2024)
    items = stable_table_items(rng)
    q4, q6 = queries(rng)
    ref = RefTable(items)
    expected = {"q4": ref.lookup_batch(q4), "q6": ref.lookup_batch(q6)}
    singles = [str(IPv4Address(int(a))) for a in q4[::97]]
    expected_single = [ref.lookup_with_prefix(a) for a in singles]
    expected["singles"] = ref.lookup_batch(singles)
    assert expected["q4"][2].mean() > 0.5  # the checks are not all misses
    return RustTable(items), q4, q6, expected, singles, expected_single


def run_threads(targets, duration=DURATION):
    """Start all targets at once, let them run for ``duration``, stop and join."""
    stop = threading.Event()
    barrier = threading.Barrier(len(targets))
    errors: list[str] = []
    counts = [0] * len(targets)

    def wrap(k, fn):
        barrier.wait()
        try:
            while not stop.is_set():
                fn()
                counts[k] += 1
        except BaseException as e:  # report, don't let a thread die silently
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=wrap, args=(k, fn)) for k, fn in enumerate(targets)]
    for th in threads:
        th.start()
    time.sleep(duration)
    stop.set()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads), "a thread hung"
    assert errors == []
    assert all(c > 0 for c in counts), counts
    return counts


def same(got, want):
    return all(np.array_equal(g, w) for g, w in zip(got, want))


def test_readers_with_writer(setup):
    t, q4, q6, expected, singles, expected_single = setup
    toggled_probe = np.array([int(IPv4Address("172.31.255.7"))] * 64, dtype=np.uint32)
    allowed = {(COVER_VALUE, 12, True), (TOGGLED_VALUE, 24, True)}
    written = []

    def batch_reader():
        assert same(t.lookup_batch(q4), expected["q4"]), "IPv4 batch answer changed"
        assert same(t.lookup_batch(q6), expected["q6"]), "IPv6 batch answer changed"
        values, plen, found = t.lookup_batch(toggled_probe)
        seen = set(zip(values.tolist(), plen.tolist(), found.tolist()))
        assert seen <= allowed, seen

    def single_reader():
        for a, want in zip(singles, expected_single):
            assert t.lookup_with_prefix(a) == want, a
        m = t.lookup_with_prefix("172.31.255.7")
        assert (m[1], m[0].prefixlen, True) in allowed, m
        assert same(t.lookup_batch(singles), expected["singles"]), "list batch answer changed"

    def writer():
        i = len(written)
        net4 = f"172.{16 + i % 15}.{i // 15 % 256}.0/24"  # never 172.31.x: that is the toggle's
        net6 = f"2a00:{i % 65536:x}::/32"
        t.insert(net4, i)
        t[net6] = i
        written.append((net4, net6))
        if len(written) > 100:  # keep the table size bounded: remove an old pair
            old4, old6 = written[len(written) - 101]
            t.pop(old4, None)
            t.pop(old6, None)
        if i % 2:
            t[TOGGLED] = TOGGLED_VALUE
        else:
            t.pop(TOGGLED, None)

    targets = [batch_reader] * (N_READERS // 2) + [single_reader] * (N_READERS // 2) + [writer]
    counts = run_threads(targets)
    assert counts[-1] > 10  # the writer really ran alongside the readers
    assert same(t.lookup_batch(q4), expected["q4"]) and same(t.lookup_batch(q6), expected["q6"])


def test_concurrent_writers_on_disjoint_prefixes(RustTable, RefTable):
    # Each writer owns its own /8 and applies its own fixed sequence; at the end the
    # table must hold exactly what applying the sequences one after another gives.
    rng = np.random.default_rng(9)
    plans = []
    for w in range(4):
        ops = []
        for k in range(3000):
            net = f"{40 + w}.{int(rng.integers(0, 4))}.{int(rng.integers(0, 256))}.0/24"
            ops.append(("del", net) if rng.random() < 0.4 else ("put", net, k))
        plans.append(ops)
    t, expected = RustTable(), RefTable()
    for ops in plans:
        for op in ops:
            if op[0] == "put":
                expected[op[1]] = op[2]
            else:
                expected.pop(op[1], None)

    def make_writer(ops):
        state = {"done": False}

        def step():
            if state["done"]:
                time.sleep(0.001)
                return
            for op in ops:
                if op[0] == "put":
                    t[op[1]] = op[2]
                else:
                    t.pop(op[1], None)
            state["done"] = True

        return step

    q = np.random.default_rng(1).integers(40 << 24, 44 << 24, 10_000, dtype=np.uint32)

    def reader():
        values, plen, found = t.lookup_batch(q)
        assert set(plen[found].tolist()) <= {24}

    run_threads([make_writer(ops) for ops in plans] + [reader] * 4, duration=1.0)
    assert t.items() == expected.items() and t.counts() == expected.counts()
    assert same(t.lookup_batch(q), expected.lookup_batch(q))


def test_each_answer_is_a_state_the_writes_passed_through(RustTable, RefTable):
    """Readers against a writer that changes their answers (see tests/stress.py):
    every answer is the reference's after some number of writes between those
    finished before the read and those begun after it."""
    import stress

    r = stress.ordered_writes(RustTable, RefTable, seconds=DURATION, readers=N_READERS - 2)
    assert r["errors"] == [] and r["hung"] == 0, r["errors"]
    assert r["wrong"] == [], r["wrong"][:5]
    assert r["writes"] > 1000 and r["batches"] > 0 and r["single rounds"] > 0, r
    assert r["answers checked"] > 10 * r["unchecked (a whole cycle of writes during the read)"], r


def test_close_during_batches_and_single_lookups(tmp_path):
    import geoip_rs
    import stress
    from dbfixtures import IPASN, shared, v4_addresses

    path = tmp_path / "t.geoipdb"
    geoip_rs.build_database(path, ipasn=shared(IPASN), progress=False).close()
    r = stress.close_during_batches(path, v4_addresses(50_000, seed=4), rounds=30)
    assert r["errors"] == [] and r["hung"] == 0 and r["wrong"] == 0, r
    assert r["closed errors"] == 4 * 30 and r["answered"] > 0, r
