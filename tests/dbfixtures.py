"""The databases the tests/test_db_*.py files check, and what they share.

They are built from the shared routing and registry data, once per session into
``tmp_path_factory`` folders: conftest.py registers this module's fixtures as a plugin,
so every test file gets the same objects. The CAIDA files are read from
``../shared/data`` and never copied (their licence forbids it).

Hand-made sources (in ``tmp_path``) cover what the real files cannot pin down: every
country source in its order of precedence, and exact summaries.
"""

from __future__ import annotations

import collections
import ipaddress
from pathlib import Path

import numpy as np
import pytest
from conftest import parse_as2org_pipe, read_ipasn, require_shared

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


# ---- session fixtures -----------------------------------------------------------------


@pytest.fixture(scope="session")
def rows():
    return read_ipasn(shared(IPASN))


@pytest.fixture(scope="session")
def table():
    """The Rust PrefixTable of the ipasn file, read by the crate's own reader."""
    t, _ = geoip_rs.read_ipasn(shared(IPASN))
    return t


@pytest.fixture(scope="session")
def ref(rows):
    """The pure-Python reference table of the same file, read with plain Python."""
    t = RefTable()
    t.update(rows)
    return t


@pytest.fixture(scope="session")
def dbdir(tmp_path_factory):
    return tmp_path_factory.mktemp("db")


@pytest.fixture(scope="session")
def db(dbdir):
    """ipasn 2014 + CAIDA as2org 2017."""
    d = geoip_rs.build_database(dbdir / "as2org.geoipdb", ipasn=shared(IPASN), as2org=shared(AS2ORG))
    yield d
    d.close()


@pytest.fixture(scope="session")
def as2org():
    return parse_as2org(shared(AS2ORG))


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def table46():
    t, _ = geoip_rs.read_ipasn(shared(IPASN46))
    return t


# ---- hand-made sources ----------------------------------------------------------------


TINY_IPASN = """\
; hand-made for tests/dbfixtures.py
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


@pytest.fixture(scope="session")
def tiny_src(tmp_path_factory):
    return write_tiny_sources(tmp_path_factory.mktemp("tiny_src"))


@pytest.fixture(scope="session")
def tiny(tiny_src, dbdir):
    d = build_tiny(dbdir / "tiny.geoipdb", tiny_src)
    yield d
    d.close()
