"""Maintenance as code: ``quietly plan``, ``quietly apply`` and ``quietly schema``.

``plan`` and ``apply`` read files and directories (``cli_commands.manifest``) and send the
whole set to ``POST /api/v1/apply`` (``plan`` with ``dry_run``), so the server validates and
plans both exactly alike. Exit codes follow ``terraform plan -detailed-exitcode``:

- ``plan``: 0 nothing would change, 2 something would, 1 an error;
- ``apply``: 0 applied (or nothing to do), 1 an error (then nothing was applied).

The source (whose objects an apply owns and ``--prune`` may delete) is ``--source``, else
``$QUIETLY_SOURCE``, else the repository the CI job runs for (``$GITHUB_REPOSITORY`` on
GitHub Actions, ``$CI_PROJECT_PATH`` on GitLab CI); without any of them the command stops:
guessing a source could let a prune delete another repository's windows.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from quietly.cli_commands.common import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    emit_json,
    format_local,
    parse_instant,
)
from quietly.cli_commands.manifest import Manifest, load
from quietly.client import ApiError, ClientError, QuietlyClient

__all__ = ["apply", "file_document", "plan", "resolve_source", "schema"]

_CI_SOURCES = ("QUIETLY_SOURCE", "GITHUB_REPOSITORY", "CI_PROJECT_PATH")
_SYMBOL = {"create": "+", "change": "~", "delete": "-"}

FilesOpt = Annotated[list[Path], typer.Option(
    "--file", "-f", help="A file (YAML or JSON) or a directory of them; repeat for more.",
    show_default=False)]
SourceOpt = Annotated[str | None, typer.Option(
    "--source", help="Who manages these objects (default: $QUIETLY_SOURCE, else the CI "
    "repository: $GITHUB_REPOSITORY or $CI_PROJECT_PATH).", show_default=False)]
PruneOpt = Annotated[bool, typer.Option(
    "--prune", help="Delete windows and groups of this source that the files no longer "
    "contain (never those of another source or made by hand).")]


class _Failed(Exception):
    """Errors already formatted for the terminal, one per line."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def resolve_source(given: str | None, environ: dict[str, str] | None = None) -> str:
    """``--source``, else the first of $QUIETLY_SOURCE, $GITHUB_REPOSITORY, $CI_PROJECT_PATH."""
    env = os.environ if environ is None else environ
    if given:
        return given
    for name in _CI_SOURCES:
        if env.get(name):
            return env[name]
    raise _Failed(["error: name the source with --source (or set QUIETLY_SOURCE): an apply "
                   "owns, and --prune deletes, only the objects of its source"])


def _send(url: str, key: str | None, manifest: Manifest, source: str, *, prune: bool,
          dry_run: bool) -> dict[str, Any]:
    if not key:
        raise _Failed(["error: no API key: pass --key or set QUIETLY_API_KEY"])
    body = {"source": source, "windows": manifest.windows, "groups": manifest.groups,
            "prune": prune, "dry_run": dry_run}
    try:
        with QuietlyClient(url, key, timeout=120) as client:
            result: dict[str, Any] = client.request("POST", "/api/v1/apply", json=body)
    except ApiError as exc:
        if exc.errors:
            raise _Failed([manifest.locate(e.get("field"), str(e.get("detail")))
                           for e in exc.errors]) from exc
        raise _Failed([f"error: {exc}"]) from exc
    except ClientError as exc:
        raise _Failed([f"error: {exc}"]) from exc
    return result


def _load(files: list[Path]) -> Manifest:
    if not files:
        raise _Failed(["error: name the files with -f PATH (a file or a directory)"])
    manifest = load(files)
    if manifest.errors:
        raise _Failed(manifest.errors)
    return manifest


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _zone(window: dict[str, Any]) -> str:
    zone = (window.get("schedule") or {}).get("timezone")
    return zone if isinstance(zone, str) and zone else "UTC"


def _change_lines(change: dict[str, Any]) -> list[str]:
    ident = f", id {change['id']}" if change.get("id") else ""
    lines = [f"{_SYMBOL[change['action']]} {change['kind']} {change['key']} "
             f"({change['action']}{ident}): {change['name']}"]
    for d in change["diff"]:
        if change["action"] == "create":
            lines.append(f"    {d['field']}: {_value(d['after'])}")
        else:
            lines.append(f"    {d['field']}: {_value(d['before'])} → {_value(d['after'])}")
    window = change.get("window")
    if window:
        zone = _zone(window)
        lines.append(f"    schedule in words: {window['human_schedule']}")
        for o in change.get("next_occurrences") or []:
            lines.append(f"    next: {format_local(parse_instant(o['start']), zone)} → "
                         f"{format_local(parse_instant(o['end']), zone)}")
        if not change.get("next_occurrences"):
            lines.append("    next: none (no occurrence is left)")
    return lines


def _summary(changes: list[dict[str, Any]], verb: str) -> str:
    counts = {a: sum(c["action"] == a for c in changes) for a in ("create", "change", "delete")}
    return (f"{verb}: {counts['create']} to create, {counts['change']} to change, "
            f"{counts['delete']} to delete.")


