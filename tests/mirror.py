"""A real HTTP server on the loopback interface that plays the public data archives,
for the tests of ``geoip-rs update``.

The downloader must cope with what RouteViews, RIPE RIS, the RIRs and CAIDA really
send: Apache and nginx directory listings, ETag and Last-Modified validators,
conditional and resumed (Range + If-Range) requests, and servers that fail. Mocking
urllib3 would test our idea of HTTP rather than HTTP, so the tests talk to this
server over a socket instead: a ``ThreadingHTTPServer`` on 127.0.0.1 in a thread of
the pytest process, serving a directory tree laid out like the archives. Nothing
leaves the loopback interface (the server does not even look its own name up).

Tests inject failures while it runs (``Mirror.fault``): error statuses, bodies cut
short or reset, slow headers, stalls mid-body, wrong bodies; and check what the
client asked for in ``Mirror.requests``.

    with Mirror(root, styles={"routeviews": "apache", "ris": "nginx"}) as mirror:
        mirror.fault("/ris/rrc00/latest-bview.gz", status=503, times=1)
        run_update(base_url=mirror.url)
        assert all(r.status == 304 for r in mirror.requests if r.method == "GET")

The listing pages reproduce Apache 2.4 mod_autoindex as Debian and Ubuntu configure
it (``FancyIndexing HTMLTable NameWidth=*``) and nginx autoindex with its defaults
(exact sizes, UTC times, directories first), byte for byte where it matters to a
link parser: Apache's column-sort links ``?C=N;O=D`` and absolute Parent Directory
link, nginx's ``../`` link and names cut to 50 characters (with ``..>``) in the text
but never in the href. Times are shown in UTC; both servers' query strings (sort
orders) are ignored.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from urllib.parse import unquote

from mirror_pages import (  # noqa: F401 - apache_size is part of this module's API
    SERVER, UNSATISFIABLE, _pieces, _scan, apache_index, apache_size, error_page, http_date,
    if_range_holds, nginx_index, not_modified, parse_range,
)

STYLES = ("apache", "nginx")
CHUNK = 64 * 1024
STOP_JOIN_SECONDS = 2.0

# The types the archives' servers send (Debian's mime.conf for Apache; nginx's
# mime.types knows none of these and falls back to application/octet-stream). Never
# a Content-Encoding: a .gz file is data to store, not to decompress on the way.
APACHE_TYPES = {
    ".gz": "application/x-gzip",
    ".tgz": "application/x-gzip",
    ".bz2": "application/x-bzip2",
    ".txt": "text/plain",
    ".html": "text/html",
    ".md5": "text/plain",
}
NGINX_TYPES = {".txt": "text/plain", ".html": "text/html"}


# ---- what the tests see -----------------------------------------------------------


class Headers(dict):
    """Request headers as a dict with case-insensitive keys (stored in lower case);
    a header sent twice holds both values joined with ``", "``."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        super().__init__()
        for name, value in items:
            key = name.lower()
            self[key] = f"{self[key]}, {value}" if key in self else value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default=None):
        return super().get(key.lower(), default)


@dataclass
class Fault:
    """A failure injected for one URL path; see ``Mirror.fault``. ``hits`` counts the
    requests it was applied to."""

    status: int | None = None
    truncate: int | None = None
    reset: int | None = None
    delay: float | None = None
    stall: float | None = None
    stall_at: int | None = None
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    times: int | None = None
    hits: int = 0


@dataclass
class Request:
    """One request as the server saw it. It is logged on arrival: ``status`` is None
    until the status line is sent (and stays None if none was, e.g. when ``stop()``
    cut a delay short); ``sent`` counts the body bytes written so far."""

    method: str
    path: str  # percent-decoded, without the query
    query: str
    headers: Headers
    status: int | None = None
    sent: int = 0
    fault: Fault | None = None


# ---- resources: a file, a listing page or a fault's bytes ------------------------


