"""Property: a scoped key never changes a window that has a target outside its scope, and
never leaves one behind (issue #15 point 3), whatever the operation, through the services
every API calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.core.errors import Forbidden
from quietly.core.model import Effect, OnceSchedule
from quietly.core.records import Principal, Role, WindowFields
from quietly.core.scopes import matches
from quietly.services import maintenance, windows, workspaces
from quietly.storage.db import Database

TARGETS = ["service:pay-a", "service:pay-b", "service:payments", "service:checkout",
           "monitor:1"]
PATTERNS = ["service:pay-*", "service:checkout", "monitor:*", "service:pay-a"]
OPERATIONS = ["rename", "retarget", "cancel", "delete", "stop"]


@pytest.fixture(scope="module")
def workspace(db: Database) -> Principal:
    slug = "p-" + uuid.uuid4().hex[:10]
    with db.transaction() as session:
        ws = workspaces.create_workspace(session, slug, name=slug, timezone="UTC",
                                         now=datetime.now(UTC))
    return Principal(workspace_id=ws.id, workspace_slug=slug, workspace_timezone="UTC",
                     role=Role.EDITOR, key_id=None, key_name="editor")


def _inside(scope: tuple[str, ...], targets: tuple[str, ...]) -> bool:
    return all(matches(scope, t) for t in targets)


@settings(max_examples=60, deadline=None)
@given(before=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3, unique=True),
       after=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=3, unique=True),
       scope=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3, unique=True),
       operation=st.sampled_from(OPERATIONS))
def test_a_scoped_key_never_changes_a_window_outside_its_scope(
        db: Database, workspace: Principal, before: list[str], after: list[str],
        scope: list[str], operation: str) -> None:
    now = datetime.now(UTC)
    fields = WindowFields(name="w", schedule=OnceSchedule(now - timedelta(minutes=5),
                                                          now + timedelta(hours=1), None),
                          targets=tuple(before), effects=(Effect.MUTE,))
    with db.transaction() as session:
        window_id = windows.create_window(session, workspace, fields, now).id
    key = Principal(workspace_id=workspace.workspace_id, workspace_slug="x",
                    workspace_timezone="UTC", role=Role.EDITOR, key_id=None,
                    key_name="deploy", scope=tuple(scope))
    refused = False
    try:
        with db.transaction() as session:
            if operation == "rename":
                windows.update_window(session, key, window_id, {"name": "renamed"}, now)
            elif operation == "retarget":
                windows.update_window(session, key, window_id, {"targets": tuple(after)}, now)
            elif operation == "cancel":
                windows.cancel_window(session, key, window_id, now)
            elif operation == "delete":
                windows.delete_window(session, key, window_id, now)
            else:
                maintenance.stop_window(session, key, window_id, delay=timedelta(0), now=now)
    except Forbidden:
        refused = True
    with db.read() as session:
        stored = windows.load_all_windows(session, workspace.workspace_id)
    current = next((w for w in stored if w.id == window_id), None)
    may = _inside(key.scope, tuple(before)) and (
        operation != "retarget" or _inside(key.scope, tuple(after)))
    unchanged = current is not None and current.updated_at == current.created_at
    # Refused exactly when the key may not; a refusal leaves the window as it was.
    assert (refused, unchanged or not refused) == (not may, True)
    # Whatever happened, no window the key touched ends up with a target outside its scope.
    if not refused and current is not None and operation == "retarget":
        assert _inside(key.scope, current.fields.targets)
