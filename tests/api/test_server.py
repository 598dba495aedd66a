"""The decision fast path inside the HTTP protocol (``api/server.py``), over a real socket.

A server runs the app with ``DecideHttpProtocol`` while uvicorn's ASGI side is a wrapper
that counts the requests reaching the application: requests answered in the protocol never
reach it, every other one does. Raw sockets drive keep-alive, pipelining and the cases the
fast path must hand to the application.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import httpx2 as httpx
import pytest
import uvicorn
import uvloop
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from quietly.api.app import create_app
from quietly.api.native.fastpath import parse_decide_query
from quietly.api.server import BusyPoll, DecideHttpProtocol, decide_protocol, server_config
from quietly.core.errors import ValidationError
from quietly.core.records import Role
from quietly.settings import Settings
from quietly.storage.db import Database
from quietly.storage.loopwriter import LoopWriter
from tests.api.helpers import window_body
from tests.conftest import Tenant, make_tenant, serving
from tests.web.sso_support import quietly_server
from tests.worker.processes import free_port


@dataclass
class _Counted:
    """The ASGI app as uvicorn sees it: counts the decide requests that reach it."""

    app: object
    paths: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)  # type: ignore[operator]

    def reached(self) -> int:
        return self.paths.count("/api/v1/decide")


@dataclass
class Running:
    port: int
    counted: _Counted
    tenant: Tenant


def _running(settings: Settings, db: Database, **options: Any) -> Iterator[Running]:
    """The app served with the fast path, its requests counted; ``options`` as uvicorn's."""
    app = create_app(settings, database=db)
    counted = _Counted(app)
    port = free_port()
    config = uvicorn.Config(counted, host="127.0.0.1", port=port, http=decide_protocol(app),
                            log_level="warning", lifespan="on", access_log=False, **options)
    with serving(config):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}", timezone="Europe/Berlin")
        yield Running(port, counted, tenant)
        tenant.close()


@pytest.fixture(scope="module")
def running(settings: Settings, db: Database) -> Iterator[Running]:
    yield from _running(settings, db)


