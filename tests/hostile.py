"""Hostile inputs for every reader: seeded truncations, bit flips and overwritten
runs of real files (in their decompressed content, recompressed, and in the
compressed bytes themselves), read under an address-space limit with a time bound
per file, in a subprocess. A file may be read or refused with the reader's own
error (``FormatError``, ``DatabaseError``, ``OSError``); anything else (a panic,
another exception), a crash, a hang or the limit reached is a failure.

tests/test_hostile_inputs.py runs a few dozen files per reader in CI; for the
figures, ``python tests/hostile.py --files 400`` prints a table (attack, inputs,
crashes, hangs, peak memory).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(os.environ.get("GEOIP_RS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LIMIT = 1 << 30  # bytes of address space for the reading process
PER_FILE = 20  # seconds a file may take

#: reader: (file under ../shared/data, how much of its decompressed content to keep)
SOURCES = {
    "delegated": ("rir/delegated-afrinic-20140630.gz", None),
    "as2org": ("as2org/20170401.as-org2info.txt.gz", 3000),
    "asnames": ("asnames/asnames_20140524.txt.gz", 3000),
    "ipasn": ("ipasn/ipasn_20140513.dat.gz", 3000),
    "pfx2as": ("pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz", 3000),
    "iptoasn": ("iptoasn/ip2asn-v6.tsv.gz", 3000),
    "mrt": ("mrt/libbgpstream/ris.rrc06.updates.1401488100.gz", None),
    "mmdb": ("mmdb/maxmind-test/test-data/GeoIP2-City-Test.mmdb", None),
}


def decompressed(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    return data


def base_content(reader: str) -> bytes:
    rel, lines = SOURCES[reader]
    data = decompressed(SHARED / rel)
    if lines is not None:
        data = b"".join(data.splitlines(keepends=True)[:lines])
    return data


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One seeded damage: a cut, flipped bits, or a run of random bytes."""
    b = bytearray(data)
    kind = rng.choice(["truncate", "bits", "run"])
    if kind == "truncate":
        return kind, bytes(b[: rng.randrange(len(b))])
    if kind == "bits":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return kind, bytes(b)
    start = rng.randrange(len(b))
    n = min(len(b) - start, rng.randint(1, 64))
    b[start:start + n] = rng.randbytes(n)
    return kind, bytes(b)


def write_cases(reader: str, base: bytes, out: Path, n: int, seed: int) -> list[Path]:
    """`n` damaged files: a third plain, a third gzip, a third with the damage in
    the compressed bytes (gzip or bzip2)."""
    rng = random.Random(f"{reader}-{seed}")
    paths = []
    for i in range(n):
        kind, damaged = mutate(base, rng)
        how = ("plain", "gzip", "compressed")[i % 3] if reader not in ("mmdb", "database") else "plain"
        if how == "gzip":
            damaged = gzip.compress(damaged, mtime=0)
        elif how == "compressed":
            packed = (gzip.compress(base, mtime=0) if i % 2 else bz2.compress(base))
            kind, damaged = mutate(packed, rng)
        p = out / f"{reader}-{i:04}-{how}-{kind}"
        p.write_bytes(damaged)
        paths.append(p)
    return paths


def read(reader: str, path: Path) -> None:
    """Everything a user does with such a file."""
    import numpy as np

    import geoip_rs

    if reader in ("mmdb", "database"):
        # without the checksum (which refuses any damage): the structure checks
        for verify in (False,):
            with geoip_rs.open(path, verify=verify) as db:
                db.metadata
                addrs = np.random.default_rng(1).integers(0, 2**32, 5000, dtype=np.uint64).astype(np.uint32)
                db.lookup_batch(addrs)
                for a in ("1.2.3.4", "81.2.69.160", "2001:218::1", "::1"):
                    db.lookup(a)
                db.to_arrow(["1.2.3.4", "2a02:d280::1"])
                for i, _ in enumerate(db):
                    if i > 100_000:
                        break
        return
    if reader == "mrt":
        geoip_rs.read_mrt(path, on_error="skip")
        try:
            geoip_rs.read_mrt(path)
        except (geoip_rs.FormatError, OSError):
            pass
        for _ in geoip_rs.mrt_routes(path):
            pass
        return
    fn = getattr(geoip_rs, f"read_{reader}")
    result = fn(path, on_error="skip")
    len(result[0])
    try:
        fn(path)
    except (geoip_rs.FormatError, OSError):
        pass


