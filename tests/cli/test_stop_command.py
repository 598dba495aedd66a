"""``quietly stop`` ends one's own maintenance, never other people's (issue 16, point 2)."""

from __future__ import annotations

import pytest

from tests.api.helpers import active_body
from tests.cli.helpers import client_cli, ok, ok_json
from tests.conftest import Tenant


def _state(tenant: Tenant, window_id: int) -> tuple[str, list[str]]:
    window = tenant.viewer.get(f"/api/v1/windows/{window_id}").json()
    return window["state"], window["targets"]


def test_start_tells_how_to_stop_that_window(tenant: Tenant) -> None:
    result = ok(client_cli(tenant, "start", "service:pay", "--for", "10m"))
    window_id = int(result.stdout.split()[2])
    assert result.stderr == f"end it early with: quietly stop --window {window_id}\n"


def test_stop_target_leaves_the_other_teams_planned_window_and_says_so(
        tenant: Tenant) -> None:
    planned = tenant.editor.post("/api/v1/windows", json=active_body(
        "db migration", ["service:pay", "service:ledger"])).json()
    mine = ok_json(client_cli(tenant, "start", "service:pay", "--for", "10m", "--json"))
    result = ok(client_cli(tenant, "stop", "service:pay"))
    assert (result.stdout.startswith(f"stopped window {mine['id']} "),
            result.stderr, _state(tenant, mine["id"])[0], _state(tenant, planned["id"])) == (
        True, f"left running: window {planned['id']} (db migration); `quietly stop --window "
        f"{planned['id']}` or --all ends it\n", "completed",
        ("active", ["service:ledger", "service:pay"]))


def test_stop_all_narrows_the_planned_window_to_its_other_targets(tenant: Tenant) -> None:
    planned = tenant.editor.post("/api/v1/windows", json=active_body(
        "db migration", ["service:pay", "service:ledger"])).json()
    result = ok(client_cli(tenant, "stop", "service:pay", "--all"))
    assert (result.stdout.startswith(f"stopped service:pay in window {planned['id']} "
                                     "(db migration); it still covers service:ledger until "),
            _state(tenant, planned["id"])) == (True, ("active", ["service:ledger"]))


def test_stop_window_ends_exactly_that_window(tenant: Tenant) -> None:
    mine = ok_json(client_cli(tenant, "start", "service:pay", "--json"))
    theirs = ok_json(client_cli(tenant, "start", "service:pay", "--json"))
    result = ok(client_cli(tenant, "stop", "--window", str(mine["id"])))
    again = ok(client_cli(tenant, "stop", "--window", str(mine["id"])))
    assert (result.stdout.startswith(f"stopped window {mine['id']} "), again.stderr,
            _state(tenant, mine["id"])[0], _state(tenant, theirs["id"])[0]) == (
        True, f"no running maintenance for window {mine['id']}\n", "completed", "active")


@pytest.mark.parametrize(("args", "message"), [
    ([], "error: name the targets to stop, or --window ID\n"),
    (["service:pay", "--all", "--window", "1"],
     "error: --all chooses windows by target; leave it out with --window\n"),
    (["--window", "999999"], "error: id: no window with id 999999\n"),
])
def test_stop_refuses_with_a_plain_message(tenant: Tenant, args: list[str],
                                           message: str) -> None:
    result = client_cli(tenant, "stop", *args)
    assert (result.exit_code, result.stderr) == (2, message)
