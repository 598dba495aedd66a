"""``quietly backup FILE`` and ``quietly restore FILE [--force]`` (server side: they work on
the configured database directly, like ``admin``; imported lazily by ``quietly.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quietly.settings import Settings, get_settings

__all__ = ["backup", "restore"]


def _using() -> Settings:
    from quietly.cli_commands.config import database_line

    settings = get_settings()
    typer.echo(database_line(settings), err=True)
    return settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (a SQLite file).")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Make a consistent copy of the database, also while quietly is running and writing.

    Example: quietly backup /var/backups/quietly-$(date +%F).db
    """
    from quietly.storage.backup import BackupError, backup_sqlite, postgres_advice, sqlite_path

    url = _using().effective_database_url
    source = sqlite_path(url)
    if source is None:
        raise _fail(postgres_advice(url, "backup", file))
    try:
        found = backup_sqlite(source, file, overwrite=force)
    except BackupError as exc:
        raise _fail(str(exc)) from None
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
    from quietly.storage.backup import BackupError, postgres_advice, restore_sqlite, sqlite_path

    url = _using().effective_database_url
    target = sqlite_path(url)
    if target is None:
        raise _fail(postgres_advice(url, "restore", file))
    try:
        found = restore_sqlite(file, target, force=force)
    except BackupError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"restored {file} into {target}: {found.windows} windows in "
               f"{found.workspaces} workspaces; start quietly to use it")
