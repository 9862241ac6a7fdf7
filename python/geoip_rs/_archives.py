"""Where the public data lives: the archives' names, base URLs and layouts, and how
to pick a file from a directory listing for a moment in time.

Nothing here touches the network; ``_fetch`` does, and ``update`` ties the two
together. Each layout was checked against the archive's own documentation and
listings (RouteViews' and RIPE RIS's MRT archives, the RIRs' statistics directories,
CAIDA's AS-organisation dataset, RIPE's AS name list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

#: The sources ``update`` can fetch, by name, with their default base URLs.
BASES: dict[str, str] = {
    "routeviews": "http://archive.routeviews.org",  # RouteViews RIB dumps
    "ris": "https://data.ris.ripe.net",  # RIPE RIS RIB dumps (bview)
    "ripencc": "https://ftp.ripe.net",  # the RIRs' delegated files
    "arin": "https://ftp.arin.net",
    "apnic": "https://ftp.apnic.net",
    "lacnic": "https://ftp.lacnic.net",
    "afrinic": "https://ftp.afrinic.net",
    "caida": "https://publicdata.caida.org",  # AS-to-organisation files
    "asnames": "https://ftp.ripe.net",  # RIPE's asn.txt
}

#: The five RIRs, whose ``delegated-<rir>-extended-*`` files give countries.
RIRS = ("ripencc", "arin", "apnic", "lacnic", "afrinic")

#: The collectors ``update`` reads by default: IPv4 and IPv6 full tables.
DEFAULT_COLLECTORS = ("route-views2", "route-views6")

# Each RIR's statistics directory, and where it keeps the file of a past day (some
# archive by year, compressed; ARIN and LACNIC keep every day beside -latest).
_RIR_DIRS = {
    "ripencc": "/pub/stats/ripencc",
    "arin": "/pub/stats/arin",
    "apnic": "/stats/apnic",
    "lacnic": "/pub/stats/lacnic",
    "afrinic": "/pub/stats/afrinic",
}
_RIR_DATED = {
    "ripencc": "{dir}/{yyyy}/delegated-ripencc-extended-{ymd}.bz2",
    "arin": "{dir}/delegated-arin-extended-{ymd}",
    "apnic": "{dir}/{yyyy}/delegated-apnic-extended-{ymd}.gz",
    "lacnic": "{dir}/delegated-lacnic-extended-{ymd}",
    "afrinic": "{dir}/{yyyy}/delegated-afrinic-extended-{ymd}",
}
#: How many days back a dated RIR file is looked for (registries skip a day now
#: and then).
RIR_DAYS_BACK = 7

CAIDA_DIR = "/datasets/as-organizations/"
ASNAMES_PATH = "/ripe/asnames/asn.txt"

_CAIDA_NAME = re.compile(r"^(\d{8})\.as-org2info\.(jsonl|txt)\.gz$")
_RIB_NAME = re.compile(r"^(?:rib|bview)\.(\d{8})\.(\d{4})\.(?:bz2|gz)$")
_MONTH = re.compile(r"^(\d{4})\.(\d{2})/?$")
_HEX32 = re.compile(r"\b([0-9a-fA-F]{32})\b")


def parse_moment(text: str) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (UTC) as an aware datetime; a date
    alone is its midnight, when the archives' first dump of the day is taken."""
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raise ValueError(f"date {text!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM")


