"""Alertmanager: quietly as a webhook receiver in front of the real notification channels.

``routes`` serves ``POST /api/v1/integrations/alertmanager`` (webhook payload version 4,
unchanged), ``schemas`` describes that payload, ``targets`` maps labels to targets by the
configurable rule (``QUIETLY_ALERTMANAGER_TARGET_LABELS``), ``convert`` turns the payload into
alerts for ``services.alerts``.
"""

from quietly.integrations.alertmanager.routes import router

__all__ = ["router"]
