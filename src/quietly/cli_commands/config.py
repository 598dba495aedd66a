"""``quietly config show``: every setting in force, where it came from, secrets masked.

The output is TOML, so it can be saved as a config file and edited; each line's comment
says whether the value is the default, from the config file, or from a ``QUIETLY_*``
variable. ``database_line`` is the "database: …" line that ``serve``, ``db``, ``admin``,
``backup`` and ``restore`` print so nobody wonders which database a command used.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import typer

from quietly.config_file import config_file, file_values
from quietly.settings import Settings, get_settings

__all__ = ["config_app", "database_line", "mask_url", "show", "using_database"]

config_app = typer.Typer(help="The settings in force.", no_args_is_help=True)
SECRETS = frozenset({"api_key", "metrics_token", "oidc_client_secret"})
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")


def mask_url(url: str) -> str:
    return _PASSWORD.sub(r"\1***@", url)


def database_line(settings: Settings) -> str:
    return f"database: {mask_url(settings.effective_database_url)}"


def using_database() -> Settings:
    """The settings in force, once the server-side command that asks for them has said on
    stderr which database it works on (stdout stays clean for what it prints)."""
    settings = get_settings()
    typer.echo(database_line(settings), err=True)
    return settings


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def _source(name: str, from_file: dict[str, Any], path: Path | None) -> str:
    variable = "QUIETLY_" + name.upper()
    if variable in os.environ:
        return f"environment {variable}"
    if name in from_file:
        return str(path)
    return "default"


@config_app.command("show")
def show() -> None:
    """Print the effective settings as TOML, each with where it came from.

    Example: quietly config show
    """
    settings = get_settings()
    path = config_file()
    from_file = file_values(path, set(Settings.model_fields)) if path else {}
    where = str(path) if path else ("none (looked for --config, $QUIETLY_CONFIG, "
                                    "~/.config/quietly/config.toml, /etc/quietly/config.toml)")
    typer.echo(f"# config file: {where}")
    typer.echo(f"# {database_line(settings)}")
    for name in Settings.model_fields:
        value = getattr(settings, name)
        source = _source(name, from_file, path)
        if value is None:
            typer.echo(f"# {name} = (not set)".ljust(50) + f"  # {source}")
            continue
        shown = '"********"' if name in SECRETS else _toml(
            mask_url(value) if name == "database_url" else value)
        typer.echo(f"{name} = {shown}".ljust(50) + f"  # {source}")
