"""``Idempotency-Key`` on every create: ASGI middleware over ``services.idempotency``.

A ``POST`` (every create of every API: native windows, maintenance start, alert ingest,
the compatibility APIs) carrying ``Idempotency-Key`` is claimed before it runs. A retry with
the same key and request gets the first answer again (``Idempotent-Replayed: true``), a
retry while the first still runs a 409, the same key with another request a 422. Answers
a retry could change (401, 403, 408, 409, 429, 5xx) are not kept: the key is released.
Requests without the header cost nothing.
"""

from __future__ import annotations

import contextvars
import hashlib
import time
from datetime import UTC, datetime

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietly.api.asgi_body import read_body, replay_once
from quietly.api.problems import render_error
from quietly.services import idempotency
from quietly.services.idempotency import Claim, Outcome
from quietly.storage.db import Database

__all__ = ["HEADER", "Idempotency"]

HEADER = b"idempotency-key"
_NOT_KEPT = frozenset({401, 403, 408, 409, 429})
_NOT_CREATES = frozenset({"/api/v1/decide"})
_PURGE_EVERY = 60.0


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._purged_at = -_PURGE_EVERY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or \
                scope["path"] in _NOT_CREATES:
            await self.app(scope, receive, send)
            return
        key = credential = None
        for name, value in scope["headers"]:
            if name == HEADER:
                key = value
            elif name == b"authorization":
                credential = value
        if key is None:
            await self.app(scope, receive, send)
            return
        text = key.decode("latin-1").strip()
        if not 1 <= len(text) <= 255 or not text.isprintable():
            await _problem(scope, send, 422, "Idempotency-Key must be 1 to 255 printable "
                           "characters")
            return
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        request_id = hashlib.sha256(b"\n".join((
            scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""),
            body))).hexdigest()
        owner = hashlib.sha256(credential or b"").hexdigest()
        db: Database = scope["app"].state.quietly.db
        found = await anyio.to_thread.run_sync(self._claim, db, owner, text, request_id)
        if found.outcome is Outcome.NEW:
            await self._run(scope, body, send, db, owner, text)
        elif found.outcome is Outcome.REPLAY:
            await _replay_answer(send, found)
        elif found.outcome is Outcome.MISMATCH:
            await _problem(scope, send, 422, "this Idempotency-Key was used for another "
                           "request in the last 24 h; use a new key for a new request")
        else:
            await _problem(scope, send, 409, "a request with this Idempotency-Key is still "
                           "being answered; retry in a moment", {"Retry-After": "1"})

    def _claim(self, db: Database, owner: str, key: str, request_id: str) -> Claim:
        now = datetime.now(UTC)
        with db.transaction() as session:
            if time.monotonic() - self._purged_at >= _PURGE_EVERY:
                self._purged_at = time.monotonic()
                idempotency.purge(session, now)
            return idempotency.claim(session, owner, key, request_id, now)

    async def _run(self, scope: Scope, body: bytes, send: Send, db: Database, owner: str,
                   key: str) -> None:
        """Run the request; its answer is stored *before* the client gets it, so a retry
        sent as soon as the answer arrives is replayed, not told the first still runs."""
        start: Message | None = None
        chunks: list[bytes] = []
        settled = False

        async def settle(status: int, content_type: str | None) -> None:
            nonlocal settled
            settled = True
            keep = status < 500 and status not in _NOT_KEPT
            # Outside the request's write deadline (an empty context): a write it abandoned
            # must still release its key, or every retry would get 409 until it expires.
            await anyio.to_thread.run_sync(contextvars.Context().run, _settle, db, owner,
                                           key, keep, status, content_type, b"".join(chunks))

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                content_type = next((v.decode("latin-1") for n, v in start.get("headers", [])
                                     if n.lower() == b"content-type"), None)
                await settle(start["status"], content_type)
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks)})
                return
            await send(message)

        try:
            await self.app(scope, replay_once(body), capture)
        finally:
            if not settled:  # it failed before answering: a retry may do better
                await settle(500, None)


def _settle(db: Database, owner: str, key: str, keep: bool, status: int,
            content_type: str | None, answer: bytes) -> None:
    with db.transaction() as session:
        if keep:
            idempotency.finish(session, owner, key, status, content_type, answer)
        else:
            idempotency.release(session, owner, key)






async def _replay_answer(send: Send, found: Claim) -> None:
    body = found.body or b""
    headers = [(b"content-length", str(len(body)).encode()),
               (b"idempotent-replayed", b"true")]
    if found.content_type:
        headers.append((b"content-type", found.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": found.status or 200,
                "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(scope: Scope, send: Send, status: int, detail: str,
                   headers: dict[str, str] | None = None) -> None:
    response = render_error(Request(scope), status, detail, "Idempotency-Key",
                            [{"field": "Idempotency-Key", "detail": detail}], headers=headers)
    await response(scope, replay_once(b""), send)
