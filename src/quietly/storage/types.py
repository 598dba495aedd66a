"""Column types that keep instants honest on every backend, and the one place that says how
SQLite stores an instant.

PostgreSQL keeps instants as ``timestamptz``. SQLite has no such type: ``UTCDateTime``
stores them in the form ``sqlite_instant`` gives, and every statement that bypasses the
type (the bulk inserts of ``storage.bulk``, raw reads such as ``services.index_load``) uses
the converters below, never its own copy of the format.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["SQLiteInstant", "UTCDateTime", "instant_from_sqlite", "micros_from_sqlite",
           "sqlite_instant", "utc"]

# How SQLite stores an instant (since migration 0013): integer microseconds since the Unix
# epoch, UTC. Exact (PostgreSQL's timestamptz keeps microseconds too, a float would not),
# ordered as the instants are, so comparisons and ORDER BY in SQL stay right, and 8 bytes
# in the record instead of the 26 of the text "YYYY-MM-DD HH:MM:SS.ffffff" kept before.
# Years 1-9999 (every datetime) are within ±2.6e17, far inside a 64-bit integer.
SQLiteInstant = int
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is refused (``ValueError``): it names no instant."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored; pass an aware one")
    return value.astimezone(UTC)


def sqlite_instant(value: datetime | None) -> SQLiteInstant | None:
    """An aware instant as SQLite stores it (``None`` stays ``None``; naive is refused)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored; pass an aware one")
    return (value - _EPOCH) // _MICROSECOND


def instant_from_sqlite(value: SQLiteInstant | None) -> datetime | None:
    """A stored SQLite instant back as an aware UTC datetime (``sqlite_instant`` reversed).

    Anything but an integer (the text of a store not yet migrated, a value some statement
    wrote around ``UTCDateTime``) is refused with ``TypeError`` rather than misread.
    """
    if value is None:
        return None
    if type(value) is not int:
        raise TypeError(f"a stored instant must be an integer, not {value!r}")
    return _EPOCH + timedelta(microseconds=value)


def micros_from_sqlite(value: SQLiteInstant | None) -> int | None:
    """A stored SQLite instant in microseconds since the epoch (``core.intervals.micros``):
    the stored integer itself."""
    if value is not None and type(value) is not int:
        raise TypeError(f"a stored instant must be an integer, not {value!r}")
    return value


class _SQLiteInstantColumn(TypeEngine[Any]):
    """The SQLite side of ``UTCDateTime``: declared ``DATETIME`` as every store's columns
    have been since 0001 (numeric affinity, which keeps integers as they are, so 0013
    rebuilt no table), values passed as they are: ``UTCDateTime`` converts them."""

    __visit_name__ = "DATETIME"


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC, read back aware UTC, refuse naive values.

    SQLite keeps no offset: an aware Berlin 03:30 would come back as a naive 03:30, two hours
    wrong. So every value is converted to UTC on the way in and marked UTC on the way out;
    on SQLite through ``sqlite_instant`` and ``instant_from_sqlite``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SQLiteInstantColumn()
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return sqlite_instant(value)
        return None if value is None else utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return instant_from_sqlite(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
