"""The keys page (scope, last use, expiry, revoke) and the throttled key sign-in form
(issue #15 point 3, issue #14 point 7)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.storage.db import Database
from quietly.storage.tables import ApiKeyRow
from tests.api.test_keys_hardening import LIMIT, strict_server
from tests.conftest import Tenant, make_tenant
from tests.web.conftest import cookie_client, signed_in, submit_sign_in

__all__ = ["strict_server"]  # a fixture, used by name below

def _row(html: str, key_id: int) -> str:
    found = re.search(rf'<tr id="key-{key_id}".*?</tr>', html, re.S)
    assert found is not None, html
    return found.group(0)


class TestKeysPage:
    def test_shows_scope_last_use_and_expiry(self, tenant: Tenant) -> None:
        expires = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=90)
        created = tenant.admin.post("/api/v1/keys", json={
            "name": "deploy-payments", "role": "maintenance",
            "scope": ["service:pay-*", "group:web-tier"],
            "expires_at": expires.isoformat()}).json()
        with httpx.Client(base_url=tenant.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {created['key']}"}) as deploy:
            assert deploy.get("/api/v1/decide?target=service:pay-api").status_code == 200
        admin, _ = signed_in(tenant, Role.ADMIN)
        row = ""
        for _ in range(200):  # last use is written off the request path: wait for it
            row = _row(admin.get("/keys").text, created["id"])
            if "never" not in row.split('data-label="Last used">')[1][:10]:
                break
            time.sleep(0.05)
        cells = re.findall(r'data-label="([^"]+)">(.*?)</td>', row, re.S)
        text = {label: re.sub(r"<[^>]+>", " ", cell).split() for label, cell in cells}
        assert (text["Role"], text["Scope"], text["Expires"], text["State"],
                text["Last used"][-1]) == (
            ["maintenance"], ["service:pay-*", "group:web-tier"],
            [expires.strftime("%Y-%m-%d"), expires.strftime("%H:%M"), "UTC"], ["active"],
            "UTC")

    def test_an_unscoped_key_covers_every_target(self, tenant: Tenant) -> None:
        admin, _ = signed_in(tenant, Role.ADMIN)
        keys = tenant.admin.get("/api/v1/keys").json()["keys"]
        editor = next(k for k in keys if k["role"] == "editor")
        assert "every target" in _row(admin.get("/keys").text, editor["id"])

    @pytest.mark.parametrize("role", [Role.VIEWER, Role.MAINTENANCE, Role.EDITOR])
    def test_only_admins(self, tenant: Tenant, role: Role) -> None:
        client, _ = signed_in(tenant, role)
        assert (client.get("/keys").status_code, "/keys" in client.get("/").text) == (
            403, False)

    def test_revoke(self, tenant: Tenant) -> None:
        created = tenant.admin.post("/api/v1/keys", json={"name": "old", "role": "viewer"})
        key_id = created.json()["id"]
        admin, csrf = signed_in(tenant, Role.ADMIN)
        forged = admin.post(f"/keys/{key_id}/revoke", data={"csrf_token": "forged"})
        done = admin.post(f"/keys/{key_id}/revoke", data={"csrf_token": csrf})
        with httpx.Client(base_url=tenant.base_url, timeout=30, headers={
                "Authorization": f"Bearer {created.json()['key']}"}) as old:
            after = old.get("/api/v1/windows").status_code
        assert (forged.status_code, done.status_code, 'data-state="revoked"' in _row(
            admin.get("/keys").text, key_id), after) == (403, 303, True, 401)


class TestSignInWithAKey:
    def test_an_expired_key_is_refused_saying_so(self, tenant: Tenant, db: Database) -> None:
        created = tenant.admin.post("/api/v1/keys", json={
            "name": "short", "role": "viewer",
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}).json()
        with db.transaction() as session:
            row = session.get(ApiKeyRow, created["id"])
            assert row is not None
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        response = submit_sign_in(cookie_client(tenant.base_url), created["key"])
        assert (response.status_code, "expired" in response.text) == (401, True)

    def test_a_client_that_keeps_failing_gets_429_and_valid_keys_do_not(
            self, strict_server: str, db: Database) -> None:
        tenant = make_tenant(db, strict_server)
        try:
            assert tenant.viewer.get("/api/v1/windows").status_code == 200  # known good
            browser = cookie_client(strict_server)
            valid = [submit_sign_in(browser, tenant.keys[Role.VIEWER]).status_code
                     for _ in range(LIMIT + 2)]  # valid sign-ins are never counted
            failures = [submit_sign_in(browser, "qly_wrong") for _ in range(LIMIT + 1)]
            retry = failures[-1].headers.get("retry-after", "")
            still = submit_sign_in(cookie_client(strict_server), tenant.keys[Role.VIEWER])
            assert (valid, [r.status_code for r in failures], retry.isdigit(),
                    "Try again in" in failures[-1].text, still.status_code) == (
                [303] * (LIMIT + 2), [401] * (LIMIT - 1) + [429] * 2, True, True, 303)
        finally:
            tenant.close()

    def test_sign_in_and_api_failures_share_one_budget(self, strict_server: str,
                                                       db: Database) -> None:
        tenant = make_tenant(db, strict_server)
        try:
            with httpx.Client(base_url=strict_server, timeout=30) as api:
                for _ in range(LIMIT):
                    api.get("/api/v1/windows", headers={"Authorization": "Bearer qly_nope"})
            response = submit_sign_in(cookie_client(strict_server), "qly_also_wrong")
            assert (response.status_code, "retry-after" in response.headers) == (429, True)
        finally:
            tenant.close()
