"""The ``geoip-rs`` command: look addresses up, fetch today's data into a database
(``update``), build one from files, merge dated ones into a history
(``build-history``), list the cached ones, show a database's metadata, export it.

User mistakes (a bad address, a missing or broken file) print one line on stderr,
``geoip-rs: error: ...``, and exit with status 1 (2 for bad usage); no tracebacks.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from . import FormatError, __version__
from . import _archives, cache
from . import _history_update as ranges
from . import _update as updating
from ._geoip_rs import EXPORT_FORMATS, ORIGIN_POLICIES
from ._history import build_history
from .database import (
    BATCH_FIELDS,
    COUNTRY_ORDER,
    MMDB_COUNTRY_FIELDS,
    SOURCE_KINDS,
    Database,
    build_database,
    convert_mmdb,
    open as open_db,
    sample_path,
)

#: The output columns of ``lookup``: the record fields a batch gives.
COLUMNS = [name for name, _ in BATCH_FIELDS]
#: The columns the aligned table shows (the others are in CSV and JSON lines).
SHOWN = ["address", "prefix", "asn", "as_name", "country", "country_source", "org_name"]
#: The column ``lookup --at`` adds: the time of the snapshot that answered.
AT_COLUMN = "snapshot_time"
#: Addresses looked up per batch when reading a file: bounded memory for any size.
CHUNK = 100_000
DB_HELP = "database file (default: the newest in the cache, else the bundled sample)"


class UserError(Exception):
    """A mistake of the user's, reported in one line."""


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (`geoip-rs export | head`): stop quietly, and point
        # stdout at /dev/null so that the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UserError as e:
        return fail(str(e))
    except updating.UpdateError as e:
        return update_failed(e, args)
    except (OSError, ValueError, FormatError) as e:
        return fail(str(e))
    except KeyboardInterrupt:
        fail("interrupted", 130)
        # Leave now: download threads may be waiting on a silent server, and the
        # interpreter would wait for them; what they leave is .part files to resume.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)


def update_failed(e: updating.UpdateError, args: argparse.Namespace) -> int:
    """An update's problems, one line each, and what it leaves behind."""
    for line in e.problems:
        print(f"geoip-rs: error: {line}", file=sys.stderr)
    if e.done:
        print(f"geoip-rs: stopped at that date; {args.history} keeps what the dates "
              "before it added", file=sys.stderr)
    if e.built:
        print(f"geoip-rs: {e.built} is built, but {args.history} was left as it was",
              file=sys.stderr)
    if e.done or e.built:
        return 1
    kept = cache.newest(getattr(args, "cache_dir", None))
    print("geoip-rs: no new database; " + (f"{kept} stays in use" if kept else
          "geoip_rs.open() still opens the bundled sample"), file=sys.stderr)
    return 1


def fail(message: str, status: int = 1) -> int:
    print(f"geoip-rs: error: {message}", file=sys.stderr)
    return status


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="geoip-rs",
        description="IP address -> prefix -> origin AS -> organisation -> country.",
    )
    p.add_argument("--version", action="version", version=f"geoip-rs {__version__}")
    sub = p.add_subparsers(required=True, metavar="command")
    add_lookup(sub)

    b = sub.add_parser("build", help="build a database from routing and registry files")
    b.add_argument("output", help="database file to write")
    for name, what, _ in SOURCE_KINDS:
        b.add_argument(f"--{name}", action="append", default=[], metavar="FILE",
                       help=f"{what} (repeatable)")
    b.add_argument("--origin-policy", choices=ORIGIN_POLICIES, default=ORIGIN_POLICIES[0])
    b.add_argument("--country-order", metavar="NAMES",
                   help="the country sources to try, in order, separated by commas "
                        f"(default: {','.join(COUNTRY_ORDER)})")
    b.add_argument("--mmdb-country-field", action="append", metavar="PATH",
                   help="where an MMDB record's country is (a dotted path; repeatable: "
                        f"the first a record has; default: {', '.join(MMDB_COUNTRY_FIELDS)})")
    b.add_argument("--skip-errors", action="store_true",
                   help="skip malformed records instead of stopping")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(run=run_build)

    add_update(sub)
    add_build_history(sub)
    ls = sub.add_parser("list", help="list the databases in the cache directory")
    ls.add_argument("--cache-dir", help="cache directory (default: $GEOIP_RS_CACHE or the "
                    "platform's user cache directory)")
    ls.set_defaults(run=run_list)

    i = sub.add_parser("info", help="show a database's provenance and counts")
    i.add_argument("db", nargs="?", help=DB_HELP)
    i.add_argument("--json", action="store_true", help="print the metadata as JSON")
    i.set_defaults(run=run_info)

    c = sub.add_parser("convert", help="compile an MMDB file into geoip_rs's format, "
                       "for fast batches over a file read many times")
    c.add_argument("mmdb", help="the MMDB file")
    c.add_argument("output", help="the file to write")
    c.set_defaults(run=run_convert)

    e = sub.add_parser("export", help="write a database's prefixes as ipasn or CSV, "
                       "or the database as an MMDB (MaxMind DB) file")
    e.add_argument("db", nargs="?", help=DB_HELP)
    e.add_argument("--format", choices=EXPORT_FORMATS + ("mmdb",), default=EXPORT_FORMATS[0])
    e.add_argument("-o", "--output", help="file to write (default: stdout; needed for mmdb)")
    e.add_argument("--database-type", default="geoip_rs-ASN-Country",
                   help="the MMDB metadata's database_type (mmdb only)")
    e.add_argument("--at", help="the snapshot of a history to write (mmdb only)")
    e.add_argument("--description", help="the MMDB metadata's English description (mmdb only)")
    e.add_argument("--ipv4-aliases", action=argparse.BooleanOptionalAction, default=None,
                   help="answer IPv4 asked as IPv4-mapped, 6to4 or Teredo IPv6 (mmdb only; "
                        "default: unless the database routes prefixes there)")
    e.set_defaults(run=run_export)
    return p


