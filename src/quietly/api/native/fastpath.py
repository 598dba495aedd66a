"""The decision hot path as plain Starlette endpoints (``GET``/``POST /api/v1/decide``).

They implement the contract ``decide.py`` documents for OpenAPI without FastAPI's machinery:

- auth: ``Authorization: Bearer <key>``, any role. Keys come from ``AppState.principal_for``
  (cached in memory). While the store is unreachable, a key that authenticated before keeps
  working (fail-static: decisions must go on), and an unknown one gets 503, not 401: we
  cannot tell whether it is valid;
- validation as the schemas say (``DecideRequest``/``AlertIn``, extra fields refused): the
  batch body is decoded and validated in one pass by msgspec, against structs mirroring
  those schemas. Each error names its field, e.g. ``alerts[3].labels``, and is raised as
  the domain's ``ValidationError``/HTTP error, so the app's problem handlers render it;
- answers ``{"verdict","windows","at","stale"}`` and ``{"at","stale","decisions":[…]}``
  written directly, identical decisions encoded once per request.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from operator import attrgetter
from typing import Annotated, Any
from urllib.parse import unquote

import msgspec
from fastapi import HTTPException
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import Response

from quietly.api.deps import AppState, authenticate_key, bearer_key, expired_message
from quietly.api.native.instants import parse_instant_field
from quietly.api.types import PATTERN_HINTS, TARGET_PATTERN
from quietly.core.codec import format_instant
from quietly.core.errors import Unavailable, ValidationError
from quietly.core.model import Alert, Decision, Verdict
from quietly.core.records import Principal, Role
from quietly.metrics import DECISIONS, REQUEST_LATENCY

__all__ = ["LATENCY", "PATH", "AlertIn", "DecideIn", "answer_get", "answer_post",
           "bearer_token", "check_targets", "decide_get", "decide_post", "decode_batch",
           "nul_suspected", "parse_decide_query", "principal_for_key"]

PATH = "/api/v1/decide"
# The latency metric of an answer given by a fast path (no middleware timed it), by method.
LATENCY = {m: REQUEST_LATENCY.labels(m, PATH, "200") for m in ("GET", "POST")}
MAX_ALERTS = 100_000
MAX_TARGETS = 1000
_COUNTERS = {v: DECISIONS.labels(v.value) for v in Verdict}
_JSON = "application/json"
# Keys that authenticated, for answering while the store is unreachable (bounded).
_KNOWN: dict[str, Principal] = {}
_KNOWN_MAX = 10_000
# TARGET_PATTERN as OpenAPI and pydantic (Rust's regex) read it, ``$`` being the very end:
# Python's ``$`` would also accept a trailing newline ("service:a\n").
_TARGET_EXACT = TARGET_PATTERN.removesuffix("$") + r"\Z"
_TARGET = re.compile(_TARGET_EXACT)


def _store_down(state: AppState) -> bool:
    health = state.extras.get("store_health")
    return bool(getattr(health, "down", False))


def principal_for_decisions(request: Request, state: AppState) -> Principal:
    """The caller's principal; a known key keeps working while the store is down."""
    client = request.client.host if request.client is not None else None
    return principal_for_key(bearer_key(request), state, client)


def nul_suspected(body: bytes) -> bool:
    """Whether a decision body may hold a NUL, for the fast paths to leave it to the NUL guard.

    In valid JSON a NUL can only be a raw byte or ``\\u0000`` (lowercase ``u``): two scans,
    no copy of the body (the guard's exact test lowers a copy, for ``\\U0000`` too; a body
    with that is no valid JSON and reaches the guard anyway, when decoding fails)."""
    return b"\x00" in body or b"\\u0000" in body