def _request(path: str, key: str | None, *, method: str = "GET", version: str = "1.1",
             extra: str = "", body: bytes = b"") -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return (f"{method} {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n{auth}{extra}\r\n"
            .encode() + body)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class _Conn:
    """One keep-alive connection reading HTTP/1.1 responses with a content-length."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def read(self, *, head: bool = False) -> Reply:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), "connection closed before a response"
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed inside a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Reply(int(lines[0].split()[1]), headers, body)

    def closed_by_server(self) -> bool:
        self.sock.settimeout(5)
        return self.buffer == b"" and self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(running: Running) -> Iterator[_Conn]:
    made = _Conn(running.port)
    yield made
    made.close()


def _window(running: Running, target: str) -> int:
    start = datetime.now(UTC) - timedelta(minutes=5)
    body = window_body("fast", [target], {"kind": "once", "start": start.isoformat(),
                                          "end": (start + timedelta(hours=1)).isoformat()})
    response = running.tenant.editor.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _one_shot(running: Running, raw: bytes, *, head: bool = False) -> Reply:
    """``raw`` sent on a connection of its own; the one reply."""
    conn = _Conn(running.port)
    try:
        conn.send(raw)
        return conn.read(head=head)
    finally:
        conn.close()


def _asgi_answer(running: Running, query: str) -> tuple[int, object]:
    """The same question answered by the application: over HTTP/1.0, which the fast path
    leaves to it."""
    reply = _one_shot(running, _request(f"/api/v1/decide?{query}",
                                        running.tenant.keys[Role.VIEWER], version="1.0"))
    return reply.status, reply.json()


def test_answers_in_the_protocol_exactly_as_the_application(running: Running,
                                                           conn: _Conn) -> None:
    window = _window(running, "service:fast-a")
    key = running.tenant.keys[Role.VIEWER]
    queries = [
        urlencode({"target": "service:fast-a", "at": "2031-01-01T00:00:00+01:00"}),
        urlencode({"target": "service:fast-a", "label.team": "db",
                   "at": datetime.now(UTC).isoformat()}),
        "target=service:nothing&at=2030-06-01T12:00:00Z",
        "target=service%3Afast-a&label.env=prod+east&at=2030-06-01T12%3A00%3A00Z",
        "at=2030-06-01T12:00:00Z",
    ]
    before = running.counted.reached()
    fast = []
    for query in queries:
        conn.send(_request(f"/api/v1/decide?{query}", key))
        reply = conn.read()
        assert (reply.status, reply.headers["content-type"]) == (200, "application/json")
        assert {"date", "server", "content-length"} <= set(reply.headers)
        fast.append((reply.status, reply.json()))
    assert running.counted.reached() == before  # none of them reached the application
    assert fast == [_asgi_answer(running, q) for q in queries]
    assert running.counted.reached() == before + len(queries)  # the HTTP/1.0 twins did
    assert [body["verdict"] for _, body in fast] == [  # type: ignore[index]
        "deliver", "mute", "deliver", "deliver", "deliver"]
    assert fast[1][1]["windows"] == [window]  # type: ignore[index]


def test_a_decision_without_at_is_now(running: Running, conn: _Conn) -> None:
    _window(running, "service:fast-now")
    conn.send(_request("/api/v1/decide?target=service:fast-now",
                       running.tenant.keys[Role.VIEWER]))
    body = conn.read().json()
    at = datetime.fromisoformat(body["at"])  # type: ignore[index]
    assert body["verdict"] == "mute"  # type: ignore[index]
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60


def test_pipelined_requests_are_answered_in_order(running: Running, conn: _Conn) -> None:
    """Fast, slow (a window list through the application) and fast again, in one write."""
    key = running.tenant.keys[Role.VIEWER]
    conn.send(_request("/api/v1/decide?target=t:a&at=2030-01-01T00:00:00Z", key)
              + _request("/api/v1/windows?limit=1", key)
              + _request("/api/v1/decide?target=t:b&at=2030-01-02T00:00:00Z", key)
              + _request("/api/v1/decide?target=t:c&at=2030-01-03T00:00:00Z", key))
    replies = [conn.read() for _ in range(4)]
    assert [r.status for r in replies] == [200] * 4
    assert [r.json()["at"] for r in replies if "at" in r.json()] == [  # type: ignore[operator, index]
        "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z", "2030-01-03T00:00:00Z"]
    assert "windows" in replies[1].json()  # type: ignore[operator]


def test_errors_go_to_the_application_and_keep_their_shape(running: Running,
                                                           conn: _Conn) -> None:
    key = running.tenant.keys[Role.VIEWER]
    cases = {
        "no key": (_request("/api/v1/decide?target=t:a", None), 401, None),
        "unknown key": (_request("/api/v1/decide?target=t:a", "qly_unknown"), 401, None),
        "bad instant": (_request("/api/v1/decide?at=soon", key), 422, "at"),
        "nameless label": (_request("/api/v1/decide?label.=x", key), 422, "label"),
        "NUL": (_request("/api/v1/decide?target=t:a%00b", key), 422, "query"),
        "typo": (_request("/api/v1/decide?targt=t:a", key), 422, "targt"),
        "no kind": (_request("/api/v1/decide?target=checkout", key), 422, "target"),
    }
    before = running.counted.reached()
    got = {}
    for name, (raw, _, _) in cases.items():
        conn.send(raw)
        reply = conn.read()
        problem = reply.json()
        got[name] = (reply.status, reply.headers["content-type"],
                     problem.get("field"))  # type: ignore[attr-defined]
    assert got == {name: (status, "application/problem+json", fld)
                   for name, (_, status, fld) in cases.items()}
    assert running.counted.reached() == before + len(cases)
    conn.send(_request("/api/v1/decide?target=t:a&at=2030-01-01T00:00:00Z", key))
    assert conn.read().status == 200  # the connection stays usable


def test_each_request_is_answered_for_its_own_key(running: Running, conn: _Conn) -> None:
    """The protocol reads the key of a connection once while it stays the same: a request
    with another key (or none) on the same connection is still judged by its own."""
    key = running.tenant.keys[Role.VIEWER]
    path = "/api/v1/decide?target=t:a&at=2030-01-01T00:00:00Z"
    keys = [key, "qly_unknown", key, None, key, f"{key} ", "qly_unknown"]
    before = running.counted.reached()
    statuses = []
    for sent in keys:
        conn.send(_request(path, sent))
        statuses.append(conn.read().status)
    assert (statuses, running.counted.reached() - before) == (
        [200, 401, 200, 401, 200, 200, 401], 3)


def test_requests_it_leaves_to_the_application(running: Running) -> None:
    key = running.tenant.keys[Role.VIEWER]
    path = "/api/v1/decide?target=t:a&at=2030-01-01T00:00:00Z"
    cases = {
        "HTTP/1.0": _request(path, key, version="1.0"),
        "Connection: close": _request(path, key, extra="Connection: close\r\n"),
        "a body": _request(path, key, extra="Content-Length: 2\r\n", body=b"{}"),
        "HEAD": _request(path, key, method="HEAD"),
        "absolute form": _request(f"http://127.0.0.1{path}", key),
    }
    before = running.counted.reached()
    statuses = {name: _one_shot(running, raw, head=name == "HEAD").status
                for name, raw in cases.items()}
    assert statuses == {"HTTP/1.0": 200, "Connection: close": 200, "a body": 200,
                        "HEAD": 200, "absolute form": 200}
    assert running.counted.reached() == before + len(cases)


def test_connection_close_is_honoured(running: Running, conn: _Conn) -> None:
    conn.send(_request("/api/v1/decide?target=t:a", running.tenant.keys[Role.VIEWER],
                       extra="Connection: close\r\n"))
    assert conn.read().status == 200
    assert conn.closed_by_server()


def test_other_paths_are_untouched(running: Running) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{running.port}",
                      headers={"Authorization":
                               f"Bearer {running.tenant.keys[Role.VIEWER]}"}) as client:
        assert client.get("/api/v1/decidex").status_code == 404
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.post("/api/v1/windows/decide").status_code in (404, 405)


@pytest.fixture(scope="module")
def short_keep_alive(settings: Settings, db: Database) -> Iterator[Running]:
    """A server closing connections idle for 0.5 s (``--timeout-keep-alive``)."""
    yield from _running(settings, db, timeout_keep_alive=0.5)


def _idle_seconds_until_closed(conn: _Conn) -> float:
    started = time.monotonic()
    assert conn.closed_by_server()
    return time.monotonic() - started


@pytest.mark.parametrize("asgi", [False, True], ids=["answered here", "by the application"])
def test_keep_alive_timeout_closes_an_idle_connection(short_keep_alive: Running,
                                                      asgi: bool) -> None:
    key = short_keep_alive.tenant.keys[Role.VIEWER]
    conn = _Conn(short_keep_alive.port)
    try:
        before = short_keep_alive.counted.reached()
        # An unknown key is answered by the application (401), a known one here.
        conn.send(_request("/api/v1/decide?target=t:a", "qly_unknown" if asgi else key))
        assert conn.read().status == (401 if asgi else 200)
        assert short_keep_alive.counted.reached() == before + asgi
        assert 0.3 < _idle_seconds_until_closed(conn) < 4
    finally:
        conn.close()


def test_keep_alive_timeout_counts_from_the_last_answer(short_keep_alive: Running) -> None:
    """Requests 0.2 s apart for 1.5 s keep one connection open past the 0.5 s timeout,
    whichever path answers them; then it closes 0.5 s after the last answer."""
    key = short_keep_alive.tenant.keys[Role.VIEWER]
    conn = _Conn(short_keep_alive.port)
    try:
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 1.5:
            unknown = sent % 3 == 2  # every third one through the application
            conn.send(_request("/api/v1/decide?target=t:a", "qly_unknown" if unknown else key))
            assert conn.read().status == (401 if unknown else 200)
            sent += 1
            time.sleep(0.2)
        assert sent >= 6
        assert 0.1 < _idle_seconds_until_closed(conn) < 4
    finally:
        conn.close()


def test_keep_alive_timeout_spares_a_request_under_way(short_keep_alive: Running) -> None:
    """As uvicorn does: once a request's first bytes came, the idle timeout no longer runs."""
    key = short_keep_alive.tenant.keys[Role.VIEWER]
    conn = _Conn(short_keep_alive.port)
    try:
        conn.send(_request("/api/v1/decide?target=t:a", key))
        assert conn.read().status == 200
        raw = _request("/api/v1/decide?target=t:b&at=2030-01-01T00:00:00Z", key)
        conn.send(raw[:20])
        time.sleep(1.2)  # past the timeout, counted from the answer or from these bytes
        conn.send(raw[20:])
        assert conn.read().json()["at"] == "2030-01-01T00:00:00Z"  # type: ignore[index]
    finally:
        conn.close()


