"""GeoIP database files: reopening, pickling and processes, close, the context manager
and closing under other threads, and files that are not sound databases (not one,
missing, another version, truncated, bit flips, damage without the checksum). The
databases are built in dbfixtures.py.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from dbfixtures import IPASN, TINY_EXPECTED, TINY_UNROUTED, ip4, shared, v4_addresses

import geoip_rs


# ---- save -> open ---------------------------------------------------------------------


def test_reopened_files_answer_identically(db, dbdir):
    copy = dbdir / "copy.geoipdb"
    shutil.copyfile(db.path, copy)
    q = v4_addresses(1_000_000, seed=31)
    want = db.lookup_batch(q)
    for other in (geoip_rs.open(db.path), geoip_rs.Database(db.path, verify=False), geoip_rs.open(copy)):
        with other:
            got = other.lookup_batch(q)
            assert sorted(got) == sorted(want)
            for k in want:
                np.testing.assert_array_equal(got[k], want[k])
            assert len(other) == len(db)
            # The same content; only the path (which file was opened) may differ.
            assert {**other.metadata, "path": db.path} == db.metadata
            some = [ip4(a) for a in q[:500]]
            assert [other.lookup(a) for a in some] == [db.lookup(a) for a in some]


# ---- pickling, processes --------------------------------------------------------------


def test_database_pickles_as_its_path(db):
    back = pickle.loads(pickle.dumps(db))
    try:
        assert type(back) is type(db) is geoip_rs.Database
        assert back.path == db.path and not back.closed
        q = v4_addresses(10_000, seed=8)
        np.testing.assert_array_equal(back.lookup_batch(q)["asn"], db.lookup_batch(q)["asn"])
        assert len(pickle.dumps(db)) < 1000  # the path, not the table
    finally:
        back.close()


def _worker_lookup(args):
    database, addresses = args
    return database.path, [database.lookup(a) for a in addresses]


def test_multiprocessing_pool(db):
    addresses = [ip4(a) for a in v4_addresses(2_000, seed=12)]
    chunks = [addresses[i: i + 500] for i in range(0, len(addresses), 500)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_worker_lookup, [(db, c) for c in chunks])
    assert [p for p, _ in results] == [db.path] * len(chunks)
    got = [r for _, rs in results for r in rs]
    assert got == [db.lookup(a) for a in addresses]
    assert sum(r is not None for r in got) > 500


# ---- close and context manager --------------------------------------------------------


CLOSED_CALLS = {
    "lookup": lambda d: d.lookup("8.8.8.8"),
    "get": lambda d: d.get("8.8.8.8"),
    "contains": lambda d: "8.8.8.8" in d,
    "len": len,
    "iter": iter,
    "lookup_batch": lambda d: d.lookup_batch(np.zeros(3, dtype=np.uint32)),
    "lookup_batch_list": lambda d: d.lookup_batch(["8.8.8.8"]),
    "prefixes": lambda d: d.prefixes(15169),
    "covering": lambda d: d.covering("8.8.8.8"),
    "covered": lambda d: d.covered("8.0.0.0/8"),
    "as_sizes": lambda d: d.as_sizes(),
    "as_info": lambda d: d.as_info(15169),
    "metadata": lambda d: d.metadata,
    "file_size": lambda d: d.file_size,
    "summary": lambda d: d.summary(),
    "to_pandas": lambda d: d.to_pandas(["8.8.8.8"]),
}


def test_use_after_close_is_a_clear_error(tiny):
    d = geoip_rs.open(tiny.path)
    assert not d.closed and "closed" not in repr(d)
    d.close()
    assert d.closed
    for name, call in CLOSED_CALLS.items():
        with pytest.raises(ValueError, match="closed") as e:
            call(d)
        assert not isinstance(e.value, geoip_rs.DatabaseError), name
    assert "closed" in repr(d) and d.path == tiny.path
    d.close()  # closing twice is fine
    assert d.closed
    assert tiny.lookup("10.0.0.1") is not None  # another object on the file is untouched


def test_context_manager(tiny):
    with geoip_rs.open(tiny.path) as d:
        assert isinstance(d, geoip_rs.Database)
        assert d.lookup("10.0.0.1").asn == 64500
    assert d.closed
    with pytest.raises(ValueError, match="closed"):
        d.lookup("10.0.0.1")
    with pytest.raises(KeyError):
        with geoip_rs.open(tiny.path) as d2:
            raise KeyError("inside")
    assert d2.closed


def test_close_while_other_threads_look_up(tiny_src, tmp_path):
    """``close()`` during batches in other threads: each batch either answers fully
    and correctly or raises the closed error; nothing crashes."""
    import threading

    d = geoip_rs.build_database(tmp_path / "t.geoipdb", ipasn=shared(IPASN))
    q = v4_addresses(300_000, seed=5)
    want = d.lookup_batch(q)["asn"]
    outcomes = []
    started = threading.Barrier(5)

    def work():
        started.wait()
        for _ in range(20):
            try:
                got = d.lookup_batch(q)["asn"]
            except ValueError as e:
                assert "closed" in str(e)
                outcomes.append("closed")
                return
            outcomes.append(bool((got == want).all()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    started.wait()
    d.close()
    for th in threads:
        th.join()
    assert len(outcomes) >= 4 and all(o is True or o == "closed" for o in outcomes), outcomes
    assert d.closed


# ---- bad files ------------------------------------------------------------------------


def assert_refused(path: Path, **kw):
    with pytest.raises(geoip_rs.DatabaseError) as e:
        geoip_rs.Database(path, **kw)
    assert str(path) in str(e.value)
    return e.value


def test_database_error_is_a_value_error():
    assert issubclass(geoip_rs.DatabaseError, ValueError)


def test_not_a_database(tmp_path, tiny_src):
    cases = {
        "empty.geoipdb": b"",
        "text.geoipdb": b"not a database at all, clearly, and long enough for a header\n" * 3,
        "short.geoipdb": b"GEOIPRS\0",
        "zeros.geoipdb": bytes(4096),
        "ipasn.geoipdb": shared(IPASN).read_bytes()[:100_000],
        "source.geoipdb": Path(tiny_src["ipasn"]).read_bytes(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        err = assert_refused(tmp_path / name)
        if name != "short.geoipdb":
            assert "not a geoip_rs database" in str(err), name


def test_missing_file(tmp_path):
    path = tmp_path / "nope.geoipdb"
    with pytest.raises(FileNotFoundError) as e:
        geoip_rs.open(path)
    assert e.value.filename == str(path) and str(path) in str(e.value)
    with pytest.raises(FileNotFoundError):
        geoip_rs.Database(str(path))


def test_a_folder_is_not_a_database(tmp_path):
    with pytest.raises((OSError, geoip_rs.DatabaseError)) as e:
        geoip_rs.open(tmp_path)
    assert str(tmp_path) in str(e.value)


@pytest.mark.parametrize("version", [0, 1, 5, 7, 2**32 - 1])
def test_wrong_version(tiny, tmp_path, version):
    data = bytearray(Path(tiny.path).read_bytes())
    assert int.from_bytes(data[8:12], "little") == 2
    data[8:12] = version.to_bytes(4, "little")
    p = tmp_path / "v.geoipdb"
    p.write_bytes(bytes(data))
    err = assert_refused(p)
    assert f"version {version}" in str(err)
    assert_refused(p, verify=False)


def test_a_database_labelled_a_compiled_mmdb_is_refused(tiny, tmp_path):
    """Version 4 is a compiled MMDB file: a database relabelled so opens as one
    and is refused, for its checksum or, unverified, for its missing sections."""
    data = bytearray(Path(tiny.path).read_bytes())
    data[8:12] = (4).to_bytes(4, "little")
    p = tmp_path / "v.geoipdb"
    p.write_bytes(bytes(data))
    assert "checksum" in str(assert_refused(p))
    with pytest.raises(geoip_rs.DatabaseError, match="no section"):
        geoip_rs.open(p, verify=False)
    with pytest.raises(geoip_rs.DatabaseError, match="not a database"):
        geoip_rs.Database(p, verify=False)


def test_one_date_file_claiming_to_be_a_history(tiny, tmp_path):
    """Version 3 is a history's: a one-date file saying so (checksum made right) is
    refused for the history's sections it lacks."""
    data = bytearray(Path(tiny.path).read_bytes())
    data[8:12] = (3).to_bytes(4, "little")
    data[24:28] = zlib.crc32(bytes(data[:24]) + bytes(data[28:])).to_bytes(4, "little")
    p = tmp_path / "v3.geoipdb"
    p.write_bytes(bytes(data))
    err = assert_refused(p)
    assert "format version 3 (a history) without section" in str(err)


