"""Pure-Python reference implementation of :class:`geoip_rs.PrefixTable`.

This is the executable specification that the tests cross-check the Rust tree bitmap
against. It favours being obviously correct over being fast:

* storage is one ``{network_int: value}`` dict per prefix length and address family;
  a longest match probes each present length from the longest down;
* ``lookup_batch`` flattens the prefixes of each family into sorted disjoint ranges
  (each carrying the value and length of its most specific covering prefix) and
  answers with ``np.searchsorted``; the flattening is cached until the next write.

Only the standard library (``ipaddress``, ``bisect``, ``operator``, ``sys``) and numpy are used, so
this module imports without the compiled extension.
"""

from __future__ import annotations

import bisect
import ipaddress
import operator
import sys
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import numpy as np

__all__ = ["PrefixTable"]

_MAXLEN = {4: 32, 6: 128}
_NETWORK_CLASS = {4: IPv4Network, 6: IPv6Network}
# _MASK[version][plen]: the netmask of a /plen as an int.
_MASK = {
    v: [((1 << plen) - 1) << (bits - plen) for plen in range(bits + 1)]
    for v, bits in _MAXLEN.items()
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NO_DEFAULT = object()

_TYPE_MSG = "expected an IP address or network as str, int, bytes or ipaddress object, got {}"
_BATCH_ARRAY_MSG = (
    "lookup_batch: expected a 1-D uint32 array of IPv4 addresses or an (N, 16) uint8 "
    "array of IPv6 addresses, got {} array of shape {}"
)
_BATCH_ITER_MSG = "lookup_batch: expected an array or an iterable of addresses, got {}"


def _type_error(x: object) -> TypeError:
    return TypeError(_TYPE_MSG.format(type(x).__name__))


def _check_address_type(x: object) -> None:
    # bool is an int subclass, but True as an address is almost certainly a bug.
    if isinstance(x, bool) or not isinstance(x, (str, int, bytes, IPv4Address, IPv6Address)):
        raise _type_error(x)


def _as_int(x: object) -> object:
    """Other integer types, such as numpy's scalars, as the int ``operator.index``
    makes of them (as the Rust side reads them); anything else unchanged."""
    if isinstance(x, (bool, int, str, bytes)) or not hasattr(type(x), "__index__"):
        return x
    try:
        return operator.index(x)
    except TypeError:  # numpy.bool_ has __index__ but refuses
        return x


def _parse_address(x: object) -> tuple[int, int]:
    """(version, address int) of an address argument, with ``ip_address``'s errors."""
    if isinstance(x, (IPv4Address, IPv6Address)):
        return x.version, int(x)
    x = _as_int(x)
    _check_address_type(x)
    a = ipaddress.ip_address(x)  # raises ValueError with the message we want
    return a.version, int(a)


def _parse_prefix(x: object, strict: bool) -> tuple[int, int, int]:
    """(version, network int, prefixlen) of a prefix argument, read like
    ``ipaddress.ip_network(x, strict=strict)`` (an address is a host prefix)."""
    if isinstance(x, (IPv4Network, IPv6Network)):
        return x.version, int(x.network_address), x.prefixlen
    x = _as_int(x)
    if isinstance(x, tuple):
        # (address,) or (address, prefixlen) as ip_network reads them, except that the
        # prefix length must be an int or a decimal str: ip_network would also take a
        # netmask str or a bool. A malformed tuple is a malformed network (ValueError);
        # an address of the wrong type is a TypeError naming that type.
        if len(x) in (1, 2):
            _check_address_type(x[0])
        plen = x[1] if len(x) == 2 else 0
        if (
            len(x) not in (1, 2)
            or isinstance(plen, bool)
            or not isinstance(plen, (int, str))
            or (isinstance(plen, str) and not (plen.isascii() and plen.isdigit()))
        ):
            raise ValueError(f"{x!r} does not appear to be an IPv4 or IPv6 network")
    else:
        _check_address_type(x)
    n = ipaddress.ip_network(x, strict=strict)
    return n.version, int(n.network_address), n.prefixlen


def _is_network_key(x: object) -> bool:
    return isinstance(x, (tuple, IPv4Network, IPv6Network)) or (isinstance(x, str) and "/" in x)


class _Flat:
    """Everything derived from one family's prefixes, rebuilt after each write.

    ``nets``/``plens``/``values``: all prefixes in address order (for items/covered).
    ``starts``/``ends``: disjoint sorted ranges; ``range_src[i]`` indexes the prefix
    (in the lists above) that is the most specific match for range i.
    """

    def __init__(self, version: int, by_len: dict[int, dict[int, object]]):
        maxlen = _MAXLEN[version]
        entries = sorted(
            (net, plen, value) for plen, d in by_len.items() for net, value in d.items()
        )  # (net, plen) pairs are unique, so values are never compared
        self.nets = [e[0] for e in entries]
        self.plens = [e[1] for e in entries]
        self.values = [e[2] for e in entries]

        # Sweep: prefixes sorted by (start, len) nest like brackets; the stack holds the
        # prefixes containing the current position, most specific on top.
        starts: list[int] = []
        ends: list[int] = []
        src: list[int] = []
        stack: list[tuple[int, int]] = []  # (last address, prefix index)
        pos = 0  # first address not yet emitted

        def emit(lo: int, hi: int, i: int) -> None:
            if lo <= hi:
                starts.append(lo)
                ends.append(hi)
                src.append(i)

        for i, (net, plen) in enumerate(zip(self.nets, self.plens)):
            while stack and stack[-1][0] < net:
                last, j = stack.pop()
                emit(pos, last, j)
                pos = last + 1
            if stack:
                emit(pos, net - 1, stack[-1][1])
            stack.append((net + (1 << (maxlen - plen)) - 1, i))
            pos = net
        while stack:
            last, j = stack.pop()
            emit(pos, last, j)
            pos = last + 1

        self.range_src = np.array(src, dtype=np.int64)
        self.plen_array = np.array(self.plens, dtype=np.int16)
        self.value_array = None  # int64 copy of values, made on demand for int tables
        if version == 4:
            self.starts = np.array(starts, dtype=np.uint32)
            self.ends = np.array(ends, dtype=np.uint32)
        else:
            # Big-endian 16-byte strings compare like the 128-bit ints they encode.
            self.starts = _pack6(starts)
            self.ends = _pack6(ends)

    def find(self, q: np.ndarray) -> np.ndarray:
        """Index into ``nets`` of the longest match of each address in q, or -1."""
        if len(self.starts) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        r = np.searchsorted(self.starts, q, side="right") - 1
        rc = np.maximum(r, 0)
        hit = (r >= 0) & (q <= self.ends[rc])
        return np.where(hit, self.range_src[rc], -1)


def _pack6(ints: list[int]) -> np.ndarray:
    return np.frombuffer(b"".join(i.to_bytes(16, "big") for i in ints), dtype="S16").copy()


class PrefixTable:
    """Longest-prefix-match table for IPv4 and IPv6 prefixes (pure-Python reference).

    Same API and semantics as :class:`geoip_rs.PrefixTable`; see its stub for docs.
    """

    __hash__ = None  # mutable

    def __init__(self, items=None, *, strict: bool = True) -> None:
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
        self._strict = strict
        self._by_len: dict[int, dict[int, dict[int, object]]] = {4: {}, 6: {}}
        self._lens: dict[int, list[int]] = {4: [], 6: []}  # present lengths, descending
        self._count = {4: 0, 6: 0}
        self._flat: dict[int, _Flat | None] = {4: None, 6: None}
        self._int_table: bool | None = None
        if items is not None:
            self.update(items)

    # ---- properties -------------------------------------------------------------

    @property
    def strict(self) -> bool:
        return self._strict

    @property
    def nbytes(self) -> int:
        # An estimate: the dicts and the cached arrays (not the value objects).
        total = sys.getsizeof(self._by_len)
        for v in (4, 6):
            total += sum(sys.getsizeof(d) for d in self._by_len[v].values())
            flat = self._flat[v]
            if flat is not None:
                total += flat.starts.nbytes + flat.ends.nbytes + flat.range_src.nbytes
        return total

    @property
    def compiled(self) -> bool:
        """Whether both families' flattened arrays (this table's read-only form,
        rebuilt after writes) are built."""
        return all(self._flat[v] is not None for v in (4, 6))

    def compile(self) -> bool:
        for v in (4, 6):
            self._flattened(v)
        return True

    def counts(self) -> tuple[int, int]:
        return self._count[4], self._count[6]

    def __len__(self) -> int:
        return self._count[4] + self._count[6]

    def __repr__(self) -> str:
        return f"PrefixTable(ipv4={self._count[4]}, ipv6={self._count[6]})"

    # ---- writes -----------------------------------------------------------------

    def _invalidate(self, version: int) -> None:
        self._flat[version] = None
        self._int_table = None

    def insert(self, prefix, value):
        v, net, plen = _parse_prefix(prefix, self._strict)
        d = self._by_len[v].get(plen)
        if d is None:
            d = self._by_len[v][plen] = {}
            self._lens[v] = sorted(self._by_len[v], reverse=True)
        old = d.get(net, _NO_DEFAULT)
        d[net] = value
        if old is _NO_DEFAULT:
            self._count[v] += 1
            old = None
        self._invalidate(v)
        return old

    def __setitem__(self, prefix, value) -> None:
        self.insert(prefix, value)

    def update(self, items) -> None:
        # Like dict.update: anything with keys() is a mapping, else (prefix, value) pairs.
        if hasattr(items, "keys"):
            for k in items.keys():
                self.insert(k, items[k])
        else:
            for prefix, value in items:
                self.insert(prefix, value)

    def pop(self, prefix, default=_NO_DEFAULT):
        v, net, plen = _parse_prefix(prefix, self._strict)
        d = self._by_len[v].get(plen)
        if d is None or net not in d:
            if default is _NO_DEFAULT:
                raise KeyError(prefix)
            return default
        value = d.pop(net)
        if not d:
            del self._by_len[v][plen]
            self._lens[v] = sorted(self._by_len[v], reverse=True)
        self._count[v] -= 1
        self._invalidate(v)
        return value

    def __delitem__(self, prefix) -> None:
        self.pop(prefix)

    def clear(self) -> None:
        for v in (4, 6):
            self._by_len[v] = {}
            self._lens[v] = []
            self._count[v] = 0
            self._invalidate(v)

    # ---- single lookups ---------------------------------------------------------

    def _key(self, key) -> tuple[int, int, int]:
        if _is_network_key(key):
            return _parse_prefix(key, self._strict)
        v, a = _parse_address(key)
        return v, a, _MAXLEN[v]

    def _longest(self, v: int, a: int, plen: int):
        """(prefixlen, network int, value) of the longest match, or None."""
        masks = _MASK[v]
        by_len = self._by_len[v]
        for length in self._lens[v]:
            if length <= plen:
                net = a & masks[length]
                d = by_len[length]
                if net in d:
                    return length, net, d[net]
        return None

    def __getitem__(self, key):
        m = self._longest(*self._key(key))
        if m is None:
            raise KeyError(key)
        return m[2]

    def get(self, key, default=None):
        m = self._longest(*self._key(key))
        return default if m is None else m[2]

    def lookup_with_prefix(self, key):
        v, a, plen = self._key(key)
        m = self._longest(v, a, plen)
        if m is None:
            return None
        length, net, value = m
        return _NETWORK_CLASS[v]((net, length)), value

    def __contains__(self, key) -> bool:
        return self._longest(*self._key(key)) is not None

    def exact(self, prefix, default=None):
        v, net, plen = _parse_prefix(prefix, self._strict)
        return self._by_len[v].get(plen, {}).get(net, default)

    def has_prefix(self, prefix) -> bool:
        v, net, plen = _parse_prefix(prefix, self._strict)
        return net in self._by_len[v].get(plen, {})

    def covering(self, key):
        v, a, plen = self._key(key)
        out = []
        for length in reversed(self._lens[v]):  # shortest first
            if length > plen:
                break
            net = a & _MASK[v][length]
            d = self._by_len[v][length]
            if net in d:
                out.append((_NETWORK_CLASS[v]((net, length)), d[net]))
        return out

    # ---- ordered views ----------------------------------------------------------

    def _flattened(self, v: int) -> _Flat:
        flat = self._flat[v]
        if flat is None:
            flat = self._flat[v] = _Flat(v, self._by_len[v])
        return flat

    def covered(self, prefix):
        v, net, plen = _parse_prefix(prefix, self._strict)
        flat = self._flattened(v)
        last = net | (~_MASK[v][plen] & _MASK[v][-1])
        # Prefixes inside [net, last] in address order; skip the shorter ones that
        # start exactly at net (they contain the prefix rather than lie inside it).
        lo = bisect.bisect_left(flat.nets, net)
        hi = bisect.bisect_right(flat.nets, last)
        cls = _NETWORK_CLASS[v]
        return [
            (cls((flat.nets[i], flat.plens[i])), flat.values[i])
            for i in range(lo, hi)
            if flat.plens[i] >= plen
        ]

    def items(self):
        out = []
        for v in (4, 6):
            flat = self._flattened(v)
            cls = _NETWORK_CLASS[v]
            out.extend((cls((n, p)), x) for n, p, x in zip(flat.nets, flat.plens, flat.values))
        return out

    def __iter__(self):
        return iter(self.items())

    def __eq__(self, other):
        if not isinstance(other, PrefixTable):
            return NotImplemented
        return self.counts() == other.counts() and self.items() == other.items()

    def __reduce__(self):
        pairs = [(str(n), x) for n, x in self.items()]
        return (type(self), (pairs,), {"strict": self._strict})

    def __setstate__(self, state) -> None:
        self._strict = bool(state["strict"])

    # ---- batch lookups ----------------------------------------------------------

    def _is_int_table(self) -> bool:
        if self._int_table is None:
            self._int_table = all(
                type(x) is int and _INT64_MIN <= x <= _INT64_MAX
                for v in (4, 6)
                for d in self._by_len[v].values()
                for x in d.values()
            )
        return self._int_table

    def _answer(self, v: int, q: np.ndarray, missing):
        """(values, prefixlen, found) for an array of one family's addresses."""
        flat = self._flattened(v)
        idx = flat.find(q)
        found = idx >= 0
        plens = np.full(len(q), -1, dtype=np.int16)
        plens[found] = flat.plen_array[idx[found]]
        if self._is_int_table():
            if flat.value_array is None:
                flat.value_array = np.array(flat.values, dtype=np.int64)
            values = np.full(len(q), missing, dtype=np.int64)
            values[found] = flat.value_array[idx[found]]
        else:
            values = [flat.values[i] if i >= 0 else None for i in idx.tolist()]
        return values, plens, found

    def lookup_batch(self, addresses, *, missing: int = -1, on_error: str = "raise"):
        missing = operator.index(missing)  # an int, as the Rust side requires
        if on_error not in ("raise", "null"):
            raise ValueError(f"on_error must be 'raise' or 'null', not {on_error!r}")
        if hasattr(addresses, "__arrow_c_stream__") or hasattr(addresses, "__arrow_c_array__"):
            import pyarrow as pa

            # The values only: the Rust side also checks the column's type.
            addresses = pa.chunked_array(addresses).to_pylist()
        if isinstance(addresses, np.ndarray) and addresses.dtype.kind not in "UO":
            a = addresses
            if a.dtype == np.uint32 and a.ndim == 1:
                return self._answer(4, a, missing)
            if a.dtype == np.uint8 and a.ndim == 2 and a.shape[1] == 16:
                return self._answer(6, np.ascontiguousarray(a).view("S16").reshape(-1), missing)
            raise TypeError(_BATCH_ARRAY_MSG.format(a.dtype, a.shape))
        if (
            isinstance(addresses, (str, bytes))
            or not hasattr(addresses, "__iter__")
            or (isinstance(addresses, np.ndarray) and addresses.ndim == 0)
        ):
            raise TypeError(_BATCH_ITER_MSG.format(type(addresses).__name__))

        pos = {4: [], 6: []}
        addrs = {4: [], 6: []}
        n = 0
        for i, x in enumerate(addresses):
            n = i + 1
            if x is None:  # no address: a miss
                continue
            try:
                v, a = _parse_address(x)
            except ValueError as e:
                if on_error == "null":
                    continue
                raise ValueError(f"{e} (at index {i})") from None
            except TypeError as e:
                raise TypeError(f"{e} (at index {i})") from None
            pos[v].append(i)
            addrs[v].append(a)
        queries = {
            4: np.array(addrs[4], dtype=np.uint32),
            6: _pack6(addrs[6]) if addrs[6] else np.empty(0, dtype="S16"),
        }
        found = np.zeros(n, dtype=np.bool_)
        plens = np.full(n, -1, dtype=np.int16)
        is_int = self._is_int_table()
        values = np.full(n, missing, dtype=np.int64) if is_int else [None] * n
        for v in (4, 6):
            if not pos[v]:
                continue
            fv, pv, f = self._answer(v, queries[v], missing)
            p = np.array(pos[v], dtype=np.int64)
            found[p] = f
            plens[p] = pv
            if is_int:
                values[p] = fv
            else:
                for i, x in zip(pos[v], fv):
                    values[i] = x
        return values, plens, found
