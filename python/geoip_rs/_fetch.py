"""Downloads into the cache: urllib3 for HTTP (connection pools, timeouts, retries
with backoff on 5xx and resets), plus what it leaves to its users: conditional
requests against the validators kept beside each file, resuming a broken body with
a range request, writing to a temporary file that is renamed only when complete and
verified, and one progress bar over every file.

Every failure is a :class:`FetchError` whose message is one line naming the file
and its URL.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError, MaxRetryError, ProtocolError, ReadTimeoutError

#: Statuses worth asking again for: the server's trouble, not ours.
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 1 << 16
#: A check of a downloaded file (its checksum, its first bytes).
Verify = Callable[[Path], None]


class FetchError(Exception):
    """A download that failed; the message names the file and URL."""


class NotFound(FetchError):
    """The server has no such file (404 or 410)."""


@dataclass
class Options:
    """How to fetch: ``offline`` uses only what the cache holds."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    offline: bool = False


class Fetcher:
    """Fetches URLs into files under ``root``, each at a path its caller names."""

    def __init__(self, root: Path, options: Options, progress: Callable[[int, int], None]):
        self.root, self.opts, self.progress = root, options, progress
        retry = urllib3.Retry(
            total=options.retries, backoff_factor=options.backoff,
            status_forcelist=RETRY_STATUSES, allowed_methods={"GET"},
            raise_on_status=False, respect_retry_after_header=True,
        )
        self.http = urllib3.PoolManager(
            num_pools=16, maxsize=4, retries=retry,
            timeout=urllib3.Timeout(connect=options.timeout, read=options.timeout),
            headers={"User-Agent": "geoip_rs-update"},
        )
        self.requests = 0
        self._lock = threading.Lock()
        self.cancelled = threading.Event()
        self._active: set[Any] = set()

    def cancel(self) -> None:
        """Stop every download now (Ctrl-C), even one waiting on a silent server:
        a response's socket is shut down from this thread, which ends its read."""
        self.cancelled.set()
        with self._lock:
            for resp in list(self._active):
                resp.shutdown()

    def text(self, url: str, key: str) -> str:
        """A small document that changes (a listing, an ``.md5``), asked for again
        each time, conditionally."""
        return self.file(url, key, immutable=False).read_text(encoding="utf-8", errors="replace")

    def file(self, url: str, key: str, *, immutable: bool, verify: Verify | None = None) -> Path:
        """``url`` in the cache at ``key``. A file whose name carries its date never
        changes, so a complete cached copy is used as it is; others are asked for with
        the cached copy's validators, and kept when the server says 304. ``verify``
        checks a new download before it replaces the cached copy (and a copy the
        server says is unchanged), raising ``FetchError`` to reject it."""
        path = self.root / key
        meta = _read_meta(path)
        if meta is None and self.opts.offline:
            raise FetchError(f"{path.name} is not in the cache and --offline is set ({url})")
        if meta is None or not (immutable or self.opts.offline):
            return self._download(url, path, meta, verify)
        if verify is not None:
            verify(path)
        return path

    def _download(
        self, url: str, path: Path, meta: dict[str, Any] | None, verify: Verify | None
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        headers = _conditional(meta) if path.exists() else {}
        attempts = self.opts.retries + 1
        for attempt in range(attempts):
            try:
                return self._attempt(url, path, part, headers, verify)
            except _Broken as e:
                last = e
                time.sleep(self.opts.backoff * (2 ** attempt))
        raise FetchError(f"{path.name}: {last} after {attempts} attempts ({url})")

    def _attempt(
        self, url: str, path: Path, part: Path, headers: dict[str, str], verify: Verify | None
    ) -> Path:
        have = part.stat().st_size if part.exists() else 0
        validators = _read_meta(part)
        req = dict(headers)
        if have and validators and validators.get("etag"):
            # Resume: only if the file is still the one the part came from.
            req.update({"Range": f"bytes={have}-", "If-Range": validators["etag"]})
        resp = self._request(url, path, req)
        with self._lock:
            self._active.add(resp)
        try:
            if resp.status == 304:
                if verify is not None:
                    verify(path)
                return path
            if resp.status in (404, 410):
                raise NotFound(f"{path.name}: HTTP {resp.status} {resp.reason} ({url})")
            if resp.status not in (200, 206):
                raise FetchError(f"{path.name}: HTTP {resp.status} {resp.reason} ({url})")
            if resp.status == 200:
                have = 0
            _write_meta(part, _validators(resp, url))
            self._body(resp, part, have)
        finally:
            with self._lock:
                self._active.discard(resp)
            resp.release_conn()
        if verify is not None:
            try:
                verify(part)
            except FetchError:
                _discard(part)  # a bad file is not resumed from
                raise
        os.replace(part, path)
        os.replace(_meta_path(part), _meta_path(path))
        return path

    def _failed(self, e: Exception, part: Path, got: int, total: int) -> Exception:
        return _failed_body(e, part, got, total, self.opts.timeout, self.cancelled.is_set())

    def _request(self, url: str, path: Path, headers: dict[str, str]) -> Any:
        with self._lock:
            self.requests += 1
        try:
            return self.http.request("GET", url, headers=headers, preload_content=False,
                                     decode_content=False, redirect=True)
        except MaxRetryError as e:
            raise FetchError(f"{path.name}: {_why(e.reason)} ({url})") from None
        except HTTPError as e:
            raise FetchError(f"{path.name}: {_why(e)} ({url})") from None

    def _body(self, resp: Any, part: Path, have: int) -> None:
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else 0
        self.progress(0, total)
        got = have
        try:
            with open(part, "ab" if have else "wb") as f:
                for chunk in resp.stream(CHUNK):
                    f.write(chunk)
                    got += len(chunk)
                    self.progress(len(chunk), 0)
        except (OSError, HTTPError) as e:
            raise self._failed(e, part, got, total) from None
        if total and got != total:
            raise _Broken(f"truncated body: {got:,} of {total:,} bytes")


def _discard(part: Path) -> None:
    part.unlink(missing_ok=True)
    _meta_path(part).unlink(missing_ok=True)


class _Broken(Exception):
    """A body cut short: worth resuming."""


def _failed_body(e: Exception, part: Path, got: int, total: int, timeout: float,
                 cancelled: bool) -> Exception:
    """What a failure while reading a body means: the user stopped it, the disk is
    full (nothing to resume), or the connection broke (resume)."""
    name = part.name.removesuffix(".part")
    if cancelled:
        return FetchError(f"{name}: interrupted")
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        _discard(part)
        return FetchError(f"{name}: disk full while writing {part.parent} ({e.strerror})")
    if isinstance(e, ReadTimeoutError):
        return _Broken(f"no data for {timeout:g} s, {got:,} bytes in")
    if "IncompleteRead" in repr(e):
        return _Broken(f"truncated body: {got:,} of {total:,} bytes")
    if isinstance(e, (ProtocolError, HTTPError)):
        return _Broken(f"connection broken after {got:,} of {total:,} bytes ({_why(e)})")
    return e


def _why(e: BaseException | None) -> str:
    text = str(e)
    if isinstance(e, ReadTimeoutError) or "timed out" in text:
        return "timed out (the server sent nothing within the timeout)"
    if "ResponseError" in type(e).__name__ or "too many" in text:
        return "the server kept failing: " + text.split(": ", 1)[-1]
    if "Connection refused" in text:
        return "connection refused"
    if "reset" in text.lower():
        return "connection reset"
    return text


def _validators(resp: Any, url: str) -> dict[str, Any]:
    return {
        "url": url,
        "etag": resp.headers.get("ETag"),
        "last_modified": resp.headers.get("Last-Modified"),
    }


def _conditional(meta: dict[str, Any] | None) -> dict[str, str]:
    headers = {}
    if meta and meta.get("etag"):
        headers["If-None-Match"] = meta["etag"]
    if meta and meta.get("last_modified"):
        headers["If-Modified-Since"] = meta["last_modified"]
    return headers


def _meta_path(path: Path) -> Path:
    """Where a cached file's validators are kept: beside it."""
    return path.with_name(path.name + ".http.json")


def _read_meta(path: Path) -> dict[str, Any] | None:
    """The validators of a cached file; None if the file (or its record) is missing,
    so that a file whose download never finished counts as absent."""
    try:
        if not path.exists():
            return None
        return json.loads(_meta_path(path).read_text())
    except (OSError, ValueError):
        return None


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    tmp = _meta_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, _meta_path(path))


def md5_file(path: Path) -> str:
    h = hashlib.md5()  # the RIRs publish MD5; it checks transfer, not authenticity
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
