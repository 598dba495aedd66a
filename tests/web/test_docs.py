"""``/docs`` works with no internet: Swagger UI comes from files shipped in the package, whose
hashes are the ones recorded in ``static/vendor/README.md``."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, Route, expect

from quietly.web.render import STATIC_DIR
from tests.web.conftest import needs_chromium

RECORDED = dict(re.findall(r"^\| `([^`]+)` \|[^|]+\|[^|]+\| `([0-9a-f]{64})` \|",
                           (STATIC_DIR / "vendor" / "README.md").read_text(), re.M))


def test_docs_page_names_only_our_own_assets(server: str) -> None:
    page = httpx.get(server + "/docs")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert (page.status_code, sorted(sources)) == (200, [
        "/static/favicon.svg", "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css"])


@pytest.mark.parametrize("name", ["swagger-ui/swagger-ui-bundle.js",
                                  "swagger-ui/swagger-ui.css", "htmx.min.js"])
def test_vendored_files_are_served_with_their_recorded_hash(server: str, name: str) -> None:
    served = httpx.get(f"{server}/static/vendor/{name}")
    assert (served.status_code, hashlib.sha256(served.content).hexdigest()) == (
        200, RECORDED[name])


@needs_chromium
def test_docs_render_in_a_browser_with_the_internet_cut_off(page: Page, server: str,
                                                            shoot: Any) -> None:
    outside: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(server + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("quietly")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.get_by_text("/api/v1/windows", exact=True).first).to_be_visible()
    shoot(page, "docs-offline")
    assert outside == []
