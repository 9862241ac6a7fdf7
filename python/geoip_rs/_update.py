"""``geoip_rs.update()`` and ``geoip-rs update``: today's (or a past day's) public
routing and registry data, downloaded, verified and built into a database in the
cache directory, where ``geoip_rs.open()`` finds it.

The steps: find each source's file (directory listings for RIB dumps and CAIDA's
files, fixed names for the RIRs' and the AS names), download the ones the cache
lacks or that changed (several at once, conditionally, resumably), check them (the
RIRs' ``.md5`` files, each file's first bytes), then build unless a database of the
very same inputs is already there. Any failure leaves the cache's databases as they
were and raises :class:`UpdateError` with one line per problem.

With ``history=``, the database is then added to a history file (a snapshot at
the time of its routing data); ``geoip_rs.update_history`` (in ``_history_update``)
does that for many dates, one after the other.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date as Date, datetime, timedelta, timezone
from pathlib import Path

from . import _archives as arch
from . import cache
from ._fetch import Fetcher, FetchError, NotFound, Options, _meta_path, md5_file
from ._progress import DownloadBar
from ._history import add_snapshot
from .database import Database, build_database

ACCEPT_CAIDA_ENV = "GEOIP_RS_ACCEPT_CAIDA_AUA"
URL_ENV_PREFIX = "GEOIP_RS_URL_"


class _Skip(Exception):
    """A source with nothing for the moment asked for: left out, with a warning."""


class UpdateError(Exception):
    """An update that did not make a database; ``problems`` has one line each.

    ``built`` is the database that was made when adding it to the history failed
    (else None); ``done`` holds the results of the dates ``update_history`` had
    finished, and added to its history, before the one that failed."""

    def __init__(self, problems: list[str], *, built: Path | None = None,
                 done: Sequence[UpdateResult] = ()):
        self.problems = problems
        self.built = built
        self.done = list(done)
        super().__init__("\n".join(problems))


@dataclass
class UpdateResult:
    """What an update did: the database to use, whether it was built just now (or
    the cache already had one of the same inputs), the files it was built from,
    and the HTTP requests made."""

    path: Path
    built: bool
    data_time: datetime
    files: dict[str, list[Path]]
    requests: int
    warnings: list[str] = field(default_factory=list)
    pruned: list[Path] = field(default_factory=list)
    #: The history file the database went to (``update(history=...)``), else None.
    history: Path | None = None
    #: Whether it was added there: False when the history already held a snapshot
    #: of the same data time (this database, or another of the same data).
    added: bool = False


@dataclass
class _Plan:
    at: datetime | None
    urls: dict[str, str]
    collectors: list[arch.Collector]
    rirs: list[str]
    caida: bool
    asnames: bool


def update(
    *,
    cache_dir: cache.PathLike | None = None,
    collectors: Sequence[str] = arch.DEFAULT_COLLECTORS,
    rirs: Sequence[str] = arch.RIRS,
    asnames: bool = True,
    accept_caida_aua: bool | None = None,
    date: str | Date | None = None,
    urls: Mapping[str, str] | None = None,
    offline: bool = False,
    keep: int | None = None,
    origin_policy: str = "majority",
    timeout: float = 30.0,
    retries: int = 3,
    workers: int = 4,
    progress: bool | None = None,
    history: cache.PathLike | None = None,
) -> UpdateResult:
    """Download the newest public data (or that of ``date``) and build a database in
    the cache directory; ``geoip_rs.open()`` then opens it.

    Sources: RIB dumps from ``collectors`` (RouteViews names such as
    ``route-views2``, or RIPE RIS ``rrc00``...), merged under ``origin_policy``; the
    RIRs' extended delegated files (``rirs``, checked against their ``.md5``); AS
    names from RIPE's ``asn.txt``; and CAIDA's AS-to-organisation file only when
    ``accept_caida_aua`` is true (or ``$GEOIP_RS_ACCEPT_CAIDA_AUA`` is ``1``): its
    Acceptable Use Agreement licenses use and asks for citation, but not
    redistribution (see the README).

    ``date`` (``"YYYY-MM-DD"``, ``"YYYY-MM-DDTHH:MM"`` UTC, a datetime or a date) builds the
    database for that moment: the dumps at or before it, the RIR files of its day, the
    as2org file in force. ``urls`` overrides base URLs by source name (also
    ``$GEOIP_RS_URL_<NAME>``; the names are ``SOURCES``). ``offline`` rebuilds from
    the cache alone. ``keep`` deletes all but that many newest databases afterwards
    (after adding to ``history``, so nothing it needs is lost).

    ``history`` (a path) adds the database, built now or found already built, to
    that history file (made if missing; see ``geoip_rs.add_snapshot``), atomically.
    A history that already holds a snapshot of the same data time is left as it
    is: ``added`` says which happened.

    Raises :class:`UpdateError` (one line per problem) and leaves the cache's
    databases, and the history, as they were when anything fails."""
    plan = _plan(collectors, rirs, asnames, accept_caida_aua, date, urls)
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    target = _history_target(history)
    root = cache.cache_dir(cache_dir)
    opts = Options(timeout=timeout, retries=retries, offline=offline)
    show = sys.stderr.isatty() if progress is None else progress
    with _locked(root):
        cache.sweep(root)
        with DownloadBar(show) as bar:
            fetcher = Fetcher(root / "downloads", opts, bar.update)
            files, warnings = _fetch_all(fetcher, plan, workers)
        result = _build(root, files, origin_policy, show)
        result.requests, result.warnings = fetcher.requests, warnings
        if target is not None:
            result.history = target
            result.added = _add_to_history(target, result.path, show)
        if keep is not None:
            result.pruned = cache.prune(keep, root)
    return result


#: The names of the sources whose base URLs ``urls`` and ``--url`` override.
SOURCES: tuple[str, ...] = tuple(arch.BASES)


def _plan(collectors, rirs, asnames, accept, date, urls) -> _Plan:
    base = dict(arch.BASES)
    for name, url in {**_env_urls(), **(urls or {})}.items():
        if name not in base:
            raise ValueError(f"unknown source {name!r} in urls: the names are {', '.join(base)}")
        base[name] = url.rstrip("/")
    for r in rirs:
        if r not in arch.RIRS:
            raise ValueError(f"unknown RIR {r!r}: the RIRs are {', '.join(arch.RIRS)}")
    if date is not None:
        date = _moment(date)
    if accept is None:
        accept = os.environ.get(ACCEPT_CAIDA_ENV, "") in ("1", "yes", "true")
    cols = [arch.Collector.named(c) for c in dict.fromkeys(collectors)]
    if not cols:
        raise ValueError("no collectors: a database needs at least one RIB dump")
    return _Plan(date, base, cols, list(dict.fromkeys(rirs)), bool(accept), asnames)


def _moment(value: str | Date) -> datetime:
    """A date as ``update`` takes it, as an aware UTC datetime: a string
    (``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM``), a datetime (naive ones are UTC) or a
    date (its midnight)."""
    if isinstance(value, str):
        return arch.parse_moment(value)
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _env_urls() -> dict[str, str]:
    return {k[len(URL_ENV_PREFIX):].lower(): v for k, v in os.environ.items()
            if k.startswith(URL_ENV_PREFIX) and v}


def _jobs(f: Fetcher, plan: _Plan) -> list[tuple[str, Callable[[], Path]]]:
    """One job per file: its kind (a ``build_database`` keyword) and how to get it."""
    jobs: list[tuple[str, Callable[[], Path]]] = []
    for c in plan.collectors:
        jobs.append(("mrt", lambda c=c: _dump(f, plan, c)))
    for r in plan.rirs:
        jobs.append(("delegated", lambda r=r: _delegated(f, plan, r)))
    if plan.caida:
        jobs.append(("as2org", lambda: _caida(f, plan)))
    if plan.asnames:
        jobs.append(("asnames", lambda: _asnames(f, plan)))
    return jobs


def _fetch_all(f: Fetcher, plan: _Plan, workers: int) -> tuple[dict[str, list[Path]], list[str]]:
    """Every source's file, fetched in parallel; all problems reported together."""
    files: dict[str, list[Path]] = {}
    problems: list[str] = []
    warnings = [] if plan.at is None or not plan.asnames else [
        "AS names are today's: RIPE keeps no archive of asn.txt"]
    pool = ThreadPoolExecutor(max(1, workers))
    futures = [(kind, pool.submit(job)) for kind, job in _jobs(f, plan)]
    try:
        for kind, fut in futures:
            try:
                path = fut.result()
                files.setdefault(kind, []).append(path)
            except _Skip as e:
                warnings.append(str(e))
            except (FetchError, OSError) as e:
                problems.append(str(e))
    except BaseException:
        # Ctrl-C: stop the downloads rather than wait for them.
        f.cancel()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    if problems:
        raise UpdateError(problems)
    return files, warnings


