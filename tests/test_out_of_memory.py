"""Out of memory while the readers build their Python results: every object the
binding makes per record is made so that a failed allocation raises the
``MemoryError`` Python set, never a Rust panic (pyo3's ``panic_on_null``), which
out of memory met a second panic while unwinding and aborted the process.

CPython's own test hook (``_testcapi.set_nomemory``) makes Python's allocations
fail from the N-th on; Rust's allocations go on, so the files are read and each
sweep reaches the object building at many points. Each reader runs in a
subprocess: an abort fails its test, not the session."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import require_shared

SWEEP = r'''
import sys, _testcapi, geoip_rs
fn, path = getattr(geoip_rs, sys.argv[1]), sys.argv[2]
starts = [int(x) for x in sys.argv[3:]]
codes = bytearray(len(starts))           # made before the hooks: 0 read, 1 MemoryError
for i, start in enumerate(starts):
    _testcapi.set_nomemory(start, 0)
    try:
        fn(path)
        codes[i] = 0
    except MemoryError:
        codes[i] = 1
    finally:
        _testcapi.remove_mem_hooks()
print(list(codes))
'''

READERS = {
    "read_delegated": "rir/delegated-afrinic-20140630.gz",
    "read_as2org": "as2org/20170401.as-org2info.txt.gz",
    "read_asnames": "asnames/asnames_20140524.txt.gz",
    "read_ipasn": "ipasn/ipasn_20080501_v12.dat.gz",
    "read_pfx2as": "pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz",
    "read_iptoasn": "iptoasn/ip2asn-v6.tsv.gz",
}


@pytest.mark.parametrize("reader", READERS)
def test_a_failed_python_allocation_is_a_memory_error(reader):
    rel = READERS[reader]
    path = require_shared(rel) / rel
    # from the first allocations (the summary) to deep into the records; not the
    # very first, which fails inside pyo3's extraction of the path argument (its
    # error message is made infallibly: pyo3's own panic, left to pyo3)
    starts = sorted({int(1.5 ** k) for k in range(0, 40)})
    run = subprocess.run([sys.executable, "-c", SWEEP, reader, str(path), *map(str, starts)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "panicked" not in run.stderr, run.stderr[-3000:]
    codes = eval(run.stdout)  # noqa: S307 - a list of ints printed above
    assert 1 in codes and codes[-1] == 0, codes  # both outcomes met: the sweep covers the build


BATCH = r'''
import sys
import numpy as np
import geoip_rs
from geoip_rs.reference import PrefixTable as Ref
items = {"10.0.0.0/8": 1, "10.1.0.0/16": 2, "2001:db8::/32": 3}
t, ref = geoip_rs.PrefixTable(items), Ref(items)
db = geoip_rs.Database(sys.argv[1])
mmdb = geoip_rs.MmdbDatabase(sys.argv[3])
huge = np.zeros(int(sys.argv[2]), dtype=np.uint32)   # zero pages: address space only
small = np.array([0x0A010203, 0x0A020304, 0x0B000000], dtype=np.uint32)
for name, call in [("table", lambda q: t.lookup_batch(q)),
                   ("database", lambda q: db.lookup_batch(q)["asn"]),
                   ("mmdb", lambda q: mmdb.lookup_batch(q, "country.iso_code")["found"])]:
    try:
        call(huge)
        print(name, "answered")
    except MemoryError as e:
        print(name, "MemoryError:", e)
    got = call(small)  # and the process goes on, answering
    if name == "table":
        want = ref.lookup_batch(small)
        assert all((g == w).all() for g, w in zip(got, want)), (got, want)
    elif name == "database":
        assert list(got) == [r.asn if r else 0 for r in map(db.lookup, small.tolist())], got
    else:
        assert list(got) == [mmdb.lookup(a) is not None for a in small.tolist()], got
print("done")
'''


MMDB = "mmdb/maxmind-test/test-data/GeoIP2-Country-Test.mmdb"


def test_a_batch_too_large_for_the_memory_left_is_a_memory_error(tmp_path):
    """A batch's output buffers (26 bytes a row for a database, 15 for a table, 25
    for an MMDB file)
    allocated fallibly: under a 1 GB address-space limit, a batch of 100 million
    addresses (400 MB of input) is a MemoryError naming the batch, not an abort
    ("memory allocation failed"), and the process goes on answering."""
    import shutil

    import geoip_rs
    from dbfixtures import IPASN, shared

    assert shutil.which("prlimit"), "prlimit (util-linux) is needed"
    db = tmp_path / "t.geoipdb"
    geoip_rs.build_database(db, ipasn=shared(IPASN), progress=False).close()
    mmdb = require_shared(MMDB) / MMDB
    run = subprocess.run(["prlimit", f"--as={1 << 30}", sys.executable, "-c", BATCH, str(db),
                          str(100_000_000), str(mmdb)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[-1] == "done", run.stdout
    for name in ("table", "database", "mmdb"):
        line = next(x for x in lines if x.startswith(name))
        assert "MemoryError: not enough memory for a batch of 100000000 rows" in line, line
