"""Concurrency under an oracle that knows what every write may change.

``ordered_writes``: one writer applies a fixed cycle of inserts and removals of
prefixes nested over a set of hot addresses (IPv4 and IPv6) to a ``PrefixTable``,
counting the writes it has begun and finished; reader threads look the hot
addresses up (batches, which release the GIL, and single lookups) and check each
answer against the reference table's answers after every write between the count
finished before the read and the count begun after it. An answer outside that
window (a torn, lost or reordered write) is a wrong answer.

``close_during_batches``: a ``Database`` closed at a random moment while threads
run batches and single lookups on it: each call answers exactly as before or raises
the closed error.

tests/test_threads.py runs both for a few seconds; for the figures,
``python tests/stress.py --seconds 600`` runs them longer and prints a table.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from ipaddress import ip_address

import numpy as np

LENGTHS4 = (8, 12, 16, 20, 24, 28, 32)
LENGTHS6 = (16, 32, 40, 48, 56, 64, 128)


def hot_addresses(rng: random.Random, n: int = 32) -> tuple[list[int], list[int]]:
    v4 = [rng.randrange(1 << 24, 223 << 24) for _ in range(n)]
    v6 = [(0x2001_0db8 << 96) | rng.getrandbits(96) for _ in range(n)]
    return v4, v6


def prefix_of(addr: int, length: int, bits: int) -> str:
    net = addr >> (bits - length) << (bits - length)
    return f"{ip_address(net)}/{length}"  # IPv6 ones are past 2**32: never IPv4


def cycle(rng: random.Random, v4: list[int], v6: list[int], n: int = 400) -> list[tuple]:
    """``n`` random writes over prefixes nested on the hot addresses, then the writes
    that undo them: applied in a loop, the table passes through the same states."""
    pool = [prefix_of(a, L, 32) for a in v4 for L in LENGTHS4]
    pool += [prefix_of(a, L, 128) for a in v6 for L in LENGTHS6]
    ops, present = [], set()
    for k in range(n):
        p = rng.choice(pool)
        if p in present and rng.random() < 0.5:
            ops.append(("pop", p))
            present.discard(p)
        else:
            ops.append(("put", p, k))
            present.add(p)
    ops += [("pop", p) for p in sorted(present)]
    return ops


def states(RefTable, ops, v4, v6) -> list[list]:
    """The reference's answer for each hot address after each number of writes."""
    ref = RefTable()
    addrs = [str(ip_address(a)) for a in v4] + [str(ip_address(a)) for a in v6]

    def answers():
        out = []
        for a in addrs:
            m = ref.lookup_with_prefix(a)
            out.append(None if m is None else (m[1], m[0].prefixlen))
        return out

    table = [answers()]
    for op in ops:
        apply(ref, op)
        table.append(answers())
    assert table[-1] == table[0]  # the cycle closes
    return table[:-1]


def apply(t, op) -> None:
    if op[0] == "put":
        t[op[1]] = op[2]
    else:
        t.pop(op[1], None)


class Counter:
    """The writer's counts (only it writes them) and the readers' tallies."""

    def __init__(self) -> None:
        self.begun = 0
        self.done = 0
        self.lock = threading.Lock()
        self.checked = 0
        self.unchecked = 0
        self.wrong: list[str] = []
        self.calls = {"batch": 0, "single": 0}


def check(c: Counter, table, lo: int, hi: int, got: list, what: str) -> None:
    m = len(table)
    if hi - lo + 1 >= m:
        with c.lock:  # a whole cycle passed during the read: any state will do
            c.unchecked += len(got)
        return
    window = [table[k % m] for k in range(lo, hi + 1)]
    bad = [f"{what} #{i}: {g} not among {sorted({str(w[i]) for w in window})}"
           for i, g in enumerate(got) if all(w[i] != g for w in window)]
    with c.lock:
        c.checked += len(got)
        c.wrong += bad


