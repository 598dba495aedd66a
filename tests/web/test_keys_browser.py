"""The Keys page in a real browser (Playwright + Debian's Chromium): an admin finds a scoped
deploy key with its scope, last use and expiry, and revokes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect

from quietly.core.records import Role
from tests.conftest import Tenant
from tests.web.conftest import needs_chromium, sign_in

pytestmark = needs_chromium


def test_admin_sees_a_scoped_key_and_revokes_it(page: Page, tenant: Tenant,
                                                shoot: Any) -> None:
    expires = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=90)
    created = tenant.admin.post("/api/v1/keys", json={
        "name": "deploy-payments", "role": "maintenance", "scope": ["service:pay-*"],
        "expires_at": expires.isoformat()}).json()
    sign_in(page, tenant, Role.ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
    row = page.locator(f"#key-{created['id']}")
    expect(row).to_contain_text("deploy-payments")
    expect(row).to_contain_text("maintenance")
    expect(row).to_contain_text("service:pay-*")
    expect(row).to_contain_text(expires.strftime("%Y-%m-%d %H:%M UTC"))
    expect(row.locator('[data-label="Last used"]')).to_have_text("never")
    shoot(page, "keys-page")
    # Revoking asks first: cancelled, the key keeps working.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Revoke key deploy-payments").click()
    expect(row).not_to_have_attribute("data-state", "revoked")
    assert len(asked) == 1
    assert "deploy-payments" in asked[0]
    assert "cannot be undone" in asked[0]
    with httpx.Client(base_url=tenant.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {created['key']}"}) as kept:
        assert kept.get("/api/v1/windows").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke key deploy-payments").click()
    expect(page.get_by_role("status")).to_contain_text(f"Key {created['id']} is revoked")
    expect(page.locator(f"#key-{created['id']}")).to_have_attribute("data-state", "revoked")
    with httpx.Client(base_url=tenant.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {created['key']}"}) as revoked:
        assert revoked.get("/api/v1/windows").status_code == 401
