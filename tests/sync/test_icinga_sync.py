"""Icinga 2 syncs end to end: ``/api/v1/syncs`` with ``type: icinga2``, the worker's
reconciler and Debian's real Icinga 2 (2.13).

A window made through the API puts its hosts and services in downtime within seconds (as
Icinga itself reports: ``downtime_depth``), follows extend and cancel, restores a downtime
removed by hand, never touches anyone else's, and reports what Icinga cannot express (label
matchers, unknown hosts) in the sync's status. Fields of the other type are refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.worker.runner import Worker
from tests.cli.helpers import client_cli, ok, ok_json, rows
from tests.conftest import Tenant
from tests.sync.conftest import make_icinga_sync, make_window
from tests.sync.icinga_harness import BINARY, Icinga
from tests.sync.test_sync_pages import browser

HOSTS = {"web1": ["http", "disk"], "web2": ["http"], "db1": ["pg"], "app1": ["http"]}
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def icinga() -> Iterator[Icinga]:
    if BINARY is None:
        pytest.skip("icinga2 (Debian package) is not installed")
    with Icinga(HOSTS) as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def _forget_syncs(tenant: Tenant) -> Iterator[None]:
    """Each test's syncs go with it: the worker would otherwise go on running them against
    a daemon that no longer exists (and log about it) in later tests."""
    yield
    for sync in tenant.admin.get("/api/v1/syncs").json()["syncs"]:
        tenant.admin.delete(f"/api/v1/syncs/{sync['id']}")


def _sync(tenant: Tenant, icinga: Icinga, **extra: Any) -> dict[str, Any]:
    """A sync repairing drift every second (unless ``interval`` says otherwise)."""
    return make_icinga_sync(tenant, icinga, **{"interval": "1s", **extra})


def _until(check: Callable[[], Any], expected: Any, timeout: float = 15) -> Any:
    """Poll until ``check()`` equals ``expected`` (a liveness bound: the sync reacts to a
    change within about a second); returns the last value seen."""
    deadline = time.monotonic() + timeout
    while (seen := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen


def _ours(icinga: Icinga, sync: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in icinga.downtimes()
            if f" s={sync['id']} " in str(d["comment"]) and not d["parent"]]


def test_a_window_puts_hosts_and_services_in_downtime_and_follows_changes(
        tenant: Tenant, icinga: Icinga, sync_worker: Worker) -> None:
    """The sync's interval is an hour: only the change marks of the window's create, extend
    and cancel can make the downtimes follow within the test (the worker polls every 0.1 s,
    so each change is in Icinga well within 2 s)."""
    sync = _sync(tenant, icinga, interval="1h")
    window = make_window(tenant, targets=["host:web1", "service:db1!pg"])
    depths = _until(lambda: (icinga.depth("web1"), icinga.depth("web1", "http"),
                             icinga.depth("db1", "pg")), (1, 1, 1))
    schedule = dict(window["schedule"])
    end = (datetime.fromisoformat(schedule["end"].replace("Z", "+00:00"))
           + timedelta(minutes=30)).replace(microsecond=0)
    schedule["end"] = end.isoformat()
    extended = tenant.editor.patch(f"/api/v1/windows/{window['id']}",
                                   json={"schedule": schedule})
    assert extended.status_code == 200, extended.text
    wanted = [round(end.timestamp() - 0.001, 3)]  # the last millisecond before the end
    ends = _until(lambda: sorted({round(float(d["end_time"]), 3)
                                  for d in _ours(icinga, sync)}), wanted)
    assert tenant.editor.post(f"/api/v1/windows/{window['id']}/cancel").status_code == 200
    after = _until(lambda: (icinga.depth("web1"), icinga.depth("db1", "pg"),
                            len(_ours(icinga, sync))), (0, 0, 0))
    assert (depths, ends, after) == ((1, 1, 1), wanted, (0, 0, 0))


def test_repairs_others_untouched_and_what_cannot_be_expressed(
        tenant: Tenant, icinga: Icinga, sync_worker: Worker) -> None:
    now = time.time()
    theirs = icinga.schedule("web2", now - 60, now + 3600, author="bob", comment="theirs")
    sync = _sync(tenant, icinga)
    make_window(tenant, targets=["service:web2!http", "host:nope"],
                match=[[{"label": "env", "op": "=", "value": "prod"}]])
    assert _until(lambda: len(_ours(icinga, sync)), 1) == 1
    [mine] = _ours(icinga, sync)
    icinga.client.post("/v1/actions/remove-downtime",
                       json={"type": "Downtime", "downtime": mine["name"]})
    restored = _until(lambda: len(_ours(icinga, sync)), 1)

    def status() -> dict[str, Any]:
        body: dict[str, Any] = tenant.admin.get(f"/api/v1/syncs/{sync['id']}/status").json()
        return body

    repaired = _until(lambda: status()["repairs_total"] >= 1, True)
    reasons = sorted(p["reason"] for p in status()["not_expressible"])
    names = {d["name"] for d in icinga.downtimes()}
    assert (restored, repaired, theirs in names, reasons) == (1, True, True, [
        "Icinga 2 has no host 'nope'",
        "match (1 condition group(s)): Icinga has no alert labels; only targets become "
        "downtimes"])
    icinga.client.post("/v1/actions/remove-downtime",
                       json={"type": "Downtime", "downtime": theirs})


BAD = {
    "http url": ({"url": "http://127.0.0.1:5665"}, "url"),
    "no api user": ({"basic_auth": None}, "basic_auth"),
    "alertmanager field": ({"target_labels": {"service": "service"}}, "target_labels"),
    "object type": ({"target_objects": {"host": "HostGroup"}}, "target_objects"),
    "kind": ({"target_objects": {"Host": "Host"}}, "target_objects"),
    "relative ca file": ({"ca_file": "ca.crt"}, "ca_file"),
    "http endpoint": ({"endpoints": ["http://127.0.0.1:5666"]}, "endpoints"),
    "endpoint is the url": ({"endpoints": ["https://127.0.0.1:5665/"]}, "endpoints"),
    "endpoint twice": ({"endpoints": ["https://127.0.0.1:5666"] * 2}, "endpoints"),
    "nine endpoints": ({"endpoints": [f"https://127.0.0.1:{p}" for p in range(9)]},
                       "endpoints"),
    "no parallelism": ({"parallelism": 0}, "parallelism"),
    "too much parallelism": ({"parallelism": 33}, "parallelism"),
    "parallelism as text": ({"parallelism": "many"}, "parallelism"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_icinga_syncs_are_refused_naming_the_field(tenant: Tenant, case: str) -> None:
    extra, field = BAD[case]
    body = {"type": "icinga2", "name": "x", "url": "https://127.0.0.1:5665",
            "basic_auth": {"username": "u", "password": "p"}, **extra}
    body = {k: v for k, v in body.items() if v is not None}
    response = tenant.admin.post("/api/v1/syncs", json=body)
    problem = response.json()
    fields = [problem.get("field")] + [e.get("field") for e in problem.get("errors", [])]
    found = next((f for f in fields if f), "")
    assert (response.status_code, found.split(".")[0].split("[")[0]) == (422, field)


@pytest.mark.parametrize("field", ["all_services", "endpoints"])
def test_icinga_fields_are_refused_on_an_alertmanager_sync(tenant: Tenant, field: str) -> None:
    value = {"all_services": False, "endpoints": ["https://127.0.0.1:5666"]}[field]
    response = tenant.admin.post("/api/v1/syncs", json={
        "name": "am", "url": "http://127.0.0.1:9", field: value})
    assert (response.status_code, response.json().get("field")) == (422, field)


def test_an_icinga_sync_shows_its_settings_and_never_its_password(tenant: Tenant) -> None:
    response = tenant.admin.post("/api/v1/syncs", json={
        "type": "icinga2", "name": "ic", "url": "https://127.0.0.1:5665",
        "basic_auth": {"username": "quietly", "password": "pw-never-shown"},
        "target_objects": {"host": "Host", "node": "Host"}, "all_services": False,
        "verify_tls": False, "endpoints": ["https://127.0.0.1:5666"]})
    body = response.json()
    shown = {k: body[k] for k in ("type", "target_objects", "all_services", "ca_file",
                                  "verify_tls", "basic_auth_username",
                                  "basic_auth_password_set", "endpoints", "parallelism")}
    changed = tenant.admin.patch(f"/api/v1/syncs/{body['id']}",
                                 json={"endpoints": None, "parallelism": 2}).json()
    reset = tenant.admin.patch(f"/api/v1/syncs/{body['id']}",
                               json={"parallelism": None}).json()
    assert (response.status_code, shown, "pw-never-shown" in response.text,
            (changed["endpoints"], changed["parallelism"]), reset["parallelism"]) == (201, {
        "type": "icinga2", "target_objects": {"host": "Host", "node": "Host"},
        "all_services": False, "ca_file": None, "verify_tls": False,
        "basic_auth_username": "quietly", "basic_auth_password_set": True,
        "endpoints": ["https://127.0.0.1:5666"], "parallelism": 8}, False, ([], 2), 8)


@pytest.mark.usefixtures("sync_worker")
def test_sync_commands_for_icinga(tenant: Tenant, icinga: Icinga) -> None:
    created = ok_json(client_cli(
        tenant, "sync", "create", "--name", "icinga", "--icinga-url", icinga.url,
        "--basic-user", icinga.username, "--basic-password", icinga.password,
        "--ca-file", str(icinga.ca_file), "--host-only", "--target-object", "node=Host",
        "--icinga-endpoint", "https://127.0.0.1:9", "--parallelism", "4",
        "--interval", "1s", "--json", role=Role.ADMIN))
    shown = ok(client_cli(tenant, "sync", "show", "icinga", role=Role.ADMIN)).stdout
    make_window(tenant, targets=["node:app1"])
    depth = _until(lambda: (icinga.depth("app1"), icinga.depth("app1", "http")), (1, 0))
    # the row of this sync (a worker's log line may share the captured output)
    listed = [row for row in rows(ok(client_cli(tenant, "sync", "list", role=Role.ADMIN)).stdout)
              if row[0] == str(created["id"])]
    status = _until(lambda: "icinga: healthy, 1 downtimes" in ok(client_cli(
        tenant, "sync", "status", "icinga", role=Role.ADMIN)).stdout, True)
    answered = ok(client_cli(tenant, "sync", "status", "icinga", role=Role.ADMIN)).stdout
    assert (status, f"answered by {icinga.url}\n" in answered) == (True, True)
    assert ((created["type"], created["target_objects"], created["all_services"]),
            icinga.password in shown, f"url:           {icinga.url}\n" in shown, depth,
            listed[0][:4], "endpoints:     https://127.0.0.1:9\n" in shown,
            "parallelism:   4\n" in shown) == (
        ("icinga2", {"node": "Host"}, False), False, True, (1, 0),
        [str(created["id"]), "icinga", "icinga2", icinga.url], True, True)
    ok(client_cli(tenant, "sync", "delete", "icinga", role=Role.ADMIN))
    for downtime in icinga.downtimes():
        icinga.client.post("/v1/actions/remove-downtime",
                           json={"type": "Downtime", "downtime": downtime["name"]})


def test_the_sync_pages_show_an_icinga_sync(tenant: Tenant, icinga: Icinga) -> None:
    sync = _sync(tenant, icinga, all_services=False)
    opened: list[httpx.Client] = []
    try:
        client = browser(tenant, Role.ADMIN, opened)
        listing, page = client.get("/syncs").text, client.get(f"/syncs/{sync['id']}").text
    finally:
        for made in opened:
            made.close()
    assert ("Icinga 2 <code>" + icinga.url + "</code>" in listing,
            "Icinga 2 downtimes" in page, "the host alone" in page,
            f"verified with <code>{icinga.ca_file}</code>" in page,
            "<dt>Parallel requests</dt><dd>8</dd>" in page) == (True, True, True, True, True)


@pytest.mark.usefixtures("sync_worker")
def test_an_icinga_that_is_down_is_counted_then_converges(tenant: Tenant) -> None:
    """Its own daemon, stopped while a window is made: the sync fails (counted in its status,
    decisions unaffected), then puts the downtime in place once the daemon is back."""
    if BINARY is None:
        pytest.skip("icinga2 (Debian package) is not installed")
    with Icinga({"lonely": []}) as down:
        sync = _sync(tenant, down)
        down.stop()
        target = "host:lonely"
        make_window(tenant, targets=[target])

        def status() -> dict[str, Any]:
            body: dict[str, Any] = tenant.admin.get(f"/api/v1/syncs/{sync['id']}/status").json()
            return body

        failing = _until(lambda: status()["errors_total"] >= 1, True)
        decided = tenant.viewer.get("/api/v1/decide", params={"target": target}).json()
        down.start()
        back = _until(lambda: down.depth("lonely"), 1, timeout=30)
        healthy = _until(lambda: status()["healthy"], True)
    assert (failing, decided["verdict"], back, healthy) == (True, "mute", 1, True)