def _post(key: str | None, body: bytes, *, version: str = "1.1", extra: str = "",
          path: str = "/api/v1/decide") -> bytes:
    return _request(path, key, method="POST", version=version, body=body,
                    extra=f"Content-Type: application/json\r\nContent-Length: {len(body)}"
                          f"\r\n{extra}")


def _batch(count: int, target: str) -> bytes:
    alerts = [{"targets": [target if i % 3 == 0 else f"service:other-{i}"],
               "labels": {"env": "prod", "i": str(i)}} for i in range(count)]
    return json.dumps({"alerts": alerts, "at": datetime.now(UTC).isoformat()}).encode()


def test_batches_are_answered_in_the_protocol_exactly_as_the_application(
        running: Running, conn: _Conn) -> None:
    window = _window(running, "service:fast-batch")
    key = running.tenant.keys[Role.VIEWER]
    small = _batch(5, "service:fast-batch")
    large = _batch(4000, "service:fast-batch")  # ~300 KB: read over many socket reads
    assert len(large) > 256 * 1024
    before = running.counted.reached()
    fast = []
    for body in (small, large):
        conn.send(_post(key, body))
        reply = conn.read()
        assert (reply.status, reply.headers["content-type"]) == (200, "application/json")
        fast.append(reply.json())
    assert running.counted.reached() == before  # answered without the application
    twins = [_one_shot(running, _post(key, body, version="1.0")).json()
             for body in (small, large)]
    assert running.counted.reached() == before + 2
    assert fast == twins
    decisions = fast[1]["decisions"]  # type: ignore[index]
    assert len(decisions) == 4000
    assert [d["verdict"] for d in decisions[:3]] == ["mute", "deliver", "deliver"]
    assert decisions[0]["windows"] == [window]


