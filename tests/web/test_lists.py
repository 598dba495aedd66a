"""Lists and the audit trail in the web UI (issue 16, point 9)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from quietly.core.records import Role
from tests.api.helpers import active_body, completed_body, now, once, window_body
from tests.conftest import Tenant
from tests.web.conftest import signed_in


def test_the_window_list_shows_active_first_then_by_next_start(tenant: Tenant) -> None:
    def create(body: dict[str, object]) -> int:
        response = tenant.editor.post("/api/v1/windows", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    later = now() + timedelta(days=400)
    soon = now() + timedelta(days=2)
    ids = {
        "done": create(completed_body("done")),
        "later": create(window_body("later", schedule=once(later, later + timedelta(hours=1)))),
        "active": create(active_body("running")),
        "soon": create(window_body("soon", schedule=once(soon, soon + timedelta(hours=1)))),
    }
    client, _ = signed_in(tenant, Role.VIEWER)
    html = client.get("/windows").text
    shown = [int(i) for i in re.findall(r'href="/windows/(\d+)"', html)]
    order = [i for i in dict.fromkeys(shown) if i in ids.values()]
    assert order == [ids["active"], ids["soon"], ids["later"], ids["done"]]


def test_the_audit_trail_shows_values_before_and_after(tenant: Tenant) -> None:
    window = tenant.editor.post("/api/v1/windows", json=window_body("first name")).json()
    tenant.editor.patch(f"/api/v1/windows/{window['id']}",
                        json={"name": "second name", "targets": ["service:a", "service:b"]})
    client, _ = signed_in(tenant, Role.VIEWER)
    html = unescape(client.get(f"/windows/{window['id']}").text)
    assert re.findall(r"<dt>(\w+)</dt><dd><del>([^<]*)</del> → <ins>([^<]*)</ins></dd>",
                      html) == [
        ("name", "first name", "second name"),
        ("targets", '["service:checkout"]', '["service:a", "service:b"]')]

