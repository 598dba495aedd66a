"""Routes: the addresses of the workspace's iCalendar feeds, and rotating them (admin only).

The feeds themselves are served by ``quietly.web.feeds`` without authentication: calendar
apps cannot send a key, so the unguessable address is the credential. Rotating the secret
replaces every address at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from quietly.api.deps import Admin, Now, State
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import TargetName
from quietly.core.codec import format_instant
from quietly.core.records import Principal
from quietly.services import calendar_feeds, windows
from quietly.services.calendar_feeds import FeedSecret

router = APIRouter(prefix="/api/v1", tags=["calendar"], responses=PROBLEM_RESPONSES)


class TargetFeed(BaseModel):
    target: str
    url: str


class CalendarFeeds(BaseModel):
    workspace_url: str
    targets: list[TargetFeed]
    rotated_at: str


def _known_targets(state: State, principal: Principal) -> list[str]:
    with state.db.read() as db:
        records = windows.load_all_windows(db, principal.workspace_id)
    return sorted({t for r in records for t in r.fields.targets})


def _feeds(request: Request, feed: FeedSecret, targets: list[str]) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "workspace_url": base + calendar_feeds.workspace_feed_path(feed),
        "targets": [{"target": t, "url": base + calendar_feeds.target_feed_path(feed, t)}
                    for t in targets],
        "rotated_at": format_instant(feed.rotated_at),
    }


TargetQuery = Annotated[list[TargetName] | None, Query(
    alias="target", max_length=100,
    description="Targets to give feed addresses for (default: every target a window names).")]


@router.get("/calendar", response_model=CalendarFeeds, operation_id="get_calendar_feeds")
def get_calendar_feeds(request: Request, state: State, principal: Admin, now: Now,
                       target: TargetQuery = None) -> Any:
    """The current feed addresses: the workspace's and one per target."""
    with state.db.transaction() as db:
        feed = calendar_feeds.feed_secret(db, principal, now)
    targets = sorted(set(target)) if target else _known_targets(state, principal)
    return _feeds(request, feed, targets)


@router.post("/calendar/rotate", response_model=CalendarFeeds,
             operation_id="rotate_calendar_feeds")
def rotate_calendar_feeds(request: Request, state: State, principal: Admin, now: Now,
                          target: TargetQuery = None) -> Any:
    """Replace every feed address; the old ones answer 404 from now on."""
    with state.db.transaction() as db:
        feed = calendar_feeds.rotate(db, principal, now)
    targets = sorted(set(target)) if target else _known_targets(state, principal)
    return _feeds(request, feed, targets)
