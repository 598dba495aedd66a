"""Bulk writes on PostgreSQL: many rows in one short statement with one JSON parameter."""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import JSON, Boolean, Connection, Table, bindparam, column, func, insert, select
from sqlalchemy.dialects import sqlite

from quietly.storage.types import UTCDateTime, sqlite_instant, utc

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert

__all__ = ["driver_execute", "insert_from_json", "insert_rows", "insert_values", "json_rows"]


def insert_from_json(table: Table, names: Sequence[str]) -> PgInsert:
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
    from sqlalchemy.dialects.postgresql import insert as pg_insert  # (not on SQLite)

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
    ``executemany`` over rows encoded here as SQLAlchemy would bind them (JSON as compact
    text, instants by ``storage.types.sqlite_instant``, booleans as 0/1). A nullable column
    without a server default whose value is None is left out of the statement rather than
    bound (the row stores NULL either way): ``sqlite3`` binds None, like ``True``, through
    its adapter lookup, about 0.3 µs a value, a third of a wide row's insert. Consecutive
    rows with the same None columns share one ``executemany``, so rows go in in order.
    """
    if not rows:
        return
    names = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        conn.execute(insert_from_json(table, names), json_rows(table, rows))
        return
    plan = _sqlite_plan(table, frozenset(names))
    encode = plan.encode
    _sqlite_execute(conn, plan, [encode(row) for row in rows])


def insert_values(conn: Connection, table: Table, names: tuple[str, ...],
                  rows: Sequence[Sequence[Any]], *, nulls: bool = True) -> None:
    """``insert_rows`` of rows given as sequences of the values of ``names``, in that order:
    on SQLite the rows of a batch need no dict each (a batch create's targets, jobs and
    audit entries). ``nulls=False``: the caller's rows hold no None in a column
    ``insert_rows`` would leave out, so no row is searched for them (a None there would
    still store NULL, bound rather than left out)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        insert_rows(conn, table, [dict(zip(names, row, strict=True)) for row in rows])
        return
    plan = _sqlite_plan(table, frozenset(names))
    encode = plan.sequence_encoder(names)
    params = [encode(row) for row in rows]
    if nulls:
        _sqlite_execute(conn, plan, params)
    else:
        driver_execute(conn, plan.sql, params, many=True)


def _sqlite_execute(conn: Connection, plan: _SqlitePlan, params: list[list[Any]]) -> None:
    """Run ``plan``'s insert over encoded rows: one ``executemany`` per run of rows with the
    same None columns, each without them."""
    if plan.nulls is None:
        driver_execute(conn, plan.sql, params, many=True)
        return
    nulls = plan.nulls
    keys = [nulls(values) for values in params]
    first = 0
    for i in range(1, len(params) + 1):
        if i == len(params) or keys[i] != keys[first]:
            sql, project = plan.without(keys[first])
            run = params[first:i]
            driver_execute(conn, sql, run if project is None else [project(values)
                                                                  for values in run],
                           many=True)
            first = i


def sqlite_insert(table: Table, names: frozenset[str]
                  ) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
    """The SQLite ``INSERT`` of columns ``names`` of ``table`` (compiled once) and the
    function that makes a row's parameters, encoded as SQLAlchemy would bind them."""
    plan = _sqlite_plan(table, names)
    return plan.sql, plan.encode


def driver_execute(conn: Connection, sql: str, params: Any, *, many: bool = False) -> Any:
    """Run SQL compiled from a Core statement on the driver's connection of ``conn`` (in its
    transaction), without SQLAlchemy's per-execution work: for the few statements a create
    runs on SQLite, that work cost more than SQLite itself. Returns the driver's cursor."""
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver.executemany(sql, params) if many else driver.execute(sql, params)


Project = Callable[[list[Any]], Sequence[Any]]


class _SqlitePlan:
    """How rows with columns ``names`` of ``table`` are inserted on SQLite: the statement,
    the row encoder, and (``nulls``) the positions of the row's values that are None among
    those that may be left out, with the statement and projection for each such set."""

    def __init__(self, table: Table, names: frozenset[str]) -> None:
        self.table, self.names = table, names
        self.sql, order = _sqlite_sql(table, names)
        self.encode = _row_encoder(table, order)
        optional = tuple(position for position, name in enumerate(order)
                         if table.c[name].nullable and table.c[name].server_default is None)
        self.nulls: Callable[[list[Any]], tuple[int, ...]] | None = None
        if optional:
            pick = operator.itemgetter(*optional) if len(optional) > 1 else (
                lambda values: (values[optional[0]],))

            def nulls(values: list[Any]) -> tuple[int, ...]:
                return tuple(itertools.compress(optional, map(operator.is_, pick(values),
                                                              _NONES)))

            self.nulls = nulls
        self._order = order
        self._sequence_encoders: dict[tuple[str, ...], Callable[[Sequence[Any]], list[Any]]] = {}
        self._variants: dict[tuple[int, ...], tuple[str, Project | None]] = {(): (self.sql,
                                                                                 None)}

    def sequence_encoder(self, names: tuple[str, ...]
                         ) -> Callable[[Sequence[Any]], list[Any]]:
        """``encode`` for a row given as the values of ``names`` in that order."""
        encoder = self._sequence_encoders.get(names)
        if encoder is None:
            where = {name: i for i, name in enumerate(names)}
            encoder = self._sequence_encoders[names] = _row_encoder(
                self.table, self._order, [str(where[name]) for name in self._order])
        return encoder

    def without(self, positions: tuple[int, ...]) -> tuple[str, Project | None]:
        """The statement without the columns at ``positions`` and the projection of an
        encoded row onto its parameters."""
        variant = self._variants.get(positions)
        if variant is None:
            dropped = {self._order[p] for p in positions}
            sql, order = _sqlite_sql(self.table, self.names - dropped)
            where = {name: p for p, name in enumerate(self._order)}
            kept = [where[name] for name in order]
            project: Project = operator.itemgetter(*kept) if len(kept) > 1 else (
                lambda values: (values[kept[0]],))
            variant = self._variants[positions] = (sql, project)
        return variant


