"""``quietly start|stop|check``: immediate maintenance and "is this quiet?" for scripts.

``check`` exits 0 when the target is quiet (any verdict but ``deliver``), 1 when it is not and
2 when it could not tell, so ``if quietly check service:x; then …`` reads naturally.
"""

from __future__ import annotations

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
    format_occurrence,
    format_wire_utc,
    table,
)
from quietly.cli_commands.parsing import parse_labels
from quietly.cli_commands.render import window_zone
from quietly.client import ApiError, QuietlyClient
from quietly.core.codec import parse_duration
from quietly.core.errors import ValidationError

__all__ = ["check", "start", "stop"]

Targets = Annotated[list[str], typer.Argument(help="Targets as kind:id, e.g. service:checkout.")]


def start(
    targets: Targets,
    duration: Annotated[str, typer.Option(
        "--for", metavar="DURATION", help="How long: 30m, 2h, PT45M.")] = "30m",
    name: Annotated[str | None, typer.Option(help="Name of the window.")] = None,
    description: Annotated[str | None, typer.Option(
        help="What is being done, for the people who see the window.")] = None,
    effect: Annotated[list[str] | None, typer.Option(
        metavar="EFFECT", help="mute (default), suppress_incidents, drop, reroute, attach "
        "(repeatable).")] = None,
    publish: Annotated[bool, typer.Option(
        "--publish", help="Show it on the workspace's public status page.")] = False,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Put targets under maintenance from now on (a one-time window); prints its id.

    End it early with `quietly stop --window ID`; `quietly run` starts and ends it around a
    command for you.

    Example: quietly start service:checkout --for 45m --name "deploy 1.4.2" --publish
    """
    try:
        parse_duration(duration, "--for")
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        window = client.start_maintenance(targets, duration.strip(), name,
                                          description=description, effects=effect,
                                          publish=publish)
    if as_json:
        emit_json(window)
        return
    ends = format_wire_utc(window["schedule"]["end"])
    typer.echo(f"started window {window['id']} ({window['name']}) until {ends}")
    typer.echo(f"end it early with: quietly stop --window {window['id']}", err=True)


def stop(
    targets: Annotated[list[str] | None, typer.Argument(
        help="Targets as kind:id, e.g. service:checkout.", show_default=False)] = None,
    window: Annotated[int | None, typer.Option(
        "--window", metavar="ID", min=1,
        help="End this window (the id `start` printed); with targets, only them.")] = None,
    every: Annotated[bool, typer.Option(
        "--all", help="End every running one-time window naming the targets, not only "
        "maintenance started with `quietly start`.")] = False,
    delay: Annotated[str | None, typer.Option(
        metavar="DURATION", help="End after this long instead of now: 5m, PT10M.")] = None,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """End maintenance, now or after --delay, without ending other people's.

    `stop TARGET` ends only the maintenance started with `quietly start` on TARGET; planned
    windows are left alone unless --all. `stop --window ID` ends that one window. A window
    that also covers other targets keeps covering them. Recurring windows are never ended
    (cancel them with `window cancel`). Nothing running is not an error: deploy scripts call
    `stop` unconditionally.

    Example: quietly stop --window 42
    """
    targets = targets or []
    if not targets and window is None:
        raise fail("name the targets to stop, or --window ID")
    if every and window is not None:
        raise fail("--all chooses windows by target; leave it out with --window")
    try:
        seconds = int(parse_duration(delay, "--delay").total_seconds()) if delay else 0
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        result = client.stop_maintenance(targets, seconds, window_id=window, every=every)
    if as_json:
        emit_json(result)
        return
    _print_stopped(result["stopped"], targets, window)
    _print_left_running(result.get("left_running") or [])


def _print_stopped(stopped: list[dict[str, Any]], targets: list[str],
                   window_id: int | None) -> None:
    if not stopped:
        what = f"window {window_id}" if window_id is not None else ", ".join(targets)
        typer.echo(f"no running maintenance for {what}", err=True)
    for window in stopped:
        label = f"window {window['id']} ({window['name']})"
        ends = format_wire_utc(window["schedule"]["end"])
        gone = [t for t in targets if t not in window["targets"]]
        if window["state"] == "active" and gone and window["targets"]:
            typer.echo(f"stopped {', '.join(gone)} in {label}; it still covers "
                       f"{', '.join(window['targets'])} until {ends}")
        else:
            typer.echo(f"stopped {label} at {ends}")


def _print_left_running(left: list[dict[str, Any]]) -> None:
    for window in left:
        label = f"window {window['id']} ({window['name']})"
        if window["schedule"]["kind"] == "once":
            how = f"`quietly stop --window {window['id']}` or --all ends it"
        else:
            how = f"it is recurring: `quietly window cancel {window['id']}` ends the series"
        typer.echo(f"left running: {label}; {how}", err=True)


def _windows(client: QuietlyClient, ids: list[int]) -> list[dict[str, Any]]:
    """The windows behind a decision; one deleted meanwhile is shown by id alone."""
    found = []
    for window_id in ids:
        try:
            found.append(client.get_window(window_id))
        except ApiError as exc:
            if exc.status != 404:
                raise
            found.append({"id": window_id, "name": "(gone)", "state": "-"})
    return found


def _print_decision(target: str, decision: dict[str, Any],
                    windows: list[dict[str, Any]]) -> None:
    verdict = decision["verdict"]
    quiet = "quiet" if verdict != "deliver" else "not quiet"
    stale = " (stale: answered from memory, the database is unreachable)" \
        if decision.get("stale") else ""
    typer.echo(f"{target} is {quiet} at {format_wire_utc(decision['at'])}: {verdict}{stale}")
    if windows:
        rows = [[w["id"], w["state"], w["name"],
                 format_occurrence(w.get("current_occurrence"), window_zone(w)),
                 ", ".join(w.get("effects") or [])] for w in windows]
        table(["ID", "STATE", "NAME", "OCCURRENCE", "EFFECTS"], rows)


def check(
    target: Annotated[str, typer.Argument(help="The target, e.g. service:checkout.")],
    label: Annotated[list[str] | None, typer.Option(
        help="An alert label name=value (repeatable), for windows with matchers.")] = None,
    at: Annotated[str | None, typer.Option(
        help="Ask about this instant instead of now (RFC 3339; naive = workspace zone).")]
    = None,
    quiet_output: Annotated[bool, typer.Option("--quiet", "-q",
                                               help="Print nothing; use the exit code.")]
    = False,
    url: UrlOpt = DEFAULT_URL, key: KeyOpt = None, as_json: JsonOpt = False,
) -> None:
    """Is TARGET quiet? Exit 0 quiet (any verdict but deliver), 1 not quiet, 2 error.

    Example: if quietly check service:checkout -q; then echo "in maintenance"; fi
    """
    try:
        labels = parse_labels(label or [])
    except ValidationError as exc:
        raise fail_on(exc) from exc
    with connect(url, key) as client:
        decision = client.decide(target, labels, at)
        windows = _windows(client, list(decision["windows"])) if not quiet_output else []
    if as_json:
        emit_json({**decision, "target": target, "window_details": windows})
    elif not quiet_output:
        _print_decision(target, decision, windows)
    if decision["verdict"] == "deliver":
        raise typer.Exit(1)
