"""The application factory: ``create_app(settings)`` wires store, index and routes."""

from __future__ import annotations

import gc
import importlib
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

import quietly
from quietly.api import health as health_api
from quietly.api.access_log import AccessLines, AccessLog, open_stream
from quietly.api.deps import AppState
from quietly.api.exposure import SecurityHeaders
from quietly.api.idempotency import Idempotency
from quietly.api.lazy_routes import include_lazily, materialize_all, renders_errors, warm_up
from quietly.api.middleware import BodyLimit, NulGuard, RequestMetrics, WriteDeadline
from quietly.api.native.decide_shortcut import DecideShortcut
from quietly.api.native.instants import BATCH_PATH, CREATE_PATH
from quietly.api.openapi import install_openapi
from quietly.api.problems import install_problem_handlers
from quietly.api.proxies import TrustedProxies, parse_networks
from quietly.logs import get_logger
from quietly.metrics import GROUP_COMMIT_WRITES, GROUP_COMMITS
from quietly.notify import guard
from quietly.services.bootstrap import prepare_database
from quietly.services.decisions import DecisionService
from quietly.services.state_refresh import StateRefresher
from quietly.services.storehealth import StoreHealth
from quietly.settings import Settings, get_settings
from quietly.storage.checkpoint import Checkpointer
from quietly.storage.db import Database
from quietly.storage.early_read import EarlyRead
from quietly.storage.groupcommit import GROUP_COMMIT, GroupCommitter
from quietly.web import install_web
from quietly.worker.embedded import sqlite_feed, start_background, start_listener
from quietly.worker.listener import ChangeListener

__all__ = ["body_caps", "create_app", "prepare_database"]

log = get_logger("quietly")

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


# How long the start-up's background work waits for the first readiness probe at most.
SETTLE_SECONDS = 1.0
_CREATE_SHORTCUT = "quietly.api.native.create_fastpath"
_BATCH_SHORTCUT = "quietly.api.native.batch_fastpath"


def _after_settling(answered: threading.Event, decisions: DecisionService,
                    app: FastAPI) -> None:
    """Start the background work of a start — expanding recurring windows and timelines,
    importing the routers not used yet (``api.lazy_routes``) — once the first ``/readyz``
    200 has been sent, or ``SETTLE_SECONDS`` after start-up, whichever comes first.

    Both are seconds of CPU under the interpreter lock: started with the server, they made
    its first answers wait behind them (a thread waiting for the lock gets it only every
    switch interval, 5 ms, at each step of a request), a fifth of a second of a 50,000-window
    start to ready (issue 19). Decisions are exact meanwhile (``DecisionService``), a route
    not imported yet is imported by its first request."""

    def run() -> None:
        answered.wait(SETTLE_SECONDS)
        decisions.allow_expansion()
        warm_up(app)
        importlib.import_module(_CREATE_SHORTCUT)

    threading.Thread(target=run, name="quietly-settle", daemon=True).start()


