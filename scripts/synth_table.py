"""A synthetic global routing table of today's size, grown from the real ones of
2014/2015: about 1.05M IPv4 and 230k IPv6 prefixes with origin ASes, written as a
pyasn ipasn file (``; `` header lines, then ``prefix<TAB>asn``, gzip), which
``geoip_rs.read_ipasn`` and ``build_database(path, ipasn=[...])`` read.

No full routing table of today is redistributable here (see ../shared/data/SOURCES.md),
so the benchmarks grow one. The start is real: the 2014 IPv4 table (pyasn's
``ipasn_20140513.dat.gz``, 512,621 prefixes) and the IPv6 half of
``ipasn6_20151101.dat.gz`` (27,693). The table then grows, one prefix length at a
time from short to long (so that longer prefixes may land in space given out at a
shorter length), by the three ways it grew since:

- new allocations in space no prefix covers yet (IPv4: anywhere outside the special
  ranges, IPv6: the RIRs' /12s), mostly to new 32-bit AS numbers of the RIRs' blocks;
  the IPv4 /22s of the last-/8 policies and the transfer market, the IPv6 /29s and
  /32s; IPv6 PI blocks (/48 ... /33) sit inside unannounced /32s, as RIR PI pools do;
- more-specifics inside announced prefixes (up to 8 bits longer in IPv4, 16 in IPv6):
  mostly the covering prefix's own AS, some a customer AS;
- deaggregation: a covering prefix announced again as all its more-specifics of one
  length (a /20 as sixteen /24s), by its own AS.

How many prefixes of each length: IPv4 follows the length mix of a real table of
today (the 1,058,306 prefixes of ../shared/data/prefixes/, counted into
``V4_TODAY``), IPv6 the shape of today's table (``V6_TODAY``: /48 about half, then
/32, /44, /40, /36, /29). A length the start already has more of than the target
(IPv4 /25 and longer, which a 2014 single-peer table carried more of) keeps what it
had; nothing is withdrawn. Reused AS numbers are drawn in proportion to how often
they were drawn before, so a few new ASes end up with many prefixes.

Everything comes from one seeded numpy generator: the same seed and scale give the
same bytes (the gzip header carries no time). ``--scale`` shrinks both the start
(a random part of the real tables) and the targets, for tests. About 10-20 s at full
scale.

    python scripts/synth_table.py [-o OUT.dat.gz] [--seed N] [--scale F] [--data DIR]
    python scripts/synth_table.py --cached    # print the cached file's path, made if missing

``--cached`` (and ``cached_table()`` from Python) keep the file in the ``bench``
folder of geoip_rs's cache directory (``geoip_rs.cache.cache_dir()``: ``$GEOIP_RS_CACHE``
or the platform's user cache directory), named by
generator version, seed and scale, so that benchmarks make it once and need no
manual step.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Bump when the output for a seed changes, so that cached files are made again.
VERSION = 1
DEFAULT_SEED = 2026
V4_TOTAL, V6_TOTAL = 1_050_000, 230_000

#: Prefixes per length in the real 1,058,306-prefix IPv4 list of today
#: (prefixes/prefix-trie_prefixes_ipv4.txt.gz, its /0 left out); the target mix.
V4_TODAY = {
    8: 16, 9: 14, 10: 41, 11: 94, 12: 303, 13: 581, 14: 1212, 15: 2134, 16: 13795,
    17: 8404, 18: 13884, 19: 25430, 20: 46023, 21: 53483, 22: 115616, 23: 112691,
    24: 663758, 25: 183, 26: 144, 27: 99, 28: 102, 29: 69, 30: 16, 31: 35, 32: 178,
}
#: Per mille of each IPv6 length in today's table (its published length mix, rounded).
V6_TODAY = {
    19: 1, 20: 2, 22: 1, 23: 1, 24: 2, 26: 1, 27: 1, 28: 6, 29: 42, 30: 4, 31: 3,
    32: 118, 33: 7, 34: 8, 35: 6, 36: 45, 37: 3, 38: 9, 39: 4, 40: 64, 41: 5, 42: 15,
    43: 6, 44: 93, 45: 10, 46: 21, 47: 15, 48: 500, 52: 1, 56: 3, 64: 3,
}
#: The RIRs' blocks of 32-bit AS numbers (APNIC, RIPE NCC, LACNIC, AFRINIC, ARIN).
NEW_ASN_BLOCKS = [(131072, 141626), (196608, 216476), (262144, 273821), (327680, 329728), (393216, 402333)]
#: IPv4 never routed globally (RFC 6890): nothing is allocated there.
V4_SPECIAL = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
              "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
              "203.0.113.0/24", "224.0.0.0/3"]
#: Where the RIRs give out IPv6 today, as the first 16 bits of each /12.
V6_POOLS = [0x2400, 0x2600, 0x2800, 0x2A00, 0x2C00]


@dataclass(eq=False)
class Family:
    """How one address family grows. Addresses are the top 64 bits (IPv4 shifted up
    by 32), so one code path serves both; only the start's IPv6 prefixes longer than
    /64 use ``lo``, and none is ever made."""

    name: str
    grain: int  # free space is tracked in blocks of this length
    max_gap: int  # a more-specific is at most this many bits longer than its parent
    customer: float  # share of more-specifics a customer AS announces
    #: per length, the shares of its growth that are (new allocations, deaggregation)
    shares: dict[int, tuple[float, float]] = field(default_factory=dict)


def v4_shares(length: int) -> tuple[float, float]:
    # /22 is what the last-/8 policies and the transfer market hand out; /24 grew by
    # splitting what was there.
    return {22: (0.6, 0.1), 23: (0.25, 0.35), 24: (0.08, 0.35)}.get(
        length, (0.5, 0.0) if length < 16 else (0.4, 0.12) if length < 22 else (0.0, 0.2))


def v6_shares(length: int) -> tuple[float, float]:
    # /29 (RIPE NCC) and /32 are allocations; /33-/48 mostly carve those up.
    if length <= 32:
        return {29: (0.95, 0.0), 32: (0.8, 0.05)}.get(length, (0.7, 0.0))
    return (0.2, 0.15) if length < 48 else (0.1, 0.15) if length == 48 else (0.0, 0.1)


V4 = Family("IPv4", grain=24, max_gap=8, customer=0.25, shares={n: v4_shares(n) for n in range(33)})
V6 = Family("IPv6", grain=32, max_gap=16, customer=0.1, shares={n: v6_shares(n) for n in range(129)})


# ---- the real start ----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def read_start(path: Path, family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``(hi, lo, length, asn)`` columns of one family's prefixes in an ipasn file
    (kept for the next table made in this process: callers never write to them)."""
    hi, lo, lens, asns = [], [], [], []
    v6 = family == "IPv6"
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            if line.startswith(";") or (":" in line) != v6:
                continue
            prefix, asn = line.split("\t")
            addr, length = prefix.split("/")
            if v6:
                n = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big")
                hi.append(n >> 64)
                lo.append(n & (2**64 - 1))
            else:
                hi.append(int.from_bytes(socket.inet_aton(addr), "big") << 32)
                lo.append(0)
            lens.append(int(length))
            asns.append(int(asn))
    return (np.array(hi, np.uint64), np.array(lo, np.uint64), np.array(lens, np.int64), np.array(asns, np.int64))