def add_lookup(sub: Any) -> None:
    lk = sub.add_parser("lookup", help="look addresses up")
    lk.add_argument("addresses", nargs="*", metavar="IP", help="addresses to look up")
    lk.add_argument("-f", "--file", help="read addresses from a file, one per line ('-' for stdin)")
    lk.add_argument("-d", "--db", help=DB_HELP)
    lk.add_argument("-o", "--format", choices=["table", "csv", "jsonl"], default="table")
    lk.add_argument("--at", metavar="TIME",
                    help="answer as the database did then (a history's snapshot in force "
                    "at TIME): YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SSZ, UTC; "
                    "adds the snapshot_time column")
    lk.set_defaults(run=run_lookup)


def add_update(sub: Any) -> None:
    u = sub.add_parser("update", help="download today's public data and build a database "
                       "in the cache directory")
    u.add_argument("--cache-dir", help="cache directory (default: $GEOIP_RS_CACHE or the "
                   "platform's user cache directory)")
    u.add_argument("--collector", action="append", metavar="NAME",
                   help="route collector (repeatable): RouteViews 'route-views2', "
                   "'route-views6', ... or RIPE RIS 'rrc00'... (default: "
                   f"{' and '.join(_archives.DEFAULT_COLLECTORS)})")
    u.add_argument("--rir", action="append", choices=_archives.RIRS,
                   help="registries whose delegated files to use (default: all five)")
    u.add_argument("--no-asnames", action="store_true", help="leave out RIPE's AS name list")
    u.add_argument("--accept-caida-aua", action="store_true",
                   help="use CAIDA's AS-to-organisation data, accepting its Acceptable Use "
                   f"Agreement (or set {updating.ACCEPT_CAIDA_ENV}=1)")
    u.add_argument("--date", help="build for a past moment: YYYY-MM-DD or YYYY-MM-DDTHH:MM "
                   "UTC; or FIRST..LAST, a database for each date of that range (with "
                   "--history)")
    u.add_argument("--every", choices=ranges.EVERY,
                   help="the dates of a --date range: every day, week or month (default: "
                   "month, the same day of each month)")
    u.add_argument("--history", metavar="FILE", help="add the database to this history "
                   "file (made if missing); left out if it has a snapshot of the same time")
    u.add_argument("--url", action="append", default=[], metavar="NAME=URL",
                   help=f"base URL of a source (repeatable; or {updating.URL_ENV_PREFIX}<NAME>): "
                   f"{', '.join(updating.SOURCES)}")
    u.add_argument("--offline", action="store_true", help="rebuild from the cache; no network")
    u.add_argument("--keep", type=int, metavar="N", help="then delete all but the N newest "
                   "databases")
    u.add_argument("--origin-policy", choices=ORIGIN_POLICIES, default="majority")
    u.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    u.add_argument("--retries", type=int, default=3)
    u.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    u.set_defaults(run=run_update)


