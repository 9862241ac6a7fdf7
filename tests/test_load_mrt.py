"""The MRT reader: routes against bgpdump's own text output, origin tables against an
independent Python model built from those routes, the full 2014/2015 RIBs against
pyasn's conversion and published facts, updates applied on top of a RIB, and every
error path."""

from __future__ import annotations

import bz2
import functools
import gzip
import ipaddress
from collections import Counter

import pytest
from conftest import read_ipasn, require_shared

import geoip_rs

MRT = "mrt"
BGPDUMP = f"{MRT}/ripe-ris-bgpdump"
JINX_RIB = f"{MRT}/libbgpstream/routeviews.route-views.jinx.ribs.1401487200.bz2"
JINX_UPDATES = f"{MRT}/libbgpstream/routeviews.route-views.jinx.updates.1401493500.bz2"
V6_RIB = f"{MRT}/routeviews6-hask-mrt/route-views6.rib.20150922.1200.bz2"
V6_UPDATES = f"{MRT}/routeviews6-hask-mrt/route-views6.updates.20151009.1230.bz2"

BGPDUMP_FILES = [
    "bview.20020722.2337.gz",
    "bview.64k_stream_overflow.gz",
    "bview.ipv4_unicast_add_path.gz",
    "bview.ipv6_unicast_add_path.gz",
    "updates.20020722.2238.gz",
    "updates.20070211.0141.gz",
    "updates.20071015.1505.gz",
    "updates.20100722.2015.gz",
    "updates.20160811.1600.gz",
    "updates.et-header.2015.gz",
    "updates.long_withdrawal.gz",
]


def shared(rel):
    return require_shared(rel) / rel


def bgpdump_rows(path):
    """(kind, peer, peer_as, prefix, path_id, as_path) from `bgpdump -m` lines; the
    timestamp of announcements and withdrawals too (RIB lines print the dump time,
    where the parser reports when the route was learned)."""
    rows = []
    with gzip.open(path, "rt") as f:
        for line in f:
            fields = line.rstrip("\n").split("|")
            kind = fields[2]
            if kind not in "ABW" or len(kind) != 1:
                continue
            addpath = fields[0].endswith("_AP")
            path_id = int(fields[6]) if addpath else None
            as_path = None if kind == "W" else fields[7 if addpath else 6]
            ts = None if kind == "B" else int(float(fields[1]))  # BGP4MP_ET: microseconds
            peer = str(ipaddress.ip_address(fields[3]))  # bgpdump's IPv6 text differs
            rows.append((kind, ts, peer, int(fields[4]), fields[5], path_id, as_path))
    return rows


def our_rows(path):
    return [
        (kind, None if kind == "B" else ts, str(ipaddress.ip_address(peer)), asn, prefix, path_id, as_path)
        for kind, ts, peer, asn, prefix, path_id, as_path in geoip_rs.mrt_routes(path)
    ]


@pytest.mark.parametrize("name", BGPDUMP_FILES)
def test_routes_agree_with_bgpdump_record_for_record(name):
    expected = bgpdump_rows(shared(f"{BGPDUMP}/expect/{name}.bgp.gz"))
    got = our_rows(shared(f"{BGPDUMP}/{name}"))
    assert len(got) == len(expected)
    if got != expected:
        # Within one BGP message the two tools may list prefixes in another order:
        # then the multisets must still be equal.
        assert Counter(got) == Counter(expected)


def test_nlri_with_bits_past_the_mask_is_dropped_where_bgpdump_masks_it():
    """A known difference, kept visible: bgpkit-parser drops an NLRI prefix whose
    bits go past its length (11.8.x.x/13); bgpdump masks it. Neither answer is in
    the table then, rather than a wrong one."""
    name = "updates.nlri_mask_trailing_bits.gz"
    assert [r[4] for r in bgpdump_rows(shared(f"{BGPDUMP}/expect/{name}.bgp.gz"))] == ["11.8.0.0/13"]
    assert our_rows(shared(f"{BGPDUMP}/{name}")) == []


# ---- an independent model of origin choice, from the routes ---------------------

RESERVED = [(0, 0), (23456, 23456), (64496, 131071), (4200000000, 2**32 - 1)]


def reserved(asn):
    return any(lo <= asn <= hi for lo, hi in RESERVED)


