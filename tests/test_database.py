"""The GeoIP database (issue 4): built from the shared routing and registry data and
checked against the prefix tables (Rust and the pure-Python reference), against
pyasn's and Team Cymru's published answers, and against plain-Python parses of the
CAIDA as2org and RIR delegated files done here, independently of the loaders.

Databases are built once per module into ``tmp_path_factory`` folders. The CAIDA
files are read from ``../shared/data`` and never copied (their licence forbids it).

Hand-made sources (in ``tmp_path``) cover what the real files cannot pin down: every
country source in its order of precedence, and exact summaries.
"""

from __future__ import annotations

import bisect
import collections
import datetime
import gzip
import hashlib
import ipaddress
import multiprocessing
import os
import pickle
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import parse_as2org_pipe, read_expected_tsv, read_ipasn, require_shared

import geoip_rs
from geoip_rs.reference import PrefixTable as RefTable

IPASN = "ipasn/ipasn_20140513.dat.gz"  # 512,621 IPv4 prefixes
IPASN46 = "ipasn/ipasn6_20151101.dat.gz"  # IPv4 and IPv6
AS2ORG = "as2org/20170401.as-org2info.txt.gz"
RIPE = "rir/delegated-ripencc-20140803.gz"
APNIC = "rir/delegated-apnic-20140804.gz"
LACNIC = "rir/delegated-lacnic-20140801.gz"
AFRINIC = "rir/delegated-afrinic-20140630.gz"
ASNAMES_JSON = "asnames/asnames.json.gz"
JINX = "mrt/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
PYASN_SAMPLE = "expected/pyasn_v1.2__ipasn_20140513__sample_10000.tsv"
CYMRU = "expected/cymru_whois_20140513.tsv"
PYASN_EXCEPTIONS = {"128.189.32.228", "209.159.249.194"}

FIELDS = [
    "address", "prefix", "asn", "origins", "as_name", "org_id", "org_name", "country",
    "country_source", "registry",
]


def shared(relpath: str) -> Path:
    return require_shared(relpath) / relpath


def v4_addresses(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, n, dtype=np.uint32)


def ip4(a: int) -> str:
    return str(ipaddress.IPv4Address(int(a)))


def cc_or_none(cc: str) -> str | None:
    """A country code as the database gives it: two letters, else unknown."""
    cc = cc.strip()
    return cc.upper() if len(cc) == 2 and cc.isalpha() and cc.upper() != "ZZ" else None


# ---- independent parses of the registry files -----------------------------------------


def parse_as2org(path: Path) -> tuple[dict[str, dict], dict[int, dict]]:
    """``(orgs, ases)`` of a CAIDA pipe file, parsed independently (conftest)."""
    orgs, ases, _ = parse_as2org_pipe(path)
    return orgs, ases


def as2org_country(orgs, ases) -> dict[int, str | None]:
    out = {}
    for asn, row in ases.items():
        org = orgs.get(row["org_id"])
        out[asn] = cc_or_none(org["country"]) if org else None
    return out


class Delegations:
    """IPv4 blocks and AS numbers of RIR delegated files (allocated/assigned only),
    parsed here with plain Python. Blocks must not overlap (checked)."""

    def __init__(self, paths: list[Path]):
        blocks = []
        self.asn: dict[int, tuple[str, str | None]] = {}
        for path in paths:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                lines = [x.rstrip("\n") for x in f if x.strip() and not x.startswith("#")]
            for line in lines[1:]:
                fields = line.split("|")
                if fields[-1] == "summary" or fields[6] not in ("allocated", "assigned"):
                    continue
                registry, cc, kind, start, count = fields[:5]
                if kind == "ipv4":
                    first = int(ipaddress.IPv4Address(start))
                    blocks.append((first, first + int(count) - 1, registry, cc_or_none(cc)))
                elif kind == "asn":
                    for a in range(int(start), int(start) + int(count)):
                        self.asn[a] = (registry, cc_or_none(cc))  # a later file wins
        blocks.sort()
        for a, b in zip(blocks, blocks[1:]):
            assert a[1] < b[0], f"overlapping delegations {a} {b}"
        self.starts = [b[0] for b in blocks]
        self.blocks = blocks

    def block(self, addr: int):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.blocks[i][1] >= addr:
            return self.blocks[i]
        return None


# ---- module fixtures ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows():
    return read_ipasn(shared(IPASN))


@pytest.fixture(scope="module")
def table():
    """The Rust PrefixTable of the ipasn file, read by the crate's own reader."""
    t, _ = geoip_rs.read_ipasn(shared(IPASN))
    return t


@pytest.fixture(scope="module")
def ref(rows):
    """The pure-Python reference table of the same file, read with plain Python."""
    t = RefTable()
    t.update(rows)
    return t


@pytest.fixture(scope="module")
def dbdir(tmp_path_factory):
    return tmp_path_factory.mktemp("db")


@pytest.fixture(scope="module")
def db(dbdir):
    """ipasn 2014 + CAIDA as2org 2017."""
    d = geoip_rs.build_database(dbdir / "as2org.geoipdb", ipasn=shared(IPASN), as2org=shared(AS2ORG))
    yield d
    d.close()


@pytest.fixture(scope="module")
def as2org():
    return parse_as2org(shared(AS2ORG))


@pytest.fixture(scope="module")
def rir_db(dbdir):
    """ipasn 2014 + RIPE and APNIC delegations, no as2org: countries from RIR data."""
    d = geoip_rs.build_database(
        dbdir / "rir.geoipdb", ipasn=shared(IPASN), delegated=[shared(RIPE), shared(APNIC)]
    )
    yield d
    d.close()


@pytest.fixture(scope="module")
def delegations():
    return Delegations([shared(RIPE), shared(APNIC)])


@pytest.fixture(scope="module")
def full_db(dbdir):
    """IPv4+IPv6 ipasn 2015 with every kind of registry source."""
    d = geoip_rs.build_database(
        dbdir / "full.geoipdb",
        ipasn=shared(IPASN46),
        as2org=shared(AS2ORG),
        delegated=[shared(RIPE), shared(APNIC), shared(LACNIC), shared(AFRINIC)],
        asnames=shared(ASNAMES_JSON),
    )
    yield d
    d.close()


@pytest.fixture(scope="module")
def table46():
    t, _ = geoip_rs.read_ipasn(shared(IPASN46))
    return t


# ---- hand-made sources ---------------------------------------------------------------

