"""Routes: the iCalendar feeds, per workspace and per target, at unguessable addresses.

No authentication (calendar apps cannot send keys): the HMAC token in the path is the
credential, and a wrong token, an unknown workspace and a rotated address all answer the same
404. ``Cache-Control: private`` keeps shared caches from keeping a copy.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Path, Request, Response

from quietly.api.deps import get_state
from quietly.core.errors import NotFound
from quietly.core.records import WindowRecord
from quietly.services import calendar_feeds, groups, windows, workspaces
from quietly.web.ical import build_calendar

__all__ = ["covers_target", "router"]

router = APIRouter(include_in_schema=False)
ICS = "text/calendar; charset=utf-8"


def covers_target(record: WindowRecord, target: str, group_members: dict[str, frozenset[str]]
                  ) -> bool:
    """Whether the window names ``target``, a group holding it, or all targets.

    Windows that only match alert labels are left out: a label condition says nothing about
    which target it will hit.
    """
    f = record.fields
    return f.all_targets or target in f.targets or any(
        target in group_members.get(g, frozenset()) for g in f.groups)


def _not_found() -> Response:
    return Response("no such calendar feed\n", status_code=404, media_type="text/plain")


def _calendar(body: bytes, filename: str) -> Response:
    return Response(body, media_type=ICS, headers={
        "Cache-Control": "private, max-age=300",
        "Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/calendar/{slug}/{token}.ics")
def workspace_feed(request: Request, slug: str = Path(max_length=64),
                   token: str = Path(max_length=64)) -> Response:
    """Every live window of the workspace."""
    state = get_state(request)
    now = datetime.now(UTC)
    with state.db.read() as db:
        try:
            workspace_id = calendar_feeds.verify(db, slug, "workspace", token)
        except NotFound:
            return _not_found()
        ws = workspaces.get_workspace(db, slug)
        records = windows.load_all_windows(db, workspace_id)
    body = build_calendar(records, now, name=f"{ws.name} — maintenance (quietly)")
    return _calendar(body, f"{slug}.ics")


@router.get("/calendar/{slug}/targets/{target}/{token}.ics")
def target_feed(request: Request, slug: str = Path(max_length=64),
                target: str = Path(max_length=300), token: str = Path(max_length=64)
                ) -> Response:
    """The windows that cover one target (directly, through a group, or all targets)."""
    state = get_state(request)
    now = datetime.now(UTC)
    with state.db.read() as db:
        try:
            workspace_id = calendar_feeds.verify(db, slug, f"target:{target}", token)
        except NotFound:
            return _not_found()
        members = groups.load_all_groups(db, workspace_id).get(workspace_id, {})
        records = [r for r in windows.load_all_windows(db, workspace_id)
                   if covers_target(r, target, members)]
    body = build_calendar(records, now, name=f"{target} — maintenance (quietly)")
    return _calendar(body, f"{slug}-{target.replace(':', '-')}.ics")
