"""Plain ``--help``: value names instead of Python types, arguments in capitals, prose rewrapped.

Typer 0.29 prints an option's Python type (``<str>``, ``<list[str]>``, ``<bool>`` even for
flags), a required argument in braces (``{targets}...``), and keeps the single line breaks of
a docstring's later paragraphs, so help reads like a stack trace. ``install()`` replaces the
four display hooks once, for every command of the ``quietly`` app (other modules' commands
included): flags show no value, values show click's names (``TEXT``, ``INTEGER``, ``PATH``,
choices as ``a|b``), arguments read ``TARGETS...``, and a paragraph is one paragraph again
unless it starts with ``\\b`` (click's mark for text to keep as written).
"""

from __future__ import annotations

import re
from typing import Any

from typer import core, rich_utils

__all__ = ["install", "value_name"]

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH",
          "file": "FILE", "directory": "DIRECTORY", "datetime": "DATETIME", "uuid": "UUID"}


def value_name(python_type: str) -> str | None:
    """``<list[str]>`` → ``TEXT``; ``<int range>`` → ``INTEGER``; ``<bool>`` → None."""
    name = python_type.strip("<>")
    name = re.sub(r"^list\[(.*)\]$", r"\1", name).removesuffix(" range")
    if name == "bool":
        return None
    if "|" in name:
        return name
    return _NAMES.get(name.lower(), name.upper())


def _option_value(self: core.TyperOption, ctx: Any) -> str | None:
    if self.metavar is not None:
        return self.metavar
    if self.is_flag or self.count:
        return None
    return value_name(self.display_type(ctx))


def _argument_value(self: core.TyperArgument, ctx: Any) -> str | None:
    return None  # the name column already says what goes there


def _argument_label(self: core.TyperArgument) -> str:
    return self.metavar or (self.name or "").upper()


def _usage_name(self: core.TyperArgument) -> str:
    name = _argument_label(self) + ("..." if self.nargs != 1 and self.metavar is None else "")
    return name if self.required else f"[{name}]"


def _paragraphs(paragraphs: list[str], markup_mode: str) -> str:
    joined = [p.removeprefix("\b\n") if p.startswith("\b") else " ".join(p.split("\n"))
              for p in paragraphs]
    return "\n\n".join(joined)


def install() -> None:
    """Replace Typer's help display hooks (idempotent)."""
    core.TyperOption.display_type_rich = _option_value  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_value  # type: ignore[method-assign,assignment]
    core.TyperArgument.display_name_raw = property(_argument_label)  # type: ignore[assignment]
    core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
    rich_utils._fix_linebreaks = _paragraphs
