"""The ``quietly`` command: server, worker, database and admin commands, and a client.

Server-side commands (``serve``, ``db``, ``admin``) work on the database directly through the
services; client commands talk to a running server over HTTP. The server side is imported
inside its commands, so client commands start without loading SQLAlchemy or FastAPI; and the
client commands are added to ``app`` only when it is first used (``quietly.cli.app``) or run
(``main``), so ``quietly serve`` starts without loading them (issue 19: start-up).
"""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from quietly.cli_commands.config import config_app, database_line
from quietly.config_file import ConfigFileError, set_config_override
from quietly.core.errors import QuietlyError
from quietly.settings import Settings, get_settings

if TYPE_CHECKING:
    from quietly.storage.db import Database

# The server commands; ``app`` (module attribute, ``_complete``) adds the client commands.
_app = typer.Typer(help="quietly: self-hosted maintenance windows.", no_args_is_help=True,
                   pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
admin_app = typer.Typer(help="Workspaces and API keys (works on the database directly).",
                        no_args_is_help=True)
_app.add_typer(db_app, name="db")
_app.add_typer(admin_app, name="admin")
_app.add_typer(config_app, name="config")


def _using(settings: Settings) -> Settings:
    """Say which database a server-side command works on (stderr: stdout stays clean)."""
    typer.echo(database_line(settings), err=True)
    return settings


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"quietly {version('quietly')}")
        raise typer.Exit()


@_app.callback()
def _options(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Read settings from this TOML file (else $QUIETLY_CONFIG, "
        "~/.config/quietly/config.toml, /etc/quietly/config.toml); QUIETLY_* variables "
        "override it.", show_default=False)] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """quietly: self-hosted maintenance windows."""
    set_config_override(config)
    if config is not None:
        get_settings.cache_clear()  # read again, with this file


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker",
                                            help="Do not run the embedded worker.")] = False,
    reuse_port: Annotated[bool, typer.Option(
        "--reuse-port", help="Share the port with other `quietly serve --reuse-port` "
        "processes on this host (SO_REUSEPORT).")] = False,
    busy_poll_us: Annotated[int | None, typer.Option(
        "--busy-poll-us", min=0, max=10_000,
        help="While decisions come in fast, keep polling this many microseconds after "
        "each one before sleeping (0: off; default QUIETLY_BUSY_POLL_US or 100). Trades "
        "CPU under load for latency.")] = None,
) -> None:
    """Apply migrations, create the default workspace, and serve API, UI and worker.

    Example: QUIETLY_DATABASE_URL=postgresql+psycopg://quietly@db/quietly quietly serve --port 8080
    """
    # Start-up allocates long-lived objects (modules, the app, the index): the cyclic
    # collector would walk them again and again and find next to nothing (an eighth of the
    # imports' CPU, issue 19). The app turns it back on once started (``api.app``).
    gc.disable()
    from quietly.storage.early_read import EarlyRead

    settings = _using(get_settings())
    settings.run_worker = not no_worker
    host, port = host or settings.host, port or settings.port
    settings.host = host  # what /metrics checks (api.exposure.metrics_open)
    if busy_poll_us is not None:
        settings.busy_poll_us = busy_poll_us
    # On SQLite, a child process reads the windows on the other core while this one
    # imports the server (``storage.early_read``); the app uses its rows only if nothing
    # has been committed since (issue 19).
    early = EarlyRead.start(settings.effective_database_url)
    import uvicorn

    from quietly.api.app import create_app
    from quietly.api.server import reuse_port_socket, server_config

    # The store is opened (and migrated) before the server starts, so that a store this
    # release cannot use, or cannot reach, is one line of error and exit status 1, not a
    # traceback from the application's start-up.
    try:
        db = _open_store(settings)
    except BaseException:
        if early is not None:
            early.close()
        raise
    try:
        config = server_config(create_app(settings, database=db, early=early), host=host,
                               port=port, log_level="info", busy_poll_us=settings.busy_poll_us)
        sockets = None
        if reuse_port:
            try:
                sockets = [reuse_port_socket(host, port)]
            except OSError as exc:
                raise _fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        db.dispose()