TINY_IPASN = """\
; hand-made for test_database.py
10.0.0.0/8\t64500
10.1.0.0/16\t64501
20.0.0.0/16\t64501
20.1.0.0/16\t64501
30.0.0.0/24\t64502
40.0.0.0/24\t64503
50.0.0.0/24\t64500
60.0.0.0/24\t64505
2001:db8::/32\t64500
"""

TINY_AS2ORG = """\
# name: AS Org (hand-made)
# format:org_id|changed|org_name|country|source
ORG-A|20200101|Alpha Org|JP|APNIC
ORG-E|20200101|Empty Country Org||RIPE
# format:aut|changed|aut_name|org_id|source
64500|20200101|ALPHA-AS|ORG-A|APNIC
64505|20200101|EMPTY-AS|ORG-E|RIPE
"""


def delegated_text(registry: str, records: list[str]) -> str:
    kinds = collections.Counter(r.split("|")[2] for r in records)
    head = f"2|{registry}|20200101|{len(records)}|19700101|20200101|+0000\n"
    summary = "".join(f"{registry}|*|{k}|*|{n}|summary\n" for k, n in sorted(kinds.items()))
    return head + summary + "".join(r + "\n" for r in records)


TINY_RIPE = delegated_text(
    "ripencc",
    [
        "ripencc|DE|ipv4|20.0.0.0|65536|20200101|allocated",
        "ripencc|NL|ipv4|50.0.0.0|256|20200101|allocated",
        "ripencc|GB|ipv4|60.0.0.0|256|20200101|assigned",
        "ripencc|IT|asn|64500|1|20200101|assigned",
    ],
)
TINY_APNIC = delegated_text("apnic", ["apnic|FR|asn|64501|1|20200101|assigned"])
TINY_ASNAMES = "AS64502 BRAVO - Bravo Net, BR\nAS64500 ALPHA - Alpha Name, US\n"

# address: (asn, prefix, country, country_source, registry, as_name, org_id, org_name),
# worked out by hand from the files above and the documented order of the sources
# (as2org, RIR block of the address, RIR delegation of the AS, country of the AS name).
TINY_EXPECTED = {
    "10.0.0.1": (64500, "10.0.0.0/8", "JP", "as2org", "ripencc", "ALPHA - Alpha Name", "ORG-A", "Alpha Org"),
    "10.1.2.3": (64501, "10.1.0.0/16", "FR", "rir-asn", "apnic", None, None, None),
    "20.0.5.5": (64501, "20.0.0.0/16", "DE", "rir-prefix", "ripencc", None, None, None),
    "20.1.0.1": (64501, "20.1.0.0/16", "FR", "rir-asn", "apnic", None, None, None),
    "30.0.0.9": (64502, "30.0.0.0/24", "BR", "asname", None, "BRAVO - Bravo Net", None, None),
    "40.0.0.1": (64503, "40.0.0.0/24", None, None, None, None, None, None),
    "50.0.0.1": (64500, "50.0.0.0/24", "JP", "as2org", "ripencc", "ALPHA - Alpha Name", "ORG-A", "Alpha Org"),
    "60.0.0.1": (64505, "60.0.0.0/24", "GB", "rir-prefix", "ripencc", "EMPTY-AS", "ORG-E", "Empty Country Org"),
    "2001:db8::1": (64500, "2001:db8::/32", "JP", "as2org", "ripencc", "ALPHA - Alpha Name", "ORG-A", "Alpha Org"),
}
TINY_UNROUTED = ["99.0.0.1", "11.0.0.0", "2001:db9::1", "0.0.0.0", "255.255.255.255"]


def write_tiny_sources(folder: Path) -> dict[str, Path]:
    files = {
        "ipasn": ("tiny_20200101.dat", TINY_IPASN),
        "as2org": ("tiny.as-org2info.txt", TINY_AS2ORG),
        "ripe": ("delegated-ripencc-20200101", TINY_RIPE),
        "apnic": ("delegated-apnic-20200101", TINY_APNIC),
        "asnames": ("asnames.txt", TINY_ASNAMES),
    }
    out = {}
    for key, (name, text) in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        out[key] = folder / name
    return out


def build_tiny(path: Path, src: dict[str, Path]) -> geoip_rs.Database:
    return geoip_rs.build_database(
        path,
        ipasn=src["ipasn"],
        as2org=src["as2org"],
        delegated=[src["ripe"], src["apnic"]],
        asnames=src["asnames"],
    )


@pytest.fixture(scope="module")
def tiny_src(tmp_path_factory):
    return write_tiny_sources(tmp_path_factory.mktemp("tiny_src"))


@pytest.fixture(scope="module")
def tiny(tiny_src, dbdir):
    d = build_tiny(dbdir / "tiny.geoipdb", tiny_src)
    yield d
    d.close()


# ---- 1. origin AS: the database against the prefix tables ----------------------------


def test_one_million_addresses_match_the_prefix_table(db, table):
    q = v4_addresses(1_000_000, seed=20140513)
    cols = db.lookup_batch(q)
    assert cols["found"].dtype == np.bool_ and cols["asn"].dtype == np.uint32
    assert cols["prefix_len"].dtype == np.uint8
    assert cols["country"].dtype == np.dtype("S2") and cols["country_source"].dtype == np.dtype("S10")
    values, plen, found = table.lookup_batch(q)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])
    # misses: zero AS, zero length, no country
    assert not cols["asn"][~found].any() and not cols["prefix_len"][~found].any()
    assert (cols["country"][~found] == b"").all() and (cols["country_source"][~found] == b"").all()
    assert 0.3 < found.mean() < 0.9


def test_batch_matches_the_python_reference(db, ref):
    q = v4_addresses(200_000, seed=99)
    cols = db.lookup_batch(q)
    values, plen, found = ref.lookup_batch(q)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])


def test_single_lookups_agree_with_the_batch_and_the_reference(db, ref):
    q = v4_addresses(4_000, seed=4)
    cols = db.lookup_batch(q)
    for i, a in enumerate(q.tolist()):
        rec = db.lookup(ip4(a))
        want = ref.lookup_with_prefix(a)
        if want is None:
            assert rec is None and not cols["found"][i]
            continue
        assert cols["found"][i]
        assert rec.prefix == want[0] and rec.asn == want[1] == cols["asn"][i]
        assert rec.prefix.prefixlen == cols["prefix_len"][i]
        assert rec.address == ipaddress.IPv4Address(a)
        assert (rec.country or "").encode() == cols["country"][i]
        assert (rec.country_source or "").encode() == cols["country_source"][i]


