"""Bulk writes on PostgreSQL: many rows in one short statement with one JSON parameter."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, Connection, Table, bindparam, column, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert

from quietly.storage.types import UTCDateTime, sqlite_instant, utc

__all__ = ["driver_execute", "insert_from_json", "insert_rows", "json_rows"]


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
    return None if value is None else utc(value).isoformat()


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` many rows of ``table`` (every row with the keys of the first) in the
    fewest round trips, with no per-value work in SQLAlchemy.

    PostgreSQL: ``insert_from_json`` (one statement, one JSON parameter). SQLite: the
    insert's SQL, compiled once per table and column list, run with the driver's
    ``executemany`` over tuples encoded here as SQLAlchemy would bind them (JSON as compact
    text, instants by ``storage.types.sqlite_instant``, booleans as 0/1).
    """
    if not rows:
        return
    names = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        conn.execute(insert_from_json(table, names), json_rows(table, rows))
        return
    sql, encode = sqlite_insert(table, frozenset(names))
    driver_execute(conn, sql, [encode(row) for row in rows], many=True)


def sqlite_insert(table: Table, names: frozenset[str]
                  ) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
    """The SQLite ``INSERT`` of columns ``names`` of ``table`` (compiled once) and the
    function that makes a row's parameters, encoded as SQLAlchemy would bind them."""
    sql, values_of, encoders = _sqlite_insert_sql(table, names)

    def encode(row: dict[str, Any]) -> list[Any]:
        values = list(values_of(row))
        for position, encoder in encoders:
            values[position] = encoder(values[position])
        return values

    return sql, encode


def driver_execute(conn: Connection, sql: str, params: Any, *, many: bool = False) -> Any:
    """Run SQL compiled from a Core statement on the driver's connection of ``conn`` (in its
    transaction), without SQLAlchemy's per-execution work: for the few statements a create
    runs on SQLite, that work cost more than SQLite itself. Returns the driver's cursor."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver.executemany(sql, params) if many else driver.execute(sql, params)


@functools.cache
def _sqlite_insert_sql(table: Table, names: frozenset[str]) -> tuple[
        str, Callable[[dict[str, Any]], tuple[Any, ...]],
        tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The Core insert of ``names`` compiled for SQLite, a function giving a row's values in
    the order of its parameters, and the positions of the values that need encoding, each
    with its encoder (the others are bound as they are)."""
    stmt = insert(table).values({name: bindparam(name) for name in sorted(names)})
    compiled = stmt.compile(dialect=sqlite.dialect(paramstyle="qmark"))
    order = tuple(compiled.positiontup or ())
    assert set(order) == names, (order, names)
    values_of = operator.itemgetter(*order) if len(order) > 1 else (
        lambda row: (row[order[0]],))
    encoders = tuple((position, encoder) for position, encoder in (
        (position, _sqlite_encoder(table.c[name].type)) for position, name in enumerate(order))
        if encoder is not None)
    return str(compiled), values_of, encoders


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
_ENCODE_JSON = msgspec.json.Encoder().encode


def _json_text(value: Any) -> str:
    """JSON as compact text, as SQLAlchemy's JSON type would store it (same values; non-ASCII
    characters as they are rather than escaped). msgspec encodes about ten times faster than
    ``json``; the ``json`` encoder stays for what msgspec refuses (a lone surrogate)."""
    if value is None:
        return "null"  # as SQLAlchemy's JSON type stores None (not SQL NULL)
    if not value and isinstance(value, list | dict):
        return "[]" if isinstance(value, list) else "{}"
    try:
        return _ENCODE_JSON(value).decode()
    except (UnicodeEncodeError, TypeError):
        return _COMPACT(value)


def _sqlite_encoder(kind: Any) -> Callable[[Any], Any] | None:
    """How a value of column type ``kind`` is bound, or None when as it is (booleans too:
    ``sqlite3`` binds ``True`` as the integer 1, as SQLAlchemy's Boolean does)."""
    if isinstance(kind, UTCDateTime):
        return sqlite_instant
    if isinstance(kind, JSON):
        return _json_text
    return None
