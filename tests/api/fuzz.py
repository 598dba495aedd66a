"""Run schemathesis over part of the live server's OpenAPI, operation by operation.

Used by the native and the compatibility APIs' fuzz tests. Each operation gets its own
Hypothesis run with a fixed seed, so failures replay; the checks are: no 5xx, status codes
and content types the schema declares, and bodies that match the schema.
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def fuzz(base_url: str, path_regex: str, headers: dict[str, str], *, max_examples: int = 30,
         checks: list[Callable[..., object]] | None = None) -> list[str]:
    """Fuzz every operation whose path matches; return the labels of the ones exercised."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").include(
        path_regex=path_regex)
    done: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks or CHECKS)

        run()
        done.append(operation.label)
    return done