def origin_from_text(path):
    """The origin by the documented rules, from bgpdump-style path text."""
    if not path:
        return None
    for seg in reversed(path.split(" ")):
        if seg.startswith(("(", "[")) or seg.endswith((")", "]")):
            continue  # confederation segments
        if seg.startswith("{"):
            members = {int(a) for a in seg.strip("{}").split(",")} - {a for a in range(0)}
            public = sorted(a for a in members if not reserved(a))
            if public:
                return frozenset(public)
        elif not reserved(int(seg)):
            return int(seg)
    return None


@functools.lru_cache(maxsize=None)
def model(paths: tuple):
    """prefix -> {(peer, path_id): origin}, insertion-ordered, from RIB and update
    rows applied in order (announce sets, withdraw or no-origin removes)."""
    table: dict[str, dict] = {}
    for path in paths:
        for kind, _, peer, _, prefix, path_id, as_path in geoip_rs.mrt_routes(path):
            if ipaddress.ip_network(prefix).prefixlen == 0:
                continue
            key = (peer, path_id or 0)
            routes = table.setdefault(prefix, {})
            origin = None if kind == "W" else origin_from_text(as_path)
            if origin is None:
                routes.pop(key, None)
            else:
                routes[key] = origin
            if not routes:
                del table[prefix]
    return table


def choose(routes: dict, policy: str):
    if policy == "first_peer":
        return next(iter(routes.values()))
    counts: Counter = Counter()
    seen = set()
    for (peer, _), origin in routes.items():
        if (peer, origin) not in seen:
            seen.add((peer, origin))
            counts[origin] += 1
    order = list(dict.fromkeys(routes.values()))
    ranked = sorted(order, key=lambda o: -counts[o])  # stable: first seen wins ties
    if policy == "majority":
        return ranked[0]
    return tuple((o, counts[o]) for o in ranked)


def as_value(origin):
    return min(origin) if isinstance(origin, frozenset) else origin


@pytest.mark.parametrize("policy", ["first_peer", "majority", "all"])
@pytest.mark.parametrize(
    "files",
    [[V6_RIB], [f"{BGPDUMP}/bview.ipv6_unicast_add_path.gz"], [JINX_RIB, JINX_UPDATES], [V6_RIB, V6_UPDATES]],
    ids=["v6-rib", "addpath", "jinx+updates", "v6+updates"],
)
def test_origin_tables_match_an_independent_model(files, policy):
    paths = [shared(f) for f in files]
    table, summary = geoip_rs.read_mrt(paths[0], updates=paths[1:], origin_policy=policy)
    expected = {}
    for prefix, routes in model(tuple(paths)).items():
        chosen = choose(routes, policy)
        expected[ipaddress.ip_network(prefix)] = chosen if policy == "all" else as_value(chosen)
    assert dict(table.items()) == expected
    assert summary["prefixes"] == len(expected)
    if len(files) > 1:
        assert summary["updates"][0]["entries"] > 0


def test_updates_change_the_table():
    rib, _ = geoip_rs.read_mrt(shared(V6_RIB))
    moved, summary = geoip_rs.read_mrt(shared(V6_RIB), updates=[shared(V6_UPDATES)])
    assert rib != moved
    assert summary["updates"][0]["records"] == 15_044  # 14,879 + 165 BGP4MP messages


# ---- full RIBs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def jinx():
    return geoip_rs.read_mrt(shared(JINX_RIB))


def test_full_ipv4_rib_loads_completely(jinx):
    table, s = jinx
    assert s["records"] == 1 + 497_323 + 84 and not s["truncated"]
    assert s["entries"] == 503_590
    assert s["errors"] == []
    for prefix, asn in [("8.8.8.0/24", 15169), ("1.0.0.0/24", 15169), ("130.161.0.0/16", 1128), ("193.0.0.0/21", 3333)]:
        assert table.exact(prefix) == asn, prefix


def test_first_peer_agrees_with_pyasns_conversion(jinx):
    """route-views.jinx on 2014-05-30 vs pyasn's conversion of a route-views2 RIB of
    2014-05-13: other collector, two weeks apart, so not identical."""
    table, _ = jinx
    ipasn = dict(read_ipasn(shared("ipasn/ipasn_20140513.dat.gz")))
    shared_prefixes = [p for p in ipasn if table.has_prefix(p)]
    same = sum(table.exact(p) == ipasn[p] for p in shared_prefixes)
    assert len(shared_prefixes) > 450_000
    assert same / len(shared_prefixes) >= 0.95, same / len(shared_prefixes)


def test_full_ipv6_rib_loads_completely():
    table, s = geoip_rs.read_mrt(shared(V6_RIB), origin_policy="majority")
    assert s["records"] == 1 + 25_878 and s["entries"] == 609_246 and not s["truncated"]
    for prefix, asn in [("2001:4860::/32", 15169), ("2001:41d0::/32", 16276), ("2a02:2770::/32", 196752)]:
        assert table.exact(prefix) == asn, prefix


