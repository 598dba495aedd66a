"""The application factory: ``create_app(settings)`` wires store, index and routes."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse

import quietly
from quietly.api import health as health_api
from quietly.api.access_log import AccessLog, open_stream
from quietly.api.deps import AppState
from quietly.api.exposure import SecurityHeaders
from quietly.api.idempotency import Idempotency
from quietly.api.middleware import BodyLimit, NulGuard, RequestMetrics, WriteDeadline
from quietly.api.native import admin, decide, window_batch, windows
from quietly.api.native import alerts as alerts_api
from quietly.api.native import apply as apply_api
from quietly.api.native import calendar as calendar_api
from quietly.api.native import channels as channels_api
from quietly.api.native import syncs as syncs_api
from quietly.api.native.create_fastpath import CreateShortcut
from quietly.api.native.fastpath import DecideShortcut
from quietly.api.openapi import install_openapi
from quietly.api.problems import install_problem_handlers
from quietly.api.proxies import TrustedProxies, parse_networks
from quietly.compat import incidentio, ionhour, pagertree
from quietly.compat import ohdear as ohdear_compat
from quietly.compat import uptrends as uptrends_compat
from quietly.integrations import alertmanager
from quietly.metrics import GROUP_COMMIT_WRITES, GROUP_COMMITS
from quietly.notify import guard
from quietly.services.bootstrap import prepare_database
from quietly.services.decisions import DecisionService
from quietly.services.state_refresh import StateRefresher
from quietly.services.storehealth import StoreHealth
from quietly.settings import Settings, get_settings
from quietly.storage.checkpoint import Checkpointer
from quietly.storage.db import Database
from quietly.storage.groupcommit import GroupCommitter
from quietly.web import install_web
from quietly.worker.embedded import start_background, start_listener
from quietly.worker.listener import ChangeListener

__all__ = ["body_caps", "create_app", "prepare_database"]

log = structlog.get_logger("quietly")

def _utcnow() -> datetime:
    return datetime.now(UTC)


def _await_first_sync(listener: ChangeListener, timeout: float) -> None:
    """Wait until the listener has subscribed and loaded the index, or its first connection
    failed (the caller then loads the index itself, which raises if the store is down), or
    ``timeout`` passed (the process serves ``/readyz`` 503 until the listener is synced)."""
    deadline = time.monotonic() + timeout
    while not listener.synced.is_set() and time.monotonic() < deadline:
        if listener.attempted.is_set() and not listener.synced.is_set():
            return
        listener.synced.wait(0.05)


class _Ticker:
    """Once a minute: advance the index horizon and refresh stored window states."""

    def __init__(self, state: AppState, interval: float = 30.0) -> None:
        self._state = state
        self._interval = interval
        self._states = StateRefresher()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quietly-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            now = _utcnow()
            # Each step on its own: one failing (a database outage, a window the index cannot
            # expand) must not stop the other, nor any later tick.
            try:
                self._state.decisions.advance(now)
            except Exception as exc:
                log.exception("advancing the decision index failed", error=str(exc))
            try:
                self._states.refresh(self._state.db, now)
            except Exception as exc:
                log.warning("state refresh failed; retrying next tick", error=str(exc))


def _count_group_commit(writes: int) -> None:
    GROUP_COMMITS.inc()
    GROUP_COMMIT_WRITES.inc(writes)


def body_caps(settings: Settings) -> dict[str, int]:
    """The batch routes' body caps (every other route: ``settings.max_body_bytes``)."""
    return {"/api/v1/decide": settings.max_decide_body_bytes,
            "/api/v1/alerts": settings.max_alerts_body_bytes,
            "/api/v1/integrations/alertmanager": settings.max_alerts_body_bytes,
            "/api/v1/windows/batch": settings.max_windows_batch_body_bytes}


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    guard.configure(guard.AllowList.parse(settings.webhook_allow))  # one list per process

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or prepare_database(settings)
        # Recurring windows and per-target timelines are expanded in the background once the
        # app has started (``allow_expansion`` below): decisions are exact meanwhile.
        decisions = DecisionService(db, _utcnow(), expand_at_once=False)
        decisions.subscribe()
        # On PostgreSQL the listener subscribes to changes and then loads the index, so that
        # no other process's commit can fall between the two (see ``worker.listener``).
        listener = start_listener(settings, db, decisions)
        if listener is not None:
            _await_first_sync(listener, settings.index_load_timeout_seconds)
        if not decisions.loaded:  # SQLite, or the listener could not connect: load here
            decisions.load(_utcnow())  # (raises the store's error when it is unreachable)
        # Everything loaded so far (modules, the index) lives as long as the process: keep the
        # cyclic garbage collector from walking it on every full collection, which otherwise
        # stalls requests for a time that grows with the number of windows.
        gc.collect()
        gc.freeze()
        state = AppState(settings=settings, db=db, decisions=decisions)
        if listener is not None:
            state.extras["changes_synced"] = listener.synced
        health = StoreHealth(db, decisions)  # fail-static: stale decisions, fast 503s
        state.extras["store_health"] = health
        health.start()
        checkpointer = Checkpointer(db)  # SQLite: WAL checkpoints off the request path
        checkpointer.start()
        if settings.group_commit:
            state.extras[window_batch.GROUP_COMMIT] = GroupCommitter(
                db, settings.group_commit_max, on_commit=_count_group_commit)
        app.state.quietly = state
        ticker = _Ticker(state)
        ticker.start()
        stop_background = start_background(settings, db, decisions, listener)
        decisions.allow_expansion()
        try:
            yield
        finally:
            stop_background()
            checkpointer.stop()
            committer = state.extras.get(window_batch.GROUP_COMMIT)
            if isinstance(committer, GroupCommitter):
                committer.stop()
            ticker.stop()
            health.stop()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="quietly",
        version=quietly.__version__,
        summary="Self-hosted maintenance windows: is this alert in maintenance right now?",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # web.docs serves /docs from vendored assets (no CDN)
        redoc_url=None,
    )
    install_problem_handlers(app)
    app.state.settings = settings  # read by api.server's protocol (caps) before start-up
    app.add_middleware(DecideShortcut)  # the decision hot path skips routing (bench/)
    app.add_middleware(CreateShortcut)  # and so do plain window creates (issue #19)
    app.add_middleware(Idempotency)  # inside the write deadline: its claims are writes
    app.add_middleware(WriteDeadline, seconds=settings.write_timeout_seconds)
    app.add_middleware(NulGuard)  # outside the shortcut: it guards the shortcut too
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       caps=body_caps(settings))  # outside the NUL guard, which buffers
    app.add_middleware(SecurityHeaders, settings=settings)  # on every answer, errors too
    app.add_middleware(RequestMetrics)  # added last, so outermost: it times everything
    if settings.access_log:
        app.add_middleware(AccessLog, stream=open_stream(settings.access_log_file),
                           log_decisions=settings.access_log_decisions)
    app.state.log_decisions = settings.access_log and settings.access_log_decisions
    # Outermost of all: forwarded headers are applied (or identity headers dropped) first.
    app.add_middleware(TrustedProxies, networks=parse_networks(settings.trusted_proxies))
    app.include_router(window_batch.router)
    app.include_router(windows.router)
    app.include_router(decide.router)
    app.include_router(alerts_api.router)
    app.include_router(alertmanager.router)
    app.include_router(admin.router)
    app.include_router(channels_api.router)
    app.include_router(syncs_api.router)
    app.include_router(health_api.router)
    app.include_router(pagertree.router)
    app.include_router(ionhour.router)
    app.include_router(incidentio.router)
    app.include_router(uptrends_compat.router)
    app.include_router(ohdear_compat.router)
    app.include_router(calendar_api.router)
    app.include_router(apply_api.router)
    install_web(app)
    install_openapi(app)

    @app.get("/healthz", tags=["health"], include_in_schema=True, operation_id="healthz")
    def healthz() -> JSONResponse:
        """The process is up and serving."""
        return JSONResponse({"status": "ok"})
    return app
