"""The GeoIP database: open, build, and the pandas-facing helpers.

The lookups themselves are in Rust (``_geoip_rs.Database``); this subclass adds what
is easier in Python: DataFrames, the bundled sample database, and a builder that
opens what it wrote.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, Literal, Union


from . import _geoip_rs, _history

PathLike = Union[str, "os.PathLike[str]"]

#: The record fields a batch gives (all but the origin lists), as (name, type), in
#: the order of the core's one schema: the columns of ``to_pandas`` and of the
#: command line's output.
BATCH_FIELDS = [(name, kind) for name, kind, _ in _geoip_rs.RECORD_FIELDS if kind != "origins"]

#: The file name of the database bundled with the package.
SAMPLE_NAME = "sample.geoipdb"


def sample_path() -> str:
    """Path of the bundled sample database (RouteViews 2014 RIB, RIR 2014, AS names)."""
    return str(resources.files("geoip_rs") / "data" / SAMPLE_NAME)


class Database(_geoip_rs.Database):
    """A GeoIP database file, memory-mapped: ``Database(path)`` or ``geoip_rs.open()``."""

    _load_summaries: dict[str, dict[str, Any]] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """The file's provenance (``sources``, ``built``, ``options``, ``counts``...),
        plus ``path``, the file opened, and ``data_time``, the time of its newest
        routing data (ISO 8601, UTC), from which ``age`` counts."""
        meta: dict[str, Any] = super().metadata
        meta["path"] = self.path
        meta["data_time"] = self._data_time()
        return meta

    @property
    def age(self) -> timedelta | None:
        """How old the routing data is: now minus ``metadata["data_time"]``."""
        t = self.metadata["data_time"]
        if t is None:
            return None
        return datetime.now(timezone.utc) - _parse_time(t)

    @property
    def load_summaries(self) -> dict[str, dict[str, Any]]:
        """Each source file's load summary by path (``records``, ``entries``,
        ``prefixes``, ``skipped``, ``errors``, ``truncated``), for a database
        ``build_database`` just made; empty for one opened from a file (its
        ``metadata["sources"]`` keeps the counts)."""
        return dict(self._load_summaries or {})

    def to_pandas(
        self,
        addresses: Any,
        columns: Sequence[str] | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
        at: Any = None,
    ) -> Any:
        """A pandas DataFrame with one row per address: ``to_arrow``'s columns, misses
        as missing values (at ``at``, as ``to_arrow`` takes it). Needs pandas and pyarrow (``pip install geoip_rs[pandas]``).

        The dictionary-encoded columns (AS name, organisation, country, its source,
        registry) become ``Categorical``: pandas' own dictionary encoding, which
        ``groupby``, ``value_counts`` and comparisons understand. The others stay
        Arrow-backed (``pd.ArrowDtype``): the strings are not copied into Python
        objects, and integers with misses stay ``uint32``/``uint8`` instead of
        turning into floats."""
        return arrow_to_pandas(self.to_arrow(addresses, columns, on_error=on_error, at=at))

    def to_polars(
        self,
        addresses: Any,
        columns: Sequence[str] | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
        at: Any = None,
    ) -> Any:
        """A Polars DataFrame with one row per address: ``to_arrow``'s columns (the
        dictionary-encoded ones as ``Categorical``), taken without a copy."""
        pl = _require("polars", "polars")
        return pl.DataFrame(self.to_arrow(addresses, columns, on_error=on_error, at=at))

    def to_mmdb(
        self,
        path: PathLike,
        *,
        database_type: str = "geoip_rs-ASN-Country",
        description: str | None = None,
        ipv4_aliases: bool | None = None,
        at: Any = None,
    ) -> dict[str, Any]:
        """Write the database as an MMDB (MaxMind DB) file, atomically, that every
        MaxMind reader opens (nginx, ClickHouse, Logstash, ``maxminddb``...).

        Each record has MaxMind's field names (``autonomous_system_number``,
        ``autonomous_system_organization``, ``country.iso_code``,
        ``registered_country.iso_code``) and every field of ``Record`` under
        ``geoip_rs`` (``geoip_rs.prefix``, ``geoip_rs.origins``...), with
        ``geoip_rs.prefix_length``. The networks are the database's prefixes,
        split only where a more specific prefix or a different answer (an RIR
        block's country) inside them requires; unrouted space has no record.

        ``ipv4_aliases`` answers IPv4 asked as IPv4-mapped, 6to4 or Teredo IPv6,
        as MaxMind's files do; by default on unless the database routes prefixes
        inside those networks (which the aliases would hide). ``at`` picks the
        snapshot of a history (the newest by default).

        Returns what was written: ``networks``, ``aliased_out`` (networks left out
        under forced aliases), ``ipv4_aliases`` and ``bytes``."""
        snapshot = None
        if at is not None:
            snapshot = self._snapshot_at(at)
            if snapshot is None:
                raise ValueError(f"{self.path} has no snapshot at {at!r}")
        return _geoip_rs._to_mmdb(
            self,
            os.fspath(path),
            database_type=database_type,
            description=description,
            ipv4_aliases=ipv4_aliases,
            snapshot=snapshot,
        )

    @property
    def snapshots(self) -> list[dict[str, Any]]:
        """Each snapshot, oldest first: ``index``, ``time`` (the date of its routing
        data, a UTC datetime) and its database's ``sources``, ``built``,
        ``options`` and ``counts``. A one-date database is one snapshot."""
        return _history.snapshots(self)

    def snapshot_at(self, at: Any) -> dict[str, Any] | None:
        """The snapshot that answers at ``at`` (the newest taken at or before it):
        ``index``, ``time``, and ``age``, how old it was then; None before the first."""
        return _history.snapshot_at(self, at)

    def history(self, address_or_prefix: Any, *, frame: bool = False) -> Any:
        """The intervals in which an address (its longest match) or a prefix
        (exactly it) was routed with one record: ``(start, end, record)`` tuples,
        oldest first, ``end`` the time of the next snapshot (None while it lasts);
        with ``frame=True`` a DataFrame of ``start``, ``end`` and the record's
        fields."""
        return _history.history(self, address_or_prefix, frame)

    def diff(self, t1: Any, t2: Any, *, frame: bool = True) -> Any:
        """The prefixes announced, withdrawn, or announced with other origins in the
        snapshot in force at ``t2`` compared with the one at ``t1``: a DataFrame of
        ``prefix``, ``kind`` (announced, withdrawn, changed), ``old`` and ``new``
        (the primary origin, missing where not announced) and both origin lists;
        with ``frame=False`` a dict of those columns as lists."""
        return _history.diff(self, t1, t2, frame)

    def summary(self, by: Literal["asn", "country"] = "asn", *, frame: bool = True) -> Any:
        """Prefixes and addresses per origin AS (with name, organisation and country)
        or per country (with the number of ASes).

        Per AS, the country is the AS's own: its organisation's, else its RIR
        registration's, else its name's (in the file's country order, without the
        steps that depend on an address). Per country, each prefix counts where a
        lookup of its first address puts it (an MMDB network's or the address block's
        country can decide there), so an AS's addresses can be split over countries.
        A DataFrame, or with ``frame=False`` a dict of column lists."""
        cols = self._summary(by)
        if not frame:
            return cols
        return _require("pandas", "pandas").DataFrame(cols)


#: The Arrow schema of ``Database.to_arrow(addresses, columns)``: the core's, through
#: the PyCapsule interface (``pyarrow.schema(arrow_schema())``).
arrow_schema = _geoip_rs.arrow_schema


def _parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _require(module: str, extra: str) -> Any:
    """An optional dependency, or an ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"this needs {module}: pip install {module} (or geoip_rs[{extra}])") from e


