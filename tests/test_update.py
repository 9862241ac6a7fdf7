"""``geoip_rs.update`` and ``geoip-rs update`` against a real HTTP server on the
loopback interface, serving a mirror of the archives built from ``../shared/data``
(``archive_mirror``): a database is built and opened by default, its answers equal
those of a database built directly from the same files, a second run with nothing
new makes only conditional requests, and every failure the server can inject leaves
the previous database in use with a message naming the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pytest

import geoip_rs
from geoip_rs import _archives, cache
from geoip_rs import _update as updating

import archive_mirror
from conftest import require_shared
from mirror import Mirror

SMALL = {"collectors": ["route-views6"], "rirs": ["afrinic", "lacnic"], "asnames": False}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    data = require_shared(*{*archive_mirror.DUMPS.values(), *archive_mirror.CAIDA.values(),
                            *archive_mirror.PARTIAL_DUMPS.values(),
                            *(src for _, src in archive_mirror.RIR_FILES.values()),
                            "asnames/asnames.json.gz"})
    root = tmp_path_factory.mktemp("archive")
    files = archive_mirror.build(root, data)
    with Mirror(root, styles={"routeviews": "apache", "ris": "nginx", "caida": "apache"}) as m:
        yield m, files


@pytest.fixture
def server(archive):
    m, _ = archive
    m.clear_faults()
    m.reset_log()
    yield m
    m.clear_faults()


def run(server, cache_dir, **kw):
    kw.setdefault("retries", 1)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("progress", False)
    return geoip_rs.update(cache_dir=cache_dir, urls=archive_mirror.urls(server.url), **kw)


@pytest.fixture(scope="module")
def first(archive, tmp_path_factory):
    """One full update into a cache of its own: the default sources."""
    m, _ = archive
    root = tmp_path_factory.mktemp("cache")
    return root, run(m, root)


def rows(db):
    """Every prefix and origin, as ``geoip-rs export`` writes them (no header)."""
    text, _ = db._export("ipasn", 0, len(db))
    return [line for line in text.splitlines() if not line.startswith(";")]


def addresses(db, n=20000, seed=7):
    """Every prefix's first address, and random ones, IPv4 and IPv6."""
    rng = np.random.default_rng(seed)
    firsts = [str(net.network_address) for net, _ in db]
    v4 = [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(0, 256, size=(n, 4)).tolist()]
    return firsts + v4


# --- the whole way ------------------------------------------------------------------


def test_update_builds_the_database_open_then_opens(archive, first, tmp_path, monkeypatch):
    _, files = archive
    root, result = first
    assert result.built and result.path.parent == root / "databases"
    assert cache.newest(root) == result.path
    monkeypatch.setenv(cache.ENV, str(root))
    with geoip_rs.open() as db:
        assert db.path == str(result.path)
        assert db.metadata["data_time"] == "2015-09-22T12:00:00Z"
        assert {s["kind"] for s in db.metadata["sources"]} == {"mrt", "delegated", "asnames"}
        # The oracle: the same files built directly, with the update's policy.
        direct = geoip_rs.build_database(tmp_path / "direct.geoipdb", origin_policy="majority",
                                         **{k: [str(p) for p in v] for k, v in files.items()})
        with direct:
            assert len(db) == len(direct) > 500_000
            assert rows(db) == rows(direct)
            a = addresses(db)
            got, want = db.lookup_batch(a, details=True), direct.lookup_batch(a, details=True)
            for name in ("found", "asn", "prefix_len", "country", "country_source"):
                np.testing.assert_array_equal(got[name], want[name], err_msg=name)
            assert got["as_name"] == want["as_name"]


def test_downloads_use_the_archive_layout_and_listings(archive, first):
    root, result = first
    dumps = sorted(p.relative_to(root / "downloads").as_posix() for p in result.files["mrt"])
    # route-views2 at the archive's root, the others in a folder of their own; the
    # newest month (2014.06) holds no dump yet, so the newest of 2014.05 is taken.
    assert dumps == ["routeviews/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2",
                     "routeviews/route-views6/bgpdata/2015.09/RIBS/rib.20150922.1200.bz2"]
    assert sorted(p.name for p in result.files["delegated"]) == sorted(
        f"delegated-{r}-extended-latest" for r in _archives.RIRS)
    assert "as2org" not in result.files  # CAIDA only with its AUA accepted


