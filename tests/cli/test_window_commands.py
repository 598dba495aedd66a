"""``quietly window create|list|show|cancel|delete`` end to end against a real server."""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from quietly.core.records import Role
from tests.cli.helpers import cli, client_cli, in_hours, ok, ok_json
from tests.conftest import Tenant

BERLIN = ("--timezone", "Europe/Berlin")
# Forms that would otherwise start today start next week: none may be running at test time.
NEXT_WEEK = (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=8)).isoformat()
LATER = ("--starts-on", NEXT_WEEK)

# (case, flags, expected subset of the stored schedule, words in human_schedule)
SCHEDULE_FLAGS: list[tuple[str, list[str], dict[str, Any], str]] = [
    ("rrule", ["--rrule", "FREQ=WEEKLY;BYDAY=SU", "--start-time", "2:00", "--end-time",
               "04:00", *BERLIN, *LATER],
     {"kind": "recurring", "rrule": "FREQ=WEEKLY;BYDAY=SU", "start_time": "02:00",
      "end_time": "04:00", "timezone": "Europe/Berlin"}, "Sunday"),
    ("cron", ["--cron", "0 2 * * 0", "--duration", "2h", *BERLIN, *LATER],
     {"cron": "0 2 * * 0", "duration": "PT2H", "start_time": None}, "2 hours"),
    ("daily overnight", ["--every", "daily", "--start-time", "22:00", "--end-time", "06:00",
                         *LATER],
     {"every": "daily", "start_time": "22:00", "end_time": "06:00",
      "timezone": "Europe/Berlin"}, "day"),
    ("weekly", ["--every", "weekly", "--days", "tue,THU", "--start-time", "02:00",
                "--end-time", "03:00", *BERLIN, *LATER],
     {"every": "weekly", "days_of_week": ["tue", "thu"]}, "Tuesday and Thursday"),
    ("monthly skip", ["--every", "monthly", "--day-of-month", "31", "--short-month", "skip",
                      "--start-time", "02:00", "--duration", "PT1H", *LATER,
                      "--until", "2030-12-31", *BERLIN],
     {"every": "monthly", "day_of_month": 31, "short_month": "skip", "duration": "PT1H",
      "starts_on": NEXT_WEEK, "until": "2030-12-31"}, "31"),
    ("patch tuesday", ["--every", "monthly", "--weekday-of-month", "2tu", "--start-time",
                       "02:00", "--end-time", "05:00", *LATER, "--count", "120", *BERLIN],
     {"every": "monthly", "weekday_of_month": "2TU", "count": 120}, "second Tuesday"),
]


@pytest.mark.parametrize(("case", "flags", "expected", "words"), SCHEDULE_FLAGS,
                         ids=[c[0] for c in SCHEDULE_FLAGS])
def test_create_builds_every_recurring_form_from_flags(
        tenant: Tenant, case: str, flags: list[str], expected: dict[str, Any],
        words: str) -> None:
    window = ok_json(client_cli(tenant, "window", "create", "--name", case, "--target",
                                "service:db", *flags, "--json"))
    stored = {k: window["schedule"].get(k) for k in expected}
    assert (stored, words in window["human_schedule"], window["state"]) == \
        (expected, True, "scheduled")


def test_create_once_with_scope_effects_and_description(tenant: Tenant) -> None:
    tenant.editor.post("/api/v1/groups", json={"name": "web-tier", "targets": ["monitor:1"]})
    start, end = in_hours(1), in_hours(2)
    window = ok_json(client_cli(
        tenant, "window", "create", "--name", "DB upgrade", "--description", "v17",
        "--once", "--start", start, "--end", end,
        "--target", "service:postgres", "--target", "monitor:42", "--group", "web-tier",
        "--match", "env=prod,service=~db-.*", "--match", 'team="db",role!~re{1,3}',
        "--effect", "mute", "--effect", "suppress_incidents", "--json"))
    assert {k: window[k] for k in ("name", "description", "targets", "groups", "match",
                                   "effects")} == {
        "name": "DB upgrade", "description": "v17",
        "targets": ["monitor:42", "service:postgres"], "groups": ["web-tier"],
        "match": [[{"label": "env", "op": "=", "value": "prod", "values": None},
                   {"label": "service", "op": "=~", "value": "db-.*", "values": None}],
                  [{"label": "team", "op": "=", "value": "db", "values": None},
                   {"label": "role", "op": "!~", "value": "re{1,3}", "values": None}]],
        "effects": ["mute", "suppress_incidents"]}
    assert (window["schedule"]["start"], window["schedule"]["end"]) == (start, end)