def _open_store(settings: Settings) -> Database:
    """``prepare_database``, its refusals (a store a newer release migrated, a store that
    cannot be opened) as ``_fail``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from quietly.services.bootstrap import prepare_database
    from quietly.storage.migrate import SchemaNewer

    try:
        return prepare_database(settings)
    except SchemaNewer as exc:
        raise _fail(exc.message, 1) from None
    except (DBAPIError, OSError) as exc:
        url = make_url(settings.effective_database_url).render_as_string(hide_password=True)
        if isinstance(exc, DBAPIError):
            reason = str(exc.orig)
        else:  # the SQLite file's folder cannot be made
            reason = f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc)
        raise _fail(f"cannot open the database {url}: {' '.join(reason.split())}", 1) from None


@_app.command()
def worker() -> None:
    """Run the lifecycle worker alone (scale-out: beside `serve --no-worker`); stops on
    SIGTERM or Ctrl-C after finishing the deliveries in flight.

    Example: quietly serve --no-worker & quietly worker
    """
    from quietly.worker.cli import run_worker

    run_worker(_using(get_settings()))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations.

    Example: quietly db upgrade
    """
    from quietly.services.bootstrap import prepare_database
    from quietly.storage.migrate import SchemaNewer

    try:
        prepare_database(_using(get_settings())).dispose()
    except SchemaNewer as exc:
        raise _fail(exc.message, 1) from None
    typer.echo("database is up to date")


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision the database is at and the migrations still to apply; exits 1
    when a newer release of quietly migrated it.

    Example: quietly db status
    """
    from quietly.storage.db import Database
    from quietly.storage.migrate import SchemaNewer, behind, script_heads, stored_heads

    database = Database(_using(get_settings()).effective_database_url)
    try:
        stored = stored_heads(database.engine)
    finally:
        database.dispose()
    newest = ", ".join(sorted(script_heads()))
    typer.echo(f"database at: {', '.join(sorted(stored)) if stored else 'no schema yet'}; "
               f"this release's newest: {newest}")
    try:
        pending = behind(stored)
    except SchemaNewer as exc:
        raise _fail(exc.message, 1) from None
    if not pending:
        typer.echo("up to date")
    for migration in pending:
        typer.echo(f"pending {migration.revision}: {migration.title}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(
        help="The revision to take the schema back to, e.g. 0012 (`quietly db status`).")],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Do not ask; needed when not run from a terminal.")] = False,
) -> None:
    """Take the schema back to an older revision, before running an older release of quietly
    on this database. What the undone migrations added is dropped with its data: stop every
    quietly process and back up first (`quietly backup`).

    Example: quietly db downgrade 0012 --yes
    """
    from quietly.storage.db import Database
    from quietly.storage.migrate import downgrade, stored_heads, undone_by

    database = Database(_using(get_settings()).effective_database_url)
    try:
        stored = stored_heads(database.engine)
        if not stored:
            raise _fail("the database has no schema yet: nothing to downgrade", 1)
        try:
            undone = undone_by(stored, revision)
        except QuietlyError as exc:
            raise _fail(str(exc), 1) from None
        if not undone:
            typer.echo(f"database is at or behind {revision}: nothing to undo")
            return
        for migration in undone:
            typer.echo(f"undo {migration.revision}: {migration.title}")
        if not yes:
            if not sys.stdin.isatty():
                raise _fail("pass --yes to downgrade without a terminal to confirm at")
            typer.confirm(f"undo {len(undone)} migration(s)?", abort=True)
        downgrade(database.engine, revision)
    finally:
        database.dispose()
    typer.echo(f"database taken back to {revision}")


@admin_app.command("create-workspace")
def create_workspace(
    slug: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. 'payments'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str, typer.Option(help="Default IANA time zone.")] = "UTC",
) -> None:
    """Create a workspace (a tenant).

    Example: quietly admin create-workspace payments --name Payments --timezone Europe/Berlin
    """
    from quietly.services import workspaces
    from quietly.services.bootstrap import prepare_database

    db = prepare_database(_using(get_settings()))
    try:
        with db.transaction() as session:
            ws = workspaces.create_workspace(session, slug, name=name, timezone=timezone,
                                             now=_now())
    except QuietlyError as exc:
        raise _fail(str(exc)) from exc
    finally:
        db.dispose()
    typer.echo(f"created workspace {ws.slug} (id {ws.id}, {ws.timezone})")


@admin_app.command("list-workspaces")
def list_workspaces() -> None:
    """List workspaces.

    Example: quietly admin list-workspaces
    """
    from quietly.services import workspaces
    from quietly.services.bootstrap import prepare_database

    db = prepare_database(_using(get_settings()))
    with db.read() as session:
        for ws in workspaces.list_workspaces(session):
            typer.echo(f"{ws.id}\t{ws.slug}\t{ws.timezone}\t{ws.name}")
    db.dispose()


_completed = False


def _complete() -> typer.Typer:
    """The whole ``quietly`` app: the server commands above, plus the client commands
    (window, start, stop, check, preview, export, import, …: ``cli_commands``), the key
    commands of ``admin``, backup and restore. Added once, on first use."""
    global _completed
    if not _completed:
        from quietly.cli_commands import backup as backup_commands
        from quietly.cli_commands import keys as key_commands
        from quietly.cli_commands import register as register_client_commands

        register_client_commands(_app)
        admin_app.command("create-key")(key_commands.create_key)
        admin_app.command("list-keys")(key_commands.list_keys)
        admin_app.command("revoke-key")(key_commands.revoke_key)
        _app.command("backup")(backup_commands.backup)
        _app.command("restore")(backup_commands.restore)
        _completed = True
    return _app


def __getattr__(name: str) -> typer.Typer:
    """``quietly.cli.app``: the complete app (see ``_complete``)."""
    if name == "app":
        return _complete()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _serving(args: list[str]) -> bool:
    """Whether ``args`` run ``quietly serve`` (not its help): the one command that needs
    none of the client commands, and whose start-up time matters (issue 19)."""
    rest = iter(args)
    for arg in rest:
        if arg == "--config":
            next(rest, None)
        elif not arg.startswith("--config="):
            return arg == "serve" and not {"--help", "-h"} & set(args)
    return False


def main() -> None:
    try:
        (_app if _serving(sys.argv[1:]) else _complete())()
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A bad QUIETLY_* variable: say which and why, not a traceback.
        for error in exc.errors():
            name = "QUIETLY_" + "_".join(str(part) for part in error["loc"]).upper()
            typer.echo(f"error: {name}: {error['msg']}", err=True)
        raise SystemExit(2) from None
    except ConfigFileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
