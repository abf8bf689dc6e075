"""Duration histograms and slowest-case lists: the two non-additive KPI inputs, kept in a form
that adds up across days (bucket counts; the top N of tops is the top N of the union)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .periods import DurationStats

SLOWEST_KEPT = 10

# (below this many minutes, buckets this many minutes wide); past the last: one day wide.
# A percentile read from the histogram is off by at most half a bucket: 7.5 minutes under a
# day, 30 minutes under a week, 3 hours under 60 days.
BUCKET_WIDTHS = ((24 * 60, 15), (7 * 24 * 60, 60), (60 * 24 * 60, 360))
LAST_WIDTH = 24 * 60


def bucket_of(hours: float) -> int:
    """The bucket's lower bound in whole minutes."""
    minutes = max(hours, 0.0) * 60
    for limit, width in BUCKET_WIDTHS:
        if minutes < limit:
            return int(minutes // width) * width
    return int(minutes // LAST_WIDTH) * LAST_WIDTH


def bucket_width(lower: int) -> int:
    for limit, width in BUCKET_WIDTHS:
        if lower < limit:
            return width
    return LAST_WIDTH


def add_to_histogram(histogram: dict[str, int], hours: float) -> None:
    key = str(bucket_of(hours))  # JSON object keys are strings
    histogram[key] = histogram.get(key, 0) + 1


def merge_histograms(target: dict[str, int], other: dict[str, int]) -> None:
    for key, count in other.items():
        target[key] = target.get(key, 0) + count


def histogram_percentile(histogram: dict[str, int], share: float) -> float | None:
    """The percentile over the buckets' midpoints, interpolated between closest ranks like
    periods.percentile (and PostgreSQL's percentile_cont) over the raw values."""
    buckets = sorted((int(key), count) for key, count in histogram.items() if count)
    total = sum(count for _, count in buckets)
    if not total:
        return None
    rank = (total - 1) * share
    low_rank, high_rank = int(rank), min(int(rank) + 1, total - 1)

    def value_at(position: int) -> float:
        seen = 0
        for lower, count in buckets:
            seen += count
            if position < seen:
                return (lower + bucket_width(lower) / 2) / 60
        lower = buckets[-1][0]
        return (lower + bucket_width(lower) / 2) / 60

    low = value_at(low_rank)
    if high_rank == low_rank:
        return low
    return low + (rank - low_rank) * (value_at(high_rank) - low)


@dataclass(frozen=True)
class Durations:
    """Count and sum (exact) with a histogram (for the median and p90) of one stage."""

    count: int
    hours: float
    histogram: dict[str, int]

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
    return sorted(unique.values(), key=lambda entry: (-entry[0], entry[1]))[:limit]
