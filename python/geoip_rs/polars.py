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
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ._engines import DatabaseLike, OnError, as_database, check_on_error, record_columns

__all__ = ["GeoipExpr", "GeoipLookup", "GeoipSeries"]


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
    ) -> None:
        self.db = as_database(db)
        self.on_error = check_on_error(on_error)
        empty = pl.Series("", [], dtype=pl.String)
        self.columns = list(record_columns(columns))
        # The dtype comes from zero addresses sent down the path every batch takes,
        # so the declared dtype and the batches' cannot drift apart.
        self.dtype = pl.Struct(self._frame(empty, self.columns).schema)

    def __call__(self, addresses: pl.Series) -> pl.Series:
        return self._frame(_arrow_ready(addresses), self.columns).to_struct(addresses.name)

    def _frame(self, addresses: pl.Series, columns: list[str] | None) -> pl.DataFrame:
        return pl.DataFrame(self.db.to_arrow(addresses, columns, on_error=self.on_error))

    def __repr__(self) -> str:
        return f"GeoipLookup({self.db.path!r}, columns={self.columns!r}, on_error={self.on_error!r})"


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
    ) -> pl.Expr:
        """A struct of each address's record: one field per column of ``columns``
        (``Database.to_arrow``'s names; default all but ``address``), null fields for
        misses and null addresses.

        Args:
            db: a ``Database``, the path of one, or None for ``geoip_rs.open()``'s.
            columns: the record columns to give, in this order.
            on_error: ``"raise"`` (a ``ValueError`` naming the row) or ``"null"``
                for an address that does not parse.
        """
        fn = GeoipLookup(db, columns, on_error)
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
    ) -> pl.Series:
        """The struct Series ``pl.col(...).geoip.lookup`` gives, with this Series' name."""
        return GeoipLookup(db, columns, on_error)(self._series)
