"""Ionhour's maintenance-window shapes, in Ionhour's (camelCase) field names.

Unknown properties are ignored, as a NestJS ``ValidationPipe`` without ``forbidNonWhitelisted``
does. Defaults are the document's: ``suppressAlerts`` and ``suppressIncidents`` true,
``autoPublishToStatusPage`` false, ``timezone`` UTC, ``recurringCron`` null (one-time).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict
from pydantic.json_schema import SkipJsonSchema

from quietly.api.types import WHOLE

__all__ = ["IonhourError", "MaintenanceWindowCreate", "MaintenanceWindowPublic",
           "MaintenanceWindowUpdate", "ProjectRef", "StateName"]

StateName = Literal["SCHEDULED", "ACTIVE", "COMPLETED", "CANCELLED"]
# Strict: class-validator's @IsInt/@IsBoolean answer 400 to "1", "yes" or 0 where pydantic's
# lax mode would coerce them (issue 16).
Id = Annotated[int, Field(ge=0, le=2**53), WHOLE]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Field(max_length=10_000)]
Name = Annotated[str, Field(max_length=500)]
DateTimeText = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time"},
                                    examples=["2026-12-15T02:00:00Z"])]
ZoneText = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"])]
CronText = Annotated[str, Field(max_length=200, examples=["0 2 * * 0"])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MaintenanceWindowCreate(_Body):
    workspaceId: Id
    name: Name
    description: Text | None = None
    startAt: DateTimeText
    endAt: DateTimeText
    projectIds: list[Id] = Field(max_length=1000)
    suppressAlerts: Flag = True
    suppressIncidents: Flag = True
    autoPublishToStatusPage: Flag = False
    timezone: ZoneText = "UTC"
    recurringCron: CronText | None = None


class MaintenanceWindowUpdate(_Body):
    """A partial update: only the properties sent change. A property sent as null is refused
    (class-validator's `IsNotEmpty`), so the document does not offer null for them."""

    workspaceId: Id | None = None
    name: Name | SkipJsonSchema[None] = None
    description: Text | None = None
    startAt: DateTimeText | SkipJsonSchema[None] = None
    endAt: DateTimeText | SkipJsonSchema[None] = None
    projectIds: Annotated[list[Id], Field(max_length=1000)] | SkipJsonSchema[None] = None
    suppressAlerts: Flag | SkipJsonSchema[None] = None
    suppressIncidents: Flag | SkipJsonSchema[None] = None
    autoPublishToStatusPage: Flag | SkipJsonSchema[None] = None
    timezone: ZoneText | SkipJsonSchema[None] = None
    recurringCron: CronText | None = None


class ProjectRef(BaseModel):
    id: int


class MaintenanceWindowPublic(BaseModel):
    id: int
    workspaceId: int
    name: str
    description: str | None
    startAt: str
    endAt: str
    timezone: str
    recurringCron: str | None
    suppressAlerts: bool
    suppressIncidents: bool
    autoPublishToStatusPage: bool
    state: StateName
    projectIds: list[int]
    projects: list[ProjectRef]
    createdAt: str
    updatedAt: str
    cancelledAt: str | None


class IonhourError(BaseModel):
    statusCode: int
    message: list[str] | str
    error: str