def test_pyasn_v12_sample(db):
    expected = read_expected_tsv(shared(PYASN_SAMPLE))
    assert len(expected) == 10_000
    cols = db.lookup_batch([ip for ip, _ in expected])
    got = [int(a) if f else None for a, f in zip(cols["asn"].tolist(), cols["found"].tolist())]
    diffs = [(ip, want, g) for (ip, want), g in zip(expected, got) if want != g]
    assert [d for d in diffs if d[0] not in PYASN_EXCEPTIONS] == []
    assert sum(w is not None for _, w in expected) > 7000
    # and one at a time
    singles = [(r.asn if (r := db.lookup(ip)) else None) for ip, _ in expected[:2000]]
    assert singles == got[:2000]


def test_cymru_whois(db):
    expected = read_expected_tsv(shared(CYMRU))
    assert len(expected) == 1_000
    diffs = [ip for ip, asn in expected if (r := db.lookup(ip)) is None and asn is not None
             or r is not None and r.asn != asn]
    assert len(diffs) < 30, diffs


def test_ipv6_and_mixed_lists_match_the_prefix_table(full_db, table46):
    rng = np.random.default_rng(6)
    v6_nets = [n for n, _ in table46.items() if n.version == 6]
    picks = [v6_nets[i] for i in rng.integers(0, len(v6_nets), 3000)]
    v6 = [str(n.network_address + int(rng.integers(0, min(n.num_addresses, 2**62)))) for n in picks]
    v4 = [ip4(a) for a in v4_addresses(3000, seed=66)]
    mixed = v4 + v6 + ["2001:41d0:2:7a6::1", "d::d", "8.8.8.8"]
    random.Random(6).shuffle(mixed)
    cols = full_db.lookup_batch(mixed)
    values, plen, found = table46.lookup_batch(mixed)
    np.testing.assert_array_equal(cols["found"], found)
    np.testing.assert_array_equal(cols["asn"][found], values[found])
    np.testing.assert_array_equal(cols["prefix_len"][found], plen[found])
    assert found[: len(mixed)].sum() > 3000  # the IPv6 addresses lie in routed prefixes
    # the same IPv6 addresses as an (N, 16) uint8 array
    arr = np.array([list(ipaddress.IPv6Address(a).packed) for a in v6], dtype=np.uint8)
    cols6 = full_db.lookup_batch(arr)
    v, p, f = table46.lookup_batch(arr)
    np.testing.assert_array_equal(cols6["found"], f)
    np.testing.assert_array_equal(cols6["asn"][f], v[f])
    assert full_db.lookup("2001:41d0:2:7a6::1").asn == 16276
    assert full_db.lookup("2607:f8b0:4006:80f::200e").asn == 15169
    assert full_db.lookup("d::d") is None


def test_pyasn_fake_file(tmp_path):
    """pyasn's toy file and the answers its unit tests expect (SOURCES.md)."""
    d = geoip_rs.build_database(tmp_path / "fake.geoipdb", ipasn=shared("ipasn/ipasn.fake"))
    with d:
        cases = {"1.0.0.0": (1, "1.0.0.0/30"), "1.0.0.3": (1, "1.0.0.0/30"), "1.0.0.4": (2, "1.0.0.0/24"),
                 "1.0.0.255": (2, "1.0.0.0/24"), "2.0.0.7": (3, "2.0.0.0/24"), "3.200.1.1": (4, "3.0.0.0/8"),
                 "3.128.0.0": (4, "3.0.0.0/8"), "3.0.0.0": (5, "3.0.0.0/9"), "3.127.255.255": (5, "3.0.0.0/9")}
        for ip, (asn, prefix) in cases.items():
            r = d.lookup(ip)
            assert (r.asn, str(r.prefix)) == (asn, prefix), ip
            assert r.country is None and r.country_source is None and r.as_name is None
        assert d.lookup("5.0.0.0") is None and len(d) == 5
        assert d.as_sizes() == {1: (4, 0), 2: (252, 0), 3: (256, 0), 4: (2**23, 0), 5: (2**23, 0)}


def test_build_errors(tmp_path):
    fake = shared("ipasn/ipasn.fake")
    with pytest.raises(ValueError, match="prefix source"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", as2org=shared(AS2ORG))
    with pytest.raises(FileNotFoundError):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=tmp_path / "missing.dat")
    with pytest.raises(ValueError, match="origin_policy"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=fake, origin_policy="bogus")
    with pytest.raises(geoip_rs.FormatError, match="ipasn.fake"):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=fake, as2org=fake)
    with pytest.raises(OSError):
        geoip_rs.build_database(tmp_path / "no" / "x.geoipdb", ipasn=fake)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary files left


# ---- 2. countries ---------------------------------------------------------------------


def routed_address_of(rows, table, asn: int) -> str:
    """An address whose longest match is originated by ``asn`` (from the file's rows;
    the first address of one of its prefixes that no more specific one covers)."""
    for prefix, a in rows:
        if a == asn:
            addr = ipaddress.ip_network(prefix).network_address
            if table.get(addr) == asn:
                return str(addr)
    raise AssertionError(f"no address routed by AS{asn}")


@pytest.mark.parametrize("asn", [15169, 3320])
def test_country_of_known_ases_from_as2org(db, rows, table, as2org, asn):
    orgs, ases = as2org
    entry = ases[asn]
    org = orgs[entry["org_id"]]
    rec = db.lookup(routed_address_of(rows, table, asn))
    assert rec.asn == asn
    assert rec.country == org["country"] and rec.country_source == "as2org"
    assert rec.org_id == entry["org_id"] and rec.org_name == org["org_name"]
    assert rec.as_name == entry["aut_name"]  # no AS names source: as2org's name
    # No RIR data in this database: the registry as2org took the org from.
    assert rec.registry == {"RIPE": "ripencc"}.get(org["source"], org["source"].lower())
    info = db.as_info(asn)
    assert info["org_country"] == org["country"] and info["name"] == entry["aut_name"]
    assert db.as_info(f"AS{asn}") == info
    # the facts as known in 2017, not merely self-consistent
    assert (asn, rec.country) in {(15169, "US"), (3320, "DE")}


