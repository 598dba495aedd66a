"""Schemas of channels, routes and the delivery log (…Create, …Update, …Public)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from quietly.api.native.schemas import MatcherIn
from quietly.api.types import SPACED_NAME_PATTERN, URL_AUTHORITY_PATTERN, TargetName

ChannelType = Literal["webhook", "slack"]
ChannelName = Annotated[str, Field(min_length=1, max_length=200, examples=["ops-webhook"],
                                   json_schema_extra={"pattern": SPACED_NAME_PATTERN})]
Url = Annotated[str, Field(min_length=8, max_length=2000,
                           examples=["https://hooks.example.com/quietly"],
                           json_schema_extra={"pattern": "^https?://" + URL_AUTHORITY_PATTERN})]
Secret = Annotated[str, Field(min_length=8, max_length=200,
                              description="Signing secret; 'whsec_<base64>' or any text. "
                                          "Omit to have one generated.")]
RouteGroup = Annotated[list[MatcherIn], Field(json_schema_extra={"minItems": 1})]
ChannelRef = Annotated[str, Field(min_length=1, max_length=200)] | Annotated[
    int, Field(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelCreate(Strict):
    name: ChannelName
    type: ChannelType = "webhook"
    url: Url
    secret: Secret | None = None


# An omitted field keeps its value (PATCH reads only the fields sent); ``null`` is no name,
# type or URL, so the schema refuses it rather than the service failing on it.
_KEEP: Any = None


class ChannelUpdate(Strict):
    name: ChannelName = _KEEP
    type: ChannelType = _KEEP
    url: Url = _KEEP
    secret: Secret | None = Field(default=None, description="null generates a new secret.")


class ChannelPublic(BaseModel):
    id: int
    name: str
    type: ChannelType
    url: str
    secret: str = Field(description="Whole in the answer that set it, masked otherwise.")


class ChannelList(BaseModel):
    channels: list[ChannelPublic]


class ChannelTestResult(BaseModel):
    ok: bool
    event_id: str
    status_code: int | None
    error: str | None
    duration_ms: int


class RouteCreate(Strict):
    name: ChannelName
    channel: ChannelRef = Field(description="The channel's id or name.")
    targets: list[TargetName] = Field(default_factory=list, max_length=1000)
    match: list[RouteGroup] = Field(default_factory=list, max_length=100)


class RouteUpdate(Strict):
    name: ChannelName | None = None
    channel: ChannelRef | None = None
    targets: list[TargetName] | None = Field(default=None, max_length=1000)
    match: list[RouteGroup] | None = Field(default=None, max_length=100)


class RoutePublic(BaseModel):
    id: int
    name: str
    channel_id: int
    targets: list[str]
    match: list[list[dict[str, Any]]]


class RouteList(BaseModel):
    routes: list[RoutePublic]


class AttemptPublic(BaseModel):
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: int
    event_id: str
    type: str
    status: Literal["pending", "delivering", "delivered", "failed", "skipped"]
    window_id: int | None
    channel_id: int | None
    route_id: int | None
    alert_id: int | None
    late: bool
    due_at: str
    created_at: str
    delivered_at: str | None
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    attempts: list[AttemptPublic]
    payload: dict[str, Any]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryPublic]
    next_cursor: str | None