def truncation_points(size: int, n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return sorted(set(range(64)) | set(range(size - 64, size)) | {rng.randrange(size) for _ in range(n)},
                  reverse=True)


@pytest.mark.parametrize("which", ["tiny", "full_table"])
def test_truncations(which, tiny, db, tmp_path):
    src = Path(tiny.path if which == "tiny" else db.path)
    p = tmp_path / "cut.geoipdb"
    shutil.copyfile(src, p)
    size = p.stat().st_size
    for cut in truncation_points(size, 200, seed=size):  # descending: truncate in place
        os.truncate(p, cut)
        assert_refused(p)
        assert_refused(p, verify=False)
    # and a file with bytes added at the end
    p.write_bytes(src.read_bytes() + b"\0" * 8)
    assert_refused(p)


def flip_and_check(path: Path, positions, check):
    with open(path, "r+b") as f:
        for bit in positions:
            f.seek(bit // 8)
            byte = f.read(1)[0]
            f.seek(bit // 8)
            f.write(bytes([byte ^ (1 << (bit % 8))]))
            f.flush()
            check(bit)
            f.seek(bit // 8)
            f.write(bytes([byte]))
            f.flush()


def test_bit_flips_are_refused(tiny, db, tmp_path):
    p = tmp_path / "flip.geoipdb"
    # the tiny database: every bit of the header, section table and the start of the
    # metadata, and 1,500 random bits
    shutil.copyfile(tiny.path, p)
    size = p.stat().st_size
    rng = random.Random(5)
    bits = list(range(1024 * 8)) + [rng.randrange(size * 8) for _ in range(1500)]
    flip_and_check(p, bits, lambda bit: assert_refused(p))
    # the full-table database: 200 random bits
    shutil.copyfile(db.path, p)
    size = p.stat().st_size
    flip_and_check(p, [rng.randrange(size * 8) for _ in range(200)], lambda bit: assert_refused(p))
    with geoip_rs.open(p) as ok:  # every flip was undone
        assert ok.lookup("8.8.8.8").asn == 15169


def exercise(d: geoip_rs.Database) -> None:
    """Every query once; on a corrupt file they may answer wrongly, never crash."""
    d.lookup_batch(v4_addresses(5000, seed=1))
    d.lookup_batch(list(TINY_EXPECTED) + TINY_UNROUTED, details=True)
    for ip in list(TINY_EXPECTED) + TINY_UNROUTED:
        d.lookup(ip)
        d.covering(ip)
    list(d)
    len(d)
    d.covered("0.0.0.0/0")
    d.covered("::/0")
    d.prefixes(64500)
    d.as_sizes()
    d.as_info(64500)
    d.as_info(64501)
    d._summary("asn")
    d._summary("country")
    d.metadata
    repr(d)


def sections(path: Path) -> dict[str, tuple[int, int]]:
    """``{tag: (offset, length)}`` from the file's section table (layout in the
    docs of ``src/db/file.rs``: a 32-byte header, then 24-byte entries)."""
    data = path.read_bytes()
    count = int.from_bytes(data[12:16], "little")
    out = {}
    for i in range(count):
        e = 32 + 24 * i
        tag = data[e: e + 8].rstrip(b"\0").decode()
        out[tag] = (int.from_bytes(data[e + 8: e + 16], "little"), int.from_bytes(data[e + 16: e + 24], "little"))
    return out


def test_corruption_without_checksum_never_crashes(tiny, tmp_path):
    """With ``verify=False`` the checksum is not read: damage in the data may give
    wrong answers, but opening and every query either work or raise DatabaseError,
    never panic or crash."""
    p = tmp_path / "noverify.geoipdb"
    shutil.copyfile(tiny.path, p)
    secs = sections(p)
    assert {"meta", "v4trie", "v4addr", "routeoff", "asinfo", "strdata"} <= set(secs)
    opened = 0

    def check(_):
        nonlocal opened
        try:
            d = geoip_rs.Database(p, verify=False)
        except geoip_rs.DatabaseError as e:
            assert str(p) in str(e)
            return
        opened += 1
        with d:
            exercise(d)

    rng = random.Random(11)
    small = [(tag, off, n) for tag, (off, n) in secs.items() if not tag.endswith("trie") and tag != "meta"]
    # every bit of the small arrays (prefixes, routes, ASes, registries, strings)
    bits = [b for _, off, n in small for b in range(off * 8, (off + n) * 8)]
    # random bits of the metadata and of the compiled tries
    for tag in ("meta", "v4trie", "v6trie", "rir4trie", "rir6trie"):
        off, n = secs[tag]
        bits += [rng.randrange(off * 8, (off + n) * 8) for _ in range(150)]
    flip_and_check(p, bits, check)
    # whole words set to large values (indexes that point nowhere)
    with open(p, "r+b") as f:
        for _, off, n in small:
            for at in range(off, off + n - 3, 4):
                f.seek(at)
                old = f.read(4)
                for word in (b"\xff\xff\xff\xff", b"\xfe\xff\xff\x7f", b"\x00\x01\x00\x00"):
                    f.seek(at)
                    f.write(word)
                    f.flush()
                    check(at)
                f.seek(at)
                f.write(old)
                f.flush()
    assert opened > 1000  # most of this damage is past what the structure check sees
