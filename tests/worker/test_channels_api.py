"""Channels, routes and the delivery log through the native API: CRUD, validation naming the
field, roles, tenant isolation, the test endpoint, and ``notify_channels`` checked on write."""

from __future__ import annotations

from datetime import timedelta

from quietly.notify import verify
from tests.conftest import Tenant
from tests.worker.conftest import make_channel, make_window, seconds_from_now
from tests.worker.sink import Sink


def test_channel_crud_shows_the_secret_only_when_set(tenant: Tenant) -> None:
    created = tenant.admin.post("/api/v1/channels", json={
        "name": "ops", "type": "slack", "url": "https://hooks.example.com/x"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    listed = tenant.admin.get("/api/v1/channels").json()["channels"]
    assert [(c["name"], c["type"]) for c in listed] == [("ops", "slack")]
    assert body["secret"] not in listed[0]["secret"]
    patched = tenant.admin.patch(f"/api/v1/channels/{body['id']}",
                                 json={"name": "ops2", "secret": "my-own-secret"})
    assert (patched.status_code, patched.json()["name"], patched.json()["secret"]) == (
        200, "ops2", "my-own-secret")
    assert tenant.admin.get(f"/api/v1/channels/{body['id']}").json()["secret"] != \
        "my-own-secret"
    assert tenant.admin.delete(f"/api/v1/channels/{body['id']}").status_code == 204
    assert tenant.admin.get(f"/api/v1/channels/{body['id']}").status_code == 404


def test_bad_channels_are_refused_naming_the_field(tenant: Tenant) -> None:
    cases = {
        "ftp": ({"name": "a", "url": "ftp://example.com/x"}, 422, "url"),
        "no host": ({"name": "a", "url": "http:///path"}, 422, "url"),
        "creds": ({"name": "a", "url": "https://u:p@example.com/"}, 422, "url"),
        "type": ({"name": "a", "url": "https://example.com/", "type": "email"}, 422,
                 "type"),
        "digits": ({"name": "123", "url": "https://example.com/"}, 422, "name"),
    }
    found = {}
    for label, (body, _, _) in cases.items():
        response = tenant.admin.post("/api/v1/channels", json=body)
        problem = response.json()
        fields = [problem.get("field")] + [e.get("field") for e in problem.get("errors", [])]
        found[label] = (response.status_code, next((f for f in fields if f), None))
    assert found == {k: (v[1], v[2]) for k, v in cases.items()}
    first = tenant.admin.post("/api/v1/channels", json={"name": "dup",
                                                        "url": "https://example.com/"})
    again = tenant.admin.post("/api/v1/channels", json={"name": "dup",
                                                        "url": "https://example.com/"})
    assert (first.status_code, again.status_code) == (201, 409)


def test_only_admins_manage_channels_and_tenants_are_isolated(
        tenant: Tenant, other_tenant: Tenant) -> None:
    body = {"name": "x", "url": "https://example.com/"}
    assert tenant.editor.post("/api/v1/channels", json=body).status_code == 403
    assert tenant.viewer.get("/api/v1/channels").status_code == 403
    made = make_channel(tenant.admin, "https://example.com/")
    assert other_tenant.admin.get(f"/api/v1/channels/{made['id']}").status_code == 404
    assert other_tenant.admin.delete(f"/api/v1/channels/{made['id']}").status_code == 404
    assert other_tenant.admin.get("/api/v1/channels").json()["channels"] == []
    assert tenant.viewer.get("/api/v1/deliveries").status_code == 200
    start = seconds_from_now(3600)
    foreign = other_tenant.editor.post("/api/v1/windows", json={
        "name": "w", "targets": ["service:a"], "notify_channels": [made["id"]],
        "schedule": {"kind": "once", "start": start.isoformat(),
                     "end": (start + timedelta(hours=1)).isoformat()}})
    assert (foreign.status_code, foreign.json()["field"]) == (422, "notify_channels[0]")


def test_windows_name_channels_by_id_or_name(tenant: Tenant) -> None:
    made = make_channel(tenant.admin, "https://example.com/")
    start = seconds_from_now(3600)
    ok = make_window(tenant.editor, start, start + timedelta(hours=1),
                     [made["id"], made["name"], str(made["id"])])
    assert ok["notify_channels"] == [made["id"], made["name"], str(made["id"])]
    bad = tenant.editor.patch(f"/api/v1/windows/{ok['id']}",
                              json={"notify_channels": [made["id"], "nope"]})
    assert (bad.status_code, bad.json()["field"]) == (422, "notify_channels[1]")


def test_the_test_endpoint_sends_a_signed_sample(tenant: Tenant, sink: Sink) -> None:
    made = make_channel(tenant.admin, sink.url("/sample"))
    result = tenant.admin.post(f"/api/v1/channels/{made['id']}/test").json()
    assert (result["ok"], result["status_code"]) == (True, 200)
    [got] = sink.at("/sample")
    assert got.json["type"] == "channel.test"
    assert got.webhook_id == result["event_id"]
    assert verify(made["secret"], got.webhook_id, int(got.headers["webhook-timestamp"]),
                  got.body, got.headers["webhook-signature"])
    sink.statuses["/broken"] = [500]
    broken = make_channel(tenant.admin, sink.url("/broken"))
    failed = tenant.admin.post(f"/api/v1/channels/{broken['id']}/test").json()
    assert (failed["ok"], failed["status_code"], failed["error"]) == (False, 500, "HTTP 500")


def test_slack_channels_get_slack_payloads(tenant: Tenant, sink: Sink) -> None:
    made = make_channel(tenant.admin, sink.url("/slack"), type="slack")
    tenant.admin.post(f"/api/v1/channels/{made['id']}/test")
    [got] = sink.at("/slack")
    assert set(got.json) == {"text", "blocks"}
    assert got.json["text"].startswith("Test message from quietly")


def test_routes_crud_and_validation(tenant: Tenant) -> None:
    made = make_channel(tenant.admin, "https://example.com/")
    route = tenant.admin.post("/api/v1/routes", json={
        "name": "db", "channel": made["name"], "targets": ["service:db"],
        "match": [[{"label": "env", "op": "=~", "value": "prod|stage"}]]})
    assert route.status_code == 201, route.text
    assert route.json()["channel_id"] == made["id"]
    bad_regex = tenant.admin.post("/api/v1/routes", json={
        "name": "x", "channel": made["id"],
        "match": [[{"label": "env", "op": "=~", "value": "("}]]})
    assert bad_regex.status_code == 422
    assert bad_regex.json()["field"].startswith("match[0][0]")
    unknown = tenant.admin.post("/api/v1/routes", json={"name": "y", "channel": 999999})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "channel")
    rid = route.json()["id"]
    patched = tenant.admin.patch(f"/api/v1/routes/{rid}", json={"targets": []})
    assert patched.json()["targets"] == []
    assert [r["name"] for r in tenant.admin.get("/api/v1/routes").json()["routes"]] == ["db"]
    assert tenant.admin.delete(f"/api/v1/routes/{rid}").status_code == 204
    assert tenant.admin.get(f"/api/v1/routes/{rid}").status_code == 404


def test_the_delivery_log_filters_by_window_channel_and_status(tenant: Tenant) -> None:
    a = make_channel(tenant.admin, "https://example.com/a")
    b = make_channel(tenant.admin, "https://example.com/b")
    start = seconds_from_now(3600)
    w1 = make_window(tenant.editor, start, start + timedelta(hours=1), [a["id"], b["id"]])
    w2 = make_window(tenant.editor, start, start + timedelta(hours=1), [a["id"]])

    def ids(**params: object) -> list[tuple[int | None, int | None, str]]:
        found = tenant.viewer.get("/api/v1/deliveries", params=params).json()["deliveries"]
        return [(d["window_id"], d["channel_id"], d["status"]) for d in found]

    assert ids(window=w1["id"]) == [(w1["id"], b["id"], "pending"),
                                    (w1["id"], a["id"], "pending")]
    assert ids(channel=a["id"]) == [(w2["id"], a["id"], "pending"),
                                    (w1["id"], a["id"], "pending")]
    assert ids(status="delivered") == []
    page = tenant.viewer.get("/api/v1/deliveries", params={"limit": 2}).json()
    rest = tenant.viewer.get("/api/v1/deliveries",
                             params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(page["deliveries"]) + len(rest["deliveries"]) == 3
    assert rest["next_cursor"] is None
    entry = tenant.viewer.get("/api/v1/deliveries", params={"window": w2["id"]}).json()
    [only] = entry["deliveries"]
    assert (only["type"], only["attempt_count"], only["attempts"]) == (
        "window.created", 0, [])
    assert only["next_attempt_at"] is not None
    bad = tenant.viewer.get("/api/v1/deliveries", params={"status": "nope"})
    assert bad.status_code == 422
