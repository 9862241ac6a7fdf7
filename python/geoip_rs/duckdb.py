"""DuckDB: SQL functions that look addresses up, vectorised through Arrow.

    import duckdb
    import geoip_rs.duckdb

    con = duckdb.connect()
    geoip_rs.duckdb.register(con)
    con.sql("SELECT ip, geoip_asn(ip), geoip_country(ip) FROM read_parquet('ips.parquet')")

``register`` makes one function per record column but ``address``
(``geoip_prefix``, ``geoip_asn``, ``geoip_origins``, ...) and ``geoip_lookup``, the
whole record as a STRUCT (one lookup where a query wants several fields). Each takes
VARCHAR; DuckDB hands it a batch of addresses as a pyarrow array and takes back the
Arrow column ``Database.to_arrow`` gives.

Each has a twin that answers at a time, as the snapshot of a history (see
``geoip_rs.build_history``) in force then: ``geoip_asn_at(ip, ts)``, ...,
``geoip_lookup_at(ip, ts)``, ``ts`` a TIMESTAMP (taken as UTC), TIMESTAMPTZ (the
instant) or DATE (its midnight, UTC), whatever the session's ``TimeZone``.

    con.sql("SELECT ts, ip, geoip_asn_at(ip, ts) FROM read_parquet('logs.parquet')")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import BIGINT, VARCHAR, DuckDBPyType

from ._engines import DatabaseLike, OnError, as_database, check_on_error, lookup_at, record_columns
from .database import Database

__all__ = ["register"]

ArrowFunction = Callable[..., pa.ChunkedArray]


def register(
    con: duckdb.DuckDBPyConnection,
    db: DatabaseLike = None,
    *,
    prefix: str = "geoip_",
    on_error: OnError = "raise",
) -> list[str]:
    """Register the lookup functions on ``con``; returns their names.

    Args:
        con: the connection whose SQL gets the functions.
        db: a ``Database``, the path of one, or None for ``geoip_rs.open()``'s.
        prefix: put before each column's name to make the function's.
        on_error: what the functions do with an address that does not parse:
            ``"raise"`` fails the query (``duckdb.InvalidInputException`` quoting
            the ``ValueError``, whose row number counts within DuckDB's batch),
            ``"null"`` answers NULL.

    A NULL address gives NULL, and so does a miss, and, for the ``_at``
    functions, a time before the first snapshot. A NULL time fails the query
    under ``on_error="raise"`` and gives NULL under ``"null"``.

    The ``_at`` functions are SQL macros, ``epoch_us(ts)`` handed to a Python
    function of their name with ``_us`` added (``geoip_asn_at_us(ip, us)``,
    the time as Unix microseconds), so that DuckDB casts no time through the
    session's ``TimeZone``. Returns every name: the functions, the macros, then
    the ``_us`` functions. The names must be free on ``con`` (DuckDB cannot
    replace a Python function; ``con.remove_function`` frees one, ``DROP
    MACRO`` a macro).
    """
    database = as_database(db)
    check_on_error(on_error)
    fields = _sql_types(database, record_columns(None))
    returns = {**fields, "lookup": duckdb.struct_type(fields)}
    plain = {c: _column(database, c, on_error) for c in fields}
    plain["lookup"] = _record(database, list(fields), on_error)
    registered = [_create(con, prefix + c, fn, [VARCHAR], returns[c]) for c, fn in plain.items()]
    timed = {c: _at_micros(database, c, list(fields), on_error) for c in returns}
    helpers = [_create(con, f"{prefix}{c}_at_us", fn, [VARCHAR, BIGINT], returns[c]) for c, fn in timed.items()]
    macros = [_macro(con, f"{prefix}{c}_at", helper) for c, helper in zip(timed, helpers)]
    return registered + macros + helpers


def _create(con: duckdb.DuckDBPyConnection, name: str, fn: ArrowFunction, parameters: list[DuckDBPyType],
            returns: DuckDBPyType) -> str:
    # "special" null handling: the default one forbids NULL answers, and a miss is one
    # (to_arrow already answers NULL for a NULL address). No side effects lets DuckDB
    # fold a call on a constant.
    con.create_function(
        name, fn, parameters, returns,
        type=PythonUDFType.ARROW, null_handling=FunctionNullHandling.SPECIAL, side_effects=False,
    )
    return name


def _macro(con: duckdb.DuckDBPyConnection, name: str, micros: str) -> str:
    """``name(ip, ts)`` as ``micros(ip, epoch_us(ts))``: epoch_us takes a TIMESTAMP as
    UTC, a TIMESTAMPTZ as its instant and a DATE as its UTC midnight, as
    ``Database.lookup(at=)`` does, where a Python function declared to take one
    of them would have DuckDB cast the others through the session's time zone."""
    con.execute(f"CREATE TEMPORARY MACRO {_quoted(name)}(ip, ts) AS {_quoted(micros)}(ip, epoch_us(ts))")
    return name


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_types(db: Database, columns: Sequence[str]) -> dict[str, DuckDBPyType]:
    """Each record column's DuckDB type, as DuckDB itself reads ``to_arrow``'s Arrow
    type: uint8 as UTINYINT, uint32 as UINTEGER, list<uint32> as UINTEGER[],
    dictionaries as their values' type (VARCHAR)."""
    empty = pa.table(db.to_arrow(pa.array([], pa.string()), list(columns)))
    with duckdb.connect() as scratch:
        rel = scratch.from_arrow(empty)
        return dict(zip(rel.columns, rel.types))


def _column(db: Database, column: str, on_error: OnError) -> ArrowFunction:
    def lookup(addresses: pa.ChunkedArray) -> pa.ChunkedArray:
        return pa.table(db.to_arrow(addresses, [column], on_error=on_error)).column(0)

    return lookup


def _record(db: Database, columns: list[str], on_error: OnError) -> ArrowFunction:
    """The whole record as a struct: NULL where there is none (a NULL, unrouted or,
    with ``on_error="null"``, malformed address), as SQL answers NULL for no value."""

    def lookup(addresses: pa.ChunkedArray) -> pa.ChunkedArray:
        return _struct(pa.table(db.to_arrow(addresses, columns, on_error=on_error)))

    return lookup


def _struct(table: pa.Table) -> pa.ChunkedArray:
    # Every record has a prefix, so a null prefix marks the rows without one.
    records = table.to_struct_array()
    return pc.if_else(pc.is_valid(table.column("prefix")), records, pa.scalar(None, records.type))


def _at_micros(db: Database, column: str, fields: list[str], on_error: OnError) -> ArrowFunction:
    """One record column (or, for ``lookup``, the struct) at a time per address,
    given as Unix microseconds (``epoch_us``)."""

    def lookup(addresses: pa.ChunkedArray, micros: pa.ChunkedArray) -> pa.ChunkedArray:
        # int64 microseconds are a timestamp[us] without a copy; the core takes
        # timestamps, rounding down to seconds (as int64 it would read seconds).
        times = micros.cast(pa.timestamp("us"))
        table = lookup_at(db, addresses, times, fields if column == "lookup" else [column], on_error)
        return _struct(table) if column == "lookup" else table.column(0)

    return lookup
