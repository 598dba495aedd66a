"""Serving the app: uvicorn, with decisions answered inside the HTTP protocol.

``GET /api/v1/decide`` is the one request every alert pipeline makes per alert. Under plain
ASGI each request costs uvicorn an ``asyncio`` task, a scope, two ``send`` messages and the
middleware chain, several times what the decision itself costs (bench/README.md, part 2).
:class:`DecideHttpProtocol` is uvicorn's own httptools protocol with one addition: when the
parser has a complete, keep-alive ``GET /api/v1/decide`` (no body) or ``POST
/api/v1/decide`` (a ``Content-Length`` body within ``max_decide_body_bytes``) and nothing
else is in flight on the connection, it answers right there, synchronously, with the body
:func:`~quietly.api.native.fastpath.answer_get` or ``answer_post`` computes — the functions
the ASGI endpoints use, so both paths give the same answers. A batch body is read whole as
it arrives, where uvicorn would pause reading every 64 KiB until an ASGI task took it.

Anything else goes the normal way, and so does every request the fast path does not answer
with a 200: a missing or unknown key, bad input, a NUL in the query, ``HEAD``, HTTP/1.0,
``Connection: close``, ``Expect``, a body on a ``GET``, a chunked body, a pipelined request
behind a slow one, a socket whose write buffer is full. Those reach the full application,
whose handlers render their errors (RFC 9457), exactly as without this class.

It relies on uvicorn's ``HttpToolsProtocol`` callbacks; the dependency range pins the
uvicorn minor version it was written against, and ``tests/api/test_server.py`` drives it
through a real socket (keep-alive, pipelining, fallbacks) so an upgrade that changes them
fails loudly.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime
from functools import partial
from types import ModuleType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from quietly.api.access_log import AccessLines, AccessLog
from quietly.api.deps import AppState
from quietly.api.exposure import fast_path_headers
from quietly.api.native.fastpath import (
    LATENCY,
    answer_get,
    answer_post,
    bearer_token,
    nul_suspected,
    principal_for_key,
)
from quietly.api.native.instants import CREATE_PATH as PATH
from quietly.api.proxies import ProxyTrust, parse_networks
from quietly.core.records import WindowRecord
from quietly.metrics import REQUEST_LATENCY

__all__ = ["BusyPoll", "DecideHttpProtocol", "decide_protocol", "reuse_port_socket",
           "server_config"]

_PATH = b"/api/v1/decide"
_PATH_QUERY = _PATH + b"?"
# Without settings on the app: a larger POST body (100,000 alerts are about 20 MB) goes
# through the application, whose BodyLimit refuses it (413) before reading it.
_POST_MAX = 32 * 1024 * 1024
_HEAD_MAX = 1024 * 1024
_TOO_LARGE_HEAD = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: "
                   b"application/problem+json\r\nconnection: close\r\ncontent-length: ")
_LATENCY = {m.encode(): child for m, child in LATENCY.items()}
_CREATE_PATH = PATH.encode()
_CREATE = b"CREATE"  # _answerable_method's mark of a create to take here
_CREATED = REQUEST_LATENCY.labels("POST", PATH, "201")
_UNSAVED_BODY = (b'{"type":"about:blank","title":"Service Unavailable","status":503,'
                 b'"detail":"the change was not saved; retry (with the same '
                 b'Idempotency-Key)","field":null}')
_UNSAVED_HEAD = b"HTTP/1.1 503 Service Unavailable\r\n"
_UNSAVED_REST = (b"content-type: application/problem+json\r\nretry-after: 1\r\n"
                 b"connection: close\r\ncontent-length: " + str(len(_UNSAVED_BODY)).encode()
                 + b"\r\n\r\n" + _UNSAVED_BODY)


_CREATES: list[ModuleType] = []


def _creates() -> ModuleType:
    """``api.native.create_fastpath``, imported at the first create (its schemas: not at
    start), then held: an import statement per call costs a dictionary look-up and more."""
    if not _CREATES:
        from quietly.api.native import create_fastpath

        _CREATES.append(create_fastpath)
    return _CREATES[0]


class _CreateInFlight:
    """Stands for uvicorn's request cycle while a create taken here waits for its commit:
    requests read after it on the connection queue behind it (uvicorn's pipeline), as behind
    any response not yet sent; ``connection_lost`` and ``shutdown`` mark it as they would."""

    __slots__ = ("disconnected", "followed", "keep_alive", "response_complete")

    def __init__(self) -> None:
        self.response_complete = False
        self.disconnected = False
        self.keep_alive = True
        self.followed = False  # another request began on the connection behind it

    @property
    def message_event(self) -> _CreateInFlight:
        return self

    def set(self) -> None:
        """``message_event.set()``: nothing waits for this request's body."""


class DecideHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering plain ``GET``/``POST /api/v1/decide`` in place.

    Subclasses are made per app by :func:`decide_protocol` (``quietly_app`` is set there).
    """

    quietly_app: FastAPI
    busy_poll: BusyPoll | None = None  # set by decide_protocol when busy polling is on
    # The server's default headers (a list uvicorn replaces each second) and _head of them.
    head_cache: tuple[list[tuple[bytes, bytes]], bytes] | None = None
    # b"GET" or b"POST" while a request to be answered here is being read, else None.
    _decide_method: bytes | None = None
    _decide_body: list[bytes]
    _decide_authorization: bytes | None = None  # the first Authorization header, if any
    # Per connection, which sends the same key with every request: the app's state once it
    # is there, and the last Authorization header with the token read from it.
    _state: AppState | None = None
    _authorization_read: tuple[bytes | None, str | None] = (None, None)
    # Caps (settings.max_decide_body_bytes, max_head_bytes), set by decide_protocol. httptools
    # buffers a request line and headers without any bound: count them while they arrive.
    post_max: int = _POST_MAX
    head_max: int = _HEAD_MAX
    security_headers: bytes = fast_path_headers(None)  # api.exposure, as on every answer
    # Who the client is behind a trusted proxy (api.proxies), for the failed-auth budget.
    proxy_trust: ProxyTrust = ProxyTrust(())
    _in_head: bool = True
    _head_seen: int = 0
    # Plain creates (POST /api/v1/windows) taken here: on when the app's settings allow
    # (decide_protocol), with the body cap of the route (settings.max_body_bytes).
    take_creates: bool = False
    create_max: int = 1024 * 1024
    created_head_cache: tuple[list[tuple[bytes, bytes]], bytes] | None = None
    # Keep-alive after answers given here: the loop time of the last one (None once more
    # data came), and the one timer per connection that checks it (see _answered).
    _idle_since: float | None = None
    _idle_timer: asyncio.TimerHandle | None = None

    def on_message_begin(self) -> None:
        # uvicorn's, without the ASGI scope: _begin_asgi builds it for the requests the
        # application gets; those answered here need none.
        cycle: object = self.cycle
        if isinstance(cycle, _CreateInFlight):
            cycle.followed = True  # the parser moves on: the create can no longer be replayed
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _begin_asgi(self) -> None:
        """The ASGI scope uvicorn's ``on_message_begin`` makes, for the request read so far."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers

    def data_received(self, data: bytes) -> None:
        self._idle_since = None
        super().data_received(data)
        if self._in_head:  # still no end of headers after this data: all of it was head
            self._head_seen += len(data)
            if self._head_seen > self.head_max and not self.transport.is_closing():
                self._refuse_head()

    def _refuse_head(self) -> None:
        body = (b'{"type":"about:blank","title":"Request header fields too large",'
                b'"status":431,"detail":"the request line and headers are longer than '
                + str(self.head_max).encode() + b' bytes","field":null}')
        self.transport.write(_TOO_LARGE_HEAD + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._in_head = False
        method = self._answerable_method()
        if method is not None:
            # Answered in on_message_complete: no task, no cycle. A POST body is read here
            # whole (at most _POST_MAX bytes), not paused in 64 KiB steps for an ASGI task.
            self._decide_method = method
            self._decide_body = []
            return
        self._begin_asgi()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._decide_method is None:
            super().on_body(body)
            return
        self._decide_body.append(body)

    def on_message_complete(self) -> None:
        self._in_head, self._head_seen = True, 0  # the next request's head comes next
        method = self._decide_method
        if method is None:
            super().on_message_complete()
            return
        self._decide_method = None
        started = time.perf_counter()
        request_body = b"".join(self._decide_body)
        self._decide_body = []
        body = None
        if method == _CREATE:
            if self._create(request_body, started):
                return  # answered once its commit is done (_created)
        else:
            body = self._answer(method, request_body)
        if body is None:  # the full application answers it, errors included
            self._begin_asgi()
            super().on_headers_complete()
            if request_body:
                super().on_body(request_body)
            super().on_message_complete()
            return
        self.transport.write(b"".join((self._head(), str(len(body)).encode("ascii"),
                                       b"\r\n\r\n", body)))
        _LATENCY[method].observe(time.perf_counter() - started)
        self._answered()
        if self.busy_poll is not None:
            self.busy_poll.after_answer(self.loop)

    def _create(self, request_body: bytes, started: float) -> bool:
        """Take a plain ``POST /api/v1/windows`` (``create_fastpath.prepare``): submit it to
        the loop writer and answer it once committed. False: the application answers it."""
        state = getattr(self.quietly_app.state, "quietly", None)
        if state is None or b"\\u0000" in request_body or b"\x00" in request_body:
            return False  # starting up, or the NUL guard answers it
        prepared = _creates().prepare(state, bearer_token(self._decide_authorization),
                           self.client[0] if self.client else None, request_body)
        if prepared is None:
            return False
        writer, unit, now = prepared
        pending = _CreateInFlight()
        self.cycle = pending  # type: ignore[assignment]  # requests after it queue behind it
        # Answered from the writer's own turn of the loop, right after the commit.
        writer.submit(unit, time.monotonic() + state.settings.write_timeout_seconds,
                      partial(self._created, pending, now, started,
                              (self.url, self.headers, request_body)))
        return True

    def _created(self, pending: _CreateInFlight, now: datetime, started: float,
                 request: tuple[bytes, list[tuple[bytes, bytes]], bytes],
                 record: WindowRecord | None, error: BaseException | None) -> None:
        """The commit of a create taken by ``_create`` is done: answer it (201), or, if its
        write was refused (nothing was written), let the application answer it anew."""
        if pending.disconnected or self.transport.is_closing():
            pending.response_complete = True
            return  # the client went away; the window is stored (as through the app)
        if error is not None or record is None:
            self._replay_create(pending, request)
            return
        body = _creates().answer(record, now)
        pending.response_complete = True
        self.transport.write(b"".join((self._created_head(), str(len(body)).encode("ascii"),
                                       b"\r\n\r\n", body)))
        elapsed = time.perf_counter() - started
        _CREATED.observe(elapsed)
        log = self._access_log()
        if log is not None:
            log.write_line("POST", PATH, PATH, 201, elapsed,
                           self.client[0] if self.client else None, request[1])
        if not pending.keep_alive:  # the server is shutting down
            self.transport.close()
            return
        if self.pipeline:  # requests read behind it: uvicorn starts the next one
            self.on_response_complete()
            return
        self._answered()
        if self.busy_poll is not None:
            self.busy_poll.after_answer(self.loop)

    def _replay_create(self, pending: _CreateInFlight,
                       request: tuple[bytes, list[tuple[bytes, bytes]], bytes]) -> None:
        """The application answers a create whose write the loop writer refused, as if it
        had just been read (uvicorn's parser still holds it: nothing was read after it)."""
        pending.response_complete = True
        cycle: object = self.cycle
        if cycle is not pending or pending.followed or self.pipeline or self.parser is None:
            # Another request was read behind it: the parser moved on. Nothing was written.
            self.transport.write(_UNSAVED_HEAD + self.security_headers + _UNSAVED_REST)
            self.transport.close()
            return
        self.url, self.headers, body = request
        self.cycle = None  # type: ignore[assignment]
        self._begin_asgi()
        super().on_headers_complete()
        super().on_body(body)
        super().on_message_complete()

    def _created_head(self) -> bytes:
        """``_head`` for a 201."""
        return self._status_head(b"HTTP/1.1 201 Created\r\n", "created_head_cache")

    def _access_log(self) -> AccessLines | None:
        """The application's access log's lines (found once in its middleware stack)."""
        app = type(self).quietly_app
        found = getattr(app.state, "quietly_access_log", False)
        if found is False and app.middleware_stack is not None:  # built at start-up
            found = None
            layer: Any = app.middleware_stack
            while layer is not None:
                if isinstance(layer, AccessLog):
                    found = layer
                    break
                layer = getattr(layer, "app", None)
            app.state.quietly_access_log = found
        return found.lines if isinstance(found, AccessLog) else None

    def _head(self) -> bytes:
        """The status line and headers up to ``content-length: ``, with uvicorn's default
        headers (date, server), which it replaces once a second: made once per change."""
        return self._status_head(b"HTTP/1.1 200 OK\r\n", "head_cache")

    def _status_head(self, status_line: bytes, cache: str) -> bytes:
        defaults = self.server_state.default_headers
        cached = getattr(type(self), cache)
        if cached is not None and cached[0] is defaults:
            return bytes(cached[1])
        head = b"".join([status_line,
                         *(name + b": " + value + b"\r\n" for name, value in defaults),
                         self.security_headers,
                         b"content-type: application/json\r\ncontent-length: "])
        setattr(type(self), cache, (defaults, head))
        return head

    def _answered(self) -> None:
        """uvicorn's ``on_response_complete`` for an answer given here, with the keep-alive
        timeout kept by one timer per connection rather than one per request."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # not reached: pipelined requests are not answered here
            self.on_response_complete()
            return
        self._idle_since = now = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_at(now + self.timeout_keep_alive,
                                                 self._keep_alive_due)

    def _keep_alive_due(self) -> None:
        """Close the connection if it stayed idle for the keep-alive timeout since the last
        answer given here; look again later if it was answered since; stop if a request is
        under way (uvicorn arms its own timer after answering through the application)."""
        self._idle_timer = None
        idle_since = self._idle_since
        if idle_since is None:
            return
        due = idle_since + self.timeout_keep_alive
        if self.loop.time() >= due:
            self.timeout_keep_alive_handler()
        else:
            self._idle_timer = self.loop.call_at(due, self._keep_alive_due)

    def _answerable_method(self) -> bytes | None:
        """``b"GET"``/``b"POST"`` when this request is a decision to answer here, ``_CREATE``
        when it is a create to take here, else ``None``."""
        url = self.url
        parser = self.parser
        method = parser.get_method()
        create = False
        if method == b"GET":
            if not (url == _PATH or url.startswith(_PATH_QUERY)):
                return None
        elif method != b"POST":
            return None
        elif url == _CREATE_PATH:
            if not self.take_creates:
                return None
            create = True
        elif url != _PATH:
            return None
        if b"#" in url or parser.get_http_version() != "1.1":
            return None
        if not parser.should_keep_alive() or parser.should_upgrade():
            return None
        if self.expect_100_continue or self.root_path or self.pipeline:
            return None
        if self.cycle is not None and not self.cycle.response_complete:
            return None  # a request before this one is still being answered
        if self.flow.write_paused or self.transport.is_closing():
            return None
        length = authorization = None
        for name, value in self.headers:
            if name == b"transfer-encoding":
                return None
            if name == b"content-length":
                if length is not None:
                    return None
                length = value
            elif name == b"authorization" and authorization is None:
                authorization = value
            elif create and (name == b"idempotency-key" or name.startswith(b"x-forwarded-")):
                return None  # for the Idempotency middleware, or api.proxies to apply
        self._decide_authorization = authorization
        if method == b"GET":
            return method if length is None else None
        if length is None or not length.isdigit() or \
                int(length) > (self.create_max if create else self.post_max):
            return None
        if create:
            return _CREATE if _creates().is_json(self.headers) else None
        return method

    def _answer(self, method: bytes, request_body: bytes) -> bytes | None:
        state = self._state
        if state is None:
            state = self._state = getattr(self.quietly_app.state, "quietly", None)
            if state is None:  # still starting up
                return None
        authorization = self._decide_authorization
        seen, raw = self._authorization_read
        if authorization != seen:
            raw = bearer_token(authorization)
            self._authorization_read = (authorization, raw)
        if raw is None:
            return None
        try:
            # Failures are counted by the application, which answers them (see fastpath).
            client = self.proxy_trust.client_of(self.client[0] if self.client else None,
                                                self.headers)
            principal = principal_for_key(raw, state, client, count=False)
            if method == b"POST":
                if nul_suspected(request_body):
                    return None  # the NUL guard answers it
                return answer_post(state, principal, request_body).encode()
            query = self.url[len(_PATH_QUERY):]
            if b"%00" in query:
                return None  # the NUL guard answers it
            return answer_get(state, principal, query).encode()
        except Exception:  # every error is rendered by the application
            return None


class BusyPoll:
    """Keeps the event loop polling its sockets, instead of sleeping, for a short while after
    a decision it answered while decisions are coming in fast (``quietly serve
    --busy-poll-us``).

    A client that sends its next alert right after reading the answer (a one-connection
    loop: a script, a sidecar, Alertmanager's own receiver) otherwise finds the loop asleep
    in ``epoll_wait`` and pays for waking it, which on a virtual machine costs more than the
    decision. While a callback is pending the loop polls without blocking, so this keeps one
    pending — re-scheduling itself until ``seconds`` have passed since the last answer.
    Measured on this project's 2-core VM (bench/README.md): 40 to 60 % more requests per
    second on one connection. Go's scheduler spins the same way before parking a thread.

    It is adaptive: an answer starts the spin only if the answer before it came less than
    ``ACTIVE_FACTOR`` times ``seconds`` earlier, so a server receiving alerts now and then never
    spins, and the CPU it spends is bounded: with the default 100 µs, nothing below 1,000
    decisions/s, and at most ``seconds`` per answer above.
    """

    ACTIVE_FACTOR = 10

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active_gap = seconds * self.ACTIVE_FACTOR
        self._until = 0.0
        self._last_answer = float("-inf")
        self._armed = False

    @property
    def spinning(self) -> bool:
        return self._armed

    def after_answer(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.perf_counter()
        busy = now - self._last_answer < self.active_gap
        self._last_answer = now
        if not busy:
            return
        self._until = now + self.seconds
        if not self._armed:
            self._armed = True
            loop.call_soon(self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        if time.perf_counter() < self._until:
            loop.call_soon(self._tick, loop)
        else:
            self._armed = False


def decide_protocol(app: FastAPI, busy_poll_us: int = 0) -> type[DecideHttpProtocol]:
    """The protocol class for ``app``, for ``uvicorn.Config(http=…)``; ``busy_poll_us`` > 0
    turns on :class:`BusyPoll` for that many microseconds after each answer."""
    poll = BusyPoll(busy_poll_us / 1e6) if busy_poll_us > 0 else None
    settings = getattr(app.state, "settings", None)  # create_app puts them there
    caps = {"post_max": settings.max_decide_body_bytes,
            "create_max": settings.max_body_bytes,
            "take_creates": settings.group_commit,
            "head_max": settings.max_head_bytes,
            "security_headers": fast_path_headers(settings),
            "proxy_trust": ProxyTrust(parse_networks(settings.trusted_proxies)),
            } if settings is not None else {}
    return type("QuietlyHttpProtocol", (DecideHttpProtocol,),
                {"quietly_app": app, "busy_poll": poll, "head_cache": None,
                 "created_head_cache": None, **caps})


def server_config(app: FastAPI, *, busy_poll_us: int = 0, **options: Any) -> uvicorn.Config:
    """``uvicorn.Config`` for ``app`` with the decision fast path; ``options`` as uvicorn's
    (host, port, log_level …). Access logging is off: a line per alert would cost more than
    answering it."""
    options.setdefault("access_log", False)
    options.setdefault("proxy_headers", False)  # api.proxies.TrustedProxies does it, by setting
    # No route speaks WebSocket: an upgrade request is answered as plain HTTP, and uvicorn
    # does not import a WebSocket implementation to start (issue 19).
    options.setdefault("ws", "none")
    if getattr(app.state, "log_decisions", False):  # every decision goes through AccessLog
        return uvicorn.Config(app, **options)
    return uvicorn.Config(app, http=decide_protocol(app, busy_poll_us), **options)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with ``SO_REUSEPORT``: several ``quietly serve`` processes
    bound this way share the port, and the kernel spreads new connections over them."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