def test_a_batch_sent_in_pieces_and_pipelined_behind_another(running: Running,
                                                             conn: _Conn) -> None:
    key = running.tenant.keys[Role.VIEWER]
    body = json.dumps({"alerts": [{"targets": ["service:a"]}, {}],
                       "at": "2030-01-01T00:00:00Z"}).encode()
    raw = _post(key, body)
    for i in range(0, len(raw), 7):  # headers and body cut anywhere
        conn.send(raw[i:i + 7])
    first = conn.read()
    conn.send(_post(key, body) + _request("/api/v1/decide?target=t:a&at=2030-01-02T00:00:00Z",
                                          key) + _post(key, body))
    replies = [first] + [conn.read() for _ in range(3)]
    assert [r.status for r in replies] == [200] * 4
    assert [r.json()["at"] for r in replies] == [  # type: ignore[index]
        "2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z",
        "2030-01-01T00:00:00Z"]
    assert replies[3].json()["decisions"] == [  # type: ignore[index]
        {"verdict": "deliver", "windows": []}] * 2


def test_batch_errors_go_to_the_application_and_keep_their_shape(running: Running,
                                                                 conn: _Conn) -> None:
    key = running.tenant.keys[Role.VIEWER]
    cases = {
        "no key": (_post(None, b'{"alerts":[]}'), 401, None),
        "not JSON": (_post(key, b'{"alerts":['), 400, None),
        "extra field": (_post(key, b'{"alerts":[],"when":1}'), 422, "when"),
        "bad labels": (_post(key, b'{"alerts":[{},{"labels":{"a":1}}]}'), 422,
                       "alerts[1].labels"),
        "bad at": (_post(key, b'{"alerts":[],"at":"soon"}'), 422, "at"),
        "escaped NUL": (_post(key, b'{"alerts":[{"labels":{"a":"x\\u0000"}}]}'), 422,
                        "body"),
        "raw NUL": (_post(key, b'{"alerts":[{"labels":{"a":"x\x00"}}]}'), 422, "body"),
    }
    before = running.counted.reached()
    got = {}
    for name, (raw, _, _) in cases.items():
        conn.send(raw)
        reply = conn.read()
        got[name] = (reply.status, reply.headers["content-type"],
                     reply.json().get("field"))  # type: ignore[attr-defined]
    assert got == {name: (status, "application/problem+json", fld)
                   for name, (_, status, fld) in cases.items()}
    assert running.counted.reached() == before + len(cases)
    conn.send(_post(key, b'{"alerts":[{}]}'))
    assert conn.read().json()["decisions"] == [  # type: ignore[index]
        {"verdict": "deliver", "windows": []}]