def worker(reader: str, files: list[str]) -> None:
    """Read each file (in this process, under the caller's limit); one JSON line each."""
    import faulthandler

    import geoip_rs

    allowed = (geoip_rs.FormatError, geoip_rs.DatabaseError, OSError)
    for f in files:
        print(json.dumps({"file": f, "started": True}), flush=True)
        faulthandler.dump_traceback_later(PER_FILE, exit=True)
        t = time.perf_counter()
        try:
            read(reader, Path(f))
            outcome = "read"
        except allowed as e:
            outcome = f"refused: {type(e).__name__}"
        except BaseException as e:  # noqa: BLE001 - a panic is a BaseException
            outcome = f"CRASH: {type(e).__name__}: {e}"[:300]
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({"file": f, "outcome": outcome, "seconds": time.perf_counter() - t}), flush=True)
    # this process's peak since exec (getrusage's ru_maxrss keeps the parent's
    # across exec on Linux: a worker started from a big pytest reports pytest's)
    rss = int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1])
    print(json.dumps({"peak_rss_kib": rss}), flush=True)


def run(reader: str, files: list[Path]) -> dict:
    """Read the files in one limited subprocess; what happened to each."""
    argv = ["prlimit", f"--as={LIMIT}", sys.executable, __file__, "--worker", reader, *map(str, files)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=PER_FILE * len(files) + 120)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    done = [x for x in lines if "outcome" in x]
    started = [x["file"] for x in lines if x.get("started")]
    last = started[-1] if len(started) > len(done) else None
    peak = next((x["peak_rss_kib"] for x in lines if "peak_rss_kib" in x), None)
    return {
        "reader": reader,
        "inputs": len(files),
        "read": sum(x["outcome"] == "read" for x in done),
        "refused": sum(x["outcome"].startswith("refused") for x in done),
        "crashes": [(x["file"], x["outcome"]) for x in done if x["outcome"].startswith("CRASH")],
        # the process ended before the file's answer: killed by the limit, a hang's
        # timer or an abort
        "died_at": last,
        "returncode": p.returncode,
        "stderr": p.stderr[-3000:],
        "peak_rss_mb": peak / 1024 if peak else None,
        "slowest_s": max((x["seconds"] for x in done), default=0.0),
    }


def build_database(out: Path) -> Path:
    """A small database from real data, for the damaged-database cases."""
    import geoip_rs

    ipasn = out / "ipasn.txt"
    ipasn.write_bytes(base_content("ipasn"))
    path = out / "small.geoipdb"
    geoip_rs.build_database(path, ipasn=ipasn, delegated=[SHARED / SOURCES["delegated"][0]],
                            asnames=SHARED / SOURCES["asnames"][0], progress=False).close()
    return path


def cases(reader: str, out: Path, n: int, seed: int = 1) -> list[Path]:
    if reader == "database":
        base = build_database(out).read_bytes()
    else:
        base = base_content(reader)
    return write_cases(reader, base, out, n, seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=400, help="damaged files per reader")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/geoip_rs_hostile"))
    ap.add_argument("--readers", nargs="+", choices=[*SOURCES, "database"],
                    default=[*SOURCES, "database"], help="the readers to try (all by default)")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1:])
        return
    print("| reader | inputs | read | refused | crashes | died | peak RSS (MB) | slowest (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for reader in args.readers:
        d = args.dir / reader
        d.mkdir(parents=True, exist_ok=True)
        r = run(reader, cases(reader, d, args.files))
        print(f"| {reader} | {r['inputs']} | {r['read']} | {r['refused']} | {len(r['crashes'])} | "
              f"{r['died_at'] or 0} | {r['peak_rss_mb'] or 0:.0f} | {r['slowest_s']:.2f} |", flush=True)
        for c in r["crashes"][:5]:
            print("   ", c)
        if r["died_at"]:
            print("   ", r["stderr"][-1500:])


if __name__ == "__main__":
    main()
