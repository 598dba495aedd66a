"""PagerTree's maintenance-window shapes, in PagerTree's field names.

Requests ignore parameters outside Rails' permitted list (``extra="ignore"``), and a body wrapped
in ``{"maintenance_window": {…}}`` (Rails' ``wrap_parameters``) is unwrapped. Required-field
and blank checks live in ``convert`` so that their messages read like Rails' ("name can't be
blank"); the schema still marks the fields required so the OpenAPI document says so.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MaintenanceWindowCreate", "MaintenanceWindowList", "MaintenanceWindowPublic",
           "MaintenanceWindowUpdate", "PagerTreeError"]

Text = Annotated[str, Field(max_length=10_000)]
DateTimeText = Annotated[str, Field(max_length=64, json_schema_extra={"format": "date-time"},
                                    examples=["2026-12-15T02:00:00"])]
ZoneText = Annotated[str, Field(max_length=64, examples=["Eastern Time (US & Canada)"])]
# Becomes the target integration:<id>, so no white space inside (around it is trimmed).
IntegrationId = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra={
    "pattern": r"^\s*[^\s\x1c-\x1f\x85]{1,200}\s*$"})] | int


class _Permitted(BaseModel):
    """Rails' ``params.permit``: unknown parameters are dropped, not refused."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("maintenance_window"), dict) \
                and "name" not in data:
            return data["maintenance_window"]
        return data


class MaintenanceWindowCreate(_Permitted):
    name: Annotated[Text, Field(json_schema_extra={"pattern": r"\S"})]  # blank: can't be blank
    description: Text | None = None
    start_datetime: DateTimeText
    end_datetime: DateTimeText
    time_zone: ZoneText
    integration_ids: list[IntegrationId] = Field(max_length=1000)


class MaintenanceWindowUpdate(_Permitted):
    """A PUT changes the attributes it names and keeps the others (Rails ``update``)."""

    name: Text | None = None
    description: Text | None = None
    start_datetime: DateTimeText | None = None
    end_datetime: DateTimeText | None = None
    time_zone: ZoneText | None = None
    integration_ids: list[IntegrationId] | None = Field(default=None, max_length=1000)


class MaintenanceWindowPublic(BaseModel):
    id: int
    name: str
    description: str | None
    start_datetime: str
    end_datetime: str
    time_zone: str
    integration_ids: list[str]
    created_at: str
    updated_at: str


class MaintenanceWindowList(BaseModel):
    data: list[MaintenanceWindowPublic]
    has_more: bool
    total_count: int


class _ErrorItem(BaseModel):
    message: str


class PagerTreeError(BaseModel):
    errors: list[_ErrorItem]
    code: int
