"""AS numbers of RIR delegated files stay ranges: ``read_delegated``'s ``asns`` is a
read-only mapping that answers as a dict filled in file order would (the model:
every AS number inserted one by one), and a count of billions, as a flipped digit
gives, costs one range, also under a 1 GB address-space limit."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Mapping

import pytest

import geoip_rs

HEAD = "2|test|20200101|{n}|19700101|20200101|+0000\n"


def delegated_file(path, records):
    lines = [f"test|{cc}|asn|{first}|{count}|20200101|{status}" for first, count, cc, status in records]
    path.write_text(HEAD.format(n=len(lines)) + "".join(line + "\n" for line in lines))
    return path


def model(records) -> dict[int, dict]:
    out = {}
    for first, count, cc, status in records:
        if status in ("allocated", "assigned"):
            for asn in range(first, first + count):
                out[asn] = {"registry": "test", "country": cc, "status": status,
                            "date": "20200101", "opaque_id": None}
    return out


@pytest.mark.parametrize("seed", range(30))
def test_asns_answer_as_a_dict_filled_in_file_order(tmp_path, seed):
    rng = random.Random(seed)
    records = [(rng.randrange(0, 300), rng.randrange(1, 40), rng.choice(["US", "DE", "JP"]),
                rng.choice(["allocated", "assigned", "reserved"])) for _ in range(rng.randrange(0, 25))]
    _, asns, _ = geoip_rs.read_delegated(delegated_file(tmp_path / "d", records))
    want = model(records)
    assert isinstance(asns, Mapping) and isinstance(asns, geoip_rs.AsnRanges)
    assert asns == want and len(asns) == len(want)
    assert list(asns) == sorted(want) and list(asns.keys()) == sorted(want)
    assert dict(asns.items()) == want and list(asns.values()) == [want[a] for a in sorted(want)]
    for asn in range(-2, 360):
        assert (asn in asns) == (asn in want)
        assert asns.get(asn) == want.get(asn)
        if asn in want:
            assert asns[asn] == want[asn]
        else:
            with pytest.raises(KeyError):
                asns[asn]
    # the ranges cover exactly the numbers, in order, without overlaps
    ranges = asns.ranges()
    assert [a for first, last, _ in ranges for a in range(first, last + 1)] == sorted(want)
    assert all(rec == want[first] == want[last] for first, last, rec in ranges)
    assert asns != {**want, 10_000: {}} and asns != [1] and "x" not in asns and asns.get("x", 5) == 5


def test_one_dict_per_record(tmp_path):
    _, asns, _ = geoip_rs.read_delegated(delegated_file(tmp_path / "d", [(10, 5, "US", "allocated")]))
    assert asns[10] is asns[14]
    assert repr(asns) == "AsnRanges(5 AS numbers in 1 ranges)"


HOSTILE = r'''
import sys, geoip_rs
path, ipasn, out = sys.argv[1:4]
table, asns, summary = geoip_rs.read_delegated(path, on_error="skip")
assert len(asns) == 2**32 - 1 + 1, len(asns)   # 1..2**32-1 and 0
assert asns[32784]["country"] == "RW" and asns[4_000_000_000]["country"] == "US"
it = iter(asns)
assert [next(it) for _ in range(3)] == [0, 1, 2]
assert [(f, l) for f, l, _ in asns.ranges()] == [(0, 0), (1, 32783), (32784, 20154_000), (20154_001, 2**32 - 1)]
db = geoip_rs.build_database(out, ipasn=ipasn, delegated=[path], progress=False)
r = db.lookup("1.0.0.1")
assert (r.asn, r.country, r.country_source) == (32784, "RW", "rir-asn"), r
assert db.metadata["counts"]["rir_asn_ranges"] == 4, db.metadata["counts"]
print(int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1]))
'''


def test_a_count_of_billions_is_one_range_in_bounded_memory(tmp_path):
    """The damaged line of a real report (its date read as the count) and a count
    covering every AS number, read and built under a 1 GB address-space limit."""
    if shutil.which("prlimit") is None:
        pytest.fail("prlimit (util-linux) is needed")
    p = tmp_path / "hostile"
    p.write_text(HEAD.format(n=3)
                 + "test|US|asn|1|4294967295|20200101|allocated\n"
                 + "afrinic|RW|asn|32784|20121217|20121101|allocated\n"
                 + "test|ZZ|asn|0|1|20200101|assigned\n")
    ipasn = tmp_path / "ipasn"
    ipasn.write_text("1.0.0.0/24\t32784\n")
    argv = ["prlimit", f"--as={1 << 30}", sys.executable, "-c", HOSTILE, str(p), str(ipasn),
            str(tmp_path / "h.geoipdb")]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split()[-1]) < 1 << 20  # peak RSS in KiB: under 1 GB
