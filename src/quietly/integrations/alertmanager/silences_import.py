"""Alertmanager's silences → one-time quietly windows (``quietly import alertmanager-silences``).

``AlertmanagerApi`` is the small HTTP seam to Alertmanager's v2 API (``GET /api/v2/silences``,
``DELETE /api/v2/silence/{id}``), with optional basic auth, bearer token and extra headers;
the base URL may carry a path prefix (Grafana, Mimir and Cortex serve the same API under
their own). ``plan_silences`` is pure: it decides, per silence, the window to create or why not.

Each active or pending silence becomes one window with effect ``mute``, schedule ``once`` from
``startsAt`` to ``endsAt`` (UTC), and one condition group holding the silence's matchers with
the same operators. Name: the comment's first line (or the silence id); description: who
created it, the whole comment, the source, and the line ``quietly-import:
alertmanager-silence:<id>`` by which a second run recognises it (idempotent). Expired silences
are skipped. Alertmanager's silences include their end instant and quietly's windows do not:
the window ends at ``endsAt`` exactly, one instant earlier.

Errors::

    AlertmanagerError            Alertmanager could not be asked; ``retry_can_help`` says
                                 whether trying again later may work (unreachable, 5xx)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx2 as httpx

from quietly.core.codec import format_instant
from quietly.core.errors import QuietlyError
from quietly.integrations.alertmanager.config_import import MARKER
from quietly.integrations.alertmanager.convert import parse_timestamp
from quietly.integrations.alertmanager.matchers import from_silence

__all__ = ["AlertmanagerApi", "AlertmanagerError", "SilencePlan", "plan_silences",
           "silence_key"]

_NAME_LENGTH = 120
_DESCRIPTION_LENGTH = 10_000  # the API's limit


class AlertmanagerError(Exception):
    """Alertmanager did not answer as expected."""

    def __init__(self, message: str, *, retry_can_help: bool) -> None:
        super().__init__(message)
        self.retry_can_help = retry_can_help


class AlertmanagerApi:
    """Alertmanager's v2 API at ``url`` (``http://127.0.0.1:9093`` or a prefixed base)."""

    def __init__(self, url: str, *, basic_auth: tuple[str, str] | None = None,
                 bearer_token: str | None = None, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        sent = {"Accept": "application/json", "User-Agent": "quietly-import", **(headers or {})}
        if bearer_token:
            sent["Authorization"] = f"Bearer {bearer_token}"
        try:
            self._http = httpx.Client(base_url=self.url, headers=sent, timeout=timeout,
                                      auth=basic_auth, transport=transport)
        except httpx.InvalidURL as exc:
            raise AlertmanagerError(f"--url: {url!r} is not a URL ({exc})",
                                    retry_can_help=False) from exc

    def __enter__(self) -> AlertmanagerApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _send(self, method: str, path: str) -> httpx.Response:
        try:
            response = self._http.request(method, path)
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise AlertmanagerError(f"cannot reach Alertmanager at {self.url}: "
                                    f"{exc or type(exc).__name__}", retry_can_help=True) from exc
        if response.status_code >= 400:
            raise AlertmanagerError(
                f"Alertmanager answered {method} {path} with HTTP {response.status_code}: "
                f"{response.text.strip()[:200]}", retry_can_help=response.status_code >= 500)
        return response

    def list_silences(self) -> list[dict[str, Any]]:
        try:
            body = self._send("GET", "/api/v2/silences").json()
        except ValueError as exc:
            raise AlertmanagerError(f"{self.url}/api/v2/silences did not answer JSON: is "
                                    "--url an Alertmanager?", retry_can_help=False) from exc
        if not isinstance(body, list):
            raise AlertmanagerError(f"{self.url}/api/v2/silences did not answer a list",
                                    retry_can_help=False)
        return [s for s in body if isinstance(s, dict)]

    def expire(self, silence_id: str) -> None:
        self._send("DELETE", f"/api/v2/silence/{silence_id}")


def silence_key(silence_id: str) -> str:
    return f"alertmanager-silence:{silence_id}"


@dataclass
class SilencePlan:
    create: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    # Already imported and still running in Alertmanager: --take-over may expire them.
    imported: list[tuple[dict[str, Any], int]] = field(default_factory=list)


def _name(silence: dict[str, Any]) -> str:
    first = next((line.strip() for line in str(silence.get("comment") or "").splitlines()
                  if line.strip()), "")
    name = first or f"Alertmanager silence {silence['id']}"
    return name if len(name) <= _NAME_LENGTH else name[: _NAME_LENGTH - 1] + "…"


def _window(silence: dict[str, Any], start: datetime, end: datetime, source: str) \
        -> dict[str, Any]:
    created_by = str(silence.get("createdBy") or "unknown")
    text = (f"Imported from the Alertmanager at {source}: silence {silence['id']} "
            f"created by {created_by}.\n\n{silence.get('comment') or ''}").rstrip()
    marker = f"\n{MARKER} {silence_key(silence['id'])}"
    description = text[: _DESCRIPTION_LENGTH - len(marker)] + marker  # the key always fits
    return {"name": _name(silence), "description": description,
            "schedule": {"kind": "once", "start": format_instant(start),
                         "end": format_instant(end), "timezone": "UTC"},
            "match": [[from_silence(m) for m in silence.get("matchers") or []]],
            "effects": ["mute"]}


def _why_not(silence: dict[str, Any]) -> str | None:
    state = (silence.get("status") or {}).get("state")
    if state not in ("active", "pending"):
        return f"it is {state or 'in an unknown state'}"
    if not silence.get("matchers"):
        return "it has no matchers"
    return None


def plan_silences(silences: list[dict[str, Any]], imported: Mapping[str, int],
                  *, source: str, now: datetime) -> SilencePlan:
    """What to do with each silence; ``imported`` maps import keys to existing window ids."""
    plan = SilencePlan()
    for silence in sorted(silences, key=lambda s: str(s.get("id"))):
        if "id" not in silence:
            continue
        reason = _why_not(silence)
        if reason:
            plan.skipped.append((silence, reason))
            continue
        window_id = imported.get(silence_key(silence["id"]))
        if window_id is not None:
            plan.imported.append((silence, window_id))
            continue
        try:
            start = parse_timestamp(silence.get("startsAt"), "startsAt")
            end = parse_timestamp(silence.get("endsAt"), "endsAt")
        except QuietlyError as exc:
            plan.skipped.append((silence, str(exc)))
            continue
        if start is None or end is None or end <= now:
            plan.skipped.append((silence, "it has no future end"))
            continue
        plan.create.append((silence, _window(silence, start, end, source)))
    return plan
