"""Browser fixtures: Playwright drives Debian's Chromium (``/usr/bin/chromium``); and for the
tests over plain HTTP, cookie clients that sign in through the form.

Browser tests are skipped, with a message saying what to install, when that binary is missing.
Screenshots of every page go to ``artifacts/screenshots/`` (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# .ci/run keeps $QUIETLY_ARTIFACTS (default: artifacts/ in the checkout) as CI artifacts.
SCREENSHOTS = Path(os.environ.get("QUIETLY_ARTIFACTS")
                   or Path(__file__).resolve().parents[2] / "artifacts") / "screenshots"
BROWSER_ZONE = "America/New_York"  # not the workspace's zone, so conversions are visible

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium "
           "(apt-get install -y chromium)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "timezone_id": BROWSER_ZONE, "locale": "en-GB",
            "viewport": {"width": 1360, "height": 900}}


@pytest.fixture
def shoot() -> Any:
    """``shoot(page, "name")`` saves a full-page screenshot under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


def sign_in(page: Any, tenant: Tenant, role: Role = Role.EDITOR) -> None:
    page.goto(tenant.base_url + "/")
    page.get_by_label("API key").fill(tenant.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(tenant.base_url + "/")


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_cookie_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def cookie_client(base_url: str) -> httpx.Client:
    """A client with no key, for the UI's cookie session; closed when the test ends."""
    client = httpx.Client(base_url=base_url, timeout=30)
    _OPEN.append(client)
    return client


def submit_sign_in(client: httpx.Client, key: str, next_path: str = "/") -> httpx.Response:
    """The sign-in form sent with ``key`` and the CSRF token of a freshly loaded form."""
    token = CSRF.findall(client.get("/sign-in").text)[0]
    return client.post("/sign-in", data={"api_key": key, "csrf_token": token,
                                         "next": next_path})


def signed_in(tenant: Tenant, role: Role) -> tuple[httpx.Client, str]:
    """A cookie client signed in with ``tenant``'s ``role`` key through the form, and the
    CSRF token its forms carry; checks the session cookie's flags on the way."""
    client = cookie_client(tenant.base_url)
    response = submit_sign_in(client, tenant.keys[role], "/windows")
    assert response.status_code == 303
    assert response.headers["location"] == "/windows"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    page = client.get("/windows")
    assert page.status_code == 200
    return client, CSRF.findall(page.text)[0]