def test_as2org_countries_of_many_addresses(db, as2org):
    country = as2org_country(*as2org)
    orgs, ases = as2org
    q = v4_addresses(100_000, seed=2017)
    cols = db.lookup_batch(q)
    found = cols["found"]
    checked = collections.Counter()
    for asn, cc, src in zip(cols["asn"][found].tolist(), cols["country"][found].tolist(),
                            cols["country_source"][found].tolist()):
        want = country.get(asn)
        assert cc == (want or "").encode(), asn
        assert src == (b"as2org" if want else b""), asn
        checked[want is not None] += 1
    assert checked[True] > 50_000 and checked[False] > 0
    # the organisation columns of a few thousand, one at a time
    for a in q[found][:3000].tolist():
        r = db.lookup(a)
        entry = ases.get(r.asn)
        org = orgs.get(entry["org_id"]) if entry else None
        assert r.org_id == (entry["org_id"] if org else None)
        assert r.org_name == (org["org_name"] if org else None)


def expected_rir(delegations: Delegations, addr: int, asn: int):
    """(country, source, registry) for a database with RIR data only."""
    block = delegations.block(addr)
    by_asn = delegations.asn.get(asn)
    if block is not None and block[3] is not None:
        country, source = block[3], "rir-prefix"
    elif by_asn is not None and by_asn[1] is not None:
        country, source = by_asn[1], "rir-asn"
    else:
        country, source = None, None
    registry = block[2] if block is not None else by_asn[0] if by_asn else None
    return country, source, registry


def test_rir_fallbacks_match_a_python_parse(rir_db, delegations):
    q = v4_addresses(300_000, seed=20140803)
    cols = rir_db.lookup_batch(q)
    found = cols["found"]
    sources = collections.Counter()
    for a, asn, cc, src in zip(q[found].tolist(), cols["asn"][found].tolist(),
                               cols["country"][found].tolist(), cols["country_source"][found].tolist()):
        country, source, _ = expected_rir(delegations, a, asn)
        assert (cc.decode() or None, src.decode() or None) == (country, source), ip4(a)
        sources[source] += 1
    meta = rir_db.metadata
    assert [(x["kind"], x["name"], x["date"]) for x in meta["sources"]] == [
        ("ipasn", "ipasn_20140513.dat.gz", "2014-05-13"),
        ("delegated", "delegated-ripencc-20140803.gz", "2014-08-03"),
        ("delegated", "delegated-apnic-20140804.gz", "2014-08-04"),
    ]
    assert meta["counts"]["orgs"] == 0 and meta["counts"]["rir_asn_ranges"] > 0
    # both fallbacks really happen in this data, and neither is as2org
    assert sources["rir-prefix"] > 10_000 and sources["rir-asn"] > 1_000 and sources[None] > 1_000
    assert set(sources) == {"rir-prefix", "rir-asn", None}


def test_rir_prefix_and_rir_asn_examples(rir_db, delegations, rows, table):
    """One address of each fallback found by search, with its full record."""
    found = {}
    for prefix, asn in rows[::7]:
        net = ipaddress.ip_network(prefix)
        a = int(net.network_address)
        if table.get(a) != asn:
            continue
        country, source, registry = expected_rir(delegations, a, asn)
        if source and source not in found:
            found[source] = (a, asn, country, registry)
        if len(found) == 2:
            break
    assert set(found) == {"rir-prefix", "rir-asn"}
    for source, (a, asn, country, registry) in found.items():
        r = rir_db.lookup(ip4(a))
        assert (r.asn, r.country, r.country_source, r.registry) == (asn, country, source, registry)
        assert r.org_id is None and r.org_name is None
    # an rir-asn address really lies outside every delegated block
    assert delegations.block(found["rir-asn"][0]) is None
    # the registry column: block registry, else the AS number's
    for a in v4_addresses(3000, seed=3).tolist():
        r = rir_db.lookup(a)
        if r is not None:
            assert r.registry == expected_rir(delegations, a, r.asn)[2]


def test_every_country_source_in_its_order(tiny):
    for ip, (asn, prefix, country, source, registry, name, org_id, org_name) in TINY_EXPECTED.items():
        r = tiny.lookup(ip)
        assert r is not None, ip
        got = (r.asn, str(r.prefix), r.country, r.country_source, r.registry, r.as_name, r.org_id, r.org_name)
        assert got == (asn, prefix, country, source, registry, name, org_id, org_name), ip
        assert r.origins == (asn,)
    cols = tiny.lookup_batch(list(TINY_EXPECTED) + TINY_UNROUTED, details=True)
    n = len(TINY_EXPECTED)
    assert cols["country"].tolist() == [(e[2] or "").encode() for e in TINY_EXPECTED.values()] + [b""] * 5
    assert cols["country_source"].tolist()[:n] == [(e[3] or "").encode() for e in TINY_EXPECTED.values()]
    assert cols["registry"] == [e[4] for e in TINY_EXPECTED.values()] + [None] * 5
    assert cols["found"].tolist() == [True] * n + [False] * 5
    for ip in TINY_UNROUTED:
        assert tiny.lookup(ip) is None and ip not in tiny


def test_tiny_as_info(tiny):
    assert tiny.as_info(64500) == {
        "asn": 64500, "name": "ALPHA - Alpha Name", "org_id": "ORG-A", "org_name": "Alpha Org",
        "org_country": "JP", "registry": "ripencc", "rir_country": "IT", "name_country": "US",
    }
    assert tiny.as_info("AS64501") == {
        "asn": 64501, "name": None, "org_id": None, "org_name": None,
        "org_country": None, "registry": "apnic", "rir_country": "FR", "name_country": None,
    }
    assert tiny.as_info(64999) is None


# ---- 3. save -> open ------------------------------------------------------------------


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
            assert len(other) == len(db) and other.metadata == db.metadata
            some = [ip4(a) for a in q[:500]]
            assert [other.lookup(a) for a in some] == [db.lookup(a) for a in some]


