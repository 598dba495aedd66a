"""The tables' partial indexes: SQLite's WHERE declared with the table, PostgreSQL's added
where PostgreSQL is used (``tables.with_postgresql_where``), so that a SQLite server does not
import SQLAlchemy's PostgreSQL dialect to start (issue 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Index, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.tables import PARTIAL_INDEXES, Base, with_postgresql_where

# What migrations create (0006, 0012 and the keys' migrations): index name and its WHERE.
EXPECTED = {
    "ux_api_keys_live_name": "revoked_at IS NULL",
    "ix_windows_parent": "parent_id IS NOT NULL",
    "uq_windows_ws_key": "key IS NOT NULL AND archived_at IS NULL",
    "uq_target_groups_ws_key": "key IS NOT NULL",
    "ix_audit_create_ref": "after IS NULL AND action = 'create'",
}


def _indexes() -> list[Index]:
    return [index for table in Base.metadata.tables.values() for index in table.indexes]


def test_every_index_with_a_where_is_one_of_the_partial_ones_and_none_is_missing() -> None:
    with_where = {index.name for index in _indexes()
                  if index.dialect_options["sqlite"]["where"] is not None}
    assert with_where == {index.name for index in PARTIAL_INDEXES} == set(EXPECTED)


@pytest.mark.parametrize("dialect", [sqlite.dialect, postgresql.dialect],
                         ids=["sqlite", "postgresql"])
def test_each_creates_the_same_partial_index_on_both_databases(dialect: type) -> None:
    with_postgresql_where()
    with_postgresql_where()  # idempotent
    for index in PARTIAL_INDEXES:
        ddl = str(CreateIndex(index).compile(dialect=dialect()))
        assert ddl.endswith(f" WHERE {EXPECTED[str(index.name)]}"), ddl
        assert ("CREATE UNIQUE INDEX" in ddl) == bool(index.unique)


def test_the_store_holds_them_as_the_tables_say(db: Database) -> None:
    """On the database the suite runs on (SQLite, or PostgreSQL in CI's second run), the
    migrated store has each partial index, unique as declared."""
    found = {}
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        for index in PARTIAL_INDEXES:
            table = index.table
            assert table is not None
            stored = {i["name"]: i for i in inspector.get_indexes(table.name)}
            found[index.name] = bool(stored[str(index.name)]["unique"]) == bool(index.unique)
        if db.engine.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes")).all()
            defs: dict[str, str] = dict(rows)
            for name in EXPECTED:
                assert "WHERE" in defs[name], defs[name]
    assert all(found.values()), found


_SERVE_PATH = """
import sys
import quietly.cli, quietly.api.server, uvicorn
from quietly.api.app import create_app
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings

settings = Settings(database_url=sys.argv[1], run_worker=False, access_log=False)
create_app(settings, database=prepare_database(settings))
print(sorted(m for m in sys.modules if m.startswith("sqlalchemy.dialects.postgresql")))
"""


def test_a_sqlite_server_starts_without_the_postgresql_dialect(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    from quietly.services.bootstrap import prepare_database

    prepare_database(Settings(database_url=url, run_worker=False)).dispose()  # migrated
    out = subprocess.run([sys.executable, "-c", _SERVE_PATH, url], capture_output=True,
                         text=True, timeout=180, check=True,
                         env={**os.environ, "PYTHONTZPATH": ""})
    assert out.stdout.splitlines()[-1] == "[]"
