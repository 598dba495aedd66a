"""The fuzzing hook's judge of refusals: it reads every API's error shape, and only the
listed semantic rules excuse a refusal of valid data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.fuzz_hooks import undocumented

CASES: list[tuple[str, Any, list[str]]] = [
    ("problem+json, listed", {"type": "about:blank", "status": 422, "detail": "x",
                              "errors": [{"field": "channel", "detail": "no channel 7"}]}, []),
    ("problem+json, not listed", {"errors": [{"field": "name", "detail": "may not be null"}]},
     ["name: may not be null"]),
    ("incident.io", {"type": "validation_error", "errors": [
        {"message": "lead must identify a user by id, email or slack_user_id"}]}, []),
    ("Oh Dear", {"message": "x", "errors": {"ends_at": [
        "The ends at field must be a date after starts at."]}}, []),
    ("Ionhour", {"statusCode": 400, "message": ["workspaceId must be a number"],
                 "error": "Bad Request"}, ["workspaceId must be a number"]),
    ("PagerTree", {"errors": [{"message": "time_zone 'x' is not a time zone"}], "code": 422},
     []),
    ("Uptrends", {"Messages": [{"Message": "Id: should not be supplied; a new Id is "
                                           "generated automatically"}]}, []),
    ("plain text", "Internal trouble", ["Internal trouble"]),
]


@pytest.mark.parametrize(("shape", "body", "left"), CASES, ids=[c[0] for c in CASES])
def test_refusals_left_unexplained(shape: str, body: Any, left: list[str]) -> None:
    assert undocumented(body) == left
