"""What the DataFrame, SQL and cluster integrations (``geoip_rs.polars``,
``geoip_rs.duckdb``, ``geoip_rs.dask``, ``geoip_rs.spark``) share: which database an
argument names, the record columns they add, the ``on_error`` choices, lookups at a
time per row (and what a null time gives), and, for the clusters, one open database
per path per worker process.

A task graph or a Spark plan carries only the database's path. A ``Database`` would
pickle as its path too, but then every task would map the file (and read it once
for its checksum) again; here each process maps it on its first task and every
later task in that process uses the same mapping.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Union

from . import _geoip_rs
from .database import Database, PathLike, arrow_schema, default_path

if TYPE_CHECKING:
    import pyarrow as pa

OnError = Literal["raise", "null"]
ON_ERROR: tuple[OnError, ...] = ("raise", "null")

#: A database argument: an open database, a path to one, or None for the default
#: (``geoip_rs.open()``'s choice).
DatabaseLike = Union[_geoip_rs.Database, str, "os.PathLike[str]", None]


def as_database(db: DatabaseLike) -> Database:
    """The database ``db`` names, opened now so that a wrong path fails where the
    lookup is set up rather than in the middle of a query."""
    if isinstance(db, Database):
        return db
    if isinstance(db, _geoip_rs.Database):
        # The Arrow methods live on the Python subclass; the file was checked when it
        # was first opened, and maps again in microseconds.
        return Database(db.path, verify=False)
    if db is not None and not isinstance(db, (str, os.PathLike)):
        raise TypeError(f"db must be a geoip_rs.Database, a path or None, not {type(db).__name__}")
    return Database(os.fspath(db) if db is not None else default_path())


def check_on_error(on_error: str) -> OnError:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'null', not {on_error!r}")
    return on_error  # type: ignore[return-value]


_lock = threading.Lock()
# path -> (the file's identity when opened, the database)
_databases: dict[str, tuple[tuple[int, int, int], Database]] = {}
_opens: Counter[str] = Counter()


def database(path: str) -> Database:
    """The database at ``path``, opened once in this process and kept open; opened
    again only if another file has taken that path since (a rebuilt database)."""
    identity = file_identity(path)
    # One lock for every path: worker threads reach this once per partition, and
    # holding it while opening keeps two threads from opening the same file twice.
    with _lock:
        cached = _databases.get(path)
        if cached is not None and cached[0] == identity:
            return cached[1]
        db = Database(path)
        # The replaced database is not closed: a task in another thread may still
        # be using it, and it is unmapped once the last of them lets it go.
        _databases[path] = (identity, db)
        _opens[path] += 1
        return db


def file_identity(path: str) -> tuple[int, int, int]:
    """What tells a file from another put at the same path since: a rebuilt
    database is a new file (build_database writes a new one and renames it)."""
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def opens() -> dict[str, int]:
    """Diagnostic: how many times this process has opened each path: 1 for each
    path it used, whatever the number of tasks, unless the file was replaced."""
    with _lock:
        return dict(_opens)


def database_path(db: PathLike | Database | None) -> str:
    """The absolute path workers open: a path as given, a ``Database``'s file, or
    ``default_path()`` as the driver sees it."""
    if db is None:
        path = default_path()
    elif isinstance(db, Database):
        path = db.path
    else:
        path = os.fspath(db)
    # Absolute, so that it does not depend on a worker's working directory.
    return os.path.abspath(path)


def record_columns(columns: Sequence[str] | None) -> tuple[str, ...]:
    """The record columns to add to a frame or give from a function: the given ones
    (checked against the schema), or all but ``address``, which the input has."""
    import pyarrow as pa

    if isinstance(columns, str):
        raise TypeError(f"columns must be a list of column names, not the string {columns!r}")
    # arrow_schema raises ValueError naming an unknown column.
    names = pa.schema(arrow_schema(None if columns is None else list(columns))).names
    return tuple(n for n in names if columns is not None or n != "address")


def check_arguments(existing: Sequence[str], column: str, added: Sequence[str], on_error: str) -> None:
    """Fail on the driver, before any task runs, on a missing address column, an
    added column that would shadow one the frame has, or an unknown ``on_error``."""
    if column not in existing:
        raise ValueError(f"no column {column!r} in the DataFrame; its columns are {list(existing)}")
    clashes = [c for c in added if c in existing]
    if clashes:
        raise ValueError(f"the DataFrame already has column(s) {clashes}; pass prefix= to name "
                         "the added columns apart")
    check_on_error(on_error)


def check_time_column(existing: Sequence[str], at: str | None) -> None:
    """Fail on the driver, before any task runs, on a missing time column."""
    if at is not None and at not in existing:
        raise ValueError(f"no time column {at!r} in the DataFrame; its columns are {list(existing)}")


def arrow_times(times: object) -> pa.Array | pa.ChunkedArray:
    """A column of times per row as Arrow, as ``Database.to_arrow(at=)`` takes it:
    pandas through ``from_pandas`` (NaT as null, a time zone kept), Polars through
    ``to_arrow`` (older pyarrow cannot import a stream into a chunked array),
    anything else with the Arrow PyCapsule interface as it exports itself.
    Integers of every width become int64 seconds: the core reads int32, uint32
    and int64 only."""
    import pyarrow as pa

    module = type(times).__module__
    if module.startswith("pandas"):
        times = pa.Array.from_pandas(times)
    elif module.startswith("polars"):
        times = times.to_arrow()  # type: ignore[attr-defined]
    elif hasattr(times, "__arrow_c_stream__") and not isinstance(times, (pa.Array, pa.ChunkedArray)):
        times = pa.chunked_array(times)
    elif not isinstance(times, (pa.Array, pa.ChunkedArray)):
        times = pa.array(times)
    if pa.types.is_integer(times.type):
        times = times.cast(pa.int64())  # a safe cast: a uint64 past int64 fails
    return times


def lookup_at(db: Database, addresses: object, times: object, names: Sequence[str],
              on_error: OnError) -> pa.Table:
    """``db.to_arrow(addresses, names, at=times)`` with a time per address.

    A null time is the core's ``ValueError`` (naming its row) under
    ``on_error="raise"``; under ``"null"`` it gives a null record (every column
    null), so that a cluster job asked to carry on does not fail on it. The
    null times are filled from their neighbours for the lookup (any valid time
    does: their rows are nulled afterwards) rather than the rows filtered out,
    which would mean filtering addresses of every kind the engines hand over."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    times = arrow_times(times)
    if on_error == "raise" or times.null_count == 0:
        return pa.table(db.to_arrow(addresses, list(names), on_error=on_error, at=times))
    missing = pc.is_null(times).to_numpy(zero_copy_only=False)
    filled: object = 0  # all null: one time for all, whichever
    if not missing.all():
        filled = pc.fill_null_backward(pc.fill_null_forward(times))
    table = pa.table(db.to_arrow(addresses, list(names), on_error=on_error, at=filled))
    # Taking a null index gives a null row, whatever the column's type.
    return table.take(pa.array(np.arange(len(missing)), mask=missing))
