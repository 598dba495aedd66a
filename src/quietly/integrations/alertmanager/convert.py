"""Alertmanager's webhook alerts → ``services.alerts.AlertInput``."""

from __future__ import annotations

from datetime import UTC, datetime

from quietly.core.errors import ValidationError
from quietly.core.timeutil import read_iso_datetime
from quietly.integrations.alertmanager.schemas import AlertmanagerAlert
from quietly.integrations.alertmanager.targets import TargetRule
from quietly.services.alerts import AlertInput, fingerprint

__all__ = ["alert_from_webhook", "parse_timestamp"]

# Go's zero time.Time: what Alertmanager sends as endsAt for an alert that has no end yet.
_GO_ZERO_YEAR = 1


def parse_timestamp(value: str | None, field: str) -> datetime | None:
    """Alertmanager's RFC 3339 (nanoseconds allowed, truncated to µs); zero time → None."""
    if not value:
        return None
    try:
        parsed = read_iso_datetime(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not an RFC 3339 timestamp", field=field) from exc
    if parsed.tzinfo is None:
        raise ValidationError(f"{value!r} has no UTC offset", field=field)
    if parsed.year == _GO_ZERO_YEAR:
        return None
    return parsed.astimezone(UTC)


def alert_from_webhook(alert: AlertmanagerAlert, index: int, rule: TargetRule) -> AlertInput:
    """One webhook alert; its fingerprint is Alertmanager's label hash (labels only)."""
    labels = dict(alert.labels)
    return AlertInput(
        status=alert.status, targets=rule.targets(labels), labels=labels,
        annotations=dict(alert.annotations),
        starts_at=parse_timestamp(alert.startsAt, f"alerts[{index}].startsAt"),
        ends_at=parse_timestamp(alert.endsAt, f"alerts[{index}].endsAt"),
        fingerprint=fingerprint(labels))
