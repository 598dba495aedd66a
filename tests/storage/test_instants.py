"""How SQLite stores an instant: integer microseconds since the epoch, UTC (migration 0013).

``storage.types`` is the one place that says so; ``UTCDateTime``, the bulk inserts and the
raw reads of start-up all go through it. The stored integers must name the instants exactly
and order as they do, since SQL compares and sorts them (due jobs, outbox order).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from quietly.storage.bulk import insert_rows
from quietly.storage.db import Database
from quietly.storage.types import (
    UTCDateTime,
    instant_from_sqlite,
    micros_from_sqlite,
    sqlite_instant,
    utc,
)

BERLIN = ZoneInfo("Europe/Berlin")

# (what, instant, stored integer)
STORED = [
    ("the epoch", datetime(1970, 1, 1, tzinfo=UTC), 0),
    ("one microsecond before it", datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
    ("a Berlin summer instant is its UTC one",
     datetime(2026, 7, 1, 3, 30, tzinfo=BERLIN), 1_782_869_400_000_000),
    ("the last microsecond of a leap day",
     datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC), 1_709_251_199_999_999),
    ("the first instant a datetime holds", datetime.min.replace(tzinfo=UTC),
     -62_135_596_800_000_000),
    ("the last", datetime.max.replace(tzinfo=UTC), 253_402_300_799_999_999),
]


def test_stored_integers_name_the_instants() -> None:
    got = [(what, sqlite_instant(at), instant_from_sqlite(stored), micros_from_sqlite(stored))
           for what, at, stored in STORED]
    assert got == [(what, stored, at, stored) for what, at, stored in STORED]


def test_none_stays_none_and_naive_or_text_is_refused() -> None:
    naive = datetime(2026, 1, 1)
    refused = []
    for call in (lambda: sqlite_instant(naive), lambda: utc(naive),
                 lambda: instant_from_sqlite("2026-01-01 00:00:00.000000"),  # type: ignore[arg-type]
                 lambda: micros_from_sqlite("2026-01-01 00:00:00.000000")):  # type: ignore[arg-type]
        with pytest.raises((ValueError, TypeError)) as caught:
            call()
        refused.append(caught.type)
    assert ((sqlite_instant(None), instant_from_sqlite(None), micros_from_sqlite(None)),
            refused) == ((None, None, None), [ValueError, ValueError, TypeError, TypeError])


# A day inside datetime's range at both ends: an instant whose UTC is beyond year 9999 has
# no datetime (nor a PostgreSQL timestamptz).
instants = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.sampled_from([UTC, BERLIN, timezone(timedelta(hours=-9))]))


# Compared in UTC: Python calls an ambiguous local time (a fold) unequal to every instant
# of another zone, its own included (PEP 495).


@given(instants)
def test_round_trip(at: datetime) -> None:
    back = instant_from_sqlite(sqlite_instant(at))
    assert (back, back.tzinfo if back else None) == (at.astimezone(UTC), UTC)


@given(instants, instants)
def test_stored_integers_order_as_the_instants(a: datetime, b: datetime) -> None:
    sa_, sb = sqlite_instant(a), sqlite_instant(b)
    ua, ub = a.astimezone(UTC), b.astimezone(UTC)
    assert (sa_ is not None and sb is not None, sa_ < sb, sa_ == sb) == (
        True, ua < ub, ua == ub)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'i.db'}")
    yield db
    db.dispose()


def test_sql_compares_and_sorts_stored_instants(sqlite_db: Database) -> None:
    """Through ``UTCDateTime`` (an ORM or Core statement) and through ``insert_rows`` (the
    bulk path) the column holds integers; ``<=`` and ``ORDER BY`` in SQL follow the
    instants, and reading gives aware UTC datetimes back."""
    meta = MetaData()
    t = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    meta.create_all(sqlite_db.engine)
    base = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Berlin's clocks go forward at 01:00 UTC
    values = [base + timedelta(minutes=m, microseconds=u) for m in (90, 0, 30, 60)
              for u in (1, 0)]
    with sqlite_db.engine.begin() as conn:
        conn.execute(insert(t), [{"id": i, "at": v.astimezone(BERLIN)}
                                 for i, v in enumerate(values[:4])])
        insert_rows(conn, t, [{"id": i + 4, "at": v} for i, v in enumerate(values[4:])])
        conn.execute(insert(t), {"id": 99, "at": None})
        kinds = set(conn.execute(text("SELECT typeof(at) FROM t")).scalars())
        cut = base + timedelta(minutes=30)
        early = conn.execute(select(t.c.id).where(t.c.at <= cut).order_by(t.c.id)).scalars()
        ordered = conn.execute(select(t.c.at).where(t.c.at.is_not(None))
                               .order_by(t.c.at)).scalars()
        assert (kinds, list(early), list(ordered)) == (
            {"integer", "null"},
            sorted(i for i, v in enumerate(values) if v <= cut),
            sorted(values))
