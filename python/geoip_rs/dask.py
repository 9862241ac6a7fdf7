"""Dask: add database records to a Dask DataFrame's address column, partition by
partition (``pip install geoip_rs[dask]``).

The task graph holds the database's path, not the database: each worker process
maps the file on its first partition and keeps it for the rest, so a graph of
thousands of partitions opens it once per process. Every worker must see the file
at that path (a shared filesystem, or the same file copied to each machine).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from . import _engines
from .database import Database, PathLike, arrow_schema, arrow_to_pandas

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

__all__ = ["enrich"]


def enrich(
    ddf: dd.DataFrame,
    column: str,
    db: PathLike | Database | None = None,
    columns: Sequence[str] | None = None,
    *,
    on_error: Literal["raise", "null"] = "raise",
    prefix: str = "",
    at: str | None = None,
) -> dd.DataFrame:
    """``ddf`` with the records of the addresses in ``column`` added as columns.

    Args:
        ddf: a Dask DataFrame; its partitions and index are kept as they are.
        column: the column holding addresses (strings; nulls give null records).
        db: a database path, a ``Database`` (its path is used), or None for
            ``geoip_rs.default_path()`` as this process sees it.
        columns: the record columns to add (names of ``geoip_rs.arrow_schema()``);
            by default every one but ``address``.
        on_error: ``"raise"`` fails the computation on a malformed address;
            ``"null"`` gives it a null record.
        prefix: put before each added column's name (``"geo_"`` gives ``geo_asn``).
        at: the column holding each row's time, to answer each row as the
            snapshot of a history (see ``geoip_rs.build_history``) in force then:
            datetimes of any unit (naive ones are UTC, tz-aware ones the instant
            they name), dates, or integer Unix seconds. A time before the first
            snapshot gives a null record. A null time (NaT, NA) fails the
            computation with a ``ValueError`` naming its row within the partition
            under ``on_error="raise"``, and gives a null record under ``"null"``.
            Without ``at``, the newest snapshot answers.

    The added columns have the dtypes of ``Database.to_pandas``: Categorical for
    the names, organisations, countries and registries, Arrow-backed for the rest.
    Nothing is computed here; a missing column (of addresses or times), an
    unknown record column or an added name the frame already has raises
    ``ValueError`` at once, and a time column of another dtype ``TypeError``.
    """
    path = _engines.database_path(db)
    names = _engines.record_columns(columns)
    _engines.check_arguments(list(ddf.columns), column, [prefix + n for n in names], on_error)
    _engines.check_time_column(list(ddf.columns), at)
    if at is not None:
        _check_time_dtype(ddf._meta[at])
    meta = _meta(ddf._meta, names, prefix)
    return ddf.map_partitions(_enrich_partition, column, path, names, on_error, prefix, at, meta=meta)


def _check_time_dtype(empty: pd.Series) -> None:
    """Datetimes (numpy or Arrow, with or without a time zone), Arrow dates and
    integers are times; object columns may hold dates or datetimes, which only
    the partitions can tell."""
    from pandas.api import types

    dtype = empty.dtype
    if types.is_datetime64_any_dtype(dtype) or types.is_object_dtype(dtype):
        return
    if types.is_integer_dtype(dtype) and not types.is_bool_dtype(dtype):
        return
    raise TypeError(f"the time column {empty.name!r} is of dtype {dtype}: expected datetimes, "
                    "dates or integer Unix seconds")


def _meta(empty: pd.DataFrame, names: tuple[str, ...], prefix: str) -> pd.DataFrame:
    """The enriched frame's empty form, from the Arrow schema alone: no database is
    opened and no partition computed."""
    import pandas as pd
    import pyarrow as pa
    from dask.dataframe.utils import clear_known_categories

    added = arrow_to_pandas(pa.schema(arrow_schema(list(names))).empty_table())
    # The categories are whatever names and countries the partitions hold, so Dask
    # must not take the empty ones here as the full list.
    added = clear_known_categories(added)
    added.columns = [prefix + n for n in names]
    added.index = empty.index
    return pd.concat([empty, added], axis=1)


def _enrich_partition(
    df: pd.DataFrame,
    column: str,
    path: str,
    names: tuple[str, ...],
    on_error: Literal["raise", "null"],
    prefix: str,
    at: str | None = None,
) -> pd.DataFrame:
    """Runs on the workers: one partition with its records added."""
    import pandas as pd

    db = _engines.database(path)
    if at is None:
        added = db.to_pandas(df[column], list(names), on_error=on_error)
    else:
        added = arrow_to_pandas(_engines.lookup_at(db, df[column], df[at], names, on_error))
    added.columns = [prefix + n for n in names]
    added.index = df.index
    return pd.concat([df, added], axis=1)


def _opens() -> dict[str, int]:
    """Diagnostic: how many times this process opened each database path. On a
    cluster, ``client.run(geoip_rs.dask._opens)`` gives it per worker; after any
    number of partitions each path a worker used shows 1."""
    return _engines.opens()
