"""The decision hot path as plain Starlette endpoints (``GET``/``POST /api/v1/decide``).

They implement the contract ``decide.py`` documents for OpenAPI, by hand:

- auth: ``Authorization: Bearer <key>``, any role. Keys come from ``AppState.principal_for``
  (cached in memory). While the store is unreachable, a key that authenticated before keeps
  working (fail-static: decisions must go on), and an unknown one gets 503, not 401: we
  cannot tell whether it is valid;
- validation as the schemas say (``DecideRequest``/``AlertIn``, extra fields refused), each
  error naming its field, e.g. ``alerts[3].labels``; errors are raised as the domain's
  ``ValidationError``/HTTP errors, so the app's problem handlers render them;
- answers ``{"verdict","windows","at","stale"}`` and ``{"at","stale","decisions":[…]}``
  serialised with the stdlib ``json`` module, identical decisions encoded once per request.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quietly.api.deps import AppState, authenticate_request, bearer_key
from quietly.api.native.convert import parse_instant_field
from quietly.core.codec import format_instant
from quietly.core.errors import Unavailable, ValidationError
from quietly.core.model import Alert, Decision, Verdict
from quietly.core.records import Principal, Role
from quietly.metrics import DECISIONS

__all__ = ["DecideShortcut", "decide_get", "decide_post"]

MAX_ALERTS = 100_000
MAX_TARGETS = 1000
_COUNTERS = {v: DECISIONS.labels(v.value) for v in Verdict}
_JSON = "application/json"
# Keys that authenticated, for answering while the store is unreachable (bounded).
_KNOWN: dict[str, Principal] = {}
_KNOWN_MAX = 10_000
_NO_TARGETS: list[str] = []
_NO_LABELS: dict[str, str] = {}


def _store_down(state: AppState) -> bool:
    health = state.extras.get("store_health")
    return bool(getattr(health, "down", False))


def principal_for_decisions(request: Request, state: AppState) -> Principal:
    """The caller's principal; a known key keeps working while the store is down."""
    raw = bearer_key(request)
    if raw is not None and _store_down(state):
        known = _KNOWN.get(raw)
        if known is not None:
            return known
    try:
        principal = authenticate_request(request, state, Role.VIEWER)
    except HTTPException:
        if raw is not None:
            _KNOWN.pop(raw, None)  # revoked or unknown: forget it
        raise
    except DBAPIError:
        known = _KNOWN.get(raw) if raw is not None else None
        if known is None:
            raise Unavailable("the database is unreachable and this key was not seen "
                              "before it went away; retry later") from None
        return known
    if raw is not None and raw not in _KNOWN:
        if len(_KNOWN) >= _KNOWN_MAX:
            _KNOWN.clear()
        _KNOWN[raw] = principal
    return principal


def _instant(value: Any, principal: Principal) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if type(value) is not str or not 1 <= len(value) <= 64:
        raise ValidationError("must be an RFC 3339 date-time string of at most 64 characters",
                              field="at")
    return parse_instant_field(value, "at", principal.workspace_timezone)


def _count(decisions: list[Decision]) -> None:
    if len(decisions) == 1:
        _COUNTERS[decisions[0].verdict].inc()
        return
    for verdict, n in Counter(d.verdict for d in decisions).items():
        _COUNTERS[verdict].inc(n)


