"""A real OpenID provider (``oidc-provider-mock``) and quietly servers configured for it.

The provider runs as its own process on a free 127.0.0.1 port, stopped by PID; users and
their claims are set through its ``PUT /users/{sub}`` API, as its documentation shows.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx

from quietly.api.app import create_app
from quietly.api.server import server_config
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.conftest import _free_port, serving


@contextmanager
def oidc_provider(log_dir: Path) -> Iterator[str]:
    """Run ``oidc-provider-mock`` and yield its issuer URL once discovery answers."""
    port = _free_port()
    log = (log_dir / "oidc-provider.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port",
         str(port)], stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("oidc-provider-mock did not start; see " + str(log.name))
            time.sleep(0.1)
        yield issuer
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def set_user(issuer: str, sub: str, **claims: Any) -> None:
    """Tell the provider who ``sub`` is (email, name, groups, …)."""
    response = httpx.put(f"{issuer}/users/{quote(sub)}", json=claims)
    assert response.status_code == 204, response.text


@contextmanager
def quietly_server(settings: Settings, db: Database, **overrides: Any) -> Iterator[str]:
    """A quietly server over the shared test database with some settings changed."""
    changed = Settings(**{**settings.model_dump(), **overrides})
    port = _free_port()
    config = server_config(create_app(changed, database=db), host="127.0.0.1", port=port,
                           log_level="warning", lifespan="on")
    with serving(config):
        yield f"http://127.0.0.1:{port}"