def test_batches_it_leaves_to_the_application(running: Running) -> None:
    key = running.tenant.keys[Role.VIEWER]
    body = b'{"alerts":[{"targets":["service:a"]}],"at":"2030-01-01T00:00:00Z"}'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    cases = {
        "HTTP/1.0": _post(key, body, version="1.0"),
        "chunked": _request("/api/v1/decide", key, method="POST", body=chunked,
                            extra="Transfer-Encoding: chunked\r\n"),
        "a query string": _post(key, body, path="/api/v1/decide?x=1"),
        "Connection: close": _post(key, body, extra="Connection: close\r\n"),
    }
    before = running.counted.reached()
    answers = {}
    for name, raw in cases.items():
        reply = _one_shot(running, raw)
        answers[name] = (reply.status, reply.json())
    expected = (200, {"at": "2030-01-01T00:00:00Z", "stale": False,
                      "decisions": [{"verdict": "deliver", "windows": []}]})
    assert answers == dict.fromkeys(cases, expected)
    assert running.counted.reached() == before + len(cases)


def test_expect_continue_is_left_to_the_application(running: Running, conn: _Conn) -> None:
    """curl sends ``Expect: 100-continue`` before bodies over 1 KiB: the application answers
    the interim response, then the request."""
    key = running.tenant.keys[Role.VIEWER]
    body = _batch(50, "service:none")
    before = running.counted.reached()
    conn.send(_request("/api/v1/decide", key, method="POST",
                       extra=f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n"))
    assert conn.read().status == 100
    conn.send(body)
    reply = conn.read()
    assert reply.status == 200
    assert len(reply.json()["decisions"]) == 50  # type: ignore[index]
    assert running.counted.reached() == before + 1


@given(st.lists(st.sampled_from(["target", "label.a", "label.b", "at", "x", "label.%41",
                                  "tar%67et", "label+c", "targets", "xtarget", "label.",
                                  "labela", "at.", "label.a.b", "xlabel.a", "xat", ""]),
                max_size=6),
       # Values with escapes ("%", "+") take the general reading, the others the regexes.
       st.sampled_from(["ab=%+2F0Cé: .", "ab=.:é-_"]).flatmap(
           lambda alphabet: st.lists(st.none() | st.text(alphabet=alphabet, max_size=12),
                                     min_size=6, max_size=6)),
       st.sampled_from(["&", "&&"]))
@hypothesis_settings(max_examples=500)
def test_query_is_read_as_parse_qsl_reads_it(names: list[str], values: list[str | None],
                                             joiner: str) -> None:
    # A value of None: the part has no "=" at all.
    query = joiner.join(n if v is None else f"{n}={v}"
                        for n, v in zip(names, values, strict=False))
    pairs = parse_qsl(query, keep_blank_values=True)
    raw = query.encode("latin-1")
    bad = [k for k, _ in pairs if k == "label."
           or not (k in ("", "target", "at") or k.startswith("label."))]
    if bad:  # a label without a name, or an unknown parameter (typos such as targt): refused
        with pytest.raises(ValidationError, match=r"needs a name|unknown parameter"):
            parse_decide_query(raw)
        return
    at = [v for k, v in pairs if k == "at"]
    assert parse_decide_query(raw) == (
        [v for k, v in pairs if k == "target"],
        {k[6:]: v for k, v in pairs if k.startswith("label.")}, at[-1] if at else None)


T = TypeVar("T")


def _on_a_fresh_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``scenario`` on a new uvloop in a thread of its own: the main thread may hold
    another library's loop (Playwright's, when browser tests ran first in this process),
    whose callbacks would share the iterations these tests count."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(uvloop.run(scenario())))
    thread.start()
    thread.join(timeout=60)
    assert results, "the scenario did not finish"
    return results[0]


class _CountingPoll(BusyPoll):
    ticks = 0

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.ticks += 1
        super()._tick(loop)


def test_busy_poll_spins_one_chain_and_stops() -> None:
    async def scenario() -> tuple[bool, int, int, bool, int]:
        loop = asyncio.get_running_loop()
        poll = _CountingPoll(1.0)
        for _ in range(3):  # three answers in a row keep one chain of callbacks going
            poll.after_answer(loop)
        armed = poll.spinning
        for _ in range(20):
            await asyncio.sleep(0)
        in_20_iterations = poll.ticks
        while poll.spinning:  # it stops by itself, 1 s after the last answer
            await asyncio.sleep(0.01)
        stopped_at = poll.ticks
        await asyncio.sleep(0.05)
        return armed, in_20_iterations, stopped_at, poll.spinning, poll.ticks - stopped_at

    armed, in_20, total, still, after = _on_a_fresh_loop(scenario)
    assert armed
    assert 18 <= in_20 <= 21  # one tick per loop iteration, not three
    assert total > in_20  # it polled on while the loop had nothing else to do
    assert (still, after) == (False, 0)  # then the loop sleeps again


def test_busy_poll_spins_only_while_answers_come_fast() -> None:
    """A lone answer, or one after a pause of more than ten windows, starts no spin; an
    answer within that of the one before does."""
    async def scenario() -> list[bool]:
        loop = asyncio.get_running_loop()
        poll = BusyPoll(0.002)  # spins after answers less than 20 ms apart
        seen = []
        poll.after_answer(loop)  # the first answer in a while
        seen.append(poll.spinning)
        await asyncio.sleep(0.1)
        poll.after_answer(loop)  # 100 ms later: still a trickle
        seen.append(poll.spinning)
        poll.after_answer(loop)  # right after: answers are coming in fast
        seen.append(poll.spinning)
        while poll.spinning:
            await asyncio.sleep(0.001)
        return seen

    assert _on_a_fresh_loop(scenario) == [False, False, True]


def test_serve_with_busy_poll_answers_and_spins(settings: Settings, db: Database) -> None:
    app = create_app(settings, database=db)
    port = free_port()
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning",
                           busy_poll_us=200_000)
    protocol = config.http
    assert isinstance(protocol, type)
    assert issubclass(protocol, DecideHttpProtocol)
    poll = protocol.busy_poll
    assert poll is not None
    assert not poll.spinning
    with serving(config):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        conn = _Conn(port)
        try:
            for day in (1, 2):
                conn.send(_request(f"/api/v1/decide?target=t:a&at=2030-01-0{day}T00:00:00Z",
                                   tenant.keys[Role.VIEWER]))
                assert conn.read().json()["at"] == f"2030-01-0{day}T00:00:00Z"  # type: ignore[index]
            # The server thread arms it right after writing the answer just read.
            deadline = time.monotonic() + 5
            while not poll.spinning and time.monotonic() < deadline:
                time.sleep(0.001)
            assert poll.spinning
        finally:
            conn.close()
            tenant.close()
    assert server_config(app).http.busy_poll is None  # type: ignore[union-attr]