def test_metadata_names_and_hashes_the_sources(db, rows):
    meta = db.metadata
    assert meta["format_version"] == 2 and meta["geoip_rs_version"] == geoip_rs.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["built"])
    assert [s["kind"] for s in meta["sources"]] == ["ipasn", "as2org"]
    for s, rel in zip(meta["sources"], (IPASN, AS2ORG)):
        data = shared(rel).read_bytes()
        assert s["name"] == Path(rel).name
        assert s["size"] == len(data)
        assert s["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["sources"][0]["date"] == "2014-05-13"
    counts = meta["counts"]
    assert counts["ipv4_prefixes"] == len(db) == len(rows) == 512_621
    assert counts["ipv6_prefixes"] == 0
    orgs, ases = parse_as2org(shared(AS2ORG))
    assert counts["orgs"] == len(orgs)
    assert counts["ases"] == len(set(ases) | {a for _, a in rows})
    assert db.file_size == os.path.getsize(db.path)


def test_mrt_build_records_its_origin_policy(dbdir):
    path = shared(JINX)
    d = geoip_rs.build_database(dbdir / "majority.geoipdb", mrt=path, origin_policy="majority")
    with d:
        assert d.metadata["options"]["origin_policy"] == "majority"
        (src,) = d.metadata["sources"]
        assert src["kind"] == "mrt" and src["name"] == path.name
        assert src["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert src["date"] == "2014-05-30T22:00:00Z"  # `date -u -d @1401487200`
        t, _ = geoip_rs.read_mrt(path, origin_policy="majority")
        q = v4_addresses(300_000, seed=1)
        cols = d.lookup_batch(q)
        values, plen, found = t.lookup_batch(q)
        np.testing.assert_array_equal(cols["found"], found)
        np.testing.assert_array_equal(cols["asn"][found], values[found])
        assert len(d) == len(t)


def test_source_date_epoch_makes_builds_reproducible(tiny_src, tmp_path, monkeypatch):
    epoch = 1_400_000_000
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    a = build_tiny(tmp_path / "a.geoipdb", tiny_src)
    b = build_tiny(tmp_path / "b.geoipdb", tiny_src)
    want = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert a.metadata["built"] == want
    assert (tmp_path / "a.geoipdb").read_bytes() == (tmp_path / "b.geoipdb").read_bytes()
    a.close()
    b.close()


def test_rebuilding_over_an_open_file_leaves_it_working(tiny_src, tmp_path):
    """Saves replace the file by rename: a database opened before keeps its map."""
    path = tmp_path / "x.geoipdb"
    first = build_tiny(path, tiny_src)
    before = first.lookup("10.0.0.1")
    (tmp_path / "other.dat").write_text("10.0.0.0/8\t1\n")
    second = geoip_rs.build_database(path, ipasn=tmp_path / "other.dat")
    assert first.lookup("10.0.0.1") == before
    assert second.lookup("10.0.0.1").asn == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    first.close()
    second.close()


# ---- 4. records, pickling, processes --------------------------------------------------


def test_record_api(db):
    r = db.lookup("8.8.8.8")
    d = r.to_dict()
    assert list(d) == FIELDS
    assert d == {k: getattr(r, k) for k in FIELDS}
    assert d["address"] == ipaddress.IPv4Address("8.8.8.8")
    assert isinstance(d["prefix"], ipaddress.IPv4Network) and ipaddress.IPv4Address("8.8.8.8") in d["prefix"]
    assert d["asn"] == 15169 and d["origins"] == (15169,) and d["country"] == "US"
    text = repr(r)
    assert text.startswith("Record(") and "address='8.8.8.8'" in text
    assert f"prefix='{r.prefix}'" in text and "asn=15169" in text and "country='US'" in text
    assert "org_name='Google Inc.'" in text and "registry='arin'" in text
    # equality, hashing
    again = db.lookup(ipaddress.IPv4Address("8.8.8.8"))
    assert again == r and hash(again) == hash(r) and len({r, again}) == 1
    other = db.lookup("8.8.8.9")  # same prefix, another address
    assert other != r and other.prefix == r.prefix
    assert geoip_rs.Record(**d) == r
    assert r != geoip_rs.Record(**{**d, "country": "DE"})
    assert r != "8.8.8.8"
    # pickle and copy
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(r, protocol=proto))
        assert back == r and back.to_dict() == d and repr(back) == text
    # frozen
    with pytest.raises(AttributeError):
        r.asn = 1  # type: ignore[misc]


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


# ---- 5. close and context manager -----------------------------------------------------

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


# ---- 6. bad files ---------------------------------------------------------------------


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


@pytest.mark.parametrize("version", [0, 1, 3, 7, 2**32 - 1])
def test_wrong_version(tiny, tmp_path, version):
    data = bytearray(Path(tiny.path).read_bytes())
    assert int.from_bytes(data[8:12], "little") == 2
    data[8:12] = version.to_bytes(4, "little")
    p = tmp_path / "v.geoipdb"
    p.write_bytes(bytes(data))
    err = assert_refused(p)
    assert f"version {version}" in str(err)
    assert_refused(p, verify=False)


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


# ---- 7. queries -----------------------------------------------------------------------


def test_prefixes_of_an_as(db):
    want_1128 = {"130.161.0.0/16", "131.180.0.0/16", "145.94.0.0/16"}
    for key in (1128, "1128", "AS1128", "as1128"):
        got = db.prefixes(key)
        assert {str(n) for n in got} == want_1128, key
    assert [str(n) for n in db.prefixes(13289)] == ["82.212.192.0/18"]
    assert db.covering("82.212.192.0/19")[-1] == (ipaddress.ip_network("82.212.192.0/19"), 29624)
    assert [str(n) for n in db.prefixes(11018)] == ["216.69.64.0/19"]
    assert db.prefixes(64_999) == [] and 64_999 not in {a for _, a in db}


def test_prefixes_of_every_as_match_the_file(db, rows):
    by_asn = collections.defaultdict(list)
    for p, a in rows:
        by_asn[a].append(ipaddress.ip_network(p))
    for asn in random.Random(1).sample(sorted(by_asn), 300) + [15169, 3356, 701]:
        got = db.prefixes(asn)
        assert got == sorted(by_asn[asn]), asn


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (2**32, ValueError), ("ASX", ValueError),
                                      ("", ValueError), ("AS", ValueError), (1.5, TypeError),
                                      (None, TypeError), ([1], TypeError)])
def test_bad_asn(tiny, bad, exc):
    with pytest.raises(exc):
        tiny.prefixes(bad)
    with pytest.raises(exc):
        tiny.as_info(bad)


def own_sizes(table, rows) -> tuple[dict[int, int], int]:
    """Addresses per origin AS counted by longest match, and all routed addresses,
    from elementary intervals: between consecutive prefix boundaries the longest
    match is the same, so looking up each interval's first address is exact."""
    starts, ends = [], []
    for p, _ in rows:
        n = ipaddress.IPv4Network(p)
        starts.append(int(n.network_address))
        ends.append(int(n.broadcast_address) + 1)
    bounds = np.unique(np.array(starts + ends + [0, 2**32], dtype=np.int64))
    firsts, widths = bounds[:-1], np.diff(bounds)
    values, _, found = table.lookup_batch(firsts.astype(np.uint32))
    asns, inverse = np.unique(values[found], return_inverse=True)
    sums = np.zeros(len(asns), dtype=np.int64)
    np.add.at(sums, inverse, widths[found])
    return dict(zip(asns.tolist(), sums.tolist())), int(widths[found].sum())


