"""The oracle the Arrow, Polars and DuckDB tests check answers against: ``db.lookup``
of each address on the bundled sample database, one at a time, turned into the row
``Database.to_arrow`` documents. And the addresses they ask about: inside routed
prefixes (taken from iterating the database), uniformly random, known misses, and
nulls, mixed and shuffled with a seed.
"""

from __future__ import annotations

import functools
import ipaddress
import random
from typing import Any, Union

import pyarrow as pa

import geoip_rs

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: Every column of to_arrow, in order, as the schema (not a list kept here) says.
COLUMNS: list[str] = pa.schema(geoip_rs.arrow_schema()).names

#: Addresses the sample does not route: documentation, private and special ranges.
MISSES = ["192.0.2.1", "198.51.100.7", "10.1.2.3", "100.64.0.1", "0.0.0.1",
          "255.255.255.255", "::1", "fe80::1", "2001:db8::1", "fc00::5", "::"]


@functools.cache
def sample_db() -> geoip_rs.Database:
    return geoip_rs.open(geoip_rs.sample_path())


@functools.cache
def routed_prefixes() -> tuple[Any, ...]:
    # About 2 s for the sample's 523k prefixes, so once per test session.
    return tuple(net for net, _ in sample_db())


def _inside(rng: random.Random, net: Any) -> IP:
    return net.network_address + rng.randrange(net.num_addresses)


def addresses(n: int, seed: int, *, nulls: bool = True, v4: bool = True, v6: bool = True) -> list[IP | None]:
    """``n`` addresses: about 60% inside routed prefixes (a third of them IPv6, which
    has few prefixes), 15% uniform IPv4, 10% random global unicast IPv6 (2000::/3),
    10% misses and, with ``nulls``, 5% None."""
    rng = random.Random(seed)
    nets4 = [p for p in routed_prefixes() if p.version == 4] if v4 else []
    nets6 = [p for p in routed_prefixes() if p.version == 6] if v6 else []
    misses = [a for a in map(ipaddress.ip_address, MISSES) if (a.version == 4 and v4) or (a.version == 6 and v6)]
    out: list[IP | None] = []
    while len(out) < n:
        roll = rng.random()
        if roll < 0.60:
            out.append(_inside(rng, rng.choice(nets6 if not nets4 or (nets6 and roll < 0.2) else nets4)))
        elif roll < 0.75 and v4:
            out.append(ipaddress.IPv4Address(rng.getrandbits(32)))
        elif roll < 0.85 and v6:
            out.append(ipaddress.IPv6Address((0x2 << 125) | rng.getrandbits(125)))
        elif roll < 0.95:
            out.append(rng.choice(misses))
        elif nulls:
            out.append(None)
    return out


def texts(ips: list[IP | None]) -> list[str | None]:
    return [None if ip is None else str(ip) for ip in ips]


def address_text(ip: IP) -> str:
    """An address's standard text as the Rust side writes it: ``ipaddress``'s, but an
    IPv4-mapped IPv6 address with its IPv4 part dotted (RFC 5952, and ``ipaddress``
    itself from Python 3.13 on)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return f"::ffff:{mapped}" if mapped is not None else str(ip)


def expected_row(db: geoip_rs.Database, ip: IP | None, columns: list[str] | None = None) -> dict[str, Any]:
    """The row to_arrow should give for ``ip`` (an address object or None)."""
    r = db.lookup(ip) if ip is not None else None
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row["address"] = None if ip is None else address_text(ip)
    if r is not None:
        row.update((c, getattr(r, c)) for c in COLUMNS if c not in ("address", "prefix_len"))
        row["prefix"] = str(r.prefix)
        row["prefix_len"] = r.prefix.prefixlen
        row["origins"] = list(r.origins)
    return {c: row[c] for c in (columns if columns is not None else COLUMNS)}


def expected_rows(db: geoip_rs.Database, ips: list[IP | None], columns: list[str] | None = None) -> list[dict[str, Any]]:
    return [expected_row(db, ip, columns) for ip in ips]


def assert_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Equal row lists, or an assertion naming the first row that differs (a diff of
    thousands of rows says nothing)."""
    assert len(got) == len(want), f"{len(got)} rows, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"row {i}: got {g}, expected {w}"


def assert_table(db: geoip_rs.Database, result: Any, ips: list[IP | None], columns: list[str] | None = None) -> None:
    """``result`` (anything with ``__arrow_c_stream__``) has to_arrow's schema for
    ``columns`` and the oracle's rows for ``ips``."""
    table = pa.table(result)
    assert table.schema == pa.schema(geoip_rs.arrow_schema(columns))
    assert_rows(table.to_pylist(), expected_rows(db, ips, columns))


def hits_and_misses(db: geoip_rs.Database, ips: list[IP | None]) -> tuple[int, int, int]:
    """How many of ``ips`` the database routes, misses, and are null: tests check the
    mix so that a broken generator cannot make them pass on misses alone."""
    found = sum(1 for ip in ips if ip is not None and db.lookup(ip) is not None)
    nulls = sum(1 for ip in ips if ip is None)
    return found, len(ips) - found - nulls, nulls
