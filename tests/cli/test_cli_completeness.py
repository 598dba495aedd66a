"""The CLI is complete and speaks plainly (issue 16, point 3): ``window edit``, ``window
extend``, ``start --effect/--publish/--description``, ``--version``, help without Python type
names and with an example for every command, and plain messages instead of patterns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import pytest
import typer.main

from quietly.cli import app
from tests.cli.helpers import cli, client_cli, in_hours, ok, ok_json
from tests.conftest import Tenant


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of the click tree, as the words that call it."""
    if hasattr(command, "commands"):
        return [p for name, sub in sorted(command.commands.items())
                for p in _command_paths(sub, (*path, name))]
    return [path]


COMMANDS = _command_paths(typer.main.get_command(app))
PYTHON_TYPES = re.compile(r"<(str|bool|int|float|path|list\[[^]]*\])>|list\[|\{\w+\}")


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_has_no_python_types_and_shows_an_example(path: tuple[str, ...]) -> None:
    text = ok(cli(*path, "--help", env={"COLUMNS": "200"})).stdout
    assert (PYTHON_TYPES.findall(text), "Example: " in text) == ([], True), text


def test_version() -> None:
    assert ok(cli("--version")).stdout == f"quietly {version('quietly')}\n"


def test_start_takes_effects_a_description_and_publishing(tenant: Tenant) -> None:
    window = ok_json(client_cli(tenant, "start", "service:pay", "--effect", "drop",
                                "--description", "card vault patch", "--publish", "--json"))
    assert (window["effects"], window["description"], window["publish_to_status_page"]) == (
        ["drop"], "card vault patch", True)


def _scheduled(tenant: Tenant) -> int:
    window = ok_json(client_cli(tenant, "window", "create", "--name", "later", "--target",
                                "service:db", "--once", "--start", in_hours(48), "--end",
                                in_hours(50), "--json"))
    return int(window["id"])


def test_window_edit_changes_only_the_fields_given(tenant: Tenant) -> None:
    window_id = _scheduled(tenant)
    end = in_hours(51)
    window = ok_json(client_cli(
        tenant, "window", "edit", str(window_id), "--name", "db upgrade", "--description",
        "part 2", "--target", "service:db", "--target", "service:cache", "--publish",
        "--end", end, "--json"))
    assert (window["name"], window["description"], window["targets"],
            window["publish_to_status_page"], window["schedule"]["end"],
            window["effects"]) == ("db upgrade", "part 2", ["service:cache", "service:db"],
                                   True, end, ["mute"])


def test_window_edit_prints_the_window(tenant: Tenant) -> None:
    window_id = _scheduled(tenant)
    out = ok(client_cli(tenant, "window", "edit", str(window_id), "--no-publish",
                        "--name", "renamed")).stdout
    assert out.splitlines()[:2] == [f"id:       {window_id}", "name:     renamed"]


def _end(window: dict[str, object]) -> datetime:
    schedule = window["schedule"]
    assert isinstance(schedule, dict)
    return datetime.fromisoformat(str(schedule["end"]))


def test_window_extend_by_a_duration_or_until_an_instant(tenant: Tenant) -> None:
    started = ok_json(client_cli(tenant, "start", "service:pay", "--for", "30m", "--json"))
    window_id = str(started["id"])
    longer = ok_json(client_cli(tenant, "window", "extend", window_id, "--by", "45m",
                                "--json"))
    until = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    text = ok(client_cli(tenant, "window", "extend", window_id, "--until",
                         until.isoformat())).stdout
    assert (_end(longer) - _end(started), text) == (
        timedelta(minutes=45),
        f"window {window_id} ({started['name']}) now ends at "
        f"{until.strftime('%Y-%m-%d %H:%M:%S')} UTC\n")


@pytest.mark.parametrize(("args", "message"), [
    (["window", "extend", "{id}"], "error: give one of --by DURATION or --until INSTANT\n"),
    (["window", "extend", "{id}", "--by", "later"], "error: --by: 'later' is not a duration"),
    (["window", "extend", "{recurring}", "--by", "1h"],
     "error: window {recurring} is recurring; extend moves the end of one-time windows"),
    (["window", "edit", "{id}"], "error: --name: nothing to change"),
    (["window", "edit", "{id}", "--target", "checkout"],
     "error: targets[0]: 'checkout' is not a target; write kind:id, e.g. 'service:checkout'"),
    (["check", "checkout"],
     "error: target: 'checkout' is not a target; write kind:id, e.g. 'service:checkout'"),
    (["start", "notatarget"],
     "error: targets[0]: 'notatarget' is not a target; write kind:id, e.g. 'service:checkout'"),
    (["window", "create", "--name", "x", "--target", "service:x", "--every", "daily",
      "--start-time", "02:00", "--duration", "1h", "--starts-on", "2030-1-1"],
     "error: --starts-on: '2030-1-1' is not a date; use YYYY-MM-DD"),
])
def test_plain_messages(tenant: Tenant, args: list[str], message: str) -> None:
    window_id = _scheduled(tenant)
    recurring = ok_json(client_cli(
        tenant, "window", "create", "--name", "weekly", "--target", "service:db", "--every",
        "weekly", "--days", "sun", "--start-time", "02:00", "--duration", "1h",
        "--starts-on", "2035-01-01", "--json"))["id"]
    filled = [a.format(id=window_id, recurring=recurring) for a in args]
    result = client_cli(tenant, *filled)
    assert (result.exit_code, result.stderr.startswith(
        message.format(recurring=recurring))) == (2, True), result.stderr


@pytest.mark.parametrize(("body", "detail"), [
    ({"name": "w", "targets": ["checkout"]},
     "targets[0]: 'checkout' is not a target; write kind:id, e.g. 'service:checkout'"),
    ({"name": "w", "targets": ["service:a"], "schedule": {
        "kind": "recurring", "every": "daily", "start_time": "25:00", "duration": "PT1H"}},
     "schedule.start_time: '25:00' is not a time of day; write HH:MM on a 24-hour clock"),
    ({"name": "w", "targets": ["service:a"], "schedule": {
        "kind": "recurring", "every": "monthly", "weekday_of_month": "second tuesday",
        "start_time": "02:00", "duration": "PT1H"}},
     "schedule.weekday_of_month: 'second tuesday' is not a weekday of the month"),
])
def test_the_api_names_patterns_plainly(tenant: Tenant, body: dict[str, object],
                                        detail: str) -> None:
    full = {"schedule": {"kind": "once", "start": in_hours(1), "end": in_hours(2)}, **body}
    response = tenant.editor.post("/api/v1/windows", json=full)
    assert (response.status_code, response.json()["detail"].startswith(detail)) == (
        422, True), response.text
