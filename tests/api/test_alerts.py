"""Alert ingestion end to end: verdicts, held/delivered/unrouted/dropped accounting, dedup,
listing."""

from __future__ import annotations

from typing import Any

from quietly.metrics import REGISTRY
from tests.api.helpers import active_body
from tests.conftest import Tenant

# Alertmanager's own fingerprint of these labels (recorded from the real binary).
AM_LABELS = {"alertname": "HighLatency", "env": "prod", "instance": "web-1:9100",
             "job": "node", "service": "checkout"}
AM_FINGERPRINT = "5b79df0118f65f0d"


def _window(tenant: Tenant, effects: list[str], targets: list[str] | None = None,
            match: list[list[dict[str, Any]]] | None = None) -> int:
    body = {**active_body(targets=targets or []), "effects": effects,
            **({"match": match} if match else {})}
    response = tenant.editor.post("/api/v1/windows", json=body)
    assert response.status_code == 201, response.text
    window_id: int = response.json()["id"]
    return window_id


def _ingest(tenant: Tenant, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    response = tenant.editor.post("/api/v1/alerts", json={"alerts": alerts})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _listed(tenant: Tenant, **params: str) -> list[str]:
    response = tenant.viewer.get("/api/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    return sorted(a["labels"]["name"] for a in response.json()["alerts"])


def test_each_verdict_is_held_delivered_or_dropped(tenant: Tenant) -> None:
    mute = _window(tenant, ["mute"], ["service:m"])
    drop = _window(tenant, ["drop"], ["service:d"])
    quiet = _window(tenant, ["suppress_incidents"],
                    match=[[{"label": "team", "op": "=", "value": "x"}]])
    body = _ingest(tenant, [
        {"targets": ["service:m"], "labels": {"name": "muted"}},
        {"targets": ["service:d"], "labels": {"name": "dropped"}},
        {"labels": {"name": "no-incident", "team": "x"}},
        {"targets": ["service:free"], "labels": {"name": "free"}},
    ])
    outcomes = [(a["verdict"], a["windows"], a["delivery"], a["id"] is not None)
                for a in body["alerts"]]
    # The workspace has no routes: the alert to deliver goes nowhere, and says so.
    assert (outcomes, body["received"], body["held"], body["delivered"], body["unrouted"],
            body["dropped"], _listed(tenant), _listed(tenant, status="held"),
            _listed(tenant, status="unrouted")) == (
        [("mute", [mute], "held", True), ("drop", [drop], "dropped", False),
         ("suppress_incident", [quiet], "held", True), ("deliver", [], "unrouted", True)],
        4, 2, 0, 1, 1, ["free", "muted", "no-incident"], ["muted", "no-incident"], ["free"])


def test_a_repeated_fingerprint_updates_the_stored_alert(tenant: Tenant) -> None:
    first = _ingest(tenant, [{"targets": ["service:r"], "labels": {"name": "a", "x": "1"}}])
    again = _ingest(tenant, [
        {"targets": ["service:r"], "labels": {"x": "1", "name": "a"}, "status": "resolved",
         "annotations": {"summary": "fixed"}},
        {"fingerprint": "given-1", "labels": {"name": "b"}},
        {"fingerprint": "given-1", "labels": {"name": "b2"}},  # same batch: the last wins
    ])
    stored = tenant.viewer.get("/api/v1/alerts").json()["alerts"]
    by_fp = {a["fingerprint"]: a for a in stored}
    a_fp = first["alerts"][0]["fingerprint"]
    assert (again["alerts"][0]["id"], again["alerts"][0]["revision"],
            by_fp[a_fp]["status"], by_fp[a_fp]["annotations"], by_fp["given-1"]["labels"],
            by_fp["given-1"]["revision"], len(stored)) == (
        first["alerts"][0]["id"], 2, "resolved", {"summary": "fixed"}, {"name": "b2"}, 1, 2)


def test_fingerprints_are_alertmanagers_label_hash(tenant: Tenant) -> None:
    shuffled = dict(reversed(list(AM_LABELS.items())))
    body = _ingest(tenant, [{"labels": AM_LABELS}, {"labels": shuffled},
                            {"labels": AM_LABELS, "targets": ["service:checkout"]}])
    fps = [a["fingerprint"] for a in body["alerts"]]
    assert (fps[0], fps[1], fps[2] != fps[0], len(fps[2])) == (
        AM_FINGERPRINT, AM_FINGERPRINT, True, 16)


def test_list_filters_by_status_window_and_target(tenant: Tenant) -> None:
    window = _window(tenant, ["mute"], ["service:w"])
    _ingest(tenant, [
        {"targets": ["service:w"], "labels": {"name": "held"}},
        {"targets": ["service:w", "service:v"], "labels": {"name": "held2"},
         "status": "resolved"},
        {"targets": ["service:v"], "labels": {"name": "open"}},
    ])
    assert (_listed(tenant, status="firing"), _listed(tenant, status="resolved"),
            _listed(tenant, window=str(window)), _listed(tenant, target="service:v"),
            _listed(tenant, target="service:none")) == (
        ["held", "open"], ["held2"], ["held", "held2"], ["held2", "open"], [])


def test_list_paginates_newest_first(tenant: Tenant) -> None:
    _ingest(tenant, [{"labels": {"name": f"a{i}"}} for i in range(5)])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = tenant.viewer.get("/api/v1/alerts", params=params).json()
        seen += [a["labels"]["name"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    bad = tenant.viewer.get("/api/v1/alerts", params={"cursor": "nope!"})
    assert (seen, bad.status_code, bad.json()["field"]) == (
        ["a4", "a3", "a2", "a1", "a0"], 422, "cursor")


def test_batches_are_bounded_and_fields_named(tenant: Tenant) -> None:
    def field_of(body: dict[str, Any]) -> tuple[int, str | None]:
        response = tenant.editor.post("/api/v1/alerts", json=body)
        return response.status_code, response.json().get("field")

    cases = {
        "too many": ({"alerts": [{}] * 10_001}, (422, "alerts")),
        "status": ({"alerts": [{"status": "open"}]}, (422, "alerts[0].status")),
        "target": ({"alerts": [{}, {"targets": ["no kind"]}]}, (422, "alerts[1].targets[0]")),
        "instant": ({"alerts": [{"starts_at": "yesterday"}]}, (422, "alerts[0].starts_at")),
        "extra": ({"alerts": [{"severity": "page"}]}, (422, "alerts[0].severity")),
    }
    assert {name: field_of(body) for name, (body, _) in cases.items()} == {
        name: expected for name, (_, expected) in cases.items()}


def test_roles_and_workspaces_are_respected(tenant: Tenant, other_tenant: Tenant) -> None:
    window = _window(tenant, ["mute"], ["service:iso"])
    _ingest(tenant, [{"targets": ["service:iso"], "labels": {"name": "mine"}}])
    viewer_post = tenant.viewer.post("/api/v1/alerts", json={"alerts": []})
    other_all = other_tenant.viewer.get("/api/v1/alerts").json()["alerts"]
    other_window = other_tenant.viewer.get("/api/v1/alerts", params={"window": window})
    other_decides = _ingest(other_tenant, [{"targets": ["service:iso"]}])["alerts"][0]
    assert (viewer_post.status_code, other_all, other_window.json()["alerts"],
            other_decides["verdict"]) == (403, [], [], "deliver")


def test_an_empty_batch_is_fine(tenant: Tenant) -> None:
    assert _ingest(tenant, []) == {"received": 0, "held": 0, "delivered": 0, "unrouted": 0,
                                   "dropped": 0, "forwarded": 0, "stale": False, "alerts": []}


def test_the_last_copy_rewrites_the_stored_alert_and_its_links(tenant: Tenant) -> None:
    first_window = _window(tenant, ["mute"], ["service:first"])
    other_window = _window(tenant, ["mute"], ["service:other"])
    _ingest(tenant, [
        {"fingerprint": "moved", "targets": ["service:first", "service:a"],
         "labels": {"name": "held"}},
        {"fingerprint": "freed", "targets": ["service:first"], "labels": {"name": "held"}},
    ])
    again = _ingest(tenant, [
        {"fingerprint": "moved", "targets": ["service:a"], "labels": {"name": "copy"}},
        {"fingerprint": "freed", "targets": ["service:first"], "labels": {"name": "copy"}},
        {"fingerprint": "new", "targets": ["service:other"], "labels": {"name": "new"}},
        {"fingerprint": "moved", "targets": ["service:other"], "labels": {"name": "moved"}},
        {"fingerprint": "freed", "targets": ["service:b"], "labels": {"name": "freed"}},
    ])
    stored = {a["fingerprint"]: (a["labels"]["name"], a["delivery"], a["windows"],
                                 a["targets"], a["revision"])
              for a in tenant.viewer.get("/api/v1/alerts").json()["alerts"]}
    shared = {(a["fingerprint"], a["id"], a["revision"]) for a in again["alerts"]}
    assert ([(a["delivery"], a["revision"]) for a in again["alerts"]],
            (again["held"], again["unrouted"]), len(shared), stored,
            _listed(tenant, window=str(first_window)), _listed(tenant, window=str(other_window)),
            _listed(tenant, target="service:a"), _listed(tenant, target="service:first"),
            _listed(tenant, target="service:b")) == (
        [("unrouted", 2), ("held", 2), ("held", 1), ("held", 2), ("unrouted", 2)],
        (3, 2), 3,
        {"moved": ("moved", "held", [other_window], ["service:other"], 2),
         "freed": ("freed", "unrouted", [], ["service:b"], 2),
         "new": ("new", "held", [other_window], ["service:other"], 1)},
        [], ["moved", "new"], [], [], ["freed"])


def test_labels_instants_and_annotations_come_back_as_sent(tenant: Tenant) -> None:
    sent = [
        {"fingerprint": "empty", "labels": {}, "annotations": {}},
        {"fingerprint": "unicode", "targets": ["service:zürich"],
         "labels": {"name": "Zürich \u2013 東京 🚀", "ключ": "значение", "empty": ""},
         "annotations": {"summary": "\u2018quoted\u2019 \"double\" \\ {braces}, [brackets]"}},
        {"fingerprint": "json-like", "labels": {"name": '{"a": [1, null]}', "n": "NULL"},
         "annotations": {"x": "null", "y": "\\u00e9"},
         "starts_at": "2026-01-01T03:30:00+01:00", "ends_at": "2026-01-01T04:00:00.25Z"},
    ]
    _ingest(tenant, sent)
    _ingest(tenant, sent)  # then as an update of every one of them
    stored = {a["fingerprint"]: {k: a[k] for k in ("targets", "labels", "annotations",
                                                  "starts_at", "ends_at", "revision")}
              for a in tenant.viewer.get("/api/v1/alerts").json()["alerts"]}
    expected = {s["fingerprint"]: {"targets": s.get("targets", []), "labels": s["labels"],
                                   "annotations": s["annotations"], "starts_at": None,
                                   "ends_at": None, "revision": 2} for s in sent}
    expected["json-like"].update(starts_at="2026-01-01T02:30:00Z",
                                 ends_at="2026-01-01T04:00:00.250000Z")
    assert stored == expected


def test_an_alert_no_route_takes_is_unrouted_and_counted(tenant: Tenant) -> None:
    """With no route for it, a ``deliver`` alert was recorded as delivered although nothing
    was sent (issue 16, point 6)."""
    channel = tenant.admin.post("/api/v1/channels", json={
        "name": "ops", "type": "webhook", "url": "http://127.0.0.1:9/hook"}).json()
    route = tenant.admin.post("/api/v1/routes", json={
        "name": "checkout", "channel": channel["id"], "targets": ["service:checkout"]})
    assert route.status_code == 201, route.text
    before = REGISTRY.get_sample_value("quietly_alerts_unrouted_total") or 0.0
    body = _ingest(tenant, [{"targets": ["service:checkout"], "labels": {"name": "routed"}},
                            {"targets": ["service:search"], "labels": {"name": "lost"}}])
    after = REGISTRY.get_sample_value("quietly_alerts_unrouted_total")
    assert ([a["delivery"] for a in body["alerts"]], body["delivered"], body["unrouted"],
            body["forwarded"], after - before, _listed(tenant, status="unrouted"),
            _listed(tenant, status="delivered")) == (
        ["delivered", "unrouted"], 1, 1, 1, 1.0, ["lost"], ["routed"])
