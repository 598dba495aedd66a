"""Browser sessions and CSRF for the web UI.

The session cookie holds a random token (the database keeps its hash); it is HttpOnly,
SameSite=Lax, and Secure unless ``settings.cookie_secure`` is off for plain-HTTP development.
Every state-changing form carries the session's CSRF token (session-bound, compared in constant
time). The sign-in form, which has no session yet, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from quietly.api.deps import client_of, expired_message, get_state
from quietly.api.proxies import TRUSTED_SCOPE_KEY
from quietly.core.codec import format_instant
from quietly.core.errors import NotFound
from quietly.core.identity import RoleRule, grant_for, parse_groups, parse_role_map
from quietly.core.records import Role
from quietly.services import users, web_sessions
from quietly.services.users import Identity
from quietly.services.web_sessions import WebSession

__all__ = ["SESSION_COOKIE", "SIGNIN_CSRF_COOKIE", "NotSignedIn", "UiError", "check_csrf",
           "clear_cookie", "current_session", "require_editor", "set_session_cookie",
           "signin_csrf"]

SESSION_COOKIE = "quietly_session"
SIGNIN_CSRF_COOKIE = "quietly_signin_csrf"


class UiError(Exception):
    """An error shown to the browser as a page (not as problem+json)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class NotSignedIn(Exception):
    """Raised by ``current_session``; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_path: str, htmx: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.htmx = htmx


def not_signed_in_response(exc: NotSignedIn) -> Response:
    target = "/sign-in?next=" + quote(exc.next_path, safe="/")
    if exc.htmx:  # an htmx request must not swap the sign-in page into a fragment
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def unmapped_message(identity: Identity) -> str:
    groups = ", ".join(identity.groups) or "none"
    return (f"{identity.actor} signed in at the provider, but none of their groups ({groups}) "
            "is given a role here. Ask an administrator to add one to QUIETLY_SSO_ROLES.")


@lru_cache(maxsize=4)
def role_rules(text: str) -> tuple[RoleRule, ...]:
    return parse_role_map(text)


def proxy_identity(request: Request) -> Identity | None:
    """The person a trusted proxy vouches for on this request (``proxy_identity`` on), or None.

    ``api.proxies`` has already removed these headers from requests of any other peer.
    """
    if not request.scope.get(TRUSTED_SCOPE_KEY) or not get_state(
            request).settings.proxy_identity:
        return None
    headers = request.headers
    email = headers.get("x-forwarded-email", "").strip()[:320]
    user = headers.get("x-forwarded-user", "").strip()[:255]
    if not (email or user):
        return None
    name = headers.get("x-forwarded-preferred-username", "").strip()[:200] or None
    return Identity(users.PROXY_ISSUER, subject=user or email, email=email or None, name=name,
                    groups=parse_groups(headers.get("x-forwarded-groups", "")[:8000]))


def _proxy_session(request: Request, identity: Identity) -> WebSession:
    state = get_state(request)
    grant = grant_for(role_rules(state.settings.sso_roles), identity.groups)
    if grant is None:
        raise UiError(403, unmapped_message(identity))
    try:
        with state.db.transaction() as db:
            return users.proxy_session(db, identity, grant, datetime.now(UTC))
    except NotFound as exc:
        raise UiError(403, exc.message) from exc


def current_session(request: Request) -> WebSession:
    """The signed-in session of this request; raises NotSignedIn otherwise.

    A person vouched for by a trusted proxy comes first (the proxy authenticated this very
    request); then a session cookie, of a key or of a person signed in with single sign-on.
    """
    identity = proxy_identity(request)
    if identity is not None:
        return _proxy_session(request, identity)
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        with get_state(request).db.read() as db:
            session = (web_sessions.resolve_session(db, token, datetime.now(UTC))
                       or users.resolve_user_session(db, token, datetime.now(UTC)))
    if session is None:
        path = request.url.path
        if request.method != "GET" or path.startswith("/windows/preview"):
            path = "/"
        raise NotSignedIn(path, request.headers.get("HX-Request") == "true")
    return session


def check_signin_key(request: Request, raw: str) -> tuple[int, str, dict[str, str]] | None:
    """Why the sign-in form must refuse ``raw`` — (status, message, headers) — or None.

    The same policy as the API's (``AppState.principal_for`` and ``auth_failed``, issue #14):
    a client address whose authentications keep failing gets 429 with ``Retry-After`` and no
    key is looked up for it, and failures here count against the API's budget too (one
    address, one budget). Valid keys are not slowed: nothing waits, and a key that
    authenticated recently (in the key cache) signs in even from a throttled address.
    """
    state = get_state(request)
    client = client_of(request)
    try:
        principal = state.principal_for(raw, client) if raw else None
        if principal is not None and expired_message(principal) is None:
            return None
        state.auth_failed(client)
    except HTTPException as exc:
        if exc.status_code != 429:
            raise
        retry = (exc.headers or {}).get("Retry-After", "60")
        return 429, (f"Too many failed sign-ins from your address. Try again in {retry} "
                     "seconds."), {"Retry-After": retry}
    if principal is not None:
        return 401, (f"That key expired at {format_instant(principal.expires_at)} "
                     "(it was valid until then). Ask an admin for a new one."
                     if principal.expires_at else "That key has expired."), {}
    return 401, "That key is unknown or revoked. Paste a quietly API key (qly_…).", {}


def require_editor(session: WebSession) -> None:
    """Viewers see everything and change nothing: refuse writes from their sessions."""
    if not session.principal.role.allows(Role.EDITOR):
        raise UiError(403, "viewers cannot change windows; sign in with an editor key")


def check_csrf(session: WebSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(submitted, session.csrf_token):
        raise UiError(403, "the form has expired or was not sent by quietly; reload the "
                            "page and try again")


def signin_csrf(request: Request) -> str:
    """The double-submit token for the sign-in form (reuses the cookie when present)."""
    return request.cookies.get(SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_signin_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(SIGNIN_CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise UiError(403, "the sign-in form has expired; reload the page and try again")


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    secure = get_state(request).settings.cookie_secure
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=secure)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    _cookie(response, request, SESSION_COOKIE, token,
            int(web_sessions.SESSION_LIFETIME.total_seconds()))


def set_signin_cookie(response: Response, request: Request, token: str) -> None:
    _cookie(response, request, SIGNIN_CSRF_COOKIE, token, 3600)


def clear_cookie(response: Response, request: Request) -> None:
    secure = get_state(request).settings.cookie_secure
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure)
