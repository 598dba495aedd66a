"""``quietly export`` and ``quietly import``: every window as native JSON, and back.

The export is ``{"format": "quietly-windows", "version": 1, "exported_at", "windows": [...]}``
with each window exactly as the API shows it. Import accepts that, the API's list shape
(``{"windows": [...]}``), a bare list, or one window; it creates each window anew (new ids),
dropping output-only fields. Windows exported as ``cancelled`` or ``completed`` are skipped:
they no longer apply, and recreating them would revive a cancelled window or be refused (a
one-time window that has ended).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from quietly.cli_commands.ascode import file_document
from quietly.cli_commands.bulk import create_many
from quietly.cli_commands.common import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    connect,
    emit_json,
    fail,
)
from quietly.cli_commands.manifest import dump
from quietly.cli_commands.windows import creatable
from quietly.client import QuietlyClient
from quietly.core.codec import format_instant
from quietly.web.ical import calendar_from_json, write_ics

__all__ = ["export", "import_windows", "windows_of"]

_SKIPPED_STATES = ("cancelled", "completed")


def export(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of standard output.")] = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None,
    ics: Annotated[bool, typer.Option("--ics", help="Write iCalendar (RFC 5545) instead of "
                                      "JSON, as the calendar feed does.")] = False,
    fmt: Annotated[str, typer.Option(
        "--format", help="json (for `quietly import`) or yaml (a maintenance file for "
        "`quietly apply`: live windows with keys, and target groups).")] = "json",
) -> None:
    """Export every window of the workspace as JSON (all pages), as a maintenance file
    (--format yaml), or as iCalendar.

    Example: quietly export --format yaml > maintenance/all.yaml
    """
    if fmt not in ("json", "yaml"):
        raise fail(f"--format: {fmt!r} is not json or yaml")
    with connect(url, key) as client:
        windows = list(client.iter_windows({}))
        if fmt == "yaml":
            groups = client.request("GET", "/api/v1/groups")["groups"]
            _write(dump(file_document(windows, groups)), output, f"{len(windows)} windows")
            return
    if ics:  # the calendar is built by quietly.web.ical, exactly like the served feed
        write_ics(calendar_from_json(windows, datetime.now(UTC)), output)
        return
    document = {"format": "quietly-windows", "version": 1,
                "exported_at": format_instant(datetime.now(UTC).replace(microsecond=0)),
                "windows": windows}
    if output is None:
        emit_json(document)
        return
    try:
        output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    except OSError as exc:
        raise fail(f"--output: cannot write {output}: {exc.strerror}") from exc
    typer.echo(f"exported {len(windows)} windows to {output}", err=True)


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"--output: cannot write {output}: {exc.strerror}") from exc
    typer.echo(f"exported {what} to {output}", err=True)


def windows_of(data: Any) -> list[dict[str, Any]]:
    """The windows in an export, an API list, a bare list or a single window."""
    if isinstance(data, dict) and isinstance(data.get("windows"), list):
        data = data["windows"]
    elif isinstance(data, dict) and "schedule" in data:
        data = [data]
    if not isinstance(data, list) or not all(isinstance(w, dict) for w in data):
        raise ValueError("expected an export ({\"windows\": [...]}), a list of windows or "
                         "one window")
    return data


def _label(window: dict[str, Any], index: int) -> str:
    source = f"window {window['id']}" if "id" in window else f"window #{index + 1}"
    return f"{source} ({window.get('name', 'unnamed')})"


def _import_all(client: QuietlyClient, windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create the windows (in batches, ``cli_commands.bulk``); one result per window naming
    the source, the new id, or why not."""
    results: list[dict[str, Any]] = []
    todo: list[tuple[int, dict[str, Any]]] = []
    for index, window in enumerate(windows):
        result: dict[str, Any] = {"source_id": window.get("id"), "name": window.get("name")}
        results.append(result)
        if window.get("state") in _SKIPPED_STATES:
            result["skipped"] = f"it was {window['state']}"
            typer.echo(f"skipped {_label(window, index)}: {result['skipped']}", err=True)
        else:
            todo.append((index, window))
    outcomes = create_many(client, [creatable(w) for _, w in todo])
    for (index, window), (new_id, error) in zip(todo, outcomes, strict=True):
        if error is not None:
            results[index]["error"] = str(error)
            typer.echo(f"error: {_label(window, index)}: {error}", err=True)
        else:
            results[index]["id"] = new_id
    return results


def import_windows(
    file: Annotated[Path, typer.Argument(help="An export file ('-' for standard input).",
                                         allow_dash=True)],
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Create the windows of an export; prints each new id. Exit 1 if any failed.

    Example: quietly import windows.json
    """
    try:
        text = typer.get_text_stream("stdin").read() if str(file) == "-" \
            else file.read_text(encoding="utf-8")
        windows = windows_of(json.loads(text))
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise fail(f"{file}: {exc}") from exc
    with connect(url, key) as client:
        results = _import_all(client, windows)
    if as_json:
        emit_json({"results": results})
    else:
        for r in results:
            if "id" in r:
                was = f" (was {r['source_id']})" if r["source_id"] is not None else ""
                typer.echo(f"created {r['id']}{was}: {r['name']}")
    failed = sum(1 for r in results if "error" in r)
    if failed:
        typer.echo(f"{failed} of {len(results)} windows failed", err=True)
        raise typer.Exit(1)
