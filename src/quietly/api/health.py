"""``/metrics`` (Prometheus text format) and ``/readyz`` (database reachable, index loaded,
subscribed to other processes' changes)."""

from __future__ import annotations

import hmac
import threading
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.background import BackgroundTask

from quietly.api.deps import State, bearer_key
from quietly.api.exposure import metrics_open
from quietly.logs import get_logger
from quietly.metrics import REGISTRY
from quietly.services.observability import refresh_gauges

__all__ = ["FIRST_READY", "router"]

FIRST_READY = "first_ready"  # AppState.extras: an Event set once a /readyz 200 was sent

log = get_logger("quietly")
router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, operation_id="metrics",
            responses={200: {"content": {"text/plain": {}},
                             "description": "Prometheus text exposition format."},
                       401: {"description": "QUIETLY_METRICS_TOKEN is set and the request "
                                            "does not carry it."},
                       403: {"description": "Listening beyond loopback without "
                                            "QUIETLY_METRICS_TOKEN or QUIETLY_METRICS_PUBLIC."}})
def metrics(state: State, request: Request) -> Response:
    """Every metric; store-derived gauges are recomputed first (kept as they were when the
    database cannot be read, so a scrape never fails because of it). With
    ``QUIETLY_METRICS_TOKEN`` set, only for ``Authorization: Bearer <that token>``."""
    token = state.settings.metrics_token
    if not token and not metrics_open(state.settings):
        raise HTTPException(403, "/metrics is served beyond loopback: set "
                            "QUIETLY_METRICS_TOKEN, or QUIETLY_METRICS_PUBLIC=true to open it")
    if token and not hmac.compare_digest((bearer_key(request) or "").encode(), token.encode()):
        raise HTTPException(401, "/metrics needs 'Authorization: Bearer <QUIETLY_METRICS_TOKEN>'",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        with state.db.read() as db:
            refresh_gauges(db, datetime.now(UTC),
                           max_targets=state.settings.metrics_max_targets)
    except Exception as exc:
        log.warning("metrics: store-derived gauges not refreshed", error=str(exc))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", operation_id="readyz",
            responses={503: {"description": "Not ready: database unreachable or index not "
                                            "loaded."}})
def readyz(state: State) -> JSONResponse:
    """200 when the database answers, the decision index is loaded and the process follows
    other processes' changes since before that load (PostgreSQL's subscription, a SQLite
    file's change feed; not for a store in memory); 503 otherwise.
    ``index_pending``: what the index still expands in the background after a load (0 when
    done; decisions are exact either way)."""
    checks: dict[str, str] = {}
    try:
        with state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["index"] = "ok" if state.decisions.loaded else "not loaded"
    synced = state.extras.get("changes_synced")
    if isinstance(synced, threading.Event):  # subscribed (or marked), then loaded
        checks["changes"] = "ok" if synced.is_set() else "not subscribed"
    ready = all(v == "ok" for v in checks.values())
    # Not a check: after a load, recurring windows and per-target timelines are expanded in
    # the background; decisions are exact meanwhile, only slower (0 once done).
    pending = state.decisions.pending() if state.decisions.loaded else None
    # The first 200 lets the start-up's background work begin once it has been sent
    # (``api.app._after_settling``).
    first = state.extras.get(FIRST_READY)
    after = BackgroundTask(first.set) if ready and isinstance(first, threading.Event) \
        and not first.is_set() else None
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks,
                         "index_pending": pending},
                        status_code=200 if ready else 503, background=after)
