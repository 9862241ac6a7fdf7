"""Histories: many dated databases in one file (built in Rust; see
``src/db/history``), and the Python side of asking them: snapshots as dicts,
intervals and diffs as lists or DataFrames."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import _geoip_rs

if TYPE_CHECKING:
    from .database import Database, PathLike


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def snapshots(db: Database) -> list[dict[str, Any]]:
    """Each snapshot, oldest first, as the ``snapshots`` property gives them."""
    meta = _geoip_rs.Database.metadata.__get__(db)  # the file's own, not the subclass's additions
    metas = meta.get("snapshots") or [meta]
    times = db._times()
    out = []
    for i, m in enumerate(metas):
        t = times[i] if i < len(times) else None
        out.append({
            "index": i,
            "time": _utc(t) if t is not None else None,
            "sources": m["sources"],
            "built": m["built"],
            "options": m["options"],
            "counts": m["counts"],
        })
    return out


def snapshot_at(db: Database, at: Any) -> dict[str, Any] | None:
    """The snapshot in force at ``at``, with its ``age`` then; None before the first."""
    i = db._snapshot_at(at)
    if i is None:
        return None
    times = db._times()
    taken = _utc(times[i]) if i < len(times) else None
    asked = _utc(_geoip_rs._seconds(at))
    return {"index": i, "time": taken, "age": asked - taken if taken else None}


def history(db: Database, subject: Any, frame: bool) -> Any:
    """The runs of snapshots with one record, as ``Database.history`` gives them."""
    times = db._times()
    rows = []
    for first, last, record in db._history(subject):
        end = _utc(times[last + 1]) if last + 1 < len(times) else None
        rows.append((_utc(times[first]) if times else None, end, record))
    if not frame:
        return rows
    from .database import _require

    pd = _require("pandas", "pandas")
    data = [{"start": s, "end": e, **r.to_dict()} for s, e, r in rows]
    columns = ["start", "end", *[name for name, _, _ in _geoip_rs.RECORD_FIELDS]]
    df = pd.DataFrame(data, columns=columns)
    # As in every other frame of records (and empty ones too).
    df["asn"] = df["asn"].astype("UInt32")
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df


def diff(db: Database, t1: Any, t2: Any, frame: bool) -> Any:
    """What changed between the snapshots in force at two times."""
    s1, s2 = db._snapshot_at(t1), db._snapshot_at(t2)
    for t, s in ((t1, s1), (t2, s2)):
        if s is None:
            raise ValueError(f"no snapshot at {t!r}: the first is of {snapshots(db)[0]['time']}")
    cols = db._diff(s1, s2)
    if not frame:
        return cols
    from .database import _require

    pd = _require("pandas", "pandas")
    df = pd.DataFrame(cols)
    for c in ("old", "new"):
        df[c] = df[c].astype("UInt32")
    df["kind"] = pd.Categorical(df["kind"], categories=["announced", "withdrawn", "changed"])
    return df


def build_history(
    path: PathLike,
    databases: Sequence[PathLike | Database],
    *,
    progress: bool | Callable[[int, int], Any] | None = None,
) -> Database:
    """Merge dated databases into one history file and open it.

    Each database's snapshot is taken at the date of its routing data (the newest
    date of its prefix sources, ``metadata["data_time"]``); a database without one,
    or two of one date, raise ``DatabaseError`` naming them. A history among
    ``databases`` gives all its snapshots, so ``build_history(h, [h, new])`` adds a
    snapshot to ``h`` (see ``add_snapshot``). Values that stay the same from one
    snapshot to the next are stored once; the file is written atomically."""
    from .database import Database

    paths = [os.fspath(d.path if isinstance(d, _geoip_rs.Database) else d) for d in databases]
    _geoip_rs._build_history(os.fspath(path), paths, progress=progress)
    return Database(os.fspath(path), verify=False)


def add_snapshot(
    history: PathLike,
    database: PathLike | Database,
    *,
    progress: bool | Callable[[int, int], Any] | None = None,
) -> Database:
    """Add a dated database to a history file (made if it does not exist), without
    the databases it was built from: the file is rewritten from its own snapshots
    and the new one, atomically."""
    inputs: list[Any] = [history] if os.path.exists(history) else []
    return build_history(history, [*inputs, database], progress=progress)
