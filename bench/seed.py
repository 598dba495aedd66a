"""Seed a database with the workload through the service layer (what the API calls)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bench.common import fields_of
from bench.workload import Workload
from quietly.api.app import prepare_database
from quietly.core.records import Principal, Role
from quietly.services import windows, workspaces
from quietly.settings import Settings
from quietly.storage.db import Database

__all__ = ["Seeded", "seed"]


class Seeded:
    def __init__(self, db: Database, workspace_id: int, key: str, seconds: float) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.key = key
        self.seconds = seconds


def seed(settings: Settings, work: Workload, slug: str = "bench", chunk: int = 5000) -> Seeded:
    """A fresh workspace with an admin key and every window of ``work``, ``chunk`` at a time
    through the bulk create (what ``POST /api/v1/windows/batch`` calls)."""
    db = prepare_database(settings)
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, f"{slug}-{int(time.time() * 1000)}",
                                         name=slug, timezone="UTC", now=now)
        key = workspaces.create_key(session, ws.id, name="bench", role=Role.ADMIN, now=now)[1]
    principal = Principal(ws.id, ws.slug, "UTC", Role.ADMIN, None, "bench")
    started = time.perf_counter()
    for start in range(0, len(work.windows), chunk):
        items = [fields_of(body) for body in work.windows[start:start + chunk]]
        with db.transaction() as session:
            windows.create_windows(session, principal, items, now)
    return Seeded(db, ws.id, key, time.perf_counter() - started)
