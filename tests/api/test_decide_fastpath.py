"""The decision hot path (plain Starlette routes) keeps the documented contract."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.api.native.fastpath import decode_batch
from quietly.api.native.schemas import DecideRequest
from quietly.api.problems import loc_to_field
from quietly.core.errors import ValidationError
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


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=4)
# Valid bodies with every limit reached, then at most one defect each (a limit passed by
# one, a wrong type, an unknown field), so that valid and almost-valid bodies are common.
_ALERT = st.fixed_dictionaries({}, optional={
    "targets": st.lists(st.one_of(_TEXT, st.just("t:" + "x" * 298), st.just("service:a"),
                                  st.builds(lambda k, i: f"{k}:{i}", _TEXT, _TEXT)),
                        max_size=3),
    "labels": st.dictionaries(st.one_of(_TEXT, st.just("n" * 200)),
                              st.one_of(_TEXT, st.just("v" * 10_000)), max_size=3)})
_VALID = st.fixed_dictionaries({"alerts": st.lists(_ALERT, max_size=3)}, optional={
    "at": st.sampled_from([None, "2030-01-01T00:00:00Z", "x" * 64])})
_BODY_DEFECTS: list[Any] = [[], 1, {}, {"alerts": "x"}, {"alerts": None}, {"alerts": {}}]
_FIELD_DEFECTS: dict[str, list[Any]] = {"when": [1], "at": ["", "x" * 65, 5]}
_ALERT_DEFECTS: list[Any] = [3, None, "x", {"severity": "x"}]
_PART_DEFECTS: dict[str, list[Any]] = {
    "targets": [None, "x", [1], ["t" * 301], ["t:" + "x" * 299], ["t:x"] * 1000,
                ["t:x"] * 1001, ["checkout"], ["service:a\n"], ["Service:a"]],
    "labels": [None, [], {"a": 1}, {"a": None}, {"n" * 201: "v"}, {"a": "v" * 10_001}]}


@st.composite
def _bodies(draw: st.DrawFn) -> Any:
    body = draw(_VALID)
    kind = draw(st.sampled_from(["none", "body", "field", "alert", "part"]))
    if kind == "body":
        return draw(st.sampled_from(_BODY_DEFECTS))
    if kind == "field":
        name = draw(st.sampled_from(sorted(_FIELD_DEFECTS)))
        body[name] = draw(st.sampled_from(_FIELD_DEFECTS[name]))
    elif body["alerts"] and kind in ("alert", "part"):
        i = draw(st.integers(0, len(body["alerts"]) - 1))
        if kind == "alert":
            body["alerts"][i] = draw(st.sampled_from(_ALERT_DEFECTS))
        else:
            part = draw(st.sampled_from(sorted(_PART_DEFECTS)))
            body["alerts"][i][part] = draw(st.sampled_from(_PART_DEFECTS[part]))
    return body


@settings(max_examples=400)
@given(_bodies())
def test_the_batch_decoder_agrees_with_the_documented_schema(body: Any) -> None:
    """The hot path decodes batches with msgspec; OpenAPI documents ``DecideRequest``
    (pydantic). Both accept the same bodies, read the same alerts, and name the same field."""
    raw = json.dumps(body).encode()
    try:
        documented = DecideRequest.model_validate_json(raw)
    except pydantic.ValidationError as refused:
        with pytest.raises(ValidationError) as ours:
            decode_batch(raw)
        fields = {loc_to_field(e["loc"]) for e in refused.errors()}
        field = ours.value.field or ""
        # Ours stops at the first error and names the alert's part (``alerts[0].labels``)
        # where pydantic names the label too (``alerts[0].labels.a``).
        assert any(f == field or f.startswith((field + ".", field + "[")) for f in fields), (
            field, fields)
        return
    decoded = decode_batch(raw)
    assert decoded.at == documented.at
    assert [(a.targets, a.labels) for a in decoded.alerts] == [
        (tuple(a.targets), a.labels) for a in documented.alerts]


@pytest.mark.parametrize(("query", "field", "detail"), [
    ("targt=service:checkout", "targt", "unknown parameter 'targt'; the parameters are target, "
     "at and label.<name>"),
    ("target=service:checkout&labels.env=prod", "labels.env", "unknown parameter 'labels.env'"),
    ("target=checkout", "target", "'checkout' is not a target; write kind:id, e.g. "
     "'service:checkout'"),
    ("target=", "target", "'' is not a target"),
    ("target=Service:checkout", "target", "'Service:checkout' is not a target"),
])
def test_single_decision_refuses_typos_and_malformed_targets(tenant: Tenant, query: str,
                                                             field: str, detail: str) -> None:
    """A typo or a target without its kind used to answer ``deliver`` while the target was
    in maintenance (issue 16, point 4)."""
    tenant.editor.post("/api/v1/maintenance/start", json={"targets": ["service:checkout"]})
    response = tenant.viewer.get(f"/api/v1/decide?{query}")
    body = response.json()
    assert (response.status_code, body["field"], body["detail"].startswith(f"{field}: {detail}"),
            ) == (422, field, True), body


@pytest.mark.parametrize(("alerts", "field", "detail"), [
    ([{"targets": ["checkout"]}], "alerts[0].targets[0]",
     "'checkout' is not a target; write kind:id, e.g. 'service:checkout'"),
    ([{"targets": ["service:checkout"]}, {"targets": ["service:a", "Service:b"]}],
     "alerts[1].targets[1]", "'Service:b' is not a target"),
    ([{"targets": ["service:a\n"]}], "alerts[0].targets[0]", "'service:a\\n' is not a target"),
    ([{"targets": [""]}], "alerts[0].targets[0]", "'' is not a target"),
])
def test_batch_decisions_refuse_targets_without_a_kind(tenant: Tenant, alerts: list[Any],
                                                        field: str, detail: str) -> None:
    """``POST /decide`` with ``"checkout"`` answered ``deliver`` while service:checkout was in
    maintenance (issue 16); like ``GET /decide`` it is a 422 naming the alert and target."""
    tenant.editor.post("/api/v1/maintenance/start", json={"targets": ["service:checkout"]})
    response = tenant.viewer.post("/api/v1/decide", json={"alerts": alerts})
    body = response.json()
    assert (response.status_code, body["field"], body["detail"].startswith(f"{field}: {detail}"),
            ) == (422, field, True), body
