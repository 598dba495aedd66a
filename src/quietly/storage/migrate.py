"""Apply Alembic migrations programmatically (``quietly db upgrade`` and ``serve``).

Several processes may start at once against one PostgreSQL database, so the upgrade runs under
an advisory lock; on SQLite the ``BEGIN IMMEDIATE`` transaction serialises it.

Most starts find the schema up to date. That is checked first without Alembic (issue 19:
importing it and its dialect modules is a tenth of a second of a server's start): the
revisions stored in ``alembic_version`` against the heads of the migration files, read from
their ``revision`` and ``down_revision`` lines. Anything else — no table yet, an older or
unknown revision — goes through ``alembic upgrade`` as before. The stored revisions are
written in the same transaction as the migrations (``migrations/env.py``), so seeing the
heads there means every migration has committed.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["alembic_config", "script_heads", "stored_heads", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x71756965  # "quie"
_ASSIGNMENT = re.compile(r"^(revision|down_revision|depends_on)\s*(?::[^=]*)?=\s*(.+)$",
                         re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of the migration files: those no other file revises or depends on
    (what ``alembic_version`` holds once every migration has run)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        found = {name: ast.literal_eval(value.strip())
                 for name, value in _ASSIGNMENT.findall(path.read_text("utf-8"))}
        revisions.add(found["revision"])
        # What a revision depends on is behind it too: Alembic stores only the dependent.
        for name in ("down_revision", "depends_on"):
            value = found.get(name)
            revised.update((value,) if isinstance(value, str) else value or ())
    return frozenset(revisions - revised)


def stored_heads(engine: Engine) -> frozenset[str] | None:
    """The revisions in the database's ``alembic_version``; None without that table."""
    try:
        with engine.connect() as conn:
            return frozenset(conn.execute(text("SELECT version_num FROM alembic_version"))
                             .scalars())
    except DBAPIError:  # no such table (a new database), or it cannot be read
        return None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
    if revision == "heads" and stored_heads(engine) == script_heads():
        return
    from alembic import command

    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                conn.commit()
        return
    command.upgrade(cfg, revision)