_NONES = itertools.repeat(None)


@functools.cache
def _sqlite_plan(table: Table, names: frozenset[str]) -> _SqlitePlan:
    return _SqlitePlan(table, names)


def _sqlite_sql(table: Table, names: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The Core insert of ``names`` compiled for SQLite and the names in the order of its
    parameters."""
    stmt = insert(table).values({name: bindparam(name) for name in sorted(names)})
    compiled = stmt.compile(dialect=sqlite.dialect(paramstyle="qmark"))
    order = tuple(compiled.positiontup or ())
    assert set(order) == names, (order, names)
    return str(compiled), order


def _row_encoder(table: Table, order: tuple[str, ...], keys: Sequence[str] | None = None
                 ) -> Callable[[Any], list[Any]]:
    """A function of a row (a dict with keys ``order``, or a sequence: ``keys`` then gives
    the index of each name of ``order`` in it) giving its parameters in ``order``, each
    encoded as its column's type is bound. Generated, as ``dataclasses`` generates
    ``__init__``: one list display reading each key, with the encoder inline, is about
    twice as fast as a loop over the columns."""
    encoders: dict[str, Callable[[Any], Any]] = {}
    items = []
    for position, name in enumerate(order):
        key = repr(name) if keys is None else keys[position]
        encoder = _sqlite_encoder(table.c[name].type)
        if encoder is sqlite_instant:
            encoder = _repeating_instant()
        if encoder is None:
            items.append(f"row[{key}]")
        else:
            encoders[f"_e{position}"] = encoder
            items.append(f"_e{position}(row[{key}])")
    source = f"def encode(row):\n    return [{', '.join(items)}]\n"
    namespace: dict[str, Any] = dict(encoders)
    exec(source, namespace)  # noqa: S102 - the text is built above from column names only
    encode: Callable[[Any], list[Any]] = namespace["encode"]
    return encode


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
_ENCODE_JSON = msgspec.json.Encoder().encode


def _json_text(value: Any) -> str:
    """JSON as compact text, as SQLAlchemy's JSON type would store it (same values; non-ASCII
    characters as they are rather than escaped). msgspec encodes about ten times faster than
    ``json``; the ``json`` encoder stays for what msgspec refuses (a lone surrogate)."""
    if value is None:
        return "null"  # as SQLAlchemy's JSON type stores None (not SQL NULL)
    if not value:
        kind = value.__class__
        if kind is list:
            return "[]"
        if kind is dict:
            return "{}"
    try:
        return _ENCODE_JSON(value).decode()
    except (UnicodeEncodeError, TypeError):
        return _COMPACT(value)


def _sqlite_encoder(kind: Any) -> Callable[[Any], Any] | None:
    """How a value of column type ``kind`` is bound, or None when as it is. Booleans as the
    integers 0 and 1, as SQLAlchemy's Boolean binds them (``sqlite3`` would bind ``True`` as
    1 too, but through its adapter lookup, several times slower than ``int``)."""
    if isinstance(kind, UTCDateTime):
        return sqlite_instant
    if isinstance(kind, JSON):
        return _json_text
    if isinstance(kind, Boolean):
        return _bool_int
    return None


def _repeating_instant() -> Callable[[datetime | None], int | None]:
    """``sqlite_instant`` that remembers its last instant: the rows of a batch mostly repeat
    one (``created_at``, ``updated_at``, an audit entry's ``at``: the request's ``now``), and
    an identity test costs a tenth of the conversion. The pair is replaced whole, so threads
    sharing the encoder read a consistent one; holding the instant keeps its id unique."""
    last: list[tuple[datetime | None, int | None]] = [(None, None)]

    def encode(value: datetime | None) -> int | None:
        seen, stored = last[0]
        if value is seen:
            return stored
        stored = sqlite_instant(value)
        last[0] = (value, stored)
        return stored

    return encode


def _bool_int(value: bool | None) -> int | None:
    return None if value is None else int(value)
