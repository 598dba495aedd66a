"""``quietly window create|list|show|cancel|delete``: windows on a running server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from quietly.cli_commands import schedule_flags as sf
from quietly.cli_commands.common import (
    DEFAULT_URL,
    JsonOpt,
    KeyOpt,
    UrlOpt,
    connect,
    emit_json,
    fail_on,
)
from quietly.cli_commands.parsing import parse_match
from quietly.cli_commands.render import print_window, print_windows
from quietly.core.errors import ValidationError

__all__ = ["OUTPUT_ONLY", "build_body", "creatable", "window_app"]

window_app = typer.Typer(help="Create, list, show, cancel and delete windows.",
                         no_args_is_help=True)

# Fields the server sets; a window read back (show --json, export) drops them to be created.
OUTPUT_ONLY = frozenset({"id", "state", "origin", "current_occurrence", "next_occurrence",
                         "human_schedule", "created_by", "created_at", "updated_at",
                         "cancelled_at", "archived_at", "key", "managed_by"})

_SCOPE = "Scope and effect"


def creatable(window: dict[str, Any]) -> dict[str, Any]:
    """A create body from a window as the API shows it: output-only fields and nulls dropped.

    Nulls go too, so that a schedule read back (which lists every key, most of them null)
    does not trip "give one of end_time or duration".
    """
    body = {k: v for k, v in window.items() if k not in OUTPUT_ONLY and v is not None}
    if isinstance(body.get("schedule"), dict):
        body["schedule"] = {k: v for k, v in body["schedule"].items() if v is not None}
    return body


def _read_file(path: Path) -> dict[str, Any]:
    """A window in the native JSON from ``path`` (``-`` reads standard input)."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="--file") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not JSON: {exc}", field="--file") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold one window (a JSON object)", field="--file")
    return creatable(data)


def _scope_body(name: str | None, description: str | None, targets: list[str],
                groups: list[str], match: list[str], effects: list[str],
                all_targets: bool) -> dict[str, Any]:
    """The non-schedule fields that were given on the command line."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if description is not None:
        body["description"] = description
    if targets:
        body["targets"] = targets
    if groups:
        body["groups"] = groups
    if match:
        body["match"] = [parse_match(m) for m in match]
    if effects:
        body["effects"] = effects
    if all_targets:
        body["all_targets"] = True
    return body


def build_body(flags: sf.ScheduleFlags, scope: dict[str, Any], file: Path | None) -> \
        dict[str, Any]:
    """The create body: from ``--file`` (flags other than schedule ones override it) or flags."""
    if file is not None:
        if flags.given():
            raise ValidationError(f"{flags.given()[0]} cannot be combined with --file (the "
                                  "file holds the schedule)", field="--file")
        return {**_read_file(file), **scope}
    if "name" not in scope:
        raise ValidationError("a window needs a name", field="--name")
    return {**scope, "schedule": sf.schedule_json(flags)}


@window_app.command("create")
def create(
    name: Annotated[str | None, typer.Option(help="Name of the window.",
                                             rich_help_panel=_SCOPE)] = None,
    description: Annotated[str | None, typer.Option(rich_help_panel=_SCOPE)] = None,
    target: Annotated[list[str] | None, typer.Option(
        help="A target kind:id (repeat the flag for more).", rich_help_panel=_SCOPE)] = None,
    group: Annotated[list[str] | None, typer.Option(
        help="A target group name (repeatable).", rich_help_panel=_SCOPE)] = None,
    match: Annotated[list[str] | None, typer.Option(
        help="A condition group, e.g. 'env=prod,service=~db-.*' (repeatable: any group "
        "may match).", rich_help_panel=_SCOPE)] = None,
    effect: Annotated[list[str] | None, typer.Option(
        help="mute (default), suppress_incidents, drop, reroute, attach (repeatable).",
        rich_help_panel=_SCOPE)] = None,
    all_targets: Annotated[bool, typer.Option("--all-targets", help="Cover every target.",
                                              rich_help_panel=_SCOPE)] = False,
    file: Annotated[Path | None, typer.Option(
        "--file", help="Create from a window in the native JSON ('-' for stdin).")] = None,
    once: sf.OnceOpt = False, start: sf.StartOpt = None, end: sf.EndOpt = None,
    rrule: sf.RRuleOpt = None, cron: sf.CronOpt = None, every: sf.EveryOpt = None,
    days: sf.DaysOpt = None, day_of_month: sf.DayOfMonthOpt = None,
    weekday_of_month: sf.WeekdayOfMonthOpt = None, short_month: sf.ShortMonthOpt = None,
    start_time: sf.StartTimeOpt = None, end_time: sf.EndTimeOpt = None,
    duration: sf.DurationOpt = None, timezone: sf.TimezoneOpt = None,
    starts_on: sf.StartsOnOpt = None, until: sf.UntilOpt = None, count: sf.CountOpt = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Create a window from flags or from a JSON file; prints the new window.

    Example: quietly window create --name "db patching" --target service:db --every weekly
    --days sun --start-time 02:00 --duration 2h --timezone Europe/Berlin
    """
    flags = sf.ScheduleFlags(
        once=once, start=start, end=end, rrule=rrule, cron=cron, every=every, days=days,
        day_of_month=day_of_month, weekday_of_month=weekday_of_month, short_month=short_month,
        start_time=start_time, end_time=end_time, duration=duration, timezone=timezone,
        starts_on=starts_on, until=until, count=count)
    try:
        scope = _scope_body(name, description, target or [], group or [], match or [],
                            effect or [], all_targets)
        body = build_body(flags, scope, file)
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        window = client.create_window(body)
    _show(window, as_json)


