"""Icinga 2's REST API (``/v1``) as a sync ``Adapter``.

What Icinga 2.13 does that this module relies on (checked against the real daemon):

- ``GET /v1/objects/downtimes`` with a filter on ``downtime.author`` lists candidates; ours
  are picked by the tag in their comment. Ended downtimes stay listed until a sweep about a
  minute later: those whose end has passed are ignored.
- ``POST /v1/actions/schedule-downtime`` schedules one more downtime each time it is called
  (twice makes two), so a run always lists before it creates (see ``sync.reconciler``). The
  object is named by its full name (``host``, ``service: "web1!http"``), a lookup: a
  ``filter`` would be evaluated against every host (10,000 downtimes took 26 minutes that
  way, 3 by name; ``bench/icinga.py``). An unknown name answers 404 (a filter that matches nothing,
  500 with no results): that object is refused (``Rejected``), not an outage.
- With ``all_services`` a host downtime gets one child downtime per service (``parent`` set):
  children belong to their parent and are never listed as objects of their own; removing
  the parent removes them.
- ``POST /v1/actions/remove-downtime`` with ``downtime: <name>`` removes exactly that one.
  With ``type: Host`` it would remove *every* downtime of the host, anyone's: never used.
  An unknown name answers 404: already gone.
- A downtime's end can be changed in place, but not its children's: a changed end is
  scheduled anew and the old downtime removed afterwards, so the object stays in downtime
  throughout (a crash in between leaves two with one tag; the next run removes one).

An HA zone has several endpoints (``Connection.endpoints`` after ``url``), any of which takes
API calls and replicates downtimes to the others. Every run starts with ``url``; a call whose
connection cannot be made (refused, timed out, TLS failure: the request was never sent) is
sent to the next endpoint, which then serves the rest of the run; ``endpoint`` says which one
answered and ``unreachable`` which did not. A call that failed after it was sent is not
retried elsewhere (``schedule-downtime`` might have been carried out): the run fails and the
next run, which lists first, finds what was made.

The adapter is safe to call from several threads at once (``reconciler.apply_plan`` sends
``parallelism`` requests at a time over one connection pool).

Transport errors, TLS failures and 5xx answers are retryable ``SyncError``; 401/403 are not.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx

from quietly.notify.guard import DestinationRefused, check_destination
from quietly.notify.pinning import PinnedTransport
from quietly.sync.icinga2.translate import DowntimePayload
from quietly.sync.reconciler import DesiredObject, OwnedObject, Rejected, SyncError, Tag

__all__ = ["AUTHOR", "Connection", "IcingaAdapter", "from_timestamp", "to_timestamp"]

AUTHOR = "quietly"
_ATTRS = ("author", "comment", "start_time", "end_time", "host_name", "service_name",
          "parent", "fixed")


@dataclass(frozen=True, slots=True)
class Connection:
    """Where a sync's Icinga 2 API is and how to authenticate to it."""

    url: str
    username: str
    password: str
    ca_file: str | None = None
    verify_tls: bool = True
    allow_private: bool = False
    timeout: float = 10.0
    endpoints: tuple[str, ...] = ()  # the other endpoints of the zone, tried in order

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.endpoints)

    def tls(self) -> ssl.SSLContext | bool:
        """What to verify the API's certificate with: the CA file, the system's CAs, or
        nothing (``verify_tls: false``, for a self-signed certificate on a trusted net)."""
        if not self.verify_tls:
            return False
        if self.ca_file:
            return ssl.create_default_context(cafile=self.ca_file)
        return True


def to_timestamp(value: datetime) -> float:
    """Unix seconds with milliseconds, as Icinga takes them."""
    return round(value.timestamp(), 3)


def from_timestamp(value: Any) -> datetime:
    """Icinga's Unix seconds (stored with a little float noise) to the nearest millisecond."""
    millis = round(float(value) * 1000)
    return datetime.fromtimestamp(millis / 1000, UTC)


