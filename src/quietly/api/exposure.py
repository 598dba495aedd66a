"""What every response carries and what is exposed to whom (issue #14 point 8).

- :class:`SecurityHeaders`: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy`` and, unless a route set its own, ``Cache-Control: no-store`` (answers
  carry a workspace's data) on every response; ``Strict-Transport-Security`` when the
  public URL (``QUIETLY_PUBLIC_URL``) is https. The decision fast paths (``DecideShortcut``,
  ``api.server``) write the same headers themselves: :func:`answer_headers`.
- ``/docs`` and ``/openapi.json`` need an API key when ``QUIETLY_DOCS_REQUIRE_KEY`` is set.
- ``metrics_open``: ``/metrics`` without a token only while the server listens on loopback.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietly.api.problems import render_error
from quietly.settings import Settings

__all__ = ["DOCS_PATHS", "SecurityHeaders", "answer_headers", "fast_path_headers",
           "metrics_open"]

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"))
_NO_STORE = (b"cache-control", b"no-store")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def hsts_wanted(settings: Settings) -> bool:
    return bool(settings.public_url and settings.public_url.lower().startswith("https://"))


def answer_headers(settings: Settings | None) -> list[tuple[bytes, bytes]]:
    """What :class:`SecurityHeaders` adds to an API answer that set none of these headers
    itself, in its order: for the decision fast paths, which write their answers whole."""
    pairs = [*_ALWAYS, HSTS] if settings is not None and hsts_wanted(settings) else [*_ALWAYS]
    return [*pairs, _NO_STORE]


def fast_path_headers(settings: Settings | None) -> bytes:
    """The header lines the decision fast path adds to its answers (HTTP/1.1 bytes)."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in answer_headers(settings))


def metrics_open(settings: Settings) -> bool:
    """Whether ``/metrics`` may answer without a token: explicitly opened, or loopback only."""
    if settings.metrics_public:
        return True
    host = settings.host.strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


class SecurityHeaders:
    """Adds the headers above to every HTTP response; guards the API documents."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.docs_require_key = settings.docs_require_key
        self.extra = [*_ALWAYS, HSTS] if hsts_wanted(settings) else list(_ALWAYS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.docs_require_key and scope["path"] in DOCS_PATHS and not _has_key(scope):
            response = render_error(Request(scope), 401, "the API documents need an API key: "
                                    "'Authorization: Bearer <key>'", None,
                                    headers={"WWW-Authenticate": 'Bearer realm="quietly"'})
            send = self._adding(send, scope)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, self._adding(send, scope))

    def _adding(self, send: Send, scope: Scope) -> Send:
        extra = self.extra
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                if not static and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        return with_headers


def _has_key(scope: Scope) -> bool:
    """A valid API key of any role in ``Authorization: Bearer``."""
    request = Request(scope)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    state = getattr(request.app.state, "quietly", None)
    if state is None:
        return False
    client = request.client.host if request.client is not None else None
    try:
        return state.principal_for(token.strip(), client) is not None
    except Exception:  # throttled or the store is down: no documents
        return False
