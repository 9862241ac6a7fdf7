"""The archives' layouts and the choices ``update`` makes from their listings, without
a server: names, dates, checksum files, links in listing pages of several servers."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from geoip_rs import _archives as arch

from mirror_pages import _Entry, apache_index, nginx_index


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_moments():
    assert arch.parse_moment("2024-09-01") == utc(2024, 9, 1)
    assert arch.parse_moment("2024-09-01T08:30") == utc(2024, 9, 1, 8, 30)
    for bad in ("2024-9", "yesterday", "2024-09-01T25:00", ""):
        with pytest.raises(ValueError, match="is not YYYY-MM-DD or YYYY-MM-DDTHH:MM"):
            arch.parse_moment(bad)


def test_collectors_and_their_folders():
    rv2, rv6, rrc = (arch.Collector.named(n) for n in ("route-views2", "route-views6", "rrc21"))
    assert rv2.dumps_dir("2024.09") == "/bgpdata/2024.09/RIBS/"
    assert rv6.dumps_dir("2024.09") == "/route-views6/bgpdata/2024.09/RIBS/"
    assert arch.Collector.named("route-views.amsix").months_dir() == "/route-views.amsix/bgpdata/"
    assert (rrc.source, rrc.months_dir(), rrc.dumps_dir("2024.09")) == ("ris", "/rrc21/", "/rrc21/2024.09/")
    for bad in ("rrc1", "rrc100", "routeviews", "../etc"):
        with pytest.raises(ValueError, match="unknown collector"):
            arch.Collector.named(bad)


def test_newest_dump_at_or_before_a_moment():
    names = ["rib.20240901.0000.bz2", "rib.20240901.0200.bz2", "updates.20240901.0215.bz2",
             "bview.20240901.0800.gz", "rib.20240901.0400.bz2.md5", "notes.txt"]
    assert arch.newest_dump(names, utc(2024, 9, 1, 3)) == "rib.20240901.0200.bz2"
    assert arch.newest_dump(names, utc(2024, 9, 1, 2)) == "rib.20240901.0200.bz2"
    assert arch.newest_dump(names, utc(2024, 9, 2)) == "bview.20240901.0800.gz"
    assert arch.newest_dump(names, utc(2024, 8, 31)) is None
    months = ["2024.07/", "2024.08/", "2024.09/", "2024.10/", "README", "latest-bview.gz"]
    assert arch.months(months, utc(2024, 9, 15)) == ["2024.09", "2024.08", "2024.07"]


def test_rir_paths_of_today_and_of_a_past_day():
    day = utc(2014, 8, 3)
    assert arch.rir_latest("apnic") == "/stats/apnic/delegated-apnic-extended-latest"
    assert arch.rir_dated("ripencc", day) == "/pub/stats/ripencc/2014/delegated-ripencc-extended-20140803.bz2"
    assert arch.rir_dated("arin", day) == "/pub/stats/arin/delegated-arin-extended-20140803"
    assert arch.rir_dated("apnic", day) == "/stats/apnic/2014/delegated-apnic-extended-20140803.gz"
    days = arch.rir_days(day)
    assert days[0] == day and days[-1] == utc(2014, 7, 27) and len(days) == arch.RIR_DAYS_BACK + 1


def test_caida_file_in_force():
    names = ["20240401.as-org2info.txt.gz", "20240401.as-org2info.jsonl.gz",
             "20240701.as-org2info.txt.gz", "20241001.as-org2info.jsonl.gz", "README.txt",
             "20241001.as-org2info.jsonl.gz.md5"]
    assert arch.caida_file(names, None) == "20241001.as-org2info.jsonl.gz"
    assert arch.caida_file(names, utc(2024, 9, 1)) == "20240701.as-org2info.txt.gz"
    assert arch.caida_file(names, utc(2024, 5, 1)) == "20240401.as-org2info.jsonl.gz"
    assert arch.caida_file(names, utc(2024, 3, 1)) is None


def test_md5_files_in_both_forms():
    digest = "0123456789abcdef0123456789ABCDEF"
    assert arch.md5_of(f"MD5 (delegated-arin-extended-20241201) = {digest}\n") == digest.lower()
    assert arch.md5_of(f"{digest}  delegated-apnic-extended-latest\n") == digest.lower()
    with pytest.raises(ValueError, match="no MD5 checksum"):
        arch.md5_of("<html>404</html>")


ENTRIES = [_Entry("2024.09", True, 0, 1725148800), _Entry("rib.20240901.0000.bz2", False, 10, 1725148800),
           _Entry("a name with spaces & more.txt", False, 1, 1725148800)]
WANT = ["2024.09/", "rib.20240901.0000.bz2", "a name with spaces & more.txt"]


@pytest.mark.parametrize("page", [
    apache_index("/bgpdata/", ENTRIES, 80),
    nginx_index("/bgpdata/", ENTRIES),
    # lighttpd's mod_dirlisting and a page of absolute links, as some mirrors make.
    '<table><tr><td class="n"><a href="../">Parent Directory</a>/</td></tr>'
    '<tr><td class="n"><a href="2024.09/">2024.09</a>/</td></tr>'
    '<tr><td class="n"><a href="rib.20240901.0000.bz2">rib.20240901.0000.bz2</a></td></tr>'
    '<tr><td class="n"><a href="a%20name%20with%20spaces%20%26%20more.txt">x</a></td></tr></table>',
    '<a href="/">up</a><a href="/bgpdata/2024.09/">2024.09</a><a href="/bgpdata/rib.20240901.0000.bz2">r</a>'
    '<a href="/bgpdata/a%20name%20with%20spaces%20%26%20more.txt">a</a><a href="https://example.org/x">x</a>'
    '<a href="/other/file">o</a><a href="#top">top</a>',
])
def test_listing_pages_of_several_servers(page):
    assert sorted(arch.listing(page, "/bgpdata/")) == sorted(WANT)
