"""Keys (issue #14 point 7): last_used_at recorded off the request path, failed
authentication throttled per client with 429 + Retry-After, unique names per workspace."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from quietly.api.app import create_app
from quietly.api.keyguard import AuthThrottle, KeyUsage
from quietly.api.server import server_config
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import Tenant, _free_port, make_tenant, serving

LIMIT = 5


@pytest.fixture
def strict_server(settings: Settings, db: Database) -> Iterator[str]:
    """A server of its own whose clients may fail authentication LIMIT times a minute."""
    port = _free_port()
    app = create_app(settings.model_copy(update={"auth_failures_per_minute": LIMIT}),
                     database=db)
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning",
                           lifespan="on")
    with serving(config):
        yield f"http://127.0.0.1:{port}"


def _wrong_key() -> dict[str, str]:
    return {"Authorization": f"Bearer qly_wrong{uuid.uuid4().hex}"}


@pytest.mark.parametrize("path", ["/api/v1/windows", "/api/v1/decide?target=service:x"])
def test_a_client_that_keeps_failing_gets_429_and_valid_keys_do_not(
        strict_server: str, db: Database, path: str) -> None:
    tenant = make_tenant(db, strict_server)
    try:
        assert tenant.viewer.get(path).status_code == 200  # known good from now on
        with httpx.Client(base_url=strict_server, timeout=30) as client:
            failures = [client.get(path, headers=_wrong_key()) for _ in range(LIMIT + 2)]
        statuses = [r.status_code for r in failures]
        retry = int(failures[-1].headers["retry-after"])
        assert (statuses, 1 <= retry <= 60, failures[-1].json()["status"],
                tenant.viewer.get(path).status_code) == (
            [401] * (LIMIT - 1) + [429] * 3, True, 429, 200)
    finally:
        tenant.close()


def test_throttle_counts_per_client_and_forgets_after_its_window() -> None:
    throttle = AuthThrottle(limit=2, window=60.0)
    seen = [throttle.failed("a", 0.0), throttle.failed("a", 1.0), throttle.failed("b", 1.0),
            throttle.retry_after("a", 30.0), throttle.retry_after("a", 61.0)]
    assert seen == [None, 59, None, 30, None]


def test_last_used_at_is_recorded(tenant: Tenant) -> None:
    assert tenant.viewer.get("/api/v1/windows").status_code == 200
    used = None
    for _ in range(200):  # written by a background thread, not the request: wait for it
        keys = tenant.admin.get("/api/v1/keys").json()["keys"]
        used = next(k["last_used_at"] for k in keys if k["role"] == "viewer")
        if used is not None:
            break
        time.sleep(0.05)
    assert used is not None


def test_key_use_is_written_at_most_once_per_interval(db: Database) -> None:
    with db.transaction() as session:
        info, _ = workspaces.create_key(session, 1, name=f"usage-{uuid.uuid4().hex[:8]}",
                                        role=Role.VIEWER, now=datetime.now(UTC))
    clock = [1000.0]
    usage = KeyUsage(db, interval=60.0, clock=lambda: clock[0])
    queued = []
    for step in (0.0, 10.0, 59.0, 61.0, 100.0):
        clock[0] = 1000.0 + step
        queued.append(usage.used(info.id))
    usage.flush()
    with db.read() as session:
        stored = next(k for k in workspaces.list_keys(session, 1) if k.id == info.id)
    assert (queued, stored.last_used_at is not None) == ([True, False, False, True, False], True)


def test_two_live_keys_may_not_share_a_name(tenant: Tenant) -> None:
    first = tenant.admin.post("/api/v1/keys", json={"name": "ci", "role": "viewer"})
    second = tenant.admin.post("/api/v1/keys", json={"name": "ci", "role": "editor"})
    tenant.admin.delete(f"/api/v1/keys/{first.json()['id']}")
    after_revoking = tenant.admin.post("/api/v1/keys", json={"name": "ci", "role": "editor"})
    assert (first.status_code, second.status_code, second.json()["field"],
            after_revoking.status_code) == (201, 409, "name", 201)
