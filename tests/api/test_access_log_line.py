"""``AccessLines`` writes, byte for byte, the line structlog's pipeline wrote before
(``TimeStamper(fmt="iso", utc=True, key="ts")``, ``JSONRenderer``, ``PrintLogger``), only
cheaper: any field values, on stdout (looked up at each line) and on a file."""

from __future__ import annotations

import io
import re
import sys
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.api.access_log import AccessLines

_TS = re.compile(r'"ts": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"')


def _structlog_line(method: str, path: str, route: str | None, status: int, seconds: float,
                    client: str | None, headers: list[tuple[bytes, bytes]]) -> str:
    """The line as the structlog pipeline of the previous ``AccessLines`` wrote it."""
    out = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(file=out),
        processors=[structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                    structlog.processors.JSONRenderer()])
    agent = next((v.decode("latin-1") for k, v in headers if k == b"user-agent"), "")
    log.info("request", method=method, path=path, route=route, status=status,
             ms=round(seconds * 1000, 2), client=client, user_agent=agent[:200] or None)
    return out.getvalue()


def _ours(*args: Any) -> str:
    out = io.StringIO()
    AccessLines(out).write_line(*args)
    return out.getvalue()


def _same_but_ts(ours: str, theirs: str) -> None:
    assert _TS.search(ours) is not None, ours
    assert _TS.sub('"ts": T', ours) == _TS.sub('"ts": T', theirs)


CASES = [
    ("POST", "/api/v1/windows", "/api/v1/windows", 201, 0.000512, "127.0.0.1", []),
    ("GET", "/api/v1/windows/7", "/api/v1/windows/{window_id}", 404, 1.5, None,
     [(b"user-agent", b"curl/8.5.0")]),
    ("GET", "/calendar/\u2026.ics", None, 200, 0.0, "::1",
     [(b"user-agent", "Mozilla \xe9\xff".encode("latin-1"))]),
    ("DELETE", '/a"b\\c', "/x", 500, 123.456789, "10.0.0.1",
     [(b"user-agent", b"x" * 500), (b"user-agent", b"second")]),
    ("PATCH", "/p", "/p", 200, 2e-9, "203.0.113.7", [(b"user-agent", b"")]),
    # milliseconds beyond a float (written as json writes them, Infinity), a lone surrogate
    ("GET", "/\ud800", "/\udfff", 200, 1e306, "\x00\x1f", [(b"user-agent", b"\x7f")]),
]


@pytest.mark.parametrize("case", CASES)
def test_the_line_is_structlogs_line(case: tuple[Any, ...]) -> None:
    _same_but_ts(_ours(*case), _structlog_line(*case))


@settings(max_examples=200, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=st.text(max_size=40),
       route=st.none() | st.text(max_size=20), status=st.integers(100, 599),
       seconds=st.floats(0, 1e4, allow_nan=False), client=st.none() | st.text(max_size=40),
       agent=st.none() | st.binary(max_size=300))
def test_any_fields_give_structlogs_line(method: str, path: str, route: str | None,
                                         status: int, seconds: float, client: str | None,
                                         agent: bytes | None) -> None:
    headers = [] if agent is None else [(b"user-agent", agent)]
    case = (method, path, route, status, seconds, client, headers)
    _same_but_ts(_ours(*case), _structlog_line(*case))


def test_stdout_is_looked_up_at_each_line(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = AccessLines(sys.stdout)
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", swapped)
    lines.write_line("GET", "/x", "/x", 200, 0.001, None, [])
    assert swapped.getvalue().startswith('{"method": "GET", "path": "/x"')
    assert swapped.getvalue().endswith('"}\n')
