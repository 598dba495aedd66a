"""``quietly export --format yaml`` → ``quietly apply`` to an empty workspace → export again
gives the same file, on a workspace with every schedule kind, groups, matchers and effects."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.cli_commands.ascode import file_document
from quietly.cli_commands.manifest import dump, load
from tests.apply.helpers import release_freeze
from tests.cli.helpers import client_cli, ok
from tests.conftest import Tenant


def _recurring(**rule: Any) -> dict[str, Any]:
    return {"kind": "recurring", "timezone": "Europe/Berlin", "starts_on": "2031-03-01",
            "start_time": "01:00", "end_time": "04:00", **rule}


WINDOWS: list[dict[str, Any]] = [
    {"name": "Once, naive times in its zone", "targets": ["service:db"],
     "schedule": {"kind": "once", "start": "2031-03-30T02:30:00", "end": "2031-03-30T05:00:00",
                  "timezone": "Europe/Berlin"}},
    {"name": "Patch Tuesday", "groups": ["web-tier"], "effects": ["mute", "suppress_incidents"],
     "schedule": _recurring(rrule="FREQ=MONTHLY;BYDAY=2TU", until="2035-12-31")},
    {"name": "Cron backups", "targets": ["service:backup"], "effects": ["drop"],
     "schedule": {"kind": "recurring", "timezone": "America/New_York", "cron": "30 2 * * 0",
                  "duration": "PT90M", "starts_on": "2031-01-05", "count": 20}},
    {"name": "Daily reindex", "all_targets": True,
     "schedule": _recurring(every="daily", start_time="23:00", end_time="01:00")},
    {"name": "Weekly deploys", "targets": ["service:api"],
     "effects": ["reroute"], "escalation_targets": ["team:platform"],
     "match": [[{"label": "env", "op": "=", "value": "prod"},
                {"label": "service", "op": "=~", "value": "db-.*"}],
               [{"label": "team", "op": "one_of", "values": ["a", "b"]},
                {"label": "runbook", "op": "is_set"}]],
     "schedule": _recurring(every="weekly", days_of_week=["tue", "thu"])},
    {"name": "Month end", "targets": ["service:billing"], "effects": ["attach"],
     "incident_id": "INC-42", "description": "Close the books\nand rest",
     "notify_start_minutes_before": 15, "publish_to_status_page": True,
     "show_in_sidebar": False, "resolve_on_end": True,
     "schedule": _recurring(every="monthly", day_of_month=-1, short_month="skip")},
    {"name": "Second Friday", "targets": ["service:batch"],
     "schedule": _recurring(every="monthly", weekday_of_month="2FR", duration="PT2H",
                            end_time=None)},
    {"name": "Patch Tuesday", "targets": ["service:other"],  # the same name: a second key
     "schedule": _recurring(rrule="FREQ=WEEKLY;BYDAY=TU")},
]
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")  # ManagedWindow.key's pattern
GROUPS = [{"name": "web-tier", "targets": ["service:web", "service:api"],
           "description": "Front ends"}, {"name": "empty"}]


def _export(tenant: Tenant) -> str:
    return ok(client_cli(tenant, "export", "--format", "yaml")).stdout


def test_export_apply_export_gives_the_same_file(tenant: Tenant, other_tenant: Tenant,
                                                 tmp_path: Path) -> None:
    for group in GROUPS:
        assert tenant.editor.post("/api/v1/groups", json=group).status_code == 201
    for window in WINDOWS:
        body = dict(window)
        body["schedule"] = {k: v for k, v in window["schedule"].items() if v is not None}
        assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201, body
    cancelled = tenant.editor.post("/api/v1/windows", json={
        **{k: v for k, v in release_freeze().items() if k != "key"}, "name": "Cancelled"})
    tenant.editor.post(f"/api/v1/windows/{cancelled.json()['id']}/cancel")
    first = _export(tenant)
    (tmp_path / "workspace.yaml").write_text(first)
    ok(client_cli(other_tenant, "apply", "-f", str(tmp_path), "--source", "copy"))
    second = _export(other_tenant)
    keys = [w["key"] for w in load([tmp_path / "workspace.yaml"]).windows]
    assert (second == first, len(keys), "cancelled" in keys, "patch-tuesday-2" in keys) == \
        (True, len(WINDOWS), False, True), (first, second)


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=8),
       keyed=st.lists(st.booleans(), min_size=8, max_size=8))
def test_exported_keys_are_unique_and_valid_and_files_read_back(names: list[str],
                                                                keyed: list[bool]) -> None:
    windows = [{"name": n, "key": f"k{i}" if keyed[i] else None, "state": "scheduled",
                "schedule": {"kind": "once"}} for i, n in enumerate(names)]
    document = file_document(windows, [])
    keys = [w["key"] for w in document["windows"]]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.yaml"
        path.write_text(dump(document))
        read_back = load([path]).windows
    assert (len(set(keys)) == len(keys), all(KEY.fullmatch(k) for k in keys),
            read_back == document["windows"]) == (True, True, True)
