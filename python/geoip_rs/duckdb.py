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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import VARCHAR, DuckDBPyType

from ._engines import DatabaseLike, OnError, as_database, check_on_error, record_columns
from .database import Database

__all__ = ["register"]

ArrowFunction = Callable[[pa.ChunkedArray], pa.ChunkedArray]


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

    A NULL address gives NULL, and so does a miss. The names must be free on
    ``con`` (DuckDB cannot replace a Python function; ``con.remove_function``
    frees one).
    """
    database = as_database(db)
    check_on_error(on_error)
    fields = _sql_types(database, record_columns(None))
    registered = [_create(con, prefix + column, _column(database, column, on_error), sql_type)
                  for column, sql_type in fields.items()]
    record = _record(database, list(fields), on_error)
    registered.append(_create(con, prefix + "lookup", record, duckdb.struct_type(fields)))
    return registered


def _create(con: duckdb.DuckDBPyConnection, name: str, fn: ArrowFunction, returns: DuckDBPyType) -> str:
    # "special" null handling: the default one forbids NULL answers, and a miss is one
    # (to_arrow already answers NULL for a NULL address). No side effects lets DuckDB
    # fold a call on a constant.
    con.create_function(
        name, fn, [VARCHAR], returns,
        type=PythonUDFType.ARROW, null_handling=FunctionNullHandling.SPECIAL, side_effects=False,
    )
    return name


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
    with ``on_error="null"``, malformed address), as SQL answers NULL for no value;
    every record has a prefix, so a null prefix marks those rows."""

    def lookup(addresses: pa.ChunkedArray) -> pa.ChunkedArray:
        table = pa.table(db.to_arrow(addresses, columns, on_error=on_error))
        records = table.to_struct_array()
        return pc.if_else(pc.is_valid(table.column("prefix")), records, pa.scalar(None, records.type))

    return lookup
