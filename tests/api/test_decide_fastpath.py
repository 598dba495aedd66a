"""The decision hot path (plain Starlette routes) keeps the documented contract."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import active_body
from tests.conftest import Tenant


def _post(tenant: Tenant, body: Any) -> tuple[int, str | None]:
    response = tenant.viewer.post("/api/v1/decide", json=body)
    return response.status_code, response.json().get("field")


def test_batch_validation_names_the_field(tenant: Tenant) -> None:
    cases: dict[str, tuple[Any, tuple[int, str | None]]] = {
        "no alerts": ({}, (422, "alerts")),
        "alerts not a list": ({"alerts": {}}, (422, "alerts")),
        "extra field": ({"alerts": [], "when": "now"}, (422, "when")),
        "alert not an object": ({"alerts": [{}, 3]}, (422, "alerts[1]")),
        "extra alert field": ({"alerts": [{"severity": "x"}]}, (422, "alerts[0].severity")),
        "targets not a list": ({"alerts": [{"targets": "service:a"}]},
                               (422, "alerts[0].targets")),
        "null targets": ({"alerts": [{"targets": None}]}, (422, "alerts[0].targets")),
        "too many targets": ({"alerts": [{"targets": ["t:x"] * 1001}]},
                             (422, "alerts[0].targets")),
        "label not a string": ({"alerts": [{"labels": {"a": 1}}]}, (422, "alerts[0].labels")),
        "bad instant": ({"alerts": [], "at": "tomorrow"}, (422, "at")),
        "empty instant": ({"alerts": [], "at": ""}, (422, "at")),
        "a list body": ([], (422, None)),
        "fine": ({"alerts": [{}], "at": None}, (200, None)),
    }
    assert {name: _post(tenant, body) for name, (body, _) in cases.items()} == {
        name: expected for name, (_, expected) in cases.items()}


def test_undecodable_body_is_a_400(tenant: Tenant) -> None:
    response = tenant.viewer.post("/api/v1/decide", content=b"{nope",
                                  headers={"content-type": "application/json"})
    assert (response.status_code, response.headers["content-type"]) == (
        400, "application/problem+json")


def test_single_decision_validation_and_auth(tenant: Tenant) -> None:
    def status(query: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        response = tenant.viewer.get(f"/api/v1/decide?{query}", headers=headers)
        return response.status_code, response.json().get("field")

    many = "&".join(["target=t:x"] * 1001)
    assert {
        "label without a name": status("label.=x"),
        "bad instant": status("at=soon"),
        "empty instant means now": status("at=&target=t:x"),
        "too many targets": status(many),
        "no key": status("target=t:x", {"Authorization": ""}),
        "unknown key": status("target=t:x", {"Authorization": "Bearer qly_nope"}),
    } == {
        "label without a name": (422, "label"), "bad instant": (422, "at"),
        "empty instant means now": (200, None), "too many targets": (422, "target"),
        "no key": (401, None), "unknown key": (401, None),
    }


def test_answers_have_the_documented_shape(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=active_body(targets=["service:s"]))
    one = tenant.viewer.get("/api/v1/decide", params={"target": "service:s",
                                                      "at": "2030-01-01T00:00:00+01:00"})
    now = tenant.viewer.get("/api/v1/decide", params={"target": "service:s"}).json()
    batch = tenant.viewer.post("/api/v1/decide", json={"alerts": [
        {"targets": ["service:s"]}, {"targets": ["service:s"]}, {}]}).json()
    assert (one.headers["content-type"], one.json(), sorted(now), now["windows"],
            batch["decisions"], sorted(batch)) == (
        "application/json",
        {"verdict": "deliver", "windows": [], "at": "2029-12-31T23:00:00Z", "stale": False},
        ["at", "stale", "verdict", "windows"], [window.json()["id"]],
        [{"verdict": "mute", "windows": [window.json()["id"]]}] * 2
        + [{"verdict": "deliver", "windows": []}], ["at", "decisions", "stale"])


def test_openapi_documents_the_hot_endpoints(tenant: Tenant) -> None:
    spec = tenant.viewer.get("/openapi.json").json()
    decide = spec["paths"]["/api/v1/decide"]
    ops = {method: op["operationId"] for method, op in decide.items()}
    params = [p["name"] for p in decide["get"]["parameters"]]
    assert (ops, params, "requestBody" in decide["post"]) == (
        {"get": "decide", "post": "decide_batch"}, ["target", "at", "label.{name}"], True)
