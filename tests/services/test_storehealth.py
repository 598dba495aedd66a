"""The store probe trips only after consecutive failures, so one slow connect is no outage."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from quietly.services.decisions import DecisionService
from quietly.services.storehealth import StoreHealth
from quietly.storage.db import Database


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_probe_trips_after_two_failures_in_a_row() -> None:
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")
    decisions = DecisionService(db, datetime.now(UTC))
    health = StoreHealth(db, decisions, trip_after=2)
    try:
        seen = []
        for _ in range(3):
            health.probe()
            seen.append((health.down, decisions.stale))
    finally:
        health.stop()
        db.dispose()
    assert seen == [(False, False), (True, True), (True, True)]
