"""Consistent copies of a SQLite database while it is in use, and putting one back.

``backup_sqlite`` uses SQLite's online backup API in a single step: the copy is one snapshot
of what was committed when it ran (writers in WAL mode are not blocked meanwhile), so every
write acknowledged before the backup started is in it. The copy is written beside the
destination, checked, switched to a plain rollback journal (one self-contained file) and
renamed into place, so a crash never leaves a half-written backup under the final name.

``restore_sqlite`` checks that the file is a quietly database and copies it into the
configured database with the same API (which handles the live database's WAL files).

PostgreSQL has its own tools for this (``pg_dump``/``pg_restore``); ``postgres_advice`` says
how to use them with the configured URL, password masked.

Errors::

    BackupError      nothing was changed; ``str(exc)`` says why and what to do
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["BackupError", "Contents", "backup_sqlite", "contents", "postgres_advice",
           "restore_sqlite", "sqlite_path"]

_NEEDED_TABLES = {"alembic_version", "workspaces", "windows"}


class BackupError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Contents:
    workspaces: int
    windows: int


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or \
            parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def postgres_advice(url: str, command: str, file: Path) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    shown = parsed.render_as_string(hide_password=True)
    if command == "backup":
        return (f"quietly uses PostgreSQL ({shown}); back it up with PostgreSQL's own tool, "
                f"which takes a consistent snapshot while quietly runs:\n"
                f"  pg_dump --format=custom --file={file} '{shown}'")
    return (f"quietly uses PostgreSQL ({shown}); restore a pg_dump file with pg_restore, "
            f"after stopping every quietly process:\n"
            f"  pg_restore --clean --if-exists --no-owner --dbname='{shown}' {file}")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def contents(path: Path) -> Contents:
    """What a quietly SQLite file holds; raises BackupError if it is not one."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        conn = _connect(path)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if check != "ok":
                raise BackupError(f"{path} is damaged ({check})")
            if not tables >= _NEEDED_TABLES:
                raise BackupError(f"{path} is not a quietly database (no quietly tables)")
            return Contents(conn.execute("SELECT count(*) FROM workspaces").fetchone()[0],
                            conn.execute("SELECT count(*) FROM windows").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from exc


def backup_sqlite(source: Path, destination: Path, *, overwrite: bool = False) -> Contents:
    """Copy the live database ``source`` to ``destination``; returns what the copy holds."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (check QUIETLY_DATA_DIR or "
                          "QUIETLY_DATABASE_URL)")
    if destination.exists() and not overwrite:
        raise BackupError(f"{destination} exists; pass --force to replace it")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src, dst = _connect(source), sqlite3.connect(partial, isolation_level=None)
    try:
        src.backup(dst)  # one step: a single snapshot, never restarted by concurrent writes
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        src.close()
        dst.close()
    try:
        found = contents(partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    return found


def restore_sqlite(backup: Path, target: Path, *, force: bool = False) -> Contents:
    """Replace the database ``target`` with the backup; refuses a live one without force."""
    found = contents(backup)
    if target.exists() and target.stat().st_size > 0 and not force:
        try:
            live = contents(target)
            holds = f"holds {live.windows} windows in {live.workspaces} workspaces"
        except BackupError:
            holds = "is not empty"
        raise BackupError(f"{target} {holds}; restoring replaces all of it. Stop every "
                          "quietly process using it, then run again with --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = _connect(backup), _connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return found
