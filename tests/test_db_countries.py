"""Countries, organisations and registries of the GeoIP database, checked against
plain-Python parses of the CAIDA as2org and RIR delegated files done here,
independently of the loaders, and against the hand-made sources of dbfixtures.py,
which hold every country source in its order of precedence.
"""

from __future__ import annotations

import bisect
import collections
import gzip
import ipaddress
from pathlib import Path

import pytest
from dbfixtures import (
    APNIC,
    AS2ORG,
    IPASN,
    RIPE,
    TINY_EXPECTED,
    TINY_UNROUTED,
    as2org_country,
    cc_or_none,
    ip4,
    parse_as2org,
    shared,
    v4_addresses,
)

import geoip_rs


# ---- independent parse of the RIR delegated files -------------------------------------


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


# ---- countries ------------------------------------------------------------------------


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


def test_full_database_records(full_db):
    r = full_db.lookup("8.8.8.8")
    assert (r.asn, r.country, r.country_source, r.org_id) == (15169, "US", "as2org", "GOGL-ARIN")
    assert "google" in r.as_name.lower()  # from pyasn's AS names
    r = full_db.lookup("193.0.6.139")  # RIPE NCC, Amsterdam
    assert r.registry == "ripencc" and r.country_source == "as2org"
    orgs, ases = parse_as2org(shared(AS2ORG))
    assert r.country == orgs[ases[r.asn]["org_id"]]["country"]
