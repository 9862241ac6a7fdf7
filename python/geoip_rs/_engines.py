"""What the DataFrame and SQL integrations (``geoip_rs.polars``, ``geoip_rs.duckdb``)
share: which database an argument names, and the ``on_error`` choices."""

from __future__ import annotations

import os
from typing import Literal, Union

from . import _geoip_rs
from .database import Database, default_path

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
