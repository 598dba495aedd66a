"""The access log: one JSON line per request, written when the response has been sent.

``{"ts": "2026-12-06T12:00:00.123456Z", "event": "request", "method": "GET", "path":
"/windows", "route": "/windows", "status": 200, "ms": 3.1, "client": "203.0.113.7",
"user_agent": "…"}``

``client`` is the address after ``api.proxies`` (the real client behind a trusted proxy).
Secrets in paths (calendar feed tokens) are replaced by ``…``; the query string is not
logged (it may carry them too). Decisions (``/api/v1/decide``) are left out unless
``QUIETLY_ACCESS_LOG_DECISIONS`` is on: they are the hot path, one per alert, and the
protocol-level fast path that answers most of them never reaches this middleware at all
(``api.server.server_config`` turns that fast path off when decisions are to be logged).
``DecideShortcut``, in front of this middleware, writes its answers' lines itself through
the same :class:`AccessLines`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from math import isfinite
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietly.api.middleware import route_template

__all__ = ["DECIDE_PATH", "AccessLines", "AccessLog", "open_stream"]

DECIDE_PATH = "/api/v1/decide"
_SECRET_PARAMS = ("token",)


def open_stream(path: str | None) -> TextIO:
    """stdout, or a file opened for appending (line-buffered, so each line lands whole)."""
    if not path or path == "-":
        return sys.stdout
    return open(path, "a", buffering=1, encoding="utf-8")  # open for the life of the app


class AccessLines:
    """Writes the lines, each whole, from any thread (sync endpoints run in threads)."""

    def __init__(self, stream: TextIO) -> None:
        self._lock = threading.Lock()
        # What structlog's pipeline (TimeStamper(fmt="iso", utc=True, key="ts"), then
        # JSONRenderer, then PrintLogger) wrote, without its per-line machinery, which cost
        # more than the rest of the line: the fields, "event", "ts", encoded by json as the
        # renderer encodes them, printed and flushed (tests/api/test_access_log_line.py holds
        # the two byte-equal). stdout is looked up at each line, as PrintLogger does.
        self._stream: TextIO | None = None if stream is sys.stdout else stream

    def write(self, scope: Scope, status: int, seconds: float, route: str | None,
              client: str | None) -> None:
        self.write_line(scope["method"], _redacted(scope), route, status, seconds, client,
                        scope["headers"])

    def write_line(self, method: str, path: str, route: str | None, status: int,
                   seconds: float, client: str | None,
                   headers: list[tuple[bytes, bytes]]) -> None:
        """One line; also for requests answered before the application (``api.server``'s
        creates), ``path`` already redacted."""
        ms = round(seconds * 1000, 2)
        agent = _header(headers, b"user-agent")[:200] or None
        ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        # The line structlog's JSON renderer wrote for these fields (its import was a tenth
        # of a second of every start, issue 19): ``json.dumps`` of them in this order, each
        # value written as it writes one (strings by its ASCII escaper, numbers by repr),
        # without building the dict and walking it.
        if type(status) is int and type(ms) is float and isfinite(ms):
            line = (f'{{"method": {_json_str(method)}, "path": {_json_str(path)}, '
                    f'"route": {_json_text(route)}, "status": {status!r}, "ms": {ms!r}, '
                    f'"client": {_json_text(client)}, "user_agent": {_json_text(agent)}, '
                    f'"event": "request", "ts": {_json_str(ts)}}}')
        else:
            line = json.dumps({"method": method, "path": path, "route": route,
                               "status": status, "ms": ms, "client": client,
                               "user_agent": agent, "event": "request", "ts": ts})
        with self._lock:
            print(line, file=self._stream, flush=True)


class AccessLog:
    def __init__(self, app: ASGIApp, lines: AccessLines, log_decisions: bool = False) -> None:
        self.app = app
        self.log_decisions = log_decisions
        self.lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["path"] == DECIDE_PATH and not self.log_decisions):
            await self.app(scope, receive, send)
            return
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, record_status)
        finally:
            client = scope.get("client")
            self.lines.write(scope, status, time.perf_counter() - started,
                             route_template(scope), client[0] if client else None)


_json_str = encode_basestring_ascii  # what json.dumps writes a str as (ensure_ascii)


def _json_text(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _redacted(scope: Scope) -> str:
    path: str = scope["path"]
    params = scope.get("path_params") or {}
    for name in _SECRET_PARAMS:
        secret = params.get(name)
        if isinstance(secret, str) and secret:
            path = path.replace(secret, "…")
    return path
