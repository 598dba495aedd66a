"""The CLI's client commands: they talk to a running server over HTTP (``quietly.client``).

``preview`` is the exception: it builds the schedule locally and expands it with
``core.schedule``, so it needs no server. ``register(app)`` adds every command to the
``quietly`` Typer app defined in ``quietly.cli``.
"""

from __future__ import annotations

import typer

from quietly.cli_commands import (
    helptext,
    maintenance,
    preview,
    run,
    transfer,
    window_edit,
    windows,
)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``window …`` (with ``edit`` and ``extend``), ``start``, ``stop``, ``check``, ``run``,
    ``preview``, ``export``, ``import``; plain help for every command (``helptext``)."""
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
    app.command("import")(transfer.import_windows)