class _CreateShortcut:
    """``create_fastpath.CreateShortcut`` and ``batch_fastpath.BatchShortcut``, each imported
    when the first request of its path comes (the create's also by the background work of
    the start, ``_after_settling``): their schemas and the create path are not needed to
    become ready (issue 19). Every other request passes straight on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inner: ASGIApp | None = None
        self._batch: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path == BATCH_PATH:
            batch = self._batch
            if batch is None:
                shortcut: Any = importlib.import_module(_BATCH_SHORTCUT).BatchShortcut
                batch = self._batch = shortcut(self.app)
            await batch(scope, receive, send)
            return
        inner = self._inner
        if inner is None:
            if path != CREATE_PATH:
                await self.app(scope, receive, send)
                return
            shortcut = importlib.import_module(_CREATE_SHORTCUT).CreateShortcut
            inner = self._inner = shortcut(self.app)
        await inner(scope, receive, send)


def _count_group_commit(writes: int) -> None:
    GROUP_COMMITS.inc()
    GROUP_COMMIT_WRITES.inc(writes)


# Every router but health's, in matching order: (module with a ``router``, the path prefix of
# all its routes), imported on first use (``api.lazy_routes``: issue 19, start-up).
_ROUTERS_BEFORE_HEALTH = (
    ("quietly.api.native.window_batch", "/api/v1"),
    ("quietly.api.native.windows", "/api/v1"),
    ("quietly.api.native.decide", "/api/v1"),
    ("quietly.api.native.alerts", "/api/v1"),
    ("quietly.integrations.alertmanager", "/api/v1/integrations"),
    ("quietly.api.native.admin", "/api/v1"),
    ("quietly.api.native.channels", "/api/v1"),
    ("quietly.api.native.syncs", "/api/v1"),
)
_ROUTERS_AFTER_HEALTH = (
    ("quietly.compat.pagertree", "/compat/pagertree"),
    ("quietly.compat.ionhour", "/compat/ionhour"),
    ("quietly.compat.incidentio", "/compat/incidentio"),
    ("quietly.compat.uptrends", "/compat/uptrends"),
    ("quietly.compat.ohdear", "/compat/ohdear"),
    ("quietly.api.native.calendar", "/api/v1"),
    ("quietly.api.native.apply", "/api/v1"),
)
# The compatibility APIs render every error under their prefix in the vendor's shape, from the
# first request on (the module registers its renderer when imported).
_ERROR_RENDERERS = (
    ("quietly.compat.pagertree", "/compat/pagertree/"),
    ("quietly.compat.ionhour", "/compat/ionhour/"),
    ("quietly.compat.incidentio", "/compat/incidentio/"),
    ("quietly.compat.uptrends", "/compat/uptrends/"),
    ("quietly.compat.ohdear", "/compat/ohdear/"),
)


def _include_routers(app: FastAPI) -> None:
    for module, prefix in _ROUTERS_BEFORE_HEALTH:
        include_lazily(app, module, prefix)
    app.include_router(health_api.router)
    for module, prefix in _ROUTERS_AFTER_HEALTH:
        include_lazily(app, module, prefix)
    for module, prefix in _ERROR_RENDERERS:
        renders_errors(module, prefix)


def body_caps(settings: Settings) -> dict[str, int]:
    """The batch routes' body caps (every other route: ``settings.max_body_bytes``)."""
    return {"/api/v1/decide": settings.max_decide_body_bytes,
            "/api/v1/alerts": settings.max_alerts_body_bytes,
            "/api/v1/integrations/alertmanager": settings.max_alerts_body_bytes,
            "/api/v1/windows/batch": settings.max_windows_batch_body_bytes}


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               early: EarlyRead | None = None) -> FastAPI:
    """The app. ``early``: a child process reading the SQLite store since before the
    imports (``storage.early_read``, started by ``quietly serve``); the first load takes its
    rows if nothing has been committed since, else reads the store as usual."""
    settings = settings or get_settings()
    guard.configure(guard.AllowList.parse(settings.webhook_allow))  # one list per process

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            db = database or prepare_database(settings)
        except BaseException:
            if early is not None:
                early.close()
            raise
        # Recurring windows and per-target timelines are expanded in the background once the
        # app has started (``_after_settling`` below): decisions are exact meanwhile.
        decisions = DecisionService(db, _utcnow(), expand_at_once=False)
        decisions.subscribe()
        # On PostgreSQL the listener subscribes to changes and then loads the index, so that
        # no other process's commit can fall between the two (see ``worker.listener``).
        listener = start_listener(settings, db, decisions)
        if listener is not None:
            _await_first_sync(listener, settings.index_load_timeout_seconds)
        # On a SQLite file, other processes' changes come through the change feed: where it
        # stands is noted before the load, and what comes after is read once loaded.
        feed = sqlite_feed(settings, db, decisions)
        if not decisions.loaded:  # SQLite, or the listener could not connect: load here
            # (raises the store's error when it is unreachable)
            try:
                decisions.load(_utcnow(), early if listener is None else None)
            except BaseException:
                if feed is not None:
                    feed.stop()
                raise
        if early is not None:
            early.close()  # (taken by the load, or not used)
        if feed is not None:
            feed.start()
        # Everything loaded so far (modules, the index) lives as long as the process: keep the
        # cyclic garbage collector from walking it on every full collection, which otherwise
        # stalls requests for a time that grows with the number of windows. (No collection
        # first: it would walk it all once more, and finds next to nothing to free here.)
        gc.freeze()
        # ``quietly serve`` turns the collector off while it imports and loads (``cli.serve``):
        # from here on it runs.
        gc.enable()
        state = AppState(settings=settings, db=db, decisions=decisions)
        follower = listener or feed
        if follower is not None:
            state.extras["changes_synced"] = follower.synced
        health = StoreHealth(db, decisions)  # fail-static: stale decisions, fast 503s
        state.extras["store_health"] = health
        health.start()
        checkpointer = Checkpointer(db)  # SQLite: WAL checkpoints off the request path
        checkpointer.start()
        if settings.group_commit:
            state.extras[GROUP_COMMIT] = GroupCommitter(
                db, settings.group_commit_max, on_commit=_count_group_commit)
        app.state.quietly = state
        ticker = _Ticker(state)
        ticker.start()
        stop_background = start_background(settings, db, decisions, follower)
        answered = threading.Event()
        state.extras[health_api.FIRST_READY] = answered  # set once a 200 has been sent
        _after_settling(answered, decisions, app)
        try:
            yield
        finally:
            stop_background()
            committer = state.extras.get(GROUP_COMMIT)
            if isinstance(committer, GroupCommitter):
                committer.stop()
            ticker.stop()
            health.stop()
            checkpointer.stop()  # last: its final checkpoint empties the log
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
    app.add_middleware(_CreateShortcut)  # plain creates and batches skip routing (issue #19)
    app.add_middleware(Idempotency)  # inside the write deadline: its claims are writes
    app.add_middleware(WriteDeadline, seconds=settings.write_timeout_seconds)
    app.add_middleware(NulGuard)  # outside the create shortcut: it guards it too
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       caps=body_caps(settings))  # outside the NUL guard, which buffers
    app.add_middleware(SecurityHeaders, settings=settings)  # on every answer, errors too
    app.add_middleware(RequestMetrics)  # it times everything inside it
    lines = AccessLines(open_stream(settings.access_log_file)) if settings.access_log else None
    if lines is not None:
        app.add_middleware(AccessLog, lines=lines, log_decisions=settings.access_log_decisions)
    app.state.log_decisions = settings.access_log and settings.access_log_decisions
    # Forwarded headers are applied (or identity headers dropped) before everything above.
    app.add_middleware(TrustedProxies, networks=parse_networks(settings.trusted_proxies))
    # Outermost of all, the decision hot path: it does for a decision what the stack above
    # does (caps, NUL guard, proxies, headers, metric, log line), in one step (bench/).
    app.add_middleware(DecideShortcut, settings=settings,
                       access_lines=lines if app.state.log_decisions else None)
    _include_routers(app)
    install_web(app)
    install_openapi(app, before=materialize_all)

    @app.get("/healthz", tags=["health"], include_in_schema=True, operation_id="healthz")
    def healthz() -> JSONResponse:
        """The process is up and serving."""
        return JSONResponse({"status": "ok"})
    return app
