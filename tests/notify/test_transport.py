"""The HTTP seam: no redirects followed, capped answers, timeouts and refusals classified."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2 as httpx
import pytest

from quietly.notify import HttpTransport, OutboundRequest, TransportError


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("location", "/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("content-length", str(1_000_000))
            self.end_headers()
            self.wfile.write(b"x" * 1_000_000)
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()
        else:
            self.send_response(204)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    made = HttpTransport(allow_private=True, timeout=0.5, max_response_bytes=1000)
    yield made
    made.close()


def test_redirects_are_answers_not_followed(base: str, transport: HttpTransport) -> None:
    assert transport.send(OutboundRequest(base + "/redirect", b"{}")).status_code == 307


def test_answers_are_capped(base: str, transport: HttpTransport) -> None:
    answer = transport.send(OutboundRequest(base + "/big", b"{}"))
    assert (answer.status_code, len(answer.body)) == (200, 1000)


def test_a_slow_receiver_times_out_retryably(base: str, transport: HttpTransport) -> None:
    with pytest.raises(TransportError) as caught:
        transport.send(OutboundRequest(base + "/slow", b"{}"))
    assert caught.value.retryable is True


def test_a_closed_port_is_retryable(transport: HttpTransport) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError) as caught:
        transport.send(OutboundRequest(f"http://127.0.0.1:{port}/", b"{}"))
    assert caught.value.retryable is True


def test_a_refused_destination_is_final_and_never_contacted() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    guarded = HttpTransport(allow_private=False, transport=httpx.MockTransport(handler))
    with pytest.raises(TransportError) as caught:
        guarded.send(OutboundRequest("http://10.0.0.1/hook", b"{}"))
    guarded.close()
    assert (caught.value.retryable, calls) == (False, [])


def test_headers_and_body_go_out_unchanged() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, content=b"accepted")

    mock = HttpTransport(allow_private=True, transport=httpx.MockTransport(handler))
    answer = mock.send(OutboundRequest("http://hooks.test/x", b'{"a":1}',
                                       {"webhook-id": "msg_1"}))
    mock.close()
    assert (answer.status_code, answer.body) == (202, b"accepted")
    assert (seen[0].content, seen[0].headers["webhook-id"],
            seen[0].headers["content-type"]) == (b'{"a":1}', "msg_1", "application/json")
