"""Fixtures for single sign-on: one real OpenID provider per module and a quietly server
configured for it, mapping groups to the roles of one workspace made for the module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from quietly.core.records import Role
from quietly.services import workspaces
from quietly.settings import Settings
from quietly.storage.db import Database
from tests.web.sso_support import oidc_provider, quietly_server

CLIENT_ID = "quietly-test"


@dataclass
class Sso:
    """A quietly server with single sign-on, its provider, and an admin key of its workspace."""

    url: str
    issuer: str
    workspace: str
    admin_key: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.admin_key}"})


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with oidc_provider(tmp_path_factory.mktemp("oidc")) as url:
        yield url


def roles_for(slug: str) -> str:
    return f"sre-admins={slug}:admin, sre={slug}:editor, watchers={slug}:viewer"


@pytest.fixture(scope="module")
def sso_workspace(db: Database) -> tuple[str, str]:
    slug = "sso-" + uuid.uuid4().hex[:10]
    now = datetime.now(UTC)
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, slug, name=slug, timezone="Europe/Berlin",
                                         now=now)
        key = workspaces.create_key(session, ws.id, name="sso-admin", role=Role.ADMIN,
                                    now=now)[1]
    return slug, key


@pytest.fixture(scope="module")
def sso(settings: Settings, db: Database, issuer: str, sso_workspace: tuple[str, str]
        ) -> Iterator[Sso]:
    slug, key = sso_workspace
    with quietly_server(settings, db, oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
                        oidc_client_secret="test-secret", oidc_provider_name="Example SSO",
                        sso_roles=roles_for(slug)) as url:
        yield Sso(url, issuer, slug, key)
