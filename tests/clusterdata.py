"""What the cluster tests (test_dask.py, test_spark.py) share: the addresses they
enrich, the oracle every answer is checked against (``Database.lookup`` on the same
address), and the rule that the engines are never skipped in CI.
"""

from __future__ import annotations

import collections
import importlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import pytest
from conftest import IN_CI
from frames_oracle import COLUMNS, addresses, expected_row, texts

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
    return COLUMNS[1:]


def mixed_addresses(seed: int) -> list[str | None]:
    """2,000 addresses of the bundled sample as text (the Arrow tests' mix: routed,
    uniform, misses and nulls)."""
    return texts(addresses(2000, seed))


def expected(db: geoip_rs.Database, address: str | None) -> dict[str, Any] | None:
    """The oracle: the record columns of ``db.lookup(address)``, or None for a
    null, a malformed string or a miss."""
    try:
        ip = None if address is None else ipaddress.ip_address(address)
    except ValueError:
        return None
    row = expected_row(db, ip)
    return row if row["prefix"] is not None else None


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