def test_second_update_makes_only_conditional_requests(server, first, tmp_path):
    root, result = first
    again = run(server, root)
    assert not again.built and again.path == result.path
    gets = [r for r in server.requests if r.method == "GET"]
    assert gets and all(r.status == 304 for r in gets), [(r.path, r.status) for r in gets]
    assert all("If-None-Match" in r.headers or "If-Modified-Since" in r.headers for r in gets)
    # Dated dumps never change: they are not asked for again at all.
    assert not any(r.path.endswith(".bz2") for r in gets)
    assert again.requests == len(gets)


def test_offline_rebuilds_from_the_cache_alone(server, first, tmp_path):
    root, result = first
    offline = tmp_path / "offline"
    shutil.copytree(root / "downloads", offline / "downloads")
    again = run(server, offline, offline=True)
    assert again.built and again.path.name == result.path.name
    assert server.requests == []
    with pytest.raises(geoip_rs.UpdateError, match=r"not in the cache and --offline"):
        run(server, tmp_path / "empty", offline=True)


def test_date_takes_the_dumps_and_registry_files_of_that_moment(server, tmp_path):
    result = run(server, tmp_path, date="2014-05-31", collectors=["route-views2"],
                 accept_caida_aua=True)
    names = {p.name for ps in result.files.values() for p in ps}
    assert "rib.20140530.2200.bz2" in names
    assert {"delegated-ripencc-extended-20140531.bz2", "delegated-arin-extended-20140531",
            "delegated-apnic-extended-20140529.gz", "delegated-lacnic-extended-20140530",
            "delegated-afrinic-extended-20140531"} <= names
    assert "as2org" not in result.files  # CAIDA's first file here is from 2017
    assert sorted(result.warnings) == [
        "AS names are today's: RIPE keeps no archive of asn.txt",
        "caida: no as-org2info file in force on 2014-05-31: built without organisations"]
    earlier = run(server, tmp_path, date="2014-05-30T21:59", collectors=["route-views2"],
                  rirs=[], asnames=False)
    assert [p.name for p in earlier.files["mrt"]] == ["rib.20140501.0000.bz2"]
    april = run(server, tmp_path, date="2014-05-01T00:00", collectors=["route-views2"],
                rirs=[], asnames=False)
    assert [p.name for p in april.files["mrt"]] == ["rib.20140501.0000.bz2"]
    before = run(server, tmp_path, date="2014-04-30T23:00", collectors=["route-views2"],
                 rirs=[], asnames=False)
    assert [p.name for p in before.files["mrt"]] == ["rib.20140430.2200.bz2"]
    # The newest data wins open(), whatever order the builds ran in.
    assert cache.newest(tmp_path) == result.path


def test_caida_with_the_aua_accepted_gives_organisations(server, tmp_path):
    result = run(server, tmp_path, accept_caida_aua=True, **SMALL)
    assert [p.name for p in result.files["as2org"]] == ["20200701.as-org2info.txt.gz"]
    with geoip_rs.open(result.path) as db:
        assert db.metadata["counts"]["orgs"] > 0


def test_ris_collectors_and_keep(server, tmp_path):
    result = run(server, tmp_path, collectors=["rrc00"], rirs=[], asnames=False)
    assert [p.name for p in result.files["mrt"]] == ["bview.20000111.0032.gz"]
    run(server, tmp_path, **SMALL)
    assert len(cache.databases(tmp_path)) == 2
    kept = run(server, tmp_path, keep=1, **SMALL)
    assert [d.path for d in cache.databases(tmp_path)] == [kept.path]
    assert kept.pruned == [result.path]


def test_one_progress_bar_over_every_download(server, tmp_path, capsys):
    run(server, tmp_path, progress=True, collectors=["route-views6"], rirs=["afrinic"],
        asnames=False)
    err = capsys.readouterr().err
    assert err.count("downloading") >= 1
    # The bar's total is every file's bytes: the dump, the RIR file, its .md5 and
    # the listings, all the server sent.
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if "downloading" in ln]
    m = re.search(r"100%\|.*\| ([\d.]+)M/([\d.]+)M", lines[-1])
    assert m and m[1] == m[2], lines[-1]
    sent = sum(r.sent for r in server.requests)
    assert abs(float(m[2]) * 1e6 - sent) < 0.01 * sent and sent > 5_000_000