def add_build_history(sub: Any) -> None:
    h = sub.add_parser("build-history", help="merge dated databases into one history file")
    h.add_argument("output", metavar="OUT", help="history file to write")
    h.add_argument("databases", nargs="+", metavar="DB", help="databases (or histories) to "
                   "merge: a snapshot each, at the date of its routing data")
    h.add_argument("--append", action="store_true", help="add them to the snapshots "
                   "OUT already has (made if missing) instead of replacing it")
    h.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    h.set_defaults(run=run_build_history)


#: What ``--at`` takes beyond ``update --date``'s forms: the seconds of the core's ISO form.
SECONDS_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")


def moment(text: str) -> datetime:
    """A ``--at`` time as an aware UTC datetime: ``update --date``'s forms, or with
    seconds."""
    try:
        return _archives.parse_moment(text)
    except ValueError:
        pass
    for fmt in SECONDS_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    raise UserError(f"--at {text!r} is not YYYY-MM-DD, YYYY-MM-DDTHH:MM or "
                    "YYYY-MM-DDTHH:MM:SSZ (UTC)")


def open_arg(path: str | None) -> Database:
    return open_db(path) if path else open_db()


# --- lookup -----------------------------------------------------------------


def run_lookup(args: argparse.Namespace) -> int:
    if args.addresses and args.file:
        raise UserError("give addresses as arguments or with --file, not both")
    at = moment(args.at) if args.at is not None else None
    extra = [AT_COLUMN] if at is not None else []
    with open_arg(args.db) as db:
        out = Output(args.format, sys.stdout, COLUMNS + extra, SHOWN + extra)
        for chunk in chunks(address_lines(args)):
            for row in lookup_rows(db, chunk, at):
                out.write(row)
            out.flush()
        out.flush()  # the header alone, if there were no addresses
    return 0


