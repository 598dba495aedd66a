"""``storage.bulk.insert_rows`` (and ``insert_values``) stores exactly what SQLAlchemy's own
insert of the same rows stores, on SQLite and PostgreSQL (the session's database).

Its SQLite path binds values itself (booleans as integers, instants as integers, JSON as
compact text) and leaves out of each statement the nullable columns a row has as None, one
``executemany`` per run of rows with the same None columns. So rows whose None columns
differ, booleans, JSON ``null`` versus SQL NULL and a column with a server default (which a
None must not leave to its default) are all compared, value and SQL type, row for row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)

from quietly.storage.bulk import insert_rows, insert_values
from quietly.storage.db import Database
from quietly.storage.types import UTCDateTime


@pytest.fixture(scope="module")
def tables(db: Database) -> Iterator[tuple[Table, Table, Table, Table]]:
    meta = MetaData()
    suffix = uuid.uuid4().hex[:8]

    def table(name: str) -> Table:
        return Table(
            f"{name}_{suffix}", meta,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("flag", Boolean, nullable=False),
            Column("maybe", Boolean, nullable=True),
            Column("doc", JSON, nullable=True),
            Column("at", UTCDateTime(), nullable=True),
            Column("note", String(50), nullable=True),
            Column("dflt", String(50), nullable=True, server_default="from the default"))

    made = (table("bulk"), table("core"), table("seq"), table("bound"))
    meta.create_all(db.engine)
    yield made
    meta.drop_all(db.engine)


# No NUL and no lone surrogate: the API refuses both before anything is stored
# (``api.middleware.NulGuard``; pydantic and the fast reads refuse a lone surrogate), and
# PostgreSQL can store neither in text or JSON. (The SQLite bulk paths' handling of lone
# surrogates has its own tests: tests/storage/test_side_rows.py, test_window_rows.py.)
_text = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                max_size=5)
values = st.fixed_dictionaries({
    "flag": st.booleans(),
    "maybe": st.one_of(st.none(), st.booleans()),
    "doc": st.one_of(st.none(), st.just([]), st.just({}),
                     st.dictionaries(_text, st.integers(), max_size=2),
                     st.lists(_text, max_size=2)),
    "at": st.one_of(st.none(), st.integers(-10**6, 10**6).map(
        lambda m: datetime(2026, 3, 29, 1, tzinfo=UTC) + timedelta(minutes=m, microseconds=m))),
    "note": st.one_of(st.none(), _text),
    "dflt": st.one_of(st.none(), st.just("given")),
})


def _stored(db: Database, table: Table) -> list[tuple[Any, ...]]:
    """Every row as stored: each value with its SQL type (SQLite's ``typeof``; PostgreSQL's
    types are the columns' own), ordered by id."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id)).all()
        if db.engine.dialect.name == "sqlite":
            kinds = conn.execute(text(
                "SELECT " + ", ".join(f"typeof({c.name})" for c in table.c)
                + f" FROM {table.name} ORDER BY id")).all()
            return [(*row, *kind) for row, kind in zip(rows, kinds, strict=True)]
        return [tuple(row) for row in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(rows=st.lists(values, min_size=1, max_size=12))
def test_insert_rows_stores_what_sqlalchemys_insert_stores(
        db: Database, tables: tuple[Table, Table, Table, Table],
        rows: list[dict[str, Any]]) -> None:
    """``insert_rows`` (dicts) and ``insert_values`` (sequences, in an order of their own;
    with ``nulls=False`` its None values bound rather than left out)."""
    bulk, core, seq, bound = tables
    numbered = [{"id": i, **row} for i, row in enumerate(rows)]
    names = ("note", "id", "at", "flag", "dflt", "doc", "maybe")
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
        insert_rows(conn, bulk, numbered)
        insert_values(conn, seq, names, [tuple(row[n] for n in names) for row in numbered])
        insert_values(conn, bound, names, [tuple(row[n] for n in names) for row in numbered],
                      nulls=False)
        conn.execute(insert(core), numbered)
    assert _stored(db, bulk) == _stored(db, seq) == _stored(db, bound) == _stored(db, core)
