"""MMDB export: ``Database.to_mmdb`` and ``geoip-rs export --format mmdb``, read
back by readers that share no code with geoip_rs's writer.

The oracle is always the database itself: the record each address must have is
built from ``Database.to_arrow`` (or ``lookup``) by the documented record layout
(tests/mmdbdata.py), never taken from the file.

1. The sample exported once, read by ``maxminddb``'s C extension for 1,000,000
   seeded addresses plus the first and last address of every prefix, and by its
   pure-Python reader for a seeded 200,000 of them (in a child process, on the
   other core): every record, every miss, and every network the file gives is
   inside the database's prefix with the same answer at both of its ends.
2. libmaxminddb's ``mmdblookup`` for a few hundred addresses, whole records and
   paths into them.
3. The metadata against the database's and the summary, and the search tree read
   from the file's bytes against the summary.
4. IPv4 aliases: forced, off, and the default on the sample and on a small database.
5. A history exported at a time answers as the one-date database in force then.
6. The command line writes the same bytes as the API, and refuses what it must.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import maxminddb
import numpy as np
import pyarrow as pa
import pytest
from conftest import IN_CI
from mmdbdata import (ALIASED, Peer, Tree, expected_record, expected_records, no_gc,
                      parse_mmdblookup, prefix_ends, same_answers, v4_ends, v6_ends, v6_inside)
from timedata import ADDRESSES, TIMES, build, in_force, time_pool

import geoip_rs

N_V4, N_V6_ROUTED, N_V6_ANY = 700_000, 250_000, 50_000  # the 1,000,000 random addresses
PURE_SUBSET = 200_000  # the pure-Python reader takes ~55 us an address
CMD = [sys.executable, "-m", "geoip_rs"]


@pytest.fixture(scope="module", autouse=True)
def gc_off():
    """The cyclic garbage collector off while the module runs (see
    ``mmdbdata.no_gc``); autouse, so set up first and torn down last, when the
    module's big fixtures are gone and a collection is cheap."""
    with no_gc():
        yield


@pytest.fixture(scope="module")
def sample():
    with geoip_rs.open() as db:  # the bundled sample (conftest empties the cache)
        yield db


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mmdb")


@pytest.fixture(scope="module")
def export(sample, folder) -> tuple[Path, dict]:
    """The sample exported with the defaults, once for the module."""
    path = folder / "sample.mmdb"
    return path, sample.to_mmdb(path)


@pytest.fixture(scope="module")
def nets(sample) -> list:
    return [n for n, _ in sample]


@pytest.fixture(scope="module")
def tree(export) -> Tree:
    return Tree(export[0])


# ---- 1. every address through maxminddb -----------------------------------------------------


@dataclass
class Probes:
    """The addresses asked (IPv4 first), as text, and the database's answers."""

    v4: np.ndarray  # uint32
    v6: np.ndarray  # (n, 16) uint8
    texts: list[str]
    table: pa.Table  # Database.to_arrow of v4 then v6
    expected: list[dict | None]


@pytest.fixture(scope="module")
def probes(sample, nets) -> Probes:
    rng = np.random.default_rng(20140530)
    ends4, ends6 = prefix_ends(nets)
    v6nets = [n for n in nets if n.version == 6]
    v4 = np.concatenate([rng.integers(0, 2**32, N_V4, dtype=np.uint32), ends4])
    any6 = rng.integers(0, 256, (N_V6_ANY, 16), dtype=np.uint8)
    v6 = np.concatenate([v6_inside(rng, v6nets, N_V6_ROUTED), any6, ends6])
    table = pa.concat_tables([pa.table(sample.to_arrow(v4)), pa.table(sample.to_arrow(v6))])
    texts = table.column("address").to_pylist()
    return Probes(v4, v6, texts, table, expected_records(table))


