"""``quietly preview``: the schedule in words and its next occurrences, with no server.

These tests use no server fixture: preview must work offline. The DST cases are Berlin's
2026 transitions: 2026-03-29 02:00 CET → 03:00 CEST (gap) and 2026-10-25 03:00 CEST →
02:00 CET (fold).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.helpers import cli, ok, ok_json, rows

BERLIN = ("--timezone", "Europe/Berlin")
WEEKLY_SUNDAY = ("--every", "weekly", "--days", "sun", "--start-time", "02:00",
                 "--end-time", "04:00", *BERLIN)


def test_weekly_berlin_schedule_across_the_spring_gap() -> None:
    out = ok(cli("preview", *WEEKLY_SUNDAY, "--from", "2026-03-20", "--count", "3")).stdout
    table = rows(out)
    assert table == [
        ["Every Sunday from 02:00 to 04:00 (Europe/Berlin)"],
        ["#", "START (Europe/Berlin)", "END (Europe/Berlin)", "START (UTC)", "END (UTC)",
         "LENGTH"],
        ["1", "Sun 2026-03-22 02:00 CET", "Sun 2026-03-22 04:00 CET", "2026-03-22 01:00 UTC",
         "2026-03-22 03:00 UTC", "2h"],
        # 02:00 does not exist: read with the offset before the gap (01:00Z), shown as 03:00.
        ["2", "Sun 2026-03-29 03:00 CEST", "Sun 2026-03-29 04:00 CEST",
         "2026-03-29 01:00 UTC", "2026-03-29 02:00 UTC", "1h"],
        ["3", "Sun 2026-04-05 02:00 CEST", "Sun 2026-04-05 04:00 CEST",
         "2026-04-05 00:00 UTC", "2026-04-05 02:00 UTC", "2h"],
    ]


def test_weekly_berlin_schedule_across_the_autumn_fold() -> None:
    out = ok(cli("preview", *WEEKLY_SUNDAY, "--from", "2026-10-20T00:00:00Z", "--count",
                 "2")).stdout
    assert rows(out)[2:] == [
        # 02:00 happens twice: its first instant (CEST); 04:00 CET ends 3 hours later.
        ["1", "Sun 2026-10-25 02:00 CEST", "Sun 2026-10-25 04:00 CET", "2026-10-25 00:00 UTC",
         "2026-10-25 03:00 UTC", "3h"],
        ["2", "Sun 2026-11-01 02:00 CET", "Sun 2026-11-01 04:00 CET", "2026-11-01 01:00 UTC",
         "2026-11-01 03:00 UTC", "2h"],
    ]


@pytest.mark.parametrize(("end", "local_end", "length"), [
    (["--end-time", "04:00"], "Sun 2026-03-29 04:00 CEST", "2h"),  # wall clock: 2 h that day
    (["--duration", "3h"], "Sun 2026-03-29 05:00 CEST", "3h"),  # elapsed: 3 h, ends 05:00
])
def test_wall_clock_end_and_duration_differ_on_the_gap_day(
        end: list[str], local_end: str, length: str) -> None:
    out = ok(cli("preview", "--every", "daily", "--start-time", "01:00", *end, *BERLIN,
                 "--from", "2026-03-29T00:00:00Z", "--count", "1")).stdout
    assert rows(out)[2] == ["1", "Sun 2026-03-29 01:00 CET", local_end, "2026-03-29 00:00 UTC",
                            rows(out)[2][4], length]


def test_json_lists_utc_and_local_instants() -> None:
    data = ok_json(cli("preview", "--rrule", "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
                       "--start-time", "02:00", "--duration", "PT3H", *BERLIN,
                       "--from", "2026-01-01", "--count", "2", "--json"))
    assert (data["schedule"]["rrule"], data["occurrences"]) == (
        "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
        [{"start": "2026-01-13T01:00:00Z", "end": "2026-01-13T04:00:00Z",
          "local_start": "2026-01-13T02:00:00+01:00", "local_end": "2026-01-13T05:00:00+01:00"},
         {"start": "2026-02-10T01:00:00Z", "end": "2026-02-10T04:00:00Z",
          "local_start": "2026-02-10T02:00:00+01:00",
          "local_end": "2026-02-10T05:00:00+01:00"}])


def test_cron_default_count_default_zone_and_until() -> None:
    five = ok(cli("preview", "--cron", "30 6 * * 1-5", "--duration", "15m",
                  "--from", "2026-06-01T00:00:00Z")).stdout
    bounded = ok_json(cli("preview", "--every", "daily", "--start-time", "01:00",
                          "--duration", "1h", "--from", "2026-03-20", "--until", "2026-03-22",
                          "--json"))
    assert (len(rows(five)) - 2, rows(five)[0][0].endswith("(UTC)"),
            [o["start"][:10] for o in bounded["occurrences"]]) == (
        5, True, ["2026-03-20", "2026-03-21", "2026-03-22"])


def test_a_running_occurrence_is_listed_first_and_marked() -> None:
    out = ok(cli("preview", "--every", "daily", "--start-time", "22:00", "--end-time",
                 "06:00", "--timezone", "UTC", "--from", "2026-05-02T01:00:00Z",
                 "--count", "1")).stdout
    assert rows(out)[2][1:] == ["Fri 2026-05-01 22:00 UTC", "Sat 2026-05-02 06:00 UTC",
                                "2026-05-01 22:00 UTC", "2026-05-02 06:00 UTC", "8h (running)"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--rrule", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", "--start-time", "02:00",
      "--duration", "1h"], "error: schedule.rrule: "),
    (["--every", "daily", "--start-time", "02:00", "--duration", "1h", "--timezone",
      "Nowhere/City"], "error: schedule.timezone: unknown time zone 'Nowhere/City'"),
    (["--every", "weekly", "--start-time", "02:00", "--duration", "1h"],
     "error: schedule.days_of_week: "),
    (["--cron", "0 2 * * *", "--start-time", "02:00", "--duration", "1h"],
     "error: schedule.start_time: "),
    (["--every", "daily", "--start-time", "02:00"], "error: schedule.end_time: "),
    (["--start-time", "02:00", "--duration", "1h"], "error: --every: give a schedule"),
    (["--every", "daily", "--start-time", "02:00", "--duration", "1h", "--from", "soon"],
     "error: --from: 'soon' is not a date-time"),
    (["--every", "hourly", "--start-time", "02:00", "--duration", "1h"],
     "error: --every: 'hourly' is not daily, weekly or monthly"),
])
def test_invalid_schedules_name_the_field_and_exit_2(flags: list[str], message: str) -> None:
    result = cli("preview", *flags)
    assert (result.exit_code, result.stderr.startswith(message), result.stdout) == \
        (2, True, ""), result.stderr


def test_from_defaults_to_now() -> None:
    before = datetime.now(UTC)
    data = ok_json(cli("preview", "--every", "daily", "--start-time", "00:00", "--duration",
                       "1h", "--json"))
    first_end = datetime.fromisoformat(data["occurrences"][0]["end"].replace("Z", "+00:00"))
    assert (len(data["occurrences"]), before < first_end <= before + timedelta(days=1, hours=1),
            data["human_schedule"].endswith("(UTC)")) == (5, True, True)
