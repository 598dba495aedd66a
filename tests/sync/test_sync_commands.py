"""``quietly sync …`` end to end against the test server and a real Alertmanager."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from quietly.core.records import Role
from quietly.storage.db import Database
from quietly.storage.tables import SyncRow
from quietly.sync.runner import RunSettings, run_sync
from tests.cli.helpers import client_cli, ok, ok_json, rows
from tests.conftest import Tenant
from tests.sync.amserver import Alertmanager
from tests.sync.conftest import make_window, unique


def _run_once(db: Database, sync_id: int) -> None:
    """One reconciliation, as the worker runs it, but in this thread: no background worker
    whose log lines (other tests' syncs) could land in the captured output."""
    with db.transaction() as session:
        session.execute(update(SyncRow).where(SyncRow.id == sync_id)
                        .values(next_run_at=datetime.now(UTC)))
    assert run_sync(db, sync_id, RunSettings(worker_id="cli-test", allow_private=True),
                    lambda: datetime.now(UTC))


def test_sync_commands_from_create_to_status(tenant: Tenant, am: Alertmanager,
                                             db: Database) -> None:
    created = ok_json(client_cli(tenant, "sync", "create", "--name", "prod", "--am-url",
                                 am.url, "--target-label", "service=service", "--interval",
                                 "1s", "--bearer-token", "tok-secret", "--header",
                                 "X-Scope-OrgID: team-a", "--json", role=Role.ADMIN))
    assert (created["name"], created["target_labels"], created["bearer_token_set"],
            created["headers"]) == ("prod", {"service": "service"}, True, ["X-Scope-OrgID"])
    listed = rows(ok(client_cli(tenant, "sync", "list", role=Role.ADMIN)).stdout)
    assert [r[:2] for r in listed] == [["ID", "NAME"], [str(created["id"]), "prod"]]
    shown = ok(client_cli(tenant, "sync", "show", "prod", role=Role.ADMIN)).stdout
    assert ("tok-secret" in shown, "auth:          bearer" in shown) == (False, True)
    make_window(tenant, targets=[f"service:{unique()}"])
    make_window(tenant, targets=[f"monitor:{unique()}"])
    _run_once(db, created["id"])
    assert len(am.live(created["id"])) == 1
    status = ok(client_cli(tenant, "sync", "status", "prod", role=Role.ADMIN)).stdout
    assert ("prod: healthy, 1 silences" in status, "no alert label stands for" in status) == (
        True, True)
    updated = ok_json(client_cli(tenant, "sync", "update", "prod", "--lead", "2h", "--json",
                                 role=Role.ADMIN))
    assert updated["lead"] == "2h"
    ok(client_cli(tenant, "sync", "delete", "prod", role=Role.ADMIN))
    missing = client_cli(tenant, "sync", "show", "prod", role=Role.ADMIN)
    assert (missing.exit_code, "no sync named 'prod'" in missing.stderr) == (2, True)


def test_sync_create_errors_name_the_field(tenant: Tenant) -> None:
    result = client_cli(tenant, "sync", "create", "--name", "x", "--am-url",
                        "ftp://example.com", role=Role.ADMIN)
    assert (result.exit_code, "url" in result.stderr) == (2, True)
    result = client_cli(tenant, "sync", "create", "--name", "x", "--am-url",
                        "http://127.0.0.1:9", "--header", "novalue", role=Role.ADMIN)
    assert (result.exit_code, "--header" in result.stderr) == (2, True)
