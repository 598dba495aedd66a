"""Schemathesis hooks for the suite's run (loaded through ``SCHEMATHESIS_HOOKS``).

``refusal_is_documented``: a request that is valid by the OpenAPI document may still be
refused (400/422) — but only by a rule that JSON Schema cannot state: one field compared with
another, a reference to an object that must exist, a value that must parse as a time zone,
RRULE, cron expression or duration, the state of a window. ``SEMANTIC_RULES`` lists those
rules, by the words of their messages; any other refusal of valid data is a disagreement
between the document and the server (``name: null`` allowed by one and refused by the other)
and fails the run.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis.checks import CheckContext

# (message pattern, why the document cannot say it). Matched against every error message of
# the refusal, in any API's error shape.
SEMANTIC_RULES: tuple[tuple[str, str], ...] = (
    # One field against another.
    (r"give exactly one of rrule, cron or every",
     "the schedule's three forms exclude each other"),
    (r"operator needs a 'value'|operator takes no value",
     "a matcher's value goes with its operator"),
    (r"needs an incident_id|effect needs escalation_targets",
     "the attach and reroute effects need what they attach to or reroute to"),
    (r"needs a non-empty 'values' list|operation needs at least one literal value",
     "the set operators take a list of values"),
    (r"belongs to the '\w+' forms only", "a recurring schedule's fields go with its form"),
    (r"does not match the maintenancePeriodId in the path",
     "Uptrends: the body's Id repeats the path's"),
    (r"^(windows|groups)\[\d+\]", "apply: each item is checked as its create body, so that "
     "every error of the set is reported (the document says so; items are open objects)"),
    (r"name at least one target, or a window id", "maintenance/stop needs one or the other"),
    (r"only \w+ syncs have this field", "a sync's fields depend on its type"),
    (r"Icinga 2's API is served over HTTPS only", "a sync's URL scheme depends on its type"),
    (r"set basic_auth or bearer_token, not both", "a sync authenticates one way"),
    (r"an admin key cannot be limited to targets", "a key's scope goes with its role (an "
     "admin key could create itself an unlimited key)"),
    (r"a window must name targets, groups or match conditions, or set all_targets",
     "a window applies to something: one of four fields"),
    (r"operation .* is not supported; use one of",
     "incident.io: the operations quietly can hold as matchers (no regex ones)"),
    (r"must be (a date )?after|must be later than|must be before|must be different",
     "an end after its start"),
    (r"is required on PUT and must equal", "Uptrends: the body's Id repeats the path's"),
    (r"must differ from StartTime", "Uptrends: an end after its start"),
    (r"is required when recurrence type is|is required for a \w+ maintenance period",
     "Oh Dear and Uptrends: a recurring period's fields go with its kind"),
    (r"should not be supplied; a new Id is generated", "Uptrends: POST refuses an Id"),
    (r"^schedule\.\w+: (Extra inputs are not permitted|Field required)",
     "a schedule patch's keys must fit the schedule's kind (end_time is recurring only; a "
     "change of kind gives the new kind's fields)"),
    (r"is not a header quietly may set", "a sync may not set Authorization, Host or "
     "Content-* (it sets them itself)"),
    (r"the range may span at most 800 days", "occurrences: a bounded expansion"),
    # A reference to an object that must exist, or a value issued by the server.
    (r"no channel ", "a route names an existing channel"),
    (r"not a cursor returned by this API", "a cursor is what next_cursor returned"),
    (r"must be the id of a maintenance window", "incident.io: `after` is a listed window's id"),
    # A value that must parse: the document gives its shape, the parser the rest.
    (r"^schedule\.(cron|rrule): ", "a cron expression or RRULE that parses (cronsim, RFC 5545)"),
    (r"must name an escalation path or a user", "incident.io: an escalation names someone"),
    (r"lead must identify a user by id, email or slack_user_id",
     "incident.io: a lead names someone, by one of three fields"),
    (r"unknown time zone|is not a time zone|must be a valid IANA time zone",
     "an IANA (or Rails) zone name, from the tz database"),
    (r"is not an RFC 3339 (date-time|timestamp)", "a date that exists (no 30 February)"),
    (r"is out of range; use a year from 1970 to 2999|must lie between the years 1970 and 2999",
     "the instants the index can hold"),
    (r"is not a date \(yyyy-MM-dd\) between 1970 and 2999", "Uptrends: a date that exists"),
    (r"must match the format", "Oh Dear: a date or time that exists (Laravel date_format)"),
    (r"is not a date and time \(yyyy-MM-ddTHH:mm\)|is not a time \(HH:mm\)",
     "Uptrends: a date or time that exists (the document does not give the shape yet)"),
    (r"is not a duration", "ISO 8601 durations and '90m' forms"),
    (r"not a valid URL", "a URL the standard library can split (host, port)"),
    # Bounds beyond 2**53: exact on the server, but a JSON number that large is a float to the
    # generator, which takes 2**63 (rounded from 2**63 - 1) for a value within the bound.
    (r"less than or equal to 9223372036854775807|must not be greater than 999999999999999999",
     "ids bounded exactly, beyond what a double holds"),
    # The state of the object.
    (r"only a whole window can end later", "maintenance/stop: a delayed stop of some targets "
     "of a window that covers others"),
    (r"an active maintenance window cannot be archived",
     "incident.io: a running window is ended by setting end_at, not archived"),
    (r"cannot be changed while one of its own occurrences is running",
     "Oh Dear: a recurring period's schedule is frozen while it runs"),
    (r"has already started \(or ended\) and can no longer be updated",
     "Oh Dear: a running or past period is immutable"),
    # Presence as the vendor's framework has it (Rails `presence`: whitespace is blank).
    (r"can't be blank", "PagerTree: a name of only spaces is blank"),
)

_COMPILED = [re.compile(pattern) for pattern, _ in SEMANTIC_RULES]

# (operation, message pattern, why): rules of one operation only.
OPERATION_RULES: tuple[tuple[str, str, str], ...] = (
    ("PATCH /api/v1/windows/{window_id}", r"^schedule(\.\w+)?: ",
     "the schedule patch is merged into the current schedule and the result checked as a "
     "whole: the document lists its keys, not which values go with which kind"),
)


def _message(error: Any) -> str:
    """``field: message`` of one error entry (the field first, so rules can name it)."""
    if not isinstance(error, dict):
        return str(error)
    text = str(error.get("detail") or error.get("message") or error.get("Message") or error)
    field = error.get("field")
    return f"{field}: {text}" if isinstance(field, str) and field else text


def _messages(body: Any) -> list[str]:
    """Every error message of a refusal, whatever the API's error shape: problem+json
    (``errors[].detail``), incident.io and PagerTree (``errors[].message``), Oh Dear / Laravel
    (``errors{field: [..]}``), Ionhour / NestJS (``message: [..]``), Uptrends (``Messages``)."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, list):
        return [m for item in body for m in _messages(item)]
    if not isinstance(body, dict):
        return []
    for key in ("errors", "Errors"):
        errors = body.get(key)
        if isinstance(errors, list) and errors:
            return [_message(e) for e in errors]
        if isinstance(errors, dict) and errors:
            return [m for item in errors.values() for m in _messages(item)]
    for key in ("message", "Message", "Messages", "detail", "error"):
        if key in body:
            return _messages(body[key])
    return [json.dumps(body)]


def undocumented(body: Any, operation: str = "") -> list[str]:
    """The messages of a refusal that no ``SEMANTIC_RULES`` entry (or, for ``operation``,
    ``OPERATION_RULES`` entry) explains."""
    rules = _COMPILED + [re.compile(pattern) for label, pattern, _ in OPERATION_RULES
                         if label == operation]
    return [m for m in _messages(body) if not any(rule.search(m) for rule in rules)]


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """No NUL in free-form objects either (``allow-x00`` keeps it out of typed strings): the
    server refuses NUL anywhere in a body with a 422 before routing and authentication
    (``api.middleware.NulGuard``, tested on its own), which the document cannot say."""
    if isinstance(body, bytes | bytearray):
        return b"\x00" not in body
    return "\\u0000" not in json.dumps(body, default=repr)


@schemathesis.check
def refusal_is_documented(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """A 400/422 to valid data is allowed only for the rules of ``SEMANTIC_RULES``."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    left = undocumented(body, case.operation.label)
    if left:
        raise AssertionError("Valid data refused by a rule the schema could state: "
                             + " | ".join(left)[:600])
    return None
