"""SIGKILL at random moments of ``geoip_rs.update`` over a cache that holds an older
database, against the loopback archive mirror of ``test_update``: after each kill
the cache's newest database is the old one (same bytes) or the complete new one
(checksum verified, the same answers as an update never interrupted), half of the
runs resuming from the downloads the killed run left; the half-written files of
killed builds are swept by the next update, and a last run in the same cache ends
as an uninterrupted one does.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import geoip_rs
from geoip_rs import cache

import archive_mirror
from test_update import addresses, archive, server  # noqa: F401 (fixtures)

UPDATE = r'''
import json, sys
import geoip_rs
cache_dir, urls, rirs = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3].split(",")
print("go", flush=True)
geoip_rs.update(cache_dir=cache_dir, urls=urls, collectors=["route-views6"], rirs=rirs,
                asnames=False, retries=1, timeout=5.0, progress=False)
print("done", flush=True)
'''
RIRS = "afrinic,lacnic"


def start(server, cache_dir: Path, rirs: str = RIRS) -> subprocess.Popen:
    urls = json.dumps(archive_mirror.urls(server.url))
    p = subprocess.Popen([sys.executable, "-c", UPDATE, str(cache_dir), urls, rirs],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"go\n"
    return p


def finish(p: subprocess.Popen) -> None:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0 and out == b"done\n", err.decode()


def answers(path: Path, addrs: list[str]) -> list:
    with geoip_rs.open(path) as db:  # checksum verified
        cols = db.lookup_batch(addrs, details=True)
        return {k: list(getattr(v, "tolist", lambda: v)()) for k, v in cols.items()}


def half_written(c: Path) -> bool:
    return any(f.name.endswith(".tmp") for f in (c / "databases").iterdir())


def part_file(c: Path) -> bool:
    return any(c.glob("downloads/**/*.part"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_during_update_leaves_the_old_database_or_the_new(server, tmp_path):
    # The new database, from a run never interrupted, and how long such a run takes.
    ref = tmp_path / "ref"
    t0 = time.perf_counter()
    finish(start(server, ref))
    span = time.perf_counter() - t0
    new = cache.newest(ref)
    with geoip_rs.open(new) as db:
        addrs = addresses(db, n=5000)
    want = answers(new, addrs)
    # The old cache: a database of fewer sources, of the same data time.
    old_root = tmp_path / "old"
    finish(start(server, old_root, "afrinic"))
    old = cache.newest(old_root)
    old_sha, old_answers = sha(old), answers(old, addrs)
    assert old_answers != want

    c = tmp_path / "cache"
    rng = random.Random(19)
    seen = {"old": 0, "new": 0, "half-written": 0, "part": 0}
    for i in range(20):
        if i % 2 == 0 or not c.exists():  # from nothing but the old database
            shutil.rmtree(c, ignore_errors=True)
            archive_mirror.copy_databases(old_root, c)
        else:  # resuming from what the killed run downloaded
            for f in (c / "databases").iterdir():
                if f.name not in (old.name,) and not f.name.endswith(".tmp"):
                    f.unlink()
        p = start(server, c)
        # A third at a random moment; a third mid-download; a third mid-write.
        if i % 3 == 0:
            time.sleep(rng.uniform(0, span))
        else:
            moment = [part_file, half_written][i % 3 - 1]
            while p.poll() is None and not moment(c):
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.02))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        got = cache.newest(c)
        seen["half-written"] += half_written(c)
        seen["part"] += part_file(c)
        if got.name == old.name:
            assert sha(got) == old_sha, f"kill point {i}: the old database changed"
            seen["old"] += 1
        else:
            assert got.name == new.name, f"kill point {i}: {got.name}"
            assert answers(got, addrs) == want, f"kill point {i}"
            seen["new"] += 1
    assert seen["old"] > 0 and seen["new"] > 0, seen
    print(seen)
    # A last run in the same cache: the new database, and no half-written file left.
    finish(start(server, c))
    assert answers(cache.newest(c), addrs) == want
    assert not half_written(c)


def test_update_sweeps_only_the_files_of_writers_that_are_gone(tmp_path):
    folder = tmp_path / "databases"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = folder / f".geoip-20150922T1200-0123abcd.geoipdb.{int(dead.stdout)}.tmp"
    live = folder / f".geoip-20150922T1200-0123abcd.geoipdb.{1}.tmp"  # init never ends
    other = folder / ".notes.tmp"
    for f in (stale, live, other):
        f.write_bytes(b"x")
    assert cache.sweep(tmp_path) == [stale]
    assert sorted(folder.iterdir()) == sorted([live, other])
