"""``DecideShortcut``: ``GET``/``POST /api/v1/decide`` answered in front of every middleware.

Any ASGI server reaches the decision endpoints through this middleware, the outermost of the
app's own (``create_app``); ``quietly serve`` answers most decisions one step earlier still,
in the HTTP protocol (``api.server``). Each middleware of the stack costs a call, a closure
and usually a wrapped ``send`` per request, together more than the decision itself
(bench/README.md, part 0), so this one does for a decision what the stack would do, in one
place:

- the size cap (``BodyLimit``): a ``POST`` is answered here only with a ``Content-Length``
  within ``max_decide_body_bytes``; a larger or chunked body is left to the stack, which
  refuses it (413) or reads it up to the cap;
- the NUL guard (``NulGuard``): a ``%00`` in the query or a NUL in the body is left to the
  stack, which answers 422;
- the client address (``TrustedProxies``): the one ``X-Forwarded-For`` names behind a
  trusted proxy, else the peer, for the failed-authentication budget and the access log;
- auth as the endpoints do it (``fastpath.principal_for_key``), failures not counted here;
- the security headers (``SecurityHeaders``), the latency metric (``RequestMetrics``) and,
  with ``QUIETLY_ACCESS_LOG_DECISIONS``, the access-log line (``AccessLog``).

It answers only a ``200``. Anything else — no key, an unknown one (counted against the
client's budget once, by the stack), bad input, a throttled client, ``HEAD``, a ``GET`` that
carries a body — goes through the whole stack and the router to the same endpoints, which
give every error the shape the app's problem handlers give it. ``tests/api/
test_decide_shortcut.py`` holds the two ways to the same answers, headers, metric and log.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Receive, Scope, Send

from quietly.api.access_log import AccessLines
from quietly.api.asgi_body import read_body, replay_once
from quietly.api.deps import AppState
from quietly.api.exposure import answer_headers
from quietly.api.middleware import ROUTE_KEY
from quietly.api.native.fastpath import (
    LATENCY,
    PATH,
    answer_get,
    answer_post,
    bearer_token,
    nul_suspected,
    principal_for_key,
)
from quietly.api.proxies import ProxyTrust, parse_networks
from quietly.settings import Settings

__all__ = ["DecideShortcut"]


class DecideShortcut:
    """ASGI middleware: a decision answered 200 here, or handed to the app untouched."""

    def __init__(self, app: ASGIApp, *, settings: Settings,
                 access_lines: AccessLines | None = None) -> None:
        self.app = app
        self.body_cap = settings.max_decide_body_bytes
        self.trust = ProxyTrust(parse_networks(settings.trusted_proxies))
        # A Response's own headers, then SecurityHeaders' in its order.
        self.headers = [(b"content-type", b"application/json"), *answer_headers(settings)]
        self.access_lines = access_lines  # set when decisions are logged

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # For the metric and the access log if the stack answers: the plain Starlette routes
        # that serve decisions leave no route template in the scope.
        scope[ROUTE_KEY] = PATH
        method = scope["method"]
        authorization = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:  # the first, as Starlette's Headers.get reads it
                    authorization = value
            elif name == b"content-length":
                length = b"" if length is not None else value  # two: the stack decides
            elif name == b"transfer-encoding":
                length = b""  # a chunked body: BodyLimit reads it up to the cap
        body = b""
        if method == "GET":
            answerable = length is None and b"%00" not in scope["query_string"]
        elif method == "POST":
            answerable = (length is not None and length.isdigit()
                          and int(length) <= self.body_cap)
        else:
            answerable = False
        state: AppState | None = getattr(scope["app"].state, "quietly", None)
        raw = bearer_token(authorization)
        if not answerable or raw is None or state is None:
            await self.app(scope, receive, send)
            return
        if method == "POST":
            read = await read_body(receive)
            if read is None:
                return  # the client went away
            body = read
            receive = replay_once(body)  # for the stack, if it is to answer after all
            if nul_suspected(body):
                await self.app(scope, receive, send)
                return
        client = scope.get("client")
        address = self.trust.client_of(client[0] if client else None, scope["headers"])
        try:
            principal = principal_for_key(raw, state, address, count=False)
            if method == "GET":
                text = answer_get(state, principal, scope["query_string"])
            else:
                text = answer_post(state, principal, body)
        except Exception:  # rendered (and a failed key counted) by the stack's handlers
            await self.app(scope, receive, send)
            return
        answer = text.encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(answer)).encode()),
                                *self.headers]})
        await send({"type": "http.response.body", "body": answer})
        seconds = time.perf_counter() - started
        LATENCY[method].observe(seconds)
        if self.access_lines is not None:
            self.access_lines.write(scope, 200, seconds, PATH, address)
