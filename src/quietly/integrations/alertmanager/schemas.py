"""Alertmanager's webhook payload, version 4, as Alertmanager sends it.

Field names are Alertmanager's (camelCase); unknown fields are ignored rather than refused,
so a newer Alertmanager that adds fields keeps working. ``endsAt`` is Go's zero time
(``0001-01-01T00:00:00Z``) while an alert fires. Alertmanager ≥ 0.19 also sends each alert's
``fingerprint``; quietly computes the same value from the labels and does not rely on it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from quietly.api.types import JsonInt

__all__ = ["AlertmanagerAlert", "AlertmanagerPayload"]

LabelMap = dict[Annotated[str, Field(min_length=1, max_length=200)],
                Annotated[str, Field(max_length=10_000)]]
Timestamp = Annotated[str, Field(max_length=64, examples=["2026-11-23T18:00:00.123Z"])]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AlertmanagerAlert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: LabelMap
    annotations: LabelMap = Field(default_factory=dict)
    startsAt: Timestamp | None = None
    endsAt: Timestamp | None = None
    generatorURL: Annotated[str, Field(max_length=10_000)] | None = None
    fingerprint: Annotated[str, Field(max_length=64)] | None = None


class AlertmanagerPayload(_Lenient):
    version: Literal["4"]
    groupKey: Annotated[str, Field(max_length=10_000)] | None = None
    truncatedAlerts: JsonInt | None = None
    status: Literal["firing", "resolved"] | None = None
    receiver: Annotated[str, Field(max_length=1000)] | None = None
    groupLabels: LabelMap = Field(default_factory=dict)
    commonLabels: LabelMap = Field(default_factory=dict)
    commonAnnotations: LabelMap = Field(default_factory=dict)
    externalURL: Annotated[str, Field(max_length=10_000)] | None = None
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)

