"""What the cluster tests (test_dask.py, test_spark.py) share: the addresses they
enrich, the oracle every answer is checked against (``Database.lookup`` on the same
address), and the rule that the engines are never skipped in CI.
"""

from __future__ import annotations

import collections
import importlib
import ipaddress
import random
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import pytest
from conftest import IN_CI

import geoip_rs

#: Strings that are not addresses: each a ValueError for ``db.lookup``.
MALFORMED = ["1.2.3", "8.8.8.800", "not an address", "", "2001:db8::g", "1.2.3.4/24"]


def require(module: str) -> ModuleType:
    """The engine's module: skipped where it is not installed, except in CI, where
    the test extras install it and its absence is a failure."""
    if IN_CI:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def record_columns() -> list[str]:
    """Every record column but the address, in schema order (what enrich adds)."""
    import pyarrow as pa

    return [n for n in pa.schema(geoip_rs.arrow_schema()).names if n != "address"]


def mixed_addresses(db: geoip_rs.Database, seed: int) -> list[str | None]:
    """About 2,000 addresses, shuffled: the first and a random address of prefixes
    the database routes (IPv4 from a dozen /8s, IPv6 from all of it), uniform random
    IPv4 and IPv6 addresses (mostly misses for IPv6), and nulls."""
    rng = random.Random(seed)
    v4 = [net for first in rng.sample(range(1, 224), 12) for net, _ in db.covered(f"{first}.0.0.0/8")]
    v6 = [net for net, _ in db.covered("::/0")]
    out: list[str | None] = []
    for nets, k in ((v4, 500), (v6, 300)):
        for net in rng.sample(nets, min(k, len(nets))):
            out.append(str(net.network_address))
            out.append(str(net.network_address + rng.randrange(net.num_addresses)))
    out += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(300)]
    out += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(100)]
    out += [None] * 40
    rng.shuffle(out)
    return out


def expected(db: geoip_rs.Database, address: str | None) -> dict[str, Any] | None:
    """The oracle: the record columns of ``db.lookup(address)``, or None for a
    null, a malformed string or a miss."""
    if address is None:
        return None
    try:
        r = db.lookup(address)
    except ValueError:
        return None
    if r is None:
        return None
    d = r.to_dict()
    d.update(prefix=str(r.prefix), prefix_len=r.prefix.prefixlen, origins=list(r.origins))
    return d


def check_rows(
    db: geoip_rs.Database,
    addresses: Sequence[str | None],
    rows: Iterable[Mapping[str, Any]],
    names: Sequence[str],
    prefix: str = "",
) -> collections.Counter[str]:
    """Assert that each row (plain Python values, in the order of ``addresses``)
    holds what ``db.lookup`` says of its address; count the kinds of answer."""
    seen: collections.Counter[str] = collections.Counter()
    for a, row in zip(addresses, rows, strict=True):
        want = expected(db, a)
        got = {n: row[prefix + n] for n in names}
        if want is None:
            assert all(v is None for v in got.values()), (a, got)
            seen["null"] += 1
        else:
            assert got == {n: want[n] for n in names}, a
            seen["v6" if ":" in a else "v4"] += 1
    return seen
