"""Address text read as the ``ipaddress`` module reads it, by every entry point:
``PrefixTable.get`` (with its dotted-quad fast path), ``PrefixTable.lookup_batch``,
``Database.lookup``, ``Database.lookup_batch`` and ``to_arrow``. Text that
``ipaddress.ip_address`` accepts gives the same address (a table of host routes,
one per accepted address, must answer each with its own); text it rejects raises
``ValueError`` (or is a null row under ``on_error="null"``).

The texts come from a generator of near-misses: addresses in every spelling with
damage of the kinds logs hold (leading zeros, signs, spaces, extra or missing parts,
scope ids, Unicode digits, too-large numbers, mixed case, control characters).
Hypothesis drives it in CI; a seeded run checks 200,000 texts (``--million`` in
``python tests/test_parse_differential.py`` runs 10^6 and prints the figures).
"""

from __future__ import annotations

import ipaddress
import random
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import geoip_rs

PIECES = ["0", "00", "000", "01", "1", "9", "10", "99", "127", "255", "256", "999", "4294967295",
          "ffff", "FFFF", "0000", "00000", "abcd", "g", "1e3", "0x1", "+1", "-1", " 1", "1 ", "١",
          "٣", "𝟏", "", "a", "A"]
SEPARATORS = [".", ":", "::", ":::", "/", "%", "%eth0", "%1", " ", "\t", "\x00", ".."]


def near_miss(rng: random.Random) -> str:
    """One text: a real address, slightly damaged most of the time."""
    kind = rng.randrange(6)
    if kind == 0:
        return str(ipaddress.IPv4Address(rng.getrandbits(32)))
    if kind == 1:
        a = ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 0, 64, 96, 112]))
        return rng.choice([a.compressed, a.exploded, a.compressed.upper()])
    if kind == 2:  # embedded IPv4 and scope ids
        v4 = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        head = rng.choice(["::ffff:", "::", "64:ff9b::", "1:2:3:4:5:6:", "1::2:", "::1:2:3:4:5:6:"])
        tail = rng.choice(["", "", "%eth0", "%", "%1%2", "/24"])
        return head + v4 + tail
    if kind == 3:  # parts and separators at random
        n = rng.randint(1, 10)
        out = rng.choice(PIECES)
        for _ in range(n - 1):
            out += rng.choice(SEPARATORS if rng.random() < 0.5 else [".", ":"]) + rng.choice(PIECES)
        return out
    text = list(near_miss(rng) if kind == 4 else str(ipaddress.IPv4Address(rng.getrandbits(32))))
    for _ in range(rng.randint(1, 3)):  # damage an address one character at a time
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(3)
        if op == 0 and text and i < len(text):
            del text[i]
        elif op == 1:
            text.insert(i, rng.choice("0123456789abcdef.:/% x\u0660"))
        elif text and i < len(text):
            text[i] = rng.choice("0123456789.:")
    return "".join(text)


def accepted(text: str):
    """The address ``ipaddress`` reads, without an IPv6 scope id (``%eth0``: it names
    a link, not an address, and is not part of what a lookup answers)."""
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ipaddress.ip_address(int(a)) if a.version == 4 else ipaddress.IPv6Address(int(a))


def host_table(texts):
    """Host routes for every accepted address, each answering its own text form."""
    routes = {a: str(a) for a in map(accepted, texts) if a is not None}
    return geoip_rs.PrefixTable((ipaddress.ip_network(a), v) for a, v in routes.items())


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A database where every address is routed (four halves of the two families)."""
    d = tmp_path_factory.mktemp("parse")
    ipasn = d / "ipasn.txt"
    ipasn.write_text("0.0.0.0/1\t1\n128.0.0.0/1\t2\n::/1\t3\n8000::/1\t4\n")
    with geoip_rs.build_database(d / "all.geoipdb", ipasn=ipasn, progress=False) as db:
        yield db


def check(texts, db) -> dict:
    """Every entry point against ``ipaddress``; returns counts for the figures."""
    want = [accepted(t) for t in texts]
    table = host_table(texts)
    for tb in (table, geoip_rs.PrefixTable(table.items())):
        if tb is not table:
            tb.compile()
        for t, w in zip(texts, want):
            if "/" in t:  # get() takes networks too, as ip_network reads them
                continue
            if w is None:
                with pytest.raises(ValueError):
                    tb.get(t)
            else:
                assert tb.get(t) == str(w), t
    values, _, found = table.lookup_batch(texts, on_error="null")
    assert found.tolist() == [w is not None for w in want]
    for t, w, v in zip(texts, want, values if len(table) else []):
        assert v == (str(w) if w is not None else None), (t, v)
    cols = db.lookup_batch(texts, on_error="null")
    assert cols["found"].tolist() == [w is not None for w in want]
    for t, w in zip(texts, want):
        if w is None:
            with pytest.raises(ValueError):
                db.lookup(t)
        else:
            r = db.lookup(t)
            assert r.address == w, t
    bad = [i for i, w in enumerate(want) if w is None]
    if bad:
        with pytest.raises(ValueError, match=f"at index {bad[0]}\\)"):
            db.lookup_batch(texts)
    return {"texts": len(texts), "accepted": sum(w is not None for w in want)}


@given(st.lists(st.randoms(use_true_random=False).map(near_miss), min_size=1, max_size=40))
def test_generated_texts_read_as_ipaddress_reads_them(db, texts):
    check(texts, db)


def test_two_hundred_thousand_seeded_texts(db):
    rng = random.Random(2026)
    texts = [near_miss(rng) for _ in range(200_000)]
    counts = check(texts, db)
    # the generator makes both kinds in number
    assert 0.2 < counts["accepted"] / counts["texts"] < 0.8, counts


if __name__ == "__main__":
    n = 1_000_000 if "--million" in sys.argv else 200_000
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        ipasn = Path(d) / "ipasn.txt"
        ipasn.write_text("0.0.0.0/1\t1\n128.0.0.0/1\t2\n::/1\t3\n8000::/1\t4\n")
        with geoip_rs.build_database(Path(d) / "all.geoipdb", ipasn=ipasn, progress=False) as database:
            rng = random.Random(1)
            t = time.perf_counter()
            texts = [near_miss(rng) for _ in range(n)]
            c = check(texts, database)
            print(f"{c['texts']:,} texts, {c['accepted']:,} accepted by ipaddress, "
                  f"0 disagreements, {time.perf_counter() - t:.0f} s")
