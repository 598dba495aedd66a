"""Storage of maintenance as code: the 0008 migration, and ``key``/``managed_by`` shown
read-only by the native API and on the UI's window page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import inspect, update

from quietly.core.records import Role
from quietly.storage.db import Database
from quietly.storage.migrate import alembic_config, upgrade
from quietly.storage.tables import GroupRow, WindowRow
from tests.api.helpers import window_body
from tests.conftest import Tenant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _columns(db: Database, table: str) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def test_migration_0008_adds_and_removes_the_columns(tmp_path: Path) -> None:
    from alembic import command

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(db.engine)
        added = {"key", "managed_source"}
        assert (added <= _columns(db, "windows"), added <= _columns(db, "target_groups")) == \
            (True, True)
        command.downgrade(alembic_config(db.engine), "0007")  # the revision before 0008
        assert (added & _columns(db, "windows"), added & _columns(db, "target_groups")) == \
            (set(), set())
        upgrade(db.engine)
        assert added <= _columns(db, "windows")
    finally:
        db.dispose()


def test_hand_made_objects_have_no_key_and_no_manager(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    group = tenant.editor.post("/api/v1/groups", json={"name": "web"}).json()
    assert ((window["key"], window["managed_by"]), (group["key"], group["managed_by"])) == \
        ((None, None), (None, None))


def _manage(db: Database, tenant: Tenant, window_id: int) -> None:
    with db.transaction() as session:
        session.execute(update(WindowRow).where(WindowRow.id == window_id)
                        .values(key="patch-night", managed_source="ops-repo"))
        session.execute(update(GroupRow).where(GroupRow.workspace_id == tenant.id)
                        .values(key="web", managed_source="ops-repo"))


def test_key_and_manager_are_shown_and_read_only(db: Database, tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body()).json()
    tenant.editor.post("/api/v1/groups", json={"name": "web"})
    _manage(db, tenant, window["id"])
    shown = tenant.viewer.get(f"/api/v1/windows/{window['id']}").json()
    group = tenant.viewer.get("/api/v1/groups/web").json()
    refused = tenant.editor.patch(f"/api/v1/windows/{window['id']}", json={"key": "other"})
    edited = tenant.editor.patch(f"/api/v1/windows/{window['id']}", json={"name": "hand"})
    assert (shown["key"], shown["managed_by"], group["managed_by"], refused.status_code,
            edited.json()["managed_by"]) == (
        "patch-night", {"source": "ops-repo", "key": "patch-night"},
        {"source": "ops-repo", "key": "web"}, 422, {"source": "ops-repo", "key": "patch-night"})


@pytest.fixture
def signed_in(tenant: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tenant.base_url, timeout=30) as client:
        token = CSRF.findall(client.get("/sign-in").text)[0]
        client.post("/sign-in", data={"api_key": tenant.keys[Role.EDITOR],
                                      "csrf_token": token, "next": "/windows"})
        yield client


def test_window_page_warns_that_apply_reverts_hand_edits(
        db: Database, tenant: Tenant, signed_in: httpx.Client) -> None:
    managed = tenant.editor.post("/api/v1/windows", json=window_body("managed")).json()
    by_hand = tenant.editor.post("/api/v1/windows", json=window_body("by hand")).json()
    _manage(db, tenant, managed["id"])
    pages = [signed_in.get(f"/windows/{w['id']}{suffix}").text
             for w in (managed, by_hand) for suffix in ("", "/edit")]
    assert [("managed-note" in p, "next <code>quietly apply</code>" in p, "ops-repo" in p)
            for p in pages] == [(True, True, True)] * 2 + [(False, False, False)] * 2