@pytest.fixture(scope="module")
def sizes(table, rows):
    return own_sizes(table, rows)


def test_as_sizes(db, sizes, rows):
    per_as, total = sizes
    got = db.as_sizes()
    assert got == {a: (per_as.get(a, 0), 0) for a in {a for _, a in rows}}
    # pyasn's get_as_size facts
    assert got[1133] == (65536, 0) and got[1128] == (196608, 0) and got[1124] == (163840, 0)
    assert sum(v4 for v4, _ in got.values()) == total


def test_summaries_are_consistent(db, sizes, rows, as2org):
    per_as, total = sizes
    by_asn = db.summary(by="asn", frame=False)
    assert list(by_asn) == ["asn", "as_name", "org_id", "org_name", "country", "ipv4_prefixes",
                            "ipv6_prefixes", "ipv4_addresses", "ipv6_addresses"]
    assert dict(zip(by_asn["asn"], by_asn["ipv4_addresses"])) == {a: per_as.get(a, 0) for _, a in rows}
    assert dict(zip(by_asn["asn"], by_asn["ipv4_prefixes"])) == collections.Counter(a for _, a in rows)
    by_cc = db.summary(by="country", frame=False)
    assert sum(by_cc["ipv4_addresses"]) == total
    assert sum(by_cc["ipv4_prefixes"]) == len(db) == sum(by_asn["ipv4_prefixes"])
    # per country: the as2org country of each AS (the only country source here)
    country = as2org_country(*as2org)
    want = collections.Counter()
    ases = collections.defaultdict(set)
    for asn, n in per_as.items():
        want[country.get(asn)] += n
    for _, asn in rows:
        ases[country.get(asn)].add(asn)
    got = dict(zip(by_cc["country"], by_cc["ipv4_addresses"]))
    assert got == {k: want.get(k, 0) for k in ases}
    assert dict(zip(by_cc["country"], by_cc["ases"])) == {k: len(v) for k, v in ases.items()}
    # the DataFrame forms
    frame = db.summary(by="country")
    assert int(frame["ipv4_addresses"].sum()) == total
    assert len(db.summary()) == len({a for _, a in rows})
    for bad in ("org", "", "ASN", None):
        with pytest.raises((ValueError, TypeError)):
            db.summary(by=bad)
    with pytest.raises(ValueError, match="by must be"):
        db.summary(by="countries")


def test_tiny_summaries_exactly(tiny):
    by_cc = tiny.summary(by="country", frame=False)
    rows = {c: (a, p4, p6, n4, n6) for c, a, p4, p6, n4, n6 in zip(
        by_cc["country"], by_cc["ases"], by_cc["ipv4_prefixes"], by_cc["ipv6_prefixes"],
        by_cc["ipv4_addresses"], by_cc["ipv6_addresses"])}
    assert rows == {
        # 10/8 less 10.1/16, and 50.0.0/24; 2001:db8::/32
        "JP": (1, 2, 1, 2**24 - 2**16 + 256, 2**96),
        "FR": (1, 2, 0, 2 * 65536, 0),  # 10.1/16 and 20.1/16: rir-asn
        "DE": (1, 1, 0, 65536, 0),  # 20.0/16: rir-prefix
        "BR": (1, 1, 0, 256, 0),
        "GB": (1, 1, 0, 256, 0),
        None: (1, 1, 0, 256, 0),  # AS64503 has no country
    }
    by_asn = tiny.summary(by="asn", frame=False)
    table = {a: (c, n4, n6) for a, c, n4, n6 in zip(by_asn["asn"], by_asn["country"],
                                                    by_asn["ipv4_addresses"], by_asn["ipv6_addresses"])}
    assert table == {
        64500: ("JP", 2**24 - 2**16 + 256, 2**96),
        64501: ("FR", 3 * 65536, 0),
        64502: ("BR", 256, 0),
        64503: (None, 256, 0),
        64505: (None, 256, 0),
    }
    assert tiny.as_sizes() == {a: (n4, n6) for a, (_, n4, n6) in table.items()}


