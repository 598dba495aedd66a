"""The syncs' pages in the web UI: status and what is not synced, admins only, isolated."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.sync.amserver import Alertmanager, eventually
from tests.sync.conftest import make_sync, make_window, unique

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def signed_in() -> Iterator[list[httpx.Client]]:
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


def browser(tenant: Tenant, role: Role, opened: list[httpx.Client]) -> httpx.Client:
    client = httpx.Client(base_url=tenant.base_url, timeout=30)
    opened.append(client)
    token = CSRF.findall(client.get("/sign-in").text)[0]
    response = client.post("/sign-in", data={"api_key": tenant.keys[role],
                                              "csrf_token": token, "next": "/"})
    assert response.status_code == 303
    return client


@pytest.mark.usefixtures("sync_worker")
def test_sync_page_shows_status_and_what_is_not_synced(
        tenant: Tenant, other_tenant: Tenant, am: Alertmanager,
        signed_in: list[httpx.Client]) -> None:
    sync = make_sync(tenant, am, bearer_token="never-shown-token")
    make_window(tenant, targets=[f"service:{unique()}"])
    odd = make_window(tenant, targets=[f"monitor:{unique()}"])
    def synced() -> bool:  # both windows seen: the silence, and the reason for the other
        state = tenant.admin.get(f"/api/v1/syncs/{sync['id']}/status").json()
        return bool(state["objects"] == 1 and state["not_expressible"])

    eventually(synced, what="synced")
    admin = browser(tenant, Role.ADMIN, signed_in)
    listing = admin.get("/syncs")
    detail = admin.get(f"/syncs/{sync['id']}")
    window_page = admin.get(f"/windows/{odd['id']}")
    assert (listing.status_code, sync["name"] in listing.text, detail.status_code,
            "no alert label stands for this kind" in detail.text,
            "never-shown-token" in detail.text,
            "Not synced to other systems" in window_page.text) == (
        200, True, 200, True, False, True)
    editor = browser(tenant, Role.EDITOR, signed_in)
    stranger = browser(other_tenant, Role.ADMIN, signed_in)
    assert [editor.get(f"/syncs/{sync['id']}").status_code,
            stranger.get(f"/syncs/{sync['id']}").status_code,
            stranger.get("/syncs/99999999999").status_code] == [403, 404, 404]
