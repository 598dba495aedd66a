"""Security headers on every answer, HSTS, /metrics beyond loopback, documents behind a key
(issue #14 point 8)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from quietly.api.app import create_app
from quietly.api.exposure import metrics_open
from quietly.api.server import server_config
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import Tenant, _free_port, make_tenant, serving

# (name, method, path, body, with key?, expected status): errors, the fast path and the
# documents included.
ANSWERS = [
    ("health", "GET", "/healthz", None, False, 200),
    ("list", "GET", "/api/v1/windows", None, True, 200),
    ("no key", "GET", "/api/v1/windows", None, False, 401),
    ("unknown path", "GET", "/nope", None, False, 404),
    ("bad body", "POST", "/api/v1/windows", {"name": ""}, True, 422),
    ("fast path decide", "GET", "/api/v1/decide?target=service:x", None, True, 200),
    ("batch decide", "POST", "/api/v1/decide", {"alerts": [{"targets": ["service:x"]}]},
     True, 200),
    ("compat", "GET", "/compat/pagertree/api/v4/maintenance_windows", None, True, 200),
    ("openapi", "GET", "/openapi.json", None, False, 200),
]
WANTED = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
          "cache-control": "no-store"}


@pytest.mark.parametrize(("name", "method", "path", "body", "keyed", "status"), ANSWERS,
                         ids=[a[0] for a in ANSWERS])
def test_every_answer_carries_the_security_headers(
        tenant: Tenant, server: str, name: str, method: str, path: str, body: object,
        keyed: bool, status: int) -> None:
    if keyed:
        response = tenant.admin.request(method, path, json=body)
    else:
        with httpx.Client(base_url=server, timeout=30) as client:
            response = client.request(method, path, json=body)
    got = {h: response.headers.get(h) for h in WANTED}
    assert (response.status_code, got, "strict-transport-security" in response.headers) == (
        status, WANTED, False)


@pytest.fixture
def exposed(settings: Settings, db: Database) -> Iterator[Tenant]:
    """A server configured as if public: https URL, bound beyond loopback (its settings say
    so; it still listens on 127.0.0.1), documents behind a key."""
    port = _free_port()
    app = create_app(settings.model_copy(update={
        "public_url": "https://quietly.example.com", "host": "0.0.0.0",
        "docs_require_key": True}), database=db)
    config = server_config(app, host="127.0.0.1", port=port, log_level="warning",
                           lifespan="on")
    with serving(config):
        tenant = make_tenant(db, f"http://127.0.0.1:{port}")
        yield tenant
        tenant.close()


def test_a_public_server_sends_hsts_guards_metrics_and_documents(exposed: Tenant) -> None:
    with httpx.Client(base_url=exposed.base_url, timeout=30) as anonymous:
        hsts = [anonymous.get("/healthz").headers.get("strict-transport-security"),
                exposed.viewer.get("/api/v1/decide?target=service:x").headers.get(
                    "strict-transport-security")]
        statuses = [anonymous.get("/metrics").status_code,
                    anonymous.get("/openapi.json").status_code,
                    anonymous.get("/docs").status_code,
                    exposed.viewer.get("/openapi.json").status_code]
    assert (hsts, statuses) == (["max-age=31536000; includeSubDomains"] * 2,
                                [403, 401, 401, 200])


@pytest.mark.parametrize(("host", "public", "open_"), [
    ("127.0.0.1", False, True), ("::1", False, True), ("localhost", False, True),
    ("0.0.0.0", False, False), ("192.0.2.10", False, False), ("quietly.example", False, False),
    ("0.0.0.0", True, True),
])
def test_metrics_open_only_on_loopback_unless_opened(host: str, public: bool,
                                                     open_: bool) -> None:
    assert metrics_open(Settings(host=host, metrics_public=public)) is open_