def _listing(f: Fetcher, plan: _Plan, source: str, directory: str) -> list[str]:
    html = f.text(plan.urls[source] + directory, f"{source}{directory}index.html")
    return arch.listing(html, directory)


def _dump(f: Fetcher, plan: _Plan, c: arch.Collector) -> Path:
    """The collector's newest RIB dump at or before the plan's moment."""
    at = plan.at or datetime.now(timezone.utc)
    months = arch.months(_listing(f, plan, c.source, c.months_dir()), at)
    for month in months[:3]:  # a new month's folder may hold no dump yet
        folder = c.dumps_dir(month)
        name = arch.newest_dump(_listing(f, plan, c.source, folder), at)
        if name:
            return f.file(plan.urls[c.source] + folder + name, f"{c.source}{folder}{name}",
                          immutable=True, verify=_looks_like("MRT dump"))
    raise FetchError(f"{c.name}: no RIB dump at or before {at:%Y-%m-%d %H:%M} "
                     f"({plan.urls[c.source]}{c.months_dir()})")


def _delegated(f: Fetcher, plan: _Plan, rir: str) -> Path:
    base = plan.urls[rir]
    if plan.at is None:
        path = arch.rir_latest(rir)
        md5 = arch.md5_of(f.text(base + path + ".md5", f"{rir}{path}.md5"))
        return f.file(base + path, rir + path, immutable=False, verify=_delegated_check(rir, md5))
    for day in arch.rir_days(plan.at):
        path = arch.rir_dated(rir, day)
        try:
            md5 = _optional_md5(f, base + path + ".md5", f"{rir}{path}.md5")
            return f.file(base + path, rir + path, immutable=True,
                          verify=_delegated_check(rir, md5))
        except NotFound:
            continue
    raise FetchError(f"{rir}: no delegated file for {plan.at:%Y-%m-%d} or the "
                     f"{arch.RIR_DAYS_BACK} days before ({base}{arch.rir_dated(rir, plan.at)})")


