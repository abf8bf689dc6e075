"""Duration histograms: the median and p90 they give stay within a bucket's width of the
exact percentiles, are exact when a bucket's durations are equal, and add up across days."""

from __future__ import annotations

import random

import pytest

from analytics.histograms import (
    Durations,
    add_to_histogram,
    bucket_of,
    histogram_percentile,
    keep_slowest,
    merge_histograms,
)
from analytics.periods import duration_stats


def histogram_of(values):
    histogram = {}
    for hours in values:
        add_to_histogram(histogram, hours)
    return histogram


def test_buckets_widen_with_the_duration():
    assert bucket_of(0.1) == 0
    assert bucket_of(0.26) == 15  # 15.6 minutes
    assert bucket_of(23.99) == 23 * 60 + 45
    assert bucket_of(30.5) == 30 * 60  # hour buckets past a day
    assert bucket_of(200) == 198 * 60  # six-hour buckets past a week (198 = 33 × 6)
    assert bucket_of(24 * 90 + 5) == 90 * 24 * 60  # day buckets past 60 days
    assert bucket_of(-3) == 0


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_stay_within_a_bucket_of_the_exact_ones(seed):
    rng = random.Random(seed)
    values = [rng.lognormvariate(2.5, 1.0) for _ in range(500)]  # mostly under a week
    exact = duration_stats(values)
    histogram = histogram_of(values)
    for share, expected in ((0.5, exact.median), (0.9, exact.p90)):
        width = 0.25 if expected < 24 else 1 if expected < 168 else 6
        assert histogram_percentile(histogram, share) == pytest.approx(expected, abs=width)


def test_equal_durations_give_exact_percentiles():
    values = [24.0, 24.0, 6.0, 36.0, 36.0]
    exact = duration_stats(values)
    durations = Durations(count=5, hours=sum(values), histogram=histogram_of(values))
    stats = durations.stats()
    assert (stats.median, stats.p90, stats.average) == (exact.median, exact.p90, exact.average)


def test_histograms_of_days_add_up_to_the_histogram_of_the_period():
    monday, tuesday = [1.0, 2.5, 30.0], [2.6, 400.0]
    merged = histogram_of(monday)
    merge_histograms(merged, histogram_of(tuesday))
    assert merged == histogram_of(monday + tuesday)
    assert histogram_percentile({}, 0.5) is None


def test_the_slowest_of_the_slowest_are_the_slowest():
    day_one = [[5.0, 1, "A"], [9.0, 2, "B"]]
    day_two = [[9.0, 3, "C"], [1.0, 4, "D"]]
    assert keep_slowest(day_one + day_two, limit=3) == [[9.0, 2, "B"], [9.0, 3, "C"],
                                                        [5.0, 1, "A"]]  # fmt: skip
    # The same case seen twice (two cells of one slice never; two rebuilds) counts once.
    assert keep_slowest(day_one + day_one) == [[9.0, 2, "B"], [5.0, 1, "A"]]