def random_prefixes(n: int, seed: int, min_len: int = 0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(min_len, 32)
        out.append(ipaddress.IPv4Network((rng.getrandbits(32), length), strict=False))
    return out


def test_covering_and_covered_match_the_tables(db, table, ref, rows):
    rng = random.Random(21)
    exact = [ipaddress.ip_network(p) for p, _ in rng.sample(rows, 300)]
    wider = [n.supernet(new_prefix=max(8, n.prefixlen - 4)) for n in exact[:100]]
    nets = random_prefixes(700, seed=21) + exact + wider
    for n in nets:
        want = table.covering(n)
        assert db.covering(n) == want == ref.covering(n), n
        assert db.covering(str(n)) == want
    for n in nets:
        if n.prefixlen < 8:
            continue
        want = table.covered(n)
        assert db.covered(n) == want == ref.covered(n), n
    # an address is its host prefix
    assert db.covering("8.8.8.8") == table.covering("8.8.8.8/32")
    assert db.covering(ipaddress.IPv4Address("8.8.8.8"))[-1][1] == 15169
    assert [str(p) for p, _ in db.covered("130.161.0.0/16")] == ["130.161.0.0/16"]
    assert db.covered("8.8.8.8/32") == [] and db.covering("0.0.0.0/0") == []


def test_iteration_len_and_contains(db, ref, rows):
    items = list(db)
    assert items == ref.items()
    assert len(items) == len(db) == len(rows)
    assert all(isinstance(a, int) for _, a in items[:100])
    q = v4_addresses(10_000, seed=77)
    found = db.lookup_batch(q)["found"].tolist()
    assert [ip4(a) in db for a in q.tolist()] == found
    assert "8.8.8.8" in db and ipaddress.IPv4Address("8.8.8.8") in db


def test_lookup_key_forms_and_misses(db, ref):
    r = db.lookup("8.8.8.8")
    for key in (0x08080808, ipaddress.IPv4Address("8.8.8.8"), bytes([8, 8, 8, 8])):
        assert db.lookup(key) == r == db.get(key)
    # unrouted addresses (by the reference table) give None
    misses = [a for a in v4_addresses(2000, seed=5).tolist() if ref.get(a) is None][:200]
    assert len(misses) == 200
    assert all(db.lookup(ip4(a)) is None and db.get(a) is None for a in misses)
    assert db.lookup("2001:db8::1") is None  # IPv6 on an IPv4-only database: a miss
    assert db.lookup("::ffff:8.8.8.8") is None  # IPv4-mapped is IPv6, as in ipaddress


@pytest.mark.parametrize("bad", ["8.8.8.800", "2001:500g:88:200::8", "", "8.8.8", "8.8.8.8/24",
                                 "hello", "1.2.3.4.5"])
def test_malformed_addresses(tiny, bad):
    with pytest.raises(ValueError) as want:
        ipaddress.ip_address(bad)
    for call in (tiny.lookup, tiny.get, tiny.__contains__):
        with pytest.raises(ValueError) as e:
            call(bad)
        assert not isinstance(e.value, geoip_rs.DatabaseError)
        if "/" not in bad:
            assert str(e.value) == str(want.value)
    with pytest.raises(ValueError):
        tiny.lookup_batch(["10.0.0.1", bad])


@pytest.mark.parametrize("bad", [1.5, None, [1, 2], object(), {"a": 1}])
def test_wrong_types(tiny, bad):
    with pytest.raises(TypeError):
        tiny.lookup(bad)
    with pytest.raises(TypeError):
        tiny.covering(bad)


def test_batch_argument_errors(tiny):
    with pytest.raises(TypeError):
        tiny.lookup_batch(5)
    with pytest.raises((TypeError, ValueError)):
        tiny.lookup_batch("10.0.0.1")  # a bare string is not a list of addresses
    with pytest.raises((TypeError, ValueError)):
        tiny.lookup_batch(np.zeros((3, 4), dtype=np.uint8))
    empty = tiny.lookup_batch([])
    assert all(len(v) == 0 for v in empty.values())


# ---- 8. batches with details, pandas --------------------------------------------------


def mixed_addresses(n4: int, n6: int, seed: int, table46) -> list[str]:
    rng = np.random.default_rng(seed)
    v6_nets = [n for n, _ in table46.items() if n.version == 6]
    v6 = [str(v6_nets[i].network_address + 1) for i in rng.integers(0, len(v6_nets), n6)]
    out = [ip4(a) for a in v4_addresses(n4, seed)] + v6 + ["d::d", "8.8.8.8", "193.0.6.139"]
    random.Random(seed).shuffle(out)
    return out


def test_details_columns_equal_single_lookups(full_db, table46):
    addresses = mixed_addresses(3000, 1000, seed=8, table46=table46)
    cols = full_db.lookup_batch(addresses, details=True)
    assert set(cols) == {"found", "asn", "prefix_len", "country", "country_source", "prefix",
                         "as_name", "org_id", "org_name", "registry"}
    seen = collections.Counter()
    for i, a in enumerate(addresses):
        r = full_db.lookup(a)
        if r is None:
            assert not cols["found"][i] and cols["prefix"][i] is None and cols["registry"][i] is None
            continue
        assert cols["found"][i] and cols["asn"][i] == r.asn
        assert cols["prefix"][i] == str(r.prefix) and cols["prefix_len"][i] == r.prefix.prefixlen
        assert (cols["as_name"][i], cols["org_id"][i], cols["org_name"][i], cols["registry"][i]) == (
            r.as_name, r.org_id, r.org_name, r.registry)
        assert cols["country"][i].decode() == (r.country or "")
        assert cols["country_source"][i].decode() == (r.country_source or "")
        seen[r.country_source] += 1
        seen["v6" if ":" in a else "v4"] += 1
    # every kind of answer occurs in this sample
    assert seen["as2org"] > 100 and seen["v6"] > 500 and seen["v4"] > 1000
    assert seen["rir-prefix"] + seen["rir-asn"] + seen["asname"] + seen[None] > 0


def test_full_database_records(full_db):
    r = full_db.lookup("8.8.8.8")
    assert (r.asn, r.country, r.country_source, r.org_id) == (15169, "US", "as2org", "GOGL-ARIN")
    assert "google" in r.as_name.lower()  # from pyasn's AS names
    r = full_db.lookup("193.0.6.139")  # RIPE NCC, Amsterdam
    assert r.registry == "ripencc" and r.country_source == "as2org"
    orgs, ases = parse_as2org(shared(AS2ORG))
    assert r.country == orgs[ases[r.asn]["org_id"]]["country"]


def test_to_pandas_rows_equal_records(full_db, table46):
    pd = pytest.importorskip("pandas")
    addresses = mixed_addresses(1500, 500, seed=9, table46=table46)
    frame = full_db.to_pandas(addresses)
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(addresses)
    assert list(frame.columns) == ["address", "prefix", "asn", "as_name", "org_id", "org_name",
                                   "country", "country_source", "registry"]
    misses = 0
    for row, a in zip(frame.itertuples(index=False), addresses):
        r = full_db.lookup(a)
        assert row.address == a
        if r is None:
            misses += 1
            assert all(pd.isna(getattr(row, k)) for k in frame.columns if k != "address")
            continue
        assert int(row.asn) == r.asn and row.prefix == str(r.prefix)
        for k in ("as_name", "org_id", "org_name", "registry", "country", "country_source"):
            got = getattr(row, k)
            want = getattr(r, k)
            assert (None if pd.isna(got) else got) == want, (a, k)
    assert misses > 0
    # numpy input gives the addresses as text
    q = v4_addresses(100, seed=3)
    f2 = full_db.to_pandas(q)
    assert f2["address"].tolist() == [ip4(a) for a in q]
    assert f2["asn"].dropna().astype(int).tolist() == [full_db.lookup(int(a)).asn for a in q if int(a) in full_db]


def test_to_pandas_address_forms(full_db):
    pd = pytest.importorskip("pandas")
    v6 = ipaddress.IPv6Address("2001:41d0:2:7a6::1")
    packed = np.array([list(v6.packed)], dtype=np.uint8)
    assert full_db.to_pandas(packed)["address"].tolist() == [str(v6)]
    assert full_db.to_pandas(packed)["asn"].tolist() == [16276]
    forms = [0x08080808, b"\x08\x08\x04\x04", ipaddress.IPv4Address("1.1.1.1"), v6, "d::d"]
    frame = full_db.to_pandas(forms)
    assert frame["address"].tolist() == ["8.8.8.8", "8.8.4.4", "1.1.1.1", str(v6), "d::d"]
    assert frame["asn"].iloc[0] == frame["asn"].iloc[1] == 15169
    # a generator is read once, for both the lookups and the address column
    gen = full_db.to_pandas(a for a in ["8.8.8.8", "d::d"])
    assert gen["address"].tolist() == ["8.8.8.8", "d::d"] and gen["asn"].iloc[0] == 15169
    assert pd.isna(gen["asn"].iloc[1])
    text = full_db.to_pandas(np.array(["8.8.8.8", "d::d"]))
    assert text["address"].tolist() == ["8.8.8.8", "d::d"]
    assert len(full_db.to_pandas([])) == 0
    with pytest.raises(TypeError):
        full_db.to_pandas("8.8.8.8")


def test_ipv6_queries_match_the_prefix_table(full_db, table46):
    items = list(full_db)
    assert items == table46.items()  # IPv4 then IPv6, each in address order
    counts = full_db.metadata["counts"]
    assert len(full_db) == len(items) == counts["ipv4_prefixes"] + counts["ipv6_prefixes"]
    rng = random.Random(46)
    v6 = [n for n, _ in items if n.version == 6]
    nets = rng.sample(v6, 200)
    nets += [n.supernet(new_prefix=max(16, n.prefixlen - rng.randint(1, 12))) for n in nets[:100]]
    nets += [ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(0, 128)), strict=False) for _ in range(200)]
    for n in nets:
        assert full_db.covering(n) == table46.covering(n), n
        if n.prefixlen >= 16:
            assert full_db.covered(n) == table46.covered(n), n
    by_asn = collections.defaultdict(list)
    for n, a in items:
        by_asn[a].append(n)
    for asn in (6939, 16276, 15169, 196752, 112):
        assert full_db.prefixes(asn) == by_asn[asn], asn
    # IPv6 address space per AS, by longest match over elementary intervals
    bounds = sorted({int(n.network_address) for n in v6} | {int(n.broadcast_address) + 1 for n in v6} | {0, 2**128})
    firsts = [ipaddress.IPv6Address(b) for b in bounds[:-1]]
    values, _, found = table46.lookup_batch(firsts)
    want = collections.Counter()
    for i, (v, f) in enumerate(zip(values.tolist(), found.tolist())):
        if f:
            want[v] += bounds[i + 1] - bounds[i]
    sizes = full_db.as_sizes()
    assert {a: s6 for a, (_, s6) in sizes.items() if s6} == dict(want)
    assert sum(full_db.summary(by="country", frame=False)["ipv6_addresses"]) == sum(want.values())


