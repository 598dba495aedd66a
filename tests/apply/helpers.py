"""Desired sets for apply tests: windows with dates years ahead (tests never depend on the
hour or date they run at), and counters of what an apply wrote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from quietly.storage.db import Database
from quietly.storage.tables import AuditRow, OutboxRow
from tests.conftest import Tenant


def patch_night(key: str = "patch-night", **extra: Any) -> dict[str, Any]:
    """Every second Tuesday 22:00 to 02:00 in Berlin, from 2031 on."""
    return {"key": key, "name": "Patch night", "targets": ["service:db"],
            "schedule": {"kind": "recurring", "timezone": "Europe/Berlin",
                         "rrule": "FREQ=MONTHLY;BYDAY=2TU", "start_time": "22:00",
                         "end_time": "02:00", "starts_on": "2031-01-01"}, **extra}


def release_freeze(key: str = "freeze", **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": "Release freeze", "all_targets": True,
            "effects": ["suppress_incidents"],
            "schedule": {"kind": "once", "start": "2032-12-20T00:00:00+01:00",
                         "end": "2033-01-02T00:00:00+01:00"}, **extra}


def apply(tenant: Tenant, source: str = "ops-repo", windows: list[dict[str, Any]] | None = None,
          groups: list[dict[str, Any]] | None = None, **flags: Any) -> Any:
    return tenant.editor.post("/api/v1/apply", json={
        "source": source, "windows": windows or [], "groups": groups or [], **flags})


def writes(db: Database, tenant: Tenant) -> tuple[int, int]:
    """(audit entries, outbox messages) of the tenant's workspace so far."""
    with db.read() as session:
        audit = session.scalar(select(func.count()).select_from(AuditRow)
                               .where(AuditRow.workspace_id == tenant.id))
        outbox = session.scalar(select(func.count()).select_from(OutboxRow)
                                .where(OutboxRow.workspace_id == tenant.id))
    return int(audit or 0), int(outbox or 0)


def live_windows(tenant: Tenant) -> list[tuple[str | None, str | None, str]]:
    """(key, source, name) of every live window, sorted."""
    found = tenant.viewer.get("/api/v1/windows", params={"limit": 500}).json()["windows"]
    return sorted(((w["key"], (w["managed_by"] or {}).get("source"), w["name"]) for w in found),
                  key=lambda t: (t[0] or "", t[2]))
