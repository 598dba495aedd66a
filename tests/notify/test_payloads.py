"""Message bodies: quietly JSON as stored, Slack text and blocks with the window's message."""

from __future__ import annotations

import json

from quietly.notify import render_body, summary

EVENT = {"id": "msg_1", "type": "occurrence.started", "late": True, "at": "2026-12-06T01:00:00Z",
         "window": {"id": 7, "name": "DB patching"},
         "occurrence": {"start": "2026-12-06T01:00:00Z", "end": "2026-12-06T03:00:00Z"},
         "message": "Failover at 02:05"}


def test_webhook_bodies_are_the_event_and_stable() -> None:
    assert json.loads(render_body("webhook", EVENT)) == EVENT
    assert render_body("webhook", EVENT) == render_body("webhook", dict(reversed(EVENT.items())))


def test_slack_bodies_carry_the_summary_and_the_message() -> None:
    body = json.loads(render_body("slack", EVENT))
    assert body["text"] == (
        "Maintenance started: DB patching (2026-12-06T01:00:00Z to 2026-12-06T03:00:00Z) "
        "[late]\nFailover at 02:05")
    assert [b["type"] for b in body["blocks"]] == ["section", "section", "context"]
    assert body["blocks"][1]["text"]["text"] == "Failover at 02:05"


def test_alert_summaries_name_the_alert() -> None:
    event = {"type": "alert.forwarded", "alert": {"labels": {"alertname": "Down"},
                                                   "status": "firing", "targets": []}}
    assert summary(event) == "Alert: Down is firing"