@pytest.fixture(scope="module")
def pure_peer(export, probes, folder) -> tuple[np.ndarray, Peer]:
    """The pure-Python reader on a seeded subset, started in a child process as
    soon as a test asks for it (the C-extension test does, so both run at once)."""
    rows = np.sort(np.random.default_rng(7).choice(len(probes.texts), PURE_SUBSET, replace=False))
    return rows, Peer(folder, export[0], "MODE_MMAP", [probes.texts[i] for i in rows])


def wrong_records(answers: list, probes: Probes, rows) -> list:
    """The answers whose record is not the one the database's answer makes (a miss
    where the database has one, or the other way round, included)."""
    return [(probes.texts[i], rec, probes.expected[i])
            for (rec, _), i in zip(answers, rows, strict=True) if rec != probes.expected[i]]


def check_networks(sample, probes: Probes, rows: np.ndarray, plen: np.ndarray) -> None:
    """The network a file gives for each address (its length ``plen``) lies inside
    the database's prefix, and the database answers its first and last address as
    it answers the address (or misses all three)."""
    n4 = int(np.searchsorted(rows, len(probes.v4)))
    ends = [v4_ends(probes.v4[rows[:n4]], plen[:n4]),
            v6_ends(probes.v6[rows[n4:] - len(probes.v4)], plen[n4:])]
    asked = probes.table.take(pa.array(rows))
    db_len = asked.column("prefix_len").to_numpy(zero_copy_only=False)
    found = ~np.isnan(db_len)
    assert (plen[found] >= db_len[found]).all(), "a network is wider than the database's prefix"
    for k in (0, 1):  # the first, then the last address
        end = pa.concat_tables([pa.table(sample.to_arrow(ends[0][k])), pa.table(sample.to_arrow(ends[1][k]))])
        same = same_answers(end, asked)
        assert same.all(), [probes.texts[i] for i in rows[~same][:5]]


def test_maxminddb_c_extension(sample, export, probes, pure_peer):
    n, chunk = len(probes.texts), 100_000  # answers kept a chunk at a time: GBs at once
    plen, bad = np.empty(n, np.uint8), []
    with maxminddb.open_database(str(export[0]), maxminddb.MODE_MMAP_EXT) as reader:
        assert type(reader).__module__ == "maxminddb.extension"
        for start in range(0, n, chunk):
            answers = [reader.get_with_prefix_len(a) for a in probes.texts[start:start + chunk]]
            plen[start:start + chunk] = [p for _, p in answers]
            bad += wrong_records(answers, probes, range(start, start + len(answers)))
    assert not bad, (len(bad), bad[:3])
    check_networks(sample, probes, np.arange(n), plen)
    # Guards the sampling, not the library: hits and misses in both families.
    hits = np.array([e is not None for e in probes.expected])
    n4 = len(probes.v4)
    assert hits[:n4].sum() > 1_200_000 and (~hits[:n4]).sum() > 100_000
    assert hits[n4:].sum() > 250_000 and (~hits[n4:]).sum() > 40_000


def test_maxminddb_pure_python(sample, probes, pure_peer):
    rows, peer = pure_peer
    module, answers = peer.result()
    assert module == "maxminddb.reader"  # the pure-Python reader, not the extension
    bad = wrong_records(answers, probes, rows)
    assert not bad, (len(bad), bad[:3])
    check_networks(sample, probes, rows, np.array([p for _, p in answers]))


# ---- 2. libmaxminddb's mmdblookup ----------------------------------------------------------------


def mmdblookup(path: Path, address: str, *keys: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mmdblookup", "--file", str(path), "--ip", address, *keys],
                          capture_output=True, text=True, timeout=60)


def require_mmdblookup() -> None:
    if shutil.which("mmdblookup") is None:  # `make install-test` installs mmdb-bin
        msg = "mmdblookup not found: apt-get install mmdb-bin"
        pytest.fail(msg) if IN_CI else pytest.skip(msg)