def targets(today: dict[int, float], total: int, have: np.ndarray) -> dict[int, int]:
    """How many prefixes to add at each length: ``today``'s mix scaled to ``total``,
    less what the start has; the rounding and any length already over its share are
    made up at the most common length."""
    scale = total / sum(today.values())
    counts = np.bincount(have, minlength=129)
    add = {n: max(0, round(c * scale) - int(counts[n])) for n, c in today.items()}
    top = max(today, key=today.get)
    add[top] = max(0, add[top] + total - len(have) - sum(add.values()))
    return add


# ---- AS numbers ----------------------------------------------------------------------


class AsPool:
    """Origins for new prefixes: ASes of the start in proportion to the prefixes they
    originate there (large networks get more customers and deploy IPv6 sooner), new
    32-bit ones (each used once when fresh), and new ones again in proportion to
    their use so far."""

    def __init__(self, rng: np.random.Generator, existing: np.ndarray):
        self.rng = rng
        self.existing = existing
        fresh = np.concatenate([np.arange(a, b) for a, b in NEW_ASN_BLOCKS])
        self.fresh = rng.permutation(fresh[~np.isin(fresh, existing)])
        self.next = 0
        self.uses: list[np.ndarray] = []

    def draw(self, n: int, existing: float, fresh: float) -> np.ndarray:
        """``n`` origins: a share ``existing`` of old ASes, ``fresh`` of never used
        32-bit ones, the rest new ones used before."""
        kind = self.rng.choice(3, size=n, p=[existing, fresh, 1 - existing - fresh])
        out = self.rng.choice(self.existing, size=n)
        used = np.concatenate(self.uses) if self.uses else np.empty(0, np.int64)
        if len(used) == 0:
            kind[kind == 2] = 1
        n_fresh = min(int((kind == 1).sum()), len(self.fresh) - self.next)
        fresh_at = np.flatnonzero(kind == 1)
        out[fresh_at[:n_fresh]] = self.fresh[self.next:self.next + n_fresh]
        self.next += n_fresh
        reuse_at = np.concatenate([fresh_at[n_fresh:], np.flatnonzero(kind == 2)])
        if len(used):
            out[reuse_at] = self.rng.choice(used, size=len(reuse_at))
        self.uses.append(out[kind > 0])
        return out


