"""The bundled sample database: present, opened by ``geoip_rs.open()``, rebuilt from
the shared data to the same bytes (so it is what DATA.md says it is), and answering
as the RIB it came from."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
from conftest import require_shared

import geoip_rs

ROOT = Path(__file__).resolve().parents[1]
JINX = "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
RV6 = "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"


def builder():
    spec = importlib.util.spec_from_file_location("build_sample_db", ROOT / "scripts" / "build_sample_db.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_is_packaged_and_opens():
    path = Path(geoip_rs.sample_path())
    assert path.is_file()
    with geoip_rs.open() as db:
        assert Path(db.path) == path
        assert len(db) > 400_000
        sources = db.metadata["sources"]
        kinds = [s["kind"] for s in sources]
        assert kinds == ["mrt", "mrt"] + ["delegated"] * 5 + ["asnames"]
        assert "as2org" not in kinds  # CAIDA data must not be redistributed
        # Only the truncated ARIN file had a malformed line to skip: its cut-off end.
        cut = {s["name"]: s["skipped"].get("cut-off last line") for s in sources}
        assert {k: v for k, v in cut.items() if v} == {"delegated-arin-extended-20140804.TRUNCATED.gz": 1}
        assert all(s["records"] > 0 for s in sources)


def test_the_sample_rebuilds_to_the_same_bytes(tmp_path):
    root = require_shared(JINX, RV6)
    out = tmp_path / "sample.geoipdb"
    builder().build(out, root)
    assert out.read_bytes() == Path(geoip_rs.sample_path()).read_bytes(), (
        "the bundled sample is stale: run python scripts/build_sample_db.py"
    )


def test_the_sample_answers_as_its_ribs():
    root = require_shared(JINX, RV6)
    table, _ = geoip_rs.read_mrt(root / JINX)
    rng = np.random.default_rng(5)
    addrs = rng.integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    want, want_len, found = table.lookup_batch(addrs)
    with geoip_rs.open() as db:
        got = db.lookup_batch(addrs)
        assert (got["found"] == found).all()
        assert (got["asn"][found] == want[found]).all()
        assert (got["prefix_len"][found] == want_len[found]).all()
        v6, _ = geoip_rs.read_mrt(root / RV6)
        checked = 0
        for prefix, asn in random.Random(6).sample(v6.items(), 300):
            r = db.lookup(prefix.network_address)
            if r.prefix == prefix:  # else a more specific prefix starts there
                assert r.asn == asn
                checked += 1
        assert checked > 200
