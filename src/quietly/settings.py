"""Configuration, read once from the environment (``QUIETLY_*``) and from flags."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from quietly.config_file import TomlSource, default_data_dir
from quietly.core.identity import parse_role_map
from quietly.notify.guard import AllowList

__all__ = ["Settings", "get_settings"]

# kind:text with at least one {label} placeholder (integrations.alertmanager.targets compiles it)
_TARGET_TEMPLATE = re.compile(
    r"^[a-z][a-z0-9_]*:(?:[^{},\s]|\{[A-Za-z_][A-Za-z0-9_]*\})*"
    r"\{[A-Za-z_][A-Za-z0-9_]*\}(?:[^{},\s]|\{[A-Za-z_][A-Za-z0-9_]*\})*$")


class Settings(BaseSettings):
    """Every setting quietly reads. The defaults run one process on a SQLite file."""

    model_config = SettingsConfigDict(env_prefix="QUIETLY_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Holds the SQLite "
                           "file (default: $STATE_DIRECTORY, else ~/.local/share/quietly).")
    database_url: str | None = Field(
        default=None, description="Overrides the SQLite default, e.g. postgresql+psycopg://…"
    )
    host: str = "127.0.0.1"
    port: int = 8080
    default_timezone: str = "UTC"
    # Client settings for the CLI's commands that talk to a running server.
    url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    # Secure cookies need HTTPS; a local development server may turn this off.
    cookie_secure: bool = True
    webhook_allow_private: bool = Field(
        default=False, description="Send webhooks and syncs to any internal address "
        "(loopback, private, link-local...). Prefer webhook_allow.")
    webhook_allow: str = Field(
        default="", description="Internal destinations webhooks and syncs may reach, and no "
        "others: networks and host names, '10.20.0.0/16,hooks.internal.example,"
        "*.corp.example'. Checked when saved and before every delivery.")
    public_url: str | None = Field(
        default=None, description="The address people reach this server at "
        "(https://quietly.example.com): links to windows in synced silences and downtimes; "
        "when https, every response carries Strict-Transport-Security.")
    metrics_token: str | None = Field(
        default=None, description="When set, /metrics answers only requests with "
        "'Authorization: Bearer <token>' (its series name workspaces and targets).")
    metrics_max_targets: int = Field(
        default=10_000, ge=0, le=1_000_000,
        description="At most this many series of quietly_maintenance_active (running targets "
        "first); the rest are counted in quietly_maintenance_targets_dropped.")
    run_worker: bool = True
    index_check_seconds: float = Field(
        default=5.0, ge=0, le=3600,
        description="On PostgreSQL, how often each process compares its decision index with "
        "the store and reloads what a lost change notification left out of date (0: off).")
    index_load_timeout_seconds: float = Field(
        default=120.0, gt=0, le=3600,
        description="On PostgreSQL, how long start-up waits for the change listener to "
        "subscribe and load the index before loading it without the subscription.")
    busy_poll_us: int = Field(
        default=100, ge=0, le=10_000,
        description="While decisions come in fast (answers less than ten times this "
        "apart), keep polling the sockets this many microseconds after each one before "
        "sleeping (0: off). Lowers the latency of one-connection request loops at the price "
        "of CPU under load; see the README's Operating section.")
    # Request-size caps (issue #14), enforced while reading, before authentication and JSON
    # decoding: a larger body is a 413 whether sent with Content-Length or chunked.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024,
        description="Largest request body of every route but the batch ones below (bytes).")
    max_alerts_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024,
        description="Largest body of alert ingest: POST /api/v1/alerts and the Alertmanager "
        "receiver (bytes).")
    max_decide_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024,
        description="Largest body of a batch decision, POST /api/v1/decide (bytes).")
    max_windows_batch_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024,
        description="Largest body of a bulk create, POST /api/v1/windows/batch (bytes).")
    # Writes (issue #19): creates from concurrent requests share one transaction and commit.
    group_commit: bool = Field(
        default=True,
        description="Run window creates of concurrent requests through one writer thread "
        "that commits them together (an answer is sent only after its commit). Off: each "
        "request commits on its own.")
    group_commit_max: int = Field(
        default=256, ge=1, le=10_000,
        description="Most creates committed together by the group-commit writer.")
    max_head_bytes: int = Field(
        default=1024 * 1024, ge=8192,
        description="Largest request line plus headers (bytes); beyond it the connection "
        "is answered 431 and closed.")
    auth_failures_per_minute: int = Field(
        default=30, ge=0,
        description="Failed authentications a client address may make per minute before "
        "it gets 429 with Retry-After for unknown keys until the minute is over (0: off). "
        "Keys already known good are never held back.")
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without QUIETLY_METRICS_TOKEN even when "
        "listening beyond loopback (by default it then answers 403 until a token is set).")
    docs_require_key: bool = Field(
        default=False, description="/docs and /openapi.json answer only requests with an "
        "API key (Authorization: Bearer <key>, any role).")
    write_timeout_seconds: float = Field(
        default=15.0, gt=0, le=300,
        description="A write (POST, PUT, PATCH, DELETE) not answered within this many seconds "
        "gets 503 with Retry-After, and its transaction is rolled back rather than committed "
        "later.")
    db_statement_timeout_ms: int = Field(
        default=30_000, ge=100, description="PostgreSQL statement_timeout per session.")
    db_lock_timeout_ms: int = Field(
        default=5_000, ge=10, description="PostgreSQL lock_timeout; SQLite busy_timeout.")
    db_connect_timeout_seconds: int = Field(
        default=2, ge=1, le=60, description="PostgreSQL connect_timeout.")
    alertmanager_target_labels: str = Field(
        default="service:{service}",
        description="How the Alertmanager receiver maps labels to targets: comma-separated "
        "templates kind:text{label}, each yielding a target when its labels are set, e.g. "
        "'service:{service},host:{instance},job:{job}'. Empty: labels only.")

    # Single sign-on for the web UI (OpenID Connect) and trusted-proxy identity (issue 15).
    oidc_issuer: str | None = Field(
        default=None, description="The OpenID provider's issuer URL; setting it (with "
        "oidc_client_id) adds 'Sign in with …' to the sign-in page.")
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = Field(
        default="groups", description="The claim (ID token or userinfo) listing the "
        "person's groups, matched by sso_roles.")
    oidc_provider_name: str = Field(default="single sign-on",
                                    description="Shown on the sign-in button.")
    sso_roles: str = Field(
        default="", description="Which groups get which workspace and role, for single "
        "sign-on and proxy identity: 'sre-admins=default:admin, sre=default:editor, "
        "*=default:viewer'. People matched by no rule are refused.")
    ui_key_sign_in: bool = Field(default=True, description="Offer signing in to the web UI "
                                 "with an API key (the API always takes keys).")
    trusted_proxies: str = Field(
        default="127.0.0.1,::1", description="Comma-separated addresses or CIDRs of reverse "
        "proxies whose X-Forwarded-For/-Proto/-Host (and, with proxy_identity, "
        "-Email/-User/-Groups) headers are believed. From anywhere else those headers are ignored.")
    proxy_identity: bool = Field(
        default=False, description="Sign people in to the web UI from X-Forwarded-Email/"
        "-User/-Groups sent by a trusted proxy (oauth2-proxy, Pomerium).")
    proxy_sign_out_url: str | None = Field(
        default=None, description="Where 'Sign out' sends people signed in by the proxy, "
        "e.g. /oauth2/sign_out for oauth2-proxy.")

    access_log: bool = Field(default=True, description="Write one JSON line per request.")
    access_log_file: str | None = Field(default=None, description="Where the access log goes "
                                        "(default: standard output).")
    access_log_decisions: bool = Field(
        default=False, description="Also log /api/v1/decide requests (one per alert: this "
        "turns off the protocol-level decision fast path of 'serve').")

    @field_validator("sso_roles")
    @classmethod
    def _check_sso_roles(cls, value: str) -> str:
        parse_role_map(value)  # refuse a broken map at start-up, not at the first sign-in
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _check_webhook_allow(cls, value: str) -> str:
        AllowList.parse(value)  # a typo refuses to start rather than opening nothing
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for raw in (part.strip() for part in value.split(",")):
            if raw:
                try:
                    ipaddress.ip_network(raw, strict=False)
                except ValueError:
                    raise ValueError(f"{raw!r} is not an address or CIDR such as "
                                     "'127.0.0.1' or '10.0.0.0/8'") from None
        return value

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("oidc_issuer is set but oidc_client_id is not; set both")
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments, then QUIETLY_* variables, then the config file (config_file.py).
        return init_settings, env_settings, TomlSource(settings_cls)

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        # Accept the plain postgresql:// form people paste and pick the psycopg 3 driver.
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value or None

    @field_validator("alertmanager_target_labels")
    @classmethod
    def _check_target_rule(cls, value: str) -> str:
        # Refuse a broken rule at start-up rather than at the first webhook.
        for raw in (part.strip() for part in value.split(",")):
            if raw and not _TARGET_TEMPLATE.match(raw):
                raise ValueError(f"{raw!r} is not a target template such as "
                                 "'service:{service}'")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'quietly.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
