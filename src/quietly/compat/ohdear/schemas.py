"""Oh Dear's request and response bodies (snake_case, as its API documents them).

Format rules that Laravel checks field by field (``date_format:Y-m-d H:i``, ``H:i``) are
validators here, so one request reports every broken field at once, in Laravel's words.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quietly.api.types import PATH_ID_MAX, WHOLE, Flag
from quietly.core.codec import MAX_YEAR, MIN_YEAR

__all__ = ["MaintenancePeriodCreate", "MaintenancePeriodPage", "MaintenancePeriodPublic",
           "MaintenancePeriodUpdate", "RecurringCreate", "RecurringList", "RecurringPublic",
           "RecurringUpdate", "StartMaintenance", "StopMaintenance"]

_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
_CLOCK = re.compile(r"^\d{2}:\d{2}$")

MAX_SECONDS = 10 * 366 * 86400  # ten years: far beyond any maintenance, far below overflow

MonitorId = Annotated[int, Field(ge=1, le=PATH_ID_MAX), WHOLE]  # monitor_of reads it back
Label = Annotated[str, Field(max_length=255)]
DateText = Annotated[str, Field(max_length=64, examples=["2027-02-12 14:30"])]
ClockText = Annotated[str, Field(max_length=16, examples=["02:00"])]
Weekday = Annotated[int, Field(ge=0, le=6), WHOLE]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


def check_minute(value: str | None, attribute: str) -> str | None:
    """Laravel's ``date_format:Y-m-d H:i`` (a real calendar date and time)."""
    if value is None:
        return None
    try:
        if not _MINUTE.match(value):
            raise ValueError(value)
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M")  # noqa: DTZ007 - wall clock
    except ValueError:
        raise ValueError(f"The {attribute} field must match the format Y-m-d H:i.") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:  # also keeps zone arithmetic in range
        raise ValueError(f"The {attribute} field must be a date between {MIN_YEAR}-01-01 "
                         f"and {MAX_YEAR}-12-31.")
    return value


def check_clock(value: str | None, attribute: str) -> str | None:
    """Laravel's ``date_format:H:i``."""
    if value is None:
        return None
    try:
        if not _CLOCK.match(value):
            raise ValueError(value)
        time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"The {attribute} field must match the format H:i.") from None
    return value


class StartMaintenance(_Body):
    stop_maintenance_after_seconds: Annotated[int, Field(ge=5, le=MAX_SECONDS), WHOLE] = 3600
    name: Label | None = None


class StopMaintenance(_Body):
    delay_seconds: Annotated[int, Field(ge=1, le=MAX_SECONDS), WHOLE] | None = None


class _PeriodTimes(_Body):
    @field_validator("starts_at", check_fields=False)
    @classmethod
    def _starts(cls, value: str) -> str | None:
        return check_minute(value, "starts at")

    @field_validator("ends_at", check_fields=False)
    @classmethod
    def _ends(cls, value: str) -> str | None:
        return check_minute(value, "ends at")


class MaintenancePeriodCreate(_PeriodTimes):
    monitor_id: MonitorId
    starts_at: DateText
    ends_at: DateText
    name: Label | None = None


class MaintenancePeriodUpdate(_PeriodTimes):
    starts_at: DateText
    ends_at: DateText
    name: Label | None = None


class MaintenancePeriodPublic(BaseModel):
    id: int
    monitor_id: int
    name: str | None
    starts_at: str = Field(examples=["2027-02-12 14:30:00"])
    ends_at: str = Field(examples=["2027-02-12 15:00:00"])


class PageLinks(BaseModel):
    first: str
    last: str
    prev: str | None
    next: str | None


class MetaLink(BaseModel):
    url: str | None
    label: str
    active: bool


class PageMeta(BaseModel):
    current_page: int
    from_: int | None = Field(alias="from")
    last_page: int
    links: list[MetaLink]
    path: str
    per_page: int
    to: int | None
    total: int


class MaintenancePeriodPage(BaseModel):
    """Laravel's paginator envelope."""

    data: list[MaintenancePeriodPublic]
    links: PageLinks
    meta: PageMeta


RecurrenceType = Literal["daily", "weekly", "monthly"]


class _RecurringFields(_Body):
    @field_validator("start_time", check_fields=False)
    @classmethod
    def _start(cls, value: str | None) -> str | None:
        return check_clock(value, "start time")

    @field_validator("end_time", check_fields=False)
    @classmethod
    def _end(cls, value: str | None) -> str | None:
        return check_clock(value, "end time")


class RecurringCreate(_RecurringFields):
    monitor_id: MonitorId
    name: Annotated[str, Field(min_length=1, max_length=255)]
    recurrence_type: RecurrenceType
    start_time: ClockText
    end_time: ClockText
    days_of_week: Annotated[list[Weekday], Field(max_length=7)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=31), WHOLE] | None = None
    generate_now: Flag = True


class RecurringUpdate(_RecurringFields):
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    recurrence_type: RecurrenceType | None = None
    start_time: ClockText | None = None
    end_time: ClockText | None = None
    days_of_week: Annotated[list[Weekday], Field(max_length=7)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=31), WHOLE] | None = None
    regenerate_future_periods: Flag = True


class RecurringPublic(BaseModel):
    id: int
    monitor_id: int
    name: str | None
    recurrence_type: RecurrenceType
    days_of_week: list[int] | None
    day_of_month: int | None
    start_time: str
    end_time: str
    human_readable_schedule: str
    last_generated_until: str | None
    created_at: str
    updated_at: str


class RecurringList(BaseModel):
    data: list[RecurringPublic]