def address_lines(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """``(where, address)`` pairs: where names the argument or line for errors."""
    if args.addresses:
        for n, a in enumerate(args.addresses, 1):
            yield f"argument {n}", a
        return
    if args.file is None and sys.stdin.isatty():
        raise UserError("no addresses: give them as arguments, with --file, or on stdin")
    name = args.file or "-"
    f: TextIO = sys.stdin if name == "-" else open(name, encoding="utf-8")  # noqa: SIM115
    label = "stdin" if name == "-" else name
    try:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if text:
                yield f"line {n} of {label}", text
    finally:
        if f is not sys.stdin:
            f.close()


def chunks(items: Iterable[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def lookup_rows(db: Database, chunk: list[tuple[str, str]],
                at: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The output rows of a chunk; with ``at``, answered then, with the time of the
    snapshot that answered (None before the first)."""
    try:
        cols = db.lookup_batch([a for _, a in chunk], details=True, at=at)
    except ValueError as e:
        # The batch names the index; the user wants the line or argument.
        raise UserError(locate(str(e), chunk)) from None
    found = cols["found"].tolist()
    lists = {name: _values(kind, _as_list(cols[name]), found)
             for name, kind in BATCH_FIELDS if kind != "address"}
    names = COLUMNS
    if at is not None:
        lists[AT_COLUMN] = [None if t is None else f"{t:%Y-%m-%dT%H:%M:%SZ}"
                            for t in cols[AT_COLUMN].tolist()]
        names = COLUMNS + [AT_COLUMN]
    for i, (_, address) in enumerate(chunk):
        yield {name: lists[name][i] if name in lists else address for name in names}


def _as_list(column: Any) -> list[Any]:
    """A batch column as a list: numpy arrays through ``tolist`` (plain ints and
    bytes, made in one call), text columns as they are."""
    return column.tolist() if hasattr(column, "tolist") else column


def _values(kind: str, values: list[Any], found: list[bool]) -> list[Any]:
    """A batch column as output values: codes decoded, misses as None."""
    if kind == "asn":
        return [v if f else None for v, f in zip(values, found)]
    if kind == "code":
        return [v.decode() or None for v in values]
    return values


def locate(message: str, chunk: list[tuple[str, str]]) -> str:
    """``'x' does not appear ... (at index 3)`` -> ``line 4 of f: 'x' does not ...``."""
    head, sep, tail = message.rpartition(" (at index ")
    if sep and tail.endswith(")") and tail[:-1].isdigit():
        return f"{chunk[int(tail[:-1])][0]}: {head}"
    return message


class Output:
    """Rows as an aligned table (aligned per chunk, so that memory stays bounded),
    CSV or JSON lines."""

    def __init__(self, fmt: str, stream: TextIO, columns: list[str] = COLUMNS,
                 shown: list[str] = SHOWN) -> None:
        self.fmt, self.stream, self.shown = fmt, stream, shown
        self.rows: list[dict[str, Any]] = []
        self.header = True
        self.csv = csv.DictWriter(stream, columns, lineterminator="\n") if fmt == "csv" else None
        if self.csv:
            self.csv.writeheader()

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif self.csv:
            self.csv.writerow({k: "" if v is None else v for k, v in row.items()})
        else:
            self.rows.append(row)

    def flush(self) -> None:
        """End of a chunk: write the table rows so far."""
        if self.fmt == "table" and (self.rows or self.header):
            self.stream.write(table(self.rows, self.header, self.shown))
            self.rows, self.header = [], False


def table(rows: list[dict[str, Any]], header: bool, shown: list[str] = SHOWN) -> str:
    cells = [[c.upper() for c in shown]]
    for r in rows:
        cells.append(["-" if r[c] is None else str(r[c]) for c in shown])
    widths = [max(len(row[i]) for row in cells) for i in range(len(shown))]
    widths[shown.index("as_name")] = min(widths[shown.index("as_name")], 40)
    lines = []
    for row in cells if header else cells[1:]:
        parts = [v if len(v) <= w else v[: w - 1] + "…" for v, w in zip(row, widths)]
        lines.append("  ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip())
    return "\n".join(lines) + "\n"


# --- update, list ---------------------------------------------------------------


def run_update(args: argparse.Namespace) -> int:
    urls = {}
    for item in args.url:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise UserError(f"--url {item!r}: expected NAME=URL")
        urls[name] = url
    options: dict[str, Any] = dict(
        cache_dir=args.cache_dir,
        collectors=args.collector or _archives.DEFAULT_COLLECTORS,
        rirs=args.rir or _archives.RIRS,
        asnames=not args.no_asnames,
        accept_caida_aua=True if args.accept_caida_aua else None,
        urls=urls, offline=args.offline, keep=args.keep,
        origin_policy=args.origin_policy, timeout=args.timeout, retries=args.retries,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    first, dots, last = (args.date or "").partition("..")
    if not dots:
        if args.every:
            raise UserError("--every is for a range of dates: --date FIRST..LAST")
        report_update(updating.update(date=args.date, history=args.history, **options), set())
        return 0
    if not args.history:
        raise UserError("a range of dates needs --history FILE to add its databases to")
    dates = ranges.date_range(first, last, args.every or "month")
    noted: set[str] = set()
    ranges.update_history(args.history, dates, **options,
                          on_result=lambda t, r: report_update(r, noted, ranges.date_label(t)))
    return 0


def report_update(result: updating.UpdateResult, noted: set[str], date: str = "") -> None:
    """What an update did, as it is done (a range's dates may take long); each note
    once (the dates of a range share most of them)."""
    for w in result.warnings:
        if w not in noted:
            print(f"geoip-rs: note: {w}", file=sys.stderr)
            noted.add(w)
    print((f"{date}: " if date else "") + updating.describe(result), flush=True)
    for p in result.pruned:
        print(f"removed {p}")


def run_list(args: argparse.Namespace) -> int:
    dbs = cache.databases(args.cache_dir)
    if not dbs:
        print(f"no databases in {cache.cache_dir(args.cache_dir)}; "
              f"geoip_rs.open() opens the bundled sample")
        return 0
    for i, d in enumerate(dbs):
        mark = "*" if i == 0 else " "
        print(f"{mark} {d.data_time:%Y-%m-%d %H:%M} UTC  {d.age_days:7.1f} days old  "
              f"{d.path.stat().st_size / 1e6:8.1f} MB  {d.path}")
    return 0


# --- build, info, export -----------------------------------------------------


def run_build(args: argparse.Namespace) -> int:
    # Without a prefix source build_database raises a ValueError naming the kinds.
    sources = {name: getattr(args, name) for name, _, _ in SOURCE_KINDS}
    db = build_database(
        args.output,
        **sources,
        origin_policy=args.origin_policy,
        on_error="skip" if args.skip_errors else "raise",
        progress=not args.quiet and sys.stderr.isatty(),
        country_order=args.country_order,
        mmdb_country_fields=args.mmdb_country_field,
    )
    with db:
        meta = db.metadata
        print(f"wrote {args.output}: {describe(meta)}", file=sys.stderr)
        for s in meta["sources"] if args.skip_errors else ():
            reasons = ", ".join(f"{n:,} {why}" for why, n in s["skipped"].items())
            print(f"{s['name']}: {s['records']:,} records read, left out: {reasons or 'none'}",
                  file=sys.stderr)
    return 0


def run_build_history(args: argparse.Namespace) -> int:
    inputs = list(args.databases)
    if args.append and os.path.exists(args.output):
        inputs.insert(0, args.output)
    with build_history(args.output, inputs, progress=not args.quiet and sys.stderr.isatty()) as db:
        snaps = db.snapshots
        print(f"wrote {args.output}: {len(snaps)} snapshots, {when(snaps[0]['time'])} .. "
              f"{when(snaps[-1]['time'])}", file=sys.stderr)
    return 0


def when(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC"


def describe(meta: dict[str, Any]) -> str:
    c = meta["counts"]
    return (
        f"{c['ipv4_prefixes']:,} IPv4 and {c['ipv6_prefixes']:,} IPv6 prefixes, "
        f"{c['ases']:,} ASes, {c['orgs']:,} organisations"
    )


def run_info(args: argparse.Namespace) -> int:
    with open_arg(args.db) as db:
        meta = db.metadata
        if args.json:
            print(json.dumps(meta, indent=2))
            return 0
        print(f"database:  {db.path}{'  (bundled sample)' if db.path == sample_path() else ''}")
        print(f"format:    {meta['format_version']} (geoip_rs {meta['geoip_rs_version']})")
        print(f"built:     {meta['built']}")
        snaps = db.snapshots if db.is_history else []
        if snaps:
            print(f"history:   {len(snaps)} snapshots, {when(snaps[0]['time'])} .. "
                  f"{when(snaps[-1]['time'])}")
        if db.age is not None:
            print(f"data of:   {meta['data_time']}  ({db.age.total_seconds() / 86400:.1f} days old)")
        print(f"contents:  {describe(meta)}" + " in all snapshots" * bool(snaps))
        for k, v in meta["options"].items():
            print(f"option:    {k} = {v}")
        if snaps:
            print_snapshots(snaps)
        print("sources of the newest snapshot:" if snaps else "sources:")
        for s in meta["sources"]:
            print(f"  {s['kind']:<10} {s['name']}  date {s['date'] or '-'}  "
                  f"{s['size']:,} bytes  sha256 {s['sha256'][:16]}…")
    return 0


def print_snapshots(snaps: list[dict[str, Any]]) -> None:
    """A history's snapshots, one line each: its time, its prefixes and the prefix
    sources it was built from (what sets its time)."""
    prefix_kinds = {name for name, _, is_prefix in SOURCE_KINDS if is_prefix}
    print("snapshots:")
    for s in snaps:
        c = s["counts"]
        sources = ", ".join(f"{x['kind']} {x['name']}" for x in s["sources"]
                            if x["kind"] in prefix_kinds)
        print(f"  {when(s['time'])}  {c['ipv4_prefixes']:>9,} IPv4 {c['ipv6_prefixes']:>7,} "
              f"IPv6 prefixes  {sources}")


def run_export(args: argparse.Namespace) -> int:
    if args.format == "mmdb":
        return run_export_mmdb(args)
    with open_arg(args.db) as db:
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                export(db, args.format, f)
        else:
            export(db, args.format, sys.stdout)
    return 0


def run_convert(args: argparse.Namespace) -> int:
    done = convert_mmdb(args.mmdb, args.output)
    print(f"wrote {args.output}: {done['ipv4_networks']:,} IPv4 and {done['ipv6_networks']:,} "
          f"IPv6 networks, {done['records']:,} records, {done['bytes']:,} bytes", file=sys.stderr)
    return 0


def run_export_mmdb(args: argparse.Namespace) -> int:
    if not args.output:
        raise UserError("--format mmdb writes a file: give it with -o OUT.mmdb")
    at = moment(args.at) if args.at is not None else None
    with open_arg(args.db) as db:
        if not isinstance(db, Database):
            raise UserError(f"{db.path} is already an MMDB file")
        done = db.to_mmdb(args.output, database_type=args.database_type, at=at,
                          description=args.description, ipv4_aliases=args.ipv4_aliases)
    aliases = "with" if done["ipv4_aliases"] else "without"
    print(f"wrote {args.output}: {done['networks']:,} networks, {done['bytes']:,} bytes, "
          f"{aliases} IPv4 aliases", file=sys.stderr)
    return 0


def export(db: Database, fmt: str, out: TextIO) -> None:
    """Stream the prefixes as ``fmt`` text, a chunk of rows at a time."""
    start = 0
    while True:
        # Positions run over every snapshot's prefixes in a history (some rows of
        # a chunk may be absent at its newest): the end is where no position is left.
        text, next_start = db._export(fmt, start, CHUNK)
        out.write(text)
        if next_start <= start:
            return
        start = next_start


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