def arrow_to_pandas(table: Any) -> Any:
    """An Arrow table of records (``to_arrow``'s, or its empty schema's) as
    ``to_pandas`` gives it: the dictionary columns ``Categorical`` with text
    categories, every other column ``pd.ArrowDtype``."""
    pd = _require("pandas", "pandas")
    pa = _require("pyarrow", "arrow")
    mapper = lambda t: None if pa.types.is_dictionary(t) else pd.ArrowDtype(t)  # noqa: E731
    df = pa.table(table).to_pandas(types_mapper=mapper)
    # pyarrow makes an empty dictionary (a column all null) into ``object``
    # categories and any other into ``str`` ones; frames put together (Dask's
    # partitions, ``pd.concat``) want one dtype.
    text = pd.Index(["x"]).dtype  # str under pandas 3, object before
    for c in df.columns[[isinstance(t, pd.CategoricalDtype) for t in df.dtypes]]:
        categories = df[c].cat.categories
        if categories.dtype != text:
            df[c] = df[c].cat.set_categories(categories.astype(text))
    return df


class MmdbDatabase(_geoip_rs.MmdbDatabase):
    """An MMDB (MaxMind DB) file, memory-mapped and read-only: ``geoip_rs.open(path)``
    or ``MmdbDatabase(path)``. Lookups give the records as dicts (as maxminddb's
    reader does); batches give chosen fields as columns."""

    def to_pandas(
        self,
        addresses: Any,
        fields: str | Sequence[str] | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
    ) -> Any:
        """A pandas DataFrame with one row per address: ``to_arrow``'s columns
        (text ones ``Categorical``, the others Arrow-backed), misses missing."""
        return arrow_to_pandas(self.to_arrow(addresses, fields, on_error=on_error))

    def to_polars(
        self,
        addresses: Any,
        fields: str | Sequence[str] | None = None,
        *,
        on_error: Literal["raise", "null"] = "raise",
    ) -> Any:
        """A Polars DataFrame with one row per address: ``to_arrow``'s columns."""
        pl = _require("polars", "polars")
        return pl.DataFrame(self.to_arrow(addresses, fields, on_error=on_error))


