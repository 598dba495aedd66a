"""Bulk writes on PostgreSQL: many rows in one short statement with one JSON parameter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, bindparam, column, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert

from quietly.storage.types import UTCDateTime

__all__ = ["insert_from_json", "json_rows"]


def insert_from_json(table: Table, names: Sequence[str]) -> postgresql.Insert:
    """``INSERT INTO table (names) SELECT … FROM json_to_recordset(:rows)`` (PostgreSQL only).

    Many rows as one JSON parameter, bound with ``json_rows``. An executemany renders a
    VALUES list with a placeholder per value instead: for 1,000 rows a statement too long
    for psycopg's query cache, so psycopg parses it again, in Python, for every batch (that
    was most of the time of a 1,000-alert ingest). This text is short and the same whatever
    the number of rows. One array per column would do too, but psycopg quotes text arrays
    element by element in Python, slower than one ``json.dumps``.

    Each column is read with its own type, so an over-long string is refused as by a plain
    INSERT; JSON columns store the rows' JSON text as it is. The function scan yields the
    rows in document order, so ids are handed out as a VALUES list would. Add
    ``ON CONFLICT``/``RETURNING`` as with any insert.
    """
    batch = func.json_to_recordset(bindparam("rows", type_=JSON)).table_valued(
        *(column(name, table.c[name].type) for name in names)
    ).render_derived("batch", with_types=True)
    return pg_insert(table).from_select(list(names), select(*batch.c))


def json_rows(table: Table, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The parameter of ``insert_from_json``: the rows, serialised by SQLAlchemy's JSON type
    (as it serialises JSON columns), with instants as RFC 3339 text, refused when naive
    (as ``UTCDateTime`` refuses them)."""
    instants = [col.name for col in table.c if isinstance(col.type, UTCDateTime)]
    return {"rows": [{**row, **{name: _instant(row[name]) for name in instants if name in row}}
                     for row in rows]}


def _instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} cannot be stored; pass an aware one")
    return value.isoformat()
