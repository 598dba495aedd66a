"""Least-privilege keys on the native API (issue #15 point 3): target scopes, the
``maintenance`` role, expiry, and creating such keys.

A scoped key changes only windows wholly inside its patterns and sees everything read-only;
a maintenance key starts, stops and checks; an expired key is a 401 that says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from tests.api.helpers import active_body, iso, now, window_body
from tests.conftest import Tenant

DEPLOY_SCOPE = ["service:pay-*", "group:web-tier"]


def scoped_client(tenant: Tenant, scope: list[str], role: str = "editor",
                  **extra: Any) -> httpx.Client:
    """A client with a new key of ``role`` limited to ``scope`` (closed with the tenant)."""
    response = tenant.admin.post("/api/v1/keys", json={
        "name": f"scoped-{len(tenant.clients)}-{role}", "role": role, "scope": scope, **extra})
    assert response.status_code == 201, response.text
    client = httpx.Client(base_url=tenant.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {response.json()['key']}"})
    tenant.clients[f"scoped-{len(tenant.clients)}"] = client  # type: ignore[index]
    return client


def _window(tenant: Tenant, targets: list[str], **extra: Any) -> dict[str, Any]:
    response = tenant.editor.post("/api/v1/windows", json=window_body(targets=targets, **extra))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem(response: httpx.Response) -> tuple[int, str | None]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.status_code, response.json()["field"]


class TestCreatingScopedKeys:
    def test_the_key_shows_its_scope_and_expiry(self, tenant: Tenant) -> None:
        expires = now() + timedelta(days=90)
        created = tenant.admin.post("/api/v1/keys", json={
            "name": "deploy", "role": "maintenance", "scope": DEPLOY_SCOPE,
            "expires_at": iso(expires)}).json()
        listed = next(k for k in tenant.admin.get("/api/v1/keys").json()["keys"]
                      if k["id"] == created["id"])
        assert ({k: listed[k] for k in ("role", "scope", "expires_at", "expired")}
                == {"role": "maintenance", "scope": DEPLOY_SCOPE, "expires_at": iso(expires),
                    "expired": False})

    def test_targets_is_accepted_for_scope(self, tenant: Tenant) -> None:
        created = tenant.admin.post("/api/v1/keys", json={
            "name": "alias", "role": "editor", "targets": ["service:x"]})
        assert (created.status_code, created.json()["scope"]) == (201, ["service:x"])

    # (extra fields, field named by the 422)
    REFUSED = [
        ({"scope": ["checkout"]}, "scope[0]"),
        ({"scope": ["service:ok", "*:x"]}, "scope[1]"),
        ({"scope": ["service:a b"]}, "scope[0]"),
        ({"scope": ["service:" + "*" * 9]}, "scope[0]"),
        ({"scope": [f"service:s{i}" for i in range(51)]}, "scope"),
        ({"scope": ["service:" + "x" * 300]}, "scope[0]"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "next tuesday"}, "expires_at"),
        ({"role": "admin", "scope": ["service:x"]}, "scope"),
        ({"role": "owner"}, "role"),
    ]

    @pytest.mark.parametrize(("extra", "field"), REFUSED)
    def test_bad_input_is_422_naming_the_field(self, tenant: Tenant, extra: dict[str, Any],
                                               field: str) -> None:
        response = tenant.admin.post("/api/v1/keys",
                                     json={"name": "bad", "role": "editor", **extra})
        assert _problem(response) == (422, field)


class TestScopedWrites:
    # (targets of the window, inside "service:pay-*" + "group:web-tier"?)
    CREATE = [
        (["service:pay-api"], True),
        (["service:pay-api", "service:pay-db"], True),
        (["service:pay-api", "service:checkout"], False),
        (["service:pay"], False),
        (["service:payments"], False),
        (["monitor:pay-1"], False),
    ]

    @pytest.mark.parametrize(("targets", "inside"), CREATE)
    def test_create(self, tenant: Tenant, targets: list[str], inside: bool) -> None:
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        response = deploy.post("/api/v1/windows", json=window_body(targets=targets))
        assert response.status_code == (201 if inside else 403), response.text

    def test_a_batch_is_refused_whole_naming_the_item_outside(self, tenant: Tenant) -> None:
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        inside = [window_body("b0", targets=["service:pay-batch"]),
                  window_body("b1", targets=["service:pay-batch", "service:ledger-batch"])]
        refused = deploy.post("/api/v1/windows/batch", json={"windows": inside})
        listed = tenant.viewer.get("/api/v1/windows", params={"target": "service:pay-batch"})
        allowed = deploy.post("/api/v1/windows/batch", json={"windows": inside[:1]})
        assert ((_problem(refused), listed.json()["windows"], allowed.status_code)
                == ((403, "windows[1].targets[1]"), [], 201))

    def test_group_targets_need_a_group_pattern(self, tenant: Tenant) -> None:
        for name in ("web-tier", "db-tier"):
            tenant.editor.post("/api/v1/groups", json={"name": name, "targets": ["host:a"]})
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        allowed = deploy.post("/api/v1/windows", json=window_body(targets=[],
                                                                 groups=["web-tier"]))
        refused = deploy.post("/api/v1/windows", json=window_body(targets=[],
                                                                 groups=["db-tier"]))
        assert (allowed.status_code, _problem(refused)) == (201, (403, "groups[0]"))

    @pytest.mark.parametrize(("extra", "field"), [
        ({"all_targets": True}, "all_targets"),
        ({"match": [[{"label": "service", "op": "=", "value": "pay-api"}]]}, "match"),
    ])
    def test_conditions_and_all_targets_are_outside_every_scope(
            self, tenant: Tenant, extra: dict[str, Any], field: str) -> None:
        deploy = scoped_client(tenant, ["service:*"])
        body = window_body(targets=["service:pay-api"], **extra)
        assert _problem(deploy.post("/api/v1/windows", json=body)) == (403, field)

    def test_someone_elses_window_is_visible_but_not_changeable(self, tenant: Tenant) -> None:
        theirs = _window(tenant, ["service:pay-api", "service:checkout"])
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        url = f"/api/v1/windows/{theirs['id']}"
        seen = (deploy.get(url).status_code,
                theirs["id"] in [w["id"] for w in deploy.get("/api/v1/windows").json()["windows"]])
        writes = [deploy.patch(url, json={"description": "mine"}).status_code,
                  deploy.patch(url, json={"targets": ["service:pay-api"]}).status_code,
                  deploy.post(url + "/cancel").status_code,
                  deploy.delete(url).status_code]
        assert (seen, writes, sorted(tenant.viewer.get(url).json()["targets"])) == (
            (200, True), [403] * 4, ["service:checkout", "service:pay-api"])

    def test_an_own_window_cannot_be_widened(self, tenant: Tenant) -> None:
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        mine = deploy.post("/api/v1/windows", json=window_body(targets=["service:pay-api"]))
        url = f"/api/v1/windows/{mine.json()['id']}"
        widened = deploy.patch(url, json={"targets": ["service:pay-api", "service:checkout"]})
        renamed = deploy.patch(url, json={"name": "still mine"})
        assert (_problem(widened), renamed.status_code,
                deploy.delete(url).status_code) == ((403, "targets[1]"), 200, 204)

    def test_start_and_stop_inside_the_scope_only(self, tenant: Tenant) -> None:
        deploy = scoped_client(tenant, ["service:pay-*"], role="maintenance")
        started = deploy.post("/api/v1/maintenance/start",
                              json={"targets": ["service:pay-api"], "duration": "PT10M"})
        outside = deploy.post("/api/v1/maintenance/start",
                              json={"targets": ["service:pay-api", "service:checkout"],
                                    "duration": "PT10M"})
        stop_outside = deploy.post("/api/v1/maintenance/stop",
                                   json={"targets": ["service:checkout"]})
        stopped = deploy.post("/api/v1/maintenance/stop", json={"targets": ["service:pay-api"]})
        assert (started.status_code, _problem(outside), _problem(stop_outside),
                stopped.status_code, [w["id"] for w in stopped.json()["stopped"]]) == (
            201, (403, "targets[1]"), (403, "targets[0]"), 200, [started.json()["id"]])

    def test_stop_by_window_id_outside_the_scope(self, tenant: Tenant) -> None:
        theirs = tenant.editor.post("/api/v1/windows", json=active_body(
            "theirs", ["service:checkout"])).json()
        deploy = scoped_client(tenant, ["service:pay-*"], role="maintenance")
        response = deploy.post("/api/v1/maintenance/stop", json={"window_id": theirs["id"]})
        assert response.status_code == 403

    def test_checks_and_reads_are_not_limited(self, tenant: Tenant) -> None:
        tenant.editor.post("/api/v1/maintenance/start",
                           json={"targets": ["service:checkout"], "duration": "PT10M"})
        deploy = scoped_client(tenant, ["service:pay-*"], role="maintenance")
        verdict = deploy.get("/api/v1/decide", params={"target": "service:checkout"})
        assert (verdict.status_code, verdict.json()["verdict"]) == (200, "mute")

    def test_groups_cannot_be_changed_by_a_scoped_key(self, tenant: Tenant) -> None:
        tenant.editor.post("/api/v1/groups", json={"name": "web-tier", "targets": ["host:a"]})
        deploy = scoped_client(tenant, DEPLOY_SCOPE)
        writes = [deploy.post("/api/v1/groups", json={"name": "g2", "targets": ["host:b"]}),
                  deploy.put("/api/v1/groups/web-tier", json={"targets": ["service:checkout"]}),
                  deploy.delete("/api/v1/groups/web-tier")]
        assert ([r.status_code for r in writes],
                tenant.viewer.get("/api/v1/groups/web-tier").json()["targets"]) == (
            [403] * 3, ["host:a"])

    def test_alert_ingest_inside_the_scope_only(self, tenant: Tenant) -> None:
        deploy = scoped_client(tenant, ["service:pay-*"])
        inside = deploy.post("/api/v1/alerts", json={"alerts": [
            {"targets": ["service:pay-api"], "labels": {"alertname": "Down"}}]})
        outside = deploy.post("/api/v1/alerts", json={"alerts": [
            {"targets": ["service:pay-api"], "labels": {"alertname": "A"}},
            {"targets": ["service:checkout"], "labels": {"alertname": "B"}}]})
        labels_only = deploy.post("/api/v1/alerts", json={"alerts": [
            {"labels": {"alertname": "C"}}]})
        assert (inside.status_code, _problem(outside), _problem(labels_only)) == (
            200, (403, "alerts[1].targets[0]"), (403, "alerts[0].targets"))

    def test_unscoped_keys_are_unaffected(self, tenant: Tenant) -> None:
        body = window_body(targets=["service:checkout"], all_targets=True)
        assert tenant.editor.post("/api/v1/windows", json=body).status_code == 201


class TestMaintenanceRole:
    # (method, path, body) a maintenance key may not use
    REFUSED: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/v1/windows", window_body()),
        ("PATCH", "/api/v1/windows/{id}", {"description": "x"}),
        ("POST", "/api/v1/windows/{id}/cancel", None),
        ("DELETE", "/api/v1/windows/{id}", None),
        ("POST", "/api/v1/groups", {"name": "g", "targets": ["host:a"]}),
        ("GET", "/api/v1/keys", None),
        ("POST", "/api/v1/keys", {"name": "k", "role": "viewer"}),
        ("GET", "/api/v1/channels", None),
        ("POST", "/api/v1/channels", {"name": "c", "type": "webhook",
                                      "url": "https://example.com/hook"}),
        ("POST", "/api/v1/alerts", {"alerts": [{"targets": ["service:a"]}]}),
        ("POST", "/api/v1/apply", {"source": "ci", "windows": []}),
    ]

    @pytest.mark.parametrize(("method", "path", "body"), REFUSED,
                             ids=[f"{m} {p}" for m, p, _ in REFUSED])
    def test_refused(self, tenant: Tenant, method: str, path: str,
                     body: dict[str, Any] | None) -> None:
        window = _window(tenant, ["service:a"])
        response = tenant.client(Role.MAINTENANCE).request(
            method, path.format(id=window["id"]), json=body)
        assert response.status_code == 403, response.text

    def test_start_stop_and_check(self, tenant: Tenant) -> None:
        deploy = tenant.client(Role.MAINTENANCE)
        started = deploy.post("/api/v1/maintenance/start",
                              json={"targets": ["service:a"], "duration": "PT5M"})
        quiet = deploy.get("/api/v1/decide", params={"target": "service:a"}).json()["verdict"]
        stopped = deploy.post("/api/v1/maintenance/stop", json={"targets": ["service:a"]})
        after = deploy.get("/api/v1/decide", params={"target": "service:a"}).json()["verdict"]
        assert (started.status_code, quiet, stopped.status_code, after) == (
            201, "mute", 200, "deliver")


    def test_may_move_the_end_of_what_it_started_only(self, tenant: Tenant) -> None:
        """What ``quietly run`` does while its command outlives ``--for``."""
        deploy = tenant.client(Role.MAINTENANCE)
        started = deploy.post("/api/v1/maintenance/start",
                              json={"targets": ["service:a"], "duration": "PT5M"}).json()
        later = iso(now() + timedelta(minutes=30))
        url = f"/api/v1/windows/{started['id']}"
        extended = deploy.patch(url, json={"schedule": {"end": later}})
        renamed = deploy.patch(url, json={"name": "mine"})
        retargeted = deploy.patch(url, json={"targets": ["service:b"]})
        planned = _window(tenant, ["service:a"])
        other = deploy.patch(f"/api/v1/windows/{planned['id']}",
                             json={"schedule": {"end": later}})
        assert (extended.status_code, extended.json()["schedule"]["end"], renamed.status_code,
                retargeted.status_code, other.status_code) == (200, later, 403, 403, 403)


class TestExpiry:
    def _expired_key(self, tenant: Tenant, db: Any) -> str:
        from quietly.services import workspaces
        from quietly.storage.tables import ApiKeyRow

        response = tenant.admin.post("/api/v1/keys", json={
            "name": "short", "role": "viewer", "expires_at": iso(now() + timedelta(hours=1))})
        with db.transaction() as session:  # let an hour pass
            row = session.get(ApiKeyRow, response.json()["id"])
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert workspaces  # imported for the side effect of loading the mappers
        key: str = response.json()["key"]
        return key

    def test_an_expired_key_is_401_saying_so(self, tenant: Tenant, db: Any) -> None:
        key = self._expired_key(tenant, db)
        with httpx.Client(base_url=tenant.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            responses = [client.get("/api/v1/windows"),
                         client.get("/api/v1/decide", params={"target": "service:a"})]
        assert [(r.status_code, "expired" in r.json()["detail"],
                 'error="invalid_token"' in r.headers["www-authenticate"])
                for r in responses] == [(401, True, True), (401, True, True)]

    def test_a_key_not_yet_expired_works(self, tenant: Tenant) -> None:
        client = scoped_client(tenant, [], role="viewer",
                               expires_at=iso(now() + timedelta(minutes=5)))
        assert client.get("/api/v1/windows").status_code == 200