def test_mmdblookup_whole_records(export, probes):
    require_mmdblookup()
    rows = np.random.default_rng(11).choice(len(probes.texts), 300, replace=False)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda i: mmdblookup(export[0], probes.texts[i]), rows))
    for i, p in zip(rows, done):
        if probes.expected[i] is None:
            assert p.returncode != 0 and "Could not find an entry" in p.stderr, (probes.texts[i], p.stdout)
        else:
            assert p.returncode == 0, p.stderr
            assert parse_mmdblookup(p.stdout) == probes.expected[i], probes.texts[i]
    assert 100 < sum(probes.expected[i] is not None for i in rows) < 290


def test_mmdblookup_paths(sample, export):
    require_mmdblookup()
    asks = {"8.8.8.8", "2001:4860::8888", "1.0.0.1", "193.0.6.139", "2a01:4f8::1"}
    for address in sorted(asks):
        rec = sample.lookup(address)
        assert rec is not None, address  # guards the choice of addresses
        want = {("geoip_rs", "prefix_length"): rec.prefix.prefixlen, ("geoip_rs", "origins", "0"): rec.origins[0],
                ("autonomous_system_number",): rec.asn, ("country", "iso_code"): rec.country}
        for path, value in want.items():
            p = mmdblookup(export[0], address, *path)
            if value is None:
                assert p.returncode != 0 and "does not match the data" in p.stderr, (address, path)
            else:
                assert parse_mmdblookup(p.stdout) == value, (address, path, p.stdout)


# ---- 3. metadata and the search tree ----------------------------------------------------------------


def build_epoch(db) -> int:
    built = datetime.fromisoformat(db.metadata["built"].replace("Z", "+00:00"))
    return int(built.astimezone(timezone.utc).timestamp())


def test_metadata(sample, export):
    path, summary = export
    with maxminddb.open_database(str(path), maxminddb.MODE_FILE) as reader:
        meta = reader.metadata()
    assert meta.database_type == "geoip_rs-ASN-Country"
    assert set(meta.description) == {"en"} and meta.description["en"]
    assert meta.languages == ["en"] and meta.ip_version == 6
    assert (meta.binary_format_major_version, meta.binary_format_minor_version) == (2, 0)
    assert meta.build_epoch == build_epoch(sample)
    assert (meta.node_count, meta.record_size) == (summary["node_count"], summary["record_size"])
    assert summary["bytes"] == path.stat().st_size
    with geoip_rs.open(path) as m:
        assert isinstance(m, geoip_rs.MmdbDatabase)
        assert m.metadata == {k: getattr(meta, k) for k in m.metadata}
        assert set(m.metadata) >= {"database_type", "description", "languages", "ip_version",
                                   "node_count", "record_size", "build_epoch"}


def test_tree_matches_summary(export, tree):
    _, summary = export
    leaves = tree.leaves()
    assert summary["networks"] == len(leaves)
    assert summary["records"] == len({offset for _, offset in leaves})
    # The record size is the smallest of MaxMind's three that can point past the
    # tree into the whole data section.
    data = summary["bytes"] - tree.node_count * tree.record_size // 4 - 16
    need = tree.node_count + 16 + data
    assert tree.record_size == min(s for s in (24, 28, 32) if need < 2**s)


def test_custom_type_and_description(small, folder):
    path = folder / "custom.mmdb"
    small.history.to_mmdb(path, database_type="My-ASN", description="made by a test")
    with maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT) as reader:
        meta = reader.metadata()
    assert (meta.database_type, meta.description) == ("My-ASN", {"en": "made by a test"})
    assert meta.build_epoch == build_epoch(small.history)


# ---- 4. IPv4 aliases --------------------------------------------------------------------------


def alias_forms(v4: str) -> dict[str, int]:
    """The IPv6 forms of an IPv4 address MaxMind's files alias, with the bits
    they put in front of the IPv4 address's: IPv4-mapped, 6to4 and Teredo (server)."""
    a = v4.split(".")
    h = f"{int(a[0]) * 256 + int(a[1]):x}:{int(a[2]) * 256 + int(a[3]):x}"
    return {f"::ffff:{v4}": 96, f"2002:{h}::1": 16, f"2001:0:{h}::1": 32}