def test_behind_a_trusted_proxy_the_budget_is_the_forwarded_clients(
        settings: Settings, db: Database) -> None:
    """A client (as the trusted proxy names it) that used up its failed authentications is
    throttled in the protocol as in the application: a key not seen before is not looked up
    for it (429), while another client behind the same proxy is answered."""
    with quietly_server(settings, db, trusted_proxies="127.0.0.1",
                        auth_failures_per_minute=2) as url:
        fresh = make_tenant(db, url).keys[Role.VIEWER]  # never used: not in the key cache
        port = int(url.rsplit(":", 1)[1])
        path = "/api/v1/decide?target=t:a&at=2030-01-01T00:00:00Z"
        conn = _Conn(port)
        statuses = []
        for client, key in [("203.0.113.50", "qly_unknown"), ("203.0.113.50", "qly_unknown"),
                            ("203.0.113.50", fresh), ("203.0.113.51", fresh),
                            ("203.0.113.50", fresh)]:
            conn.send(_request(path, key, extra=f"X-Forwarded-For: {client}\r\n"))
            statuses.append(conn.read().status)
        conn.close()
    assert statuses == [401, 429, 429, 200, 200]  # once seen valid, a key is never throttled


# Plain creates (issue #19): POST /api/v1/windows taken in the protocol, written by the loop
# writer, answered once committed; everything else about a create left to the application.

def _create(key: str | None, name: str, *, extra: str = "", version: str = "1.1") -> bytes:
    start = datetime.now(UTC) + timedelta(hours=1)
    body = json.dumps(window_body(name, [f"service:{name}"], {
        "kind": "once", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat()})).encode()
    return _post(key, body, version=version, extra=extra, path="/api/v1/windows")


