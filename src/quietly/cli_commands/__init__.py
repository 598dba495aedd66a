"""The CLI's client commands: they talk to a running server over HTTP (``quietly.client``).

``preview`` is the exception: it builds the schedule locally and expands it with
``core.schedule``, so it needs no server. ``register(app)`` adds every command to the
``quietly`` Typer app defined in ``quietly.cli``.
"""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``window …`` (with ``edit`` and ``extend``), ``start``, ``stop``, ``check``, ``run``,
    ``preview``, ``export``, ``import`` (a file or Alertmanager), ``plan``, ``apply``,
    ``schema``, ``sync …``; plain help for every command (``helptext``).

    The modules are imported here, not with the package: ``quietly serve`` imports
    ``cli_commands.config`` and needs none of them (see ``quietly.cli.main``)."""
    from quietly.cli_commands import (
        alertmanager_import,
        ascode,
        helptext,
        maintenance,
        preview,
        run,
        syncs,
        transfer,
        window_edit,
        windows,
    )

    helptext.install()
    windows.window_app.command("edit")(window_edit.edit)
    windows.window_app.command("extend")(window_edit.extend)
    app.add_typer(windows.window_app, name="window")
    app.command("start")(maintenance.start)
    app.command("stop")(maintenance.stop)
    app.command("check")(maintenance.check)
    app.command("run", context_settings={"allow_interspersed_args": False})(run.run)
    app.command("preview")(preview.preview)
    app.command("export")(transfer.export)
    import_app = typer.Typer(
        cls=alertmanager_import.ImportGroup, no_args_is_help=True,
        help="Create windows: `quietly import FILE` from an export, or from Alertmanager.")
    import_app.command("file")(transfer.import_windows)
    import_app.command("alertmanager-silences")(alertmanager_import.alertmanager_silences)
    import_app.command("alertmanager-config")(alertmanager_import.alertmanager_config)
    app.add_typer(import_app, name="import")
    app.command("plan")(ascode.plan)  # maintenance as code
    app.command("apply")(ascode.apply)
    app.command("schema")(ascode.schema)
    app.add_typer(syncs.sync_app, name="sync")
