"""Key bookkeeping that must not slow the requests it watches.

- :class:`AuthThrottle`: a client (by address) whose authentications keep failing gets 429
  with ``Retry-After`` instead of having more keys looked up, until its minute is over.
  Only failures count, and a key that is known good (in the auth cache) is never checked
  against it, so valid keys are not slowed, even from a throttled address (a proxy, a NAT).
- :class:`KeyUsage`: records ``last_used_at`` at most once a minute per key, written by a
  short-lived background thread, never by the request that used the key.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from quietly.logs import get_logger
from quietly.services import workspaces
from quietly.storage.db import Database

__all__ = ["AuthThrottle", "KeyUsage"]

log = get_logger("quietly.keys")


class AuthThrottle:
    """At most ``limit`` failed authentications per client per ``window`` seconds.

    ``limit`` 0 turns it off. At most ``max_clients`` addresses are remembered: past that
    the table starts afresh (an attacker with that many addresses is not stopped by this).
    """

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures: dict[str, tuple[int, float]] = {}  # client → (count, window start)

    def retry_after(self, client: str | None, now: float) -> int | None:
        """Seconds until ``client`` may try again, or None when it is not throttled."""
        if client is None or self.limit <= 0:
            return None
        entry = self._failures.get(client)
        if entry is None or entry[0] < self.limit:
            return None
        left = entry[1] + self.window - now
        if left <= 0:
            self._failures.pop(client, None)
            return None
        return max(1, math.ceil(left))

    def failed(self, client: str | None, now: float) -> int | None:
        """Count one failure of ``client``; the ``retry_after`` it is now under, if any."""
        if client is None or self.limit <= 0:
            return None
        count, start = self._failures.get(client, (0, now))
        if now - start >= self.window:
            count, start = 0, now
        if client not in self._failures and len(self._failures) >= self.max_clients:
            self._failures.clear()
        self._failures[client] = (count + 1, start)
        return self.retry_after(client, now)


class KeyUsage:
    """Collects key uses and writes ``last_used_at`` off the request path.

    ``used`` is cheap (a dict look-up); a key is queued at most once per ``interval`` seconds.
    A worker thread, started when something is queued, writes the queue in one transaction
    and ends once the queue stays empty for a while.
    """

    def __init__(self, db: Database, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.interval = interval
        self.clock = clock
        self._queued_at: dict[int, float] = {}  # key id → clock time it was last queued
        self._pending: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def used(self, key_id: int | None) -> bool:
        """Note a use of ``key_id``; True when that queued a write (once per interval)."""
        if key_id is None:
            return False
        now = self.clock()
        if now - self._queued_at.get(key_id, -math.inf) < self.interval:
            return False
        with self._lock:
            self._queued_at[key_id] = now
            self._pending[key_id] = datetime.now(UTC)
            if self._thread is None:  # set back to None, under the lock, when it ends
                self._thread = threading.Thread(target=self._run, name="quietly-key-usage",
                                                daemon=True)
                self._thread.start()
        self._wake.set()
        return True

    def flush(self) -> int:
        """Write what is queued now; returns how many keys were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self.db.transaction() as session:
                workspaces.record_key_use(session, pending)
        except Exception as exc:  # the store is down: the next use queues the key again
            log.warning("recording key use failed", error=str(exc))
            with self._lock:
                for key_id in pending:
                    self._queued_at.pop(key_id, None)
            return 0
        return len(pending)

    def _run(self) -> None:
        while True:
            woke = self._wake.wait(timeout=5.0)
            self._wake.clear()
            self.flush()
            if not woke:
                with self._lock:
                    if not self._pending:
                        self._thread = None
                        return