def open(  # noqa: A001
    path: PathLike | None = None, *, verify: bool = True
) -> Database | MmdbDatabase:
    """Open a database file; with no argument, the newest database that
    ``geoip_rs.update()`` left in the cache directory, or the bundled sample when
    there is none (``default_path()`` says which).

    An MMDB (MaxMind DB) file, or one compiled by ``convert_mmdb``, opens as an
    ``MmdbDatabase``.

    ``verify`` checks the file's checksum (reading it once), or an MMDB file's
    whole tree and data; without it only the structure is checked and the pages
    are read as queries need them."""
    p = os.fspath(path) if path is not None else default_path()
    if _geoip_rs._file_kind(p) != "database":
        return MmdbDatabase(p, verify=verify)
    return Database(p, verify=verify)


def convert_mmdb(mmdb: PathLike, out: PathLike) -> dict[str, Any]:
    """Compile the MMDB file ``mmdb`` into geoip_rs's own format at ``out``
    (atomically): its networks into the Poptrie a database uses, its records kept
    once each. ``geoip_rs.open(out)`` then gives an ``MmdbDatabase`` that answers as
    the MMDB file does, with batches at a database's speed: for a file read many
    times. Returns ``ipv4_networks``, ``ipv6_networks``, ``records`` and ``bytes``.

    It answers as the MMDB file does, IPv4 asked in the IPv4 aliases' forms
    (IPv4-mapped, 6to4, Teredo) included where the file has them; a miss's
    ``get_with_prefix_len`` length is 0 (the file's empty networks are not kept)."""
    return _geoip_rs._compile_mmdb(os.fspath(mmdb), os.fspath(out))


def default_path() -> str:
    """The database ``open()`` opens without a path: the cache's newest (by the time
    of its data; see ``geoip_rs.cache``), else the bundled sample."""
    from . import cache

    newest = cache.newest()
    return str(newest) if newest is not None else sample_path()


