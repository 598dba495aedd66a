"""``POST /api/v1/windows/batch``: many windows in one request, all or none.

Atomic, not per-item results: a batch is what ``quietly import`` and files of windows send,
and a retry of the same body (with the same ``Idempotency-Key``) must mean the same thing —
with per-item results a client has to work out which items of a failed request exist. So a
batch is validated whole first; if any item is bad, the answer is one 422 naming every bad
item (``windows[17].schedule.end``) and nothing is created; otherwise every window is created
in one transaction. Alertmanager has no bulk silence API; PagerDuty's and Datadog's
maintenance/downtime APIs create one object per request; their bulk endpoints elsewhere
(PagerDuty's incident updates, Datadog's bulk deletes) also refuse a request as a whole on a
validation error. A client that wants the good items through anyway resends the batch without
the items the 422 named (``quietly import`` does exactly that).

``write`` is how the native create routes write: through the group-commit writer when it is
on (``settings.group_commit``), else in a transaction of the request's own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from quietly.api.deps import AppState, Editor, Now, State
from quietly.api.native.convert import window_fields_from_create
from quietly.api.native.schemas import WindowCreate
from quietly.api.problems import PROBLEM_RESPONSES, render_error
from quietly.core.errors import ValidationError
from quietly.core.records import WindowFields
from quietly.services import windows
from quietly.services.collector import collector_paused
from quietly.storage.groupcommit import GROUP_COMMIT, GroupCommitter

__all__ = ["GROUP_COMMIT", "MAX_BATCH", "repeated_members", "router", "write"]

MAX_BATCH = 10_000
T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["windows"], responses=PROBLEM_RESPONSES)


class WindowBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    windows: list[WindowCreate] = Field(
        min_length=1, max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH:,} windows, each as for POST /api/v1/windows.")


class WindowBatchCreated(BaseModel):
    created: int = Field(description="How many windows were created (all of the batch).")
    ids: list[int] = Field(description="The new windows' ids, in the order of the request.")


def write(state: AppState, work: Callable[[Session], T]) -> T:
    """Run ``work`` in a committed transaction: grouped with concurrent writes when group
    commit is on. Returns once the commit is durable."""
    committer = state.extras.get(GROUP_COMMIT)
    if isinstance(committer, GroupCommitter):
        return committer.run(work)
    with state.db.transaction() as db:
        return work(db)


async def _collector_paused() -> AsyncIterator[None]:
    """A dependency: the collector stays off from before the body is validated until the
    response is sent (``services.collector``)."""
    with collector_paused():
        yield


@router.post("/windows/batch", status_code=201, response_model=WindowBatchCreated,
             operation_id="create_windows_batch", dependencies=[Depends(_collector_paused)])
async def create_windows_batch(body: WindowBatch, request: Request, state: State,
                               principal: Editor, now: Now) -> Any:
    """Create up to 10,000 windows in one request, all or none: if any window is invalid the
    answer is 422 naming every bad one (``windows[17].schedule.end``) and none is created.
    Each window is created as by POST /api/v1/windows (audit entry, ``window.created``
    events, decisions change at once). A JSON object naming a member twice is refused (422,
    naming it) rather than read as its last value. Send ``Idempotency-Key`` to retry
    safely."""
    repeated = repeated_members(await request.body())
    if repeated:
        errors = [{"field": path, "detail": "this member is given twice in its object"}
                  for path in repeated]
        return _invalid(request, windows.InvalidItems(errors))

    def create() -> Response | list[int]:
        fields: list[WindowFields] = []
        errors: list[dict[str, str]] = []
        for i, item in enumerate(body.windows):
            try:
                fields.append(window_fields_from_create(item, principal.workspace_timezone))
            except ValidationError as exc:
                errors.append({"field": f"windows[{i}]" + (f".{exc.field}" if exc.field
                                                           else ""), "detail": exc.message})
        if errors:
            return _invalid(request, windows.InvalidItems(errors))
        try:
            records = write(state, lambda db: windows.create_windows(db, principal, fields,
                                                                     now))
        except windows.InvalidItems as exc:
            return _invalid(request, exc)
        return [r.id for r in records]

    result = await anyio.to_thread.run_sync(create)
    if isinstance(result, Response):
        return result
    return {"created": len(result), "ids": result}


class _Repeated(dict[str, Any]):
    """A decoded JSON object that named some members more than once."""

    repeated: list[str]


def repeated_members(raw: bytes) -> list[str]:
    """Field paths (``windows[3].name``) of members a JSON text names twice in one object."""
    seen_repeat = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal seen_repeat
        out = dict(items)
        if len(out) == len(items):
            return out
        seen_repeat = True
        marked = _Repeated(out)
        names = [key for key, _ in items]
        marked.repeated = sorted({key for key in names if names.count(key) > 1})
        return marked

    try:
        data = json.loads(raw, object_pairs_hook=pairs)
    except ValueError:
        return []  # not JSON: the body's own validation says so
    if not seen_repeat:
        return []
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key in getattr(node, "repeated", []):
                found.append(f"{path}.{key}" if path else key)
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(data, "")
    return sorted(set(found))


def _invalid(request: Request, exc: windows.InvalidItems) -> Response:
    return render_error(request, 422, str(exc), exc.errors[0]["field"], exc.errors)