def test_bad_arguments_fail_before_any_request(server, tmp_path):
    for kw, message in (
        ({"collectors": ["rrc1"]}, "unknown collector 'rrc1'"),
        ({"rirs": ["iana"]}, "unknown RIR 'iana'"),
        ({"date": "2014-13-01"}, "is not YYYY-MM-DD"),
        ({"urls": {"ripe": "http://x"}}, "unknown source 'ripe'"),
    ):
        with pytest.raises(ValueError, match=message):
            geoip_rs.update(cache_dir=tmp_path, progress=False, **kw)
    assert server.requests == []


# --- failures: the previous database stays ------------------------------------------


@pytest.fixture
def old(first, tmp_path):
    """A cache with the first update's database and no downloads."""
    root, result = first
    archive_mirror.copy_databases(root, tmp_path)
    return tmp_path, tmp_path / "databases" / result.path.name


def fails(server, cache_dir, old_db, match, **kw):
    before = sorted(os.listdir(cache_dir / "databases"))
    with pytest.raises(geoip_rs.UpdateError, match=match) as info:
        run(server, cache_dir, **kw)
    assert sorted(os.listdir(cache_dir / "databases")) == before
    assert cache.newest(cache_dir) == old_db
    return str(info.value)


RIPE_LATEST = "/ripencc/pub/stats/ripencc/delegated-ripencc-extended-latest"
RV6_DUMP = "/routeviews/route-views6/bgpdata/2015.09/RIBS/rib.20150922.1200.bz2"


def test_404_names_the_file_and_url(server, old):
    server.fault("/arin/pub/stats/arin/delegated-arin-extended-latest", status=404)
    msg = fails(server, *old, r"delegated-arin-extended-latest: HTTP 404")
    assert f"{server.url}/arin/pub/stats/arin/delegated-arin-extended-latest" in msg
    assert len(msg.splitlines()) == 1  # one line per problem, the others went well


def test_checksum_mismatch(server, old):
    server.fault(RIPE_LATEST + ".md5", body=b"MD5 (x) = " + b"0" * 32 + b"\n")
    fails(server, *old, r"delegated-ripencc-extended-latest: checksum mismatch: MD5 [0-9a-f]{32}, "
          r"but its \.md5 file says 0{32}")
    # A rejected file is neither kept nor resumed from.
    folder = old[0] / "downloads/ripencc/pub/stats/ripencc"
    assert sorted(os.listdir(folder)) == ["delegated-ripencc-extended-latest.md5",
                                          "delegated-ripencc-extended-latest.md5.http.json"]


def test_truncated_body_is_resumed_then_reported(server, old):
    server.fault(RV6_DUMP, truncate=100_000, times=1)
    result = run(server, old[0], **SMALL)
    ranges = [r.headers.get("Range") for r in server.requests if r.path == RV6_DUMP]
    assert ranges == [None, "bytes=100000-"]
    assert result.built
    server.reset_log()
    server.fault(RIPE_LATEST, truncate=1000)
    fails(server, old[0], cache.newest(old[0]),
          r"delegated-ripencc-extended-latest: truncated body: 2,000 of [\d,]+ bytes after 2 "
          r"attempts",
          collectors=["route-views6"], rirs=["ripencc"], asnames=False)


def test_reset_mid_file(server, old):
    server.fault(RV6_DUMP, reset=50_000)
    # What the client had read when the reset came may be dropped with it.
    msg = fails(server, *old, r"rib\.20150922\.1200\.bz2: connection broken after [\d,]+ of "
                r"4,159,082 bytes \(connection reset\) after 2 attempts", **SMALL)
    assert f"({server.url}{RV6_DUMP})" in msg
    server.clear_faults()
    server.fault(RV6_DUMP, reset=50_000, times=1)
    assert run(server, old[0], **SMALL).built


def test_slow_server_times_out(server, old):
    server.fault(RIPE_LATEST, delay=3)
    fails(server, *old, r"delegated-ripencc-extended-latest: timed out", timeout=0.5,
          collectors=["route-views6"], rirs=["ripencc"], asnames=False)


