"""Duration histograms and slowest-case lists: the two non-additive KPI inputs, kept in a form
that adds up across days (bucket counts; the top N of tops is the top N of the union)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .periods import DurationStats

SLOWEST_KEPT = 10

# (below this many minutes, buckets this many minutes wide); past the last: one day wide.
# A percentile read from the histogram is off by less than a bucket's width: 15 minutes under
# a day, an hour under a week, 6 hours under 60 days (none when a bucket's durations are equal).
BUCKET_WIDTHS = ((24 * 60, 15), (7 * 24 * 60, 60), (60 * 24 * 60, 360))
LAST_WIDTH = 24 * 60


def bucket_of(hours: float) -> int:
    """The bucket's lower bound in whole minutes."""
    minutes = max(hours, 0.0) * 60
    for limit, width in BUCKET_WIDTHS:
        if minutes < limit:
            return int(minutes // width) * width
    return int(minutes // LAST_WIDTH) * LAST_WIDTH


def add_to_histogram(histogram: dict[str, list], hours: float) -> None:
    """Count the duration in its bucket, keeping the bucket's sum of hours too: a bucket's
    value is then the mean of its durations, exact when they are all the same."""
    key = str(bucket_of(hours))  # JSON object keys are strings
    entry = histogram.setdefault(key, [0, 0.0])
    entry[0] += 1
    entry[1] += hours


def merge_histograms(target: dict[str, list], other: dict[str, list]) -> None:
    for key, (count, hours) in other.items():
        entry = target.setdefault(key, [0, 0.0])
        entry[0] += count
        entry[1] += hours


def histogram_percentile(histogram: dict[str, list], share: float) -> float | None:
    """The percentile over the buckets' mean durations, interpolated between closest ranks
    like periods.percentile (and PostgreSQL's percentile_cont) over the raw values."""
    buckets = sorted((int(key), count, hours) for key, (count, hours) in histogram.items() if count)
    total = sum(count for _, count, _hours in buckets)
    if not total:
        return None
    rank = (total - 1) * share
    low_rank, high_rank = int(rank), min(int(rank) + 1, total - 1)

    def value_at(position: int) -> float:
        seen = 0
        for _lower, count, hours in buckets:
            seen += count
            if position < seen:
                return hours / count
        return buckets[-1][2] / buckets[-1][1]

    low = value_at(low_rank)
    if high_rank == low_rank:
        return low
    return low + (rank - low_rank) * (value_at(high_rank) - low)


@dataclass(frozen=True)
class Durations:
    """Count and sum (exact) with a histogram (for the median and p90) of one stage."""

    count: int
    hours: float
    histogram: dict[str, list]

    def stats(self) -> DurationStats:
        if not self.count:
            return DurationStats(count=0, average=None, median=None, p90=None)
        return DurationStats(
            count=self.count,
            average=self.hours / self.count,
            median=histogram_percentile(self.histogram, 0.5),
            p90=histogram_percentile(self.histogram, 0.9),
        )


def keep_slowest(cases: Iterable[list], limit: int = SLOWEST_KEPT) -> list[list]:
    """[hours, id, number] entries, slowest first (ties: the lower id first), at most `limit`."""
    unique = {entry[1]: entry for entry in cases}
    return sorted(unique.values(), key=_slowest_first)[:limit]


def add_slowest(kept: list[list], case: list, limit: int = SLOWEST_KEPT) -> None:
    """Add one case to a kept list (slowest first, as keep_slowest leaves it), in place."""
    if len(kept) >= limit and _slowest_first(case) >= _slowest_first(kept[-1]):
        return
    if any(entry[1] == case[1] for entry in kept):
        return
    kept.append(case)
    kept.sort(key=_slowest_first)
    del kept[limit:]


def _slowest_first(entry: list) -> tuple:
    return (-entry[0], entry[1])
