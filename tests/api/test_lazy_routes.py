"""Routers imported on first use (``api.lazy_routes``, issue 19: start-up).

A cold app — its routers not imported yet, in a process of its own — must answer every
request exactly as the warmed-up test server does: the routes, their order, 404 and 405 with
``Allow``, errors in each compatibility API's own shape, and the OpenAPI document.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import httpx2 as httpx

from quietly.api.app import create_app
from quietly.api.lazy_routes import LazyRouter, materialize_all
from quietly.settings import Settings
from tests.worker.processes import free_port

# (method, path, body size): requests answered by routing and error rendering alone (the
# cold app runs without its lifespan: no store behind it).
REQUESTS = [
    ("GET", "/compat/pagertree/api/v4/nothing-here", None),
    ("GET", "/compat/ionhour/api/v1/nothing-here", None),
    ("GET", "/compat/incidentio/v2/nothing-here", None),
    ("GET", "/compat/uptrends/v4/nothing-here", None),
    ("GET", "/compat/ohdear/api/nothing-here", None),
    ("PUT", "/api/v1/windows/batch", None),
    ("DELETE", "/api/v1/windows", None),
    ("PATCH", "/api/v1/decide", None),
    ("GET", "/api/v1/nothing-here", None),
    ("POST", "/compat/pagertree/api/v4/maintenance_windows", 3_000_000),
    ("POST", "/compat/ohdear/api/monitors/1/start-maintenance", 3_000_000),
    ("GET", "/docs", None),  # the UI's other pages need the store
    ("GET", "/docs/", None),
    ("POST", "/docs", None),
    ("GET", "/healthz", None),
    ("GET", "/nothing-here", None),
]

_COLD = """
import json, sys, threading, time
import httpx2 as httpx, uvicorn
from quietly.api.app import create_app
from quietly.settings import Settings

port, url, requests = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
app = create_app(Settings(database_url=url, webhook_allow_private=True, cookie_secure=False,
                          run_worker=False, access_log=False,  # as tests/conftest.py's
                          auth_failures_per_minute=100_000))
loaded = sorted(m for m in sys.modules if m.startswith(("quietly.compat.", "quietly.api.native."))
                and m.rsplit(".", 1)[-1] in ("routes", "admin", "channels", "syncs", "apply")
                or m in ("quietly.web.pages", "quietly.web.editor", "quietly.web.status"))
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                       log_level="warning"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.02)
with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
    answers = [[r.status_code, r.headers.get("allow"), r.headers.get("content-type"), r.text]
               for r in (client.request(m, p, content=b"x" * (n or 0) if n else None)
                         for m, p, n in requests)]
server.should_exit = True
print(json.dumps({"loaded": loaded, "answers": answers}))
"""


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _same_ids(answers: list[list[Any]]) -> list[list[Any]]:
    """Request ids (incident.io's error bodies) differ from request to request."""
    return [[*answer[:3], _UUID.sub("<id>", answer[3])] for answer in answers]


def _answers(base_url: str) -> list[list[Any]]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return [[r.status_code, r.headers.get("allow"), r.headers.get("content-type"), r.text]
                for r in (client.request(m, p, content=b"x" * n if n else None)
                         for m, p, n in REQUESTS)]


def test_a_cold_app_answers_as_the_warm_server_does(server: str, settings: Settings) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _COLD, str(free_port()), settings.effective_database_url,
         json.dumps(REQUESTS)], capture_output=True, text=True, timeout=180, check=True,
        env={**os.environ, "PYTHONTZPATH": ""})
    cold = json.loads(out.stdout.splitlines()[-1])
    assert (cold["loaded"], _same_ids(cold["answers"])) == ([], _same_ids(_answers(server)))


def test_the_openapi_document_is_the_warm_servers(server: str, settings: Settings) -> None:
    app = create_app(settings)
    lazy_before = sum(isinstance(r, LazyRouter) for r in app.router.routes)
    document = app.openapi()
    lazy_after = sum(isinstance(r, LazyRouter) for r in app.router.routes)
    with httpx.Client(base_url=server, timeout=30) as client:
        served = client.get("/openapi.json").json()
    assert (lazy_before > 0, lazy_after, document) == (True, 0, served)


def test_every_route_of_a_lazy_router_lies_under_its_prefix(settings: Settings) -> None:
    """A request outside a stand-in's prefix never imports its router: so none of its
    routes may lie outside."""
    app = create_app(settings)
    stand_ins = {id(r): r for r in app.router.routes if isinstance(r, LazyRouter)}
    materialize_all(app)
    outside = sorted(
        f"{r.module}: {path}" for r in stand_ins.values()
        for path in (getattr(route, "path", "") for route in
                     __import__(r.module, fromlist=["router"]).router.routes)
        if not r.covers(path.split("{", 1)[0]) and not r.covers(path))
    assert outside == []
