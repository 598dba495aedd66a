"""Shared ``Annotated`` types for request schemas.

Constraints come before validators (pydantic#11576), values stay strings where pydantic's lax
mode would accept surprises (``0`` as a date-time), and the conversion to domain values
happens in each API's ``convert`` module, where errors can name the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field, StringConstraints

from quietly.core.scopes import MAX_STARS, SCOPE_PATTERN

__all__ = [
    "HHMM",
    "PATH_ID_DIGITS",
    "PATH_ID_MAX",
    "PATTERN_HINTS",
    "TARGET_PATTERN",
    "WEEKDAY_OF_MONTH_PATTERN",
    "Instant",
    "IsoDate",
    "LabelName",
    "Name",
    "ObjectId",
    "ShortText",
    "SmallId",
    "TargetName",
    "ZoneName",
    "parse_path_id",
]

TARGET_PATTERN = r"^[a-z][a-z0-9_]*:\S+$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAY_OF_MONTH_PATTERN = r"^[+-]?[1-5][A-Za-z]{2}$"

# What a value that fails each pattern should look like, said plainly (error messages print
# this instead of the regular expression).
PATTERN_HINTS = {
    TARGET_PATTERN: "is not a target; write kind:id, e.g. 'service:checkout' (the kind in "
                    "lower-case letters, digits and '_')",
    DATE_PATTERN: "is not a date; write YYYY-MM-DD, e.g. '2026-12-06'",
    HHMM_PATTERN: "is not a time of day; write HH:MM on a 24-hour clock, e.g. '02:00'",
    WEEKDAY_OF_MONTH_PATTERN: "is not a weekday of the month; write e.g. '2TU' (second "
                              "Tuesday) or '-1FR' (last Friday)",
    SCOPE_PATTERN: "is not a target pattern; write kind:id, e.g. 'service:checkout', "
                   "'service:pay-*' or 'group:web-tier' (the kind written out, no spaces, "
                   f"at most {MAX_STARS} '*')",
}

Instant = Annotated[str, Field(
    min_length=1, max_length=64, json_schema_extra={"format": "date-time"},
    description="RFC 3339 with an offset; a naive date-time is read in the window's zone, "
                "else the workspace's.",
    examples=["2026-12-01T02:00:00Z"])]
IsoDate = Annotated[str, Field(pattern=DATE_PATTERN, examples=["2026-12-06"])]
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN, examples=["02:00"])]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"])]
Name = Annotated[str, StringConstraints(min_length=1, max_length=500)]
ShortText = Annotated[str, StringConstraints(max_length=10_000)]
TargetName = Annotated[str, Field(min_length=3, max_length=300, pattern=TARGET_PATTERN,
                                  examples=["service:checkout"])]
LabelName = Annotated[str, Field(min_length=1, max_length=200)]

# Path ids, the same in every API (native and compatibility): a positive decimal of at most
# PATH_ID_DIGITS digits, within every id column (windows have 64-bit ids; keys, channels and
# routes 32-bit ones) and within what a ``monitor:<id>`` target reads back as a monitor id.
# Anything else names nothing we could have stored: the API's 404 (``problems`` turns a path
# parameter's validation error into one), never an overflow in the database driver.
PATH_ID_DIGITS = 18
PATH_ID_MAX = 10**PATH_ID_DIGITS - 1
ObjectId = Annotated[int, Path(ge=1, le=PATH_ID_MAX)]
SmallId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def parse_path_id(raw: str) -> int | None:
    """The id a string path parameter names, or None when it cannot name one (→ 404)."""
    if raw.isascii() and raw.isdigit() and len(raw) <= PATH_ID_DIGITS and int(raw) >= 1:
        return int(raw)
    return None
