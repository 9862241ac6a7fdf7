"""Independent oracles for the MMDB tests (tests/test_mmdb*.py).

Nothing here asks geoip_rs's MMDB writer or reader anything: the expected record
of an address is built from the database's own answer (``Database.to_arrow`` or
``lookup``) by the documented record layout; the search tree is read straight from
the file's bytes with numpy; ``mmdblookup``'s dump and MaxMind's JSON source data
are parsed here; and the ``maxminddb`` package runs in a child process when a
comparison can use the machine's second core (see ``tests/mmdb_peer.py``).
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXT_FIELDS = ("as_name", "org_id", "org_name", "country", "country_source", "registry")
#: Every column of ``Database.to_arrow`` but the address: what one answer is.
ANSWER_COLUMNS = ("prefix", "prefix_len", "asn", "origins", *TEXT_FIELDS)
ALIASED = [ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "2001::/32", "2002::/16")]


# ---- the record an export must hold ----------------------------------------------------


def expected_record(row: dict[str, Any]) -> dict[str, Any] | None:
    """The MMDB record of one database answer (a ``to_arrow`` row or a
    ``Record.to_dict()``), as ``Database.to_mmdb`` documents it; None for a miss."""
    if row["prefix"] is None:
        return None
    length = row["prefix_len"] if "prefix_len" in row else row["prefix"].prefixlen
    inner = {"prefix": str(row["prefix"]), "asn": row["asn"], "origins": list(row["origins"])}
    inner.update((f, row[f]) for f in TEXT_FIELDS if row[f] is not None)
    inner["prefix_length"] = length
    record: dict[str, Any] = {"autonomous_system_number": row["asn"]}
    organisation = row["org_name"] or row["as_name"]
    if organisation:
        record["autonomous_system_organization"] = organisation
    if row["country"]:
        record["country"] = {"iso_code": row["country"]}
        record["registered_country"] = {"iso_code": row["country"]}
    record["geoip_rs"] = inner
    return record


def expected_records(table: pa.Table) -> list[dict | None]:
    """``expected_record`` of every row of a ``to_arrow`` table, one dict per
    distinct answer (shared by the rows that have it)."""
    columns = [_plain(table.column(n)).to_pylist() for n in ANSWER_COLUMNS]
    origins = ANSWER_COLUMNS.index("origins")
    columns[origins] = [o and tuple(o) for o in columns[origins]]  # hashable
    built: dict[tuple, dict | None] = {}
    out = []
    with no_gc():
        for answer in zip(*columns):
            if answer not in built:
                built[answer] = expected_record(dict(zip(ANSWER_COLUMNS, answer)))
            out.append(built[answer])
    return out


def same_answers(a: pa.Table, b: pa.Table) -> np.ndarray:
    """Row by row, whether two ``to_arrow`` tables hold the same answer (every
    column but the address; a null equals only a null)."""
    same = np.ones(a.num_rows, bool)
    for name in ANSWER_COLUMNS:
        x, y = _plain(a.column(name)), _plain(b.column(name))
        if name == "origins":
            x, y = (pc.binary_join(pc.cast(c, pa.list_(pa.string())), "_") for c in (x, y))
        nulls = pc.equal(pc.is_null(x), pc.is_null(y))
        equal = pc.and_(nulls, pc.fill_null(pc.equal(x, y), True))
        same &= equal.to_numpy(zero_copy_only=False)
    return same


def _plain(column):
    """A dictionary-encoded column as plain text."""
    return pc.cast(column, pa.string()) if pa.types.is_dictionary(column.type) else column


@contextlib.contextmanager
def no_gc():
    """Without the cyclic garbage collector (as it was before, after): with
    millions of record dicts alive, each of its full passes walks them all, which
    tripled the time of a million lookups. Nothing made in these loops is cyclic;
    the test modules keep it off for their whole run (``gc_off`` fixtures)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---- addresses -------------------------------------------------------------------------


def v6_inside(rng: np.random.Generator, nets: list, n: int) -> np.ndarray:
    """``n`` IPv6 addresses as an (n, 16) uint8 array, each inside a random one of
    ``nets`` (``ipaddress`` networks)."""
    pick = rng.integers(0, len(nets), n)
    base = np.frombuffer(b"".join(nets[i].network_address.packed for i in pick), np.uint8).reshape(n, 16)
    plen = np.array([nets[i].prefixlen for i in pick])
    noise = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    mask = v6_masks(plen)
    return (base & mask) | (noise & ~mask)