def pfx2as_origins(value) -> tuple[int, ...]:
    """The origins of a pfx2as table value in order, AS sets as their sorted members,
    without repeats."""
    parts = value if isinstance(value, tuple) else (value,)
    out: list[int] = []
    for p in parts:
        for a in (sorted(p) if isinstance(p, frozenset) else [p]):
            if a not in out:
                out.append(a)
    return tuple(out)


def test_multi_origin_prefixes_from_pfx2as(dbdir):
    path = shared("pfx2as/routeviews-rv2-20141202-1200.pfx2as.gz")
    t, _ = geoip_rs.read_pfx2as(path)
    d = geoip_rs.build_database(dbdir / "pfx2as.geoipdb", pfx2as=path)
    with d:
        assert d.metadata["sources"][0]["kind"] == "pfx2as" and len(d) == len(t)
        items = t.items()
        multi = [(n, v) for n, v in items if not isinstance(v, int)]
        assert len(multi) > 1000 and any(isinstance(p, frozenset) for _, v in multi for p in v)
        checked = 0
        for n, v in multi[:: max(1, len(multi) // 1500)]:
            want = pfx2as_origins(v)
            r = d.lookup(n.network_address)
            if r.prefix != n:  # a more specific prefix covers the first address
                continue
            checked += 1
            assert r.origins == want and r.asn == want[0], n
            assert d.covering(n)[-1] == (n, want[0])
        assert checked > 500
        # a prefix counts for each of its origins, also the second ones
        second = collections.Counter(a for _, v in multi for a in pfx2as_origins(v)[1:])
        origins_of = {n: pfx2as_origins(v) for n, v in items}
        for asn, _ in second.most_common(20):
            assert d.prefixes(asn) == [n for n, o in origins_of.items() if asn in o], asn
        sizes = d.as_sizes()
        per_as = collections.Counter(a for o in origins_of.values() for a in o)
        assert {a: n for a, n in zip(*map(d.summary(frame=False).get, ("asn", "ipv4_prefixes")))} == dict(per_as)
        assert set(sizes) == set(per_as)
        # the batch gives the primary origin
        q = v4_addresses(200_000, seed=3)
        cols = d.lookup_batch(q)
        values = [t.get(int(a)) for a in q[cols["found"]][:20_000]]
        assert cols["asn"][cols["found"]][:20_000].tolist() == [pfx2as_origins(v)[0] for v in values]


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


# ---- 9. the bundled sample ------------------------------------------------------------


def test_bundled_sample():
    path = Path(geoip_rs.sample_path())
    if not path.is_file():
        pytest.skip(f"no bundled sample database at {path} yet")
    jinx = shared(JINX)
    with geoip_rs.open() as d:
        assert Path(d.path) == path
        meta = d.metadata
        kinds = {s["kind"] for s in meta["sources"]}
        assert "as2org" not in kinds and "pfx2as" not in kinds  # CAIDA may not be redistributed
        assert meta["counts"]["orgs"] == 0
        assert meta["options"]["origin_policy"] == "first_peer"
        (src,) = [s for s in meta["sources"] if s["name"] == jinx.name]
        assert src["sha256"] == hashlib.sha256(jinx.read_bytes()).hexdigest()
        t, _ = geoip_rs.read_mrt(jinx, origin_policy="first_peer")
        assert d.lookup("8.8.8.8").asn == t["8.8.8.8"] == 15169
        q = v4_addresses(5000, seed=2014)
        cols = d.lookup_batch(q)
        values, _, found = t.lookup_batch(q)
        np.testing.assert_array_equal(cols["found"], found)
        np.testing.assert_array_equal(cols["asn"][found], values[found])
        some = [ip4(a) for a in q[found][:300]]
        assert [d.lookup(a).asn for a in some] == [t[a] for a in some]


def test_build_reports_progress_over_all_its_files(tmp_path):
    """One progress bar for the whole build: (done, total) over every file's bytes,
    never going back, ending at the total."""
    rv6 = "mrt/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"
    # Two MRT files: one RIB built from both, each reporting from its own start.
    files = {"mrt": [shared(JINX), shared(rv6)], "delegated": [shared(RIPE), shared(APNIC)]}
    total = sum(os.path.getsize(f) for fs in files.values() for f in fs)
    calls: list[tuple[int, int]] = []
    geoip_rs.build_database(
        tmp_path / "p.geoipdb", **files, progress=lambda d, t: calls.append((d, t))
    ).close()
    assert len(calls) >= 2  # reading the RIB alone takes several reporting periods
    assert {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == total
