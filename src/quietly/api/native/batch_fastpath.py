"""``POST /api/v1/windows/batch`` read without pydantic when every item is a common create.

The route (``window_batch.create_windows_batch``) validates the whole body with
``WindowBatch`` (pydantic), checks that no JSON object names a member twice (a second decode
with a hook), then converts each item: about a third of a bulk create's CPU (issue #19).
Most batches (``quietly import``, syncs, scripts) are one-time windows with a name and
targets, which ``create_fastpath.common_fields`` reads straight from the decoded JSON to the
same ``WindowFields`` the model and its conversion give
(``tests/api/test_create_common_fields.py``).

``batch_fields`` takes a batch only when the body is exactly ``{"windows": [...]}`` with 1 to
``MAX_BATCH`` items, each of them taken by ``common_fields``, and no object names a member
twice; for anything else it gives None and the route answers, so every error (RFC 9457,
naming ``windows[17].schedule.end``) is the route's own, byte for byte.

Repeated members, cheaply: every member name the fast read accepts (``name``, ``schedule``,
``kind`` …) is made of letters only, and a JSON text can spell such a name otherwise only
with a ``\\u`` escape. Without one, each member ``"name"`` of the text is one occurrence of
the bytes ``"name"`` (a string value spelling it, or UTF-16 text, only moves the count
away from the members the decoded objects hold), so when every such count equals the
number of objects holding that member, no object named one twice. When they differ, or
``\\u`` occurs, the exact check (``window_batch.repeated_members``) decides.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import anyio
import msgspec
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from quietly.api.deps import authenticate_key, bearer_key, get_state, utcnow
from quietly.api.native.create_fastpath import common_fields, shortcut
from quietly.api.native.instants import BATCH_PATH
from quietly.api.native.window_batch import MAX_BATCH, repeated_members, write
from quietly.core.records import Role, WindowFields
from quietly.services import windows
from quietly.services.collector import collector_paused

__all__ = ["BatchShortcut", "batch_fields", "names_members_once"]

# The member names a document ``batch_fields`` accepts can hold, as their JSON text.
_WINDOWS = b'"windows"'
_ITEM_MEMBERS = tuple((name, f'"{name}"'.encode())
                      for name in ("name", "schedule", "targets", "description"))
_SCHEDULE_MEMBERS = (b'"kind"', b'"start"', b'"end"')


def batch_fields(raw: bytes, document: Any, zone: str) -> list[WindowFields] | None:
    """The fields of each window of a batch, as ``WindowBatch`` and
    ``window_fields_from_create`` give them, when ``document`` (``raw`` decoded by
    ``json.loads``) is a batch of common creates naming no member twice; None otherwise
    (the route then reads it, and refuses what it refuses)."""
    if type(document) is not dict or len(document) != 1:
        return None
    items = document.get("windows")
    if type(items) is not list or not 1 <= len(items) <= MAX_BATCH:
        return None
    fields: list[WindowFields] = []
    instants: dict[str, datetime] = {}  # a batch's windows often share their instants
    for item in items:
        one = common_fields(item, zone, instants)
        if one is None:
            return None
        fields.append(one)
    return fields if names_members_once(raw, items) else None


def names_members_once(raw: bytes, items: list[dict[str, Any]]) -> bool:
    """Whether no object of ``raw`` (a batch whose items ``common_fields`` took) names a
    member twice: ``not repeated_members(raw)``, mostly without decoding again."""
    if b"\\u" not in raw and raw.count(_WINDOWS) == 1:
        n = len(items)
        if all(raw.count(text) == (n if name in ("name", "schedule") else
                                   sum(name in item for item in items))
               for name, text in _ITEM_MEMBERS) \
                and all(raw.count(text) == n for text in _SCHEDULE_MEMBERS):
            return True
    return not repeated_members(raw)


class BatchShortcut:
    """ASGI middleware: a batch of common creates straight to the service, as the route
    creates it (the same principal, instant, write and answer); anything else — another
    body, no key or another role, a write that is refused — is replayed through the
    application, which answers it as it would have (a refused write wrote nothing, as for
    ``create_fastpath.CreateShortcut``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != BATCH_PATH \
                or scope["method"] != "POST" or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        # Off from before the body is read until the answer is sent, as the route's
        # dependency keeps it (``services.collector``).
        with collector_paused():
            await shortcut(self.app, self._create, BATCH_PATH, scope, receive, send)

    async def _create(self, scope: Scope, body: bytes) -> bytes | None:
        """The answer's body, or None: let the application answer."""
        request = Request(scope)
        try:
            state = get_state(request)
            client = request.client.host if request.client is not None else None
            principal = authenticate_key(bearer_key(request), state, Role.EDITOR, client,
                                         count=False)
        except Exception:
            return None

        def create() -> list[int] | None:
            try:
                fields = batch_fields(body, json.loads(body), principal.workspace_timezone)
            except ValueError:
                return None  # not JSON: the route says so
            if fields is None:
                return None
            now = utcnow()
            records = write(state, lambda db: windows.create_windows(db, principal, fields,
                                                                     now, common=True))
            return [r.id for r in records]

        try:
            ids = await anyio.to_thread.run_sync(create)
        except Exception:
            return None
        return None if ids is None else _encode({"created": len(ids), "ids": ids})


_encode = msgspec.json.Encoder().encode
