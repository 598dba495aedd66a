"""Deliver claimed outbox messages over the transport seam and record each attempt.

A message becomes an HTTP POST: the body rendered for the channel's type, and the Standard
Webhooks headers ``webhook-id`` (the message's stable id), ``webhook-timestamp`` (this
attempt, Unix seconds) and ``webhook-signature`` (HMAC-SHA256 over ``id.timestamp.body``).
2xx is success; 5xx, 408, 425, 429 and transport failures are retried with backoff; any
other answer (4xx, a redirect, which is never followed) fails at once, since repeating the
same request cannot help.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from quietly.logs import get_logger
from quietly.metrics import DELIVERIES
from quietly.notify import (
    OutboundRequest,
    Transport,
    TransportError,
    render_body,
    sign,
)
from quietly.services.deliveries import Claimed, Outcome, claim_due, record_outcome
from quietly.storage.db import Database
from quietly.worker.config import WorkerConfig

__all__ = ["Deliverer", "build_request"]

log = get_logger("quietly.worker")

RETRYABLE_STATUS = frozenset({408, 425, 429})


def build_request(message: Claimed, timestamp: int) -> OutboundRequest:
    """The POST for ``message`` on its channel (which must still exist)."""
    assert message.url is not None
    assert message.channel_type is not None
    body = render_body(message.channel_type, message.payload)
    headers = {"webhook-id": message.event_id, "webhook-timestamp": str(timestamp)}
    if message.secret:
        headers["webhook-signature"] = sign(message.secret, message.event_id, timestamp, body)
    return OutboundRequest(message.url, body, headers)


def _error_text(status: int, body: bytes) -> str:
    snippet = body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


def attempt(transport: Transport, message: Claimed) -> Outcome:
    """Send once; never raises for a delivery problem."""
    if message.url is None:
        return Outcome(None, "the channel was deleted", retryable=False, duration_ms=0)
    try:
        response = transport.send(build_request(message, int(time.time())))
    except TransportError as exc:
        return Outcome(None, str(exc), retryable=exc.retryable, duration_ms=exc.duration_ms)
    except Exception as exc:  # a message we cannot even build must fail, not loop forever
        return Outcome(None, f"internal error: {type(exc).__name__}: {exc}", retryable=False,
                       duration_ms=0)
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(status, None, retryable=False, duration_ms=response.duration_ms)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    error = _error_text(status, response.body)
    if 300 <= status < 400:
        error += " (redirects are not followed; point the channel at the final URL)"
    return Outcome(status, error, retryable=retryable, duration_ms=response.duration_ms)


class Deliverer:
    """Claims due messages and delivers them in parallel (``concurrency`` at a time), the
    messages about one window one after the other, in the order they were enqueued: a
    receiver hears ``window.created`` before ``occurrence.started`` when both are due
    together (a window created running). A message that fails is retried later, after the
    ones behind it: the outbox delivers at least once, in order only when nothing fails."""

    def __init__(self, database: Database, transport: Transport, config: WorkerConfig,
                 worker_id: str, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._transport = transport
        self._config = config
        self._worker_id = worker_id
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency,
                                        thread_name_prefix="quietly-deliver")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _deliver(self, claimed: list[Claimed]) -> list[Outcome]:
        """Each message's outcome, in ``claimed``'s order; each window's in a row."""
        chains: dict[tuple[str, int], list[Claimed]] = {}
        for message in claimed:  # claim_due gives them in the order they were enqueued
            key = ("window", message.window_id) if message.window_id is not None \
                else ("message", message.id)
            chains.setdefault(key, []).append(message)
        outcomes: dict[int, Outcome] = {}
        for chain, results in zip(chains.values(), self._pool.map(
                lambda chain: [attempt(self._transport, m) for m in chain], chains.values()),
                strict=True):
            outcomes.update((m.id, o) for m, o in zip(chain, results, strict=True))
        return [outcomes[message.id] for message in claimed]

    def run_once(self) -> int:
        """Claim one batch, deliver it in parallel, record every outcome in one transaction
        (a crash before that commit only means a repeat, with the same ``webhook-id``)."""
        with self._db.transaction() as db:
            claimed = claim_due(db, self._worker_id, self._clock(), self._config.lease,
                                self._config.delivery_batch)
        if not claimed:
            return 0
        outcomes = self._deliver(claimed)
        try:
            with self._db.transaction() as db:
                now = self._clock()
                statuses = [record_outcome(db, m, self._worker_id, o, now,
                                           self._config.retry_policy)
                            for m, o in zip(claimed, outcomes, strict=True)]
        except Exception as exc:  # the leases expire and the messages are tried again
            log.warning("recording deliveries failed", error=str(exc), count=len(claimed))
            return len(claimed)
        for message, outcome, status in zip(claimed, outcomes, statuses, strict=True):
            DELIVERIES.labels(message.channel_type or "deleted", status).inc()
            if not outcome.ok:
                log.info("delivery failed", outbox_id=message.id, status=status,
                         error=outcome.error, attempts=message.attempts)
        return len(claimed)
