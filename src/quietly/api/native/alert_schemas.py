"""Request and response schemas of the alert endpoints (ingest and list)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from quietly.api.native.schemas import Strict
from quietly.api.types import Instant, TargetName
from quietly.core.model import Verdict

__all__ = [
    "MAX_BATCH",
    "AlertBatchIn",
    "AlertIngestIn",
    "AlertList",
    "AlertPublic",
    "IngestOutcome",
    "IngestSummary",
]

MAX_BATCH = 10_000

LabelMap = dict[Annotated[str, Field(min_length=1, max_length=200)],
                Annotated[str, Field(max_length=10_000)]]


class AlertIngestIn(Strict):
    fingerprint: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Identifies the alert across repeats; computed from the "
        "labels and targets (Alertmanager's label hash) when absent.")
    status: Literal["firing", "resolved"] = "firing"
    targets: list[TargetName] = Field(default_factory=list, max_length=1000)
    labels: LabelMap = Field(default_factory=dict)
    annotations: LabelMap = Field(default_factory=dict)
    starts_at: Instant | None = None
    ends_at: Instant | None = None


class AlertBatchIn(Strict):
    alerts: list[AlertIngestIn] = Field(max_length=MAX_BATCH,
                                        description="Up to 10,000 alerts per request.")


class IngestOutcome(BaseModel):
    fingerprint: str
    verdict: Verdict
    windows: list[int]
    delivery: Literal["held", "delivered", "unrouted", "dropped"] = Field(
        description="unrouted: to deliver, but no route took it, so nothing was sent.")
    id: int | None = Field(description="The stored alert; null when dropped.")
    revision: int | None


class IngestSummary(BaseModel):
    received: int
    held: int
    delivered: int
    unrouted: int = Field(description="Alerts to deliver that no route took (nothing sent).")
    dropped: int
    forwarded: int = Field(description="Delivered alerts queued for the workspace's routes.")
    stale: bool = Field(description="Decided from an index the store could not refresh.")
    alerts: list[IngestOutcome]


class AlertPublic(BaseModel):
    id: int
    fingerprint: str
    status: Literal["firing", "resolved"]
    delivery: Literal["held", "delivered", "unrouted"]
    verdict: Verdict
    windows: list[int]
    targets: list[str]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str | None
    ends_at: str | None
    revision: int
    received_at: str
    updated_at: str


class AlertList(BaseModel):
    alerts: list[AlertPublic]
    next_cursor: str | None