@dataclass
class _Resource:
    size: int
    mtime: int  # whole seconds, as Last-Modified and the ETag carry it
    etag: str
    content_type: str
    data: bytes | None = None
    file: Path | None = None

    @classmethod
    def from_file(cls, path: Path, content_type: str) -> _Resource:
        st = path.stat()
        mtime = int(st.st_mtime)
        # nginx's ETag: hex mtime and hex size (Apache's has an inode part too).
        etag = f'"{mtime:x}-{st.st_size:x}"'
        return cls(st.st_size, mtime, etag, content_type, file=path)

    @classmethod
    def from_bytes(cls, data: bytes, mtime: int, content_type: str, key: bytes = b"") -> _Resource:
        """Generated bytes; the ETag hashes ``key`` (the bytes themselves unless
        given), so that it changes exactly when the content does."""
        digest = hashlib.sha1(key or data).hexdigest()[:16]
        return cls(len(data), mtime, f'"{digest}"', content_type, data=data)

    def chunks(self, start: int, length: int) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data[start : start + length]
            return
        with open(self.file, "rb") as f:
            f.seek(start)
            while length > 0:
                buf = f.read(min(CHUNK, length))
                if not buf:
                    return
                length -= len(buf)
                yield buf


def _content_type(path: str, style: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    types = APACHE_TYPES if style == "apache" else NGINX_TYPES
    return types.get(suffix, "application/octet-stream")


def _listing(directory: Path, urlpath: str, style: str, port: int) -> _Resource:
    """The listing page with validators that depend only on the entries (not on the
    port in Apache's footer), so they survive a restart of the mirror."""
    entries = _scan(directory)
    if style == "apache":
        page, ctype = apache_index(urlpath, entries, port), "text/html;charset=UTF-8"
    else:
        page, ctype = nginx_index(urlpath, entries), "text/html"
    newest = max([int(directory.stat().st_mtime), *(e.mtime for e in entries)])
    key = repr((style, urlpath, sorted((e.name, e.is_dir, e.size, e.mtime) for e in entries)))
    return _Resource.from_bytes(page.encode(), newest, ctype, key=key.encode())


# ---- the server -----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1, kept alive between requests (every response has a
    Content-Length), until the client closes it or a fault does."""

    protocol_version = "HTTP/1.1"
    style = "apache"  # of the request in hand; also what send_error's Server header says
    record: Request | None = None
    fault_: Fault | None = None

    def version_string(self) -> str:
        return SERVER[self.style]

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass  # the request log is Mirror.requests; stderr stays quiet

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    @property
    def mirror(self) -> Mirror:
        return self.server.mirror

    def _serve(self, with_body: bool) -> None:
        raw, _, query = self.path.partition("?")
        path = unquote(raw)
        self.style = self.mirror.style_for(path)
        self.record = Request(self.command, path, query, Headers(self.headers.items()))
        self.mirror._log(self.record)
        self.fault_ = self.record.fault = self.mirror._take_fault(path)
        try:
            if self.fault_ and self.fault_.delay and not self._pause(self.fault_.delay):
                return
            self._respond(raw, path, query, with_body)
        except OSError:
            # The client gave up (a timeout in a test), or stop() shut the socket.
            self.close_connection = True

    def _pause(self, seconds: float) -> bool:
        """Sleep, unless the mirror is stopping: then drop the connection, False."""
        if self.server.stopping.wait(seconds):
            self.close_connection = True
            return False
        return True

    def _respond(self, raw: str, path: str, query: str, with_body: bool) -> None:
        fault = self.fault_
        if fault and fault.status:
            return self._send_error(fault.status, with_body)
        if fault and fault.body is not None:
            ctype = _content_type(path, self.style)
            return self._send(_Resource.from_bytes(fault.body, int(time.time()), ctype), with_body)
        target = self.mirror._locate(path)
        if target is None or (not target.is_dir() and path.endswith("/")):
            return self._send_error(404, with_body)
        if not target.is_dir():
            return self._send(_Resource.from_file(target, _content_type(path, self.style)), with_body)
        if not path.endswith("/"):  # as Apache and nginx do: the slash form, absolute
            location = f"{self.mirror.url}{raw}/" + (f"?{query}" if query else "")
            return self._send_error(301, with_body, {"Location": location})
        index = target / "index.html"
        if index.is_file():
            return self._send(_Resource.from_file(index, "text/html"), with_body)
        self._send(_listing(target, path, self.style, self.server.server_port), with_body)

    def _send_error(self, status: int, with_body: bool, headers: dict | None = None) -> None:
        location = (headers or {}).get("Location")
        body = error_page(self.style, status, self.server.server_port, location)
        ctype = "text/html" if self.style == "nginx" else "text/html; charset=iso-8859-1"
        self._start(status, {"Content-Type": ctype, "Content-Length": str(len(body)), **(headers or {})})
        if with_body:
            self._write_body([body], len(body))

    def _send(self, res: _Resource, with_body: bool) -> None:
        validators = {"Last-Modified": http_date(res.mtime), "ETag": res.etag}
        if not_modified(self.record.headers, res):
            return self._start(304, validators)
        start, length, status = 0, res.size, 200
        extra = {}
        wanted = self.record.headers.get("Range")
        if wanted and if_range_holds(self.record.headers.get("If-Range"), res):
            span = parse_range(wanted, res.size)
            if span == UNSATISFIABLE:
                return self._send_unsatisfiable(res, with_body)
            if span:
                (start, length), status = span, 206
                extra = {"Content-Range": f"bytes {start}-{start + length - 1}/{res.size}"}
        headers = {"Content-Type": res.content_type, "Content-Length": str(length)}
        self._start(status, {**headers, **validators, **extra, "Accept-Ranges": "bytes"})
        if with_body:
            self._write_body(res.chunks(start, length), length)

    def _send_unsatisfiable(self, res: _Resource, with_body: bool) -> None:
        body = error_page(self.style, 416, self.server.server_port)
        headers = {"Content-Type": "text/html", "Content-Length": str(len(body))}
        self._start(416, {**headers, "Content-Range": f"bytes */{res.size}"})
        if with_body:
            self._write_body([body], len(body))

    def _start(self, status: int, headers: dict[str, str]) -> None:
        """The status line and headers, a fault's headers replacing same-named ones.
        The status is logged first, so a client that has the response finds it set."""
        merged = Headers(headers.items())
        names = {k.lower(): k for k in headers}
        for name, value in ((self.fault_ and self.fault_.headers) or {}).items():
            merged[name] = value
            names.setdefault(name.lower(), name)
        self.record.status = status
        self.send_response(status)
        for key, value in merged.items():
            self.send_header(names[key], value)
        self.end_headers()

    def _write_body(self, chunks: Iterable[bytes], length: int) -> None:
        """The body, cut short (truncate, reset) or paused (stall) as the fault says."""
        fault = self.fault_ or Fault()
        cut = fault.truncate if fault.truncate is not None else fault.reset
        pause_at = None
        if fault.stall:
            pause_at = min(length // 2 if fault.stall_at is None else fault.stall_at, length)
        if pause_at == 0 and not self._pause(fault.stall):
            return
        for piece in _pieces(chunks, [c for c in (cut, pause_at) if c]):
            if cut is not None and self.record.sent >= cut:
                break
            self.wfile.write(piece)
            self.record.sent += len(piece)
            if self.record.sent == pause_at and not self._pause(fault.stall):
                return
        if fault.reset is not None:
            self._reset()
        elif fault.truncate is not None:
            self.close_connection = True  # finish() then closes cleanly: a short body

    def _reset(self) -> None:
        """Close with SO_LINGER 0, which sends RST instead of FIN: the client's next
        read fails with ECONNRESET. The reading file holds a reference to the
        socket, so it is closed too, or close() would leave the descriptor open."""
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        sock.close()
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    """Tracks its connection threads and sockets so that stop() can wake and join
    them (ThreadingMixIn either forgets daemon threads or joins without a limit)."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, mirror: Mirror, port: int):
        self.mirror = mirror
        self.stopping = threading.Event()
        self.workers: dict[threading.Thread, socket.socket] = {}
        self.workers_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn): skip it.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        worker = threading.Thread(target=self._work, args=(request, client_address), daemon=True)
        with self.workers_lock:
            self.workers[worker] = request
        worker.start()

    def _work(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self.workers_lock:
                self.workers.pop(threading.current_thread(), None)

    def handle_error(self, request, client_address) -> None:
        pass  # a client hanging up mid-response is what the faults are for

    def close_all(self) -> None:
        """Wake every connection thread (blocked reading the next request, writing,
        or in a fault's pause) and wait a little for them to end."""
        self.stopping.set()
        with self.workers_lock:
            workers = dict(self.workers)
        for sock in workers.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its thread
        deadline = time.monotonic() + STOP_JOIN_SECONDS
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))


