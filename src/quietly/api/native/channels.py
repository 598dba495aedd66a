"""Routes: channels (admin), routes (admin), the delivery log (viewer), a channel test."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from quietly.api.deps import Admin, AppState, Now, State, Viewer
from quietly.api.native.channel_schemas import (
    ChannelCreate,
    ChannelList,
    ChannelPublic,
    ChannelTestResult,
    ChannelUpdate,
    DeliveryList,
    RouteCreate,
    RouteList,
    RoutePublic,
    RouteUpdate,
)
from quietly.api.native.convert import match_from_schema
from quietly.api.problems import PROBLEM_RESPONSES
from quietly.api.types import CursorQuery, SmallId
from quietly.core.codec import format_instant
from quietly.notify import (
    HttpTransport,
    OutboundRequest,
    OutboundResponse,
    Transport,
    TransportError,
    render_body,
    sign,
)
from quietly.services import channels, deliveries, routes
from quietly.services.outbox import event_id_for

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

# Channel and route ids are 32-bit on PostgreSQL: a larger id is a 422, not a driver error.
DeliveryStatus = Literal["pending", "delivering", "delivered", "failed", "skipped"]


@router.post("/channels", status_code=201, response_model=ChannelPublic, tags=["channels"],
             operation_id="create_channel")
def create_channel(body: ChannelCreate, state: State, principal: Admin, now: Now) -> Any:
    """Create a channel; the answer shows the signing secret in full, once."""
    with state.db.transaction() as db:
        channel = channels.create_channel(
            db, principal, name=body.name, type=body.type, url=body.url, secret=body.secret,
            allow_private=state.settings.webhook_allow_private, now=now)
    return channel.to_json(reveal_secret=True)


@router.get("/channels", response_model=ChannelList, tags=["channels"],
            operation_id="list_channels")
def list_channels(state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return {"channels": [c.to_json() for c in channels.list_channels(db, principal)]}


@router.get("/channels/{channel_id:int}", response_model=ChannelPublic, tags=["channels"],
            operation_id="get_channel")
def get_channel(channel_id: SmallId, state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return channels.get_channel(db, principal, channel_id).to_json()


@router.patch("/channels/{channel_id:int}", response_model=ChannelPublic, tags=["channels"],
              operation_id="update_channel")
def update_channel(channel_id: SmallId, body: ChannelUpdate, state: State, principal: Admin,
                   now: Now) -> Any:
    """Change fields; ``"secret": null`` rotates to a new generated secret (shown once)."""
    changes = body.model_dump(exclude_unset=True)
    with state.db.transaction() as db:
        channel = channels.update_channel(
            db, principal, channel_id, changes,
            allow_private=state.settings.webhook_allow_private, now=now)
    return channel.to_json(reveal_secret="secret" in changes)


@router.delete("/channels/{channel_id:int}", status_code=204, response_class=Response,
               tags=["channels"], operation_id="delete_channel")
def delete_channel(channel_id: SmallId, state: State, principal: Admin, now: Now) -> Response:
    with state.db.transaction() as db:
        channels.delete_channel(db, principal, channel_id, now)
    return Response(status_code=204)


def _send(state: AppState, request: OutboundRequest) -> OutboundResponse:
    """Send through the app's transport if one is set (tests), else a short-lived one."""
    found = state.extras.get("transport")
    if found is not None:
        transport: Transport = found  # type: ignore[assignment]
        return transport.send(request)
    own = HttpTransport(allow_private=state.settings.webhook_allow_private, timeout=10.0)
    try:
        return own.send(request)
    finally:
        own.close()


@router.post("/channels/{channel_id:int}/test", response_model=ChannelTestResult,
             tags=["channels"], operation_id="test_channel")
def test_channel(channel_id: SmallId, state: State, principal: Admin, now: Now) -> Any:
    """Send a sample ``channel.test`` message now, signed like any other, and report how the
    receiver answered (nothing is queued or retried)."""
    with state.db.read() as db:
        channel = channels.get_channel(db, principal, channel_id)
    event_id = event_id_for(f"test:{channel.id}:{time.time_ns()}")
    event = {"id": event_id, "type": "channel.test", "at": format_instant(now),
             "workspace_id": principal.workspace_id, "window": None, "occurrence": None,
             "message": f"Test message for channel {channel.name!r}", "late": False}
    body = render_body(channel.type, event)
    stamp = int(time.time())
    headers = {"webhook-id": event_id, "webhook-timestamp": str(stamp),
               "webhook-signature": sign(channel.secret, event_id, stamp, body)}
    try:
        answer = _send(state, OutboundRequest(channel.url, body, headers))
    except TransportError as exc:
        return {"ok": False, "event_id": event_id, "status_code": None, "error": str(exc),
                "duration_ms": exc.duration_ms}
    ok = 200 <= answer.status_code < 300
    return {"ok": ok, "event_id": event_id, "status_code": answer.status_code,
            "error": None if ok else f"HTTP {answer.status_code}",
            "duration_ms": answer.duration_ms}


@router.post("/routes", status_code=201, response_model=RoutePublic, tags=["routes"],
             operation_id="create_route")
def create_route(body: RouteCreate, state: State, principal: Admin, now: Now) -> Any:
    """Forward delivered alerts that concern ``targets`` (any, if empty) and match ``match``
    (any labels, if empty) to ``channel``."""
    match = match_from_schema(body.match)
    with state.db.transaction() as db:
        route = routes.create_route(db, principal, name=body.name, channel=body.channel,
                                    targets=body.targets, match=match, now=now)
    return route.to_json()


@router.get("/routes", response_model=RouteList, tags=["routes"], operation_id="list_routes")
def list_routes(state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return {"routes": [r.to_json() for r in routes.list_routes(db, principal)]}


@router.get("/routes/{route_id:int}", response_model=RoutePublic, tags=["routes"],
            operation_id="get_route")
def get_route(route_id: SmallId, state: State, principal: Admin) -> Any:
    with state.db.read() as db:
        return routes.get_route(db, principal, route_id).to_json()


@router.patch("/routes/{route_id:int}", response_model=RoutePublic, tags=["routes"],
              operation_id="update_route")
def update_route(route_id: SmallId, body: RouteUpdate, state: State, principal: Admin,
                 now: Now) -> Any:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"match"})
    if body.match is not None:
        changes["match"] = match_from_schema(body.match)
    for name in ("name", "channel", "targets"):
        if name in changes and changes[name] is None:
            del changes[name]
    with state.db.transaction() as db:
        route = routes.update_route(db, principal, route_id, changes, now)
    return route.to_json()


@router.delete("/routes/{route_id:int}", status_code=204, response_class=Response,
               tags=["routes"], operation_id="delete_route")
def delete_route(route_id: SmallId, state: State, principal: Admin, now: Now) -> Response:
    with state.db.transaction() as db:
        routes.delete_route(db, principal, route_id, now)
    return Response(status_code=204)


@router.get("/deliveries", response_model=DeliveryList, tags=["deliveries"],
            operation_id="list_deliveries")
def list_deliveries(
    state: State, principal: Viewer,
    window: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    channel: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorQuery = None,
) -> Any:
    """The delivery log, newest first: each message with its attempts, status codes,
    errors and next attempt."""
    with state.db.read() as db:
        found, next_cursor = deliveries.list_deliveries(
            db, principal, window_id=window, channel_id=channel, status=status, limit=limit,
            cursor=cursor)
    return {"deliveries": found, "next_cursor": next_cursor}
