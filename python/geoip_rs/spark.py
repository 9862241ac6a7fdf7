"""PySpark: add database records to a Spark DataFrame's address column, one Arrow
batch at a time (``pip install geoip_rs[spark]``).

The database file goes to every executor with ``SparkContext.addFile`` (or, with
``ship=False``, is read where it is, from a path every executor sees). Each Python
worker process maps it on its first batch and keeps it: Spark reuses its Python
workers from task to task, so a job of thousands of tasks opens it once per worker.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from . import _engines
from .database import Database, PathLike, arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark import SparkContext
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType, StructField

__all__ = ["enrich"]


def enrich(
    df: DataFrame,
    column: str,
    db: PathLike | Database | None = None,
    columns: Sequence[str] | None = None,
    *,
    on_error: Literal["raise", "null"] = "raise",
    prefix: str = "",
    ship: bool = True,
    at: str | None = None,
) -> DataFrame:
    """``df`` with the records of the addresses in ``column`` added as columns.

    Args:
        df: a Spark DataFrame; its columns and rows are kept as they are.
        column: the string column holding addresses (nulls give null records).
        db: a database path, a ``Database`` (its path is used), or None for
            ``geoip_rs.default_path()`` as the driver sees it.
        columns: the record columns to add (names of ``geoip_rs.arrow_schema()``);
            by default every one but ``address``.
        on_error: ``"raise"`` fails the job on a malformed address; ``"null"``
            gives it a null record.
        prefix: put before each added column's name (``"geo_"`` gives ``geo_asn``).
        ship: send the file to the executors with ``SparkContext.addFile``; with
            False, every executor opens ``db``'s path itself (a shared filesystem).
            Spark sends a file name once per application, so a second database
            of the same name, or this one changed since it was sent, is a
            ``ValueError``: give a rebuilt database a new name.
        at: the column holding each row's time, to answer each row as the
            snapshot of a history (see ``geoip_rs.build_history``) in force then:
            ``timestamp`` (an instant), ``timestamp_ntz`` (taken as UTC),
            ``date`` (its midnight, UTC) or integer Unix seconds. A time before
            the first snapshot gives a null record. A null time fails the job
            with a ``ValueError`` naming its row within the Arrow batch under
            ``on_error="raise"``, and gives a null record under ``"null"``.
            Without ``at``, the newest snapshot answers.

    Spark has no unsigned integers nor dictionary strings: AS numbers become
    ``bigint``, the prefix length ``smallint``, the origins ``array<bigint>`` and
    every text column ``string``. A missing column, an unknown record column or an
    added name the frame already has raises ``ValueError`` before any job runs,
    and a time column of another type ``TypeError``.
    """
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_type
    from pyspark.sql.types import StructField, StructType

    path = _engines.database_path(db)
    names = _engines.record_columns(columns)
    added = [prefix + n for n in names]
    _engines.check_arguments(df.columns, column, added, on_error)
    _engines.check_time_column(df.columns, at)
    if at is not None:
        _check_time_type(df.schema[at])
    types = [_spark_type(f.type) for f in pa.schema(arrow_schema(list(names)))]
    source = _ship(df.sparkSession.sparkContext, path) if ship else path
    schema = StructType(df.schema.fields + [StructField(n, t, True) for n, t in zip(added, types)])
    targets = pa.schema([(n, to_arrow_type(t)) for n, t in zip(added, types)])
    run = functools.partial(_enrich_batches, source=source, shipped=ship, column=column,
                            names=names, on_error=on_error, targets=targets, at=at)
    return df.mapInArrow(run, schema)


# (Spark application, file name) -> (path, file identity) of each file shipped.
_shipped: dict[tuple[str, str], tuple[str, tuple[int, int, int]]] = {}


def _ship(sc: SparkContext, path: str) -> str:
    """Ship ``path`` to the executors (once per application); its name there.

    Spark sends a file name once per application: another file of the same name,
    or the same path after the file changed, would leave the executors with the
    first one (or fail only when a task fetches it), so both are errors here."""
    name = os.path.basename(path)
    key, now = (sc.applicationId, name), (path, _engines.file_identity(path))
    before = _shipped.get(key)
    if before is None:
        sc.addFile(path)
        _shipped[key] = now
    elif before[0] != path:
        raise ValueError(f"another file named {name!r} ({before[0]}) was sent to this Spark "
                         f"application already, and Spark sends each name once: {_SHIP_HINT}")
    elif before != now:
        raise ValueError(f"{path} has changed since it was sent to this Spark application, "
                         f"and Spark sends each name once: {_SHIP_HINT}")
    return name


_SHIP_HINT = "give this database another name, or pass ship=False to open it where it is"


def _check_time_type(field: StructField) -> None:
    """Timestamps (with or without a time zone), dates and integers are times: the
    Arrow types mapInArrow hands them over as are those ``to_arrow(at=)`` takes."""
    from pyspark.sql import types as st

    kinds = (st.TimestampType, st.TimestampNTZType, st.DateType, st.ByteType, st.ShortType,
             st.IntegerType, st.LongType)
    if not isinstance(field.dataType, kinds):
        raise TypeError(f"the time column {field.name!r} is of type {field.dataType.simpleString()}: "
                        "expected timestamp, timestamp_ntz, date or integer Unix seconds")


def _spark_type(t: pa.DataType) -> DataType:
    """The Spark type a record column of Arrow type ``t`` becomes: the smallest
    signed type that holds every value, since Spark has no unsigned ones."""
    import pyarrow as pa
    from pyspark.sql import types as st

    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return st.StringType()
    if pa.types.is_uint8(t):
        return st.ShortType()
    if pa.types.is_uint32(t):
        return st.LongType()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return st.ArrayType(_spark_type(t.value_type), containsNull=True)
    raise TypeError(f"no Spark type for the record column type {t}")


def _enrich_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    source: str,
    shipped: bool,
    column: str,
    names: tuple[str, ...],
    on_error: Literal["raise", "null"],
    targets: pa.Schema,
    at: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Runs in the Python workers: each batch with its records added, cast to the
    types of the schema ``enrich`` promised Spark."""
    import pyarrow as pa
    from pyspark import SparkFiles

    db = _engines.database(SparkFiles.get(source) if shipped else source)
    for batch in batches:
        if at is None:
            found = pa.table(db.to_arrow(batch.column(column), list(names), on_error=on_error))
        else:
            found = _engines.lookup_at(db, batch.column(column), batch.column(at), names, on_error)
        arrays = [found.column(n).cast(t).combine_chunks() for n, t in zip(names, targets.types)]
        yield pa.RecordBatch.from_arrays(batch.columns + arrays,
                                         names=batch.schema.names + targets.names)


def _opens() -> dict[str, int]:
    """Diagnostic: how many times this Python process opened each database path (for
    a shipped file, its copy in the worker's ``SparkFiles`` directory). Each path
    this process used shows 1, whatever the number of tasks it ran."""
    return _engines.opens()
