"""Faults while writing and reading database files:

- SIGKILL at random moments of ``build_database`` and ``build_history`` writing over
  an existing file: afterwards the file is the old one (same bytes, answers as
  before) or the complete new one;
- a full disk (a small tmpfs, or where mounting is not allowed a file-size limit):
  a clear ``OSError``, the old file intact, no partial file left;
- the file replaced on disk (every writer renames) while a ``Database`` has it
  mapped: the open handle answers from the old file;
- the file truncated in place by something else while mapped: the process gets
  SIGBUS, which is what memory-mapped readers meet (MaxMind's included); the test
  shows it is reported (faulthandler names the signal and the Python line), never
  silent wrong answers.
"""

from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from dbfixtures import APNIC, AS2ORG, IPASN, IPASN46, RIPE, shared, v4_addresses

import geoip_rs

BUILD = r'''
import os, sys
os.environ["SOURCE_DATE_EPOCH"] = "1400000000"  # the same bytes each time
import geoip_rs
out, kind = sys.argv[1], sys.argv[2]
print("go", flush=True)
if kind == "history":
    geoip_rs.build_history(out, sys.argv[3:]).close()
else:
    geoip_rs.build_database(out, ipasn=sys.argv[3], as2org=sys.argv[4], delegated=sys.argv[5:],
                            progress=False).close()
print("done", flush=True)
'''


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def answers(path: Path) -> list:
    addrs = v4_addresses(20_000, seed=3)
    with geoip_rs.open(path) as db:  # checksum verified
        cols = db.lookup_batch(addrs)
        return [cols["asn"].tolist(), cols["country"].tolist()]