def test_create_prints_the_window_for_people(tenant: Tenant) -> None:
    out = ok(client_cli(tenant, "window", "create", "--name", "Sunday patching",
                        "--every", "weekly", "--days", "sun", "--start-time", "02:00",
                        "--end-time", "04:00", "--starts-on", "2031-01-05", "--target",
                        "service:db")).stdout
    fields = dict(re.split(r":\s+", line, maxsplit=1) for line in out.splitlines())
    assert (fields["name"], fields["state"], fields["schedule"], fields["scope"],
            fields["effects"], fields["current"]) == (
        "Sunday patching", "scheduled",
        "Every Sunday from 02:00 to 04:00 (Europe/Berlin)", "service:db",
        "mute", "-")
    assert re.fullmatch(r"Sun \d{4}-\d\d-\d\d 02:00 CES?T → Sun \d{4}-\d\d-\d\d 04:00 CES?T",
                        fields["next"])


def test_create_from_a_file_and_from_shown_json(tenant: Tenant, tmp_path: Path) -> None:
    body = {"name": "from file", "targets": ["service:a"],
            "schedule": {"kind": "recurring", "every": "daily", "start_time": "01:00",
                         "duration": "PT30M", "timezone": "UTC"}}
    path = tmp_path / "window.json"
    path.write_text(json.dumps(body))
    first = ok_json(client_cli(tenant, "window", "create", "--file", str(path), "--json"))
    # A window as `show --json` prints it (ids, state, nulls) creates a copy, and --name
    # overrides the file's name.
    shown = ok(client_cli(tenant, "window", "show", str(first["id"]), "--json")).stdout
    copy = ok_json(client_cli(tenant, "window", "create", "--file", "-", "--name", "copy",
                              "--json", stdin=shown))
    assert (copy["id"] != first["id"], copy["name"], copy["schedule"], copy["targets"]) == \
        (True, "copy", first["schedule"], ["service:a"])


@pytest.mark.parametrize(("flags", "message"), [
    (["--name", "x", "--every", "weekly", "--days", "mon,funday", "--start-time", "02:00",
      "--end-time", "03:00"], "error: --days: 'funday' is not a day"),
    (["--name", "x", "--every", "daily", "--start-time", "25:00", "--end-time", "03:00"],
     "error: --start-time: '25:00' is not a time of day"),
    (["--name", "x", "--rrule", "FREQ=DAILY", "--cron", "0 2 * * *"],
     "error: --cron: give only one of --rrule, --cron and --every"),
    (["--name", "x", "--target", "service:a"], "error: --every: give a schedule"),
    (["--every", "daily", "--start-time", "01:00", "--duration", "1h"],
     "error: --name: a window needs a name"),
    (["--name", "x", "--once", "--start", "2030-01-01T00:00:00Z"],
     "error: --end: --once needs both --start and --end"),
    (["--name", "x", "--once", "--start", "2030-01-01T00:00:00Z", "--end",
      "2030-01-01T01:00:00Z", "--days", "mon"], "error: --days: is for recurring schedules"),
    (["--name", "x", "--every", "daily", "--start-time", "01:00", "--duration", "soon"],
     "error: --duration: 'soon' is not a duration"),
    (["--name", "x", "--every", "daily", "--start-time", "01:00", "--duration", "1h",
      "--match", "no operator"], "error: --match: 'no operator' is not a matcher"),
    (["--file", "missing.json", "--every", "daily"], "error: --file: --every cannot be"),
])
def test_bad_flags_are_refused_locally_naming_the_flag(
        tenant: Tenant, flags: list[str], message: str) -> None:
    result = client_cli(tenant, "window", "create", *flags)
    assert (result.exit_code, result.stderr.startswith(message), result.stdout) == \
        (2, True, ""), result.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--rrule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", "--start-time", "02:00",
      "--duration", "1h"], "error: schedule.rrule: "),
    (["--every", "daily", "--start-time", "02:00", "--duration", "1h", "--timezone",
      "Mars/Olympus"], "error: schedule.timezone: "),
    (["--once", "--start", "2020-01-01T00:00:00Z", "--end", "2020-01-01T01:00:00Z"],
     "error: schedule.end: "),
    (["--every", "daily", "--start-time", "02:00", "--duration", "1h", "--effect", "nap"],
     "error: effects[0]: "),
])
def test_server_problems_print_field_and_detail_and_exit_2(
        tenant: Tenant, flags: list[str], message: str) -> None:
    result = client_cli(tenant, "window", "create", "--name", "x", "--target", "service:a",
                        *flags)
    assert (result.exit_code, result.stderr.startswith(message),
            result.stderr.count("\n")) == (2, True, 1), result.stderr