# ---- the growing table -----------------------------------------------------------------


class Table:
    """One family's prefixes as numpy columns, with the free space at ``grain``."""

    def __init__(self, family: Family, cols, free: np.ndarray, base_hi: np.ndarray):
        self.family = family
        self.hi, self.lo, self.len, self.asn = cols
        self.free, self.base_hi = free, base_hi  # free[i, j]: block j of pool i
        self.added: list[tuple] = []
        self.by_len: dict[int, np.ndarray] = {}

    def flush(self) -> None:
        if self.added:
            cols = zip(*self.added)
            self.hi, self.lo, self.len, self.asn = (np.concatenate([a, *b]) for a, b in
                                                    zip((self.hi, self.lo, self.len, self.asn), cols))
            self.added, self.by_len = [], {}

    def add(self, hi: np.ndarray, length: int, origin, limit: int | None = None) -> int:
        """Add the candidates at ``length`` not already there (the first of duplicates,
        at most ``limit`` of them); ``origin(indices)`` gives the chosen ones' ASes."""
        known = self.by_len.get(length)
        if known is None:
            known = self.by_len[length] = np.sort(self.hi[(self.len == length) & (self.lo == 0)])
        _, first = np.unique(hi, return_index=True)
        first = np.sort(first)
        keep = first[~np.isin(hi[first], known, assume_unique=True)][:limit]
        if len(keep):
            n = len(keep)
            self.added.append((hi[keep], np.zeros(n, np.uint64), np.full(n, length), origin(keep)))
            self.by_len[length] = np.sort(np.concatenate([known, hi[keep]]))
        return len(keep)

    def parents(self, length: int, gap: int) -> np.ndarray:
        """Indices of the prefixes from ``gap`` to 1 bits shorter than ``length``."""
        self.flush()
        return np.flatnonzero((self.len < length) & (self.len >= length - gap))


def shift(n) -> np.uint64:
    return np.uint64(64 - n)


def occupancy(hi, lens, grain: int, starts: np.ndarray, pool_len: int) -> np.ndarray:
    """``used[i, j]``: whether any prefix overlaps block ``j`` (of length ``grain``)
    of pool ``i``, the ``pool_len``-bit prefix at ``starts[i]`` (top-aligned)."""
    used = np.zeros((len(starts), 1 << (grain - pool_len)), bool)
    for i, start in enumerate(starts):
        inside = lens >= pool_len
        if pool_len:
            inside &= (hi >> shift(pool_len)) == (start >> shift(pool_len))
        first = ((hi[inside] - start) >> shift(grain)).astype(np.int64)
        span = np.left_shift(1, np.maximum(grain - lens[inside], 0))
        diff = np.zeros(used.shape[1] + 1, np.int64)
        np.add.at(diff, first, 1)
        np.add.at(diff, first + span, -1)
        used[i] = np.cumsum(diff[:-1]) > 0
    return used


def start_table(family: Family, cols) -> Table:
    hi, lens = cols[0], cols[2]
    if family is V4:
        special = [ipaddress.IPv4Network(n) for n in V4_SPECIAL]
        s_hi = np.array([int(n.network_address) << 32 for n in special], np.uint64)
        s_len = np.array([n.prefixlen for n in special])
        starts = np.zeros(1, np.uint64)
        used = occupancy(np.concatenate([hi, s_hi]), np.concatenate([lens, s_len]), 24, starts, 0)
    else:
        starts = np.array([p << 48 for p in V6_POOLS], np.uint64)
        used = occupancy(hi, lens, 32, starts, 12)
    return Table(family, cols, ~used, starts)


# ---- the three ways to grow ------------------------------------------------------------


