"""MMDB files as a country source (``build_database(mmdb=...)``), checked against
the ``maxminddb`` package reading the same file (an independent reader) and against
the same database built without it: where the file has a country for an address,
the default order answers with it (``mmdb``); elsewhere every answer is the one the
database without the file gives. Chosen orders, chosen fields, several files, the
command line, histories and bad input follow.
"""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys

import maxminddb
import numpy as np
import pytest
from dbfixtures import APNIC, AS2ORG, IPASN, IPASN46, RIPE, shared, v4_addresses

import geoip_rs

GEOLITE = "mmdb/geolite2-cc-by-sa/GeoLite2-Country_20190219.mmdb"
CITY_TEST = "mmdb/maxmind-test/test-data/GeoIP2-City-Test.mmdb"
CLASSIC = ["as2org", "rir-prefix", "rir-asn", "asname"]


def sources(ipasn: str = IPASN46) -> dict:
    return dict(ipasn=shared(ipasn), as2org=shared(AS2ORG), delegated=[shared(RIPE), shared(APNIC)])


@pytest.fixture(scope="module")
def base(dbdir):
    """The database without the MMDB file."""
    with geoip_rs.build_database(dbdir / "mc-base.geoipdb", **sources()) as d:
        yield d


@pytest.fixture(scope="module")
def geo(dbdir):
    """The same with GeoLite2-Country (2019) as an MMDB source."""
    with geoip_rs.build_database(dbdir / "mc-geo.geoipdb", mmdb=shared(GEOLITE), **sources()) as d:
        yield d


@pytest.fixture(scope="module")
def reader():
    with maxminddb.open_database(str(shared(GEOLITE))) as r:
        yield r


@pytest.fixture(scope="module")
def addresses(base):
    """60,000 seeded IPv4 addresses and 6,000 inside the routed IPv6 prefixes, as text."""
    v4 = [str(ipaddress.IPv4Address(int(a))) for a in v4_addresses(60_000, seed=2019)]
    rng = random.Random(2019)
    nets = [p for p, _ in base if p.version == 6]
    v6 = []
    for net in rng.sample(nets, 6000):
        size = net.num_addresses
        v6.append(str(net.network_address + rng.randrange(size)))
    return v4 + v6


def mmdb_country(reader, address: str, path=("country", "iso_code")) -> str | None:
    value = reader.get(address)
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def answers(db, addresses):
    """(country, country_source) of each address, from one Arrow batch."""
    t = db.to_arrow(addresses, ["country", "country_source"], on_error="null")
    return list(zip(t["country"].to_pylist(), t["country_source"].to_pylist()))


def answers_at(history, addresses, when):
    t = history.to_arrow(addresses, ["country", "country_source"], at=when, on_error="null")
    return list(zip(t["country"].to_pylist(), t["country_source"].to_pylist()))


def test_the_default_order_puts_the_mmdb_country_first(base, geo, reader, addresses):
    seen = {"mmdb": 0, "other": 0}
    got, was = answers(geo, addresses), answers(base, addresses)
    for a, g, b in zip(addresses, got, was):
        cc = mmdb_country(reader, a)
        if geo.get(a) is None:
            assert g == (None, None), a
        elif cc is not None:
            assert g == (cc, "mmdb"), a
            seen["mmdb"] += 1
        else:
            assert g == b, a
            seen["other"] += 1
    assert seen["mmdb"] > 10_000 and seen["other"] > 0, seen
    # both families answer from the file
    v6 = [a for a, g in zip(addresses, got) if ":" in a and g[1] == "mmdb"]
    assert len(v6) > 1000


def test_records_batches_and_columns_agree(geo, addresses):
    sample = addresses[::50]
    got = answers(geo, sample)
    for a, g in zip(sample, got):
        r = geo.lookup(a)
        assert (r.country, r.country_source) == g if r else g == (None, None), a
    v4 = np.array([int(ipaddress.IPv4Address(a)) for a in addresses if ":" not in a], dtype=np.uint32)
    cols = geo.lookup_batch(v4)
    want = answers(geo, [str(ipaddress.IPv4Address(int(a))) for a in v4])
    for cc, src, w in zip(cols["country"].tolist(), cols["country_source"].tolist(), want):
        assert (cc.decode() or None, src.decode() or None) == w