def _create(tenant: Tenant, name: str, target: str = "service:a") -> int:
    window = ok_json(client_cli(tenant, "window", "create", "--name", name, "--target",
                                target, "--every", "daily", "--start-time", "03:00",
                                "--duration", "1h", "--json"))
    return int(window["id"])


def test_list_prints_an_aligned_table_and_filters(tenant: Tenant) -> None:
    a, b, c = (_create(tenant, n, t) for n, t in
               (("alpha", "service:a"), ("beta", "service:b"), ("gamma", "service:a")))
    ok(client_cli(tenant, "window", "cancel", str(c)))
    lines = ok(client_cli(tenant, "window", "list")).stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ID", str(a), str(b), str(c)]
    # Aligned: every column starts at the same offset on every line.
    for header in ("STATE", "NAME", "SCHEDULE", "CURRENT / NEXT", "SCOPE"):
        offset = lines[0].index(header)
        assert all(line[offset - 2:offset] == "  " and line[offset] != " "
                   for line in lines), header
    by_target = ok_json(client_cli(tenant, "window", "list", "--target", "service:a",
                                   "--json"))
    cancelled = ok_json(client_cli(tenant, "window", "list", "--state", "cancelled",
                                   "--json"))
    assert ([w["id"] for w in by_target["windows"]], [w["id"] for w in cancelled["windows"]],
            by_target["next_cursor"]) == ([a, c], [c], None)


def test_list_pages_and_all_follows_cursors(tenant: Tenant) -> None:
    ids = [_create(tenant, f"w{i}") for i in range(5)]
    first = client_cli(tenant, "window", "list", "--limit", "2")
    cursor = re.search(r"--cursor (\S+)", first.stderr)
    assert (len(ok(first).stdout.splitlines()), cursor is not None) == (3, True)
    assert cursor is not None
    second = ok_json(client_cli(tenant, "window", "list", "--limit", "2", "--cursor",
                                cursor[1], "--json"))
    everything = ok_json(client_cli(tenant, "window", "list", "--limit", "2", "--all",
                                    "--json"))
    assert ([w["id"] for w in second["windows"]], [w["id"] for w in everything["windows"]],
            everything["next_cursor"]) == (ids[2:4], ids, None)


def test_show_cancel_delete(tenant: Tenant) -> None:
    window_id = _create(tenant, "lifecycle")
    shown = ok(client_cli(tenant, "window", "show", str(window_id))).stdout
    cancelled = ok(client_cli(tenant, "window", "cancel", str(window_id))).stdout
    state = ok_json(client_cli(tenant, "window", "show", str(window_id), "--json"))["state"]
    deleted = ok(client_cli(tenant, "window", "delete", str(window_id))).stdout
    gone = client_cli(tenant, "window", "show", str(window_id))
    assert (re.search(r"^name: +lifecycle$", shown, re.M) is not None, cancelled, state,
            deleted, gone.exit_code, gone.stderr.startswith("error: ")) == (
        True, f"cancelled window {window_id}: lifecycle\n", "cancelled",
        f"deleted window {window_id}\n", 2, True)


def test_viewer_key_cannot_create(tenant: Tenant) -> None:
    result = client_cli(tenant, "window", "create", "--name", "x", "--target", "service:a",
                        "--every", "daily", "--start-time", "01:00", "--duration", "1h",
                        role=Role.VIEWER)
    assert (result.exit_code, result.stderr.startswith("error: ")) == (2, True)


def test_another_workspaces_window_is_not_found(tenant: Tenant, other_tenant: Tenant) -> None:
    window_id = _create(tenant, "mine")
    result = client_cli(other_tenant, "window", "show", str(window_id))
    assert (result.exit_code, result.stderr.startswith("error: ")) == (2, True)


def test_unreachable_server_names_the_url_and_exits_2(tenant: Tenant) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        result = cli("window", "list", "--url", url, "--key", "k")
    assert (result.exit_code, f"cannot reach the quietly server at {url}" in result.stderr) \
        == (2, True), result.stderr


def test_url_and_key_come_from_the_environment(tenant: Tenant) -> None:
    window_id = _create(tenant, "env")
    env: dict[str, str | None] = {"QUIETLY_URL": tenant.base_url,
                                  "QUIETLY_API_KEY": tenant.keys[Role.VIEWER]}
    shown = ok_json(cli("window", "show", str(window_id), "--json", env=env))
    missing = cli("window", "list", env={"QUIETLY_API_KEY": None})
    assert (shown["id"], missing.exit_code, missing.stderr) == (
        window_id, 2, "error: no API key: pass --key, set QUIETLY_API_KEY or put api_key in "
        "the config file\n")
