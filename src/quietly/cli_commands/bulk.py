"""Create many windows through ``POST /api/v1/windows/batch`` with per-window outcomes.

The batch endpoint is all or none; the commands that import files want each good window
created and each bad one reported. So a batch refused with 422 is sent again without the
items the answer named (``windows[3].schedule.end``), until what is left goes through. A
server without the batch endpoint (404/405), or an answer naming no item, falls back to one
``POST /api/v1/windows`` per window.
"""

from __future__ import annotations

import re
from typing import Any

from quietly.client import ApiError, QuietlyClient

__all__ = ["CHUNK", "Outcome", "create_many"]

CHUNK = 5_000  # windows per request (the endpoint takes 10,000; bodies stay well under 32 MiB)
_ITEM = re.compile(r"^windows\[(\d+)\](?:\.(.+))?$")
Outcome = tuple[int | None, ApiError | None]  # the new id, or why not


def create_many(client: QuietlyClient, bodies: list[dict[str, Any]]) -> list[Outcome]:
    """Create ``bodies``; for each, its new id or the server's refusal (in order). 401/403
    and connection failures are raised: they would fail every window."""
    results: list[Outcome] = [(None, None)] * len(bodies)
    for start in range(0, len(bodies), CHUNK):
        _create_chunk(client, bodies, list(range(start, min(len(bodies), start + CHUNK))),
                      results)
    return results


def _create_chunk(client: QuietlyClient, bodies: list[dict[str, Any]], indices: list[int],
                  results: list[Outcome]) -> None:
    while indices:
        try:
            ids = client.create_windows([bodies[i] for i in indices])
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            bad = _named_items(exc, indices) if exc.status == 422 else {}
            if not bad:
                for i in indices:
                    results[i] = _create_one(client, bodies[i])
                return
            for i, error in bad.items():
                results[i] = (None, error)
            indices = [i for i in indices if i not in bad]
            continue
        for i, new_id in zip(indices, ids, strict=True):
            results[i] = (new_id, None)
        return


def _named_items(exc: ApiError, indices: list[int]) -> dict[int, ApiError]:
    """The items a 422 names, as errors of their own (field relative to the window)."""
    bad: dict[int, ApiError] = {}
    for error in exc.errors or [{"field": exc.field, "detail": exc.detail}]:
        found = _ITEM.match(str(error.get("field") or ""))
        if found is None or int(found.group(1)) >= len(indices):
            return {}  # about the request as a whole: let each window speak for itself
        index = indices[int(found.group(1))]
        if index not in bad:
            bad[index] = ApiError(exc.status, str(error.get("detail", exc.detail)),
                                  found.group(2))
    return bad


def _create_one(client: QuietlyClient, body: dict[str, Any]) -> Outcome:
    try:
        return int(client.create_window(body)["id"]), None
    except ApiError as exc:
        if exc.status in (401, 403):
            raise
        return None, exc
