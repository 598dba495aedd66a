"""Figure 0: the decision endpoints as FastAPI routes vs plain Starlette routes vs the shortcut.

    PYTHONTZPATH="" python -m bench.routes          # wall clock
    PYTHONTZPATH="" python -m bench.routes --cpu    # CPU of the serving thread

App-only cost (no sockets: ASGI calls in a loop, best of 3) of ``GET /api/v1/decide`` and of
``POST /api/v1/decide`` with 1,000 alerts, for three builds of the same app:

- ``fastapi``: the straightforward FastAPI route (``Depends`` for state, key and clock,
  ``Query`` parameters, a pydantic ``DecideRequest`` body, a synchronous handler, the
  response validated against ``response_model``), as first written — kept here to measure;
- ``starlette``: the plain Starlette endpoints of ``api.native.fastpath``, reached through
  the router;
- ``shortcut``: the same answers given by ``DecideShortcut``, the outermost of the app's
  middlewares, which does for a decision what the stack behind it does (caps, NUL guard,
  proxy client, security headers, metric, access log) in one step: what any ASGI server
  runs, and what ``POST`` always takes;
- ``protocol``: what ``quietly serve`` runs for ``GET``: ``DecideHttpProtocol`` given the raw
  request bytes (HTTP parsing, decision and response bytes, written to an in-memory
  transport). This one includes the HTTP layer; the three above are the app alone.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import uvicorn
import uvloop
from fastapi import APIRouter, FastAPI, Query, Request
from uvicorn.server import ServerState

from bench.common import print_figures
from bench.http import decide_batch_body
from bench.seed import seed
from bench.workload import make_workload
from quietly.api.app import create_app
from quietly.api.deps import Now, State, Viewer
from quietly.api.native.convert import parse_instant_field
from quietly.api.native.decide_shortcut import DecideShortcut
from quietly.api.native.schemas import DecideRequest, DecisionBatch, DecisionOne
from quietly.api.server import decide_protocol
from quietly.core.codec import format_instant
from quietly.core.model import Alert
from quietly.settings import Settings

__all__ = ["main", "run"]

# What the loops time: wall clock, or with --cpu the CPU time of the serving thread, which a
# loaded VM (other processes on the cores) disturbs far less.
_clock = time.perf_counter

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
    if name in ("starlette", "fastapi"):  # through every middleware and the router
        app.user_middleware = [m for m in app.user_middleware if m.cls is not DecideShortcut]
    if name == "fastapi":
        app.router.routes = [r for r in app.router.routes
                             if getattr(r, "path", "") != "/api/v1/decide"]
        app.include_router(fastapi_router)
    return app


async def _time(app: FastAPI, method: str, key: str, body: bytes, n: int) -> float:
    await _start(app)
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
        begun = _clock()
        for _ in range(n):
            await app(scope, receive, send)
        best = min(best, (_clock() - begun) / n)
    return best


class _Transport(asyncio.Transport):
    """Collects what the protocol writes; the connection never closes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def raw_protocol(app: FastAPI) -> tuple[Any, _Transport]:
    """``app`` started, and ``quietly serve``'s HTTP protocol for it on a transport that
    keeps what is written: fed raw requests, no sockets (``bench.create_cpu`` too)."""
    await _start(app)
    config = uvicorn.Config(app, http=decide_protocol(app), access_log=False)
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Mon, 23 Nov 2026 20:00:00 GMT"),
                             (b"server", b"uvicorn")]
    protocol = config.http_protocol_class(config=config, server_state=state, app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def _time_protocol(app: FastAPI, key: str, n: int) -> float:
    """Per-request cost of ``GET /api/v1/decide`` through ``DecideHttpProtocol``."""
    protocol, transport = await raw_protocol(app)
    request = (b"GET /api/v1/decide?target=service:svc-5 HTTP/1.1\r\nHost: bench\r\n"
               b"Authorization: Bearer " + key.encode() + b"\r\n\r\n")
    for _ in range(20):
        protocol.data_received(request)
    if not transport.written[-1].startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET answered {transport.written[-1][:200]!r}")
    best = float("inf")
    for _ in range(3):
        transport.written.clear()
        begun = _clock()
        for _ in range(n):
            protocol.data_received(request)
        best = min(best, (_clock() - begun) / n)
    if len(transport.written) != n:
        raise RuntimeError("the protocol did not answer every request")
    return best


async def _start(app: FastAPI) -> None:
    """Run the app's lifespan startup (the index loads) and return once it has started."""
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


def run(windows: int = 1000, *, cpu: bool = False) -> dict[str, Any]:
    global _clock
    _clock = time.thread_time if cpu else time.perf_counter
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
    protocol = uvloop.run(_time_protocol(_variant("shortcut", settings, seeded.db), seeded.key,
                                         5000))
    rows.append(("protocol: GET /decide (HTTP parsing included)", protocol * 1e6,
                 "µs per request"))
    seeded.db.dispose()
    return print_figures("0. route implementations, app only (no sockets)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cpu", action="store_true",
                        help="time the serving thread's CPU (time.thread_time), not the wall "
                             "clock: for comparing builds on a loaded machine")
    run(cpu=parser.parse_args().cpu)


if __name__ == "__main__":
    main()
