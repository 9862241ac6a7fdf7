"""History databases: file size, build time and lookup speed over a synthetic churn
series made from the bundled sample.

The sample's prefixes (497k IPv4 + 26k IPv6, one origin AS each) are the first
snapshot; each later one changes a share of the prefixes of the one before, drawn
with a fixed seed: withdrawals (25% of the changes), new more-specifics inside a
routed prefix (25%), re-originations to another AS (30%), splits of a prefix into its
two halves (10%) and merges of two routed halves into their parent (10%). Each
snapshot is written as a dated pyasn file (``ipasn_YYYYMMDD.dat``) and built into a
database with the sample's RIR delegated files and AS names (the same files every
time). Two series:

- 30 daily snapshots, 1% of the prefixes changed a day (``--daily-churn``);
- 60 monthly snapshots, 5% a month (``--monthly-churn``): an assumed realistic monthly
  rate, not one measured here.

The databases are cached in the work directory (``--work-dir``; default the ``bench``
folder of geoip_rs's cache), named by the series' parameters, so a re-run only measures.

Prints: the size of each history against its newest snapshot alone (a one-date
database), each file section's size, and whom the timeline section's words are for;
the time to build the daily history from its databases; batches of IPv4 addresses
(uniform random, and inside announced prefixes) through ``lookup_batch`` with one
time per address spread over the daily snapshots (``datetime64[s]``, and the same as
int64 seconds), with one time for all, with no time, and through the newest day's
one-date database, in M lookups/s on every core and on one; single
``lookup(str, at=T)`` (T of several types) from a Python loop against the one-date
``lookup(str)``, in ns per call; then each goal and whether it is met. Every figure
is the median of ``--repeat`` runs, a table's rows timed in turn (so that the load of
a shared machine weighs on each alike); nothing is asserted but that the history
answers as the one-date databases do.

    python benches/history.py [--quick] [--work-dir DIR] [--data DIR] [--batch N]
                              [--single N] [--repeat R] [--seed S]

``--quick``: 3 daily and 3 monthly snapshots, small batches, for a smoke test.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import socket
import statistics
import struct
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import geoip_rs
from compare import DEFAULT_DATA, load_script, median_time, one_core

#: Bump when the series made for a seed change, so that cached databases are made again.
VERSION = 1

#: The kinds of change and their shares of a step's changes.
MIX = {"withdraw": 0.25, "announce": 0.25, "reoriginate": 0.30, "split": 0.10, "merge": 0.10}
#: No new prefix, nor half, longer than these.
MAX_LEN = {4: 24, 6: 48}
BITS = {4: 32, 6: 128}


def parse(text: str) -> tuple[int, int, int]:
    """A prefix's ``(version, network as int, length)``."""
    addr, length = text.split("/")
    if ":" in addr:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big"), int(length)
    return 4, int.from_bytes(socket.inet_aton(addr), "big"), int(length)


def text(v: int, net: int, length: int) -> str:
    if v == 4:
        return f"{socket.inet_ntoa(net.to_bytes(4, 'big'))}/{length}"
    return f"{socket.inet_ntop(socket.AF_INET6, net.to_bytes(16, 'big'))}/{length}"


class Table:
    """A routing table as it churns: prefix text -> origin AS, with the prefixes in a
    list too, so that one is drawn at random in constant time."""

    def __init__(self, items):
        self.asn = dict(items)
        self.keys = list(self.asn)
        self.pos = {k: i for i, k in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, asn: int) -> None:
        if key not in self.asn:
            self.pos[key] = len(self.keys)
            self.keys.append(key)
        self.asn[key] = asn

    def remove(self, key: str) -> None:
        del self.asn[key]
        i = self.pos.pop(key)
        last = self.keys.pop()
        if i < len(self.keys):
            self.keys[i] = last
            self.pos[last] = i

    def draw(self, rng: random.Random) -> str:
        return self.keys[rng.randrange(len(self.keys))]