def test_a_create_is_taken_in_the_protocol_and_answered_as_the_application(
        running: Running, conn: _Conn, db: Database) -> None:
    """On SQLite (the loop writer's database); on PostgreSQL the application answers."""
    key = running.tenant.keys[Role.EDITOR]
    before = running.counted.paths.count("/api/v1/windows")
    conn.send(_create(key, "proto-a"))
    fast = conn.read()
    taken = LoopWriter.usable(db)
    assert running.counted.paths.count("/api/v1/windows") == before + (not taken)
    shown = running.tenant.viewer.get(f"/api/v1/windows/{fast.json()['id']}")  # type: ignore[index]
    assert (fast.status, fast.headers["content-type"], fast.json()) == (
        201, "application/json", shown.json())
    assert "x-content-type-options" in fast.headers  # api.exposure's headers, as on every answer
    slow = _one_shot(running, _create(key, "proto-b", version="1.0"))  # the application's
    assert running.counted.paths.count("/api/v1/windows") == before + (not taken) + 1
    assert (slow.status, sorted(slow.json())) == (201, sorted(fast.json()))  # type: ignore[arg-type]


def test_requests_pipelined_behind_a_create_are_answered_in_order(running: Running,
                                                                  conn: _Conn) -> None:
    editor, viewer = running.tenant.keys[Role.EDITOR], running.tenant.keys[Role.VIEWER]
    conn.send(_create(editor, "pipe-a")
              + _request("/api/v1/decide?target=service:pipe-a", viewer)
              + _create(editor, "pipe-b")
              + _request("/api/v1/windows?limit=1", viewer))
    replies = [conn.read() for _ in range(4)]
    assert [r.status for r in replies] == [201, 200, 201, 200]
    assert [replies[0].json()["name"], replies[2].json()["name"]] == [  # type: ignore[index]
        "pipe-a", "pipe-b"]
    assert "verdict" in replies[1].json()  # type: ignore[operator]


def test_creates_it_leaves_to_the_application(running: Running) -> None:
    """An Idempotency-Key, forwarded headers, a NUL, a viewer's key, a body that is not a
    window: the application answers, with its shapes."""
    editor, viewer = running.tenant.keys[Role.EDITOR], running.tenant.keys[Role.VIEWER]
    before = running.counted.paths.count("/api/v1/windows")
    replies = [_one_shot(running, raw) for raw in (
        _create(editor, "left-a", extra="Idempotency-Key: k-left-a\r\n"),
        _create(editor, "left-b", extra="X-Forwarded-For: 203.0.113.9\r\n"),
        _post(editor, b'{"name": "a\\u0000b"}', path="/api/v1/windows"),
        _create(viewer, "left-c"),
        _post(editor, b'{"name": "x"}', path="/api/v1/windows"),
    )]
    assert running.counted.paths.count("/api/v1/windows") == before + 5
    assert [r.status for r in replies] == [201, 201, 422, 403, 422]
    assert [r.headers["content-type"] for r in replies[2:]] == ["application/problem+json"] * 3


def test_a_create_taken_in_the_protocol_is_logged(settings: Settings, db: Database,
                                                  tmp_path: Any) -> None:
    log = tmp_path / "access.log"
    app = create_app(settings.model_copy(update={"access_log": True,
                                                 "access_log_file": str(log)}), database=db)
    port = free_port()
    with serving(server_config(app, host="127.0.0.1", port=port, log_level="warning",
                               lifespan="on")):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        conn = _Conn(port)
        conn.send(_create(tenant.keys[Role.EDITOR], "logged", extra="User-Agent: probe/2\r\n"))
        assert conn.read().status == 201
        conn.close()
        tenant.close()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [e for e in lines if e.get("user_agent") == "probe/2"]
    assert [(e["method"], e["path"], e["route"], e["status"], e["client"]) for e in mine] == [
        ("POST", "/api/v1/windows", "/api/v1/windows", 201, "127.0.0.1")]


def test_a_create_whose_write_is_refused_is_answered_by_the_application(
        settings: Settings, db: Database) -> None:
    """Past its write deadline the loop writer refuses it (nothing written); the application
    then answers the request anew, here with its own deadline's 503."""
    app = create_app(settings.model_copy(update={"write_timeout_seconds": 1e-6}), database=db)
    port = free_port()
    with serving(server_config(app, host="127.0.0.1", port=port, log_level="warning",
                               lifespan="on")):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        conn = _Conn(port)
        conn.send(_create(tenant.keys[Role.EDITOR], "refused"))
        reply = conn.read()
        conn.close()
        listed = tenant.viewer.get("/api/v1/windows").json()["windows"]
        tenant.close()
    assert (reply.status, reply.headers["content-type"], listed) == (
        503, "application/problem+json", [])
