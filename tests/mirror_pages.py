"""The pages the archives' web servers make (Apache 2.4 mod_autoindex and nginx
autoindex directory listings, and their error pages) and the HTTP rules they follow
(validators, conditional and range requests), for ``mirror.Mirror``.

Kept apart from the server so that each file holds one thing; the listings are what
a link parser must cope with (see ``mirror``'s docstring).
"""

from __future__ import annotations

import email.utils
import html
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

if TYPE_CHECKING:  # the server's types, used only in annotations here
    from mirror import Headers, _Resource

SERVER = {"apache": "Apache/2.4.41 (Ubuntu)", "nginx": "nginx/1.18.0"}


# ---- directory listings -----------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str
    is_dir: bool
    size: int
    mtime: int


def _scan(directory: Path) -> list[_Entry]:
    """The entries both servers list: dot files are hidden (nginx always, Apache by
    Debian's ``IndexIgnore .??*``), symbolic links followed, broken ones skipped."""
    entries = []
    for item in os.scandir(directory):
        if item.name.startswith("."):
            continue
        try:
            st = item.stat()
        except OSError:
            continue
        is_dir = item.is_dir()
        entries.append(_Entry(item.name, is_dir, 0 if is_dir else st.st_size, int(st.st_mtime)))
    return entries


def apache_size(size: int) -> str:
    """Apache's ``apr_strfsize``: four characters such as ``3.8M``, `` 14M``, ``512 ``."""
    if size < 973:
        return f"{size:3d} "
    for unit in "KMGTPE":
        remain, size = size & 1023, size >> 10
        if size >= 973:
            continue
        if size < 9 or (size == 9 and remain < 973):
            tenths = (remain * 5 + 256) // 512
            if tenths >= 10:
                size, tenths = size + 1, 0
            return f"{size}.{tenths}{unit}"
        if remain >= 512:
            size += 1
        return f"{size:3d}{unit}"
    raise ValueError(size)


def _apache_icon(entry: _Entry) -> tuple[str, str]:
    if entry.is_dir:
        return "/icons/folder.gif", "[DIR]"
    suffix = os.path.splitext(entry.name)[1].lower()
    if suffix in (".gz", ".bz2", ".tgz", ".zip", ".z", ".xz"):
        return "/icons/compressed.gif", "[   ]"
    if suffix in (".txt", ".md5"):
        return "/icons/text.gif", "[TXT]"
    return "/icons/unknown.gif", "[   ]"


def _apache_row(icon: str, alt: str, href: str, text: str, width: int, date: str, size: str) -> str:
    return (
        f'<tr><td valign="top"><img src="{icon}" alt="{alt}"></td>'
        f'<td><a href="{href}">{html.escape(text)}</a>{" " * (width - len(text))}</td>'
        f"{date}<td align=\"right\">{size}</td><td>&nbsp;</td></tr>\n"
    )


def apache_index(urlpath: str, entries: list[_Entry], port: int) -> str:
    """mod_autoindex's page for ``urlpath`` (ending in ``/``), sorted by name."""
    title = html.escape(urlpath.rstrip("/") or "/")
    names = [e.name + "/" if e.is_dir else e.name for e in entries]
    width = max([23, *map(len, names)])  # NameWidth=*: the longest name, at least 23
    out = [
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html>\n <head>\n'
        f"  <title>Index of {title}</title>\n </head>\n <body>\n<h1>Index of {title}</h1>\n"
        '  <table>\n   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
        '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
        '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>\n'
        '   <tr><th colspan="5"><hr></th></tr>\n'
    ]
    if urlpath != "/":  # the parent link is absolute, and missing at the top
        parent = quote(urlpath.rstrip("/").rsplit("/", 1)[0] + "/")
        back = ("/icons/back.gif", "[PARENTDIR]", parent, "Parent Directory")
        out.append(_apache_row(*back, width, "<td>&nbsp;</td>", "  - "))
    for entry, name in sorted(zip(entries, names), key=lambda pair: pair[1]):
        icon, alt = _apache_icon(entry)
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.mtime))
        size = "  - " if entry.is_dir else apache_size(entry.size)
        date = f'<td align="right">{stamp}  </td>'
        out.append(_apache_row(icon, alt, quote(name), name, width, date, size))
    out.append(
        '   <tr><th colspan="5"><hr></th></tr>\n</table>\n'
        f"<address>{SERVER['apache']} Server at 127.0.0.1 Port {port}</address>\n</body></html>\n"
    )
    return "".join(out)


