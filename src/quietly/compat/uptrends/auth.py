"""HTTP Basic authentication as Uptrends uses it: the password is a quietly API key.

The user name is not checked (Uptrends' API accounts have one; quietly keys do not). A missing
or unknown key is 401 with ``WWW-Authenticate: Basic``; a viewer key on a write is 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from quietly.api.deps import client_of, expired_message, get_state
from quietly.core.records import Principal, Role

__all__ = ["UptrendsEditor", "UptrendsViewer", "basic_password"]

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="quietly", charset="UTF-8"'}


def basic_password(header: str) -> str | None:
    """The password of an ``Authorization: Basic …`` header, or None if there is none."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None


def _principal(request: Request, needed: Role) -> Principal:
    password = basic_password(request.headers.get("authorization", ""))
    if password is None:
        raise HTTPException(401, "Authorization has been denied for this request: send HTTP "
                            "Basic credentials whose password is an API key", headers=_CHALLENGE)
    state, client = get_state(request), client_of(request)
    principal = state.principal_for(password, client)
    if principal is None:
        state.auth_failed(client)  # 429 once this address keeps failing
        raise HTTPException(401, "Authorization has been denied for this request: the API "
                            "key is unknown or revoked", headers=_CHALLENGE)
    expired = expired_message(principal)
    if expired is not None:
        state.auth_failed(client)
        raise HTTPException(401, f"Authorization has been denied for this request: {expired}",
                            headers=_CHALLENGE)
    if not principal.role.allows(needed):
        raise HTTPException(403, f"this needs the {needed.value} role; the key is a "
                            f"{principal.role.value} key")
    return principal


def _viewer(request: Request) -> Principal:
    return _principal(request, Role.VIEWER)


def _editor(request: Request) -> Principal:
    return _principal(request, Role.EDITOR)


UptrendsViewer = Annotated[Principal, Depends(_viewer)]
UptrendsEditor = Annotated[Principal, Depends(_editor)]