async def decide_get(request: Request) -> Response:
    """``GET /api/v1/decide?target=…&label.<name>=…&at=…``."""
    state: AppState = request.app.state.quietly
    principal = principal_for_decisions(request, state)
    targets: list[str] = []
    labels: dict[str, str] = {}
    at: str | None = None
    query = request.scope["query_string"].decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):  # as QueryParams, minus copies
        if key == "target":
            if len(targets) == MAX_TARGETS:
                raise ValidationError(f"at most {MAX_TARGETS} targets", field="target")
            targets.append(value)
        elif key.startswith("label."):
            if len(key) == 6:
                raise ValidationError("a label parameter needs a name: label.<name>=<value>",
                                      field="label")
            labels[key[6:]] = value
        elif key == "at":
            at = value
    instant = _instant(at or None, principal)  # an empty at= means now, as documented
    decision = state.decisions.decide(principal.workspace_id,
                                      Alert(targets=tuple(targets), labels=labels), instant)
    _COUNTERS[decision.verdict].inc()
    body = (f'{{"verdict":"{decision.verdict.value}","windows":{list(decision.windows)},'
            f'"at":"{format_instant(instant)}","stale":{_bool(state.decisions.stale)}}}')
    return Response(body, media_type=_JSON)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _alerts_of(data: Any) -> tuple[list[Alert], Any]:
    """Validate a ``DecideRequest`` body; returns its alerts and its raw ``at``."""
    if type(data) is not dict:
        raise ValidationError("the body must be a JSON object", field=None)
    unknown = set(data) - {"alerts", "at"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationError("extra inputs are not permitted", field=name)
    items = data.get("alerts")
    if type(items) is not list:
        raise ValidationError("a list of alerts is required", field="alerts")
    if len(items) > MAX_ALERTS:
        raise ValidationError(f"at most {MAX_ALERTS} alerts per request", field="alerts")
    return [_alert(item, i) for i, item in enumerate(items)], data.get("at")


def _alert(item: Any, i: int) -> Alert:
    """One ``AlertIn``; plain loops, not ``all(genexpr)``: this runs 1,000s of times a request."""
    if type(item) is not dict:
        raise ValidationError("must be an object", field=f"alerts[{i}]")
    targets = item.get("targets", _NO_TARGETS)
    labels = item.get("labels", _NO_LABELS)
    if len(item) > ("targets" in item) + ("labels" in item):
        name = sorted(set(item) - {"targets", "labels"})[0]
        raise ValidationError("extra inputs are not permitted", field=f"alerts[{i}].{name}")
    if type(targets) is not list or len(targets) > MAX_TARGETS:
        raise _bad_targets(i)
    for target in targets:
        if type(target) is not str or len(target) > 300:
            raise _bad_targets(i)
    if type(labels) is not dict:
        raise _bad_labels(i)
    for name, value in labels.items():
        if type(value) is not str or len(value) > 10_000 or len(name) > 200:
            raise _bad_labels(i)
    return Alert(targets=tuple(targets), labels=labels)


def _bad_targets(i: int) -> ValidationError:
    return ValidationError(f"a list of at most {MAX_TARGETS} strings of at most 300 "
                           "characters", field=f"alerts[{i}].targets")


def _bad_labels(i: int) -> ValidationError:
    return ValidationError("an object of label names (at most 200 characters) to string "
                           "values (at most 10,000)", field=f"alerts[{i}].labels")


async def decide_post(request: Request) -> Response:
    """``POST /api/v1/decide`` with ``{"at"?, "alerts":[{"targets","labels"}…]}``."""
    state: AppState = request.app.state.quietly
    principal = principal_for_decisions(request, state)
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not valid JSON") from None
    alerts, at = _alerts_of(data)
    instant = _instant(at, principal)
    found = state.decisions.decide_many(principal.workspace_id, alerts, instant)
    _count(found)
    encoded: dict[Decision, str] = {}
    parts = []
    for decision in found:
        text = encoded.get(decision)
        if text is None:
            text = encoded[decision] = (f'{{"verdict":"{decision.verdict.value}",'
                                        f'"windows":{list(decision.windows)}}}')
        parts.append(text)
    body = (f'{{"at":"{format_instant(instant)}","stale":{_bool(state.decisions.stale)},'
            f'"decisions":[{",".join(parts)}]}}')
    return Response(body, media_type=_JSON)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class DecideShortcut:
    """ASGI middleware: ``GET``/``POST /api/v1/decide`` go straight to the endpoints above.

    Skips the exception middleware and the router, which cost more than the decision itself
    (measured: most of the ~150 µs per request went to route matching). On any error the
    request is replayed through the full application instead, so errors keep exactly the
    shape the app's problem handlers give them (the endpoint runs twice then: errors are the
    rare case). Everything else passes through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/v1/decide":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        body = b""
        if method == "POST":
            chunks = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        endpoint = decide_get if method == "GET" else decide_post
        try:
            response = await endpoint(Request(scope, _replay(body)))
        except Exception:  # rendered by the app's own handlers, see the docstring
            await self.app(scope, _replay(body), send)
            return
        await response(scope, receive, send)
