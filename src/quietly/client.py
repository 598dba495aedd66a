"""A small typed client for the native API (``/api/v1``), used by the CLI's client commands.

Errors::

    ClientError                 anything that kept a request from giving an answer
     ├── ApiError               the server answered with an error (problem+json): status,
     │                          field and detail; retrying the same request will not help
     │                          unless status is 503
     └── ConnectionFailed       no answer from the server at all (refused, DNS, timeout);
                                retrying later can help

I/O goes through an ``httpx2`` transport that tests may swap (``transport=``), the seam httpx
itself offers; everything else is plain dicts in the native wire shape (DESIGN §4a).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx2 as httpx

__all__ = ["DEFAULT_URL", "ApiError", "ClientError", "ConnectionFailed", "QuietlyClient"]

DEFAULT_URL = "http://127.0.0.1:8080"
_PAGE_LIMIT = 500  # the largest page the API serves
Params = Mapping[str, str | int] | list[tuple[str, str | int | float | bool | None]]


class ClientError(Exception):
    """Base of the client's errors."""


class ApiError(ClientError):
    """The server refused the request; ``field`` names the offending field when known."""

    def __init__(self, status: int, detail: str, field: str | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.errors = errors or []  # every broken field, ``{"field", "detail"}``

    def __str__(self) -> str:
        # The native API already prefixes the detail with the field ("schedule.rrule: …").
        if self.field and not self.detail.startswith(f"{self.field}:"):
            return f"{self.field}: {self.detail}"
        return self.detail


class ConnectionFailed(ClientError):
    """The server at ``url`` could not be reached."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the quietly server at {url}: {reason}")
        self.url = url
        self.reason = reason


def _api_error(response: httpx.Response) -> ApiError:
    """Read a problem+json body; a body that is not one still gives status and text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        field = body.get("field")
        errors = body.get("errors")
        return ApiError(response.status_code, body["detail"],
                        field if isinstance(field, str) and field else None,
                        [e for e in errors if isinstance(e, dict)]
                        if isinstance(errors, list) else None)
    text = response.text.strip()[:200] or response.reason_phrase
    return ApiError(response.status_code, f"HTTP {response.status_code}: {text}")


class QuietlyClient:
    """The native API over HTTP, authenticated with one API key.

    ``transport`` replaces the network (``httpx2.MockTransport`` in tests). Use as a context
    manager, or call ``close()``.
    """

    def __init__(self, url: str = DEFAULT_URL, key: str | None = None, *,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "quietly-cli"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout,
                                      transport=transport)
        except httpx.InvalidURL as exc:
            raise ConnectionFailed(self.url, f"invalid URL ({exc})") from exc

    def __enter__(self) -> QuietlyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, json: Any = None,
                params: Params | None = None, headers: dict[str, str] | None = None) -> Any:
        """Send one request; return the decoded JSON body (None for 204)."""
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers)
        except httpx.TransportError as exc:
            raise ConnectionFailed(self.url, str(exc) or type(exc).__name__) from exc
        except httpx.InvalidURL as exc:
            raise ConnectionFailed(self.url, f"invalid URL ({exc})") from exc
        if response.status_code >= 400:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(response.status_code,
                           f"the answer from {self.url}{path} is not JSON; is --url a "
                           "quietly server?") from exc

    # Windows -------------------------------------------------------------------------------

    def create_window(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", "/api/v1/windows", json=body)
        return result

    def create_windows(self, bodies: list[dict[str, Any]],
                       idempotency_key: str | None = None) -> list[int]:
        """``POST /api/v1/windows/batch``: all of ``bodies`` or none (``ApiError`` 422 whose
        ``errors`` name each bad item, ``windows[i]...``); the new ids in order."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        result: dict[str, Any] = self.request("POST", "/api/v1/windows/batch",
                                              json={"windows": bodies}, headers=headers)
        return [int(i) for i in result["ids"]]

    def get_window(self, window_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"/api/v1/windows/{window_id}")
        return result

    def update_window(self, window_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH the window; ``schedule`` keys are merged into the current schedule."""
        result: dict[str, Any] = self.request("PATCH", f"/api/v1/windows/{window_id}",
                                              json=changes)
        return result

    def cancel_window(self, window_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", f"/api/v1/windows/{window_id}/cancel")
        return result

    def delete_window(self, window_id: int) -> None:
        self.request("DELETE", f"/api/v1/windows/{window_id}")

    def list_windows(self, filters: Mapping[str, str | int | None],
                     cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page: the windows and the cursor of the next page (None on the last)."""
        params = {k: v for k, v in filters.items() if v is not None}
        if cursor:
            params["cursor"] = cursor
        page = self.request("GET", "/api/v1/windows", params=params)
        return list(page["windows"]), page.get("next_cursor")

    def iter_windows(self, filters: Mapping[str, str | int | None],
                     max_items: int | None = None) -> Iterator[dict[str, Any]]:
        """Every window matching ``filters``, following cursors (at most ``max_items``)."""
        params = dict(filters)
        params.setdefault("limit", _PAGE_LIMIT)
        cursor: str | None = None
        seen = 0
        while True:
            page, cursor = self.list_windows(params, cursor)
            for window in page:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield window
            if not cursor:
                return

    # Immediate maintenance and decisions ----------------------------------------------------

    def start_maintenance(self, targets: list[str], duration: str, name: str | None = None,
                          *, description: str | None = None, effects: list[str] | None = None,
                          publish: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {"targets": targets, "duration": duration}
        if name:
            body["name"] = name
        if description:
            body["description"] = description
        if effects:
            body["effects"] = effects
        if publish:
            body["publish_to_status_page"] = True
        result: dict[str, Any] = self.request("POST", "/api/v1/maintenance/start", json=body)
        return result

    def stop_maintenance(self, targets: list[str], delay_seconds: int = 0, *,
                         window_id: int | None = None, every: bool = False) -> dict[str, Any]:
        """End maintenance: window ``window_id`` (only ``targets`` of it, if given), or the
        immediate maintenance of ``targets`` (``every``: any running one-time window).

        Returns ``{"stopped": [...], "left_running": [...]}`` (windows in the wire shape).
        """
        body: dict[str, Any] = {"targets": targets, "delay_seconds": delay_seconds}
        if window_id is not None:
            body["window_id"] = window_id
        if every:
            body["scope"] = "all"
        result: dict[str, Any] = self.request("POST", "/api/v1/maintenance/stop", json=body)
        return result

    def decide(self, target: str, labels: Mapping[str, str] | None = None,
               at: str | None = None) -> dict[str, Any]:
        """The decision for one alert about ``target`` with ``labels`` at ``at`` (or now)."""
        params: list[tuple[str, str | int | float | bool | None]] = [("target", target)]
        params += [(f"label.{name}", value) for name, value in (labels or {}).items()]
        if at:
            params.append(("at", at))
        result: dict[str, Any] = self.request("GET", "/api/v1/decide", params=params)
        return result
