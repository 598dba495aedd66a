"""Shared fixtures: a real quietly server on 127.0.0.1 over a real database.

The database is SQLite in a temporary folder, or PostgreSQL when ``QUIETLY_TEST_DATABASE_URL``
is set (CI runs the suite both ways). Each test gets its own workspace with one key per role,
so tests never see each other's data and tenant isolation is exercised all the time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.core.records import Role
from quietly.services import workspaces
from quietly.services.bootstrap import prepare_database
from quietly.settings import Settings
from quietly.storage.db import Database

os.environ.setdefault("PYTHONTZPATH", "")

# No wall-clock limits in tests: Hypothesis' per-example deadline and its "too slow" health
# check measure the machine's load (CI shares its cores), not our code. Each test's own
# ``@settings`` still sets the number of examples.
hypothesis_settings.register_profile("quietly", deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("quietly")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _reset_postgres(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("QUIETLY_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'quietly.db'}"


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=database_url, data_dir=Path(tmp_path_factory.mktemp("data")),
                    webhook_allow_private=True, cookie_secure=False, run_worker=False,
                    access_log=False,  # tests/api/test_access_log.py turns it on
                    # Every test shares 127.0.0.1; tests/api/test_keys_hardening.py throttles.
                    auth_failures_per_minute=100_000)


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    database = prepare_database(settings)
    yield database
    database.dispose()


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # run in a thread: no signal handlers
        pass


@contextmanager
def serving(config: uvicorn.Config) -> Iterator[None]:
    """Run a uvicorn server for ``config`` in a background thread while the block runs."""
    srv = _Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(settings: Settings, db: Database) -> Iterator[str]:
    """Base URL of a real uvicorn server running the app in a background thread, with the
    decision fast path of ``quietly serve``."""
    port = _free_port()
    config = server_config(create_app(settings, database=db), host="127.0.0.1", port=port,
                           log_level="warning", lifespan="on")  # as `quietly serve` runs it
    with serving(config):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Tenant:
    """A fresh workspace with a client per role (closed when the test ends)."""

    id: int
    slug: str
    timezone: str
    keys: dict[Role, str]
    base_url: str
    clients: dict[Role, httpx.Client] = field(default_factory=dict)

    def client(self, role: Role = Role.ADMIN) -> httpx.Client:
        if role not in self.clients:
            self.clients[role] = httpx.Client(
                base_url=self.base_url, timeout=30,
                headers={"Authorization": f"Bearer {self.keys[role]}"})
        return self.clients[role]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()

    @property
    def admin(self) -> httpx.Client:
        return self.client(Role.ADMIN)

    @property
    def editor(self) -> httpx.Client:
        return self.client(Role.EDITOR)

    @property
    def viewer(self) -> httpx.Client:
        return self.client(Role.VIEWER)


def make_tenant(db: Database, base_url: str, timezone: str = "Europe/Berlin") -> Tenant:
    slug = "t-" + uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, slug, name=slug, timezone=timezone, now=now)
        keys = {role: workspaces.create_key(session, ws.id, name=f"{role.value}-key", role=role,
                                            now=now)[1] for role in Role}
    return Tenant(ws.id, slug, timezone, keys, base_url)


@pytest.fixture
def tenant(db: Database, server: str) -> Iterator[Tenant]:
    made = make_tenant(db, server)
    yield made
    made.close()


@pytest.fixture
def other_tenant(db: Database, server: str) -> Iterator[Tenant]:
    made = make_tenant(db, server)
    yield made
    made.close()