class Mirror:
    """The files under ``root`` over HTTP on 127.0.0.1; see the module docstring.

    ``styles`` maps a URL's first path segment to the listing format, "apache" (the
    default) or "nginx". ``url`` is ``http://127.0.0.1:<port>`` while running; the
    port is chosen at the first start() and reused by later ones.
    """

    def __init__(self, root: Path, styles: dict[str, str] | None = None):
        self.root = Path(root)
        self.styles = dict(styles or {})
        bad = {k: v for k, v in self.styles.items() if v not in STYLES}
        if bad:
            raise ValueError(f"unknown listing styles {bad}; use one of {STYLES}")
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._faults: dict[str, list[Fault]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the mirror has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Mirror:
        if self._server is not None:
            raise RuntimeError("the mirror is already running")
        self._server = _Server(self, self._port)
        self._port = self._server.server_port
        # A short poll interval: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, then end every connection, even in a delay or stall."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_all()
        self._thread.join()

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- faults ---------------------------------------------------------------------

    def fault(
        self,
        path: str,
        *,
        status: int | None = None,
        truncate: int | None = None,
        reset: int | None = None,
        delay: float | None = None,
        stall: float | None = None,
        stall_at: int | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> Fault:
        """Make requests for the exact URL ``path`` (percent-decoded, no query) fail.

        status: send this status and a short HTML page instead of the resource.
        truncate=N: full Content-Length, N body bytes, then close (a short body).
        reset=N: N body bytes, then reset the connection (ECONNRESET).
        delay=S: wait S seconds before the status line (a slow server).
        stall=S: send the body up to ``stall_at`` (default: half), wait S seconds,
            then send the rest.
        body: serve these bytes instead of the file (validators from the bytes, the
            Content-Type of the path), whether the file exists or not.
        headers: extra response headers, replacing same-named ones (Retry-After,
            Location, a lying Content-Length...).
        times=N: apply to the first N requests only (default: all). Faults for one
            path are used in the order registered: each until its ``times`` run out.
        Kinds combine (e.g. delay with status); truncate and reset exclude each other.
        """
        if truncate is not None and reset is not None:
            raise ValueError("truncate and reset exclude each other")
        kinds = (status, truncate, reset, delay, stall, body, headers)
        if all(k is None for k in kinds):
            raise ValueError("a fault needs at least one kind")
        f = Fault(status, truncate, reset, delay, stall, stall_at, body, headers, times)
        with self._lock:
            self._faults.setdefault(path, []).append(f)
        return f

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults.get(path, ()):
                if f.times is None or f.hits < f.times:
                    f.hits += 1
                    return f
        return None

    # ---- the log and the tree ---------------------------------------------------------

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def _log(self, record: Request) -> None:
        with self._lock:
            self.requests.append(record)

    def style_for(self, path: str) -> str:
        return self.styles.get(path.lstrip("/").split("/", 1)[0], "apache")

    def _locate(self, path: str) -> Path | None:
        """The file or directory under root for a decoded URL path; None outside."""
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None
        target = self.root.joinpath(*parts)
        return target if target.exists() else None


def write_tree(root: Path, files: Mapping[str, bytes | str], mtime: float | None = None) -> Path:
    """Create ``files`` (relative path: content) under ``root``; with ``mtime``, give
    every file and directory that time, so listings and validators are stable."""
    root = Path(root)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    if mtime is not None:
        # Deepest first: setting a child's time does not touch its parent's.
        for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            os.utime(path, (mtime, mtime))
        os.utime(root, (mtime, mtime))
    return root