def allocate(t: Table, rng, length: int, n: int, asns: AsPool, origins: tuple[float, float]) -> int:
    """``n`` new prefixes of ``length`` in free space, each its own block when the
    length is at most the grain, else inside fresh unannounced grain blocks (PI
    pools, 64 prefixes to a block on average). Returns how many were added."""
    g = t.family.grain
    per = 1 << max(g - length, 0)
    groups = t.free.reshape(len(t.base_hi), -1, per)  # a view: marks land in t.free
    blocks = np.flatnonzero(groups.all(axis=2).ravel())
    k = min(len(blocks), n if length <= g else -(-n // 64))
    if n == 0 or k == 0:
        return 0
    pick = np.sort(rng.choice(blocks, size=k, replace=False))
    pool, block = np.divmod(pick, groups.shape[1])
    groups[pool, block] = False
    hi = t.base_hi[pool] + (block.astype(np.uint64) << shift(min(length, g)))
    if length > g:
        sub = rng.integers(0, 1 << (length - g), size=n).astype(np.uint64)
        hi = hi[rng.integers(0, k, size=n)] | (sub << shift(length))
    return t.add(hi, length, lambda i: asns.draw(len(i), *origins))


def more_specifics(t: Table, rng, length: int, n: int, asns: AsPool) -> int:
    """``n`` prefixes of ``length`` at random places inside announced prefixes up to
    ``max_gap`` bits shorter (any shorter one if there are none): the covering
    prefix's AS, or a customer AS for a share of them."""
    added = 0
    for _ in range(8):
        want = n - added
        cand = t.parents(length, t.family.max_gap)
        cand = cand if len(cand) else t.parents(length, length)
        if want <= 0 or not len(cand):
            break
        par = cand[rng.integers(0, len(cand), size=want + want // 8 + 8)]
        sub = rng.integers(0, np.left_shift(1, length - t.len[par]))
        hi = t.hi[par] | (sub.astype(np.uint64) << shift(length))
        customer = rng.random(len(par)) < t.family.customer

        def origin(i, par=par, customer=customer):
            out = t.asn[par[i]].copy()
            out[customer[i]] = asns.draw(int(customer[i].sum()), existing=0.6, fresh=0.05)
            return out

        added += t.add(hi, length, origin, limit=want)
    return added


def deaggregate(t: Table, rng, length: int, n: int, gap: int = 4) -> int:
    """About ``n`` prefixes of ``length``: covering prefixes up to ``gap`` bits
    shorter, each announced again as all its more-specifics of that length."""
    added = 0
    for _ in range(4):
        want = n - added
        cand = t.parents(length, gap)
        if want <= 0 or not len(cand):
            break
        mean = np.left_shift(1, length - t.len[cand]).mean()
        par = rng.choice(cand, size=min(len(cand), int(want / mean * 1.2) + 1), replace=False)
        counts = np.left_shift(1, length - t.len[par])
        rep = np.repeat(par, counts)
        off = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        hi = t.hi[rep] | (off.astype(np.uint64) << shift(length))
        added += t.add(hi, length, lambda i, rep=rep: t.asn[rep[i]], limit=want)
    return added


def grow(t: Table, rng, add: dict[int, int], asns: AsPool, alloc_origins: tuple[float, float]) -> None:
    """Add ``add[length]`` prefixes at each length, shortest first: the family's
    shares of new allocations and deaggregation, the rest (and whatever those could
    not place) as more-specifics; what a rare length has no room for goes to the
    most common one at the end."""
    short = 0
    for length in sorted(add):
        n = add[length]
        if n <= 0:
            continue
        alloc, deagg = t.family.shares[length]
        done = allocate(t, rng, length, round(n * alloc), asns, alloc_origins)
        done += deaggregate(t, rng, length, round(n * deagg))
        short += n - done - more_specifics(t, rng, length, n - done, asns)
    if short:
        more_specifics(t, rng, max(add, key=add.get), short, asns)
    t.flush()


# ---- the whole table -----------------------------------------------------------------


def shared_data() -> Path:
    return Path(os.environ.get("GEOIP_RS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def subsample(rng, cols: tuple, scale: float) -> tuple:
    keep = np.sort(rng.choice(len(cols[0]), round(len(cols[0]) * scale), replace=False))
    return tuple(c[keep] for c in cols)


def generate(seed: int = DEFAULT_SEED, scale: float = 1.0, data: Path | None = None) -> dict[str, tuple]:
    """The synthetic table: for "IPv4" and "IPv6", ``(hi, lo, length, asn)`` columns
    sorted by address then length (see ``Family`` for ``hi``/``lo``)."""
    data = data or shared_data()
    rng = np.random.default_rng(seed)
    starts = {V4: read_start(data / "ipasn" / "ipasn_20140513.dat.gz", "IPv4"),
              V6: read_start(data / "ipasn" / "ipasn6_20151101.dat.gz", "IPv6")}
    if scale < 1:
        starts = {f: subsample(rng, cols, scale) for f, cols in starts.items()}
    asns = AsPool(rng, np.concatenate([cols[3] for cols in starts.values()]))
    out = {}
    plan = {V4: (V4_TODAY, V4_TOTAL, (0.2, 0.22)), V6: (V6_TODAY, V6_TOTAL, (0.5, 0.1))}
    for family, (today, total, alloc_origins) in plan.items():
        t = start_table(family, starts[family])
        grow(t, rng, targets(today, round(total * scale), t.len), asns, alloc_origins)
        order = np.lexsort((t.len, t.lo, t.hi))
        out[family.name] = tuple(c[order] for c in (t.hi, t.lo, t.len, t.asn))
    return out


def prefix_lines(name: str, cols: tuple) -> list[str]:
    """``prefix<TAB>asn`` lines, addresses written as ``ipaddress`` writes them."""
    hi, lo, lens, asns = cols
    if name == "IPv4":
        octet = [str(i) for i in range(256)]
        a = (hi >> np.uint64(32)).astype(np.int64)
        parts = zip(a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, lens.tolist(), asns.tolist())
        return [f"{octet[w]}.{octet[x]}.{octet[y]}.{octet[z]}/{n}\t{asn}\n" for w, x, y, z, n, asn in parts]
    ints = (int(h) << 64 | int(low) for h, low in zip(hi.tolist(), lo.tolist()))
    return [f"{ipaddress.IPv6Address(a).compressed}/{n}\t{asn}\n"
            for a, n, asn in zip(ints, lens.tolist(), asns.tolist())]


def write_ipasn(path: Path, tables: dict[str, tuple], seed: int, scale: float) -> None:
    """The pyasn ipasn file, its header as pyasn writes one; gzip without a time, so
    the same table gives the same bytes."""
    header = ["IP-ASN32-DAT file", f"Original file : synthetic, scripts/synth_table.py v{VERSION} "
              f"seed={seed} scale={scale:g}", "Converted on  : -",
              f"Prefixes-v4   : {len(tables['IPv4'][0])}", f"Prefixes-v6   : {len(tables['IPv6'][0])}", ""]
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as f:
        f.write("".join(f"; {h}\n" for h in header).encode())
        for name, cols in tables.items():
            f.write("".join(prefix_lines(name, cols)).encode())


def cache_dir() -> Path:
    from geoip_rs.cache import cache_dir as geoip_rs_cache

    return geoip_rs_cache() / "bench"


def cached_table(seed: int = DEFAULT_SEED, scale: float = 1.0, data: Path | None = None) -> Path:
    """The path of the synthetic table for ``seed`` and ``scale`` in ``cache_dir()``,
    made first if missing (written aside and renamed, so a reader never sees half)."""
    path = cache_dir() / f"synth_table_v{VERSION}_seed{seed}_scale{scale:g}.dat.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        write_ipasn(part, generate(seed, scale, data), seed, scale)
        os.replace(part, path)
    return path


def length_mix(lens: np.ndarray) -> dict[int, int]:
    counts = np.bincount(lens)
    return {n: int(c) for n, c in enumerate(counts) if c}


def report(tables: dict[str, tuple], out=sys.stderr) -> None:
    """Counts by family, the length mix against the target, and the origins."""
    for name, today in (("IPv4", V4_TODAY), ("IPv6", V6_TODAY)):
        lens, asns = tables[name][2], tables[name][3]
        mix, total = length_mix(lens), sum(today.values())
        print(f"{name}: {len(lens):,} prefixes, {len(np.unique(asns)):,} origin ASes", file=out)
        for n in sorted(set(mix) | set(today), key=lambda n: -mix.get(n, 0))[:12]:
            print(f"  /{n:<3} {mix.get(n, 0):>9,} {100 * mix.get(n, 0) / len(lens):6.2f}%"
                  f"   target {100 * today.get(n, 0) / total:6.2f}%", file=out)
    new = np.concatenate([t[3] for t in tables.values()])
    fresh = np.unique(new[np.isin(new, np.concatenate([np.arange(a, b) for a, b in NEW_ASN_BLOCKS]))])
    print(f"origin ASes in all: {len(np.unique(new)):,}, of them in the RIRs' 32-bit blocks: {len(fresh):,}", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, help="where to write (default: synth_table.dat.gz)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of today's size (and of the start)")
    ap.add_argument("--data", type=Path, default=None, help="the shared data directory")
    ap.add_argument("--cached", action="store_true", help="print the path of the cached table, made if missing")
    args = ap.parse_args()
    if args.cached:
        print(cached_table(args.seed, args.scale, args.data))
        return
    tables = generate(args.seed, args.scale, args.data)
    out = args.output or Path("synth_table.dat.gz")
    write_ipasn(out, tables, args.seed, args.scale)
    report(tables)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