def bearer_token(value: bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header's raw value, as
    ``deps.bearer_key`` reads it; None for no header or another scheme."""
    if value is None:
        return None
    scheme, _, token = value.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def principal_for_key(raw: str | None, state: AppState, client: str | None = None, *,
                      count: bool = True) -> Principal:
    """The principal of a raw bearer key (``None``: no key sent), as the endpoints need it:
    any role may decide; a key seen before keeps working while the store is unreachable."""
    if raw is not None and _store_down(state):
        known = _KNOWN.get(raw)
        if known is not None and expired_message(known) is None:
            return known
    try:
        principal = authenticate_key(raw, state, Role.VIEWER, client, count=count)
    except HTTPException:
        if raw is not None:
            _KNOWN.pop(raw, None)  # revoked or unknown: forget it
        raise
    except DBAPIError:
        known = _KNOWN.get(raw) if raw is not None else None
        if known is None or expired_message(known) is not None:
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


def parse_decide_query(query_string: bytes) -> tuple[list[str], dict[str, str], str | None]:
    """``target=…&label.<name>=…&at=…`` into targets, labels and the raw ``at``, as
    ``parse_qsl(…, keep_blank_values=True)`` (Starlette's ``QueryParams``) reads them."""
    targets: list[str] = []
    labels: dict[str, str] = {}
    at: str | None = None
    text = query_string.decode("latin-1")
    # Read once per alert: no unquoting work unless the query has escapes, labels first.
    escaped = "%" in text or "+" in text
    for part in text.split("&"):
        key, _, value = part.partition("=")
        if escaped and ("%" in part or "+" in part):
            key = unquote(key.replace("+", " "))
            value = unquote(value.replace("+", " "))
        if key[:6] == "label.":
            if len(key) == 6:
                raise ValidationError("a label parameter needs a name: label.<name>=<value>",
                                      field="label")
            labels[key[6:]] = value
        elif key == "target":
            if len(targets) == MAX_TARGETS:
                raise ValidationError(f"at most {MAX_TARGETS} targets", field="target")
            targets.append(value)
        elif key == "at":
            at = value
        elif key:  # an empty part ("a=1&&b=2") is nothing, as parse_qsl reads it
            raise _unknown_parameter(key)
    return targets, labels, at


def _unknown_parameter(key: str) -> ValidationError:
    """A typo such as ``targt=`` must not quietly answer ``deliver`` for no target at all."""
    shown = key if len(key) <= 100 else key[:99] + "…"
    return ValidationError(f"unknown parameter {shown!r}; the parameters are target, at and "
                           "label.<name>", field=shown)


def _not_a_target(value: str, field: str) -> ValidationError:
    shown = value if len(value) <= 60 else value[:59] + "…"
    return ValidationError(f"{shown!r} {PATTERN_HINTS[TARGET_PATTERN]}", field=field)


# Targets already found to be ``kind:id``. A batch names few distinct targets, mostly the
# same from batch to batch: one set union (in C) and a set difference leave only new ones
# for the regular expression, which would cost more than decoding if run on every target
# (and more than a single decision's look-up).
_CHECKED: set[str] = set()
_CHECKED_MAX = 200_000


def check_targets(targets: list[str]) -> None:
    """Refuse a target that is not ``kind:id``: no window can name it, so the answer would
    be a ``deliver`` that looks like an answer about something else. A target seen valid
    before (``_CHECKED``, shared with batches) is not matched again."""
    for target in targets:
        if target in _CHECKED:
            continue
        if _TARGET.match(target) is None or len(target) > 300:
            raise _not_a_target(target, "target")
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED.add(target)


def answer_get(state: AppState, principal: Principal, query_string: bytes) -> str:
    """The JSON body answering ``GET /api/v1/decide?<query_string>`` for ``principal``;
    raises the domain's errors (named fields) for bad input."""
    targets, labels, at = parse_decide_query(query_string)
    check_targets(targets)
    instant = _instant(at or None, principal)  # an empty at= means now, as documented
    decision = state.decisions.decide(principal.workspace_id,
                                      Alert(targets=tuple(targets), labels=labels), instant)
    _COUNTERS[decision.verdict].inc()
    return (f'{{"verdict":"{decision.verdict.value}","windows":{list(decision.windows)},'
            f'"at":"{format_instant(instant)}","stale":{_bool(state.decisions.stale)}}}')


async def decide_get(request: Request) -> Response:
    """``GET /api/v1/decide?target=…&label.<name>=…&at=…``."""
    state: AppState = request.app.state.quietly
    principal = principal_for_decisions(request, state)
    return Response(answer_get(state, principal, request.scope["query_string"]),
                    media_type=_JSON)


def _bool(value: bool) -> str:
    return "true" if value else "false"


# The batch body, decoded and validated in one pass (msgspec), as ``DecideRequest``/``AlertIn``
# in schemas.py document it for OpenAPI (tests/api/test_decide_fastpath.py holds the two to
# the same answers). The alerts are handed to the index as decoded: no copy per alert.
_Target = Annotated[str, msgspec.Meta(max_length=300)]
_LabelName = Annotated[str, msgspec.Meta(max_length=200)]
_LabelValue = Annotated[str, msgspec.Meta(max_length=10_000)]


class AlertIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    targets: Annotated[tuple[_Target, ...], msgspec.Meta(max_length=MAX_TARGETS)] = ()
    labels: dict[_LabelName, _LabelValue] = {}


class DecideIn(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    alerts: Annotated[list[AlertIn], msgspec.Meta(max_length=MAX_ALERTS)]
    at: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


_DECODER = msgspec.json.Decoder(DecideIn)
# msgspec names what it refused: "… unknown field `x` - at `$.alerts[0]`", "… - at
# `$.alerts[0].labels[...]`", "… - at `key` in `$.alerts[0].labels`".
_ERROR_NAME = re.compile(r"(?:unknown|missing required) field `([^`]*)`")
_ERROR_PATH = re.compile(r" - at `(?:key` in `)?\$\.?([^`]*)`")
_ALERT_PART = re.compile(r"(alerts\[\d+\]\.(?:targets|labels))[.\[]")
_PART_MESSAGES = {
    "targets": f"a list of at most {MAX_TARGETS} strings of at most 300 characters",
    "labels": "an object of label names (at most 200 characters) to string values (at most "
              "10,000)",
}


def decode_batch(raw: bytes) -> DecideIn:
    """A ``POST /api/v1/decide`` body, decoded and validated; raises ``ValidationError``
    naming the field, or a 400 for a body that is not JSON."""
    try:
        decoded = _DECODER.decode(raw)
    except msgspec.ValidationError as error:
        raise _batch_error(error) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not valid JSON") from None
    _check_batch_targets(decoded.alerts)
    return decoded


_TARGETS_OF = attrgetter("targets")


def _check_batch_targets(alerts: list[AlertIn]) -> None:
    """Refuse a target that is not ``kind:id`` (``"checkout"``), naming ``alerts[i].targets[j]``
    as ``GET /decide`` names ``target``: no window can name it, so ``deliver`` would mislead."""
    new = set().union(*map(_TARGETS_OF, alerts)) - _CHECKED
    if not new:
        return
    bad = {target for target in new if _TARGET.match(target) is None}
    if len(_CHECKED) + len(new) > _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED.update(new - bad)
    if bad:
        i, j, target = next((i, j, t) for i, alert in enumerate(alerts)
                            for j, t in enumerate(alert.targets) if t in bad)
        raise _not_a_target(target, f"alerts[{i}].targets[{j}]")


def _batch_error(error: msgspec.ValidationError) -> ValidationError:
    """msgspec's refusal as the domain's error, naming the field (``alerts[3].labels``)."""
    text = str(error)
    path_match = _ERROR_PATH.search(text)
    path = path_match.group(1) if path_match else ""
    name = _ERROR_NAME.search(text)
    if name and "unknown" in text:
        return ValidationError("extra inputs are not permitted",
                               field=f"{path}.{name.group(1)}" if path else name.group(1))
    if name:  # a required field is missing: only ``alerts`` is required
        path = f"{path}.{name.group(1)}" if path else name.group(1)
    part = _ALERT_PART.match(path + ".")
    if part:
        field = part.group(1)
        return ValidationError(_PART_MESSAGES[field.rpartition(".")[2]], field=field)
    if not path:
        return ValidationError("the body must be a JSON object", field=None)
    if path == "alerts":
        return ValidationError(f"a list of at most {MAX_ALERTS:,} alerts is required",
                               field="alerts")
    if path == "at":
        return ValidationError("must be an RFC 3339 date-time string of at most 64 "
                               "characters, or null for now", field="at")
    return ValidationError("must be an object with optional targets and labels", field=path)


async def decide_post(request: Request) -> Response:
    """``POST /api/v1/decide`` with ``{"at"?, "alerts":[{"targets","labels"}…]}``."""
    state: AppState = request.app.state.quietly
    principal = principal_for_decisions(request, state)
    return Response(answer_post(state, principal, await request.body()), media_type=_JSON)


def answer_post(state: AppState, principal: Principal, raw: bytes) -> str:
    """The JSON body answering ``POST /api/v1/decide`` with the body ``raw`` for
    ``principal``; raises the domain's errors (named fields) for bad input."""
    request = decode_batch(raw)
    instant = _instant(request.at, principal)
    found = state.decisions.decide_many(principal.workspace_id, request.alerts, instant)
    _count(found)
    encoded: dict[Decision, str] = {}
    parts = []
    for decision in found:
        text = encoded.get(decision)
        if text is None:
            text = encoded[decision] = (f'{{"verdict":"{decision.verdict.value}",'
                                        f'"windows":{list(decision.windows)}}}')
        parts.append(text)
    return (f'{{"at":"{format_instant(instant)}","stale":{_bool(state.decisions.stale)},'
            f'"decisions":[{",".join(parts)}]}}')