def ordered_writes(RustTable, RefTable, seconds: float, readers: int = 6, seed: int = 1) -> dict:
    rng = random.Random(seed)
    v4, v6 = hot_addresses(rng)
    ops = cycle(rng, v4, v6)
    table = states(RefTable, ops, v4, v6)
    t = RustTable()
    c = Counter()
    q4 = np.array(v4, dtype=np.uint32)
    q6 = np.frombuffer(b"".join(a.to_bytes(16, "big") for a in v6), dtype=np.uint8).reshape(-1, 16)
    singles = [str(ip_address(a)) for a in v4 + v6]
    columns = [[[s[i]] for s in table] for i in range(len(singles))]  # one address's states
    stop = threading.Event()
    errors: list[str] = []

    def writer():
        while not stop.is_set():
            c.begun += 1
            apply(t, ops[c.done % len(ops)])
            c.done += 1

    def batch():
        lo = c.done
        a4, a6 = t.lookup_batch(q4), t.lookup_batch(q6)
        hi = c.begun
        got = [None if not f else (int(v), int(p))
               for a in (a4, a6) for v, p, f in zip(*(x.tolist() for x in a))]
        check(c, table, lo, hi, got, "batch")
        with c.lock:
            c.calls["batch"] += 1

    def single():
        for i, a in enumerate(singles):
            lo = c.done
            m = t.lookup_with_prefix(a)
            hi = c.begun
            got = None if m is None else (m[1], m[0].prefixlen)
            check(c, columns[i], lo, hi, [got], f"single {a}")
        with c.lock:
            c.calls["single"] += 1

    def loop(fn):
        try:
            while not stop.is_set():
                fn()
        except BaseException as e:  # reported, not lost with the thread
            errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=loop, args=(writer,))]
    threads += [threading.Thread(target=loop, args=([batch, single][k % 2],)) for k in range(readers)]
    for th in threads:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(timeout=60)
    hung = sum(th.is_alive() for th in threads)
    return {"writes": c.done, "batches": c.calls["batch"], "single rounds": c.calls["single"],
            "answers checked": c.checked,
            "unchecked (a whole cycle of writes during the read)": c.unchecked, "wrong": c.wrong, "errors": errors, "hung": hung}


def close_during_batches(db_path, addrs, rounds: int, seed: int = 2) -> dict:
    """Open, run lookups on 4 threads, close at a random moment; ``rounds`` times."""
    import geoip_rs

    with geoip_rs.open(db_path) as db:
        want = db.lookup_batch(addrs)["asn"]
        one = str(ip_address(int(addrs[int(np.argmax(want > 0))])))  # one that is routed
        want_one = db.lookup(one).asn
    rng = random.Random(seed)
    out = {"answered": 0, "closed errors": 0, "wrong": 0, "errors": [], "hung": 0}

    lock = threading.Lock()

    def work(db, barrier, single):
        n = {"answered": 0, "wrong": 0, "closed errors": 0}
        barrier.wait()
        try:
            while True:
                if single:
                    ok = db.lookup(one).asn == want_one
                else:
                    ok = bool((db.lookup_batch(addrs)["asn"] == want).all())
                n["answered" if ok else "wrong"] += 1
        except ValueError as e:
            if "closed" not in str(e):
                out["errors"].append(repr(e))
            n["closed errors"] += 1
        except BaseException as e:
            out["errors"].append(repr(e))
        with lock:
            for k, v in n.items():
                out[k] += v

    for _ in range(rounds):
        db = geoip_rs.Database(db_path)
        barrier = threading.Barrier(5)
        threads = [threading.Thread(target=work, args=(db, barrier, k % 2)) for k in range(4)]
        for th in threads:
            th.start()
        barrier.wait()
        time.sleep(rng.uniform(0, 0.05))
        db.close()
        for th in threads:
            th.join(timeout=60)
        out["hung"] += sum(th.is_alive() for th in threads)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--readers", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2000, help="close-during-batches rounds")
    args = ap.parse_args()
    import tempfile
    from pathlib import Path

    import geoip_rs
    from geoip_rs.reference import PrefixTable as Ref

    t0 = time.perf_counter()
    w = ordered_writes(geoip_rs.PrefixTable, Ref, args.seconds, args.readers)
    took = time.perf_counter() - t0
    print(f"PrefixTable, {args.readers} readers + 1 writer, {took:.0f} s:")
    for k, v in w.items():
        print(f"  {k}: {len(v) if isinstance(v, list) else v}")
    for line in (w["wrong"] + w["errors"])[:10]:
        print("   ", line)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.geoipdb"
        geoip_rs.build_database(path, ipasn=shared / "ipasn" / "ipasn_20140513.dat.gz",
                                progress=False).close()
        rng = np.random.default_rng(5)
        addrs = rng.integers(1 << 24, 224 << 24, 20_000, dtype=np.uint32)
        t0 = time.perf_counter()
        d = close_during_batches(path, addrs, args.rounds)
    print(f"Database.close() during lookups on 4 threads, {args.rounds} rounds, "
          f"{time.perf_counter() - t0:.0f} s:")
    for k, v in d.items():
        print(f"  {k}: {len(v) if isinstance(v, list) else v}")


if __name__ == "__main__":
    main()
