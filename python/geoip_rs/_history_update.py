"""``geoip_rs.update_history()`` and ``geoip-rs update --date FIRST..LAST``: a
database for each date of a range, each added to a history file as it is made.

A run over years makes tens of databases, each from the archives' files of its
moment; it stops at the first date that fails, keeping what the history got
before (each addition is atomic), so that running it again continues where it
stopped: the dates done already find their snapshot in the history and add nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from datetime import date as Date, datetime, timedelta
from typing import Any

from . import cache
from ._update import UpdateError, UpdateResult, _moment, update

#: The steps ``date_range`` takes.
EVERY = ("day", "week", "month")


def date_range(start: str | Date, end: str | Date, every: str = "month") -> list[datetime]:
    """The moments from ``start`` to ``end``, both included, one ``every`` day, week
    or month: the dates to give ``update_history``.

    ``start`` and ``end`` are as ``update``'s ``date`` (``"YYYY-MM-DD"``,
    ``"YYYY-MM-DDTHH:MM"`` UTC, datetimes, dates); every moment has ``start``'s time
    of day. A month step keeps ``start``'s day of the month (the 1st of each month,
    the 15th...), or the month's last day where it is shorter (``2023-01-31``, then
    ``2023-02-28``, ``2023-03-31``)."""
    first, last = _moment(start), _moment(end)
    if every not in EVERY:
        raise ValueError(f"every must be one of {', '.join(EVERY)}, not {every!r}")
    if last < first:
        raise ValueError(f"the range ends ({date_label(last)}) before it starts ({date_label(first)})")
    out: list[datetime] = []
    while (t := _step(first, every, len(out))) <= last:
        out.append(t)
    return out


def _step(first: datetime, every: str, n: int) -> datetime:
    """The ``n``-th moment from ``first``, counted from ``first`` each time (not from
    the moment before) so that a short month does not move the later ones."""
    if every != "month":
        return first + timedelta(days=n * (7 if every == "week" else 1))
    months = first.month - 1 + n
    year, month = first.year + months // 12, months % 12 + 1
    return first.replace(year=year, month=month,
                         day=min(first.day, calendar.monthrange(year, month)[1]))


def date_label(t: datetime) -> str:
    return f"{t:%Y-%m-%d}" if (t.hour, t.minute) == (0, 0) else f"{t:%Y-%m-%d %H:%M}"


def update_history(
    history: cache.PathLike,
    dates: Sequence[str | Date],
    *,
    on_result: Callable[[datetime, UpdateResult], Any] | None = None,
    **update_kwargs: Any,
) -> list[UpdateResult]:
    """Run ``update(date=d, history=history, **update_kwargs)`` for each of
    ``dates`` in turn (``date_range`` makes them): a database per date, built from
    the archives' files of that moment (or found in the cache), each added to the
    history file. The results, one per date; ``on_result(date, result)`` is called
    as each is done.

    Dates whose data a snapshot of the history already has (another date with the
    same newest dumps, or a run again) add nothing (``added`` is False). The first
    date that fails stops the run: what was added before stays (each addition is
    atomic), and the :class:`UpdateError` names the date, with the results before
    it in ``done``."""
    for name in ("date", "history"):
        if name in update_kwargs:
            raise TypeError(f"update_history() takes no {name!r}: it is the dates' and the "
                            "history's own")
    moments = [_moment(d) for d in dates]  # every date checked before any request
    if not moments:
        raise ValueError("no dates to update for")
    results: list[UpdateResult] = []
    for t in moments:
        try:
            result = update(date=t, history=history, **update_kwargs)
        except UpdateError as e:
            raise UpdateError([f"{date_label(t)}: {p}" for p in e.problems], built=e.built,
                              done=results) from None
        results.append(result)
        if on_result is not None:
            on_result(t, result)
    return results
