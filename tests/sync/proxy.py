"""A real HTTP(S) proxy in front of a system under sync: it can slow every request (so a
kill lands mid-sync), answer 503 (a failing load balancer) and counts what passes.

With ``tls=(cert, key)`` it serves HTTPS with that certificate (the Icinga 2 harness's node
certificate, valid for 127.0.0.1, so a sync verifies the proxy with the daemon's ``ca_file``)
and forwards to ``target`` verifying it with ``ca_file``. Requests are forwarded with their
``Authorization``, ``Accept`` and ``Content-Type`` headers.
"""

from __future__ import annotations

import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2 as httpx

__all__ = ["Proxy"]

FORWARDED = ("authorization", "accept", "content-type")


class Proxy:
    def __init__(self, target: str, *, delay: float = 0.0,
                 tls: tuple[Path, Path] | None = None, ca_file: Path | None = None) -> None:
        self.delay = delay
        self.failing = False
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests it held at once
        proxy = self
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=str(ca_file))
                                         if ca_file else True)
        client = httpx.Client(base_url=target, timeout=30, verify=verify)
        self._client = client
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: no new TLS handshake per request
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

            def _forward(self) -> None:
                with lock:
                    proxy.requests += 1
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                try:
                    status, content_type, content = self._upstream()
                finally:  # before answering: the client's next request cannot overlap it
                    with lock:
                        proxy.in_flight -= 1
                self.send_response(status)
                if content_type is not None:
                    self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _upstream(self) -> tuple[int, str | None, bytes]:
                time.sleep(proxy.delay)
                if proxy.failing:
                    return 503, None, b""
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() in FORWARDED}
                headers.setdefault("content-type", "application/json")
                answer = client.request(self.command, self.path, content=body or None,
                                        headers=headers)
                return answer.status_code, answer.headers.get("content-type", ""), answer.content

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
