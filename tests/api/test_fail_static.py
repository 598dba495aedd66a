"""Fail-static against PostgreSQL made unreachable.

A second app instance reaches the shared test database through a TCP proxy on 127.0.0.1
that the test controls; cutting the proxy makes the database unreachable for that instance
only (the shared PostgreSQL server, which other tests use, is never touched). Needs
``QUIETLY_TEST_DATABASE_URL`` to point at PostgreSQL; skipped on SQLite, which is a file
inside the process and cannot become unreachable this way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from quietly.api.app import create_app
from quietly.core.records import Role
from quietly.metrics import REGISTRY
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.api.helpers import active_body
from tests.conftest import Tenant, _free_port, _Server

PG_URL = os.environ.get("QUIETLY_TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL.startswith("postgresql"),
    reason="fail-static is tested against PostgreSQL (set QUIETLY_TEST_DATABASE_URL)")


class Proxy:
    """A TCP proxy 127.0.0.1:port → the database; ``cut()`` refuses and drops everything."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would not
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def proxied(settings: Settings, server: str) -> Iterator[tuple[str, Proxy]]:
    """Base URL of a second app instance whose database goes through a ``Proxy``."""
    url = make_url(PG_URL)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    database = Database(url.set(host="127.0.0.1", port=proxy.port)
                        .render_as_string(hide_password=False))
    port = _free_port()
    srv = _Server(uvicorn.Config(create_app(settings, database=database), host="127.0.0.1",
                                 port=port, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", proxy
    proxy.cut()
    srv.should_exit = True
    thread.join(timeout=10)
    database.dispose()


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {key}"})


def _decide(client: httpx.Client, target: str) -> tuple[int, Any, Any]:
    response = client.get("/api/v1/decide", params={"target": target})
    body = response.json()
    return response.status_code, body.get("verdict"), body.get("stale")


def _until(check: Any, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
    return time.monotonic() - started


def _timed(call: Any) -> tuple[int, float]:
    started = time.monotonic()
    response = call()
    return response.status_code, time.monotonic() - started


@pytest.fixture
def clients(proxied: tuple[str, Proxy], tenant: Tenant) -> Iterator[list[httpx.Client]]:
    """An editor client (its key gets seen) and an admin one (never seen before the cut)."""
    made = [_client(proxied[0], tenant.keys[role]) for role in (Role.EDITOR, Role.ADMIN)]
    yield made
    for client in made:
        client.close()


def test_decisions_go_on_and_writes_fail_fast_while_the_database_is_away(
        proxied: tuple[str, Proxy], tenant: Tenant, clients: list[httpx.Client]) -> None:
    proxy = proxied[1]
    editor, never_seen = clients
    before = editor.post("/api/v1/windows", json=active_body(targets=["service:fs"]))
    healthy = _decide(editor, "service:fs")

    proxy.cut()
    first_write = _timed(lambda: editor.post("/api/v1/windows", json=active_body()))
    flipped_after = _until(lambda: _decide(editor, "service:fs")[2] is True, 5)
    during = _decide(editor, "service:fs")
    stale_gauge = REGISTRY.get_sample_value("quietly_decision_index_stale")
    later_write = _timed(lambda: editor.post("/api/v1/windows", json=active_body()))
    ingest = _timed(lambda: editor.post("/api/v1/alerts", json={"alerts": [{}]}))
    unknown_key = _decide(never_seen, "service:fs")[0]
    # Meanwhile another process (the main test server) changes windows.
    other = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:fs2"]))

    proxy.start()
    recovered_after = _until(lambda: _decide(editor, "service:fs")[2] is False, 10)
    after_write = editor.post("/api/v1/windows", json=active_body(targets=["service:fs3"]))
    after = (_decide(editor, "service:fs2"), _decide(editor, "service:fs3"))

    assert (before.status_code, other.status_code, healthy) == (201, 201,
                                                                (200, "mute", False))
    assert (first_write[0], first_write[1] < 1.0) == (503, True)
    assert (flipped_after < 3, during, stale_gauge) == (True, (200, "mute", True), 1.0)
    assert (later_write[0], later_write[1] < 1.0, ingest[0], ingest[1] < 1.0) == (
        503, True, 503, True)
    assert unknown_key == 503
    assert (recovered_after < 5, after_write.status_code, after) == (
        True, 201, ((200, "mute", False), (200, "mute", False)))
