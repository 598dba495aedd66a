"""Apply Alembic migrations programmatically (``quietly db upgrade`` and ``serve``).

Several processes may start at once against one PostgreSQL database, so the upgrade runs under
an advisory lock; on SQLite the ``BEGIN IMMEDIATE`` transaction serialises it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

__all__ = ["alembic_config", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x71756965  # "quie"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
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