NGINX_NAME_LEN = 50
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _nginx_row(entry: _Entry) -> str:
    text = entry.name
    if len(text) > NGINX_NAME_LEN:
        # Cut to 47 characters and "..>" in the text; the href stays whole.
        label, pad = html.escape(text[: NGINX_NAME_LEN - 3]) + "..&gt;", 0
    else:
        if entry.is_dir and len(text) < NGINX_NAME_LEN:
            text += "/"
        label, pad = html.escape(text), NGINX_NAME_LEN - len(text)
    href = quote(entry.name, safe="") + ("/" if entry.is_dir else "")
    t = time.gmtime(entry.mtime)
    stamp = f"{t.tm_mday:02d}-{MONTHS[t.tm_mon - 1]}-{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}"
    size = "-" if entry.is_dir else str(entry.size)
    return f'<a href="{href}">{label}</a>{" " * pad} {stamp} {size:>19}\r\n'


def nginx_index(urlpath: str, entries: list[_Entry]) -> str:
    """ngx_http_autoindex_module's page: directories first, then files, by name;
    the ``../`` link even at the top."""
    title = html.escape(urlpath)
    ordered = sorted(entries, key=lambda e: (not e.is_dir, e.name))
    return (
        f"<html>\r\n<head><title>Index of {title}</title></head>\r\n<body>\r\n"
        f'<h1>Index of {title}</h1><hr><pre><a href="../">../</a>\r\n'
        + "".join(map(_nginx_row, ordered))
        + "</pre><hr></body>\r\n</html>\r\n"
    )


def error_page(style: str, status: int, port: int, location: str | None = None) -> bytes:
    """The short HTML body each server sends with an error or a redirect."""
    st = HTTPStatus(status)
    if style == "nginx":
        line = f"{status} {st.phrase}"
        return (
            f"<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1>"
            f"</center>\r\n<hr><center>{SERVER['nginx']}</center>\r\n</body>\r\n</html>\r\n"
        ).encode()
    if location:
        text = f'The document has moved <a href="{html.escape(location)}">here</a>.'
    else:
        text = html.escape(st.description) + "."
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
        f"<title>{status} {st.phrase}</title>\n</head><body>\n<h1>{st.phrase}</h1>\n<p>{text}</p>\n"
        f"<hr>\n<address>{SERVER['apache']} Server at 127.0.0.1 Port {port}</address>\n"
        "</body></html>\n"
    ).encode()


# ---- validators and ranges ----------------------------------------------------------


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def _parse_date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None  # an unparsable date is ignored, as RFC 7232 says


def _etag_listed(header: str, etag: str) -> bool:
    """Weak comparison (If-None-Match): ``W/`` prefixes do not matter."""
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag.removeprefix("W/") in tags


def not_modified(headers: Headers, res: _Resource) -> bool:
    """RFC 7232 section 6: If-None-Match, when present, decides alone."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        return _etag_listed(inm, res.etag)
    since = _parse_date(headers.get("If-Modified-Since"))
    return since is not None and res.mtime <= since


def if_range_holds(value: str | None, res: _Resource) -> bool:
    """If-Range: an entity tag must match strongly, a date exactly."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return not value.startswith("W/") and value == res.etag
    return _parse_date(value) == res.mtime


UNSATISFIABLE = (-1, -1)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(start, length)`` of a single ``bytes=`` range, UNSATISFIABLE, or None when
    the header is to be ignored (malformed, several ranges: a full 200 is allowed)."""
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # bytes=-N: the last N bytes
        n = min(int(last), size)
        return (size - n, n) if n > 0 else UNSATISFIABLE
    start = int(first)
    end = min(int(last), size - 1) if last.isdigit() else size - 1
    if start >= size or end < start:
        return UNSATISFIABLE
    return start, end - start + 1


def _pieces(chunks: Iterable[bytes], cuts: Iterable[int]) -> Iterator[bytes]:
    """The stream of ``chunks`` split so that a piece ends at each offset in ``cuts``."""
    cuts = sorted(set(cuts))
    pos = 0
    for chunk in chunks:
        while chunk:
            cut = next((c for c in cuts if c > pos), pos + len(chunk))
            piece, chunk = chunk[: cut - pos], chunk[cut - pos :]
            pos += len(piece)
            yield piece