def _optional_md5(f: Fetcher, url: str, key: str) -> str | None:
    try:
        return arch.md5_of(f.text(url, key))
    except NotFound:
        return None  # not every archived day has its checksum file


def _caida(f: Fetcher, plan: _Plan) -> Path:
    names = _listing(f, plan, "caida", arch.CAIDA_DIR)
    name = arch.caida_file(names, plan.at)
    if name is None and plan.at is not None:
        raise _Skip(f"caida: no as-org2info file in force on {plan.at:%Y-%m-%d}: "
                    "built without organisations")
    if name is None:
        raise FetchError(f"caida: no as-org2info file in {plan.urls['caida']}{arch.CAIDA_DIR}")
    return f.file(plan.urls["caida"] + arch.CAIDA_DIR + name, f"caida{arch.CAIDA_DIR}{name}",
                  immutable=True, verify=_looks_like("CAIDA as2org file"))


def _asnames(f: Fetcher, plan: _Plan) -> Path:
    url = plan.urls["asnames"] + arch.ASNAMES_PATH
    return f.file(url, "asnames" + arch.ASNAMES_PATH, immutable=False,
                  verify=_text_check("AS name list", re.compile(rb"^(AS)?\d+[ \t]")))


# --- checks of downloaded files ------------------------------------------------

_MAGIC = {".bz2": (b"BZh", "bzip2"), ".gz": (b"\x1f\x8b", "gzip")}


def _name(path: Path) -> str:
    """The file's name, for a download in progress too."""
    return path.name.removesuffix(".part")


def _head(path: Path, n: int = 1 << 16) -> bytes:
    """The first bytes of the file's content (decompressed if its name says so)."""
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(Path(_name(path)).suffix, open)
    try:
        with opener(path, "rb") as fh:  # type: ignore[operator]
            return fh.read(n)
    except (OSError, EOFError, ValueError):
        return b""


def _looks_like(what: str) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        name = _name(path)
        suffix = Path(name).suffix
        if suffix in _MAGIC:
            magic, fmt = _MAGIC[suffix]
            with open(path, "rb") as fh:
                start = fh.read(len(magic))
            if start != magic:
                raise FetchError(f"{name} is not a {fmt} file ({what}): it starts with "
                                 f"{_show(path)}")
    return check


