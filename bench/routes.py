"""Figure 0: the decision endpoints as FastAPI routes vs plain Starlette routes vs the shortcut.

    PYTHONTZPATH="" python -m bench.routes

App-only cost (no sockets: ASGI calls in a loop, best of 3) of ``GET /api/v1/decide`` and of
``POST /api/v1/decide`` with 1,000 alerts, for three builds of the same app:

- ``fastapi``: the straightforward FastAPI route (``Depends`` for state, key and clock,
  ``Query`` parameters, a pydantic ``DecideRequest`` body, a synchronous handler, the
  response validated against ``response_model``), as first written — kept here to measure;
- ``starlette``: the plain Starlette endpoints of ``api.native.fastpath``, reached through
  the router;
- ``shortcut``: what ships — the same endpoints reached through ``DecideShortcut``, an ASGI
  middleware in front of the router.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from bench.common import print_figures
from bench.http import decide_batch_body
from bench.seed import seed
from bench.workload import make_workload
from quietly.api.app import create_app
from quietly.api.deps import Now, State, Viewer
from quietly.api.native.convert import parse_instant_field
from quietly.api.native.fastpath import DecideShortcut
from quietly.api.native.schemas import DecideRequest, DecisionBatch, DecisionOne
from quietly.core.codec import format_instant
from quietly.core.model import Alert
from quietly.settings import Settings

__all__ = ["main", "run"]

fastapi_router = APIRouter(prefix="/api/v1")


@fastapi_router.get("/decide", response_model=DecisionOne)
def decide(request: Request, state: State, principal: Viewer, now: Now,
           target: Annotated[list[str] | None, Query(max_length=1000)] = None,
           at: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    instant = parse_instant_field(at, "at", principal.workspace_timezone) if at else now
    labels = {k[6:]: v for k, v in request.query_params.multi_items() if k.startswith("label.")}
    decision = state.decisions.decide(principal.workspace_id,
                                      Alert(targets=tuple(target or ()), labels=labels), instant)
    return {"verdict": decision.verdict, "windows": list(decision.windows),
            "at": format_instant(instant), "stale": state.decisions.stale}


@fastapi_router.post("/decide", response_model=DecisionBatch)
def decide_batch(body: DecideRequest, state: State, principal: Viewer, now: Now) -> Any:
    instant = parse_instant_field(body.at, "at", principal.workspace_timezone) \
        if body.at else now
    alerts = [Alert(targets=tuple(a.targets), labels=dict(a.labels)) for a in body.alerts]
    found = state.decisions.decide_many(principal.workspace_id, alerts, instant)
    return {"at": format_instant(instant), "stale": state.decisions.stale,
            "decisions": [{"verdict": d.verdict, "windows": list(d.windows)} for d in found]}


def _variant(name: str, settings: Settings, db: Any) -> FastAPI:
    app = create_app(settings, database=db)
    if name in ("starlette", "fastapi"):
        app.user_middleware = [m for m in app.user_middleware if m.cls is not DecideShortcut]
    if name == "fastapi":
        app.router.routes = [r for r in app.router.routes
                             if getattr(r, "path", "") != "/api/v1/decide"]
        app.include_router(fastapi_router)
    return app


async def _time(app: FastAPI, method: str, key: str, body: bytes, n: int) -> float:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    started: list[Any] = []

    async def lifespan_send(message: Any) -> None:
        started.append(message)

    asyncio.get_running_loop().create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, queue.get,
            lifespan_send))
    while not started:
        await asyncio.sleep(0.01)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": "/api/v1/decide",
             "raw_path": b"/api/v1/decide", "root_path": "",
             "query_string": b"target=service:svc-5" if method == "GET" else b"",
             "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                         (b"authorization", f"Bearer {key}".encode())],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    sent = body if method == "POST" else b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": sent, "more_body": False}

    out: list[Any] = []

    async def send(message: Any) -> None:
        out.append(message)

    for _ in range(20):
        await app(scope, receive, send)
    if out[-2]["status"] != 200:
        raise RuntimeError(f"{method} answered {out[-2]['status']}: {out[-1]}")
    best = float("inf")
    for _ in range(3):
        begun = time.perf_counter()
        for _ in range(n):
            await app(scope, receive, send)
        best = min(best, (time.perf_counter() - begun) / n)
    return best


def run(windows: int = 1000) -> dict[str, Any]:
    work = make_workload(windows, 100_000, 2000)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="quietly-bench-")),
                        run_worker=False)
    seeded = seed(settings, work)
    body = decide_batch_body(work).encode()
    rows: list[tuple[str, Any, str]] = []
    for name in ("fastapi", "starlette", "shortcut"):
        get = asyncio.run(_time(_variant(name, settings, seeded.db), "GET", seeded.key, body,
                                2000))
        post = asyncio.run(_time(_variant(name, settings, seeded.db), "POST", seeded.key,
                                 body, 50))
        rows += [(f"{name}: GET /decide", get * 1e6, "µs per request"),
                 (f"{name}: POST /decide x1000", 1000 / post, "decisions/s")]
    seeded.db.dispose()
    return print_figures("0. route implementations, app only (no sockets)", rows)


def main() -> None:
    run()


if __name__ == "__main__":
    main()
