"""Polars: importing this module registers a ``geoip`` namespace on expressions and
Series.

    import polars as pl
    import geoip_rs.polars  # noqa: F401  (registers .geoip)

    df.with_columns(geo=pl.col("ip").geoip.lookup(db)).unnest("geo")

``lookup`` gives a struct column, one field per record column (all but ``address``
unless ``columns`` says otherwise), with ``Database.to_polars``' dtypes. It is
elementwise, so the streaming engine runs it batch by batch, and its dtype is known
before anything runs, so lazy schemas resolve without a lookup. Like any Polars
expression it keeps its input's name: give it one with ``.alias`` or a keyword.

With ``at=``, each address is answered as the snapshot of a history (see
``geoip_rs.build_history``) in force at a time: one for all, or each row's own
from a column (``at="ts"`` or any expression); the two columns go to the batch
function side by side in a struct, so this too is elementwise and streams.

    df.with_columns(geo=pl.col("ip").geoip.lookup(db, ["asn"], at="ts"))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from . import _geoip_rs
from ._engines import DatabaseLike, OnError, as_database, check_on_error, lookup_at, record_columns

__all__ = ["GeoipExpr", "GeoipLookup", "GeoipLookupAt", "GeoipSeries"]


class GeoipLookup:
    """The batch function behind ``geoip.lookup``: a Series of addresses in, a struct
    Series of their records out (``Database.to_arrow``'s columns as fields).

    It pickles, its database as its path, so a lazy plan holding it can be pickled or
    serialised and collected in another process."""

    def __init__(
        self,
        db: DatabaseLike,
        columns: Sequence[str] | None = None,
        on_error: OnError = "raise",
        at: Any = None,
    ) -> None:
        self.db = as_database(db)
        self.on_error = check_on_error(on_error)
        # One time for every address, as Unix seconds: checked here, not at the
        # first batch, and pickled as a plain number.
        self.at = None if at is None else _geoip_rs._seconds(at)
        empty = pl.Series("", [], dtype=pl.String)
        self.columns = list(record_columns(columns))
        # The dtype comes from zero addresses sent down the path every batch takes,
        # so the declared dtype and the batches' cannot drift apart.
        self.dtype = pl.Struct(self._frame(empty, self.columns).schema)

    def __call__(self, addresses: pl.Series) -> pl.Series:
        return self._frame(_arrow_ready(addresses), self.columns).to_struct(addresses.name)

    def _frame(self, addresses: pl.Series, columns: list[str] | None) -> pl.DataFrame:
        at = {} if self.at is None else {"at": self.at}
        return pl.DataFrame(self.db.to_arrow(addresses, columns, on_error=self.on_error, **at))

    def __repr__(self) -> str:
        at = "" if self.at is None else f", at={self.at!r}"
        return f"{type(self).__name__}({self.db.path!r}, columns={self.columns!r}, on_error={self.on_error!r}{at})"


class GeoipLookupAt(GeoipLookup):
    """The batch function behind ``geoip.lookup(..., at=<column>)``: a struct of
    addresses and their times in (the two columns side by side), the struct Series
    of their records out.

    A null time raises the core's ``ValueError`` naming its row under
    ``on_error="raise"`` and gives a null record under ``"null"``."""

    #: The time's field in the struct handed over; the address's keeps its name,
    #: which the struct, and so the result, takes.
    TIME_FIELD = "__geoip_rs_at"

    def __init__(self, db: DatabaseLike, columns: Sequence[str] | None = None, on_error: OnError = "raise") -> None:
        super().__init__(db, columns, on_error)

    def expr(self, addresses: pl.Expr, times: pl.Expr) -> pl.Expr:
        # One struct of both columns, not pl.map_batches over two expressions,
        # which takes is_elementwise only in recent Polars: Expr.map_batches has
        # it since 0.20, so this streams in every Polars this package supports.
        both = pl.struct(addresses, times.alias(self.TIME_FIELD))
        return both.map_batches(self, return_dtype=self.dtype, is_elementwise=True)

    def __call__(self, both: pl.Series) -> pl.Series:
        fields = both.struct.unnest()
        return self.lookup(fields.to_series(0).alias(both.name), fields.to_series(1))

    def lookup(self, addresses: pl.Series, times: pl.Series) -> pl.Series:
        table = lookup_at(self.db, _arrow_ready(addresses), times, self.columns, self.on_error)
        return pl.DataFrame(table).to_struct(addresses.name)


def _arrow_ready(s: pl.Series) -> pl.Series:
    """Columns whose Arrow form is no address type but whose values can be: an
    all-null column (Arrow's null type) and categorical text (Arrow dictionaries)."""
    if s.dtype == pl.Null or isinstance(s.dtype, (pl.Categorical, pl.Enum)):
        return s.cast(pl.String)
    return s


@pl.api.register_expr_namespace("geoip")
class GeoipExpr:
    """``pl.col("ip").geoip``: lookups in a geoip_rs database."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def lookup(
        self,
        db: DatabaseLike,
        columns: Sequence[str] | None = None,
        *,
        on_error: OnError = "raise",
        at: Any = None,
    ) -> pl.Expr:
        """A struct of each address's record: one field per column of ``columns``
        (``Database.to_arrow``'s names; default all but ``address``), null fields for
        misses and null addresses.

        Args:
            db: a ``Database``, the path of one, or None for ``geoip_rs.open()``'s.
            columns: the record columns to give, in this order.
            on_error: ``"raise"`` (a ``ValueError`` naming the row) or ``"null"``
                for an address that does not parse.
            at: the time to answer at, for a history: an expression, or a column
                name (a string, as Polars takes them), for a time per row
                (``Datetime`` of any unit, naive ones as UTC, ``Date`` or integer
                Unix seconds), or one time for all (a datetime, a date, Unix
                seconds or a numpy datetime64; checked here). Before the first
                snapshot, a null record. A null time raises a ``ValueError``
                naming its row within the batch under ``on_error="raise"`` and
                gives a null record under ``"null"``. Without it, the newest
                snapshot answers.
        """
        if isinstance(at, (str, pl.Expr)):
            return GeoipLookupAt(db, columns, on_error).expr(self._expr, pl.col(at) if isinstance(at, str) else at)
        fn = GeoipLookup(db, columns, on_error, at)
        return self._expr.map_batches(fn, return_dtype=fn.dtype, is_elementwise=True)


@pl.api.register_series_namespace("geoip")
class GeoipSeries:
    """``series.geoip``: lookups in a geoip_rs database."""

    def __init__(self, series: pl.Series) -> None:
        self._series = series

    def lookup(
        self,
        db: DatabaseLike,
        columns: Sequence[str] | None = None,
        *,
        on_error: OnError = "raise",
        at: Any = None,
    ) -> pl.Series:
        """The struct Series ``pl.col(...).geoip.lookup`` gives, with this Series' name.
        ``at`` is a Series of times, one per address, or one time for all."""
        if isinstance(at, pl.Series):
            return GeoipLookupAt(db, columns, on_error).lookup(self._series, at)
        return GeoipLookup(db, columns, on_error, at)(self._series)
