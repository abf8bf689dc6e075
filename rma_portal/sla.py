"""SLA clocks in business hours: pure code, no database, shared by the case apps (the
complaints' SLA clocks and stages, the returns' decision and refund clocks).

A `BusinessCalendar` knows the tenant's time zone, working days, working hours and holidays.
Due times are computed by adding business seconds to a start; a paused clock is resumed by
adding the business time that was left when it paused. Local time is used for the working
day, so a DST change moves the UTC hours, not the working hours. A stage's limit in working
days is business time too: days × the length of the working day (`working_days_due_at`).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

AT_RISK_SHARE = 0.8  # at risk once 80 % of the allowed business time is used


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "Europe/Warsaw"
    day_start: datetime.time = datetime.time(8, 0)
    day_end: datetime.time = datetime.time(16, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[datetime.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("The working day must end after it starts.")
        if not self.weekdays:
            raise ValueError("At least one working day is needed.")
        if not set(self.weekdays) <= set(range(7)):
            raise ValueError("Working days are numbered 0 (Monday) to 6 (Sunday).")
        ZoneInfo(self.timezone)  # an unknown time zone fails here, not at the first due time

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def working_day_seconds(self) -> float:
        """The length of one working day, from its start to its end on the wall clock (8 h for
        8:00–16:00): what one working day of a stage's limit is worth in business time."""
        start = datetime.datetime.combine(datetime.date(2001, 1, 1), self.day_start)
        end = datetime.datetime.combine(datetime.date(2001, 1, 1), self.day_end)
        return (end - start).total_seconds()

    def is_working_day(self, day: datetime.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def working_window(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        """The day's working hours (local wall time) as UTC instants.

        In UTC because Python subtracts and adds datetimes of one time zone on the wall clock:
        a window containing a DST change (a support day from 00:00) would be an hour off.
        """
        zone = self.zone
        return (
            datetime.datetime.combine(day, self.day_start, tzinfo=zone).astimezone(datetime.UTC),
            datetime.datetime.combine(day, self.day_end, tzinfo=zone).astimezone(datetime.UTC),
        )

    def _windows_from(
        self, moment: datetime.datetime
    ) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
        """Working windows (clipped to start at `moment`) from `moment` on, in UTC."""
        moment = moment.astimezone(datetime.UTC)
        day = moment.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of calendar days: a guard against bad calendars
            if self.is_working_day(day):
                start, end = self.working_window(day)
                if end > moment:
                    yield max(start, moment), end
            day += datetime.timedelta(days=1)
        raise ValueError("The calendar has no working time in the next ten years.")


def add_business_time(
    calendar: BusinessCalendar, start: datetime.datetime, seconds: float
) -> datetime.datetime:
    """The moment when `seconds` of business time have passed after `start`."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = max(float(seconds), 0.0)
    if remaining == 0:
        # Zero time left is due at once, or at the next opening if outside hours; the closing
        # instant counts as outside, as it does for a clock started then (16:00 + 0 = 08:00
        # next working day, the limit of 16:00 + a moment).
        window_start, _ = next(calendar._windows_from(start))
        return window_start.astimezone(datetime.UTC)
    for window_start, window_end in calendar._windows_from(start):
        available = (window_end - window_start).total_seconds()
        if remaining <= available:
            return (window_start + datetime.timedelta(seconds=remaining)).astimezone(datetime.UTC)
        remaining -= available
    raise AssertionError("unreachable")  # _windows_from raises first


def business_seconds_between(
    calendar: BusinessCalendar, start: datetime.datetime, end: datetime.datetime
) -> float:
    """Business time between two moments (0 when end is not after start)."""
    if end <= start:
        return 0.0
    total = 0.0
    for window_start, window_end in calendar._windows_from(start):
        if window_start >= end:
            break
        total += (min(window_end, end) - window_start).total_seconds()
    return total


class SlaState(enum.StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # the clock stopped in time
    MISSED = "missed"  # the clock stopped after the due time


@dataclass(frozen=True)
class Clock:
    """One SLA clock of a case: started, due, and (when it stopped) stopped_at."""

    started_at: datetime.datetime
    due_at: datetime.datetime
    stopped_at: datetime.datetime | None = None
    paused_at: datetime.datetime | None = None
    paused_seconds: float = 0.0  # business time spent paused earlier (not allowed time)


def clock_state(calendar: BusinessCalendar, clock: Clock, *, now: datetime.datetime) -> SlaState:
    if clock.stopped_at is not None:
        return SlaState.MET if clock.stopped_at <= clock.due_at else SlaState.MISSED
    at = clock.paused_at or now
    if at >= clock.due_at:
        return SlaState.BREACHED
    allowed = (
        business_seconds_between(calendar, clock.started_at, clock.due_at) - clock.paused_seconds
    )
    used = allowed - business_seconds_between(calendar, at, clock.due_at)
    if allowed > 0 and used / allowed >= AT_RISK_SHARE:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def resumed_due_at(
    calendar: BusinessCalendar,
    *,
    due_at: datetime.datetime,
    paused_at: datetime.datetime,
    resumed_at: datetime.datetime,
) -> datetime.datetime:
    """The due time after a pause: the business time that was left is counted from resuming."""
    left = business_seconds_between(calendar, paused_at, due_at)
    if paused_at >= due_at:
        return due_at  # already breached when paused: a pause does not un-breach it
    return add_business_time(calendar, resumed_at, left)


def at_risk_moment(
    calendar: BusinessCalendar,
    *,
    started_at: datetime.datetime,
    due_at: datetime.datetime,
    paused_seconds: float = 0.0,
) -> datetime.datetime:
    """When a running clock becomes at risk (80 % of its business time used).

    `paused_seconds`: business time the clock spent paused earlier; it is not allowed time
    (the due time was pushed by it), so the moment moves on by as much.
    """
    allowed = business_seconds_between(calendar, started_at, due_at) - paused_seconds
    return add_business_time(calendar, started_at, allowed * AT_RISK_SHARE + paused_seconds)


def working_days_seconds(calendar: BusinessCalendar, days: Decimal | float) -> float:
    """A limit in working days as business seconds: days × the working day's length."""
    return float(Decimal(str(days)) * Decimal(str(calendar.working_day_seconds)))


def working_days_due_at(
    calendar: BusinessCalendar, start: datetime.datetime, days: Decimal | float
) -> datetime.datetime:
    """When a limit of `days` working days that starts at `start` runs out.

    One working day is the calendar's working-day length of business time, so 1 day from
    Monday 9:00 (8:00–16:00) is Tuesday 9:00, and from Friday 15:00 it is Monday 15:00;
    weekends, holidays and nights do not count, and a DST change moves no working hour.
    """
    return add_business_time(calendar, start, working_days_seconds(calendar, days))


def state_at(
    *,
    due_at: datetime.datetime,
    at_risk_at: datetime.datetime | None,
    now: datetime.datetime,
    paused_at: datetime.datetime | None = None,
    stopped_at: datetime.datetime | None = None,
) -> SlaState:
    """The state of a clock from its stored moments (the at-risk moment of `at_risk_moment`),
    as the SQL of the queues sees it: the same answer as `clock_state` without a calendar.
    A paused clock is judged at the moment it paused; the due moment itself is breached
    (a clock stopped exactly then is met)."""
    if stopped_at is not None:
        return SlaState.MET if stopped_at <= due_at else SlaState.MISSED
    at = paused_at or now
    if at >= due_at:
        return SlaState.BREACHED
    if at_risk_at is not None and at >= at_risk_at:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def wall_clock(moment: datetime.datetime | None, time_zone: str) -> str:
    """A moment as the wall-clock time of `time_zone`, e.g. "2026-11-17 09:00": how deadlines
    are stored in e-mail contexts (the same in every language, so an e-mail's context can be
    stored once for any recipient; its templates write it in the recipient's language with
    `|wall`, rma_portal.formats); "" for no moment. Pages use rma_portal.formats.local_moment."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")
