"""Seed corpora for the fuzz targets, from the real files in ../shared/data (which
may not be copied into the repository): the start of each file's decompressed
content (libFuzzer keeps inputs short), MRT files cut at a record boundary, the
MaxMind test and bad-data MMDB files, and small databases built from real data.

    python fuzz/seeds.py OUT   # OUT/<target>/ for each target
"""

from __future__ import annotations

import bz2
import gzip
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GEOIP_RS_SHARED_DATA", ROOT.parent / "shared" / "data"))
KEEP = 3000  # bytes of text per seed

#: text loader selector byte (see fuzz_targets/text_loaders.rs): files
TEXT = {
    0: ["rir/delegated-afrinic-20140630.gz", "rir/delegated-lacnic-extended-20230323.gz"],
    1: ["as2org/20170401.as-org2info.txt.gz", "as2org/20200701.as-org2info.txt.gz"],
    2: ["asnames/asnames_20140524.txt.gz", "asnames/asnames.json.gz"],
    3: ["ipasn/ipasn_20140513.dat.gz", "ipasn/ipasn6_20151101.dat.gz", "ipasn/ipasn.fake"],
    4: ["iptoasn/ip2asn-v6.tsv.gz", "iptoasn/ip2country-v6.tsv.gz"],
    5: ["pfx2as/routeviews-rv6-20160202-1200.pfx2as.gz"],
}

PARSE = ["1.2.3.4", "0.0.0.0/0", "10.0.0.0/8", "::", "::ffff:1.2.3.4", "2001:db8::/32",
         "fe80::1%eth0", "1.2.3.4/32", "255.255.255.255", "2001:db8:0:0:0:0:0:1/128",
         "01.2.3.4", "1.2.3", "::1/129", " 1.2.3.4", "1:2:3:4:5:6:7:8"]


def content(rel: str) -> bytes:
    data = (SHARED / rel).read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=__import__("io").BytesIO(data)).read(1 << 22)
    if data[:3] == b"BZh":
        return bz2.BZ2Decompressor().decompress(data, 1 << 22)
    return data


def mrt_records(data: bytes, budget: int) -> bytes:
    """Whole MRT records from the start, up to `budget` bytes."""
    at = 0
    while at + 12 <= len(data):
        n = struct.unpack(">I", data[at + 8:at + 12])[0]
        if at + 12 + n > min(len(data), budget):
            break
        at += 12 + n
    return data[:at]


def write(out: Path, name: str, data: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)


def main(out: Path) -> None:
    for sel, files in TEXT.items():
        for rel in files:
            text = content(rel)[:KEEP]
            write(out / "text_loaders", f"{sel}-{Path(rel).name}", bytes([sel]) + text)
            write(out / "text_loaders", f"{sel}-{Path(rel).name}.gz", bytes([sel]) + gzip.compress(text, mtime=0))
    for f in sorted((SHARED / "mrt").rglob("*")):
        if f.is_file() and f.stat().st_size < 1 << 22 and "expect" not in f.parts:
            try:
                records = mrt_records(content(str(f.relative_to(SHARED))), 8192)
            except (OSError, EOFError):
                continue
            if records:
                write(out / "mrt", f.name, records)
    mmdb = SHARED / "mmdb" / "maxmind-test"
    for f in sorted(mmdb.rglob("*.mmdb")):
        if f.stat().st_size < 1 << 16:
            write(out / "mmdb", f"{f.parent.name}-{f.name}", f.read_bytes())
    for i, s in enumerate(PARSE):
        write(out / "parse", f"seed-{i}", s.encode())
    databases(out / "databases")
    write_seeds(out / "mmdb_write")
    # the database target's inputs are damage lists over those files (see
    # fuzz_targets/database.rs): a file each, whole and cut
    for how in (0, 1, 2, 0x80, 0x81):
        write(out / "database", f"file-{how}", bytes([how]) + bytes(4) + b"\x00")


def write_seeds(out: Path) -> None:
    """Items for the writer round trip (see fuzz_targets/mmdb_write.rs): real routes,
    RIR blocks and AS entries at the start of real files, in its encoding."""
    import ipaddress

    routes = b""
    for row in content("ipasn/ipasn_20140513.dat.gz")[:3000].split(b"\n")[:-1]:
        if row.startswith(b";"):
            continue
        net, asn = row.split(b"\t")[:2]
        n = ipaddress.ip_network(net.decode())
        routes += bytes([0]) + n.network_address.packed + bytes([n.prefixlen, int(asn) % 256])
    blocks = b""
    for line in content("rir/delegated-afrinic-20140630.gz")[:6000].split(b"\n"):
        f = line.split(b"|")
        if len(f) < 7:  # the header and summary lines
            continue
        if f[2] == b"ipv4":
            a = ipaddress.ip_address(f[3].decode()).packed
            blocks += bytes([2]) + a + bytes([int(f[4]).bit_length() - 1, f[1][0]])
        elif f[2] == b"asn":
            blocks += bytes([3, int(f[3]) % 256, f[1][0], int(f[4]) % 8])
    six = b""
    rows = [r for r in content("ipasn/ipasn6_20151101.dat.gz").split(b"\n") if b":" in r[:40] and not r.startswith(b";")]
    for row in rows[:40]:
        net, asn = row.split(b"\t")[:2]
        n = ipaddress.ip_network(net.decode())
        # the target's length byte: length / 4 ... see its decoding
        six += bytes([1]) + n.network_address.packed[:8] + bytes([(n.prefixlen % 64) * 4 + 2, int(asn) % 256])
    orgs = b"".join(bytes([4, i, i * 7]) for i in range(16))
    for how in range(9):
        write(out, f"routes-{how}", bytes([how]) + routes + blocks + orgs)
    write(out, "both", bytes([0]) + routes[:700] + six + blocks + orgs)
    write(out, "six", bytes([4]) + six + orgs)


def databases(out: Path) -> None:
    """Small real databases (the extension builds them): two dates, and the history
    of both."""
    import geoip_rs

    out.mkdir(parents=True, exist_ok=True)
    rows = content("ipasn/ipasn_20140513.dat.gz")[:4000].split(b"\n")[:-1]
    paths = []
    for day, keep in ((13, rows[:60]), (14, rows[20:100])):
        ipasn = out / f"ipasn_201405{day}.dat"  # the name gives the data's date
        ipasn.write_bytes(b"\n".join(keep) + b"\n")
        paths.append(out / f"day{day}.geoipdb")
        geoip_rs.build_database(paths[-1], ipasn=ipasn, progress=False).close()
        ipasn.unlink()
    geoip_rs.build_history(out / "history.geoipdb", paths).close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
