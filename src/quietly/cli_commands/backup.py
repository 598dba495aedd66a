"""``quietly backup FILE`` and ``quietly restore FILE [--force]`` (server side: they work on
the configured database directly, like ``admin``; imported lazily by ``quietly.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quietly.cli_commands.common import fail
from quietly.cli_commands.config import using_database

__all__ = ["backup", "restore"]


def _sqlite_file(command: str, file: Path) -> Path:
    """The configured SQLite database's file; for PostgreSQL, exit with what to run instead."""
    from quietly.storage.backup import postgres_advice, sqlite_path

    url = using_database().effective_database_url
    path = sqlite_path(url)
    if path is None:
        raise fail(postgres_advice(url, command, file))
    return path


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (a SQLite file).")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Make a consistent copy of the database, also while quietly is running and writing.

    Example: quietly backup /var/backups/quietly-$(date +%F).db
    """
    from quietly.storage.backup import BackupError, backup_sqlite

    source = _sqlite_file("backup", file)
    try:
        found = backup_sqlite(source, file, overwrite=force)
    except BackupError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"backed up {source} to {file}: {found.windows} windows in "
               f"{found.workspaces} workspaces")


def restore(
    file: Annotated[Path, typer.Argument(help="A file made by `quietly backup`.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Replace a database that already holds data (stop quietly first).")
    ] = False,
) -> None:
    """Put a backup in place of the database (refuses to overwrite one without --force).

    Example: quietly restore /var/backups/quietly-2026-12-06.db --force
    """
    from quietly.storage.backup import BackupError, restore_sqlite

    target = _sqlite_file("restore", file)
    try:
        found = restore_sqlite(file, target, force=force)
    except BackupError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"restored {file} into {target}: {found.windows} windows in "
               f"{found.workspaces} workspaces; start quietly to use it")