def _show(window: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(window)
    else:
        print_window(window)


@window_app.command("list")
def list_(
    state: Annotated[str | None, typer.Option(
        help="scheduled, active, completed or cancelled.")] = None,
    target: Annotated[str | None, typer.Option(
        help="Only windows covering this target (directly, by group or all targets).")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="Only windows with an occurrence after this instant.")] = None,
    to: Annotated[str | None, typer.Option(
        help="Only windows with an occurrence before this instant.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Windows per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue from a page's next_cursor.")]
    = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow cursors to the end.")]
    = False,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """List windows in creation order (one page unless --all).

    Example: quietly window list --state active --target service:checkout
    """
    filters: dict[str, str | int | None] = {"state": state, "target": target, "from": from_,
                                             "to": to, "limit": limit}
    with connect(url, key) as client:
        if all_pages:
            found, next_cursor = list(client.iter_windows(filters)), None
        else:
            found, next_cursor = client.list_windows(filters, cursor)
    if as_json:
        emit_json({"windows": found, "next_cursor": next_cursor})
        return
    if found:
        print_windows(found)
    else:
        typer.echo("no windows", err=True)
    if next_cursor:
        typer.echo(f"more windows: add --all, or --cursor {next_cursor}", err=True)


@window_app.command("show")
def show(window_id: Annotated[int, typer.Argument(help="Window id.")],
         url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Show one window.

    Example: quietly window show 42
    """
    with connect(url, key) as client:
        window = client.get_window(window_id)
    _show(window, as_json)


@window_app.command("cancel")
def cancel(window_id: Annotated[int, typer.Argument(help="Window id.")],
           url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel a scheduled or active window: it stops applying at once and is kept.

    Example: quietly window cancel 42
    """
    with connect(url, key) as client:
        window = client.cancel_window(window_id)
    if as_json:
        emit_json(window)
    else:
        typer.echo(f"cancelled window {window['id']}: {window['name']}")


@window_app.command("delete")
def delete(window_id: Annotated[int, typer.Argument(help="Window id.")],
           url: UrlOpt = DEFAULT_URL, key: KeyOpt = None) -> None:
    """Delete a window: it stops applying at once; the audit log keeps its record.

    Example: quietly window delete 42
    """
    with connect(url, key) as client:
        client.delete_window(window_id)
    typer.echo(f"deleted window {window_id}")