def test_the_file_changes_countries_only(base, geo, addresses):
    cols = ["prefix", "asn", "origins", "as_name", "org_name", "registry"]
    a = geo.to_arrow(addresses, cols, on_error="null")
    b = base.to_arrow(addresses, cols, on_error="null")
    for c in cols:
        assert a[c].to_pylist() == b[c].to_pylist(), c
    meta = geo.metadata
    assert meta["counts"]["mmdb_country_networks"] > 300_000
    assert meta["counts"]["rir_ipv4_prefixes"] == base.metadata["counts"]["rir_ipv4_prefixes"]
    [src] = [s for s in meta["sources"] if s["kind"] == "mmdb"]
    assert src["name"] == "GeoLite2-Country_20190219.mmdb" and src["date"].startswith("2019-02")
    # the routing data's date, not the MMDB file's build date
    assert meta["data_time"] == base.metadata["data_time"]
    summary = geo.load_summaries[str(shared(GEOLITE))]
    # the count has the IPv4 networks again under the file's IPv6 aliases
    assert summary["prefixes"] == 0 and summary["entries"] < meta["counts"]["mmdb_country_networks"]
    assert summary["entries"] + sum(summary["skipped"].values()) == summary["records"]


@pytest.mark.parametrize("order", [
    "as2org,mmdb,rir-prefix,rir-asn,asname",
    ["mmdb"],
    CLASSIC,
])
def test_a_chosen_order_is_followed_and_kept(dbdir, base, reader, addresses, order):
    name = "mc-order-" + (order if isinstance(order, str) else "-".join(order)) + ".geoipdb"
    with geoip_rs.build_database(dbdir / name, mmdb=shared(GEOLITE), country_order=order,
                                 **sources()) as d:
        steps = order.split(",") if isinstance(order, str) else order
        assert d.metadata["options"]["country_order"] == ",".join(steps)
        for a, g, b in zip(addresses, answers(d, addresses), answers(base, addresses)):
            cc = mmdb_country(reader, a) if d.get(a) is not None else None
            mm = (cc, "mmdb") if cc else None
            if steps == ["mmdb"]:
                want = mm or (None, None)
            elif steps == CLASSIC:
                want = b
            else:
                want = b if b[1] == "as2org" else mm or b
            assert g == want, (a, order)


def test_a_chosen_field_gives_the_countries(dbdir, reader, addresses):
    with geoip_rs.build_database(dbdir / "mc-registered.geoipdb", mmdb=shared(GEOLITE),
                                 mmdb_country_fields="registered_country.iso_code",
                                 country_order=["mmdb"], **sources()) as d:
        assert d.metadata["options"]["mmdb_country_fields"] == "registered_country.iso_code"
        differ = 0
        for a, g in zip(addresses, answers(d, addresses)):
            if g[0] is None and d.get(a) is None:
                continue
            cc = mmdb_country(reader, a, ("registered_country", "iso_code"))
            assert g == ((cc, "mmdb") if cc else (None, None)), a
            differ += cc != mmdb_country(reader, a)
        assert differ > 0


def test_the_first_file_that_covers_an_address_gives_its_country(dbdir, base, reader, addresses,
                                                                  tmp_path):
    """The database's own export (its countries under country.iso_code) and
    GeoLite2, in both orders."""
    export = tmp_path / "base.mmdb"
    base.to_mmdb(export)
    was = answers(base, addresses)
    for files, name in [([export, shared(GEOLITE)], "ours"), ([shared(GEOLITE), export], "theirs")]:
        with geoip_rs.build_database(dbdir / f"mc-two-{name}.geoipdb", mmdb=files,
                                     **sources()) as d:
            for a, g, b in zip(addresses, answers(d, addresses), was):
                if base.get(a) is None:
                    continue
                ours = (b[0], "mmdb") if b[0] else None
                cc = mmdb_country(reader, a)
                theirs = (cc, "mmdb") if cc else None
                first, second = (ours, theirs) if name == "ours" else (theirs, ours)
                assert g == (first or second or (None, None)), (a, name)