def change(t: Table, rng: random.Random, kind: str) -> bool:
    """One change of ``kind``; False if the drawn prefix does not allow it."""
    key = t.draw(rng)
    if kind == "withdraw":
        t.remove(key)
        return True
    if kind == "reoriginate":
        t.asn[key] = t.asn[t.draw(rng)]
        return True
    v, net, length = parse(key)
    host = BITS[v] - length
    if kind == "announce":
        extra = min(MAX_LEN[v] - length, rng.randint(1, 4))
        if extra <= 0:
            return False
        sub = text(v, net | rng.getrandbits(extra) << (host - extra), length + extra)
        if sub in t.asn:
            return False
        # Half announced by the covering prefix's AS (deaggregation), half by another.
        t.add(sub, t.asn[key] if rng.random() < 0.5 else t.asn[t.draw(rng)])
    elif kind == "split":
        if length >= MAX_LEN[v]:
            return False
        lo, hi = text(v, net, length + 1), text(v, net | 1 << (host - 1), length + 1)
        if lo in t.asn or hi in t.asn:
            return False
        asn = t.asn[key]
        t.remove(key)
        t.add(lo, asn)
        t.add(hi, asn)
    else:  # merge
        if length == 0:
            return False
        sibling = text(v, net ^ 1 << host, length)
        if sibling not in t.asn:
            return False
        asn = t.asn[key]
        t.remove(key)
        t.remove(sibling)
        t.add(text(v, net & ~(1 << host), length - 1), asn)
    return True


def churn(t: Table, rng: random.Random, rate: float) -> None:
    """Change ``rate`` of the table's prefixes (a merge, tried on random prefixes until
    one has its sibling routed, counts once)."""
    kinds, weights = list(MIX), list(MIX.values())
    for kind in rng.choices(kinds, weights, k=round(rate * len(t))):
        for _ in range(10_000):
            if change(t, rng, kind):
                break


def exported(db: geoip_rs.Database) -> list[tuple[str, int]]:
    """A database's ``(prefix text, origin AS)`` pairs, IPv6 text as ``text`` writes
    it (so that a prefix has one spelling)."""
    out = []
    for line in db._export("ipasn", 0, 1 << 40)[0].splitlines():
        if line.startswith(";"):
            continue
        prefix, asn = line.split("\t")
        out.append((text(*parse(prefix)) if ":" in prefix else prefix, int(asn)))
    return out


def step_dates(kind: str, n: int) -> list[str]:
    """``YYYYMMDD`` of each snapshot: days from 2014-05-01, or the first of each month
    up to 2014-05."""
    if kind == "daily":
        days = np.datetime64("2014-05-01") + np.arange(n)
    else:
        days = (np.datetime64("2014-05", "M") - (n - 1) + np.arange(n)).astype("datetime64[D]")
    return [str(d).replace("-", "") for d in days]


