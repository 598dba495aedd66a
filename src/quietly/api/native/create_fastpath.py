"""``POST /api/v1/windows`` without FastAPI's routing and dependency machinery.

The create contract stays the one ``windows.create_window`` documents for OpenAPI; this
middleware only takes the common case — a JSON body from a key allowed to edit, valid as
``WindowCreate`` — and does what the route does: the same principal (``authenticate_key``,
cached), the same validation (``json.loads`` then ``WindowCreate.model_validate``, as FastAPI
reads a body), the same write (``window_batch.write``: the group-commit writer), and the same
answer (the route's ``response_model`` applied by ``WindowPublic``'s adapter), 201.

Anything else — no key, another role, a body that is not valid, a write that is refused —
is replayed through the full application, so every error keeps exactly the shape and
status the app's handlers give it. A refused write wrote nothing (group commit undoes a
failing unit alone), so the replay cannot create twice. Measured on the bench: routing,
dependency solving and the response model cost about as much as the create itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

import anyio
import msgspec
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from quietly.api.asgi_body import read_body, replay_once
from quietly.api.deps import AppState, authenticate_key, bearer_key, get_state, utcnow
from quietly.api.middleware import ROUTE_KEY
from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.instants import CREATE_PATH, parse_instant_field
from quietly.api.native.schemas import WindowCreate, WindowPublic
from quietly.api.native.window_batch import GROUP_COMMIT, write
from quietly.core.construct import slot_constructor
from quietly.core.limits import MAX_TARGETS
from quietly.core.model import OnceSchedule
from quietly.core.records import Principal, Role, WindowFields, WindowRecord
from quietly.services import windows
from quietly.services.serialize import window_to_json
from quietly.storage.groupcommit import GroupCommitter
from quietly.storage.loopwriter import LoopWriter, RawTx

__all__ = ["PATH", "CreateShortcut", "answer", "common_fields", "is_json", "prepare"]

PATH = CREATE_PATH
_PUBLIC: TypeAdapter[WindowPublic] = TypeAdapter(WindowPublic)
_encode = msgspec.json.Encoder().encode
_JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")


async def shortcut(app: ASGIApp, create: Callable[[Scope, bytes], Awaitable[bytes | None]],
                   route: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Read the body; answer 201 with what ``create`` gives, or, when it gives None (or the
    body is not JSON), replay the request through ``app``, which answers it."""
    body = await read_body(receive)
    if body is None:
        return  # the client went away
    answer = await create(scope, body) if is_json(scope["headers"]) else None
    if answer is None:
        await app(scope, replay_once(body), send)
        return
    scope[ROUTE_KEY] = route  # for the latency metric and the access log: no router ran
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-length", str(len(answer)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": answer})


class CreateShortcut:
    """ASGI middleware: the common ``POST /api/v1/windows`` straight to the service."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST" \
                or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        await shortcut(self.app, self._create, PATH, scope, receive, send)

    async def _create(self, scope: Scope, body: bytes) -> bytes | None:
        """The answer's body, or None: let the application answer."""
        request = Request(scope)
        try:
            state = get_state(request)
            client = request.client.host if request.client is not None else None
            principal, fields, now = _read(state, bearer_key(request), client, body)
        except Exception:
            return None
        plain = _plain(state, principal, fields, now)
        if plain is not False:
            if plain is None:
                return None
            writer, unit = plain
            try:
                record = await writer.run(unit)
            except Exception:
                return None
            return answer(record, now)

        def create() -> Any:
            return write(state, lambda db: windows.create_window(db, principal, fields, now))

        try:
            record = await anyio.to_thread.run_sync(create)
        except Exception:
            return None
        return answer(record, now)


def _read(state: AppState, key: str | None, client: str | None, body: bytes
          ) -> tuple[Principal, WindowFields, datetime]:
    """The principal, the window's fields and the request's instant, as the route reads
    them; raises what the route would refuse."""
    principal = authenticate_key(key, state, Role.EDITOR, client, count=False)
    document = json.loads(body)
    fields = common_fields(document, principal.workspace_timezone)
    if fields is None:
        fields = window_fields_from_create(WindowCreate.model_validate(document),
                                           principal.workspace_timezone)
    return principal, fields, utcnow()


# The common create, read without pydantic: a name, a one-time schedule of two instants,
# targets, perhaps a description, and nothing else. Only what WindowCreate surely accepts
# as it is (targets of printable ASCII after the kind, no lone surrogate anywhere) is taken;
# anything else, valid or not, goes through the model, which says what is wrong.
_COMMON_KEYS = frozenset({"name", "schedule", "targets", "description"})
_ONCE_KEYS = frozenset({"kind", "start", "end"})
_PLAIN_TARGET = re.compile(r"[a-z][a-z0-9_]*:[!-~]{1,256}")


