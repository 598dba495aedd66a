"""``DecideShortcut`` answers a decision exactly as the whole middleware stack and the router do.

One app, served by plain uvicorn (as any ASGI server runs it, and as ``quietly serve`` runs
it when decisions are logged), with every setting that changes what a decision's answer
carries: an https public URL (HSTS), a trusted proxy, the access log with decisions, a small
batch cap and a small failed-authentication budget. A middleware put directly inside the
shortcut notes the decide requests that pass it, so each test knows which way a request
went. The same request is sent twice: once as the shortcut answers it, once in a form it
leaves to the stack (a ``GET`` carrying ``Content-Length: 0``, a chunked ``POST``), and the
two answers, metric samples and access-log lines must be equal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from quietly.api.app import create_app
from quietly.api.native.decide_shortcut import DecideShortcut
from quietly.core.records import Role
from quietly.metrics import REGISTRY
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.api.helpers import active_body, iso
from tests.conftest import Tenant, make_tenant, serving
from tests.worker.processes import free_port

PATH = "/api/v1/decide"
CAP = 4096


class _Passed:
    """Notes every decide request that the shortcut handed to the stack."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            self.seen.append(scope["method"])
        await self.app(scope, receive, send)


@dataclass
class Served:
    url: str
    log: Path
    tenant: Tenant
    passed: list[str] = field(default_factory=list)

    def exchange(self, method: str, client: str, **options: Any) -> tuple[httpx.Response, bool]:
        """The answer to one request from ``client`` (through the trusted proxy), and
        whether the shortcut answered it itself."""
        before = len(self.passed)
        headers = {"Authorization": f"Bearer {self.tenant.keys[Role.VIEWER]}",
                   "X-Forwarded-For": client, "User-Agent": "probe/1",
                   **options.pop("headers", {})}
        response = httpx.request(method, self.url + PATH, headers=headers, timeout=30,
                                 **options)
        return response, len(self.passed) == before


@pytest.fixture(scope="module")
def served(settings: Settings, db: Database, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("shortcut") / "access.log"
    changed = Settings(**{**settings.model_dump(), "public_url": "https://quietly.example.com",
                          "trusted_proxies": "127.0.0.1", "access_log": True,
                          "access_log_file": str(log), "access_log_decisions": True,
                          "max_decide_body_bytes": CAP, "auth_failures_per_minute": 4})
    app = create_app(changed, database=db)
    passed: list[str] = []
    assert app.user_middleware[0].cls is DecideShortcut  # the outermost of the app's own
    app.user_middleware.insert(1, Middleware(_Passed, seen=passed))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", access_log=False, proxy_headers=False)
    with serving(config):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        yield Served(f"http://127.0.0.1:{port}", log, tenant, passed)
        tenant.close()


def _window(served: Served, target: str) -> tuple[int, str]:
    """An active window on ``target``, and an instant inside it."""
    made = served.tenant.editor.post("/api/v1/windows", json=active_body(targets=[target]))
    assert made.status_code == 201
    return made.json()["id"], iso(datetime.now(UTC).replace(microsecond=0))


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "date"]
    return response.status_code, headers, response.content


def _latency_count(method: str, at_least: float = 0.0) -> float:
    """How many ``method`` decisions the latency metric counted as 200; waits a moment for
    ``at_least`` (it is observed once the answer went out)."""
    labels = {"method": method, "route": PATH, "status": "200"}
    for _ in range(200):
        count = REGISTRY.get_sample_value("quietly_request_duration_seconds_count", labels)
        if (count or 0.0) >= at_least:
            break
        time.sleep(0.02)
    return count or 0.0


def _log_lines(served: Served, client: str, count: int) -> list[dict[str, Any]]:
    """The access-log lines of ``client``'s decisions, without their time fields; the line
    is written once the answer went out, so give it a moment."""
    found: list[dict[str, Any]] = []
    for _ in range(200):
        found = [line for line in map(json.loads, served.log.read_text().splitlines())
                 if line["client"] == client]
        if len(found) >= count:
            break
        time.sleep(0.02)
    return [{k: v for k, v in line.items() if k not in ("ts", "ms")} for line in found]