def _text_check(what: str, pattern: re.Pattern[bytes]) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        _looks_like(what)(path)
        lines = [ln for ln in _head(path).splitlines() if ln.strip() and not ln.startswith(b"#")]
        if not lines or not pattern.match(lines[0]):
            raise FetchError(f"{_name(path)} is not a {what}: it starts with {_show(path)}")
    return check


def _delegated_check(rir: str, md5: str | None) -> Callable[[Path], None]:
    sniff = _text_check(f"delegated file of {rir}", re.compile(rb"^\d+(\.\d+)?\|" + rir.encode()))

    def check(path: Path) -> None:
        name = _name(path)
        if md5 is not None and (got := md5_file(path)) != md5:
            raise FetchError(f"{name}: checksum mismatch: MD5 {got}, but its .md5 file "
                             f"says {md5}")
        sniff(path)
    return check


def _show(path: Path) -> str:
    """The file's first bytes as they are on disk, for an error message."""
    with open(path, "rb") as fh:
        head = fh.read(40)
    return repr(head.decode("latin-1")) if head else "nothing (empty)"


# --- building ----------------------------------------------------------------------


def _digest(files: dict[str, list[Path]], origin_policy: str) -> str:
    """What the database is made of: each file's name, size and validators, and
    the options. The same digest means the same database."""
    from . import __version__

    h = hashlib.sha256(f"{__version__}|{origin_policy}".encode())
    for kind in sorted(files):
        for p in sorted(files[kind]):
            meta = _meta_path(p)
            validators = meta.read_text() if meta.exists() else ""
            h.update(f"|{kind}|{p.name}|{p.stat().st_size}|{validators}".encode())
    return h.hexdigest()


def _build(root: Path, files: dict[str, list[Path]], policy: str, show: bool) -> UpdateResult:
    times = [t for p in files["mrt"] if (t := arch.dump_time(p.name)) is not None]
    data_time = max(times)
    out = root / "databases" / cache.database_name(data_time, _digest(files, policy))
    if out.exists():
        return UpdateResult(out, False, data_time, files, 0)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = build_database(out, origin_policy=policy,  # type: ignore[arg-type]
                            progress=show or None,
                            **{k: [str(p) for p in v] for k, v in files.items()})
        db.close()
    except (OSError, ValueError) as e:
        raise UpdateError([f"building {out.name} failed: {e}"]) from None
    return UpdateResult(out, True, data_time, files, 0)


# --- histories ---------------------------------------------------------------------


def _history_target(history: cache.PathLike | None) -> Path | None:
    """The history file to add to, checked before any request is made: one that
    exists must be a database, a new one's folder must exist."""
    if history is None:
        return None
    path = Path(history)
    if path.exists():
        Database(path, verify=False).close()  # DatabaseError (a ValueError) naming it
    elif not path.parent.is_dir():
        raise ValueError(f"history {path}: no folder {path.parent}")
    return path


def _add_to_history(history: Path, database: Path, show: bool) -> bool:
    """Add the database to the history, unless it holds a snapshot of the same data
    time already (False then): a history has one snapshot per time, and the same
    update run again is nothing new."""
    try:
        with Database(database, verify=False) as db:
            data_time = db.metadata["data_time"]
        if data_time is not None and history.exists():
            with Database(history, verify=False) as h:
                taken = h.snapshot_at(data_time)
            if taken is not None and taken["age"] == timedelta(0):
                return False
        add_snapshot(history, database, progress=show or None).close()
    except (OSError, ValueError) as e:
        raise UpdateError([f"adding {database.name} to {history} failed: {e}"],
                          built=database) from None
    return True


# --- locking ------------------------------------------------------


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One update at a time per cache directory (a second waits for the first)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def describe(result: UpdateResult) -> str:
    """One line for the command line."""
    verb = "built" if result.built else "up to date:"
    line = (f"{verb} {result.path} (data of {result.data_time:%Y-%m-%d %H:%M} UTC, "
            f"{sum(len(v) for v in result.files.values())} files, {result.requests} requests)")
    if result.history is None:
        return line
    if result.added:
        return f"{line}; added to {result.history}"
    return f"{line}; not added: {result.history} already has a snapshot of its data time"