def common_fields(document: Any, zone: str,
                  instants: dict[str, datetime] | None = None) -> WindowFields | None:
    """``window_fields_from_create(WindowCreate.model_validate(document), zone)`` for the
    common create, without the model; None for any other document (and for one the model
    or the conversion would refuse). ``instants``: the instants read so far from texts in
    ``zone`` (a batch's windows often share theirs), read again only when new."""
    if type(document) is not dict or not document.keys() <= _COMMON_KEYS:
        return None
    name, schedule = document.get("name"), document.get("schedule")
    description = document.get("description")
    targets = document.get("targets", [])
    if type(name) is not str or not 1 <= len(name) <= 500 \
            or not (name.isascii() or _unicode(name)) \
            or type(schedule) is not dict or schedule.keys() != _ONCE_KEYS \
            or schedule["kind"] != "once" or type(targets) is not list \
            or len(targets) > MAX_TARGETS:
        return None
    if description is not None and (type(description) is not str
                                    or len(description) > 10_000
                                    or not (description.isascii() or _unicode(description))):
        return None
    for target in targets:
        if type(target) is not str or len(target) > 300 or not _PLAIN_TARGET.fullmatch(target):
            return None
    start, end = schedule["start"], schedule["end"]
    if type(start) is not str or type(end) is not str or not 0 < len(start) <= 64 \
            or not 0 < len(end) <= 64:
        return None
    try:
        if instants is None:
            once = _once(parse_instant_field(start, "schedule.start", zone),
                         parse_instant_field(end, "schedule.end", zone), None)
        else:
            once = _once(instants.get(start) or _remember(instants, start, zone),
                         instants.get(end) or _remember(instants, end, zone), None)
    except Exception:  # the model's path says what is wrong (ValidationError)
        return None
    return _fields(name, once, description, tuple(dict.fromkeys(targets)))


def _remember(instants: dict[str, datetime], text: str, zone: str) -> datetime:
    """``parse_instant_field`` of ``text`` (in ``zone``), kept in ``instants`` (only what
    reads: a text that does not raises as it does)."""
    at = instants[text] = parse_instant_field(text, "schedule", zone)
    return at


# OnceSchedule(start=…, end=…, timezone=…) and WindowFields(name=…, schedule=…,
# description=…, targets=…) by their slots (``core.construct``): a batch builds thousands.
_once = slot_constructor(OnceSchedule, ("start", "end", "timezone"))
_fields = slot_constructor(WindowFields, ("name", "schedule", "description", "targets"))


def _unicode(text: str) -> bool:
    """No lone surrogate (which JSON may spell, and pydantic refuses). The callers ask
    ``isascii`` first (a flag of the string: no surrogate either) and this only when not."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _plain(state: AppState, principal: Principal, fields: WindowFields, now: datetime
           ) -> tuple[LoopWriter, Callable[[RawTx], WindowRecord]] | Literal[False] | None:
    """The loop writer and the checked unit of a plain create; False when this create goes
    through the session writer (no loop writer, or lookups needed); None when refused."""
    committer = state.extras.get(GROUP_COMMIT)
    writer = committer.loop_writer() if isinstance(committer, GroupCommitter) else None
    if writer is None:
        return False
    try:
        unit = windows.plain_create(principal, fields, now)
    except Exception:
        return None
    return False if unit is None else (writer, unit)


def prepare(state: AppState, key: str | None, client: str | None, body: bytes
            ) -> tuple[LoopWriter, Callable[[RawTx], WindowRecord], datetime] | None:
    """For ``api.server``'s protocol: the loop writer, the unit and the instant of a plain
    create read from ``body`` (JSON); None for anything else (the application answers)."""
    committer = state.extras.get(GROUP_COMMIT)
    if not isinstance(committer, GroupCommitter) or committer.loop_writer() is None:
        return None  # PostgreSQL, or group commit off: the application's path
    try:
        principal, fields, now = _read(state, key, client, body)
    except Exception:
        return None
    plain = _plain(state, principal, fields, now)
    if not plain:
        return None
    return plain[0], plain[1], now


def answer(record: WindowRecord, now: datetime) -> bytes:
    """The create's body: the route's ``response_model`` (``WindowPublic``) applied to
    ``window_to_json``. A one-time window without match conditions already has that shape
    (every key present, in the model's order), so it is encoded as it is; the others (the
    model fills the absent keys of a recurring rule or a matcher with null) go through the
    model."""
    doc = window_to_json(record, now)
    if doc["schedule"]["kind"] == "once" and not doc["match"]:
        return _encode(doc)
    return _PUBLIC.dump_json(_PUBLIC.validate_python(doc))


def is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the request's Content-Type is the JSON the shortcuts take."""
    for name, value in headers:
        if name == b"content-type":
            return value.lower() in _JSON_TYPES
    return False