def test_old_table_dump_full_table():
    table, s = geoip_rs.read_mrt(shared(f"{BGPDUMP}/bview.20020722.2337.gz"))
    assert s["records"] == 115_521 and len(table) == 112_988
    for prefix, asn in [("3.0.0.0/8", 80), ("130.161.0.0/16", 1103), ("193.0.0.0/21", 3333)]:
        assert table.exact(prefix) == asn, prefix


def test_other_implementations_samples_load():
    """BIRD, OpenBGPD and Quagga lab dumps (two peer tables, ADD-PATH, RIB_GENERIC):
    they load without errors; their routes carry only private ASNs or empty paths,
    so every entry is accounted for as skipped, with the reason."""
    for name in ["quagga_rib", "bird-mrtdump_rib", "bird6-mrtdump_rib", "openbgpd_rib_table", "openbgpd_rib_table-v2"]:
        table, s = geoip_rs.read_mrt(shared(f"{MRT}/mrtparse-samples/{name}"))
        assert s["errors"] == [] and s["entries"] > 0, name
        if len(table) == 0:
            assert sum(s["skipped"].values()) >= s["entries"], (name, s)
    _, s = geoip_rs.read_mrt(shared(f"{MRT}/mrtparse-samples/openbgpd_rib_table-v2"))
    assert s["skipped"].get("unsupported record type") == 2  # the two RIB_GENERIC records
    _, s = geoip_rs.read_mrt(shared(f"{MRT}/mrtparse-samples/openbgpd_rib_table-mp"))
    assert s["records"] == 31 and s["entries"] == 0


# ---- errors ------------------------------------------------------------------------

FIRST_MB = f"{MRT}/rib.20140523.0600_firstMB.bz2"


def test_truncated_file_raises_naming_file_record_and_offset():
    with pytest.raises(geoip_rs.FormatError, match=r"firstMB.bz2: record 9074 \(byte offset \d+\): truncated"):
        geoip_rs.read_mrt(shared(FIRST_MB))


def test_truncated_file_with_skip_keeps_what_was_read():
    table, s = geoip_rs.read_mrt(shared(FIRST_MB), on_error="skip")
    assert s["truncated"] and s["skipped"]["unreadable rest of file"] == 1
    assert len(table) == 9_072 - 1  # the default route is left out
    assert table.exact("1.0.0.0/24") == 15169


def test_corrupt_record_is_reported_and_can_be_skipped(tmp_path):
    sample = shared(f"{MRT}/ryu/rib.20161101.0000_pick.bz2")
    good, _ = geoip_rs.read_mrt(sample)
    bad = bytearray(bz2.decompress(sample.read_bytes()))
    first_rib = 12 + int.from_bytes(bad[8:12], "big")  # after the peer index table
    bad[first_rib + 12 + 4] = 200  # its prefix length
    p = tmp_path / "corrupt.mrt"
    p.write_bytes(bytes(bad))
    message = rf"corrupt.mrt: record 2 \(byte offset {first_rib}\): malformed record: .*prefix length: 200"
    with pytest.raises(geoip_rs.FormatError, match=message):
        geoip_rs.read_mrt(p)
    table, s = geoip_rs.read_mrt(p, on_error="skip")
    assert s["skipped"]["malformed record"] == 1 and len(table) == len(good) - 1
    assert s["records"] == 3


def test_wrong_format_and_empty_file(tmp_path):
    with pytest.raises(geoip_rs.FormatError, match="ipasn.fake: record 1"):
        geoip_rs.read_mrt(shared("ipasn/ipasn.fake"))
    empty = tmp_path / "empty.mrt"
    empty.write_bytes(b"")
    table, s = geoip_rs.read_mrt(empty)
    assert len(table) == 0 and s["records"] == 0


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.bz2"):
        geoip_rs.read_mrt(tmp_path / "missing.bz2")
    with pytest.raises(FileNotFoundError, match="missing.bz2"):
        geoip_rs.mrt_routes(tmp_path / "missing.bz2")
    with pytest.raises(ValueError, match="origin_policy must be 'first_peer', 'majority' or 'all'"):
        geoip_rs.read_mrt(shared(FIRST_MB), origin_policy="last")
    with pytest.raises(geoip_rs.FormatError, match="firstMB.bz2: record 9074"):
        list(geoip_rs.mrt_routes(shared(FIRST_MB)))