def test_server_errors_are_retried_then_reported(server, old, tmp_path):
    server.fault(RV6_DUMP, status=500)
    fails(server, *old, r"rib\.20150922\.1200\.bz2: HTTP 500 Internal Server Error", **SMALL)
    assert [r.status for r in server.requests if r.path == RV6_DUMP] == [500, 500]
    server.clear_faults()
    server.fault(RV6_DUMP, status=503, times=1)
    assert run(server, old[0], **SMALL).built


def test_a_file_that_is_not_what_its_name_says(server, old):
    page = b"<html><body>Service temporarily unavailable</body></html>"
    server.fault(RV6_DUMP, body=page)
    fails(server, *old, r"rib\.20150922\.1200\.bz2 is not a bzip2 file \(MRT dump\): it starts "
          r"with '<html>", **SMALL)
    server.clear_faults()
    server.fault("/lacnic/pub/stats/lacnic/delegated-lacnic-extended-latest", body=page)
    server.fault("/lacnic/pub/stats/lacnic/delegated-lacnic-extended-latest.md5",
                 body=(hashlib.md5(page).hexdigest() + "  x\n").encode())
    fails(server, *old, r"delegated-lacnic-extended-latest is not a delegated file of lacnic",
          **SMALL)


def test_several_problems_one_line_each(server, old):
    server.fault("/afrinic/pub/stats/afrinic/delegated-afrinic-extended-latest", status=404)
    server.fault("/lacnic/pub/stats/lacnic/delegated-lacnic-extended-latest.md5", status=404)
    msg = fails(server, *old, r"HTTP 404", **SMALL)
    assert len(msg.splitlines()) == 2
    assert "delegated-afrinic-extended-latest: HTTP 404" in msg
    assert "delegated-lacnic-extended-latest.md5: HTTP 404" in msg


FULL_DISK = r"""
import os, sys, geoip_rs, archive_mirror
from geoip_rs import cache
cache_dir, server, old = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    geoip_rs.update(cache_dir=cache_dir, urls=archive_mirror.urls(server), progress=False,
                    collectors=["route-views6"], rirs=[], asnames=False, retries=0)
except geoip_rs.UpdateError as e:
    print(e)
assert str(cache.newest(cache_dir)) == old, cache.newest(cache_dir)
assert not [p for p in os.listdir(cache_dir + "/downloads/routeviews/route-views6/bgpdata/2015.09/RIBS") if p.endswith(".part")]
"""


