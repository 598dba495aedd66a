"""Human-readable views of windows in the native wire shape (tables and detail pages)."""

from __future__ import annotations

from typing import Any

import typer

from quietly.cli_commands.common import format_occurrence, table

__all__ = ["print_window", "print_windows", "scope_text", "window_zone"]


def window_zone(window: dict[str, Any]) -> str | None:
    """The zone to show a window's times in: its schedule's, or None (show UTC)."""
    zone = window.get("schedule", {}).get("timezone")
    return zone if isinstance(zone, str) and zone else None


def _matcher_text(m: dict[str, Any]) -> str:
    if m.get("values") is not None:
        return f"{m['label']} {m['op']} [{', '.join(m['values'])}]"
    if m.get("op") in ("is_set", "is_blank"):
        return f"{m['label']} {m['op']}"
    return f'{m["label"]}{m["op"]}"{m.get("value") or ""}"'


def match_text(groups: list[list[dict[str, Any]]]) -> str:
    """Condition groups as ``{env="prod", service=~"db-.*"} or {…}``."""
    return " or ".join("{" + ", ".join(_matcher_text(m) for m in g) + "}" for g in groups)


def scope_text(window: dict[str, Any]) -> str:
    """What a window covers, in one line: targets, groups, matchers or everything."""
    if window.get("all_targets"):
        return "all targets"
    parts = list(window.get("targets") or [])
    parts += [f"group:{g}" for g in window.get("groups") or []]
    if window.get("match"):
        parts.append(match_text(window["match"]))
    return ", ".join(parts) or "-"


def _when(window: dict[str, Any]) -> str:
    """The running occurrence if any, else the next one, in the window's zone."""
    zone = window_zone(window)
    if window.get("current_occurrence"):
        return "now, " + format_occurrence(window["current_occurrence"], zone)
    return format_occurrence(window.get("next_occurrence"), zone)


def print_windows(windows: list[dict[str, Any]]) -> None:
    """A table: id, state, name, schedule in words, current-or-next occurrence, scope."""
    rows = [[w["id"], w["state"], w["name"], w.get("human_schedule", ""), _when(w),
             scope_text(w)] for w in windows]
    table(["ID", "STATE", "NAME", "SCHEDULE", "CURRENT / NEXT", "SCOPE"], rows)


def print_window(window: dict[str, Any]) -> None:
    """Every field a person looks for, one per line; times in the window's zone."""
    zone = window_zone(window)
    lines: list[tuple[str, object]] = [
        ("id", window["id"]),
        ("name", window["name"]),
        ("state", window["state"]),
        ("schedule", window.get("human_schedule", "")),
        ("current", format_occurrence(window.get("current_occurrence"), zone)),
        ("next", format_occurrence(window.get("next_occurrence"), zone)),
        ("scope", scope_text(window)),
        ("effects", ", ".join(window.get("effects") or []) or "-"),
    ]
    if window.get("description"):
        lines.append(("description", window["description"]))
    lines.append(("created", f"{window.get('created_at')} by {window.get('created_by') or '-'}"))
    if window.get("cancelled_at"):
        lines.append(("cancelled", window["cancelled_at"]))
    width = max(len(label) for label, _ in lines) + 1
    for label, value in lines:
        typer.echo(f"{label + ':':<{width}} {value}")
