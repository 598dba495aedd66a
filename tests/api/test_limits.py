"""Request-size caps, enforced while reading, before authentication (issue #14 point 2).

An unauthenticated 100 MB ``POST /api/v1/windows`` grew the process by ~400 MiB before its
401. Now the cap is checked against ``Content-Length`` before a byte of the body is read and
counted while a chunked body arrives; the decision fast path (``api.server``) keeps the same
caps, and bounds the request head, which httptools would otherwise buffer without limit.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from quietly.core.limits import MAX_MATCHERS_PER_GROUP, MAX_TARGETS
from quietly.settings import Settings
from tests.api.helpers import window_body
from tests.conftest import Tenant

MiB = 1024 * 1024


def _raw(base_url: str, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (+ ``body``) on a fresh socket; the status, headers and body answered.

    The socket timeout only keeps a server that never answers from hanging the suite."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        # The server may answer and close before reading everything we send.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, answer = rest.partition(b"\r\n\r\n")
    headers = dict(line.decode().lower().split(": ", 1) for line in raw_headers.split(b"\r\n")
                   if b": " in line)
    return int(status_line.split()[1]), headers, answer


def _post_head(path: str, length: int, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()


@pytest.mark.parametrize("path", ["/api/v1/windows", "/api/v1/decide", "/api/v1/alerts",
                                  "/compat/ohdear/api/maintenance-periods"])
def test_a_content_length_over_the_cap_is_413_before_the_body_and_auth(
        server: str, path: str) -> None:
    # 100 MB announced, 1 KB sent: the answer comes without waiting for the rest.
    status, headers, _ = _raw(server, _post_head(path, 100 * 1024 * 1024), b"{" * 1024)
    assert (status, headers.get("connection")) == (413, "close")


def test_the_413_is_a_problem_naming_the_cap(server: str) -> None:
    status, headers, body = _raw(server, _post_head("/api/v1/windows", 2 * MiB), b"{")
    assert (status, headers["content-type"], json.loads(body)["status"],
            "1,048,576 bytes" in json.loads(body)["detail"]) == (
        413, "application/problem+json", 413, True)


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"name": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


def test_a_chunked_body_over_the_cap_is_413_without_a_key(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        response = client.post("/api/v1/windows", content=_chunks(3 * MiB),
                               headers={"content-type": "application/json"})
    assert (response.status_code, response.headers["content-type"]) == (
        413, "application/problem+json")


def test_batch_routes_have_their_larger_cap(server: str) -> None:
    # 2 MiB is over the default cap but within alert ingest's: it reaches authentication.
    with httpx.Client(base_url=server, timeout=30) as client:
        response = client.post("/api/v1/alerts", content=b" " * (2 * MiB) + b"{}",
                               headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_a_request_head_over_the_cap_is_431_and_closed(server: str) -> None:
    cap = Settings().max_head_bytes
    head = b"GET /api/v1/decide?" + b"target=service:x&" * (cap // 16 + 1)
    status, headers, body = _raw(server, head)  # never finished: no end of headers
    assert (status, headers["connection"], json.loads(body)["status"]) == (431, "close", 431)


def test_a_window_with_too_many_targets_is_refused(tenant: Tenant) -> None:
    targets = [f"service:s{i}" for i in range(MAX_TARGETS + 1)]
    response = tenant.editor.post("/api/v1/windows", json={**window_body(), "targets": targets})
    assert (response.status_code, response.json()["field"]) == (422, "targets")


def test_a_group_with_too_many_matchers_is_refused(tenant: Tenant) -> None:
    group = [{"label": f"l{i}", "op": "=", "value": "v"}
             for i in range(MAX_MATCHERS_PER_GROUP + 1)]
    response = tenant.editor.post("/api/v1/windows", json={**window_body(), "match": [group]})
    assert (response.status_code, response.json()["field"]) == (422, "match[0]")
