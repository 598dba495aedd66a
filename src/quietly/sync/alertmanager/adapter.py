"""Alertmanager's v2 silences API as a sync ``Adapter``.

The base path is configurable because Grafana, Mimir and Cortex serve the same API under
their own prefixes (``/api/alertmanager/grafana/api/v2``, ``/alertmanager/api/v2``, …), usually
behind a bearer token; basic auth and extra headers are sent too when set.

What Alertmanager 0.25 does that this module relies on (checked against the real binary):

- ``GET /silences`` cannot filter by ``createdBy`` or comment, so every silence is listed and
  ours are picked by the tag in their comment; expired ones are ignored.
- ``POST /silences`` with an ``id`` keeps the id when only ``endsAt``/comment change;
  otherwise (matchers, a running silence's start) it expires the old one and answers with a
  new id. A start in the past is moved to now.
- ``DELETE /silence/{id}`` expires the silence (it stays listed as expired for a while).

A transport error or a 5xx is a retryable ``SyncError``; a 4xx refusing one silence is
``Rejected`` (that silence is reported as not expressible, the others go on).

The reconciler calls ``create``/``change_end``/``remove`` from up to ``parallelism`` threads
at once (default 8): the HTTP client's pool is shared, the request counter is locked.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx

from quietly.notify.guard import DestinationRefused, check_destination
from quietly.notify.pinning import PinnedTransport
from quietly.sync.alertmanager.translate import SilencePayload
from quietly.sync.reconciler import DesiredObject, OwnedObject, Rejected, SyncError, Tag

__all__ = ["DEFAULT_BASE_PATH", "AlertmanagerAdapter", "Connection", "format_time",
           "parse_time"]

DEFAULT_BASE_PATH = "/api/v2"
CREATED_BY = "quietly"


@dataclass(frozen=True, slots=True)
class Connection:
    """Where a sync's Alertmanager is and how to authenticate to it."""

    url: str
    base_path: str = DEFAULT_BASE_PATH
    basic: tuple[str, str] | None = None
    bearer: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    allow_private: bool = False
    timeout: float = 10.0

    @property
    def api_url(self) -> str:
        return self.url.rstrip("/") + "/" + self.base_path.strip("/")


def format_time(value: datetime) -> str:
    """RFC 3339 with milliseconds, Alertmanager's own precision on the wire."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """Alertmanager's timestamps (nanoseconds allowed), truncated to whole milliseconds."""
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        offset = rest[len(digits):]
        text = f"{head}.{(digits + '000')[:3]}000{offset}"
    parsed = datetime.fromisoformat(text)
    return parsed.astimezone(UTC)


class AlertmanagerAdapter:
    """One sync's view of one Alertmanager cluster; use as a context manager.

    ``requests`` counts the HTTP requests made (the benchmark reports it).
    """

    def __init__(self, connection: Connection, workspace_id: int, sync_id: int, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._conn = connection
        self._workspace_id = workspace_id
        self._sync_id = sync_id
        self._transport = transport
        self.requests = 0
        self._count = threading.Lock()  # ``apply_plan`` calls from several threads at once
        self._http: httpx.Client | None = None

    def __enter__(self) -> AlertmanagerAdapter:
        try:
            address = check_destination(self._conn.url, self._conn.allow_private)
        except DestinationRefused as exc:
            raise SyncError(str(exc), retryable=exc.retryable) from exc
        transport = self._transport
        if address is not None:  # connect to the address checked, not to a new DNS answer
            host = httpx.URL(self._conn.url).host
            transport = PinnedTransport({host: address}, transport or httpx.HTTPTransport())
        headers = {"Accept": "application/json", **self._conn.headers}
        if self._conn.bearer:
            headers["Authorization"] = f"Bearer {self._conn.bearer}"
        self._http = httpx.Client(base_url=self._conn.api_url, headers=headers,
                                  auth=self._conn.basic, transport=transport,
                                  timeout=httpx.Timeout(self._conn.timeout, connect=3.0))
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        assert self._http is not None, "use the adapter as a context manager"
        with self._count:
            self.requests += 1
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise SyncError(f"Alertmanager at {self._conn.api_url} is unreachable: "
                            f"{exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise SyncError(f"Alertmanager answered {method} {path} with HTTP "
                            f"{response.status_code}: {response.text[:300]}")
        if response.status_code in (401, 403, 404):
            raise SyncError(f"Alertmanager answered {method} {path} with HTTP "
                            f"{response.status_code}: check the URL, base path and "
                            "credentials", retryable=False)
        return response

    def list_own(self) -> list[OwnedObject]:
        """Our silences that are active or pending (recognised by the tag)."""
        response = self._call("GET", "/silences")
        if response.status_code != 200:
            raise SyncError(f"listing silences answered HTTP {response.status_code}")
        try:
            silences = response.json()
        except ValueError as exc:
            raise SyncError("listing silences answered something that is not JSON") from exc
        if not isinstance(silences, list):
            raise SyncError("listing silences answered something that is not a list")
        return [own for s in silences if (own := self._own(s)) is not None]

    def _own(self, silence: Any) -> OwnedObject | None:
        if not isinstance(silence, dict):
            return None
        status = silence.get("status") or {}
        if status.get("state") == "expired":
            return None
        tag = Tag.find(str(silence.get("comment", "")))
        if tag is None or (tag.workspace_id, tag.sync_id) != (self._workspace_id,
                                                               self._sync_id):
            return None
        try:
            starts, ends = parse_time(silence["startsAt"]), parse_time(silence["endsAt"])
        except (KeyError, TypeError, ValueError):
            return None
        return OwnedObject(str(silence.get("id", "")), tag, starts, ends, silence)

    def _post(self, body: dict[str, Any]) -> str:
        response = self._call("POST", "/silences", body)
        if 400 <= response.status_code < 500:
            raise Rejected(f"Alertmanager refused the silence (HTTP {response.status_code}): "
                           f"{response.text.strip()[:300]}")
        try:
            return str(response.json()["silenceID"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncError("creating a silence answered without a silenceID") from exc

    def create(self, want: DesiredObject) -> str:
        payload = want.payload
        assert isinstance(payload, SilencePayload)
        return self._post({"matchers": [m.to_json() for m in payload.matchers],
                           "startsAt": format_time(want.starts_at),
                           "endsAt": format_time(want.ends_at),
                           "createdBy": CREATED_BY, "comment": payload.comment})

    def change_end(self, have: OwnedObject, want: DesiredObject) -> str:
        """Move the end in place (Alertmanager may answer with a new id: then it expired the
        old one itself); if it refuses, expire and create."""
        payload = want.payload
        assert isinstance(payload, SilencePayload)
        body = {"id": have.id, "matchers": [m.to_json() for m in payload.matchers],
                "startsAt": format_time(max(have.starts_at, want.starts_at)),
                "endsAt": format_time(want.ends_at), "createdBy": CREATED_BY,
                "comment": payload.comment}
        try:
            return self._post(body)
        except Rejected:
            self.remove(have)
            return self.create(want)

    def remove(self, have: OwnedObject) -> None:
        """Expire one of our silences."""
        response = self._call("DELETE", f"/silence/{have.id}")
        if response.status_code >= 300:
            raise SyncError(f"expiring silence {have.id} answered HTTP "
                            f"{response.status_code}: {response.text[:300]}")
