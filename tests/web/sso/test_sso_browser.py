"""Single sign-on in the real browser: quietly → oidc-provider-mock → quietly, then sign-out
through the provider's end-session page. The person is the actor of what they change."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import needs_chromium
from tests.web.sso.conftest import Sso
from tests.web.sso_support import set_user

pytestmark = needs_chromium


def _sign_in_at_provider(page: Page, sso: Sso, sub: str) -> None:
    page.goto(sso.url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_role("link", name="Sign in with Example SSO").click()
    expect(page).to_have_url(re.compile(re.escape(sso.issuer) + r"/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_sign_in_create_a_window_and_sign_out(page: Page, sso: Sso, shoot: Any) -> None:
    sub = f"alice-{uuid.uuid4().hex[:6]}"
    set_user(sso.issuer, sub, email="alice@example.com", name="Alice", groups=["sre"])
    _sign_in_at_provider(page, sso, sub)

    page.wait_for_url(sso.url + "/")
    who = page.locator(".who")
    expect(who).to_contain_text("alice@example.com")
    expect(who).to_contain_text(sso.workspace)
    expect(who).to_contain_text("editor")
    shoot(page, "sso-01-signed-in")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Maintenance now").click()
    page.get_by_label("Targets").fill("service:checkout")
    page.get_by_label("Name").fill("Deploy by Alice")
    page.get_by_role("button", name="Start maintenance").click()
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.locator("main")).to_contain_text("by alice@example.com")
    shoot(page, "sso-02-window-created-by-alice")
    window_id = int(page.url.split("?")[0].rsplit("/", 1)[1])
    with sso.api() as api:
        window = api.get(f"/api/v1/windows/{window_id}").json()
        log = api.get("/api/v1/audit", params={"object_id": str(window_id)}).json()
    assert (window["created_by"], [e["actor"] for e in log["entries"]]) == (
        "alice@example.com", ["alice@example.com"])

    page.get_by_role("button", name="Sign out").click()
    # The provider advertises an end-session endpoint: its page asks to end the session there.
    expect(page).to_have_url(re.compile(re.escape(sso.issuer) + r"/oauth2/end_session"))
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(sso.url) + r"/sign-in"))
    page.goto(sso.url + "/windows")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/windows"))
    shoot(page, "sso-03-signed-out")


def test_unmapped_groups_see_a_clear_refusal(page: Page, sso: Sso, shoot: Any) -> None:
    sub = f"mallory-{uuid.uuid4().hex[:6]}"
    set_user(sso.issuer, sub, email="mallory@example.com", groups=["marketing"])
    _sign_in_at_provider(page, sso, sub)
    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "mallory@example.com signed in at the provider, but none of their groups (marketing)")
    shoot(page, "sso-04-refused")
    page.goto(sso.url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