def kill_loop(tmp_path, argv_tail, old_bytes_of, new_answers, points=24):
    """Start the writer `points` times, SIGKILL it after a random delay within its
    run time, and check the file each time."""
    target = tmp_path / "target.geoipdb"
    rng = random.Random(7)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", BUILD, str(target), *argv_tail], check=True,
                   capture_output=True)
    span = time.perf_counter() - t0
    new_sha = sha(target)
    seen = {"old": 0, "new": 0}
    for i in range(points):
        old_sha = old_bytes_of(target)
        p = subprocess.Popen([sys.executable, "-c", BUILD, str(target), *argv_tail],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout.readline() == b"go\n"
        time.sleep(rng.uniform(0, span))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        got = sha(target)
        assert got in (old_sha, new_sha), f"kill point {i}: neither the old file nor the new"
        seen["old" if got == old_sha else "new"] += 1
        if got == new_sha:
            assert answers(target) == new_answers
    # some kills before the rename, some after
    assert seen["old"] > 0 and seen["new"] > 0, seen
    return seen


def test_sigkill_during_a_build_leaves_the_old_file_or_the_new(tmp_path):
    args = ["db", str(shared(IPASN46)), str(shared(AS2ORG)), str(shared(RIPE)), str(shared(APNIC))]
    new = tmp_path / "new.geoipdb"
    subprocess.run([sys.executable, "-c", BUILD, str(new), *args], check=True, capture_output=True)
    new_answers = answers(new)
    old = tmp_path / "old.geoipdb"
    geoip_rs.build_database(old, ipasn=shared(IPASN), progress=False).close()
    old_answers = answers(old)
    assert old_answers != new_answers

    def reset(target):  # the old file back before each kill
        target.write_bytes(old.read_bytes())
        assert answers(target) == old_answers
        return sha(target)

    kill_loop(tmp_path, args, reset, new_answers)


def test_sigkill_during_a_history_build(tmp_path):
    days = []
    for d, src in enumerate([IPASN, IPASN46]):
        p = tmp_path / f"day{d}.geoipdb"
        geoip_rs.build_database(p, ipasn=shared(src), progress=False).close()
        days.append(str(p))
    new = tmp_path / "h-new.geoipdb"
    geoip_rs.build_history(new, days).close()
    new_answers = answers(new)
    old = tmp_path / "h-old.geoipdb"
    geoip_rs.build_history(old, days[:1]).close()

    def reset(target):
        target.write_bytes(old.read_bytes())
        return sha(target)

    kill_loop(tmp_path, ["history", *days], reset, new_answers)


def small_disk(tmp_path):
    """A 4 MB file system (tmpfs); None where mounting is not allowed."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       capture_output=True)
    return mnt if r.returncode == 0 else None


FULL = r'''
import sys, geoip_rs
try:
    geoip_rs.build_database(sys.argv[1], ipasn=sys.argv[2], progress=False)
except OSError as e:
    print("OSError:", e)
'''


def test_a_full_disk_is_a_clear_error_and_the_old_file_stays(tmp_path):
    mnt = small_disk(tmp_path)
    folder = mnt or tmp_path
    try:
        target = folder / "db.geoipdb"
        ipasn = tmp_path / "small.txt"
        ipasn.write_text("1.0.0.0/24\t13335\n")
        geoip_rs.build_database(target, ipasn=ipasn, progress=False).close()
        before = target.read_bytes()
        # a file system too small for it, or (no mount allowed) a file size limit
        argv = [sys.executable, "-c", FULL, str(target), str(shared(IPASN46))]
        if mnt is None:
            argv = ["prlimit", f"--fsize={len(before) * 2}", *argv]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("OSError:") and "db.geoipdb" in run.stdout, run.stdout
        assert ("No space left" in run.stdout) or ("too large" in run.stdout), run.stdout
        assert target.read_bytes() == before
        assert sorted(p.name for p in folder.iterdir()) == ["db.geoipdb"]  # nothing partial
        with geoip_rs.open(target) as db:
            assert db.lookup("1.0.0.1").asn == 13335
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], check=True)


def test_a_replaced_file_keeps_the_open_handle_answering(tmp_path):
    path = tmp_path / "db.geoipdb"
    geoip_rs.build_database(path, ipasn=shared(IPASN), progress=False).close()
    addrs = v4_addresses(50_000, seed=4)
    with geoip_rs.open(path) as db:
        before = db.lookup_batch(addrs)["asn"].tolist()
        geoip_rs.build_database(path, ipasn=shared(IPASN46), progress=False).close()  # renamed over
        assert db.lookup_batch(addrs)["asn"].tolist() == before
        with geoip_rs.open(path) as new:
            assert new.lookup_batch(addrs)["asn"].tolist() != before


TRUNCATE = r'''
import faulthandler, os, sys, numpy as np, geoip_rs
faulthandler.enable()
db = geoip_rs.open(sys.argv[1])
a = np.arange(0, 2**32, 4099, dtype=np.uint64).astype(np.uint32)
db.lookup_batch(a)
os.truncate(sys.argv[1], 4096)   # another program cuts the file in place
db.lookup_batch(a)
print("answered after the cut")
'''


def test_a_file_truncated_in_place_is_reported_not_silent(tmp_path):
    path = tmp_path / "db.geoipdb"
    geoip_rs.build_database(path, ipasn=shared(IPASN), progress=False).close()
    run = subprocess.run([sys.executable, "-c", TRUNCATE, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == -signal.SIGBUS, (run.returncode, run.stdout, run.stderr)
    assert "Bus error" in run.stderr and "line 8" in run.stderr, run.stderr  # the batch after the cut
    assert "answered" not in run.stdout


def test_a_history_appended_while_open_answers_from_what_was_opened(tmp_path):
    """Threads query an open history while ``add_snapshot`` adds a day to its file
    (written aside and renamed over): every answer is the opened file's."""
    import threading

    days = []
    for d, src in enumerate([IPASN, IPASN46]):
        p = tmp_path / f"day{d}.geoipdb"
        geoip_rs.build_database(p, ipasn=shared(src), progress=False).close()
        days.append(p)
    path = tmp_path / "h.geoipdb"
    geoip_rs.build_history(path, days[:1]).close()
    addrs = v4_addresses(20_000, seed=9)
    with geoip_rs.open(path) as h:
        want = h.lookup_batch(addrs)["asn"].tolist()
        errors, stop = [], threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    assert h.lookup_batch(addrs)["asn"].tolist() == want
                    assert h.lookup(int(addrs[0])).asn == want[0]
                except BaseException as e:  # noqa: BLE001
                    errors.append(e)
                    return

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        geoip_rs.add_snapshot(path, days[1]).close()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert len(h.metadata["snapshots"]) == 1
    with geoip_rs.open(path) as grown:
        assert len(grown.metadata["snapshots"]) == 2