def _print(result: dict[str, Any], manifest: Manifest, verb: str) -> None:
    files = len(manifest.files)
    typer.echo(f"source {result['source']!r}, {files} file{'s' if files != 1 else ''}, "
               f"{len(manifest.windows)} windows, {len(manifest.groups)} groups")
    if not result["changes"]:
        typer.echo("No changes: the workspace already matches the files.")
        return
    for change in result["changes"]:
        typer.echo("")
        for line in _change_lines(change):
            typer.echo(line)
    typer.echo("")
    typer.echo(_summary(result["changes"], verb))


def _run(files: list[Path], source: str | None, url: str, key: str | None, *, prune: bool,
         dry_run: bool, as_json: bool) -> dict[str, Any]:
    try:
        manifest = _load(files)
        result = _send(url, key, manifest, resolve_source(source), prune=prune,
                       dry_run=dry_run)
    except _Failed as exc:
        for line in exc.lines:
            typer.echo(line, err=True)
        raise typer.Exit(1) from exc
    if as_json:
        emit_json(result)
    else:
        _print(result, manifest, "Plan" if dry_run else "Applied")
    return result


def plan(
    files: FilesOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    source: SourceOpt = None, prune: PruneOpt = False,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Show what `apply` would create, change and delete. Exit 0: no changes; 2: changes;
    1: an error (each one as file:line: field: message).

    Example: quietly plan -f maintenance/ --source ops/maintenance
    """
    result = _run(files, source, url, key, prune=prune, dry_run=True, as_json=as_json)
    if result["changed"]:
        raise typer.Exit(2)


def apply(
    files: FilesOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    source: SourceOpt = None, prune: PruneOpt = False,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Make the workspace match the files, all or nothing. Exit 0: applied (or nothing to
    do); 1: an error, and nothing was applied.

    Example: quietly apply -f maintenance/ --source ops/maintenance --prune
    """
    _run(files, source, url, key, prune=prune, dry_run=False, as_json=as_json)


def schema(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Print the JSON Schema of maintenance files (for editors and CI checks).

    Example: quietly schema > quietly-file.schema.json
    """
    from quietly.api.native.apply_schemas import file_schema

    text = json.dumps(file_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")


# Export ------------------------------------------------------------------------------------

# What a window is when a file leaves a field out (WindowCreate's defaults): left out again.
_DEFAULTS: dict[str, Any] = {
    "description": None, "targets": [], "groups": [], "match": [], "all_targets": False,
    "effects": ["mute"], "notify_channels": [], "notify_start_minutes_before": None,
    "notify_end_minutes_before": None, "notification_message": None, "resolve_on_end": False,
    "reroute_on_end": False, "escalation_targets": [], "incident_id": None, "lead": None,
    "publish_to_status_page": False, "show_in_sidebar": True}
_NOT_IN_FILES = frozenset({"id", "key", "managed_by", "origin", "state", "current_occurrence",
                           "next_occurrence", "human_schedule", "created_by", "created_at",
                           "updated_at", "cancelled_at", "archived_at"})
_GONE = ("cancelled", "completed")  # no longer apply; a file cannot bring them back


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") or "window"


def _keys(windows: list[dict[str, Any]]) -> list[str]:
    """Each window's key: its own, else one made from its name (unique in the export)."""
    taken = {w["key"] for w in windows if w.get("key")}
    out = []
    for window in windows:
        key = window.get("key")
        if not key:
            base = key = _slug(str(window.get("name", "")))
            n = 2
            while key in taken:
                key, n = f"{base}-{n}", n + 1
            taken.add(key)
        out.append(key)
    return out


def _file_window(window: dict[str, Any], key: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key, "name": window["name"]}
    for name, value in window.items():
        if name in _NOT_IN_FILES or name == "name" or value is None:
            continue
        if name in _DEFAULTS and value == _DEFAULTS[name]:
            continue
        if name == "schedule":
            value = {k: v for k, v in value.items() if v is not None}
        elif name == "match":
            value = [[{k: v for k, v in m.items() if v is not None} for m in group]
                     for group in value]
        entry[name] = value
    return entry


def _file_group(group: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": group["name"]}
    if group.get("description") is not None:
        entry["description"] = group["description"]
    if group.get("targets"):
        entry["targets"] = list(group["targets"])
    return entry


def file_document(windows: list[dict[str, Any]],
                  groups: list[dict[str, Any]]) -> dict[str, Any]:
    """A workspace as one maintenance file: live windows by key, groups by name.

    Applying it to an empty workspace and exporting again gives the same document.
    """
    live = [w for w in windows if w.get("state") not in _GONE]
    entries = [_file_window(w, k) for w, k in zip(live, _keys(live), strict=True)]
    return {"groups": sorted((_file_group(g) for g in groups), key=lambda g: g["name"]),
            "windows": sorted(entries, key=lambda w: w["key"])}
