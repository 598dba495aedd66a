"""incident.io's maintenance-window shapes (MaintenanceWindowsV1), in incident.io's names.

Requests take the create payload exactly as documented; unknown properties are ignored.
Responses are the documented ``MaintenanceWindowV1``: conditions come back with their
``subject`` and ``operation`` labelled, bindings with a ``label``, the ``lead`` expanded to an
actor (``{"user": {…}}``) and channels with ``is_private``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from quietly.api.types import WHOLE

__all__ = [
    "IncidentIoError",
    "MaintenanceWindowEnvelope",
    "MaintenanceWindowList",
    "MaintenanceWindowPayload",
]

Short = Annotated[str, Field(max_length=500)]
Long = Annotated[str, Field(max_length=10_000)]
DateTimeText = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time"},
                                    examples=["2026-12-17T13:28:57.801578Z"])]
Minutes = Annotated[int, Field(ge=0, le=60 * 24 * 30), WHOLE]
# A JSON boolean only: incident.io's API refuses "yes" for a boolean (issue 16).
Flag = Annotated[bool, Strict()]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BindingIn(_In):
    literal: Short | None = None
    reference: Short | None = None


class ParamBindingIn(_In):
    array_value: list[BindingIn] | None = Field(default=None, max_length=1000)
    value: BindingIn | None = None


class ConditionIn(_In):
    subject: Short = Field(examples=["alert.attributes.service"],
                           json_schema_extra={"pattern": r"\S"})  # blank: refused
    operation: Short = Field(examples=["one_of"])
    param_bindings: list[ParamBindingIn] = Field(default_factory=list, max_length=100)


class ConditionGroupIn(_In):
    conditions: list[ConditionIn] = Field(max_length=100, json_schema_extra={"minItems": 1})


class EscalationTargetIn(_In):
    escalation_paths: ParamBindingIn | None = None
    users: ParamBindingIn | None = None


class LeadIn(_In):
    email: Short | None = None
    id: Short | None = None
    slack_user_id: Short | None = None


class NotifyChannelIn(_In):
    channel_id: Short
    channel_name: Short | None = None
    channel_type: Short | None = None


class MaintenanceWindowPayload(_In):
    """Create and update (PUT replaces the window, so it takes the same payload)."""

    # Required and not empty: an empty list would mute every alert of the workspace.
    alert_condition_groups: list[ConditionGroupIn] = Field(min_length=1, max_length=100)
    end_at: DateTimeText
    escalation_targets: list[EscalationTargetIn] | None = Field(default=None, max_length=100)
    incident_id: Short | None = None
    lead: LeadIn
    name: Annotated[str, Field(max_length=500, json_schema_extra={"pattern": r"\S"})]
    notification_message: Long | None = None
    notify_channels: list[NotifyChannelIn] | None = Field(default=None, max_length=100)
    notify_end_minutes_before: Minutes | None = None
    notify_start_minutes_before: Minutes | None = None
    reroute_on_end: Flag | None = None
    resolve_on_end: Flag | None = None
    show_in_sidebar: Flag
    start_at: DateTimeText


class BindingOut(BaseModel):
    label: str
    literal: str | None = None
    reference: str | None = None


class ParamBindingOut(BaseModel):
    array_value: list[BindingOut] | None = None
    value: BindingOut | None = None


class OperationOut(BaseModel):
    label: str
    value: str


class SubjectOut(BaseModel):
    label: str
    reference: str


class ConditionOut(BaseModel):
    operation: OperationOut
    param_bindings: list[ParamBindingOut]
    subject: SubjectOut


class ConditionGroupOut(BaseModel):
    conditions: list[ConditionOut]


class EscalationTargetOut(BaseModel):
    escalation_paths: ParamBindingOut | None = None
    users: ParamBindingOut | None = None


class UserOut(BaseModel):
    email: str | None = None
    id: str
    name: str
    role: str | None = None
    slack_user_id: str | None = None


class ApiKeyOut(BaseModel):
    id: str
    name: str


class LeadOut(BaseModel):
    api_key: ApiKeyOut | None = None
    user: UserOut | None = None


class NotifyChannelOut(BaseModel):
    channel_id: str
    channel_name: str | None = None
    channel_type: str | None = None
    is_private: bool


class MaintenanceWindowOut(BaseModel):
    alert_condition_groups: list[ConditionGroupOut]
    archived_at: str | None = None
    created_at: str
    end_at: str
    escalation_targets: list[EscalationTargetOut]
    id: str
    incident_id: str | None = None
    lead: LeadOut
    name: str
    notification_message: str | None = None
    notify_channels: list[NotifyChannelOut]
    notify_end_minutes_before: int | None = None
    notify_start_minutes_before: int | None = None
    reroute_on_end: bool
    resolve_on_end: bool
    show_in_sidebar: bool
    start_at: str
    updated_at: str


class MaintenanceWindowEnvelope(BaseModel):
    maintenance_window: MaintenanceWindowOut


class PaginationMeta(BaseModel):
    after: str | None = None
    page_size: int


class MaintenanceWindowList(BaseModel):
    maintenance_windows: list[MaintenanceWindowOut]
    pagination_meta: PaginationMeta


class ErrorSource(BaseModel):
    field: str


class ErrorItem(BaseModel):
    code: str
    message: str
    source: ErrorSource | None = None


class IncidentIoError(BaseModel):
    type: str
    status: int
    request_id: str
    errors: list[ErrorItem]
