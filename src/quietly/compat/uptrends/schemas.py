"""Uptrends' MaintenancePeriod object in its own (PascalCase) field names.

Enum values are matched case-insensitively, as .NET's JSON enum converter does; unknown fields
are ignored. ``MaintenancePeriodPublic`` leaves out every field that does not apply to the
schedule mode (the routes serialise it with ``exclude_none``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from quietly.api.types import JsonInt

__all__ = ["MAINTENANCE_TYPES", "SCHEDULE_MODES", "WEEK_DAYS", "MaintenancePeriodIn",
           "MaintenancePeriodPublic", "MessageInfo", "MessageList"]

SCHEDULE_MODES = ("OneTime", "Daily", "Weekly", "Monthly")
WEEK_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MAINTENANCE_TYPES = ("DisableMonitoring", "DisableNotifications")


def _enum(values: tuple[str, ...]) -> BeforeValidator:
    """Match a string to one of ``values`` ignoring case; leave anything else to fail later."""
    by_lower = {v.lower(): v for v in values}

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            return by_lower.get(value.strip().lower(), value)
        return value

    return BeforeValidator(normalise)


ScheduleModeValue = Annotated[Literal["OneTime", "Daily", "Weekly", "Monthly"],
                              _enum(SCHEDULE_MODES)]
WeekDayValue = Annotated[Literal["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                            "Saturday"], _enum(WEEK_DAYS)]
MaintenanceTypeValue = Annotated[Literal["DisableMonitoring", "DisableNotifications"],
                            _enum(MAINTENANCE_TYPES)]
DateTimeText = Annotated[str, Field(min_length=1, max_length=64,
                                    examples=["2027-09-24T22:00"])]
ClockText = Annotated[str, Field(min_length=1, max_length=16, examples=["22:00"])]


class MaintenancePeriodIn(BaseModel):
    """A period as POSTed or PUT. ``Id`` must be absent on POST and equal the path's on PUT."""

    model_config = ConfigDict(extra="ignore")

    Id: JsonInt | None = Field(default=None, description="Server-generated; refused on POST.")
    ScheduleMode: ScheduleModeValue
    StartDateTime: DateTimeText | None = None
    EndDateTime: DateTimeText | None = None
    StartTime: ClockText | None = None
    EndTime: ClockText | None = None
    WeekDay: WeekDayValue | None = None
    MonthDay: JsonInt | None = Field(default=None, description="1-31")
    MaintenanceType: MaintenanceTypeValue
    Description: Annotated[str, Field(max_length=10_000)] | None = None


class MaintenancePeriodPublic(BaseModel):
    Id: int
    ScheduleMode: ScheduleModeValue
    StartDateTime: str | None = None
    EndDateTime: str | None = None
    WeekDay: WeekDayValue | None = None
    MonthDay: int | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    MaintenanceType: MaintenanceTypeValue
    Description: str | None = None


class MessageInfo(BaseModel):
    Message: str


class MessageList(BaseModel):
    """Uptrends' error body (its API's ``MessageList`` model)."""

    Messages: list[MessageInfo]
