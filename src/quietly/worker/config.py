"""Worker settings (``QUIETLY_WORKER_*``), separate from the server's ``Settings``."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from quietly.services.deliveries import RetryPolicy

__all__ = ["WorkerConfig"]


class WorkerConfig(BaseSettings):
    """Timings of the worker; the defaults meet "each event within 2 s of its instant"."""

    model_config = SettingsConfigDict(env_prefix="QUIETLY_WORKER_", extra="ignore")

    poll_seconds: float = Field(default=0.5, gt=0, description="How often due jobs are sought.")
    delivery_poll_seconds: float = Field(default=0.25, gt=0)
    job_batch: int = Field(default=100, ge=1)
    delivery_batch: int = Field(default=32, ge=1)
    concurrency: int = Field(default=8, ge=1, le=64, description="Parallel deliveries.")
    lease_seconds: float = Field(default=60.0, gt=0,
                                 description="A claimed message's lease; must exceed the "
                                             "HTTP timeout.")
    retry_for_seconds: float = Field(default=24 * 3600.0, gt=0)
    backoff_base_seconds: float = Field(default=5.0, gt=0)
    backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    backoff_jitter: float = Field(default=0.25, ge=0, le=1)
    late_after_seconds: float = Field(default=15.0, ge=0,
                                      description="Events handled later than this are "
                                                  "marked late: true.")
    skip_after_seconds: float = Field(default=3600.0, gt=0,
                                      description="Events later than this are recorded as "
                                                  "skipped, not sent (no flood after an "
                                                  "outage).")
    retention_days: float = Field(default=30.0, gt=0,
                                  description="Delivered, failed and skipped messages are "
                                              "deleted from the log after this long.")
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    sync_poll_seconds: float = Field(default=0.25, gt=0,
                                     description="How often due syncs are sought.")
    sync_lease_seconds: float = Field(default=30.0, gt=0,
                                      description="A running sync's lease (renewed while it "
                                                  "runs); a killed worker's sync is taken "
                                                  "over after this.")
    sync_concurrency: int = Field(default=4, ge=1, le=64, description="Syncs run at once.")
    max_response_bytes: int = Field(default=64 * 1024, ge=0)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(retry_for=timedelta(seconds=self.retry_for_seconds),
                           base=self.backoff_base_seconds, cap=self.backoff_cap_seconds,
                           jitter=self.backoff_jitter)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    @property
    def late_after(self) -> timedelta:
        return timedelta(seconds=self.late_after_seconds)

    @property
    def skip_after(self) -> timedelta:
        return timedelta(seconds=self.skip_after_seconds)
