"""Decompression bombs: small bzip2 and gzip files that inflate to gigabytes. One
line without an end is refused after the readers' line cap (1 MiB), whatever the
rest would inflate to; a bomb of valid lines is read in bounded memory and stops at
Ctrl-C (SIGINT), in a subprocess under a 1 GB address-space limit."""

from __future__ import annotations

import bz2
import gzip
import signal
import subprocess
import sys
import time

import pytest

import geoip_rs

TEXT_READERS = ["read_delegated", "read_as2org", "read_asnames", "read_ipasn", "read_pfx2as",
                "read_iptoasn"]


def bomb(unit: bytes, copies: int, kind: str) -> bytes:
    """`unit` compressed once and the stream repeated: readers take concatenated
    streams as one file, so the file inflates to `copies` x len(unit)."""
    one = bz2.compress(unit, 9) if kind == "bz2" else gzip.compress(unit, 9, mtime=0)
    return one * copies


@pytest.fixture(scope="module")
def zeros_4g(tmp_path_factory):
    out = {}
    for kind in ("bz2", "gz"):
        p = tmp_path_factory.mktemp("bomb") / f"zeros.{kind}"
        p.write_bytes(bomb(bytes(64 << 20), 64, kind))  # 4 GiB of zero bytes
        out[kind] = p
    return out


@pytest.mark.parametrize("reader", TEXT_READERS)
@pytest.mark.parametrize("kind", ["bz2", "gz"])
def test_one_endless_line_is_refused_at_the_cap(zeros_4g, reader, kind):
    path = zeros_4g[kind]
    assert path.stat().st_size < 8 << 20
    t = time.perf_counter()
    with pytest.raises(geoip_rs.FormatError, match=rf"zeros\.{kind}: line 1: a line of more than 1048576 bytes"):
        getattr(geoip_rs, reader)(path)
    result = getattr(geoip_rs, reader)(path, on_error="skip")
    summary = result[-1]
    assert summary["truncated"] and summary["skipped"] == {"unreadable rest of file": 1}
    assert time.perf_counter() - t < 30  # not the 4 GiB: the reader stops at the cap


READ_UNTIL_INTERRUPTED = r'''
import sys, geoip_rs
print("reading", flush=True)
try:
    geoip_rs.read_ipasn(sys.argv[1])
except KeyboardInterrupt:
    print("interrupted", int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1]), flush=True)
'''


def test_a_bomb_of_valid_lines_is_read_in_bounded_memory_and_interrupted(tmp_path):
    path = tmp_path / "lines.bz2"
    path.write_bytes(bomb(b"1.0.0.0/24\t13335\n" * (4 << 20), 256, "bz2"))  # 17 GiB of lines
    argv = ["prlimit", f"--as={1 << 30}", sys.executable, "-c", READ_UNTIL_INTERRUPTED, str(path)]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "reading\n"
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    word, rss = out.split()
    assert word == "interrupted" and int(rss) < 1 << 20, out
