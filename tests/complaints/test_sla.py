"""The business-hours SLA engine, pure: due times over weekends, holidays, opening hours and
DST changes, business time between moments, pauses, and each clock state at its moment."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from complaints.sla import (
    BusinessCalendar,
    Clock,
    SlaState,
    add_business_time,
    at_risk_moment,
    business_seconds_between,
    clock_state,
    resumed_due_at,
)
from rma_portal.sla import wall_clock

from .conftest import HOUR, UTC, nov, warsaw

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar()  # Europe/Warsaw, Mon–Fri 08:00–16:00, no holidays
MINUTE = 60


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# --- due times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "seconds", "due"),
    [
        # the weekend is skipped: Friday 15:00 + 2 h = Monday 09:00
        (nov(20, 15), 2 * HOUR, nov(23, 9)),
        # within one day
        (nov(16, 9), 3 * HOUR, nov(16, 12)),
        # a full working day is 8 h: Monday 09:00 + 8 h = Tuesday 09:00
        (nov(16, 9), 8 * HOUR, nov(17, 9)),
        # a working week is 40 h
        (nov(16, 9), 40 * HOUR, nov(23, 9)),
        # before opening: counted from 08:00
        (nov(16, 6, 30), 1 * HOUR, nov(16, 9)),
        # after closing: counted from the next morning
        (nov(16, 17), 1 * HOUR, nov(17, 9)),
        # on Saturday and on Sunday: counted from Monday 08:00
        (nov(21, 12), 1 * HOUR, nov(23, 9)),
        (nov(22, 23, 59), 30 * MINUTE, nov(23, 8, 30)),
        # fractions of a second survive
        (nov(16, 9), 0.5, nov(16, 9).replace(microsecond=500_000)),
    ],
)
def test_due_time_in_business_hours(start, seconds, due):
    result = add_business_time(OFFICE, start, seconds)

    assert result == due
    assert result.tzinfo is UTC  # stored as UTC instants


@pytest.mark.parametrize(
    ("start", "seconds", "due"),
    [
        # the last business second of the day ends at closing time, not on the next morning
        (nov(20, 15), 1 * HOUR, nov(20, 16)),
        (nov(16, 8), 8 * HOUR, nov(16, 16)),
        # one second more runs into the next working day
        (nov(20, 15), 1 * HOUR + 1, nov(23, 8, 0, 1)),
        (nov(20, 16), 1, nov(23, 8, 0, 1)),
        # zero time at an instant inside working hours is due at once
        (nov(16, 8), 0, nov(16, 8)),
        (nov(16, 12, 34), 0, nov(16, 12, 34)),
        # zero time outside working hours is due at the next opening; the closing instant is
        # outside, as it is for any clock started then (the limit of 16:00 + a moment)
        (nov(20, 16), 0, nov(23, 8)),
        (nov(16, 7, 59), 0, nov(16, 8)),
        # a negative amount counts as zero
        (nov(16, 12), -5 * HOUR, nov(16, 12)),
    ],
)
def test_due_time_at_the_edges_of_the_working_day(start, seconds, due):
    assert add_business_time(OFFICE, start, seconds) == due


def test_holidays_are_not_working_days():
    # Wednesday 11 November 2026 is Independence Day
    calendar = BusinessCalendar(holidays=frozenset({datetime.date(2026, 11, 11)}))

    # across the holiday: Tuesday 15:00 + 2 h = Thursday 09:00
    assert add_business_time(calendar, nov(10, 15), 2 * HOUR) == nov(12, 9)
    # starting on the holiday
    assert add_business_time(calendar, nov(11, 10), 1 * HOUR) == nov(12, 9)
    # without the holiday it would be Wednesday
    assert add_business_time(OFFICE, nov(10, 15), 2 * HOUR) == nov(11, 9)
    # a holiday and a weekend together: Friday 13 off, so Thursday 15:00 + 2 h = Monday 09:00
    long_weekend = BusinessCalendar(holidays=frozenset({datetime.date(2026, 11, 13)}))
    assert add_business_time(long_weekend, nov(12, 15), 2 * HOUR) == nov(16, 9)


def test_own_working_days_and_hours():
    # Monday to Saturday, 07:30–15:30
    calendar = BusinessCalendar(
        day_start=datetime.time(7, 30),
        day_end=datetime.time(15, 30),
        weekdays=frozenset(range(6)),
    )

    # Friday 15:00 + 2 h = Saturday 09:00
    assert add_business_time(calendar, nov(20, 15), 2 * HOUR) == nov(21, 9)
    # Saturday 15:00 + 1 h = Monday 08:00 (Sunday is off)
    assert add_business_time(calendar, nov(21, 15), 1 * HOUR) == nov(23, 8)


def test_the_start_may_be_given_in_any_time_zone():
    start_in_utc = nov(20, 15).astimezone(UTC)
    start_elsewhere = nov(20, 15).astimezone(NEW_YORK)

    assert add_business_time(OFFICE, start_in_utc, 2 * HOUR) == nov(23, 9)
    assert add_business_time(OFFICE, start_elsewhere, 2 * HOUR) == nov(23, 9)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(OFFICE, datetime.datetime(2026, 11, 16, 9), HOUR)


# --- daylight saving time ------------------------------------------------------------------


def test_spring_forward_keeps_local_working_hours():
    # Sunday 29 March 2026, 02:00 CET → 03:00 CEST: Friday is UTC+1, Monday UTC+2
    friday_15 = warsaw(2026, 3, 27, 15)
    assert friday_15 == utc(2026, 3, 27, 14)

    due = add_business_time(OFFICE, friday_15, 2 * HOUR)

    assert due == utc(2026, 3, 30, 7)  # Monday 09:00 CEST
    assert due.astimezone(ZoneInfo("Europe/Warsaw")).hour == 9
    assert due - friday_15 == datetime.timedelta(hours=65)  # the night lost an hour
    # Friday 12:00 CET to Monday 12:00 CEST: 4 h + 4 h, whatever the clocks did
    assert business_seconds_between(OFFICE, warsaw(2026, 3, 27, 12), warsaw(2026, 3, 30, 12)) == (
        8 * HOUR
    )


def test_fall_back_keeps_local_working_hours():
    # Sunday 25 October 2026, 03:00 CEST → 02:00 CET: Friday is UTC+2, Monday UTC+1
    friday_15 = warsaw(2026, 10, 23, 15)
    assert friday_15 == utc(2026, 10, 23, 13)

    due = add_business_time(OFFICE, friday_15, 2 * HOUR)

    assert due == utc(2026, 10, 26, 8)  # Monday 09:00 CET
    assert due - friday_15 == datetime.timedelta(hours=67)  # the night gained an hour
    assert business_seconds_between(OFFICE, warsaw(2026, 10, 23, 12), warsaw(2026, 10, 26, 12)) == (
        8 * HOUR
    )
    # a week of 40 h across the change
    assert add_business_time(OFFICE, warsaw(2026, 10, 19, 9), 40 * HOUR) == utc(2026, 10, 26, 8)


ROUND_THE_CLOCK = BusinessCalendar(
    day_start=datetime.time(0, 0), day_end=datetime.time(23, 59), weekdays=frozenset(range(7))
)


def test_a_working_day_containing_the_change_has_its_real_length():
    # A support desk open through the night: the working day of 29 March is an hour shorter,
    # that of 25 October an hour longer, in real (business) seconds.
    assert business_seconds_between(
        ROUND_THE_CLOCK, warsaw(2026, 3, 29, 0), warsaw(2026, 3, 29, 23, 59)
    ) == (22 * HOUR + 59 * MINUTE)
    assert business_seconds_between(
        ROUND_THE_CLOCK, warsaw(2026, 10, 25, 0), warsaw(2026, 10, 25, 23, 59)
    ) == (24 * HOUR + 59 * MINUTE)
    # 01:00 CET + 2 real hours = 04:00 CEST (there is no 02:xx that night)
    assert add_business_time(ROUND_THE_CLOCK, warsaw(2026, 3, 29, 1), 2 * HOUR) == utc(
        2026, 3, 29, 2
    )
    # 01:00 CEST + 3 real hours = 03:00 CET (02:xx happens twice)
    assert add_business_time(ROUND_THE_CLOCK, warsaw(2026, 10, 25, 1), 3 * HOUR) == utc(
        2026, 10, 25, 2
    )


# --- another tenant time zone --------------------------------------------------------------


NY_OFFICE = BusinessCalendar(timezone="America/New_York")


def test_a_new_york_tenant_works_new_york_hours():
    # Friday 15:00 in New York is 20:00 UTC (21:00 in Warsaw, long after closing there)
    friday_15 = datetime.datetime(2026, 11, 20, 15, tzinfo=NEW_YORK)
    assert friday_15 == utc(2026, 11, 20, 20)

    assert add_business_time(NY_OFFICE, friday_15, 2 * HOUR) == utc(2026, 11, 23, 14)
    assert add_business_time(OFFICE, friday_15, 2 * HOUR) == utc(2026, 11, 23, 9)
    # America changes its clocks on 1 November, a week after Europe: the Monday after is
    # UTC−5, the Friday before UTC−4
    assert add_business_time(
        NY_OFFICE, datetime.datetime(2026, 10, 30, 15, tzinfo=NEW_YORK), 2 * HOUR
    ) == utc(2026, 11, 2, 14)
    # and a working day in New York is counted in New York
    assert business_seconds_between(NY_OFFICE, utc(2026, 11, 16, 13), utc(2026, 11, 16, 22)) == (
        8 * HOUR
    )  # 08:00–16:00 EST = 13:00–21:00 UTC


# --- business time between moments --------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (nov(16, 9), nov(17, 9), 8 * HOUR),
        (nov(20, 15), nov(23, 9), 2 * HOUR),  # over the weekend
        (nov(16, 9), nov(23, 9), 40 * HOUR),
        (nov(16, 17), nov(17, 7), 0),  # a night
        (nov(21, 9), nov(22, 18), 0),  # a weekend
        (nov(16, 6), nov(16, 18), 8 * HOUR),  # clipped to the working day
        (nov(16, 12), nov(16, 12), 0),  # no time
        (nov(17, 9), nov(16, 9), 0),  # end before start
        (nov(16, 15, 59, 59), nov(17, 8, 0, 1), 2),
    ],
)
def test_business_seconds_between(start, end, seconds):
    assert business_seconds_between(OFFICE, start, end) == seconds


def test_business_seconds_and_due_times_agree():
    for start in (nov(16, 9), nov(20, 15, 30), nov(21, 11), nov(16, 16)):
        for seconds in (1, HOUR, 7.5 * HOUR, 41 * HOUR):
            due = add_business_time(OFFICE, start, seconds)
            assert business_seconds_between(OFFICE, start, due) == seconds


# --- pause and resume ----------------------------------------------------------------------


def test_resuming_pushes_the_due_time_by_the_business_time_paused():
    # due Tuesday 10:00; paused Monday 12:00 with 6 h left; resumed Wednesday 12:00
    due = resumed_due_at(OFFICE, due_at=nov(17, 10), paused_at=nov(16, 12), resumed_at=nov(18, 12))

    assert due == nov(19, 10)  # 6 h from Wednesday 12:00
    paused = business_seconds_between(OFFICE, nov(16, 12), nov(18, 12))
    assert paused == 16 * HOUR
    assert business_seconds_between(OFFICE, nov(17, 10), due) == paused


def test_a_pause_outside_working_hours_changes_nothing():
    # paused Friday evening, resumed Monday before opening: no business time passed
    due = resumed_due_at(OFFICE, due_at=nov(23, 10), paused_at=nov(20, 18), resumed_at=nov(23, 7))

    assert due == nov(23, 10)


@pytest.mark.parametrize("paused_at", [nov(17, 10), nov(17, 11), nov(18, 9)])
def test_a_pause_does_not_un_breach_a_clock(paused_at):
    # due Tuesday 10:00, paused at or after it, resumed days later
    due = resumed_due_at(OFFICE, due_at=nov(17, 10), paused_at=paused_at, resumed_at=nov(25, 9))

    assert due == nov(17, 10)
    clock = Clock(started_at=nov(16, 9), due_at=nov(17, 10), paused_at=paused_at)
    assert clock_state(OFFICE, clock, now=nov(24, 9)) == SlaState.BREACHED


# --- clock states --------------------------------------------------------------------------

# Monday 09:00 with 8 business hours: due Tuesday 09:00; 80 % (6 h 24 min) at Monday 15:24.
STARTED, DUE, AT_RISK_FROM = nov(16, 9), nov(17, 9), nov(16, 15, 24)
RUNNING = Clock(started_at=STARTED, due_at=DUE)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (STARTED, SlaState.ON_TRACK),
        (nov(16, 15, 23, 59), SlaState.ON_TRACK),  # just before 80 %
        (AT_RISK_FROM, SlaState.AT_RISK),  # exactly 80 % of the business time
        (nov(16, 20), SlaState.AT_RISK),  # the night does not count, nor does it help
        (nov(17, 8, 59, 59), SlaState.AT_RISK),
        (DUE, SlaState.BREACHED),  # at the due time
        (nov(25, 9), SlaState.BREACHED),
    ],
)
def test_running_clock_state(now, state):
    assert clock_state(OFFICE, RUNNING, now=now) == state


def test_at_risk_moment_is_where_the_state_turns():
    moment = at_risk_moment(OFFICE, started_at=STARTED, due_at=DUE)

    assert moment == AT_RISK_FROM
    assert clock_state(OFFICE, RUNNING, now=moment) == SlaState.AT_RISK
    assert clock_state(OFFICE, RUNNING, now=moment - datetime.timedelta(seconds=1)) == (
        SlaState.ON_TRACK
    )


@pytest.mark.parametrize(
    ("stopped_at", "state"),
    [
        (nov(16, 10), SlaState.MET),
        (DUE, SlaState.MET),  # answered at the due time is in time
        (DUE + datetime.timedelta(seconds=1), SlaState.MISSED),
        (nov(20, 12), SlaState.MISSED),
    ],
)
def test_stopped_clock_is_met_or_missed_for_good(stopped_at, state):
    clock = Clock(started_at=STARTED, due_at=DUE, stopped_at=stopped_at)

    for now in (stopped_at, DUE, nov(30, 12)):
        assert clock_state(OFFICE, clock, now=now) == state


@pytest.mark.parametrize(
    ("paused_at", "state"),
    [
        (nov(16, 12), SlaState.ON_TRACK),  # 3 h of 8 used
        (nov(16, 15, 30), SlaState.AT_RISK),
        (DUE, SlaState.BREACHED),
    ],
)
def test_paused_clock_is_frozen_in_its_state(paused_at, state):
    clock = Clock(started_at=STARTED, due_at=DUE, paused_at=paused_at)

    # long after the due time, the paused clock still says what it said when it paused
    for now in (paused_at, nov(17, 12), nov(30, 12)):
        assert clock_state(OFFICE, clock, now=now) == state


def test_paused_time_is_not_counted_as_allowed_time():
    # given: 3 h used, paused Monday 12:00, resumed Tuesday 12:00 (8 business hours paused);
    # 5 h were left, so the clock is due Wednesday 09:00
    due = resumed_due_at(OFFICE, due_at=DUE, paused_at=nov(16, 12), resumed_at=nov(17, 12))
    assert due == nov(18, 9)
    resumed = Clock(started_at=STARTED, due_at=due, paused_seconds=8 * HOUR)

    # then: at risk once 6 h 24 min of the 8 h are used, i.e. 3 h 24 min after resuming
    assert clock_state(OFFICE, resumed, now=nov(17, 15, 23, 59)) == SlaState.ON_TRACK
    assert clock_state(OFFICE, resumed, now=nov(17, 15, 24)) == SlaState.AT_RISK
    assert clock_state(OFFICE, resumed, now=due) == SlaState.BREACHED
    assert at_risk_moment(OFFICE, started_at=STARTED, due_at=due, paused_seconds=8 * HOUR) == nov(
        17, 15, 24
    )
    # counting the pause as used time would have said "at risk" from Tuesday 13:48
    ignoring_the_pause = Clock(started_at=STARTED, due_at=due)
    assert clock_state(OFFICE, resumed, now=nov(17, 14)) == SlaState.ON_TRACK
    assert clock_state(OFFICE, ignoring_the_pause, now=nov(17, 14)) == SlaState.AT_RISK


def test_a_clock_started_outside_working_hours_counts_from_the_opening():
    # filed Saturday with 2 h: due Monday 10:00, at risk from Monday 09:36
    clock = Clock(started_at=nov(21, 11), due_at=add_business_time(OFFICE, nov(21, 11), 2 * HOUR))

    assert clock.due_at == nov(23, 10)
    assert clock_state(OFFICE, clock, now=nov(22, 23)) == SlaState.ON_TRACK
    assert clock_state(OFFICE, clock, now=nov(23, 9, 35, 59)) == SlaState.ON_TRACK
    assert clock_state(OFFICE, clock, now=nov(23, 9, 36)) == SlaState.AT_RISK


# --- calendars that cannot work ------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"day_start": datetime.time(16), "day_end": datetime.time(8)}, "end after it starts"),
        ({"day_start": datetime.time(9), "day_end": datetime.time(9)}, "end after it starts"),
        ({"weekdays": frozenset()}, "At least one working day"),
        ({"weekdays": frozenset({5, 7})}, "numbered 0"),
        ({"weekdays": frozenset({-1})}, "numbered 0"),
    ],
)
def test_invalid_calendar_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_unknown_time_zone_is_refused_at_once():
    with pytest.raises(ZoneInfoNotFoundError):
        BusinessCalendar(timezone="Europe/Atlantis")


def test_a_calendar_without_working_time_ahead_raises_instead_of_looping():
    # Mondays only, and every Monday of the next eleven years is a holiday
    first_monday = datetime.date(2026, 11, 16)
    mondays = frozenset(first_monday + datetime.timedelta(weeks=n) for n in range(11 * 53))
    calendar = BusinessCalendar(weekdays=frozenset({0}), holidays=mondays)

    with pytest.raises(ValueError, match="no working time"):
        add_business_time(calendar, nov(16, 9), HOUR)


def test_wall_clock_writes_the_time_zones_local_time_across_dst():
    # 25 October 2026: Warsaw goes from CEST (+2) to CET (+1) at 01:00 UTC
    before = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC)
    after = datetime.datetime(2026, 10, 25, 1, 30, tzinfo=datetime.UTC)
    assert wall_clock(before, "Europe/Warsaw") == "2026-10-25 02:30"
    assert wall_clock(after, "Europe/Warsaw") == "2026-10-25 02:30"
    assert wall_clock(after, "America/New_York") == "2026-10-24 21:30"
    assert wall_clock(None, "Europe/Warsaw") == ""
