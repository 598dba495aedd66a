"""``quietly export`` and ``quietly import``: a round trip between two workspaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quietly.cli_commands.windows import creatable
from tests.cli.helpers import client_cli, in_hours, ok, ok_json
from tests.conftest import Tenant

WINDOWS: list[list[str]] = [
    ["--name", "patching", "--rrule", "FREQ=WEEKLY;BYDAY=SU", "--start-time", "02:00",
     "--end-time", "04:00", "--timezone", "Europe/Berlin", "--target", "service:db",
     "--match", "env=prod,service=~db-.*", "--effect", "mute", "--effect",
     "suppress_incidents", "--description", "weekly"],
    ["--name", "patch tuesday", "--every", "monthly", "--weekday-of-month", "2TU",
     "--start-time", "02:00", "--duration", "3h", "--starts-on", "2026-01-01",
     "--until", "2031-12-31", "--group", "web-tier", "--effect", "drop"],
    ["--name", "upgrade", "--once", "--start", in_hours(48), "--end", in_hours(50),
     "--target", "monitor:42", "--all-targets"],
    ["--name", "nightly", "--cron", "0 3 * * *", "--duration", "30m", "--target", "service:x"],
]


def _seed(tenant: Tenant) -> list[dict[str, Any]]:
    tenant.editor.post("/api/v1/groups", json={"name": "web-tier", "targets": []})
    return [ok_json(client_cli(tenant, "window", "create", *flags, "--json"))
            for flags in WINDOWS]


def test_export_then_import_recreates_every_window(tenant: Tenant, other_tenant: Tenant,
                                                   tmp_path: Path) -> None:
    originals = _seed(tenant)
    cancelled = ok_json(client_cli(tenant, "start", "service:gone", "--json"))
    ok(client_cli(tenant, "window", "cancel", str(cancelled["id"])))
    other_tenant.editor.post("/api/v1/groups", json={"name": "web-tier", "targets": []})
    path = tmp_path / "export.json"
    ok(client_cli(tenant, "export", "--output", str(path)))
    exported = json.loads(path.read_text())
    result = ok(client_cli(other_tenant, "import", str(path)))
    copies = ok_json(client_cli(other_tenant, "window", "list", "--all", "--json"))["windows"]
    assert (exported["format"], len(exported["windows"]), len(copies),
            result.stderr) == ("quietly-windows", 5, 4,
                               f"skipped window {cancelled['id']} "
                               f"(Maintenance of service:gone): it was cancelled\n")
    assert [creatable(c) for c in copies] == [creatable(o) for o in originals]
    assert result.stdout.splitlines() == [
        f"created {c['id']} (was {o['id']}): {o['name']}" for c, o in zip(copies, originals,
                                                                           strict=True)]


def test_export_follows_pagination_to_stdout(tenant: Tenant,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("quietly.client._PAGE_LIMIT", 2)
    ids = [w["id"] for w in _seed(tenant)]
    exported = ok_json(client_cli(tenant, "export"))
    assert [w["id"] for w in exported["windows"]] == ids


def test_import_reports_each_failure_and_exits_1(tenant: Tenant) -> None:
    good = {"name": "good", "targets": ["service:a"],
            "schedule": {"kind": "recurring", "every": "daily", "start_time": "01:00",
                         "duration": "PT1H", "timezone": "UTC"}}
    ended = {"id": 77, "name": "ended", "targets": ["service:a"], "state": "scheduled",
             "schedule": {"kind": "once", "start": "2020-01-01T00:00:00Z",
                          "end": "2020-01-01T01:00:00Z", "timezone": None}}
    missing_group = {**good, "name": "grouped", "groups": ["nope"]}
    result = client_cli(tenant, "import", "-", "--json",
                        stdin=json.dumps([good, ended, missing_group]))
    report = json.loads(result.stdout)["results"]
    errors = result.stderr.splitlines()
    assert (result.exit_code, ["id" in r for r in report], report[1]["source_id"],
            errors[0].startswith("error: window 77 (ended): schedule.end: "),
            errors[1].startswith("error: window #3 (grouped): "),
            errors[2]) == (1, [True, False, False], 77, True, True, "2 of 3 windows failed")


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "error: -: "),
    ('{"something": 1}', "error: -: expected an export"),
])
def test_import_of_an_unreadable_file_exits_2(tenant: Tenant, content: str,
                                              message: str) -> None:
    result = client_cli(tenant, "import", "-", stdin=content)
    assert (result.exit_code, result.stderr.startswith(message)) == (2, True), result.stderr


def test_import_accepts_the_list_output_and_a_single_window(tenant: Tenant,
                                                            other_tenant: Tenant) -> None:
    ok(client_cli(tenant, "start", "service:a", "--for", "2h"))
    listed = ok(client_cli(tenant, "window", "list", "--json")).stdout
    one = json.dumps(json.loads(listed)["windows"][0])
    first = ok(client_cli(other_tenant, "import", "-", stdin=listed)).stdout
    second = ok(client_cli(other_tenant, "import", "-", stdin=one)).stdout
    assert (first.startswith("created "), second.startswith("created ")) == (True, True)
