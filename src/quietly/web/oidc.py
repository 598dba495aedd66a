"""The OpenID Connect client of the web UI: discovery, code flow with PKCE, ID-token checks.

Protocol pieces come from Authlib (authorization URL, token request body, PKCE challenge,
the ID-token claim rules of ``CodeIDToken``) and every JOSE operation from joserfc (JWKS,
signature): nothing here parses or verifies a token by hand. HTTP goes through httpx2, to the
provider the operator configured only.

Errors::

    SignInRefused        the sign-in cannot complete; ``message`` says why, in words a
                         person can act on (shown on the sign-in error page)
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from quietly.core.identity import parse_groups
from quietly.services.users import Identity
from quietly.settings import Settings

__all__ = ["OidcClient", "PendingSignIn", "SignInRefused"]

METADATA_SECONDS = 3600.0  # discovery and keys are cached this long (keys refetched on a new kid)
LEEWAY_SECONDS = 120  # clock skew allowed on exp/iat, as Authlib's own client does


class SignInRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the browser keeps between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str


@dataclass(frozen=True, slots=True)
class _Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    algorithms: list[str]
    auth_methods: list[str]


class OidcClient:
    """One per app; thread-safe. ``begin`` → provider → ``finish`` → Identity."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        assert settings.oidc_issuer
        assert settings.oidc_client_id
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.groups_claim = settings.oidc_groups_claim
        self._http = http or httpx.Client(timeout=10.0, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: tuple[_Metadata, float] | None = None
        self._keys: KeySet | None = None

    # --- discovery and keys -----------------------------------------------------------

    def _get_json(self, url: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.get(url, **kwargs)
        except httpx.HTTPError as exc:
            raise SignInRefused(f"The sign-in provider could not be reached for its {what} "
                                f"({type(exc).__name__}). Try again in a moment.") from exc
        if response.status_code != 200:
            raise SignInRefused(f"The sign-in provider answered {response.status_code} for its "
                                f"{what}.")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SignInRefused(f"The sign-in provider's {what} is not a JSON object.")
        return data

    def metadata(self) -> _Metadata:
        with self._lock:
            if self._metadata and self._metadata[1] > time.monotonic():
                return self._metadata[0]
        doc = self._get_json(self.issuer + "/.well-known/openid-configuration", "discovery")
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            # OpenID Connect Discovery §4.3: a mismatch means the wrong (or a forged) provider.
            raise SignInRefused(f"The provider at {self.issuer} calls itself "
                                f"{doc.get('issuer')!r}; check QUIETLY_OIDC_ISSUER.")
        try:
            meta = _Metadata(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]), jwks_uri=str(doc["jwks_uri"]),
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                end_session_endpoint=doc.get("end_session_endpoint"),
                algorithms=list(doc.get("id_token_signing_alg_values_supported") or ["RS256"]),
                auth_methods=list(doc.get("token_endpoint_auth_methods_supported")
                                  or ["client_secret_basic"]))
        except KeyError as exc:
            raise SignInRefused(f"The provider's discovery document lacks {exc}.") from exc
        with self._lock:
            self._metadata = (meta, time.monotonic() + METADATA_SECONDS)
            self._keys = None
        return meta

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        jwks = self._get_json(self.metadata().jwks_uri, "signing keys (JWKS)")
        try:
            keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SignInRefused("The provider's signing keys (JWKS) cannot be read.") from exc
        with self._lock:
            self._keys = keys
        return keys

    # --- the flow -----------------------------------------------------------------------

    def begin(self, redirect_uri: str, next_path: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL to send the browser to, and what to keep."""
        pending = PendingSignIn(generate_token(32), generate_token(32), generate_token(64),
                                next_path)
        url = prepare_grant_uri(
            self.metadata().authorization_endpoint, self.client_id, "code",
            redirect_uri=redirect_uri, scope=self.scopes, state=pending.state,
            nonce=pending.nonce, code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256")
        return str(url), pending

    def finish(self, params: dict[str, str], pending: PendingSignIn | None,
               redirect_uri: str) -> tuple[Identity, str]:
        """Check the callback, redeem the code, validate the ID token: (identity, id token)."""
        if "error" in params:
            detail = params["error"] + (f": {params['error_description']}"
                                        if params.get("error_description") else "")
            raise SignInRefused(f"The sign-in provider did not sign you in ({detail}).")
        state = params.get("state", "")
        if pending is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRefused("This sign-in was not started from this browser, or it took "
                                "too long (the state does not match). Start again.")
        if not params.get("code"):
            raise SignInRefused("The sign-in provider sent no authorization code.")
        tokens = self._redeem(params["code"], pending.verifier, redirect_uri)
        claims = self._validate_id_token(tokens["id_token"], pending.nonce,
                                         str(tokens.get("access_token") or ""))
        claims = self._with_userinfo(claims, str(tokens.get("access_token") or ""))
        identity = Identity(
            issuer=self.issuer, subject=str(claims["sub"]),
            email=_text(claims.get("email")), name=_text(claims.get("name"))
            or _text(claims.get("preferred_username")),
            groups=parse_groups(claims.get(self.groups_claim)))
        return identity, str(tokens["id_token"])

    def _redeem(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        meta = self.metadata()
        if not self.client_secret:
            method = "none"  # a public client: PKCE alone binds the code to this browser
        elif "client_secret_basic" in meta.auth_methods:
            method = "client_secret_basic"
        else:
            method = "client_secret_post"
        body = prepare_token_request("authorization_code", redirect_uri=redirect_uri,
                                     code=code, code_verifier=verifier)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        url, headers, body = ClientAuth(self.client_id, self.client_secret or "",
                                        method).prepare("POST", meta.token_endpoint, headers,
                                                        body)
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SignInRefused("The sign-in provider could not be reached to redeem the "
                                "code. Try again.") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            detail = (data.get("error_description") or data.get("error")
                      if isinstance(data, dict) else None)
            raise SignInRefused(f"The sign-in provider refused the code "
                                f"({response.status_code}{': ' + str(detail) if detail else ''}).")
        if not data.get("id_token"):
            raise SignInRefused("The sign-in provider sent no ID token; is 'openid' among "
                                "QUIETLY_OIDC_SCOPES?")
        return data

    def _decode(self, id_token: str) -> jwt.Token:
        registry = JWSRegistry(algorithms=self.metadata().algorithms)
        try:
            try:
                return jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                return jwt.decode(id_token, self._key_set(refresh=True), registry=registry)
        except JoseError as exc:
            raise SignInRefused(f"The ID token's signature does not verify with the "
                                f"provider's keys ({exc.error}).") from exc

    def _validate_id_token(self, id_token: str, nonce: str, access_token: str
                           ) -> dict[str, Any]:
        token = self._decode(id_token)
        options = {"iss": {"essential": True, "values": [self.metadata().issuer]},
                   "aud": {"essential": True, "values": [self.client_id]}}
        params = {"nonce": nonce, "client_id": self.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(token.claims, token.header, options, params)
        try:
            claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            claim = getattr(exc, "claim", None)
            what = {"aud": "was issued to another application (audience)",
                    "iss": "comes from another issuer", "nonce": "does not belong to this "
                    "sign-in (nonce)", "exp": "has expired"}.get(str(claim), exc.description)
            raise SignInRefused(f"The ID token was refused: it {what}.") from exc
        return dict(claims)

    def _with_userinfo(self, claims: dict[str, Any], access_token: str) -> dict[str, Any]:
        """Add the userinfo endpoint's claims (many providers put groups only there)."""
        endpoint = self.metadata().userinfo_endpoint
        if not endpoint or not access_token:
            return claims
        info = self._get_json(endpoint, "user info",
                              headers={"Authorization": f"Bearer {access_token}"})
        if info.get("sub") != claims.get("sub"):  # OIDC Core §5.3.2: must be the same person
            raise SignInRefused("The provider's user info is about someone else.")
        protected: dict[str, Any] = {k: claims[k] for k in ("iss", "aud", "sub", "nonce")
                                     if k in claims}
        return {**claims, **info, **protected}

    def logout_url(self, id_token: str | None, after: str) -> str | None:
        """The provider's end-session URL (RP-initiated logout), when it advertises one."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except SignInRefused:
            return None
        if not endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            params["id_token_hint"] = id_token
        return str(add_params_to_uri(endpoint, params))


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()[:200] or None
