"""ASGI middleware around every route: body-size caps, the NUL guard, the latency metric."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietly.api.problems import render_error
from quietly.metrics import REQUEST_LATENCY
from quietly.storage.db import write_deadline

__all__ = ["ROUTE_KEY", "BodyLimit", "NulGuard", "RequestMetrics", "WriteDeadline", "has_nul",
           "route_template"]

# Set in the scope by handlers that answer before routing (``CreateShortcut``), and by
# ``DecideShortcut`` for the plain routes it hands requests to, which set no ``route``.
ROUTE_KEY = "quietly.route"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str | None:
    """The matched route's path as documented (``/api/v1/windows/{window_id}``, without the
    ``:int`` convertor the route matches with), or what a shortcut set; None: no route."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template or scope.get(ROUTE_KEY)


class RequestMetrics:
    """``quietly_request_duration_seconds{method,route,status}`` for every HTTP request.

    ``route`` is the matched route's template (``/api/v1/windows/{window_id}``), never the
    raw path, and unknown methods count as ``OTHER``, so the label sets stay bounded
    whatever clients send. A request that raised counts as status 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
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
            template = route_template(scope) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            REQUEST_LATENCY.labels(method, template, str(status)).observe(
                time.perf_counter() - started)

# A raw NUL, or the JSON escape \u0000 — its backslash not itself escaped: "\\u0000" in a
# body is the text backslash-u-0-0-0-0, which is no NUL (the escape is case-insensitive).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def has_nul(body: bytes) -> bool:
    """A NUL in ``body``: raw, or as the JSON escape."""
    return b"\x00" in body or (b"u0000" in body.lower() and _NUL_ESCAPE.search(body) is not None)


class NulGuard:
    """Refuse NUL characters anywhere in a request's query or body with a 422.

    PostgreSQL cannot store NUL in text or JSON, SQLite can: without this guard the same
    request would succeed on one backend and fail on the other. No real name, label or
    target contains NUL, so the rule is simple and the same everywhere.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b""):
            await self._refuse(scope, send, "query")
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if has_nul(body):
            await self._refuse(scope, send, "body")
            return
        await self.app(scope, _replay([body], None, receive), send)

    async def _refuse(self, scope: Scope, send: Send, where: str) -> None:
        request = Request(scope)
        response = render_error(request, 422, f"{where}: text must not contain NUL (\\u0000) "
                                "characters", where,
                                [{"field": where, "detail": "contains a NUL character"}])
        await response(scope, _no_receive, send)


def _replay(bodies: list[bytes], first: Message | None, receive: Receive) -> Receive:
    """A receive callable that hands out the buffered body once, then the real stream."""
    pending: list[Message] = [first] if first is not None else [
        {"type": "http.request", "body": bodies[0] if bodies else b"", "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class BodyLimit:
    """Refuse a request body larger than its route's cap with a 413, while reading it.

    Runs before routing, authentication and JSON decoding, so an unauthenticated client
    cannot make the process buffer more than the cap. A ``Content-Length`` over the cap is
    refused before a byte of the body is read; a chunked body is read up to the cap and
    refused as soon as it passes it. ``caps`` maps exact paths (the batch routes) to their
    own cap; every other path gets ``default``.
    """

    def __init__(self, app: ASGIApp, *, default: int, caps: Mapping[str, int]) -> None:
        self.app = app
        self.default = default
        self.caps = dict(caps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps.get(scope["path"], self.default)
        length = chunked = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = value
        if length is not None and chunked is None:
            # The server frames the body by Content-Length: it cannot be longer than that.
            if length.isdigit() and int(length) > cap:
                await _too_large(scope, send, cap)
                return
            await self.app(scope, receive, send)
            return
        if chunked is None:
            await self.app(scope, receive, send)  # no body
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _too_large(scope, send, cap)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay([b"".join(chunks)], None, receive), send)


async def _too_large(scope: Scope, send: Send, cap: int) -> None:
    response = render_error(Request(scope), 413, f"the request body is larger than this "
                            f"route accepts ({cap:,} bytes)", None,
                            headers={"Connection": "close"})
    await response(scope, _no_receive, send)


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NOT_WRITES = frozenset({"/api/v1/decide"})  # answered from memory, never waits on the store


class WriteDeadline:
    """A write not answered within ``seconds`` gets 503 with ``Retry-After``, and never
    commits later: its transactions run under ``storage.db.write_deadline``, which rolls
    back one still open past the deadline. The handler keeps running in its thread until
    the database lets it go (a thread cannot be stopped); what it sends is dropped.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in _WRITES
                or scope["path"] in _NOT_WRITES):
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = True
            await send(message)

        with write_deadline(self.seconds):  # the task below copies this context
            task = asyncio.ensure_future(self.app(scope, receive, guarded))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if task in done or started:
            await task  # finished, or already answering: let it finish
            return
        abandoned = True
        task.add_done_callback(_retrieve)
        response = render_error(Request(scope), 503, f"the database did not answer within "
                                f"{self.seconds:g} s; nothing was saved, retry later", None,
                                headers={"Retry-After": "5"})
        await response(scope, _no_receive, send)


def _retrieve(task: asyncio.Future[None]) -> None:
    """Collect an abandoned handler's outcome (its 503 was already sent)."""
    if not task.cancelled():
        task.exception()
