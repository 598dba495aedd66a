"""Schemas of maintenance as code: the file format (``QuietlyFile``) and ``POST /api/v1/apply``.

A file holds windows, each the body of ``POST /api/v1/windows`` plus a stable ``key``, and
target groups, each the body of ``POST /api/v1/groups`` (a group's key is its name).
``quietly schema`` prints ``QuietlyFile``'s JSON Schema; docs/quietly-file.schema.json keeps
a copy for editors.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from quietly.api.native.schemas import GroupIn, WindowCreate
from quietly.api.types import Flag

__all__ = ["ApplyRequest", "ApplyResult", "ManagedWindow", "QuietlyFile", "file_schema"]

Key = Annotated[str, Field(
    min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
    description="Stable name of the window in its workspace: an apply finds the window by it.",
    examples=["patch-night"])]
SourceName = Annotated[str, Field(
    min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/@-]*$",
    description="Who manages the objects: an apply (and its prune) only touches objects "
                "of its own source.", examples=["gitlab.example.com/ops/maintenance"])]


class ManagedWindow(WindowCreate):
    """A window as ``POST /api/v1/windows`` takes it, plus its key."""

    key: Key


class QuietlyFile(BaseModel):
    """A maintenance-as-code file (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid", title="quietly maintenance file")

    schema_: str | None = Field(default=None, alias="$schema",
                                description="The JSON Schema this file follows (for editors).")
    windows: list[ManagedWindow] = Field(default_factory=list, max_length=10_000)
    groups: list[GroupIn] = Field(default_factory=list, max_length=1000)


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: SourceName
    windows: list[dict[str, Any]] = Field(
        default_factory=list, max_length=10_000,
        description="Every window of the source: the fields of POST /api/v1/windows plus "
                    "'key' (see the file schema printed by `quietly schema`). Each is "
                    "checked on its own, so every error of the set is reported.")
    groups: list[dict[str, Any]] = Field(
        default_factory=list, max_length=1000,
        description="Every target group of the source, as POST /api/v1/groups takes it.")
    prune: Flag = Field(default=False, description="Delete this source's objects that the "
                        "set no longer names.")
    dry_run: Flag = Field(default=False, description="Plan only: roll everything back.")


class FieldDiffPublic(BaseModel):
    field: str
    before: Any
    after: Any


class PlannedChangePublic(BaseModel):
    kind: str
    key: str
    action: str
    name: str
    id: int | None
    diff: list[FieldDiffPublic]
    window: dict[str, Any] | None
    next_occurrences: list[dict[str, str]]


class ApplyResult(BaseModel):
    source: str
    dry_run: bool
    changed: bool
    changes: list[PlannedChangePublic]


def file_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of a maintenance file, as ``quietly schema`` prints it."""
    schema = QuietlyFile.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
