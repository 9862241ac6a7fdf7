"""The loopback mirror of tests/mirror.py, checked with the standard library's own
HTTP client: what the update tests rely on (listings a link parser reads right,
validators, ranges, each fault as a client sees it, the request log, a prompt stop)
must hold before a failing update test can be blamed on the downloader."""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest
from mirror import Mirror, apache_size, http_date, write_tree

MTIME = 1401487200  # 2014-05-30 22:00 UTC
RIB = "routeviews/bgpdata/2014.05/RIBS/rib.20140530.2200.bz2"
LONG = "route-views.amsix.updates.20140530.2200.with-a-very-long-name.bz2"  # 66 chars
DELEGATED = "ripencc/pub/stats/ripencc/delegated-ripencc-extended-latest"
PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    write_tree(
        root,
        {
            RIB: PAYLOAD,
            "routeviews/bgpdata/2014.05/RIBS/rib.20140530.2000.bz2": b"x" * 500,
            "routeviews/bgpdata/2014.05/UPDATES/updates.20140530.2200.bz2": b"u",
            "routeviews/bgpdata/2014.05/RIBS/.hidden": b"",
            f"ris/rrc00/2014.05/{LONG}": b"v" * 1234,
            "ris/rrc00/2014.05/bview.20140530.0000.gz": b"b" * 99,
            "ris/rrc00/2014.05/sub dir/x": b"",
            DELEGATED: b"2|ripencc|20140803|...\n",
        },
        mtime=MTIME,
    )
    # Sizes only the Apache size column needs to see; a sparse file is instant.
    with open(root / "routeviews/bgpdata/2014.05/RIBS/rib.20140530.0000.bz2", "wb") as f:
        f.truncate(3_941_646)
    write_tree(root, {}, mtime=MTIME)
    return root


@pytest.fixture
def mirror(tree):
    with Mirror(tree, styles={"routeviews": "apache", "ris": "nginx"}) as m:
        yield m


def get(mirror, path, headers=None, method="GET", timeout=5.0):
    """``(response, body)`` over a fresh connection; faults may raise instead."""
    conn = http.client.HTTPConnection("127.0.0.1", mirror.port, timeout=timeout)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


