"""Standard Webhooks signatures: HMAC-SHA256 over ``{id}.{timestamp}.{body}``.

A secret is either ``whsec_<base64 key>`` (the Standard Webhooks form; the key is the decoded
bytes) or any other string (its UTF-8 bytes are the key). The signature header value is
``v1,<base64 digest>``; several space-separated values are allowed while a secret rotates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["SECRET_PREFIX", "generate_secret", "secret_key", "sign", "verify"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret


def generate_secret() -> str:
    """A new random secret in the Standard Webhooks form (24 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; a ``whsec_`` secret that is not valid base64 is used as text."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt (the timestamp is the attempt's)."""
    signed = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(secret: str, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """True if any ``v1`` signature in ``header`` matches (constant-time comparison)."""
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate)
               for candidate in header.split() if candidate.startswith("v1,"))