#: The kinds of source file a database is built from, as ``(name, description,
#: is_prefix_source)``, in the order a build reads them. ``build_database`` takes each
#: name as a keyword argument and ``geoip-rs build`` as an option ``--<name>``.
SOURCE_KINDS: tuple[tuple[str, str, bool], ...] = _geoip_rs.SOURCE_KINDS

#: The country sources in the order a record's country is looked for, unless a build
#: chooses another: an MMDB file's network, the organisation (CAIDA as2org), the RIR
#: block of the address, the RIR delegation of the AS number, the AS name.
COUNTRY_ORDER: tuple[str, ...] = _geoip_rs.COUNTRY_ORDER

#: Where an MMDB record's country is read from (dotted paths), the first the record
#: has, unless a build chooses other fields.
MMDB_COUNTRY_FIELDS: tuple[str, ...] = _geoip_rs.MMDB_COUNTRY_FIELDS


def build_database(
    path: PathLike,
    *,
    origin_policy: Literal["first_peer", "majority", "all"] = "first_peer",
    on_error: Literal["raise", "skip"] = "raise",
    progress: bool | Callable[[int, int], Any] | None = None,
    country_order: Sequence[str] | str | None = None,
    mmdb_country_fields: Sequence[str] | str | None = None,
    **sources: Sequence[PathLike] | PathLike,
) -> Database:
    """Build a database from routing and registry files and open it.

    The files are keyword arguments named by their kind (see ``SOURCE_KINDS`` and
    the list below), each one path or several. At least one prefix source is needed.
    MRT files (RIB dumps, then update files) are read into one RIB and each prefix's
    origin chosen by ``origin_policy``; the other kinds follow in the order of
    ``SOURCE_KINDS``, each kind's files in the order given. The file is written
    atomically.

    A record's country comes from the first source of ``country_order`` that has
    one (names of ``COUNTRY_ORDER``, in a list or separated by commas; by default
    ``COUNTRY_ORDER``); sources left out are not asked. An MMDB file's country is
    read from the first of ``mmdb_country_fields`` its record has (dotted paths;
    by default ``MMDB_COUNTRY_FIELDS``: MaxMind's and DB-IP's ``country.iso_code``,
    ipinfo's ``country``), and an address takes it from the first MMDB file whose
    networks cover it. Both are kept in the file's ``metadata["options"]``.

    The returned database's ``load_summaries`` holds each file's load summary
    (records read, entries, prefixes, what was skipped and why), by path.

    Source kinds:
    """
    known = {name for name, _, _ in SOURCE_KINDS}
    for kind in sources:
        if kind not in known:
            raise TypeError(f"build_database() got an unexpected keyword argument {kind!r}")
    pairs = [(kind, p) for kind, paths in sources.items() for p in _paths(paths)]
    summaries = _geoip_rs._build_database(
        os.fspath(path),
        pairs,
        origin_policy=origin_policy,
        on_error=on_error,
        progress=progress,
        country_order=_names(country_order),
        mmdb_country_fields=_names(mmdb_country_fields),
    )
    # Written and synced just now: the checksum need not be read back.
    db = Database(os.fspath(path), verify=False)
    db._load_summaries = summaries
    return db


# The kinds' list in the docstring comes from the same list as the arguments.
build_database.__doc__ = (build_database.__doc__ or "").rstrip() + "\n" + "".join(
    f"\n    - ``{name}``: {what}{' (prefix source)' if prefix else ''}"
    for name, what, prefix in SOURCE_KINDS
)


def _names(names: Sequence[str] | str | None) -> list[str] | None:
    """A list of names, from one string of them separated by commas or a sequence."""
    if names is None:
        return None
    if isinstance(names, str):
        return [n.strip() for n in names.split(",")]
    return list(names)


def _paths(p: Sequence[PathLike] | PathLike) -> list[str]:
    if isinstance(p, (str, bytes, os.PathLike)):
        return [os.fspath(p)]  # type: ignore[list-item]
    return [os.fspath(x) for x in p]