def v6_masks(plen: np.ndarray) -> np.ndarray:
    """The netmask of each prefix length as an (n, 16) uint8 array."""
    return np.packbits(np.arange(128)[None, :] < np.asarray(plen)[:, None], axis=1)


def v4_ends(addr: np.ndarray, plen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last address of the /plen network holding each IPv4 address."""
    host = (np.uint64(1) << (32 - plen.astype(np.uint64))) - np.uint64(1)
    a = addr.astype(np.uint64)
    return (a & ~host).astype(np.uint32), (a | host).astype(np.uint32)


def v6_ends(addr: np.ndarray, plen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = v6_masks(plen)
    return addr & mask, addr | ~mask


def prefix_ends(nets: list) -> tuple[np.ndarray, np.ndarray]:
    """First and last address of every prefix: IPv4 as uint32, IPv6 as (n, 16)."""
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    first4 = np.array([int(n.network_address) for n in v4], np.uint32)
    ends4 = v4_ends(first4, np.array([n.prefixlen for n in v4]))
    first6 = np.frombuffer(b"".join(n.network_address.packed for n in v6), np.uint8).reshape(-1, 16)
    ends6 = v6_ends(first6, np.array([n.prefixlen for n in v6]))
    return np.concatenate(ends4), np.concatenate(ends6)


# ---- the search tree, read from the bytes -------------------------------------------------


class Tree:
    """An MMDB file's search tree decoded with numpy (metadata from maxminddb's
    pure-Python reader), walked as MaxMind's readers walk it."""

    def __init__(self, path: Path):
        reader = maxminddb.open_database(str(path), maxminddb.MODE_FILE)
        meta = reader.metadata()
        reader.close()
        self.node_count, self.record_size = meta.node_count, meta.record_size
        self.ip_version = meta.ip_version
        width = self.record_size // 4  # bytes per node
        raw = np.fromfile(path, np.uint8, self.node_count * width).reshape(-1, width).astype(np.uint32)
        if self.record_size == 28:  # the middle byte's nibbles are the high bits
            self.left = (raw[:, 3] >> 4) << 24 | raw[:, 0] << 16 | raw[:, 1] << 8 | raw[:, 2]
            self.right = (raw[:, 3] & 15) << 24 | raw[:, 4] << 16 | raw[:, 5] << 8 | raw[:, 6]
        else:
            half = width // 2
            weights = 256 ** np.arange(half - 1, -1, -1, dtype=np.uint64)
            self.left = (raw[:, :half] @ weights).astype(np.uint32)
            self.right = (raw[:, half:] @ weights).astype(np.uint32)
        self.ipv4_start = self.descend(0, 0, 96 if self.ip_version == 6 else 0)[0]

    def descend(self, node: int, value: int, bits: int, width: int = 128) -> tuple[int, int]:
        """Follow the top ``bits`` bits of ``value`` (a ``width``-bit number) from
        ``node``: the node reached and the depth it was reached at."""
        for depth in range(bits):
            if node >= self.node_count:
                return node, depth
            bit = (value >> (width - 1 - depth)) & 1
            node = int(self.right[node] if bit else self.left[node])
        return node, bits

    def leaves(self, under: Any = None) -> list[tuple[Any, int]]:
        """``(network, data offset)`` of every record in the tree (or under the
        IPv6 network ``under``); an alias of the IPv4 subtree is not followed again
        and IPv4 networks come as IPv4, as ``maxminddb``'s ``Reader.__iter__``."""
        start, acc, depth = 0, 0, 0
        if under is not None:
            start, depth = self.descend(0, int(under.network_address), under.prefixlen)
            acc = int(under.network_address) >> (128 - depth)
        out = []
        stack = [(start, depth, acc)]
        with no_gc():
            while stack:
                node, depth, acc = stack.pop()
                if node == self.ipv4_start and acc != 0:
                    continue  # an alias of ::/96
                if node > self.node_count:
                    out.append((self.network(acc, depth), node - self.node_count - 16))
                elif node < self.node_count:
                    stack.append((int(self.right[node]), depth + 1, acc << 1 | 1))
                    stack.append((int(self.left[node]), depth + 1, acc << 1))
        return out

    def network(self, acc: int, depth: int):
        if self.ip_version == 4:
            return ipaddress.IPv4Network((acc << (32 - depth), depth))
        value = acc << (128 - depth)
        if depth >= 96 and value < 2**32:
            return ipaddress.IPv4Network((value, depth - 96))
        return ipaddress.IPv6Network((value, depth))


