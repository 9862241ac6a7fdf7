"""The cache directory: the databases ``update`` built and the files it downloaded.

It is the platform's user cache directory (``$XDG_CACHE_HOME/geoip_rs``, usually
``~/.cache/geoip_rs``, on Linux; ``~/Library/Caches/geoip_rs`` on macOS), through
``platformdirs``; ``GEOIP_RS_CACHE`` or an explicit ``cache_dir`` overrides it.
Layout::

    databases/geoip-20241201T0000-3f9c2a1b.geoipdb   # data time, inputs' digest
    downloads/<source>/<the archive's own path>      # + .http.json validators
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]

ENV = "GEOIP_RS_CACHE"
_NAME = re.compile(r"^geoip-(\d{8}T\d{4})-([0-9a-f]{8})\.geoipdb$")
#: A file being written, beside the file it will replace: `.<name>.<writer's pid>.tmp`.
_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def cache_dir(path: PathLike | None = None) -> Path:
    """The cache directory: ``path``, else ``$GEOIP_RS_CACHE``, else the platform's
    user cache directory for geoip_rs."""
    if path is not None:
        return Path(path)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("geoip_rs", appauthor=False))


@dataclass(frozen=True, order=True)
class CachedDatabase:
    """A database in the cache: the time its routing data is from, and its file."""

    data_time: datetime
    path: Path

    @property
    def age_days(self) -> float:
        return (datetime.now(timezone.utc) - self.data_time).total_seconds() / 86400


def database_name(data_time: datetime, digest: str) -> str:
    return f"geoip-{data_time.strftime('%Y%m%dT%H%M')}-{digest[:8]}.geoipdb"


def _entries(path: PathLike | None) -> list[os.DirEntry[str]]:
    """What the databases folder holds; nothing when there is no folder yet."""
    try:
        return list(os.scandir(cache_dir(path) / "databases"))
    except FileNotFoundError:
        return []


def databases(path: PathLike | None = None) -> list[CachedDatabase]:
    """The cached databases, newest data first (ties: the newest build first)."""
    found = []
    for e in _entries(path):
        m = _NAME.match(e.name)
        if m and e.is_file():
            t = datetime.strptime(m[1], "%Y%m%dT%H%M").replace(tzinfo=timezone.utc)
            found.append((t, e.stat().st_mtime, Path(e.path)))
    found.sort(reverse=True)
    return [CachedDatabase(t, p) for t, _, p in found]


def newest(path: PathLike | None = None) -> Path | None:
    """The cached database with the newest data, or None when there is none."""
    dbs = databases(path)
    return dbs[0].path if dbs else None


def prune(keep: int, path: PathLike | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest databases; the deleted paths."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    gone = [d.path for d in databases(path)[keep:]]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def sweep(path: PathLike | None = None) -> list[Path]:
    """Delete the half-written files that writers killed mid-write (a crash, a
    SIGKILL, a power cut) left in the databases folder: those whose process is
    gone. They are never read, only kept from taking disk space forever."""
    gone = []
    for e in _entries(path):
        m = _TEMP.match(e.name)
        if m and e.is_file() and not _alive(int(m[1])):
            Path(e.path).unlink(missing_ok=True)
            gone.append(Path(e.path))
    return gone


def _alive(pid: int) -> bool:
    # On Windows os.kill would end the process, not probe it: keep everything there.
    if pid == os.getpid() or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # another user's, or unknown: kept
    return True
