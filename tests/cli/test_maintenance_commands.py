"""``quietly start|stop|check`` end to end: immediate maintenance and check's exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from quietly.core.records import Role
from tests.cli.helpers import cli, client_cli, in_hours, ok, ok_json, rows
from tests.conftest import Tenant


def _end(window: dict[str, object]) -> datetime:
    schedule = window["schedule"]
    assert isinstance(schedule, dict)
    return datetime.fromisoformat(str(schedule["end"]).replace("Z", "+00:00"))


def test_start_puts_targets_under_maintenance_for_a_duration(tenant: Tenant) -> None:
    before = datetime.now(UTC)
    window = ok_json(client_cli(tenant, "start", "service:api", "service:web", "--for", "45m",
                                "--name", "deploy 42", "--json"))
    length = _end(window) - before
    assert (window["name"], window["targets"], window["state"],
            timedelta(minutes=44) < length <= timedelta(minutes=46)) == (
        "deploy 42", ["service:api", "service:web"], "active", True)


def test_start_prints_the_window_id_and_defaults_to_30_minutes(tenant: Tenant) -> None:
    out = ok(client_cli(tenant, "start", "service:api")).stdout
    found = re.fullmatch(r"started window (\d+) \(Maintenance of service:api\) until "
                         r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC\n", out)
    assert found is not None, out
    end = datetime.fromisoformat(found[2]).replace(tzinfo=UTC)
    assert timedelta(minutes=29) < end - datetime.now(UTC) <= timedelta(minutes=30)


def test_stop_ends_now_or_after_a_delay_and_tolerates_nothing_running(tenant: Tenant) -> None:
    now_id = ok_json(client_cli(tenant, "start", "service:a", "--for", "2h", "--json"))["id"]
    later_id = ok_json(client_cli(tenant, "start", "service:b", "--for", "2h", "--json"))["id"]
    stopped_now = ok(client_cli(tenant, "stop", "service:a")).stdout
    delayed = ok_json(client_cli(tenant, "stop", "service:b", "--delay", "5m", "--json"))
    nothing = ok(client_cli(tenant, "stop", "service:none"))
    state_a = tenant.viewer.get(f"/api/v1/windows/{now_id}").json()["state"]
    remaining = _end(delayed["stopped"][0]) - datetime.now(UTC)
    assert (stopped_now.startswith(f"stopped window {now_id} "), state_a,
            [w["id"] for w in delayed["stopped"]], delayed["stopped"][0]["state"],
            timedelta(minutes=4) < remaining <= timedelta(minutes=5),
            nothing.stderr) == (True, "completed", [later_id], "active", True,
                                "no running maintenance for service:none\n")


def test_check_exits_0_when_quiet_and_1_when_not(tenant: Tenant) -> None:
    window_id = ok_json(client_cli(tenant, "start", "service:db", "--name", "db work",
                                   "--json"))["id"]
    quiet = client_cli(tenant, "check", "service:db", role=Role.VIEWER)
    loud = client_cli(tenant, "check", "service:web", role=Role.VIEWER)
    table = rows(quiet.stdout)
    assert (quiet.exit_code, table[0][0].startswith("service:db is quiet at "),
            table[0][0].endswith(": mute"), table[1][:3], table[2][:3]) == (
        0, True, True, ["ID", "STATE", "NAME"], [str(window_id), "active", "db work"])
    assert (loud.exit_code, loud.stdout.startswith("service:web is not quiet at "),
            loud.stdout.rstrip().endswith(": deliver")) == (1, True, True)


def test_check_uses_labels_for_matcher_windows_and_reports_the_verdict(tenant: Tenant) -> None:
    ok(client_cli(tenant, "window", "create", "--name", "prod dbs", "--once", "--start",
                  in_hours(-1), "--end", in_hours(1), "--match", "env=prod,service=~db-.*",
                  "--effect", "drop"))
    hit = client_cli(tenant, "check", "service:x", "--label", "env=prod", "--label",
                     "service=db-main", "--json")
    miss = client_cli(tenant, "check", "service:x", "--label", "env=dev", "--label",
                      "service=db-main", "--quiet")
    assert (hit.exit_code, ok_json(hit)["verdict"], ok_json(hit)["window_details"][0]["name"],
            miss.exit_code, miss.stdout) == (0, "drop", "prod dbs", 1, "")


def test_check_at_an_instant_evaluates_future_windows(tenant: Tenant) -> None:
    ok(client_cli(tenant, "window", "create", "--name", "later", "--target", "service:db",
                  "--once", "--start", in_hours(24), "--end", in_hours(26)))
    now = client_cli(tenant, "check", "service:db", "-q")
    later = client_cli(tenant, "check", "service:db", "-q", "--at", in_hours(25))
    assert (now.exit_code, later.exit_code) == (1, 0)


@pytest.mark.parametrize(("args", "message"), [
    (["--at", "tomorrow"], "error: at: "),
    (["--label", "novalue"], "error: --label: 'novalue' is not name=value"),
])
def test_check_exits_2_when_it_cannot_tell(tenant: Tenant, args: list[str],
                                           message: str) -> None:
    result = client_cli(tenant, "check", "service:db", *args)
    assert (result.exit_code, result.stderr.startswith(message)) == (2, True), result.stderr


def test_check_with_a_wrong_key_exits_2(tenant: Tenant) -> None:
    result = cli("check", "service:db", "--url", tenant.base_url, "--key", "qly_wrong")
    assert (result.exit_code, result.stderr.startswith("error: ")) == (2, True), \
        result.stderr


def test_check_in_a_shell_if(tenant: Tenant) -> None:
    """The promise to scripts, through a real process: `if quietly check …; then …`."""
    ok(client_cli(tenant, "start", "service:db"))
    script = ('if "$0" -m quietly.cli check "$1" -q; then echo quiet; else echo "loud $?"; fi')
    env = {"QUIETLY_URL": tenant.base_url, "QUIETLY_API_KEY": tenant.keys[Role.VIEWER],
           "PYTHONTZPATH": "", "PATH": "/usr/bin:/bin"}
    outputs = [subprocess.run(["sh", "-c", script, sys.executable, target], env=env,
                              capture_output=True, text=True, timeout=60, check=True).stdout
               for target in ("service:db", "service:web")]
    assert outputs == ["quiet\n", "loud 1\n"]
