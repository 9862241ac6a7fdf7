"""What the engines' time-aware tests (``at=``) share: a small history of three
dated databases and the rows they ask about, and the oracle every answer is
checked against: the one-date database in force at the row's time, found with
``numpy.searchsorted`` over the snapshot times written down here (not read from
the history), asked without ``at``; before the first snapshot, no record.

Between the three days prefixes are added, withdrawn, announced again and
re-originated, an IPv6 more-specific comes and goes, and the organisations'
names and countries change, so that answering at the wrong snapshot shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from clusterdata import expected

import geoip_rs

UTC = timezone.utc

#: The snapshot days: the dates in the ipasn files' names.
DAYS = ["2021-01-04", "2021-01-06", "2021-01-10"]
TIMES = np.array([int(datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp()) for d in DAYS], np.int64)

TABLES = [
    {"10.0.0.0/8": 64500, "10.1.0.0/16": 64501, "20.0.0.0/16": 64502, "2001:db8::/32": 64500},
    {"10.0.0.0/8": 64500, "10.1.0.0/16": 64503, "30.0.0.0/24": 64502, "2001:db8::/32": 64501,
     "2001:db8:1::/48": 64502},
    {"10.0.0.0/8": 64504, "10.1.0.0/16": 64501, "20.0.0.0/16": 64502, "2001:db8::/32": 64501},
]

#: One address in each prefix, and two no snapshot routes.
ADDRESSES = ["10.0.0.1", "10.1.2.3", "20.0.0.9", "30.0.0.5", "2001:db8::1", "2001:db8:1::5",
             "99.0.0.1", "2001:db9::1"]


def _as2org(version: int) -> str:
    """Organisations whose names and countries change from one day to the next."""
    countries = ["DE", "NL", "FR", "JP", "BR"]
    orgs = [f"ORG-{k}|20200101|Org {k} v{version}|{countries[(k + version) % 5]}|RIPE" for k in range(3)]
    aut = [f"{asn}|20200101|AS{asn}-V{version}|ORG-{(asn + version) % 3}|RIPE" for asn in range(64500, 64505)]
    return ("# format:org_id|changed|org_name|country|source\n" + "\n".join(orgs)
            + "\n# format:aut|changed|aut_name|org_id|source\n" + "\n".join(aut) + "\n")


@dataclass
class SmallHistory:
    dbs: list[geoip_rs.Database]
    history: geoip_rs.Database

    def close(self) -> None:
        for db in [*self.dbs, self.history]:
            db.close()


def build(folder: Path) -> SmallHistory:
    dbs = []
    for version, (day, table) in enumerate(zip(DAYS, TABLES)):
        ipasn = folder / f"ipasn_{day.replace('-', '')}.dat"
        ipasn.write_text("".join(f"{p}\t{a}\n" for p, a in table.items()), encoding="ascii")
        as2org = folder / f"as2org-v{version}.txt"
        as2org.write_text(_as2org(version), encoding="ascii")
        dbs.append(geoip_rs.build_database(folder / f"day{version}.geoipdb", ipasn=ipasn, as2org=as2org))
    # Given newest first: the history orders its snapshots by their dates.
    return SmallHistory(dbs, geoip_rs.build_history(folder / "history.geoipdb", dbs[::-1]))


def time_pool() -> list[int]:
    """Unix seconds at every kind of place: long before the first snapshot (and
    before 1970), a second before each snapshot, exactly at each, between them,
    and long after the last."""
    pool = [-86_400 * 400, int(TIMES[0]) - 86_400 * 30, int(TIMES[-1]) + 86_400 * 3650]
    for t in TIMES:
        pool += [int(t) - 1, int(t), int(t) + 3600]
    return pool


def rows(n: int, seed: int) -> tuple[list[str | None], np.ndarray]:
    """``n`` (address, Unix seconds) pairs: every address at every time of the
    pool, then random ones (some addresses null, times uniform around the
    snapshots), shuffled."""
    rng = random.Random(seed)
    pairs: list[tuple[str | None, int]] = [(a, t) for a in ADDRESSES for t in time_pool()]
    lo, hi = int(TIMES[0]) - 86_400 * 3, int(TIMES[-1]) + 86_400 * 3
    while len(pairs) < n:
        pairs.append((rng.choice([*ADDRESSES, None]), rng.randrange(lo, hi)))
    rng.shuffle(pairs)
    return [a for a, _ in pairs], np.array([t for _, t in pairs], np.int64)


def in_force(seconds: np.ndarray) -> np.ndarray:
    """The snapshot in force at each time: the newest at or before it; -1 before all."""
    return np.searchsorted(TIMES, seconds, side="right") - 1


def day_start(seconds: np.ndarray) -> np.ndarray:
    """The UTC midnight of each time: what a date column holding its day asks."""
    return seconds // 86_400 * 86_400


def dates(seconds: np.ndarray) -> list[date]:
    return [date(1970, 1, 1) + timedelta(days=int(d)) for d in seconds // 86_400]


def datetimes(seconds: np.ndarray, tz: Any = UTC) -> list[datetime]:
    return [datetime.fromtimestamp(int(t), UTC).astimezone(tz) for t in seconds]


def check_rows_at(
    small: SmallHistory,
    addresses: list[str | None],
    seconds: np.ndarray,
    rows: list[dict[str, Any]],
    names: list[str],
    prefix: str = "",
    null: np.ndarray | None = None,
) -> dict[str, int]:
    """Assert that each row holds the record of its address in the one-date
    database in force at its time (None before the first snapshot, and where
    ``null`` is set); count the rows answered by each snapshot (-1: none) and
    those with a record."""
    snap = in_force(seconds)
    seen = {"found": 0, **{str(s): 0 for s in range(-1, len(TIMES))}}
    for i, (a, s, row) in enumerate(zip(addresses, snap, rows, strict=True)):
        want = None if s < 0 or (null is not None and null[i]) else expected(small.dbs[s], a)
        got = {n: row[prefix + n] for n in names}
        if want is None:
            assert all(v is None for v in got.values()), (i, a, int(seconds[i]), got)
        else:
            assert got == {n: want[n] for n in names}, (i, a, int(seconds[i]), got, want)
            seen["found"] += 1
        seen[str(s)] += 1
    return seen
