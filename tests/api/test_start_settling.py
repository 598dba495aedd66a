"""The start-up's background work waits for the first readiness answer (issue 19).

Expanding recurring windows and importing the routers not used yet are seconds of CPU under
the interpreter lock; started with the server they held up its first answers. They start
once the first ``/readyz`` 200 has been sent, or ``app.SETTLE_SECONDS`` after start-up when
nothing asks (decisions are exact either way: ``tests/services/test_index_load.py``).
"""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from quietly.api import app as app_module
from quietly.api.app import create_app
from quietly.api.health import FIRST_READY
from quietly.settings import Settings
from quietly.storage.db import Database


def test_nothing_starts_before_the_first_ready_answer_and_all_of_it_after(
        settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SETTLE_SECONDS", 600.0)  # nothing but the answer
    app = create_app(settings, database=db)
    with TestClient(app) as client:
        state = app.state.quietly
        first = state.extras[FIRST_READY]
        before = (first.is_set(), state.decisions.expanded.is_set())
        ready = client.get("/readyz")
        again = client.get("/readyz")
        after = (first.wait(30), state.decisions.expanded.wait(60))
    assert (before, ready.status_code, again.status_code, after) == (
        (False, False), 200, 200, (True, True))


def test_without_a_probe_it_starts_after_the_settling_time(
        settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SETTLE_SECONDS", 0.05)
    app = create_app(settings, database=db)
    with TestClient(app):
        state = app.state.quietly
        expanded = state.decisions.expanded.wait(60)
        answered = state.extras[FIRST_READY].is_set()
    assert (expanded, answered) == (True, False)


def test_a_not_ready_answer_starts_nothing(
        settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "SETTLE_SECONDS", 600.0)
    app = create_app(settings, database=db)
    with TestClient(app) as client:
        state = app.state.quietly
        state.decisions.loaded = False  # what /readyz reports while a reload has not loaded
        answer = client.get("/readyz")
        state.decisions.loaded = True
        answered = state.extras[FIRST_READY].is_set()
    assert (answer.status_code, answered) == (503, False)


def test_the_collector_runs_once_started_even_if_serve_turned_it_off(
        settings: Settings, db: Database) -> None:
    """``quietly serve`` turns the cyclic collector off while it imports and loads; the
    started app turns it back on (else cyclic garbage would pile up for the process's life)."""
    app = create_app(settings, database=db)
    gc.disable()
    try:
        with TestClient(app):
            running = gc.isenabled()
    finally:
        gc.enable()
    assert running is True


def test_serving_imports_neither_schemas_nor_the_create_path_before_a_create() -> None:
    """What ``quietly serve`` imports to become ready leaves out the request schemas and the
    create path (``api.app._CreateShortcut`` and ``api.server`` import it on the first
    create); the app built from it still answers a create (``tests/api/test_create_*``)."""
    code = ("import sys; import quietly.cli, quietly.api.app, quietly.api.server; "
            "print(sorted(m for m in ('quietly.api.native.schemas', 'quietly.api.native.convert',"
            " 'quietly.api.native.create_fastpath', 'quietly.api.native.window_batch', "
            "'pydantic.v1', 'structlog') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