class IcingaAdapter:
    """One sync's view of one Icinga 2 instance (or HA zone); use as a context manager."""

    def __init__(self, connection: Connection, workspace_id: int, sync_id: int, *,
                 now: datetime) -> None:
        self._conn = connection
        self._workspace_id = workspace_id
        self._sync_id = sync_id
        self._now = now
        self.requests = 0
        self.endpoint: str | None = None  # the endpoint that answered last
        self.unreachable: list[str] = []  # endpoints whose connection failed in this run
        self._current = 0
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    def __enter__(self) -> IcingaAdapter:
        try:
            pins = {httpx.URL(url).host: address for url in self._conn.urls
                    if (address := check_destination(url, self._conn.allow_private))}
            verify = self._conn.tls()
        except DestinationRefused as exc:
            raise SyncError(str(exc), retryable=exc.retryable) from exc
        except (OSError, ssl.SSLError) as exc:
            raise SyncError(f"ca_file {self._conn.ca_file!r} cannot be read: {exc}",
                            retryable=False) from exc
        # Each endpoint is connected to at the address checked, not at a new DNS answer.
        transport = PinnedTransport(pins, httpx.HTTPTransport(verify=verify)) if pins else None
        self._http = httpx.Client(
            auth=(self._conn.username, self._conn.password), verify=verify, transport=transport,
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(self._conn.timeout, connect=3.0))
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._http is not None:
            self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Send to the current endpoint; on a connection that cannot be made, to the next."""
        assert self._http is not None, "use the adapter as a context manager"
        urls = self._conn.urls
        with self._lock:
            first = self._current
        failures: list[str] = []
        for step in range(len(urls)):
            index = (first + step) % len(urls)
            url = urls[index]
            with self._lock:
                self.requests += 1
            try:
                response = self._http.request(method, url.rstrip("/") + "/v1" + path,
                                              json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failures.append(f"{url}: {exc.__class__.__name__}: {exc}")
                self._unreachable(url)
                continue
            except httpx.TransportError as exc:
                raise SyncError(f"Icinga 2 at {url} is unreachable: "
                                f"{exc.__class__.__name__}: {exc}") from exc
            with self._lock:
                self._current, self.endpoint = index, url
            return self._checked(response, method, path)
        what = ("Icinga 2 is unreachable" if len(urls) == 1
                else "no endpoint of the Icinga 2 zone could be reached")
        raise SyncError(f"{what}: " + "; ".join(failures))

    def _unreachable(self, url: str) -> None:
        with self._lock:
            if url not in self.unreachable:
                self.unreachable.append(url)

    @staticmethod
    def _checked(response: httpx.Response, method: str, path: str) -> httpx.Response:
        if response.status_code in (401, 403):
            raise SyncError(f"Icinga 2 answered {method} {path} with HTTP "
                            f"{response.status_code}: check the API user and its "
                            "permissions", retryable=False)
        return response

    def list_own(self) -> list[OwnedObject]:
        """Our downtimes that have not ended (recognised by the tag), children left out."""
        response = self._call("GET", "/objects/downtimes", {
            "filter": "downtime.author == author", "filter_vars": {"author": AUTHOR},
            "attrs": list(_ATTRS)})
        if response.status_code != 200:
            raise SyncError(f"listing downtimes answered HTTP {response.status_code}: "
                            f"{response.text[:300]}")
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SyncError("listing downtimes answered something unexpected") from exc
        return [own for item in results if (own := self._own(item)) is not None]

    def _own(self, item: Any) -> OwnedObject | None:
        if not isinstance(item, dict) or not isinstance(item.get("attrs"), dict):
            return None
        attrs = item["attrs"]
        if attrs.get("parent"):
            return None  # a service's share of a host downtime: its parent stands for it
        tag = Tag.find(str(attrs.get("comment", "")))
        if tag is None or (tag.workspace_id, tag.sync_id) != (self._workspace_id,
                                                               self._sync_id):
            return None
        try:
            starts, ends = from_timestamp(attrs["start_time"]), from_timestamp(attrs["end_time"])
        except (KeyError, TypeError, ValueError, OverflowError):
            return None
        if ends <= self._now:
            return None  # ended; Icinga sweeps it away by itself
        return OwnedObject(str(item.get("name", "")), tag, starts, ends, attrs)

    def create(self, want: DesiredObject) -> str:
        payload = want.payload
        assert isinstance(payload, DowntimePayload)
        obj = payload.object
        body: dict[str, Any] = {
            "type": obj.type, "start_time": to_timestamp(want.starts_at),
            "end_time": to_timestamp(want.ends_at), "fixed": True, "author": AUTHOR,
            "comment": payload.comment}
        if obj.type == "Host":
            body |= {"host": obj.host, "all_services": obj.all_services}
        else:
            body |= {"service": obj.full_name}
        response = self._call("POST", "/actions/schedule-downtime", body)
        results = _results(response)
        if response.status_code == 404 or (response.status_code >= 500 and not results):
            raise Rejected(f"Icinga 2 has no {obj.type.lower()} {obj.full_name!r}")
        if response.status_code >= 300 or not results:
            raise _failure(response, f"scheduling a downtime on {obj.full_name!r}")
        try:
            return str(results[0]["name"])
        except (KeyError, TypeError) as exc:
            raise SyncError("scheduling a downtime answered without its name") from exc

    def change_end(self, have: OwnedObject, want: DesiredObject) -> str:
        """Schedule the new downtime, then remove the old one (see the module docstring)."""
        new_name = self.create(want)
        self.remove(have)
        return new_name

    def remove(self, have: OwnedObject) -> None:
        """Remove exactly this downtime (and its children), by name."""
        response = self._call("POST", "/actions/remove-downtime",
                              {"type": "Downtime", "downtime": have.id})
        if response.status_code == 404:
            return  # already gone
        if response.status_code >= 300:
            raise _failure(response, f"removing downtime {have.id!r}")


def _results(response: httpx.Response) -> list[Any]:
    try:
        results = response.json().get("results")
    except (ValueError, AttributeError):
        return []
    return results if isinstance(results, list) else []


def _failure(response: httpx.Response, what: str) -> SyncError:
    text = response.text.strip()[:300]
    if 400 <= response.status_code < 500:
        return Rejected(f"Icinga 2 refused {what} (HTTP {response.status_code}): {text}")
    return SyncError(f"{what} answered HTTP {response.status_code}: {text}")
