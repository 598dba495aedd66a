"""Apply Alembic migrations programmatically (``quietly db upgrade``, ``db downgrade`` and
``serve``).

Several processes may start at once against one PostgreSQL database, so the upgrade runs under
an advisory lock; on SQLite the ``BEGIN IMMEDIATE`` transaction serialises it.

Most starts find the schema up to date. That is checked first without Alembic (issue 19:
importing it and its dialect modules is a tenth of a second of a server's start): the
revisions stored in ``alembic_version`` against the heads of the migration files, read from
their ``revision`` and ``down_revision`` lines. Anything else — no table yet, an older or
unknown revision — goes through ``alembic upgrade`` as before. The stored revisions are
written in the same transaction as the migrations (``migrations/env.py``), so seeing the
heads there means every migration has committed.

A store that a newer release migrated holds a revision these files do not know: ``upgrade``
refuses it with ``SchemaNewer`` (what to do, in words) rather than Alembic's traceback, and
``downgrade`` is how the newer release takes its store back before an older one runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from quietly.core.errors import Conflict, ValidationError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["Migration", "SchemaNewer", "alembic_config", "behind", "downgrade", "migrations",
           "script_heads", "stored_heads", "undone_by", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x71756965  # "quie"
_ASSIGNMENT = re.compile(r"^(revision|down_revision|depends_on)\s*(?::[^=]*)?=\s*(.+)$",
                         re.MULTILINE)


class SchemaNewer(Conflict):
    """The store holds a revision this release's migration files do not know: a newer
    release migrated it."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its revision, the revisions it comes after (``down_revision`` and
    ``depends_on``) and its docstring's first paragraph."""

    revision: str
    after: tuple[str, ...]
    title: str


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, Iterable) else ()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@cache
def migrations() -> dict[str, Migration]:
    """Every migration file by revision, read from its ``revision``, ``down_revision`` and
    ``depends_on`` lines (no Alembic import)."""
    found: dict[str, Migration] = {}
    for path in sorted((_MIGRATIONS / "versions").glob("*.py")):
        source = path.read_text("utf-8")
        lines = {name: ast.literal_eval(value.strip())
                 for name, value in _ASSIGNMENT.findall(source)}
        doc = (ast.get_docstring(ast.parse(source)) or "").strip()
        revision = str(lines["revision"])
        found[revision] = Migration(
            revision, _strings(lines.get("down_revision")) + _strings(lines.get("depends_on")),
            " ".join(doc.split("\n\n")[0].split()))
    return found


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of the migration files: those no other file revises or depends on
    (what ``alembic_version`` holds once every migration has run). What a revision depends on
    is behind it too: Alembic stores only the dependent."""
    known = migrations()
    return frozenset(known) - {r for m in known.values() for r in m.after}


def _with_ancestors(revisions: Iterable[str]) -> set[str]:
    known = migrations()
    seen: set[str] = set()
    todo = list(revisions)
    while todo:
        revision = todo.pop()
        if revision not in seen:
            seen.add(revision)
            todo += known[revision].after
    return seen


def _known(stored: frozenset[str]) -> None:
    unknown = sorted(stored - set(migrations()))
    if unknown:
        raise SchemaNewer(
            f"the database's schema is at revision {', '.join(unknown)}, which this release "
            f"of quietly does not know (its newest: {', '.join(sorted(script_heads()))}): a "
            "newer release migrated it. Run the newer release, or take the store back with "
            f"its `quietly db downgrade {max(script_heads())}` before starting this one")


def behind(stored: frozenset[str] | None) -> list[Migration]:
    """The migrations ``upgrade`` would apply to a store at ``stored``, oldest first (every
    one for a new store); raises ``SchemaNewer`` for a revision these files do not know."""
    _known(stored or frozenset())
    applied = _with_ancestors(stored or ())
    return [m for m in _ordered() if m.revision not in applied]


def undone_by(stored: frozenset[str], target: str) -> list[Migration]:
    """The migrations ``downgrade(engine, target)`` undoes on a store at ``stored``, newest
    first: those applied that come after ``target`` (other branches are kept, as Alembic
    does). Raises ``ValidationError`` for a target these files do not know or one the store
    has not reached, ``SchemaNewer`` for a store they do not know."""
    _known(stored)
    if target not in migrations():
        raise ValidationError(f"no migration {target!r}; known: "
                              f"{', '.join(sorted(migrations()))}", field="revision")
    applied = _with_ancestors(stored)
    if target not in applied:
        raise ValidationError(
            f"the database's schema ({', '.join(sorted(stored))}) has not reached {target}: "
            "`quietly db upgrade` moves it forward", field="revision")
    return [m for m in reversed(_ordered())
            if m.revision in applied and m.revision != target
            and target in _with_ancestors((m.revision,))]


def _ordered() -> list[Migration]:
    """Every migration after all it comes after (ties by revision)."""
    known = migrations()
    done: list[Migration] = []
    placed: set[str] = set()
    while len(done) < len(known):
        ready = sorted(r for r, m in known.items()
                       if r not in placed and placed.issuperset(m.after))
        done += [known[r] for r in ready]
        placed.update(ready)
    return done


def stored_heads(engine: Engine) -> frozenset[str] | None:
    """The revisions in the database's ``alembic_version``; None without that table."""
    try:
        with engine.connect() as conn:
            return frozenset(conn.execute(text("SELECT version_num FROM alembic_version"))
                             .scalars())
    except DBAPIError:  # no such table (a new database), or it cannot be read
        return None


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once. Raises
    ``SchemaNewer`` for a store a newer release migrated."""
    stored = stored_heads(engine)
    if revision == "heads" and stored == script_heads():
        return
    _known(stored or frozenset())
    from alembic import command

    _locked(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (undoing ``undone_by``); under the same lock as
    ``upgrade``."""
    undone_by(stored_heads(engine) or frozenset(), revision)  # checks both revisions
    from alembic import command

    _locked(engine, lambda cfg: command.downgrade(cfg, revision))


def _locked(engine: Engine, run: Callable[[Config], None]) -> None:
    """``run`` Alembic on ``engine``: on PostgreSQL under an advisory lock, on one connection;
    on SQLite its ``BEGIN IMMEDIATE`` serialises it."""
    cfg = alembic_config(engine)
    if engine.dialect.name != "postgresql":
        run(cfg)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
        try:
            cfg.attributes["connection"] = conn
            run(cfg)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
            conn.commit()