# ---- mmdblookup's dump --------------------------------------------------------------------

_SCALAR = re.compile(r"^(.*) <(\w+)>$")


def parse_mmdblookup(text: str) -> Any:
    """The value ``mmdblookup`` prints: maps, arrays, and scalars annotated with
    their type (``15169 <uint32>``, ``"US" <utf8_string>``)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    value, end = _parse_value(lines, 0)
    assert end == len(lines), lines[end:]
    return value


def _parse_value(lines: list[str], i: int) -> tuple[Any, int]:
    line = lines[i]
    if line in ("{", "["):
        close, items, i = "}" if line == "{" else "]", [], i + 1
        while lines[i] != close:
            key = None
            if close == "}":
                key, i = json.loads(lines[i][:-1]), i + 1  # '"name":'
            value, i = _parse_value(lines, i)
            items.append((key, value))
        return (dict(items) if close == "}" else [v for _, v in items]), i + 1
    m = _SCALAR.match(line)
    assert m, line
    text, kind = m.groups()
    if kind == "utf8_string":
        return text[1:-1], i + 1  # printed between quotes, unescaped
    if kind in ("double", "float"):
        return float(text), i + 1
    if kind == "boolean":
        return text == "true", i + 1
    return int(text), i + 1  # uint16 ... uint128, int32


# ---- MaxMind's test databases ---------------------------------------------------------------


def json_networks(path: Path) -> list[tuple[Any, Any]]:
    """The ``(network, record)`` entries of a MaxMind ``source-data`` JSON file in
    file order (host bits cleared, as MaxMind's writer does)."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [(ipaddress.ip_network(k, strict=False), v) for e in entries for k, v in e.items()]


def json_oracle(entries: list) -> dict:
    """``{network: record}`` (a later entry of a network replaces an earlier one,
    as MaxMind's writer does) and the prefix lengths present, per family."""
    table = {net: record for net, record in entries}
    lengths = {v: sorted({n.prefixlen for n in table if n.version == v}, reverse=True) for v in (4, 6)}
    return {"table": table, "lengths": lengths}


def json_answer(oracle: dict, address) -> Any:
    """The record of the most specific JSON network holding ``address``."""
    for length in oracle["lengths"][address.version]:
        net = ipaddress.ip_network((address, length), strict=False)
        if net in oracle["table"]:
            return oracle["table"][net]
    return None


def as_floats(value: Any) -> Any:
    """``value`` with every number a float (JSON and MMDB types differ)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {k: as_floats(v) for k, v in value.items()}
    return [as_floats(v) for v in value]


def leaf(record: Any, path: str) -> Any:
    """The value at a dotted path (``subdivisions.0.iso_code``), None if absent."""
    for part in path.split("."):
        if isinstance(record, dict):
            record = record.get(part)
        elif isinstance(record, list) and part.isdigit() and int(part) < len(record):
            record = record[int(part)]
        else:
            return None
    return record


def leaf_paths(record: Any, prefix: str = "") -> set[str]:
    """The paths of a record's leaves as ``lookup_batch`` picks them by default:
    arrays are leaves, localised ``names`` only in English."""
    if not isinstance(record, dict):
        return {prefix[:-1]}
    out = set()
    for k, v in record.items():
        if prefix.endswith("names.") and k != "en":
            continue
        out |= leaf_paths(v, f"{prefix}{k}.")
    return out


# ---- maxminddb in a child process --------------------------------------------------------------

PEER = Path(__file__).with_name("mmdb_peer.py")


class Peer:
    """``maxminddb`` answering in a child process while the test goes on: every
    address's ``get_with_prefix_len`` (or, without addresses, the iteration)."""

    def __init__(self, folder: Path, path: Path, mode: str, addresses: list[str] | None = None):
        self.out = folder / f"peer-{mode}-{id(self)}.pickle"
        job = "iter"
        if addresses is not None:
            job = str(folder / f"addresses-{id(self)}.pickle")
            Path(job).write_bytes(pickle.dumps(addresses, protocol=5))
        self.proc = subprocess.Popen([sys.executable, str(PEER), str(path), mode, job, str(self.out)],
                                     stderr=subprocess.PIPE, text=True)

    def result(self, timeout: float = 300) -> tuple[str, list]:
        """``(the reader's module, answers)``."""
        _, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, err
        return pickle.loads(self.out.read_bytes())
