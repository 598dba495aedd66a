"""Channel transports: payloads (quietly JSON, Slack), signatures, and the HTTP seam.

The names below are imported from their modules when first asked for: the settings import
``notify.guard``, which would otherwise load every module here and the HTTP client with it
(issue 19: not needed to start the server).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quietly.notify.guard import DestinationRefused, check_destination, check_url_shape
    from quietly.notify.payloads import render_body, summary
    from quietly.notify.signing import generate_secret, sign, verify
    from quietly.notify.transport import (
        HttpTransport,
        OutboundRequest,
        OutboundResponse,
        Transport,
        TransportError,
    )

__all__ = [
    "DestinationRefused",
    "HttpTransport",
    "OutboundRequest",
    "OutboundResponse",
    "Transport",
    "TransportError",
    "check_destination",
    "check_url_shape",
    "generate_secret",
    "render_body",
    "sign",
    "summary",
    "verify",
]

_MODULES = {
    "DestinationRefused": "guard", "check_destination": "guard", "check_url_shape": "guard",
    "render_body": "payloads", "summary": "payloads",
    "generate_secret": "signing", "sign": "signing", "verify": "signing",
    "HttpTransport": "transport", "OutboundRequest": "transport",
    "OutboundResponse": "transport", "Transport": "transport", "TransportError": "transport",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    found = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = found  # once
    return found
