"""Round trips through the Ionhour converters, without a server (hypothesis).

A window sent through Ionhour answers the ``startAt``, ``endAt``, ``timezone`` and
``recurringCron`` it was sent with; a cron window's occurrences all last ``endAt - startAt``
and none starts before ``startAt``'s local date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from quietly.compat.ionhour.convert import from_record, to_fields
from quietly.compat.ionhour.schemas import MaintenanceWindowCreate
from quietly.core import schedule
from quietly.core.records import Principal, Role, WindowRecord
from quietly.core.timeutil import to_local

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PRINCIPAL = Principal(workspace_id=1, workspace_slug="default", workspace_timezone="UTC",
                      role=Role.EDITOR, key_id=1, key_name="k")
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                         "Asia/Kathmandu"])
CRONS = st.sampled_from([None, "0 2 * * 0", "30 1 * * *", "0 3 1 * *", "15 */6 * * 1-5"])


def _js(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2035, 1, 1),
                          timezones=st.just(UTC)),
       minutes=st.integers(1, 3 * 24 * 60), zone=ZONES, cron=CRONS)
def test_times_come_back_as_sent(start: datetime, minutes: int, zone: str,
                                 cron: str | None) -> None:
    start = start.replace(microsecond=0)
    end = start + timedelta(minutes=minutes)
    body = MaintenanceWindowCreate(workspaceId=1, name="w", startAt=_js(start), endAt=_js(end),
                                   projectIds=[1], timezone=zone, recurringCron=cron)
    fields = to_fields(body, PRINCIPAL)
    record = WindowRecord(id=1, workspace_id=1, fields=fields, created_by="key:k",
                          created_at=NOW, updated_at=NOW)
    answer = from_record(record, NOW)
    assert (answer["startAt"], answer["endAt"], answer["timezone"], answer["recurringCron"]) \
        == (_js(start), _js(end), zone, cron)
    found = schedule.occurrences(fields.schedule, start - timedelta(days=2),
                                 start + timedelta(days=40), limit=50)
    assert all(o.end - o.start == end - start for o in found)
    assert all(to_local(o.start, zone).date() >= to_local(start, zone).date() for o in found)