def test_forced_aliases(sample, export, tree, probes, folder):
    path = folder / "aliased.mmdb"
    summary = sample.to_mmdb(path, ipv4_aliases=True)
    hidden = sum(len(tree.leaves(n)) for n in ALIASED)  # of the default export
    assert hidden > 0 and summary["aliased_out"] == hidden and summary["ipv4_aliases"]
    assert summary["networks"] == export[1]["networks"] - hidden
    hits = [i for i in np.random.default_rng(3).choice(len(probes.v4), 3000) if probes.expected[i]]
    with maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT) as reader, geoip_rs.open(path) as ours:
        for v4 in ["8.8.8.8", *(probes.texts[i] for i in hits)]:
            rec, plen = reader.get_with_prefix_len(v4)
            assert rec == expected_record(sample.lookup(v4).to_dict())
            for v6, bits in alias_forms(v4).items():
                assert reader.get_with_prefix_len(v6) == (rec, bits + plen), v6
                assert ours.get_with_prefix_len(v6) == (rec, bits + plen), v6


def test_aliases_off(sample, folder):
    path = folder / "unaliased.mmdb"
    summary = sample.to_mmdb(path, ipv4_aliases=False)
    assert not summary["ipv4_aliases"] and summary["aliased_out"] == 0
    with maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT) as reader:
        for v6 in alias_forms("8.8.8.8"):
            rec = sample.lookup(v6)  # the IPv6 address itself: 2002::/16 is routed
            assert reader.get(v6) == (rec and expected_record(rec.to_dict())), v6
        assert reader.get("::ffff:8.8.8.8") is None


def test_default_aliases(export, nets, small, folder):
    # The sample routes prefixes inside 2001::/32 and 2002::/16: no aliases.
    assert any(n.version == 6 and any(n.subnet_of(a) for a in ALIASED) for n in nets)
    assert not export[1]["ipv4_aliases"] and export[1]["aliased_out"] == 0
    # The small history routes nothing there: aliases on.
    path = folder / "small-default.mmdb"
    assert small.history.to_mmdb(path)["ipv4_aliases"]
    with maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT) as reader:
        want = expected_record(small.history.lookup("10.1.2.3").to_dict())
        assert all(reader.get(v6) == want for v6 in alias_forms("10.1.2.3"))


# ---- 5. histories -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    h = build(tmp_path_factory.mktemp("small_history"))  # tests/timedata.py's three days
    yield h
    h.close()


def test_history_at(small, folder):
    path = folder / "history.mmdb"
    for at in time_pool():
        snap = int(in_force(np.array([at]))[0])
        if snap < 0:
            with pytest.raises(ValueError, match="no snapshot"):
                small.history.to_mmdb(path, at=at)
            continue
        small.history.to_mmdb(path, at=at)  # replaces the last one
        with maxminddb.open_database(str(path), maxminddb.MODE_MMAP_EXT) as reader:
            for a in ADDRESSES:
                rec = small.dbs[snap].lookup(a)
                assert reader.get(a) == (rec and expected_record(rec.to_dict())), (at, a)
                rec_at = small.history.lookup(a, at=at)
                assert reader.get(a) == (rec_at and expected_record(rec_at.to_dict())), (at, a)
            assert reader.metadata().build_epoch == build_epoch(small.dbs[snap])


def test_export_replaces_atomically(small, tmp_path):
    """A new export replaces the file whole: a reader that has the old one open
    keeps answering from it, and nothing else is left in the folder, even when an
    export fails."""
    path = tmp_path / "x.mmdb"
    small.history.to_mmdb(path, at=int(TIMES[0]))
    with geoip_rs.open(path) as old:
        before = old.lookup("10.1.2.3")
        assert before == expected_record(small.dbs[0].lookup("10.1.2.3").to_dict())
        small.history.to_mmdb(path, at=int(TIMES[1]))
        assert old.lookup("10.1.2.3") == before
    with geoip_rs.open(path) as new:
        assert new.lookup("10.1.2.3") == expected_record(small.dbs[1].lookup("10.1.2.3").to_dict()) != before
    with pytest.raises(OSError):
        small.history.to_mmdb(tmp_path / "no such folder" / "x.mmdb")
    assert [p.name for p in tmp_path.iterdir()] == ["x.mmdb"]


