"""A mirror of the public archives that ``geoip-rs update`` reads, laid out under one
folder exactly as the real servers lay out their files (one top folder per source,
so that ``--url <source>=<server>/<source>`` points each source at its part), made
from the real files in ``../shared/data``.

Only the file names are chosen here (the real archives' naming, at dates the data
is from); the contents are the shared files themselves, decompressed or recompressed
where the real archive keeps that file in another form, and the files ``../shared``
holds only in part made whole: ARIN's delegated file cut at its last whole line with
its header's record count set to match, and route-views2's 2008 dump (its first
MiB) cut after its last whole MRT record.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import shutil
import struct
from pathlib import Path

JINX = "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
RV6 = "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"
RIS = "mrt/ripe-ris-bgpkit/rrc00_bview.20000111.0032.gz"
RIS_UPDATES = "mrt/ripe-ris-bgpkit/rrc00_updates.20000102.2014.gz"
RV2_2008 = "mrt/rib.20080501.0644_firstMB.bz2"

#: Mirror path -> shared file, RIB dumps as the collectors name them.
DUMPS = {
    "routeviews/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2": JINX,
    # An older dump of the same month and one of the month before, for --date.
    "routeviews/bgpdata/2014.05/RIBS/rib.20140501.0000.bz2": JINX,
    "routeviews/bgpdata/2014.04/RIBS/rib.20140430.2200.bz2": JINX,
    "routeviews/route-views6/bgpdata/2015.09/RIBS/rib.20150922.1200.bz2": RV6,
    "ris/rrc00/2000.01/bview.20000111.0032.gz": RIS,
    "ris/rrc00/2000.01/updates.20000111.0030.gz": RIS_UPDATES,
    "ris/rrc00/latest-bview.gz": RIS,
}
#: Dumps ``../shared`` holds only the start of: route-views2 years before its other
#: dumps (a TABLE_DUMP file), for histories over more than one moment of data.
PARTIAL_DUMPS = {"routeviews/bgpdata/2008.05/RIBS/rib.20080501.0644.bz2": RV2_2008}
#: A month that has begun but holds no dump yet: the newest must come from before.
EMPTY = ["routeviews/bgpdata/2014.06/RIBS", "routeviews/bgpdata/2014.05/UPDATES"]

#: Each RIR: its statistics folder on its server, and the shared file standing for
#: its ``-latest`` (all real delegated files; some of the older, non-extended form).
RIR_FILES = {
    "ripencc": ("pub/stats/ripencc", "rir/delegated-ripencc-20140803.gz"),
    "arin": ("pub/stats/arin", "rir/delegated-arin-extended-20140804.TRUNCATED.gz"),
    "apnic": ("stats/apnic", "rir/delegated-apnic-20140804.gz"),
    "lacnic": ("pub/stats/lacnic", "rir/delegated-lacnic-extended-20230323.gz"),
    "afrinic": ("pub/stats/afrinic", "rir/delegated-afrinic-extended-20260505.gz"),
}
#: Dated files for --date 2014-05-31: some RIRs have that day, others only earlier
#: ones (the update looks back a few days); ripencc and apnic archive by year.
RIR_DATED = {
    "ripencc": "2014/delegated-ripencc-extended-20140531.bz2",
    "arin": "delegated-arin-extended-20140531",
    "apnic": "2014/delegated-apnic-extended-20140529.gz",
    "lacnic": "delegated-lacnic-extended-20140530",
    "afrinic": "2014/delegated-afrinic-extended-20140531",
}
#: And the day of the 2008 dump, for --date 2008-05-02 (and the week after it).
RIR_DATED_2008 = {
    "ripencc": "2008/delegated-ripencc-extended-20080501.bz2",
    "arin": "delegated-arin-extended-20080501",
    "apnic": "2008/delegated-apnic-extended-20080501.gz",
    "lacnic": "delegated-lacnic-extended-20080501",
    "afrinic": "2008/delegated-afrinic-extended-20080501",
}
CAIDA = {
    "caida/datasets/as-organizations/20170401.as-org2info.txt.gz": "as2org/20170401.as-org2info.txt.gz",
    "caida/datasets/as-organizations/20200701.as-org2info.txt.gz": "as2org/20200701.as-org2info.txt.gz",
}
ASNAMES = "asnames/ripe/asnames/asn.txt"


def build(root: Path, data: Path) -> dict[str, Path]:
    """Lay the mirror out under ``root``; the plain files each source's build
    should read, by kind, for a database built directly from them (the oracle)."""
    for rel, src in {**DUMPS, **CAIDA}.items():
        _put(root / rel, (data / src).read_bytes())
    for rel, src in PARTIAL_DUMPS.items():
        _put(root / rel, _whole_mrt((data / src).read_bytes()))
    for rel in EMPTY:
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "caida/datasets/as-organizations/README.txt").write_text("AS to organisation\n")
    delegated = [_rir(root, data, rir) for rir in RIR_FILES]
    names = json.loads(gzip.decompress((data / "asnames/asnames.json.gz").read_bytes()))
    asn_txt = "".join(f"{asn} {text}\n" for asn, text in sorted(names.items(), key=lambda kv: int(kv[0])))
    _put(root / ASNAMES, asn_txt.encode())
    return {
        "mrt": [root / "routeviews/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
                root / "routeviews/route-views6/bgpdata/2015.09/RIBS/rib.20150922.1200.bz2"],
        "delegated": delegated,
        "asnames": [root / ASNAMES],
    }


def _rir(root: Path, data: Path, rir: str) -> Path:
    folder, src = RIR_FILES[rir]
    text = gzip.decompress((data / src).read_bytes())
    text = _whole(text[: text.rfind(b"\n") + 1])
    latest = root / rir / folder / f"delegated-{rir}-extended-latest"
    _put(latest, text)
    digest = hashlib.md5(text).hexdigest()
    # The RIRs publish both forms of checksum file.
    md5 = (f"MD5 (delegated-{rir}-extended-20140804) = {digest}\n" if rir in ("ripencc", "arin")
           else f"{digest}  delegated-{rir}-extended-latest\n")
    _put(latest.with_name(latest.name + ".md5"), md5.encode())
    for dated_files in (RIR_DATED, RIR_DATED_2008):
        dated = root / rir / folder / dated_files[rir]
        body = {".bz2": bz2.compress, ".gz": gzip.compress}.get(dated.suffix, lambda b: b)(text)
        _put(dated, body)
        if rir != "afrinic":  # not every archived day has a checksum file
            _put(dated.with_name(dated.name + ".md5"),
                 f"{hashlib.md5(body).hexdigest()}  {dated.name}\n".encode())
    return latest


def _whole(text: bytes) -> bytes:
    """A delegated file cut short made whole: its last line complete and its header's
    record count (the fourth field) what the file now holds."""
    lines = text.split(b"\n")
    head = next(i for i, ln in enumerate(lines) if ln and not ln.startswith(b"#"))
    records = sum(1 for ln in lines[head + 1:] if ln and not ln.startswith(b"#")
                  and not ln.endswith(b"|summary"))
    fields = lines[head].split(b"|")
    fields[3] = str(records).encode()
    lines[head] = b"|".join(fields)
    return b"\n".join(lines)


def _whole_mrt(compressed: bytes) -> bytes:
    """A bzip2 MRT file cut short, made whole: decompressed as far as it goes, cut
    after its last complete record (each a 12-byte header ending in the length of
    what follows), compressed again."""
    text = bz2.BZ2Decompressor().decompress(compressed)
    end = 0
    while end + 12 <= len(text):
        (length,) = struct.unpack_from(">I", text, end + 8)
        if end + 12 + length > len(text):
            break
        end += 12 + length
    return bz2.compress(text[:end], 1)  # the fastest level: the mirror is made per run


def _put(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def urls(server: str) -> dict[str, str]:
    """``update``'s base URL of every source, pointed at the mirror."""
    return {name: f"{server}/{name}" for name in
            ("routeviews", "ris", *RIR_FILES, "caida", "asnames")}


def copy_databases(src: Path, dst: Path) -> None:
    """A cache holding ``src``'s databases but none of its downloads."""
    shutil.copytree(src / "databases", dst / "databases")