@dataclass(frozen=True)
class Collector:
    """A route collector: RouteViews (``route-views2``, ``route-views6``, ...) or RIPE
    RIS (``rrc00`` ... ``rrc26``)."""

    name: str
    source: str  # "routeviews" or "ris"

    @staticmethod
    def named(name: str) -> Collector:
        if re.fullmatch(r"rrc\d\d", name):
            return Collector(name, "ris")
        if re.fullmatch(r"route-views[\w.-]*", name):
            return Collector(name, "routeviews")
        raise ValueError(f"unknown collector {name!r}: RouteViews names such as "
                         "'route-views2' or 'route-views6', or RIPE RIS 'rrc00'..'rrc26'")

    def months_dir(self) -> str:
        """The directory whose listing has one ``YYYY.MM/`` folder per month."""
        if self.source == "ris":
            return f"/{self.name}/"
        # route-views2 is the archive's root collector; the others have a folder.
        root = "" if self.name == "route-views2" else f"/{self.name}"
        return f"{root}/bgpdata/"

    def dumps_dir(self, month: str) -> str:
        """The directory of one month's RIB dumps (``month`` is ``YYYY.MM``)."""
        if self.source == "ris":
            return f"{self.months_dir()}{month}/"
        return f"{self.months_dir()}{month}/RIBS/"


def dump_time(name: str) -> datetime | None:
    """The time in a dump's name (``rib.20240901.0000.bz2``, ``bview.20240901.0800.gz``)."""
    m = _RIB_NAME.match(name)
    if not m:
        return None
    return datetime.strptime(m[1] + m[2], "%Y%m%d%H%M").replace(tzinfo=timezone.utc)


def months(names: list[str], at: datetime) -> list[str]:
    """The ``YYYY.MM`` folders of a listing not after ``at``, newest first."""
    limit = f"{at.year:04d}.{at.month:02d}"
    found = {m[0].rstrip("/") for n in names if (m := _MONTH.match(n))}
    return sorted((m for m in found if m <= limit), reverse=True)


def newest_dump(names: list[str], at: datetime) -> str | None:
    """The newest RIB dump in a listing taken at or before ``at``."""
    dated = [(t, n) for n in names if (t := dump_time(n)) is not None and t <= at]
    return max(dated)[1] if dated else None


def rir_latest(rir: str) -> str:
    return f"{_RIR_DIRS[rir]}/delegated-{rir}-extended-latest"


def rir_dated(rir: str, day: datetime) -> str:
    return _RIR_DATED[rir].format(dir=_RIR_DIRS[rir], yyyy=f"{day.year:04d}",
                                  ymd=day.strftime("%Y%m%d"))


def rir_days(at: datetime) -> list[datetime]:
    """The days whose RIR file may stand for ``at``: its own day, then earlier ones."""
    return [at - timedelta(days=i) for i in range(RIR_DAYS_BACK + 1)]


def caida_file(names: list[str], at: datetime | None) -> str | None:
    """The newest as2org file in force at ``at`` (any date if None), JSON lines
    preferred over the older text form of the same date."""
    limit = at.strftime("%Y%m%d") if at is not None else "99999999"
    found = [(m[1], m[2] == "jsonl", n) for n in names
             if (m := _CAIDA_NAME.match(n)) and m[1] <= limit]
    return max(found)[2] if found else None


def md5_of(text: str) -> str:
    """The checksum in an ``.md5`` file, in either form the RIRs publish: BSD's
    ``MD5 (name) = hex`` or ``hex  name``. (The name inside may be the dated file
    that ``-latest`` stands for, so it is not compared.)"""
    m = _HEX32.search(text)
    if not m:
        raise ValueError(f"no MD5 checksum in {text[:60]!r}")
    return m[1].lower()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def listing(html: str, directory: str = "/") -> list[str]:
    """The entries of a directory index page, whatever server made it (Apache,
    nginx, lighttpd...): the names its links point to, folders with a trailing
    ``/``. Sort links (``?C=N;O=D``), the parent folder and links anywhere but
    straight into ``directory`` (the page's own path) are left out."""
    parser = _Links()
    parser.feed(html)
    names = []
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.query or parts.fragment or parts.scheme or parts.netloc:
            continue
        path = unquote(parts.path)
        if path.startswith("/"):  # absolute: only children of this directory
            if not path.startswith(directory) or path == directory:
                continue
            path = path[len(directory):]
        name = path.rstrip("/")
        if not name or "/" in name or name in (".", ".."):
            continue
        names.append(name + "/" if path.endswith("/") else name)
    return list(dict.fromkeys(names))
