"""Reporting periods: a tenant's calendar days turned into UTC bounds, the dashboard's preset
periods and the period each is compared with, and the statistics (mean, median, 90th
percentile) that KPIs report over a list of durations."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    """Days `start`..`end` (both inclusive) on the tenant's local calendar."""

    start: datetime.date
    end: datetime.date
    timezone: str = "Europe/Warsaw"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("The period must not end before it starts.")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def starts_at(self) -> datetime.datetime:
        """The first instant of `start` (local midnight)."""
        return datetime.datetime.combine(self.start, datetime.time(0), tzinfo=self.zone)

    @property
    def ends_before(self) -> datetime.datetime:
        """The first instant after `end` (local midnight of the next day): an exclusive bound."""
        next_day = self.end + datetime.timedelta(days=1)
        return datetime.datetime.combine(next_day, datetime.time(0), tzinfo=self.zone)

    def instant_filter(self, field: str) -> dict:
        """Filter kwargs: `field` (a datetime) falls on one of the period's local days."""
        return {f"{field}__gte": self.starts_at, f"{field}__lt": self.ends_before}


# --- preset periods and their comparison periods (docs/kpis.md#periods) ----------------------

DAY = datetime.timedelta(days=1)
# "Last N days": N whole days ending yesterday (today is not over: a part of a day would be
# compared with whole ones).
DAY_PRESETS = {"7d": 7, "30d": 30, "90d": 90}
WHOLE_MONTHS = 12  # "last 12 months": the twelve whole months before the current one


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def last_of_month(day: datetime.date) -> datetime.date:
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - DAY


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` months earlier, or that month's last day when it is shorter
    (31 March → 28 or 29 February; 29 February 2028 one year back → 28 February 2027)."""
    index = day.year * 12 + day.month - 1 - months
    first = datetime.date(index // 12, index % 12 + 1, 1)
    return first.replace(day=min(day.day, last_of_month(first).day))


def is_whole_months(start: datetime.date, end: datetime.date) -> bool:
    return start.day == 1 and end == last_of_month(end)


def preset_range(preset: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The days of a preset period on `today` (the tenant's date), both inclusive.

    - "7d", "30d", "90d": that many whole days, ending yesterday;
    - "12m": the twelve whole months before the current month (on 4 December 2026:
      1 December 2025 – 30 November 2026);
    - "last_month": the whole month before the current one;
    - "this_month", "this_year": from the month's (year's) first day to today, today included.
    """
    if preset in DAY_PRESETS:
        end = today - DAY
        return end - (DAY_PRESETS[preset] - 1) * DAY, end
    if preset == "this_month":
        return first_of_month(today), today
    if preset == "last_month":
        end = first_of_month(today) - DAY
        return first_of_month(end), end
    if preset == "this_year":
        return today.replace(month=1, day=1), today
    if preset == "12m":
        end = first_of_month(today) - DAY
        return months_before(first_of_month(today), WHOLE_MONTHS), end
    raise ValueError(f"unknown preset period {preset!r}")


def comparison_range(
    preset: str, start: datetime.date, end: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The period a period is compared with:

    - a month or a year to date ("this_month", "this_year"): the same days of the month (year)
      before: 1–4 December against 1–4 November; a day the shorter month (year) lacks is its
      last day (1–31 March against 1–28 February, 1 January – 29 February 2028 against
      1 January – 28 February 2027);
    - whole months (the "12m" and "last_month" presets, and custom dates from a month's first
      day to a month's last): as many whole months just before;
    - anything else (the "last N days" presets always): as many days just before.
    """
    if preset in ("this_month", "this_year"):
        months = 1 if preset == "this_month" else 12
        return months_before(start, months), months_before(end, months)
    if preset not in DAY_PRESETS and is_whole_months(start, end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return months_before(start, months), start - DAY
    length = (end - start).days + 1
    return start - length * DAY, start - DAY


@dataclass(frozen=True)
class DurationStats:
    """Durations in hours; None values when there were no durations."""

    count: int
    average: float | None
    median: float | None
    p90: float | None


def percentile(sorted_values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    rank = (len(sorted_values) - 1) * share
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(sorted_values[low])
    weight = rank - low
    return float(sorted_values[low]) * (1 - weight) + float(sorted_values[high]) * weight


def duration_stats(hours: Sequence[float]) -> DurationStats:
    values = sorted(hours)
    if not values:
        return DurationStats(count=0, average=None, median=None, p90=None)
    return DurationStats(
        count=len(values),
        average=sum(values) / len(values),
        median=percentile(values, 0.5),
        p90=percentile(values, 0.9),
    )


def ratio(numerator, denominator) -> float | None:
    """A rate as a fraction 0..1; None when there is nothing to divide by."""
    if not denominator:
        return None
    return float(numerator or 0) / float(denominator)