def test_history_default_is_newest(small, folder):
    newest, at_last = folder / "newest.mmdb", folder / "at-last.mmdb"
    small.history.to_mmdb(newest)
    small.history.to_mmdb(at_last, at=datetime.fromtimestamp(int(TIMES[-1]), timezone.utc))
    assert newest.read_bytes() == at_last.read_bytes()


# ---- 6. the command line ------------------------------------------------------------------------


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_cli_export_is_the_api_export(export, folder):
    out = folder / "cli.mmdb"
    p = cli("export", "--format", "mmdb", "-o", out)  # the default database: the sample
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == export[0].read_bytes()  # deterministic, and the same
    assert f"{export[1]['networks']:,} networks" in p.stderr


def test_cli_export_history_at(small, folder):
    out, api = folder / "cli-at.mmdb", folder / "api-at.mmdb"
    p = cli("export", small.history.path, "--format", "mmdb", "-o", out, "--at", "2021-01-07",
            "--database-type", "Test-Type")
    assert p.returncode == 0, p.stderr
    small.history.to_mmdb(api, at="2021-01-07", database_type="Test-Type")
    assert out.read_bytes() == api.read_bytes()
    with maxminddb.open_database(str(out), maxminddb.MODE_MMAP_EXT) as reader:
        assert reader.metadata().database_type == "Test-Type"
        assert reader.get("10.1.2.3") == expected_record(small.dbs[1].lookup("10.1.2.3").to_dict())


def test_cli_export_options(small, folder):
    out, api = folder / "cli-opts.mmdb", folder / "api-opts.mmdb"
    p = cli("export", small.dbs[1].path, "--format", "mmdb", "-o", out, "--no-ipv4-aliases",
            "--description", "routes of a test")
    assert p.returncode == 0 and "without IPv4 aliases" in p.stderr, p.stderr
    small.dbs[1].to_mmdb(api, ipv4_aliases=False, description="routes of a test")
    assert out.read_bytes() == api.read_bytes()
    with maxminddb.open_database(str(out), maxminddb.MODE_MMAP_EXT) as reader:
        assert reader.metadata().description == {"en": "routes of a test"}


def test_cli_refuses(export, folder):
    p = cli("export", "--format", "mmdb")
    assert p.returncode != 0 and "-o" in p.stderr and "Traceback" not in p.stderr, p.stderr
    out = folder / "again.mmdb"
    p = cli("export", export[0], "--format", "mmdb", "-o", out)
    assert p.returncode != 0 and "already an MMDB file" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def test_an_export_is_a_prefix_source(sample, export, probes, folder):
    """``build_database(mmdb=...)`` of the sample's export routes every probe to the
    sample's origin; its AS names are the export's organisations."""
    with geoip_rs.build_database(folder / "back.geoipdb", mmdb=export[0]) as back:
        [summary] = back.load_summaries.values()
        assert summary["prefixes"] == export[1]["networks"] and not summary["skipped"]
        idx = np.random.default_rng(9).choice(len(probes.texts), 100_000, replace=False)
        addrs = [probes.texts[i] for i in idx]
        want, got = sample.to_arrow(addrs, ["asn"]), back.to_arrow(addrs, ["asn", "as_name"])
        assert want.column("asn").to_pylist() == got.column("asn").to_pylist()
        for a in addrs[:2000]:
            r, b = sample.lookup(a), back.lookup(a)
            assert (r is None) == (b is None), a
            if r is not None:
                assert b.as_name == (r.org_name or r.as_name), a
