"""Reporting periods: a tenant's calendar days turned into UTC bounds, and the statistics
(mean, median, 90th percentile) that KPIs report over a list of durations."""

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