def test_the_command_line_takes_the_order_and_fields(tmp_path, reader, addresses, base):
    out = tmp_path / "cli.geoipdb"
    argv = [sys.executable, "-m", "geoip_rs", "build", str(out), "-q",
            "--mmdb", str(shared(GEOLITE)), "--country-order", "mmdb",
            "--mmdb-country-field", "registered_country.iso_code",
            "--mmdb-country-field", "country.iso_code"]
    for kind, paths in sources().items():
        for p in paths if isinstance(paths, list) else [paths]:
            argv += [f"--{kind}", str(p)]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    with geoip_rs.open(out) as d:
        assert d.metadata["options"]["country_order"] == "mmdb"
        assert d.metadata["options"]["mmdb_country_fields"] == (
            "registered_country.iso_code,country.iso_code")
        sample = addresses[::20]
        for a, g in zip(sample, answers(d, sample)):
            if d.get(a) is None:
                continue
            cc = (mmdb_country(reader, a, ("registered_country", "iso_code"))
                  or mmdb_country(reader, a))
            assert g == ((cc, "mmdb") if cc else (None, None)), a
    help_text = subprocess.run([sys.executable, "-m", "geoip_rs", "build", "--help"],
                               capture_output=True, text=True, check=True).stdout
    # argparse wraps long lines, breaking at spaces and after hyphens
    assert ",".join(geoip_rs.COUNTRY_ORDER) in "".join(help_text.split()), help_text


def test_a_history_answers_each_snapshot_with_its_countries(dbdir, geo, addresses, tmp_path):
    old = geoip_rs.build_database(tmp_path / "old.geoipdb", mmdb=shared(GEOLITE), **sources(IPASN))
    with old, geoip_rs.build_history(tmp_path / "h.geoipdb", [old.path, geo.path]) as h:
        v4 = [a for a in addresses if ":" not in a][:5000]
        for db in (old, geo):
            when = db.metadata["data_time"]
            got = answers_at(h, v4, when)
            assert got == answers(db, v4), when
            assert sum(src == "mmdb" for _, src in got) > 1000
    chosen = geoip_rs.build_database(tmp_path / "chosen.geoipdb", mmdb=shared(GEOLITE),
                                     country_order="as2org,mmdb", **sources(IPASN))
    with chosen, pytest.raises(ValueError, match="different country orders"):
        geoip_rs.build_history(tmp_path / "h2.geoipdb", [chosen.path, geo.path])
    assert not (tmp_path / "h2.geoipdb").exists()


@pytest.mark.parametrize("order, message", [
    (["geo"], "country source must be 'as2org', 'rir-prefix', 'rir-asn', 'asname' or 'mmdb', not \"geo\""),
    ("as2org,as2org", "country source \"as2org\" given twice"),
    ([], "at least one source"),
])
def test_bad_orders_are_refused_before_reading(tmp_path, order, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=shared(IPASN), country_order=order)
    assert not (tmp_path / "x.geoipdb").exists()


def test_a_field_that_is_no_country_code_is_an_error_or_skipped(tmp_path):
    city = shared(CITY_TEST)
    with pytest.raises(geoip_rs.FormatError) as e:
        geoip_rs.build_database(tmp_path / "x.geoipdb", ipasn=shared(IPASN), mmdb=city,
                                mmdb_country_fields=["city.names.en"])
    text = str(e.value)
    assert "GeoIP2-City-Test.mmdb" in text and "record " in text
    assert "city.names.en is " in text and "not a two-letter country code" in text
    with geoip_rs.build_database(tmp_path / "y.geoipdb", ipasn=shared(IPASN), mmdb=city,
                                 mmdb_country_fields=["city.names.en"], on_error="skip") as d:
        assert d.load_summaries[str(city)]["skipped"]["not a country code"] > 0
    with pytest.raises(ValueError, match="dotted paths"):
        geoip_rs.build_database(tmp_path / "z.geoipdb", ipasn=shared(IPASN), mmdb=city,
                                mmdb_country_fields=["country..iso_code"])
