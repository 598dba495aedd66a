"""``quietly import`` through ``POST /api/v1/windows/batch`` (issue #19): a few requests for
many windows, each bad window reported on its own, the good ones created."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quietly.client import QuietlyClient
from tests.cli.helpers import client_cli
from tests.conftest import Tenant


def _window(i: int) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    return {"name": f"imported {i}", "targets": [f"service:imp-{i}"],
            "schedule": {"kind": "once", "start": start.isoformat(),
                         "end": (start + timedelta(hours=1)).isoformat()}}


@pytest.fixture
def requests_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    original = QuietlyClient.request

    def counting(self: QuietlyClient, method: str, path: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {path}")
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(QuietlyClient, "request", counting)
    return sent


def test_import_sends_batches_and_reports_each_bad_window(
        tenant: Tenant, requests_sent: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("quietly.cli_commands.bulk.CHUNK", 40)
    windows = [_window(i) for i in range(100)]
    windows[7]["name"] = "   "
    windows[55]["schedule"]["end"] = windows[55]["schedule"]["start"]
    result = client_cli(tenant, "import", "-", "--json", stdin=json.dumps(windows))
    report = json.loads(result.stdout)["results"]
    listed = tenant.viewer.get("/api/v1/windows", params={"limit": 500}).json()["windows"]
    assert (result.exit_code, [i for i, r in enumerate(report) if "id" not in r],
            report[7]["error"].startswith("name: "),
            report[55]["error"].startswith("schedule.end: "),
            sorted(w["name"] for w in listed) == sorted(
                w["name"] for i, w in enumerate(windows) if i not in (7, 55)),
            [r["id"] for r in report if "id" in r] == sorted(w["id"] for w in listed),
            requests_sent.count("POST /api/v1/windows/batch")) == (
        1, [7, 55], True, True, True, True, 5), result.stderr


def test_import_of_many_windows_takes_few_requests(
        tenant: Tenant, requests_sent: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks: thousands of windows would slow every later test sharing the database.
    monkeypatch.setattr("quietly.cli_commands.bulk.CHUNK", 50)
    windows = [_window(i) for i in range(120)]
    result = client_cli(tenant, "import", "-", "--json", stdin=json.dumps(windows))
    created = [r["id"] for r in json.loads(result.stdout)["results"]]
    assert (result.exit_code, len(set(created)), requests_sent) == (
        0, 120, ["POST /api/v1/windows/batch"] * 3), result.stderr
