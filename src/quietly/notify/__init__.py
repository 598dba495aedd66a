"""Channel transports: payloads (quietly JSON, Slack), signatures, and the HTTP seam."""

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
