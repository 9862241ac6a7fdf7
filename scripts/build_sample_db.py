"""Build the sample database bundled with the package (python/geoip_rs/data/), from
redistributable data in ../shared/data (provenance and licences: DATA.md):

- the full route-views.jinx IPv4 RIB of 2014-05-30 22:00 UTC (RouteViews),
- the full route-views6 IPv6 RIB of 2015-09-22 12:00 UTC (RouteViews), so that IPv6
  addresses have answers too,
- the RIR delegated files of 2014 (AFRINIC, APNIC, ARIN (truncated), LACNIC, RIPE NCC),
- pyasn's AS names of 2014-05-24 (MIT).

Not CAIDA's as2org: its licence does not allow redistribution, so the sample's
countries come from the RIR files and AS names. The build is reproducible: the
build time is fixed, so the same inputs give the same bytes (tests/test_sample.py
rebuilds it and compares).

    python scripts/build_sample_db.py [OUTPUT]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "python" / "geoip_rs" / "data" / "sample.geoipdb"
#: The RIB's own time, as the build time: the data is that old, whenever built.
BUILD_TIME = "1401487200"


def shared() -> Path:
    return Path(os.environ.get("GEOIP_RS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def sources(data: Path) -> dict[str, list[str]]:
    rir = [
        "delegated-afrinic-20140630.gz",
        "delegated-apnic-20140804.gz",
        "delegated-arin-extended-20140804.TRUNCATED.gz",
        "delegated-lacnic-20140801.gz",
        "delegated-ripencc-20140803.gz",
    ]
    return {
        "mrt": [
            str(data / "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"),
            str(data / "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"),
        ],
        "delegated": [str(data / "rir" / f) for f in rir],
        "asnames": [str(data / "asnames/asnames_20140524.txt.gz")],
    }


def build(output: Path, data: Path | None = None) -> None:
    import geoip_rs

    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = BUILD_TIME
    try:
        # The ARIN file is cut off mid-line: skip its last record rather than stop
        # (the metadata counts what each file skipped; tests/test_sample.py checks).
        geoip_rs.build_database(output, **sources(data or shared()), on_error="skip").close()
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    build(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
