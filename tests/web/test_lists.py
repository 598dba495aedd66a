"""The window list puts what matters now first (issue 16, point 9)."""

from __future__ import annotations

import re
from datetime import timedelta

from quietly.core.records import Role
from tests.api.helpers import active_body, completed_body, now, once, window_body
from tests.conftest import Tenant
from tests.web.test_ui_http import _browser


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
    client, _ = _browser(tenant, Role.VIEWER)
    html = client.get("/windows").text
    shown = [int(i) for i in re.findall(r'href="/windows/(\d+)"', html)]
    order = [i for i in dict.fromkeys(shown) if i in ids.values()]
    assert order == [ids["active"], ids["soon"], ids["later"], ids["done"]]
