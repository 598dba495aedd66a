"""Fail-static: notice quickly that the store is unreachable, and that it is back.

A probe thread opens a fresh connection and runs ``SELECT 1`` every ``interval`` seconds with
a short connect timeout. When ``trip_after`` probes in a row fail (one slow connect on a busy
machine is not an outage):

- ``down`` turns true; decisions are marked stale (``quietly_decision_index_stale`` 1) and
  go on answering from the loaded index;
- every new connection the application asks for fails at once with the driver's
  ``OperationalError`` (a ``do_connect`` hook), which the API maps to 503: a write never
  waits for a connect timeout or a pool timeout while the store is known to be down.

When the probe succeeds again, the decision index is reloaded from the store (other processes
may have changed windows meanwhile), then ``down`` and ``stale`` clear by themselves.

SQLite is a file inside the process's own data directory, not a server that can become
unreachable: the monitor does not run there (errors still map to 503 where they occur).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from quietly.logs import get_logger
from quietly.services.decisions import DecisionService
from quietly.storage.db import Database

__all__ = ["StoreHealth"]

log = get_logger("quietly.storehealth")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StoreHealth:
    """Probe the store, flip ``down``, keep decisions serving (see the module docstring)."""

    def __init__(self, db: Database, decisions: DecisionService, *, interval: float = 0.5,
                 connect_timeout: int = 1, trip_after: int = 2,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._db = db
        self._trip_after = trip_after
        self._failures = 0
        self._decisions = decisions
        self._interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.down = False
        self.enabled = not db.is_sqlite
        if self.enabled:
            # Its own engine without a pool: the probe must never wait behind the app's pool,
            # and must reach the server even while the app's connects are short-circuited.
            self._probe_engine = create_engine(
                db.url, poolclass=NullPool, connect_args={"connect_timeout": connect_timeout})
            event.listen(db.engine, "do_connect", self._refuse_while_down)

    def _refuse_while_down(self, dialect: Any, _rec: Any, _cargs: Any, _cparams: Any) -> None:
        if self.down:
            raise dialect.loaded_dbapi.OperationalError(
                "the database is unreachable (health probe failing)")

    def probe(self) -> bool:
        """One probe; updates ``down`` and the decision index's stale flag. True when up."""
        try:
            with self._probe_engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # any failure to reach the store counts towards "down"
            self._failures += 1
            if self._failures < self._trip_after:
                return not self.down
            if not self.down:
                log.warning("store unreachable; serving decisions from memory", error=str(exc))
            self.down = True
            self._decisions.mark_stale(True)
            return False
        self._failures = 0
        if self.down or self._decisions.stale:
            self._recover()
        return not self.down

    def _recover(self) -> None:
        # Drop pooled connections that died with the outage before letting requests in.
        self._db.engine.dispose()
        self.down = False
        try:
            self._decisions.load(self._clock())
        except Exception as exc:  # still flaky: stay stale, try again next probe
            log.warning("store back but reload failed; retrying", error=str(exc))
            return
        self._decisions.mark_stale(False)
        log.info("store reachable again; decision index reloaded")

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="quietly-storehealth",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.probe()
            self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.enabled:
            event.remove(self._db.engine, "do_connect", self._refuse_while_down)
            self._probe_engine.dispose()
