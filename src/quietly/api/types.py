"""Shared ``Annotated`` types for request schemas.

Constraints come before validators (pydantic#11576), values stay strings where pydantic's lax
mode would accept surprises (``0`` as a date-time), and the conversion to domain values
happens in each API's ``convert`` module, where errors can name the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator, Field, Strict, StringConstraints
from pydantic_core import PydanticCustomError

from quietly.core.scopes import MAX_STARS, SCOPE_PATTERN

__all__ = [
    "CURSOR_PATTERN",
    "GROUP_NAME_PATTERN",
    "HHMM",
    "INSTANT_PATTERN",
    "INSTANT_QUERY",
    "PATH_ID_DIGITS",
    "PATH_ID_MAX",
    "PATTERN_HINTS",
    "SPACED_NAME_PATTERN",
    "TARGET_PATTERN",
    "URL_AUTHORITY_PATTERN",
    "WEEKDAY_OF_MONTH_PATTERN",
    "WHOLE",
    "CursorQuery",
    "Flag",
    "Instant",
    "InstantQuery",
    "IsoDate",
    "JsonInt",
    "LabelName",
    "Name",
    "ObjectId",
    "ShortText",
    "SmallId",
    "TargetName",
    "ZoneName",
    "parse_path_id",
]

# A target's id: 1 to 256 characters that are not white space in Python's sense (which
# also counts \x1c-\x1f and \x85, where JSON Schema's ECMA regexes do not).
TARGET_PATTERN = r"^[a-z][a-z0-9_]*:[^\s\x1c-\x1f\x85]{1,256}$"
# What follows http(s):// in a webhook or sync URL: a host (a name, an address or [IPv6]),
# no credentials, an optional port, then a path, query or fragment, or nothing.
URL_AUTHORITY_PATTERN = r"([^\s/?#@\[\]:]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?([/?#]|$)"
# Names of groups, and of channels, routes and syncs (which may hold spaces, not only digits).
GROUP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
SPACED_NAME_PATTERN = r"^(?![0-9]+$)[A-Za-z0-9][A-Za-z0-9 _.:-]{0,199}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAY_OF_MONTH_PATTERN = r"^[+-]?[1-5][A-Za-z]{2}$"
# The shape of an instant as the document states it (years 1970-2999, an optional offset:
# a naive one is read in a zone, so not ``format: date-time``); the server's own parser then
# says precisely what is wrong with one that is not a date. Empty: as if absent.
INSTANT_PATTERN = (r"^((19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]"
                   r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$")
# A page cursor: base64url (no padding) of "id:<last id>", as ``next_cursor`` returns it;
# empty: the first page. The server refuses any other (422 naming ``cursor``).
CURSOR_PATTERN = r"^(aWQ6[A-Za-z0-9_-]{1,40})?$"

# What a value that fails each pattern should look like, said plainly (error messages print
# this instead of the regular expression).
PATTERN_HINTS = {
    TARGET_PATTERN: "is not a target; write kind:id, e.g. 'service:checkout' (the kind in "
                    "lower-case letters, digits and '_')",
    DATE_PATTERN: "is not a date; write YYYY-MM-DD, e.g. '2026-12-06'",
    HHMM_PATTERN: "is not a time of day; write HH:MM on a 24-hour clock, e.g. '02:00'",
    CURSOR_PATTERN: "is not a cursor returned by this API; pass next_cursor unchanged",
    WEEKDAY_OF_MONTH_PATTERN: "is not a weekday of the month; write e.g. '2TU' (second "
                              "Tuesday) or '-1FR' (last Friday)",
    SCOPE_PATTERN: "is not a target pattern; write kind:id, e.g. 'service:checkout', "
                   "'service:pay-*' or 'group:web-tier' (the kind written out, no spaces, "
                   f"at most {MAX_STARS} '*')",
}

Instant = Annotated[str, Field(
    min_length=1, max_length=64, json_schema_extra={"pattern": INSTANT_PATTERN},
    description="RFC 3339 with an offset; a naive date-time is read in the window's zone, "
                "else the workspace's.",
    examples=["2026-12-01T02:00:00Z"])]
INSTANT_QUERY: dict[str, object] = {
    "max_length": 64, "json_schema_extra": {"pattern": INSTANT_PATTERN},
    "description": "RFC 3339 with an offset; a naive date-time is read in the workspace's zone."}
InstantQuery = Annotated[str | None, Query(**INSTANT_QUERY)]
CursorQuery = Annotated[str | None, Query(
    max_length=200, pattern=CURSOR_PATTERN,
    description="Opaque: the next_cursor of the previous page, unchanged. Anything else is "
                "a 422 naming cursor.")]
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


def _json_integer(value: object) -> object:
    """An integer as JSON Schema has it: ``3`` or ``3.0``, never ``true`` nor ``"3"``
    (pydantic's lax mode reads ``false`` as 0 and ``"3"`` as 3; its strict mode refuses
    ``3.0``, which the schema's ``integer`` allows)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "Input should be a valid integer, "
                                      "got a number with a fractional part")
        return int(value)
    return value


# Request fields: booleans are ``true``/``false`` only; integers as JSON Schema reads them.
# Constraints go before the validator (pydantic#11576), so a bounded one is written
# ``Annotated[int, Field(ge=0), WHOLE]``.
WHOLE = BeforeValidator(_json_integer)
Flag = Annotated[bool, Strict()]
JsonInt = Annotated[int, WHOLE]
