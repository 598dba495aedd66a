"""``quietly window edit|extend``: change a window on a running server (``PATCH``).

The server applies the edit rules (what a running window may still change); this module only
turns flags into the partial update and says plainly what it changed.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from quietly.cli_commands.common import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    connect,
    emit_json,
    fail,
    fail_on,
    format_wire_utc,
    parse_instant,
)
from quietly.cli_commands.parsing import parse_match
from quietly.cli_commands.render import print_window
from quietly.core.codec import format_instant, parse_duration
from quietly.core.errors import ValidationError

__all__ = ["edit", "edit_body", "extend"]

WindowId = Annotated[int, typer.Argument(metavar="ID", help="Window id.")]


def _file_changes(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="--file") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not JSON: {exc}", field="--file") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold the fields to change (a JSON object)",
                              field="--file")
    return data


def edit_body(*, name: str | None = None, description: str | None = None,
              targets: list[str] | None = None, groups: list[str] | None = None,
              match: list[str] | None = None, effects: list[str] | None = None,
              publish: bool | None = None, start: str | None = None, end: str | None = None,
              file: Path | None = None) -> dict[str, Any]:
    """The PATCH body for the flags given (None: leave that field as it is)."""
    body: dict[str, Any] = _file_changes(file) if file is not None else {}
    plain = {"name": name, "description": description, "targets": targets, "groups": groups,
             "effects": effects, "publish_to_status_page": publish}
    body.update({k: v for k, v in plain.items() if v is not None})
    if match is not None:
        body["match"] = [parse_match(m) for m in match]
    schedule = {k: v.strip() for k, v in (("start", start), ("end", end)) if v is not None}
    if schedule:
        body["schedule"] = {**body.get("schedule", {}), **schedule}
    if not body:
        raise ValidationError("nothing to change: give at least one flag (see --help)",
                              field="--name")
    return body


def edit(
    window_id: WindowId,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    target: Annotated[list[str] | None, typer.Option(
        metavar="KIND:ID", help="The targets, replacing the current ones (repeatable).")]
    = None,
    group: Annotated[list[str] | None, typer.Option(
        metavar="GROUP", help="The target groups, replacing the current ones (repeatable).")]
    = None,
    match: Annotated[list[str] | None, typer.Option(
        metavar="MATCHERS", help="Condition groups, replacing the current ones (repeatable).")]
    = None,
    effect: Annotated[list[str] | None, typer.Option(
        metavar="EFFECT", help="The effects, replacing the current ones (repeatable).")]
    = None,
    publish: Annotated[bool | None, typer.Option(
        "--publish/--no-publish", show_default=False,
        help="Show it on the public status page, or stop showing it.")] = None,
    start: Annotated[str | None, typer.Option(
        metavar="INSTANT", help="One-time windows: new start (RFC 3339).")] = None,
    end: Annotated[str | None, typer.Option(
        metavar="INSTANT", help="One-time windows: new end (RFC 3339).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", metavar="FILE", help="Fields to change as native JSON, e.g. "
        "'{\"schedule\": {\"rrule\": \"FREQ=WEEKLY;BYDAY=SA\"}}' ('-' for stdin).")] = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Change some fields of a window; the others stay as they are.

    A scheduled window changes freely; a running one may change only what the server allows
    (it says what and why when it refuses); ended windows do not change.

    Example: quietly window edit 42 --name "db upgrade, part 2" --end 2030-01-15T23:00:00Z
    """
    try:
        body = edit_body(name=name, description=description, targets=target, groups=group,
                         match=match, effects=effect, publish=publish, start=start, end=end,
                         file=file)
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        window = client.update_window(window_id, body)
    if as_json:
        emit_json(window)
    else:
        print_window(window)


def extend(
    window_id: WindowId,
    by: Annotated[str | None, typer.Option(
        "--by", metavar="DURATION", help="Add this much to the end: 30m, 1h, PT2H.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="INSTANT", help="End at this instant instead (RFC 3339).")] = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Move the end of a one-time window later (or earlier, but not before now).

    Example: quietly window extend 42 --by 30m
    """
    if (by is None) == (until is None):
        raise fail("give one of --by DURATION or --until INSTANT")
    try:
        added = parse_duration(by, "--by") if by is not None else timedelta(0)
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        current = client.get_window(window_id)
        schedule = current["schedule"]
        if schedule["kind"] != "once":
            raise fail(f"window {window_id} is recurring; extend moves the end of one-time "
                       "windows (change a series with `window edit --file`)")
        new_end = (format_instant(parse_instant(schedule["end"]) + added) if by is not None
                   else str(until).strip())
        window = client.update_window(window_id, {"schedule": {"end": new_end}})
    if as_json:
        emit_json(window)
        return
    typer.echo(f"window {window['id']} ({window['name']}) now ends at "
               f"{format_wire_utc(window['schedule']['end'])}")