def series(work: Path, data: Path, kind: str, n: int, rate: float, seed: int) -> list[Path]:
    """The ``n`` databases of a series, oldest first: from the cache, else made (the
    ipasn text of each step is removed once its database is built)."""
    folder = work / f"{kind}_v{VERSION}_n{n}_churn{rate:g}_seed{seed}"
    dates = step_dates(kind, n)
    paths = [folder / f"{d}.geoipdb" for d in dates]
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    sources = load_script("build_sample_db").sources(data)
    rng = random.Random(f"{seed}/{kind}/{rate}")
    with geoip_rs.open(geoip_rs.sample_path()) as sample:
        table = Table(exported(sample))
    t0 = time.perf_counter()
    for i, (date, path) in enumerate(zip(dates, paths)):
        if i:
            churn(table, rng, rate)
        if path.exists():
            continue
        text = folder / f"ipasn_{date}.dat"
        with open(text, "w") as f:
            f.write("".join([f"{k}\t{a}\n" for k, a in table.asn.items()]))
        geoip_rs.build_database(path, ipasn=[text], delegated=sources["delegated"], asnames=sources["asnames"],
                                on_error="skip").close()
        text.unlink()
        print(f"\r{kind}: {i + 1}/{n} databases made ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    return paths


def section_table(path: Path) -> dict[str, tuple[int, int]]:
    """Each section's ``(offset, length)`` in bytes, by tag, from the file's section
    table (after the 32-byte header: tag[8], offset u64, length u64 per section)."""
    with open(path, "rb") as f:
        head = f.read(32)
        count = struct.unpack_from("<I", head, 12)[0]
        table = f.read(24 * count)
    out = {}
    for i in range(count):
        tag, offset, length = struct.unpack_from("<8sQQ", table, 24 * i)
        out[tag.rstrip(b"\0").decode()] = (offset, length)
    return out


def sections(path: Path) -> dict[str, int]:
    """Each section's length in bytes, by tag."""
    return {tag: length for tag, (_, length) in section_table(path).items()}


#: A cell holding a timeline's offset has this bit (src/db/versions.rs); all ones is none.
TIMELINE, NONE = 1 << 31, 0xFFFF_FFFF
#: Sections that point into the timeline: offsets (a versioned trie's changing
#: leaves; a prefix's cell points to the same timeline as its leaf), or cells.
TIMELINE_OWNERS = {"v4churn": "IPv4 prefixes", "v6churn": "IPv6 prefixes", "rir4chrn": "RIR IPv4 blocks",
                   "rir6chrn": "RIR IPv6 blocks", "asnchurn": "RIR AS numbers", "ascell": "AS entries"}


def timeline_rows(path: Path) -> dict[str, dict]:
    """Who the timeline section's words are for: per owner, its timelines, their
    words (a count, a value per entry, then the starts after the first as two
    16-bit halves of a word) and entries per timeline."""
    table = section_table(path)

    def u32(tag):
        offset, length = table[tag]
        return np.fromfile(path, dtype="<u4", count=length // 4, offset=offset)

    timeline = u32("timeline")
    rows = {}
    for tag, owner in TIMELINE_OWNERS.items():
        refs = u32(tag)
        if tag == "ascell":
            refs = refs[(refs & TIMELINE != 0) & (refs != NONE)] & ~np.uint32(TIMELINE)
        entries = timeline[refs.astype(np.int64)].astype(np.int64)
        # A prefix family's union: one length byte per prefix.
        union = table[tag.replace("churn", "len")][1] if tag in ("v4churn", "v6churn") else None
        words = 1 + entries + entries // 2  # count, values, ceil((entries - 1) / 2) words of starts
        rows[owner] = {"timelines": len(refs), "words": int(words.sum()), "entries": entries,
                       "union": union}
    rows["total"] = {"words": len(timeline)}
    return rows


def print_timelines(histories: dict[str, tuple[Path, Path]]) -> None:
    """What the timeline section holds, by owner, and how the prefixes change
    (``label: (history, its newest snapshot alone)``)."""
    print("\nTimeline section by owner (words of 4 bytes: a count, a value per entry, two later starts a word); "
          "'in union': prefixes of any snapshot, 'one': of one snapshot")
    header = (f"{'history':<22}{'owner':<16}{'one':>9}{'in union':>10}{'changing':>10}{'kB':>9}"
              f"{'entries/tl':>11}{'1':>7}{'2':>7}{'3-4':>7}{'5-8':>7}{'9+':>7}")
    print(header)
    print("-" * len(header))
    for label, (path, newest) in histories.items():
        rows = timeline_rows(path)
        one_sections = sections(newest)
        one_counts = {"IPv4 prefixes": one_sections["v4len"], "IPv6 prefixes": one_sections["v6len"]}
        for owner, row in rows.items():
            if owner == "total":
                print(f"{label.split(' (')[0]:<22}{'all':<16}{'':>38}{row['words'] * 4 / 1e3:>9,.0f}")
                continue
            if not row["timelines"]:
                continue
            e = row["entries"]
            shares = [np.mean(e == 1), np.mean(e == 2), np.mean((e >= 3) & (e <= 4)), np.mean((e >= 5) & (e <= 8)),
                      np.mean(e >= 9)]
            one, union = one_counts.get(owner), row["union"]
            one = "-" if one is None else f"{one:,}"
            union = "-" if union is None else f"{union:,}"
            print(f"{label.split(' (')[0]:<22}{owner:<16}{one:>9}{union:>10}{row['timelines']:>10,}"
                  f"{row['words'] * 4 / 1e3:>9,.0f}{e.mean():>11.2f}" + "".join(f"{x:>7.0%}" for x in shares))


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def print_sizes(histories: dict[str, tuple[Path, float, Path]]) -> dict[str, float]:
    """File sizes and ratios, then each section's size; the ratios by series. Each
    history (``label: (path, limit, one)``) is measured against ``one``, the newest
    snapshot of its series as a one-date database."""
    print("\nFile size: each history against its newest snapshot alone (a one-date database)")
    print(f"{'file':<44}{'snapshots':>10}{'size':>13}{'vs one':>9}{'limit':>8}")
    print("-" * 84)
    ratios = {}
    for label, (path, limit, one) in histories.items():
        base, size = one.stat().st_size, path.stat().st_size
        ratios[label] = size / base
        with geoip_rs.open(path, verify=False) as db:
            snaps = len(db.snapshots)
        alone = f"one snapshot: its newest ({one.stem}) alone"
        print(f"{alone:<44}{1:>10}{mb(base):>13}{'x1.00':>9}{'':>8}")
        print(f"{label:<44}{snaps:>10}{mb(size):>13}{f'x{size / base:.2f}':>9}{f'x{limit:g}':>8}")
    print("\nSection sizes in kB: each series' newest snapshot alone ('one'), its history, and what that adds")
    header = f"{'section':<10}" + "".join(f"{'one':>10}{lab.split(' (')[0]:>14}{'added':>10}" for lab in histories)
    print(header)
    print("-" * len(header))
    pairs = [(sections(one), sections(path)) for path, _, one in histories.values()]
    tags = list(dict.fromkeys(t for pair in pairs for sec in pair for t in sec))

    def kb(n):
        return "-" if n is None else f"{n / 1e3:,.0f}"

    for tag in tags + ["total"]:
        row = f"{tag:<10}"
        for one_sec, sec in pairs:
            base, size = ((sum(one_sec.values()), sum(sec.values())) if tag == "total"
                          else (one_sec.get(tag), sec.get(tag)))
            row += f"{kb(base):>10}{kb(size):>14}{f'{((size or 0) - (base or 0)) / 1e3:+,.0f}':>10}"
        print(row)
    return ratios


def build_time(paths: list[Path], out: Path, repeat: int) -> float:
    return median_time(lambda: geoip_rs.build_history(out, paths).close(), repeat)


def inside(rng: np.random.Generator, db: geoip_rs.Database, n: int) -> np.ndarray:
    """``n`` IPv4 addresses (``uint32``), each in a random one of the database's IPv4
    prefixes."""
    v4 = [parse(p) for p, _ in exported(db) if ":" not in p]
    nets = np.array([net for _, net, _ in v4], dtype=np.uint64)
    lens = np.array([length for _, _, length in v4], dtype=np.uint64)
    picks = rng.integers(0, len(v4), size=n)
    hosts = (np.uint64(1) << (np.uint64(32) - lens[picks])) - np.uint64(1)
    noise = rng.integers(0, 2**32, size=n, dtype=np.uint64)
    return (nets[picks] | (noise & hosts)).astype(np.uint32)


def check_answers(hist, days: list[Path], addrs: np.ndarray, at: np.ndarray, snaps: np.ndarray) -> None:
    """The history's answers with a time per address are each snapshot's database's."""
    got = hist.lookup_batch(addrs, at=at)
    if not np.array_equal(got["snapshot"], snaps):
        raise SystemExit("the history answered from other snapshots than the times ask")
    for s, path in enumerate(days):
        rows = snaps == s
        with geoip_rs.open(path, verify=False) as db:
            want = db.lookup_batch(addrs[rows])
        for col in ("found", "asn", "prefix_len", "country"):
            if not np.array_equal(got[col][rows], want[col]):
                raise SystemExit(f"snapshot {s} ({path.name}): the history's {col} differ from the database's")


def batch_rows(hist, one, days: list[Path], addrs: dict[str, np.ndarray], seed: int, repeat: int) -> dict:
    """M lookups/s on every core and on one: the history with a time per address and
    with one time, and the one-date database."""
    rng = np.random.default_rng(seed)
    times = np.array(hist._times(), dtype=np.int64)
    rows = {}
    for kind, arr in addrs.items():
        snaps = rng.integers(0, len(times), size=len(arr))
        at = (times[snaps] + rng.integers(0, 86_400, size=len(arr))).astype("datetime64[s]")
        check_answers(hist, days, arr, at, snaps)
        newest = np.datetime64(int(times[-1]) + 43_200, "s")
        if not np.array_equal(hist.lookup_batch(arr, at=newest)["asn"], one.lookup_batch(arr)["asn"]):
            raise SystemExit("the history at its newest snapshot differs from the newest database")
        seconds = at.astype(np.int64)
        runs = {
            f"one-date database, {kind}": lambda: one.lookup_batch(arr),
            f"history, no time (newest), {kind}": lambda: hist.lookup_batch(arr),
            f"history, one time, {kind}": lambda: hist.lookup_batch(arr, at=newest),
            f"history, time per address, {kind}": lambda: hist.lookup_batch(arr, at=at),
            f"history, time per address (int64 s), {kind}": lambda: hist.lookup_batch(arr, at=seconds),
        }
        for fn in runs.values():
            fn()  # the pages in memory, as in steady use
        both = interleaved(runs, repeat)
        single = {}
        if hasattr(os, "sched_setaffinity"):
            with one_core():
                single = interleaved(runs, repeat)
        for name in runs:
            rows[name] = {"M/s": len(arr) / both[name] / 1e6}
            if name in single:
                rows[name]["1-core M/s"] = len(arr) / single[name] / 1e6
    return rows


def interleaved(runs: dict, repeat: int) -> dict[str, float]:
    """The median seconds of each of ``runs``, timed in turn ``repeat`` times (so that
    the machine's load, which comes and goes, weighs on each alike)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            times[name].append(median_time(fn, 1))
    return {name: statistics.median(t) for name, t in times.items()}


def leaf_rows(hist, path: Path, one, addrs: np.ndarray, repeat: int) -> dict[str, dict]:
    """Where a history's batch spends: the addresses inside announced prefixes split
    by their leaf in the history's trie (the longest prefix of any snapshot holding
    them), static or with a timeline; M lookups/s of each part, history (newest)
    and one-date database, on one core."""
    table = section_table(path)

    def section(tag, dtype):
        offset, length = table[tag]
        return np.fromfile(path, dtype=dtype, count=length // np.dtype(dtype).itemsize, offset=offset)

    nets, lens, cells = section("v4addr", "<u4"), section("v4len", "u1"), section("v4route", "<u4")
    leaves = geoip_rs.PrefixTable()
    leaves.update((text(4, int(a), int(n)), int(c & TIMELINE != 0)) for a, n, c in zip(nets, lens, cells))
    changing = leaves.lookup_batch(addrs)[0] == 1
    rows = {}
    for label, part in (("static", addrs[~changing]), ("with a timeline", addrs[changing])):
        runs = {"one-date": lambda: one.lookup_batch(part), "history": lambda: hist.lookup_batch(part)}
        for fn in runs.values():
            fn()
        with one_core():
            secs = interleaved(runs, repeat)
        rows[label] = {"share": len(part) / len(addrs), **{k: len(part) / v / 1e6 for k, v in secs.items()}}
    return rows


def print_leaves(rows: dict[str, dict]) -> None:
    print("\nThe 'inside' batch by its addresses' leaf in the history (the longest prefix of any snapshot "
          "holding them), no time, one core")
    print(f"{'leaf':<22}{'share':>8}{'one-date M/s':>14}{'history M/s':>13}{'vs one-date':>13}")
    print("-" * 70)
    for label, r in rows.items():
        ratio = f"x{r['one-date'] / r['history']:.2f}"
        print(f"{label:<22}{r['share']:>8.0%}{r['one-date']:>14.1f}{r['history']:>13.1f}{ratio:>13}")


def print_batches(rows: dict, n: int, snapshots: int, repeat: int) -> None:
    print(f"\nlookup_batch of {n:,} IPv4 addresses (uint32), {snapshots} daily snapshots; median of {repeat}; "
          "'vs one-date': the one-date database's M/s over this row's (same run)")
    print(f"{'batch':<52}{'M/s':>10}{'1-core M/s':>12}{'vs one-date':>13}{'1-core vs':>11}")
    print("-" * 98)
    for name, row in rows.items():
        base = rows["one-date database, " + name.rsplit(", ", 1)[1]]
        one = row.get("1-core M/s")
        ratio = f"x{base['M/s'] / row['M/s']:.2f}"
        ratio1 = f"x{base['1-core M/s'] / one:.2f}" if one else "-"
        print(f"{name:<52}{row['M/s']:>10.1f}{one or 0:>12.1f}{ratio:>13}{ratio1:>11}")


def single_rows(hist, one, addrs: dict[str, list[str]], t: int, repeat: int) -> dict:
    """Mean ns per call of single lookups from a Python loop."""
    when = datetime.fromtimestamp(t, timezone.utc)
    naive, day, d64 = when.replace(tzinfo=None), when.date().isoformat(), np.datetime64(t, "s")
    calls = {
        "one-date lookup(str)": lambda a: one.lookup(a),
        "history lookup(str) (newest)": lambda a: hist.lookup(a),
        "history lookup(str, at=int seconds)": lambda a: hist.lookup(a, at=t),
        "history lookup(str, at='YYYY-MM-DD')": lambda a: hist.lookup(a, at=day),
        "history lookup(str, at=datetime UTC)": lambda a: hist.lookup(a, at=when),
        "history lookup(str, at=naive datetime)": lambda a: hist.lookup(a, at=naive),
        "history lookup(str, at=datetime64[s])": lambda a: hist.lookup(a, at=d64),
    }
    rows: dict[str, dict[str, float]] = {name: {} for name in calls}
    for kind, strs in addrs.items():
        for name, call in calls.items():
            if call(strs[0]) is None and kind == "inside":
                raise SystemExit(f"{name}: no record inside an announced prefix")
        # A loop of calls, the call's own cost and the loop's, as a user's would be.
        loops = {name: (lambda call=call: [call(a) for a in strs]) for name, call in calls.items()}
        for name, seconds in interleaved(loops, repeat).items():
            rows[name][kind] = seconds / len(strs) * 1e9
    return rows


def print_singles(rows: dict, n: int, repeat: int) -> None:
    kinds = list(next(iter(rows.values())))
    print(f"\nSingle lookups from a Python loop, mean ns per call over {n:,} addresses; median of {repeat}; "
          "ratio: over the one-date lookup(str)")
    print(f"{'call':<42}" + "".join(f"{f'{k} ns':>12}{'ratio':>8}" for k in kinds))
    print("-" * (42 + 20 * len(kinds)))
    base = rows["one-date lookup(str)"]
    for name, row in rows.items():
        print(f"{name:<42}" + "".join(f"{row[k]:>12.0f}{f'x{row[k] / base[k]:.2f}':>8}" for k in kinds))


def print_goals(goals: list[tuple[str, str, str, bool]]) -> None:
    print("\nGoals")
    print(f"{'goal':<72}{'measured':>12}{'target':>10}{'':>8}")
    print("-" * 102)
    for name, got, target, met in goals:
        print(f"{name:<72}{got:>12}{target:>10}{'met' if met else 'MISSED':>8}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 daily and 3 monthly snapshots, small batches")
    ap.add_argument("--work-dir", type=Path, help="where the databases are kept (default: geoip_rs's cache)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--daily", type=int, default=30, help="daily snapshots")
    ap.add_argument("--monthly", type=int, default=60, help="monthly snapshots")
    ap.add_argument("--daily-churn", type=float, default=0.01)
    ap.add_argument("--monthly-churn", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=2_000_000)
    ap.add_argument("--single", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.quick:
        args.daily, args.monthly = 3, 3
        args.batch, args.single, args.repeat = 200_000, 10_000, 2
    if args.work_dir is None:
        from geoip_rs.cache import cache_dir

        args.work_dir = cache_dir() / "bench" / "history"

    t0 = time.perf_counter()
    days = series(args.work_dir, args.data, "daily", args.daily, args.daily_churn, args.seed)
    months = series(args.work_dir, args.data, "monthly", args.monthly, args.monthly_churn, args.seed)
    print(f"Synthetic churn series from the bundled sample (seed {args.seed}; changes: "
          + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
          + f"): {args.daily} daily snapshots at {args.daily_churn:.1%} a day, {args.monthly} monthly at "
          f"{args.monthly_churn:.1%} a month; databases ready in {time.perf_counter() - t0:.1f} s "
          f"({args.work_dir})")

    with tempfile.TemporaryDirectory(prefix="geoip_rs_bench_history_") as tmp:
        out_days, out_months = Path(tmp) / "daily.geoipdb", Path(tmp) / "monthly.geoipdb"
        built_days = build_time(days, out_days, max(1, args.repeat // 2 + 1))
        t0 = time.perf_counter()
        geoip_rs.build_history(out_months, months).close()
        built_months = time.perf_counter() - t0
        ratios = print_sizes({
            f"{args.daily} daily ({args.daily_churn:.1%}/day)": (out_days, 1.5, days[-1]),
            f"{args.monthly} monthly ({args.monthly_churn:.1%}/month)": (out_months, 4.0, months[-1]),
        })
        print_timelines({f"{args.daily} daily": (out_days, days[-1]), f"{args.monthly} monthly": (out_months, months[-1])})
        print(f"\nBuild time: {args.daily} daily databases to a history {built_days:.2f} s "
              f"(median of {max(1, args.repeat // 2 + 1)}); {args.monthly} monthly {built_months:.2f} s (one run)")

        hist = geoip_rs.open(out_days)
        one = geoip_rs.open(days[-1])
        rng = np.random.default_rng(args.seed)
        addrs = {
            "uniform": rng.integers(0, 2**32, size=args.batch, dtype=np.uint64).astype(np.uint32),
            "inside": inside(rng, one, args.batch),
        }
        brows = batch_rows(hist, one, days, addrs, args.seed, args.repeat)
        print_batches(brows, args.batch, args.daily, args.repeat)
        print_leaves(leaf_rows(hist, out_days, one, addrs["inside"], args.repeat))

        strs = {k: [str(ipaddress.IPv4Address(int(x))) for x in a[: args.single]] for k, a in addrs.items()}
        t = int(hist._times()[-1]) + 43_200
        srows = single_rows(hist, one, strs, t, max(3, args.repeat // 2))
        print_singles(srows, args.single, max(3, args.repeat // 2))
        hist.close()
        one.close()

    per_addr = min(brows[f"history, time per address, {k}"]["M/s"] for k in addrs)
    one_t = max(brows[f"one-date database, {k}"]["M/s"] / brows[f"history, one time, {k}"]["M/s"] for k in addrs)
    def single(call):
        return max(srows[call][k] / srows["one-date lookup(str)"][k] for k in strs)

    labels = list(ratios)
    print_goals([
        (f"size: {labels[0]} / one snapshot", f"x{ratios[labels[0]]:.2f}", "<= x1.5", ratios[labels[0]] <= 1.5),
        (f"size: {labels[1]} / one snapshot", f"x{ratios[labels[1]]:.2f}", "<= x4", ratios[labels[1]] <= 4.0),
        (f"build: {args.daily} databases to a history", f"{built_days:.2f} s", "< 10 s", built_days < 10),
        ("batch, time per address, both cores (slower of uniform/inside)", f"{per_addr:.1f} M/s", ">= 50",
         per_addr >= 50),
        ("batch at one time vs one-date (worse of uniform/inside)", f"x{one_t:.2f}", "<= x1.5", one_t <= 1.5),
        *((f"{call.removeprefix('history ')} vs one-date lookup(str) (worse)", f"x{single(call):.2f}", "<= x1.5",
           single(call) <= 1.5) for call in srows if "at=" in call),
    ])


if __name__ == "__main__":
    main()
