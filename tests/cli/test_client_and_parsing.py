"""The HTTP client's error mapping (through its transport seam) and the CLI's flag syntaxes."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx2 as httpx
import pytest

from quietly.cli_commands.parsing import parse_days, parse_labels, parse_match
from quietly.client import ApiError, ConnectionFailed, QuietlyClient
from quietly.core.errors import ValidationError


def _client(status: int, body: bytes, content_type: str) -> QuietlyClient:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})
    return QuietlyClient("http://quietly.test", "k", transport=httpx.MockTransport(handle))


@pytest.mark.parametrize(("status", "body", "content_type", "expected"), [
    (422, b'{"detail": "schedule.rrule: bad", "field": "schedule.rrule", "status": 422}',
     "application/problem+json", "schedule.rrule: bad"),
    (409, b'{"detail": "completed windows are immutable", "field": "state"}',
     "application/problem+json", "state: completed windows are immutable"),
    (503, b'{"detail": "the database is unreachable", "field": null}',
     "application/problem+json", "the database is unreachable"),
    (502, b"<html>bad gateway</html>", "text/html", "HTTP 502: <html>bad gateway</html>"),
    (200, b"<html>not an API</html>", "text/html",
     "the answer from http://quietly.test/api/v1/windows/1 is not JSON; is --url a quietly "
     "server?"),
])
def test_server_answers_become_api_errors(status: int, body: bytes, content_type: str,
                                          expected: str) -> None:
    with pytest.raises(ApiError) as caught, _client(status, body, content_type) as client:
        client.get_window(1)
    assert str(caught.value) == expected


def test_transport_failures_name_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = QuietlyClient("http://quietly.test/", "k", transport=httpx.MockTransport(refuse))
    with pytest.raises(ConnectionFailed) as caught, client:
        client.decide("service:a")
    assert str(caught.value) == "cannot reach the quietly server at http://quietly.test: refused"


def test_decide_sends_targets_labels_and_instant_as_query_parameters() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"verdict": "deliver", "windows": [], "at": "x"})

    with QuietlyClient("http://q.test", "k", transport=httpx.MockTransport(record)) as client:
        client.decide("service:a", {"env": "prod"}, "2026-01-01T00:00:00Z")
    assert seen == ["http://q.test/api/v1/decide?target=service%3Aa&label.env=prod"
                    "&at=2026-01-01T00%3A00%3A00Z"]


MATCHES: list[tuple[str, list[dict[str, Any]]]] = [
    ("env=prod", [{"label": "env", "op": "=", "value": "prod"}]),
    ("env=prod,service=~db-.*", [{"label": "env", "op": "=", "value": "prod"},
                                 {"label": "service", "op": "=~", "value": "db-.*"}]),
    ('team="db", tier!=web', [{"label": "team", "op": "=", "value": "db"},
                              {"label": "tier", "op": "!=", "value": "web"}]),
    ("host!~web{1,3},a=", [{"label": "host", "op": "!~", "value": "web{1,3}"},
                           {"label": "a", "op": "=", "value": ""}]),
    ("msg=a,b", [{"label": "msg", "op": "=", "value": "a,b"}]),  # no label<op> after the comma
    ("x==y", [{"label": "x", "op": "=", "value": "=y"}]),
]


@pytest.mark.parametrize(("text", "group"), MATCHES, ids=[m[0] for m in MATCHES])
def test_parse_match(text: str, group: list[dict[str, Any]]) -> None:
    assert parse_match(text) == group


@pytest.mark.parametrize("text", ["", "  ", "env", "=prod", "1abc=x"])
def test_parse_match_refuses_non_matchers(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_match(text)
    assert caught.value.field == "--match"


def test_parse_days_and_labels() -> None:
    assert (parse_days("Mon, TH,sunday,mon"), parse_labels(["env=prod", "q=a=b", "env=dev"])) \
        == (["mon", "thu", "sun"], {"env": "dev", "q": "a=b"})


def test_client_commands_start_without_the_server_stack() -> None:
    """Scripts call `quietly check` often: importing the CLI must not load SQLAlchemy/FastAPI."""
    code = ("import sys, quietly.cli; "
            "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'alembic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, env={**os.environ, "PYTHONTZPATH": ""})
    assert out.stdout == "[]\n"


# `quietly serve` runs without the client commands (issue 19: start-up); anything else, its
# help and every global option included, gets the whole app.
@pytest.mark.parametrize(("args", "serving"), [
    (["serve"], True),
    (["serve", "--port", "8080", "--no-worker"], True),
    (["--config", "q.toml", "serve"], True),
    (["--config=q.toml", "serve", "--host", "0.0.0.0"], True),
    (["serve", "--help"], False),
    (["--help"], False),
    (["--version"], False),
    ([], False),
    (["--config", "serve"], False),
    (["window", "list"], False),
    (["worker"], False),
])
def test_which_arguments_serve_without_the_client_commands(args: list[str],
                                                            serving: bool) -> None:
    from quietly.cli import _serving

    assert _serving(args) == serving


def test_serve_starts_without_the_client_commands() -> None:
    code = ("import sys, quietly.cli; "
            "print(sorted(m for m in ('quietly.client', 'quietly.cli_commands.windows', "
            "'quietly.cli_commands.preview', 'alembic') if m in sys.modules), "
            "len(quietly.cli._app.registered_commands), "
            "len(quietly.cli.app.registered_commands) > 2)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, env={**os.environ, "PYTHONTZPATH": ""})
    assert out.stdout == "[] 2 True\n"