def test_full_disk(server, old, tmp_path):
    """A real full file system (a 1 MB tmpfs in a mount namespace of the test's own);
    where namespaces are not allowed, a file size limit fails the same writes."""
    cache_dir, old_db = old
    size = old_db.stat().st_size + 300_000
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])}
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    shell = (f"mount -t tmpfs -o size={size} tmpfs {mnt} && cp -r {cache_dir}/databases {mnt}/ && "
             f"{sys.executable} {script} {mnt} {server.url} {mnt}/databases/{old_db.name}")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True)
    if probe.returncode == 0:
        out = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "rib.20150922.1200.bz2: disk full while writing" in out.stdout
        assert "No space left on device" in out.stdout
    else:  # pragma: no cover - depends on the machine
        limit = f"import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, ({size}, {size}))\n"
        script.write_text(limit + FULL_DISK)
        out = subprocess.run([sys.executable, script, cache_dir, server.url, old_db],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "rib.20150922.1200.bz2: disk full while writing" in out.stdout


# --- the command line ----------------------------------------------------------------


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "geoip_rs", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_cli_update_then_lookup_info_list(server, tmp_path):
    env = {cache.ENV: str(tmp_path)}
    urls = [f"--url={k}={v}" for k, v in archive_mirror.urls(server.url).items()]
    out = cli("update", "-q", "--collector", "route-views6", "--rir", "afrinic", *urls, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("built ") and "data of 2015-09-22 12:00 UTC" in out.stdout
    look = cli("lookup", "-o", "csv", "2001:4860::8888", env=env)
    assert look.returncode == 0 and ",15169," in look.stdout, look
    info = cli("info", env=env)
    assert str(cache.newest(tmp_path)) in info.stdout and "days old" in info.stdout
    listed = cli("list", env=env)
    assert listed.stdout.startswith("* 2015-09-22 12:00 UTC")
    again = cli("update", "-q", "--collector", "route-views6", "--rir", "afrinic", *urls, env=env)
    assert again.stdout.startswith("up to date: "), again


def test_cli_failure_says_which_database_stays(server, old):
    server.fault("/afrinic/pub/stats/afrinic/delegated-afrinic-extended-latest", status=404)
    urls = [f"--url={k}={v}" for k, v in archive_mirror.urls(server.url).items()]
    out = cli("update", "-q", "--cache-dir", str(old[0]), "--collector", "route-views6",
              "--rir", "afrinic", "--no-asnames", *urls)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0].startswith("geoip-rs: error: delegated-afrinic-extended-latest: HTTP 404")
    assert lines[-1] == f"geoip-rs: no new database; {old[1]} stays in use"
    assert "Traceback" not in out.stderr


def test_ctrl_c_stops_at_once_and_keeps_the_part_to_resume(server, old):
    """Interrupted mid-body on a server gone silent, the command ends now (not at its
    30 s read timeout) with status 130; the old database stays, the part is kept."""
    import signal
    import time

    server.fault(RV6_DUMP, stall=60, stall_at=200_000)
    urls = [f"--url={k}={v}" for k, v in archive_mirror.urls(server.url).items()]
    proc = subprocess.Popen([sys.executable, "-m", "geoip_rs", "update", "-q", "--cache-dir",
                             str(old[0]), "--collector", "route-views6", "--rir", "afrinic",
                             "--no-asnames", *urls], stderr=subprocess.PIPE, text=True)
    part = old[0] / "downloads" / (RV6_DUMP.lstrip("/") + ".part")
    deadline = time.monotonic() + 60
    while not any(r.path == RV6_DUMP and r.sent >= 200_000 for r in server.requests):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130 and "geoip-rs: error: interrupted" in err, err
    assert cache.newest(old[0]) == old[1]
    assert 0 < part.stat().st_size <= 200_000


def test_url_environment_variables(server, tmp_path, monkeypatch):
    for name, url in archive_mirror.urls(server.url).items():
        monkeypatch.setenv(f"GEOIP_RS_URL_{name.upper()}", url)
    result = geoip_rs.update(cache_dir=tmp_path, progress=False, **SMALL)
    assert result.built and all(r.path.startswith(("/routeviews/", "/afrinic/", "/lacnic/"))
                                for r in server.requests)


# --- histories: a database per date, added to one file ------------------------------

#: Two moments with data of their own in the mirror: route-views2's 2008 dump with
#: the RIR files of 2008-05-01, and its 2014 dump with those of 2014-05-29..31.
DATES = ("2008-05-02", "2014-05-31")
# Retries as a user would have them: these tests make several updates in a row on
# one server, and a kept-alive connection the server closed meanwhile can fail a
# request once ("Connection aborted"); the failure tests above use one try.
RV2 = {"collectors": ["route-views2"], "retries": 3}


def sample(db, n=3000, seed=11):
    """Addresses the history's snapshots answer differently: the first and last of
    each prefix of ``db`` (the small 2008 one), random IPv4 ones (most routed in
    2014), and misses."""
    ends = [str(a) for net, _ in db for a in (net.network_address, net.broadcast_address)]
    rng = np.random.default_rng(seed)
    v4 = [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(0, 256, size=(n, 4)).tolist()]
    return ends + v4 + ["2001:db8::1", "::1"]


def same_answers(history, db, at, addrs):
    """The history at ``at`` answers each address exactly as ``db`` does."""
    got = history.lookup_batch(addrs, details=True, at=at)
    want = db.lookup_batch(addrs, details=True)
    for name in ("found", "asn", "prefix_len", "country", "country_source"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=f"{name} at {at}")
    for name in ("prefix", "as_name", "org_name", "registry"):
        assert got[name] == want[name], f"{name} at {at}"
    for a in addrs[::97]:
        assert history.lookup(a, at=at) == db.lookup(a), (a, at)
    return got


def test_update_adds_each_dates_database_to_a_history(server, tmp_path):
    h = tmp_path / "h.geoipdb"
    results = [run(server, tmp_path, date=d, history=h, **RV2) for d in DATES]
    assert [(r.built, r.added, r.history) for r in results] == [(True, True, h)] * 2
    dbs = [geoip_rs.open(r.path) for r in results]
    with geoip_rs.open(h) as hist, dbs[0], dbs[1]:
        # Snapshots at the time of each database's data (the first record of its dump).
        assert [s["time"].isoformat() for s in hist.snapshots] == [
            "2008-05-01T06:44:58+00:00", "2014-05-30T22:00:00+00:00"]
        addrs = sample(dbs[0])
        answers = [same_answers(hist, db, d, addrs) for db, d in zip(dbs, DATES)]
        for db in dbs:  # at the data's own time, and between the two
            same_answers(hist, db, db.metadata["data_time"], addrs)
        same_answers(hist, dbs[0], "2011-01-01", addrs)
        # The check has substance: both answer, and not alike.
        assert min(a["found"].sum() for a in answers) > 3000
        assert (answers[0]["asn"] != answers[1]["asn"]).sum() > 1000
        assert not hist.lookup_batch(addrs, at="2008-05-01")["found"].any()
    # Run again, or for a date of the same data: no new snapshot, no failure.
    before = h.read_bytes()
    for d in ("2014-05-31", "2014-06-01"):
        again = run(server, tmp_path, date=d, history=h, **RV2)
        assert (again.built, again.added, again.path) == (False, False, results[1].path)
        assert updating.describe(again).endswith(
            f"not added: {h} already has a snapshot of its data time")
    assert h.read_bytes() == before
    assert updating.describe(results[0]).endswith(f"; added to {h}")
    # --keep deletes the cache's older database; its snapshot stays in the history.
    kept = run(server, tmp_path, date="2014-06-01", history=h, keep=1, **RV2)
    assert kept.pruned == [results[0].path] and not results[0].path.exists()
    with geoip_rs.open(h) as hist:
        got = hist.lookup_batch(addrs, details=True, at=DATES[0])
    np.testing.assert_array_equal(got["asn"], answers[0]["asn"])
    assert got["prefix"] == answers[0]["prefix"]


def test_a_history_that_is_not_a_database_fails_before_any_request(server, tmp_path):
    junk = tmp_path / "junk.geoipdb"
    junk.write_bytes(b"x" * 100)
    with pytest.raises(geoip_rs.DatabaseError, match="junk.geoipdb: not a geoip_rs database"):
        run(server, tmp_path, history=junk, **SMALL)
    with pytest.raises(ValueError, match="no folder"):
        run(server, tmp_path, history=tmp_path / "nowhere" / "h.geoipdb", **SMALL)
    assert server.requests == [] and junk.read_bytes() == b"x" * 100


def test_date_range_steps():
    days = lambda *ds: [datetime.fromisoformat(d).replace(tzinfo=timezone.utc) for d in ds]  # noqa: E731
    assert geoip_rs.date_range("2019-01-01", "2019-04-01") == days(
        "2019-01-01", "2019-02-01", "2019-03-01", "2019-04-01")
    assert geoip_rs.date_range("2023-01-31", "2023-05-30", every="month") == days(
        "2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30")
    assert geoip_rs.date_range("2024-02-26", "2024-03-11", every="week") == days(
        "2024-02-26", "2024-03-04", "2024-03-11")
    assert geoip_rs.date_range(date(2024, 2, 28), "2024-03-01T12:00", every="day") == days(
        "2024-02-28", "2024-02-29", "2024-03-01")
    assert geoip_rs.date_range("2024-01-01T06:00", "2024-01-02", "day") == days("2024-01-01T06:00")
    for args, message in ((("2024-02-01", "2024-01-01"), "ends .2024-01-01. before it starts"),
                          (("2024-01-01", "2024-02-01", "year"), "day, week, month"),
                          (("2024-01-01", "2024-02-30"), "is not YYYY-MM-DD")):
        with pytest.raises(ValueError, match=message):
            geoip_rs.date_range(*args)


def test_update_history_stops_at_the_first_date_that_fails(server, tmp_path):
    h = tmp_path / "h.geoipdb"
    dates = geoip_rs.date_range("2008-05-02", "2008-05-16", every="week")
    seen = []
    with pytest.raises(geoip_rs.UpdateError) as info:
        geoip_rs.update_history(h, dates, cache_dir=tmp_path, urls=archive_mirror.urls(server.url),
                                rirs=["arin"], asnames=False, progress=False,
                                on_result=lambda t, r: seen.append((t, r)), **RV2)
    e = info.value
    # 2008-05-09 is a week after the RIR file of 2008-05-01, beyond the days looked back.
    assert e.problems == [f"2008-05-09: arin: no delegated file for 2008-05-09 or the 7 days "
                          f"before ({server.url}/arin/pub/stats/arin/delegated-arin-extended-20080509)"]
    assert [(t, r.added) for t, r in seen] == [(dates[0], True)] and e.done == [seen[0][1]]
    assert not any("20080516" in r.path for r in server.requests)  # no date after it
    with geoip_rs.open(h) as hist, geoip_rs.open(e.done[0].path) as db:
        assert len(hist.snapshots) == 1
        same_answers(hist, db, "2008-05-16", sample(db, 500))
    with pytest.raises(TypeError, match="date"):
        geoip_rs.update_history(h, dates, date="2008-05-02")


def test_cli_update_a_range_of_dates_into_a_history(server, tmp_path):
    h = tmp_path / "h.geoipdb"
    urls = [f"--url={k}={v}" for k, v in archive_mirror.urls(server.url).items()]
    update = ["update", "-q", "--cache-dir", str(tmp_path), "--collector", "route-views2",
              "--rir", "ripencc", "--rir", "apnic", "--no-asnames", "--history", str(h), *urls]
    out = cli(*update, "--date", "2008-05-02..2008-05-03", "--every", "day")
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first.startswith("2008-05-02: built ") and first.endswith(f"; added to {h}")
    assert second.startswith("2008-05-03: up to date: ") and second.endswith(
        f"not added: {h} already has a snapshot of its data time")
    out = cli(*update, "--date", "2014-05-31..2014-06-01", "--every", "day")
    assert [ln.split(" ", 2)[:2] for ln in out.stdout.splitlines()] == [
        ["2014-05-31:", "built"], ["2014-06-01:", "up"]], out.stderr
    # The oracle: the one-date databases the updates left in the cache.
    dbs = [geoip_rs.open(d.path) for d in reversed(cache.databases(tmp_path))]
    with geoip_rs.open(h) as hist, dbs[0], dbs[1]:
        assert len(hist.snapshots) == len(dbs) == 2
        addrs = sample(dbs[0], 1000)
        for db, at in zip(dbs, ("2008-05-03", "2014-06-01")):
            same_answers(hist, db, at, addrs)
    info = cli("info", str(h)).stdout
    assert "history:   2 snapshots, 2008-05-01 06:44 UTC .. 2014-05-30 22:00 UTC" in info
    assert "mrt rib.20080501.0644.bz2" in info and "mrt rib.20140530.2200.bz2" in info
    # A date that fails stops the range (APNIC's file of 2014-05-29 is 9 days before
    # 2014-06-07); what was added before it stays.
    out = cli(*update, "--date", "2014-05-31..2014-06-14", "--every", "week")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        "geoip-rs: error: 2014-06-07: apnic: no delegated file for 2014-06-07 or the 7 days "
        f"before ({server.url}/apnic/stats/apnic/2014/delegated-apnic-extended-20140607.gz)",
        f"geoip-rs: stopped at that date; {h} keeps what the dates before it added"]
    with geoip_rs.open(h) as hist:
        assert len(hist.snapshots) == 2


def test_cli_a_database_that_cannot_join_the_history(server, tmp_path):
    """A history file without a date (an undated database given as one): the update
    builds its database, then says that the history was left as it was."""
    (tmp_path / "t.ipasn").write_text("8.0.0.0/8\t3356\n")
    h = tmp_path / "undated.geoipdb"
    geoip_rs.build_database(h, ipasn=tmp_path / "t.ipasn").close()
    before = h.read_bytes()
    urls = [f"--url={k}={v}" for k, v in archive_mirror.urls(server.url).items()]
    out = cli("update", "-q", "--cache-dir", str(tmp_path), "--collector", "rrc00", "--rir",
              "afrinic", "--no-asnames", "--history", str(h), *urls)
    built = cache.newest(tmp_path)
    assert out.returncode == 1 and built is not None
    error, then = out.stderr.splitlines()
    assert error.startswith(f"geoip-rs: error: adding {built.name} to {h} failed: {h}: no date")
    assert then == f"geoip-rs: {built} is built, but {h} was left as it was"
    assert h.read_bytes() == before