class Links(HTMLParser):
    """The hrefs of a listing as a naive crawler takes them: not sort links (``?``),
    not the parent (``../`` or absolute)."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith(("?", "/", "../")):
            self.hrefs.append(href)


def links(page: bytes) -> list[str]:
    parser = Links()
    parser.feed(page.decode())
    return parser.hrefs


# ---- listings -------------------------------------------------------------------------


def test_apache_listing(mirror):
    resp, page = get(mirror, "/routeviews/bgpdata/2014.05/RIBS/")
    assert resp.status == 200 and resp.headers["Server"].startswith("Apache/")
    assert links(page) == ["rib.20140530.0000.bz2", "rib.20140530.2000.bz2", "rib.20140530.2200.bz2"]
    text = page.decode()
    assert "<title>Index of /routeviews/bgpdata/2014.05/RIBS</title>" in text
    assert '<a href="?C=N;O=D">Name</a>' in text and '<a href="?C=M;O=A">' in text
    assert '<a href="/routeviews/bgpdata/2014.05/">Parent Directory</a>' in text
    row = re.search(r'<tr><td valign="top"><img [^>]*></td><td><a href="rib.20140530.0000.bz2">.*</tr>', text)
    assert '<td align="right">2014-05-30 22:00  </td><td align="right">3.8M</td>' in row.group(0)
    assert int(resp.headers["Content-Length"]) == len(page)

    _, top = get(mirror, "/routeviews/bgpdata/2014.05/")
    assert links(top) == ["RIBS/", "UPDATES/"]
    assert "Parent Directory" not in get(mirror, "/")[1].decode()


def test_apache_sizes():
    assert [apache_size(n) for n in (0, 972, 973, 1024 * 9 + 972, 14 * 2**20, 2**30)] == [
        "  0 ", "972 ", "1.0K", "9.9K", " 14M", "1.0G",
    ]


def test_nginx_listing(mirror):
    resp, page = get(mirror, "/ris/rrc00/2014.05/")
    assert resp.status == 200 and resp.headers["Server"].startswith("nginx/")
    text = page.decode()
    assert text.startswith("<html>\r\n<head><title>Index of /ris/rrc00/2014.05/</title>")
    assert '<hr><pre><a href="../">../</a>\r\n' in text
    # Directories first; the long name's href is whole, its text cut with "..>".
    assert links(page) == ["sub%20dir/", "bview.20140530.0000.gz", LONG]
    assert f'<a href="{LONG}">{LONG[:47]}..&gt;</a> 30-May-2014 22:00                1234\r\n' in text
    short = '<a href="bview.20140530.0000.gz">bview.20140530.0000.gz</a>'
    assert f"{short}{' ' * 28} 30-May-2014 22:00 {'99':>19}\r\n" in text
    assert '<a href="sub%20dir/">sub dir/</a>' in text


def test_directory_redirect(mirror):
    resp, _ = get(mirror, "/ris/rrc00")
    assert resp.status == 301 and resp.headers["Location"] == f"{mirror.url}/ris/rrc00/"
    with urllib.request.urlopen(f"{mirror.url}/ris/rrc00", timeout=5) as r:
        assert r.url.endswith("/ris/rrc00/") and links(r.read()) == ["2014.05/"]


def test_missing_and_outside(mirror):
    assert get(mirror, "/routeviews/nothing")[0].status == 404
    assert get(mirror, f"/{RIB}/")[0].status == 404
    assert get(mirror, "/../etc/passwd")[0].status == 404


# ---- validators, HEAD, ranges ----------------------------------------------------------


def test_conditional_get(mirror):
    resp, body = get(mirror, f"/{RIB}")
    etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
    assert body == PAYLOAD and etag == f'"{MTIME:x}-{len(PAYLOAD):x}"'
    assert modified == http_date(MTIME)
    resp, body = get(mirror, f"/{RIB}", {"If-None-Match": etag})
    assert (resp.status, body, resp.headers["ETag"]) == (304, b"", etag)
    assert get(mirror, f"/{RIB}", {"If-Modified-Since": modified})[0].status == 304
    assert get(mirror, f"/{RIB}", {"If-Modified-Since": http_date(MTIME - 60)})[0].status == 200
    # If-None-Match decides alone.
    assert get(mirror, f"/{RIB}", {"If-None-Match": '"x"', "If-Modified-Since": modified})[0].status == 200


def test_conditional_listing(mirror):
    resp, _ = get(mirror, "/ris/rrc00/2014.05/")
    assert resp.headers["Last-Modified"] == http_date(MTIME)
    assert get(mirror, "/ris/rrc00/2014.05/", {"If-None-Match": resp.headers["ETag"]})[0].status == 304
    assert get(mirror, "/ris/rrc00/2014.05/", {"If-Modified-Since": http_date(MTIME)})[0].status == 304


def test_head(mirror):
    resp, body = get(mirror, f"/{RIB}", method="HEAD")
    assert (resp.status, body, resp.headers["Content-Length"]) == (200, b"", str(len(PAYLOAD)))
    assert resp.headers["Content-Type"] == "application/x-bzip2"
    assert resp.headers.get("Content-Encoding") is None


def test_ranges(mirror):
    resp, body = get(mirror, f"/{RIB}", {"Range": "bytes=10000-"})
    assert resp.status == 206 and body == PAYLOAD[10000:]
    assert resp.headers["Content-Range"] == f"bytes 10000-10239/{len(PAYLOAD)}"
    resp, body = get(mirror, f"/{RIB}", {"Range": "bytes=5-9"})
    assert (resp.status, body) == (206, PAYLOAD[5:10])
    etag = resp.headers["ETag"]
    resp, body = get(mirror, f"/{RIB}", {"Range": "bytes=100-", "If-Range": etag})
    assert (resp.status, body) == (206, PAYLOAD[100:])
    resp, body = get(mirror, f"/{RIB}", {"Range": "bytes=100-", "If-Range": http_date(MTIME)})
    assert (resp.status, body) == (206, PAYLOAD[100:])
    resp, body = get(mirror, f"/{RIB}", {"Range": "bytes=100-", "If-Range": '"changed"'})
    assert (resp.status, body) == (200, PAYLOAD)
    resp, _ = get(mirror, f"/{RIB}", {"Range": f"bytes={len(PAYLOAD)}-"})
    assert resp.status == 416 and resp.headers["Content-Range"] == f"bytes */{len(PAYLOAD)}"


def test_keep_alive(mirror):
    conn = http.client.HTTPConnection("127.0.0.1", mirror.port, timeout=5)
    for _ in range(3):
        conn.request("GET", f"/{DELEGATED}")
        resp = conn.getresponse()
        assert resp.status == 200 and not resp.will_close
        resp.read()
        sock = conn.sock
    conn.request("GET", "/ripencc/")
    conn.getresponse().read()
    assert conn.sock is sock  # one connection served all four
    conn.close()


# ---- faults and the log ----------------------------------------------------------------


def test_status_fault_then_recovery(mirror):
    fault = mirror.fault(f"/{DELEGATED}", status=503, times=1, headers={"Retry-After": "1"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{mirror.url}/{DELEGATED}", timeout=5)
    assert err.value.code == 503 and err.value.headers["Retry-After"] == "1"
    assert b"503" in err.value.read()
    assert get(mirror, f"/{DELEGATED}")[0].status == 200 and fault.hits == 1
    mirror.fault(f"/{DELEGATED}", status=404)
    assert get(mirror, f"/{DELEGATED}")[0].status == 404
    mirror.clear_faults()
    assert get(mirror, f"/{DELEGATED}")[0].status == 200


def test_truncate(mirror):
    mirror.fault(f"/{RIB}", truncate=1000)
    with pytest.raises(http.client.IncompleteRead) as err:
        get(mirror, f"/{RIB}")
    assert len(err.value.partial) == 1000 and err.value.expected == len(PAYLOAD) - 1000


def test_reset(mirror):
    mirror.fault(f"/{RIB}", reset=1000)
    with pytest.raises(ConnectionResetError):
        get(mirror, f"/{RIB}")
    assert mirror.requests[-1].sent == 1000


def test_delay_exceeds_timeout(mirror):
    mirror.fault(f"/{RIB}", delay=2.0, times=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get(mirror, f"/{RIB}", timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert get(mirror, f"/{RIB}")[1] == PAYLOAD  # served while the first still waits


def test_body_fault(mirror):
    page = b"<html><body>Service temporarily unavailable</body></html>"
    mirror.fault(f"/{RIB}", body=page)
    resp, body = get(mirror, f"/{RIB}")
    assert (resp.status, body, resp.headers["Content-Type"]) == (200, page, "application/x-bzip2")
    mirror.fault("/ripencc/pub/stats/ripencc/wrong.md5", body=b"0" * 32)
    assert get(mirror, "/ripencc/pub/stats/ripencc/wrong.md5")[1] == b"0" * 32


def test_log_records_headers(mirror):
    get(mirror, f"/{RIB}?x=1", {"If-None-Match": f'"{MTIME:x}-{len(PAYLOAD):x}"'})
    [record] = mirror.requests
    assert (record.method, record.path, record.query, record.status) == ("GET", f"/{RIB}", "x=1", 304)
    assert record.headers["if-none-match"] == record.headers.get("If-None-Match")
    assert "IF-NONE-MATCH" in record.headers
    mirror.reset_log()
    assert mirror.requests == []


def test_stall_and_prompt_stop(tree):
    m = Mirror(tree).start()
    m.fault(f"/{RIB}", stall=30, stall_at=4096)
    conn = http.client.HTTPConnection("127.0.0.1", m.port, timeout=0.3)
    conn.request("GET", f"/{RIB}")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read(4096) == PAYLOAD[:4096]
    with pytest.raises(TimeoutError):
        resp.read(1)
    started = time.monotonic()
    m.stop()
    assert time.monotonic() - started < 1.0
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        get(m, "/")
