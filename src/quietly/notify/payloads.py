"""Message bodies: quietly JSON for webhooks, Slack-compatible incoming-webhook payloads.

The event (what the outbox stores) is the quietly JSON itself; a Slack channel gets a
``text`` summary plus blocks. ``notification_message`` (the window's own words) is part of
both. Bodies are rendered once per attempt from the stored event, deterministically, so a
retry sends the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["render_body", "summary"]

_TITLES = {
    "window.created": "Maintenance window created",
    "window.updated": "Maintenance window updated",
    "window.cancelled": "Maintenance window cancelled",
    "window.deleted": "Maintenance window deleted",
    "occurrence.starting_soon": "Maintenance starts soon",
    "occurrence.started": "Maintenance started",
    "occurrence.ending_soon": "Maintenance ends soon",
    "occurrence.ended": "Maintenance ended",
    "alert.forwarded": "Alert",
    "channel.test": "Test message from quietly",
}


def summary(event: dict[str, Any]) -> str:
    """One line for humans: '<title>: <window name> (<start> to <end>)'."""
    kind = str(event.get("type", ""))
    title = _TITLES.get(kind, kind)
    window = event.get("window") or {}
    parts = [title]
    if window.get("name"):
        parts.append(f": {window['name']}")
    occurrence = event.get("occurrence") or {}
    if occurrence.get("start") and occurrence.get("end"):
        parts.append(f" ({occurrence['start']} to {occurrence['end']})")
    alert = event.get("alert") or {}
    if alert:
        labels = alert.get("labels") or {}
        name = labels.get("alertname") or ", ".join(alert.get("targets") or []) or "alert"
        parts.append(f": {name} is {alert.get('status', 'firing')}")
    if event.get("late"):
        parts.append(" [late]")
    return "".join(parts)


def _slack(event: dict[str, Any]) -> dict[str, Any]:
    text = summary(event)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]
    message = event.get("message")
    if message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": str(message)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"{event.get('type')} · {event.get('id')}"}]})
    return {"text": text + (f"\n{message}" if message else ""), "blocks": blocks}


def render_body(channel_type: str, event: dict[str, Any]) -> bytes:
    """The bytes to POST for ``event`` on a channel of ``channel_type``."""
    body = _slack(event) if channel_type == "slack" else event
    return json.dumps(body, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode("utf-8")
