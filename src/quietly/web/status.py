"""Routes: the public status page of a workspace, as HTML and as JSON.

No authentication, so only what a window's owner chose to publish is shown: windows with
``publish_to_status_page`` that are active or start within ``UPCOMING_DAYS``, with their name,
description, occurrence and the targets and groups they affect. Ids, label conditions, effects,
channels and everything unpublished never reach this page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse

from quietly.api.deps import get_state
from quietly.core import lifecycle
from quietly.core.codec import format_instant
from quietly.core.errors import NotFound
from quietly.core.model import Occurrence
from quietly.core.records import WindowRecord
from quietly.services import windows, workspaces
from quietly.services.workspaces import Workspace
from quietly.web.render import page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
UPCOMING_DAYS = 30
Slug = Path(max_length=64)


@dataclass(frozen=True, slots=True)
class Published:
    name: str
    description: str | None
    occurrence: Occurrence
    affects: list[str]
    active: bool
    zone: str


def _affects(record: WindowRecord) -> list[str]:
    f = record.fields
    if f.all_targets:
        return ["All services"]
    return [*sorted(f.targets), *(f"group:{g}" for g in sorted(f.groups))]


def _published(records: list[WindowRecord], now: datetime, zone: str) -> list[Published]:
    out = []
    for record in records:
        if not record.fields.publish_to_status_page:
            continue
        window = record.to_window()
        running = lifecycle.current_occurrence(window, now)
        found = running or lifecycle.next_occurrence(window, now)
        if found is None or found.start > now + timedelta(days=UPCOMING_DAYS):
            continue
        own_zone = getattr(record.fields.schedule, "timezone", None) or zone
        out.append(Published(record.fields.name, record.fields.description, found,
                             _affects(record), running is not None, own_zone))
    return sorted(out, key=lambda p: (not p.active, p.occurrence.start, p.name))


def _load(request: Request, slug: str) -> tuple[Workspace, list[Published]] | None:
    now = datetime.now(UTC)
    with get_state(request).db.read() as db:
        try:
            ws = workspaces.get_workspace(db, slug)
        except NotFound:
            return None
        records = windows.load_all_windows(db, ws.id)
    return ws, _published(records, now, ws.timezone)


def _json(item: Published) -> dict[str, Any]:
    return {"name": item.name, "description": item.description,
            "status": "in_progress" if item.active else "scheduled",
            "start": format_instant(item.occurrence.start),
            "end": format_instant(item.occurrence.end), "affects": item.affects}


@router.get("/status/{slug}.json")
def status_json(request: Request, slug: str = Slug) -> Response:
    loaded = _load(request, slug)
    if loaded is None:
        return JSONResponse({"detail": "no such status page"}, status_code=404)
    ws, items = loaded
    return JSONResponse({
        "workspace": {"name": ws.name, "slug": ws.slug},
        "generated_at": format_instant(datetime.now(UTC).replace(microsecond=0)),
        "active": [_json(i) for i in items if i.active],
        "upcoming": [_json(i) for i in items if not i.active],
    }, headers={"Cache-Control": "public, max-age=30", "Access-Control-Allow-Origin": "*"})


@router.get("/status/{slug}")
def status_page(request: Request, slug: str = Slug) -> Response:
    loaded = _load(request, slug)
    if loaded is None:
        return page(request, "error.html", None, status=404, title="Not found",
                    message="There is no status page at this address.")
    ws, items = loaded
    return page(request, "status.html", None, workspace=ws,
                active=[i for i in items if i.active],
                upcoming=[i for i in items if not i.active],
                upcoming_days=UPCOMING_DAYS)
