"""read_ipasn / write_ipasn: the Rust reader against a plain-Python parse of the same
files, round trips, progress reports, and every error path."""

from __future__ import annotations

import bz2
import gzip
import re

import pytest
from conftest import read_ipasn as parse_in_python
from conftest import require_shared

import geoip_rs

V4 = "ipasn/ipasn_20140513.dat.gz"
V46 = "ipasn/ipasn6_20151101.dat.gz"


@pytest.fixture(scope="module")
def v46():
    path = require_shared(V46) / V46
    return path, geoip_rs.read_ipasn(path)


def test_reads_the_same_as_a_python_parse(v46):
    path, (table, summary) = v46
    expected = geoip_rs.PrefixTable(parse_in_python(path))
    assert table == expected
    assert table.counts() == (606_138, 27_693)
    assert summary["prefixes"] == summary["entries"] == len(table)
    assert summary["skipped"] == {} and not summary["truncated"]


def test_round_trip_through_every_compression(v46, tmp_path):
    _, (table, _) = v46
    plain = tmp_path / "t.dat"
    geoip_rs.write_ipasn(table, plain, header=["made by a test"])
    assert plain.read_text().startswith("; made by a test\n")
    data = plain.read_bytes()
    # Compression is told by content: the names here are deliberately misleading.
    (tmp_path / "gz.txt").write_bytes(gzip.compress(data))
    (tmp_path / "bz.gz").write_bytes(bz2.compress(data))
    for name in ("t.dat", "gz.txt", "bz.gz"):
        again, _ = geoip_rs.read_ipasn(tmp_path / name)
        assert again == table, name


def test_write_rejects_values_that_are_not_asns(tmp_path):
    t = geoip_rs.PrefixTable({"10.0.0.0/8": "ten"})
    with pytest.raises(ValueError, match=re.escape("the value of 10.0.0.0/8 is not an AS number")):
        geoip_rs.write_ipasn(t, tmp_path / "x.dat")
    with pytest.raises(ValueError, match="not an AS number"):
        geoip_rs.write_ipasn(geoip_rs.PrefixTable({"10.0.0.0/8": -1}), tmp_path / "x.dat")
    with pytest.raises(OSError, match="nonexistent"):
        geoip_rs.write_ipasn(geoip_rs.PrefixTable(), tmp_path / "nonexistent" / "x.dat")


def test_progress_callback_reaches_the_file_size(tmp_path):
    path = require_shared(V4) / V4
    calls = []
    geoip_rs.read_ipasn(path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert calls and calls[-1] == (size, size)
    assert all(total == size and 0 <= done <= size for done, total in calls)


def test_progress_callback_errors_stop_the_load():
    path = require_shared(V4) / V4

    def boom(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        geoip_rs.read_ipasn(path, progress=boom)


def test_progress_true_works_with_or_without_tqdm(tmp_path):
    p = tmp_path / "t.dat"
    p.write_text("1.0.0.0/24\t1\n")
    table, _ = geoip_rs.read_ipasn(p, progress=True)
    assert table["1.0.0.1"] == 1


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.dat"):
        geoip_rs.read_ipasn(tmp_path / "nope.dat")
    with pytest.raises(OSError, match="directory"):
        geoip_rs.read_ipasn(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("1.0.0.0/24\t1\n1.0.0.1/24\t2\n", r"line 2: 1.0.0.1/24 has host bits set"),
        ("1.0.0.0/24 1\n", r"line 1: expected 'prefix<TAB>asn'"),
        ("1.0.0.0/33\t1\n", r"line 1: '1.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
        ("; header\n1.0.0.0/24\tAS1\n", r"line 2: bad AS number 'AS1'"),
        ("1.0.0.0/24\t4294967296\n", r"line 1: bad AS number"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, content, message):
    p = tmp_path / "bad.dat"
    p.write_text(content)
    with pytest.raises(geoip_rs.FormatError, match=message) as info:
        geoip_rs.read_ipasn(p)
    assert isinstance(info.value, ValueError)
    assert "bad.dat" in str(info.value)


def test_skip_keeps_the_good_lines_and_counts_the_bad(tmp_path):
    p = tmp_path / "bad.dat"
    p.write_text("1.0.0.0/24\t1\ngarbage\n2.0.0.0/8\t2\n2.0.0.1/8\t3\n")
    table, summary = geoip_rs.read_ipasn(p, on_error="skip")
    assert dict(table.items()) == {
        geoip_rs.PrefixTable({"1.0.0.0/24": 1}).items()[0][0]: 1,
        geoip_rs.PrefixTable({"2.0.0.0/8": 2}).items()[0][0]: 2,
    }
    assert summary["skipped"] == {"malformed line": 2}
    assert len(summary["errors"]) == 2 and "line 2" in summary["errors"][0]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress], ids=["gzip", "bzip2"])
def test_truncated_compressed_file(tmp_path, compress):
    # Enough for several bzip2 blocks (900 kB each): a cut file still has whole blocks.
    n = 300_000
    lines = "".join(f"{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}.0/24\t{i}\n" for i in range(1, n))
    data = compress(lines.encode())
    p = tmp_path / "cut.dat.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(geoip_rs.FormatError, match=r"cut.dat.gz: byte offset \d+: truncated or corrupt"):
        geoip_rs.read_ipasn(p)
    table, summary = geoip_rs.read_ipasn(p, on_error="skip")
    assert summary["truncated"] and summary["skipped"] == {"unreadable rest of file": 1}
    assert 0 < len(table) < n - 1
    # What was kept is a prefix of the file, read correctly.
    full = geoip_rs.PrefixTable((f"{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}.0/24", i) for i in range(1, len(table) + 1))
    assert table == full


def test_bad_arguments():
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        geoip_rs.read_ipasn("x", on_error="ignore")
    with pytest.raises(TypeError, match="progress must be None, a bool or a callable"):
        geoip_rs.read_ipasn("x", progress=3)
    with pytest.raises(TypeError):
        geoip_rs.read_ipasn(42)


def test_ctrl_c_interrupts_a_long_load():
    """A SIGINT while the GIL is released reaches Python as KeyboardInterrupt
    (the loader checks for signals between progress reports), and stops the load:
    it returns far sooner than a whole load takes."""
    import os
    import signal
    import threading
    import time

    path = require_shared("mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2")
    path = path / "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
    t0 = time.perf_counter()
    geoip_rs.read_mrt(path)
    whole = time.perf_counter() - t0  # ~0.8 s

    # SIGINT every 20 ms from 0.1 s on, until the load is over, so that a late
    # thread cannot miss it; the handler raises once and ignores the rest.
    done, raised = threading.Event(), []

    def handler(signum, frame):
        if not raised:
            raised.append(True)
            raise KeyboardInterrupt

    def send():
        done.wait(0.1)
        while not done.wait(0.02):
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    sender = threading.Thread(target=send)
    try:
        sender.start()
        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            geoip_rs.read_mrt(path)
        stopped = time.perf_counter() - t0
    finally:
        done.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)
    # Without the loader's checks the signal would only be seen once it returned.
    assert stopped < 0.6 * whole, (stopped, whole)