def test_a_single_decision_is_the_same_both_ways(served: Served) -> None:
    window, at = _window(served, "service:shortcut-get")
    query = {"target": "service:shortcut-get", "label.env": "prod", "at": at}
    before = _latency_count("GET")
    fast, fast_shortcut = served.exchange("GET", "203.0.113.1", params=query)
    full, full_shortcut = served.exchange("GET", "203.0.113.1", params=query,
                                          headers={"Content-Length": "0"})
    assert (fast_shortcut, full_shortcut) == (True, False)
    assert _comparable(fast) == _comparable(full)
    assert (fast.status_code, fast.json()["windows"], fast.headers["strict-transport-security"]
            ) == (200, [window], "max-age=31536000; includeSubDomains")
    assert _latency_count("GET", before + 2) - before == 2
    first, second = _log_lines(served, "203.0.113.1", 2)
    assert first == second == {"event": "request", "method": "GET", "path": PATH,
                               "route": PATH, "status": 200, "client": "203.0.113.1",
                               "user_agent": "probe/1"}


def test_a_batch_is_the_same_both_ways(served: Served) -> None:
    window, at = _window(served, "service:shortcut-post")
    body = json.dumps({"at": at, "alerts": [{"targets": ["service:shortcut-post"]},
                                            {"labels": {"env": "prod"}}]}).encode()
    before = _latency_count("POST")
    fast, fast_shortcut = served.exchange("POST", "203.0.113.2", content=body)
    full, full_shortcut = served.exchange("POST", "203.0.113.2", content=iter([body]))
    assert (fast_shortcut, full_shortcut) == (True, False)  # the second one is chunked
    assert _comparable(fast) == _comparable(full)
    assert [d["windows"] for d in fast.json()["decisions"]] == [[window], []]
    assert _latency_count("POST", before + 2) - before == 2
    first, second = _log_lines(served, "203.0.113.2", 2)
    assert (first, second["method"], second["status"]) == (second, "POST", 200)


def test_failed_keys_are_counted_once_whichever_way(served: Served) -> None:
    """The fourth failure of a minute is throttled (429), whether the three before went
    past the shortcut or not: the stack counts each one once."""
    bad = {"Authorization": "Bearer qk_not_a_key"}
    query = {"target": "service:a"}
    answers = [served.exchange("GET", "203.0.113.3", params=query, headers=bad),
               served.exchange("GET", "203.0.113.3", params=query,
                               headers={**bad, "Content-Length": "0"}),
               served.exchange("POST", "203.0.113.3", json={"alerts": []}, headers=bad),
               served.exchange("POST", "203.0.113.3", content=iter([b'{"alerts":[]}']),
                               headers=bad),
               served.exchange("GET", "203.0.113.3", params=query, headers=bad)]
    assert [(r.status_code, shortcut) for r, shortcut in answers] == [
        (401, False), (401, False), (401, False), (429, False), (429, False)]
    assert _comparable(answers[0][0]) == _comparable(answers[1][0])
    other = served.exchange("GET", "203.0.113.4", params=query, headers=bad)[0]
    assert other.status_code == 401  # the budget is the forwarded client's, not the proxy's


LEFT_TO_THE_STACK = {
    "a NUL in the query": ("GET", {"params": {"target": "service:a\x00"}}, 422),
    "a NUL in the body": ("POST", {"content": b'{"alerts":[{"labels":{"a":"\\u0000"}}]}'},
                          422),
    "a NUL escaped \\U (no JSON)": (
        "POST", {"content": b'{"alerts":[{"labels":{"a":"\\U0000"}}]}'}, 422),
    "a body over the cap": ("POST", {"content": b" " * (CAP + 1)}, 413),
    "a chunked body over the cap": ("POST", {"content": iter([b" " * (CAP + 1)])}, 413),
    "a target without a kind": ("GET", {"params": {"target": "checkout"}}, 422),
    "HEAD": ("HEAD", {"params": {"target": "service:a"}}, 200),
}


@pytest.mark.parametrize("case", LEFT_TO_THE_STACK, ids=list(LEFT_TO_THE_STACK))
def test_what_the_shortcut_leaves_to_the_stack(served: Served, case: str) -> None:
    method, options, status = LEFT_TO_THE_STACK[case]
    response, shortcut = served.exchange(method, "203.0.113.5", **options)
    assert (response.status_code, shortcut,
            response.headers.get("x-content-type-options")) == (status, False, "nosniff")

