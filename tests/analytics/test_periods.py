"""The dashboard's preset periods and the periods they are compared with, hand-computed on
explicit dates: whole units ("12 months" is twelve whole months, "7 days" seven whole days),
comparisons of the same length just before, leap days and year boundaries."""

from __future__ import annotations

import datetime

import pytest

from analytics.periods import comparison_range, months_before, preset_range

D = datetime.date


def periods(preset: str, today: datetime.date) -> tuple[tuple, tuple]:
    start, end = preset_range(preset, today)
    return (start, end), comparison_range(preset, start, end)


@pytest.mark.parametrize(
    ("preset", "today", "start", "end", "before_start", "before_end"),
    [
        # 12 months: the twelve whole months before the current month, against the twelve
        # before them (the defect was 1 Jan – 4 Dec against 28 Jan – 31 Dec).
        ("12m", "2026-12-04", "2025-12-01", "2026-11-30", "2024-12-01", "2025-11-30"),
        ("12m", "2027-01-01", "2026-01-01", "2026-12-31", "2025-01-01", "2025-12-31"),
        ("12m", "2026-01-31", "2025-01-01", "2025-12-31", "2024-01-01", "2024-12-31"),
        # A leap February inside the period, and inside the comparison period.
        ("12m", "2028-03-01", "2027-03-01", "2028-02-29", "2026-03-01", "2027-02-28"),
        ("12m", "2028-02-29", "2027-02-01", "2028-01-31", "2026-02-01", "2027-01-31"),
        ("12m", "2029-03-15", "2028-03-01", "2029-02-28", "2027-03-01", "2028-02-29"),
        # Last N days: N whole days ending yesterday, against the N days before.
        ("7d", "2026-12-04", "2026-11-27", "2026-12-03", "2026-11-20", "2026-11-26"),
        ("7d", "2027-01-01", "2026-12-25", "2026-12-31", "2026-12-18", "2026-12-24"),
        ("7d", "2028-03-01", "2028-02-23", "2028-02-29", "2028-02-16", "2028-02-22"),
        ("30d", "2028-03-01", "2028-01-31", "2028-02-29", "2028-01-01", "2028-01-30"),
        ("30d", "2027-01-03", "2026-12-04", "2027-01-02", "2026-11-04", "2026-12-03"),
        # 30 days that happen to be a whole month are still compared with 30 days, not a month.
        ("30d", "2026-05-01", "2026-04-01", "2026-04-30", "2026-03-02", "2026-03-31"),
        ("90d", "2026-12-04", "2026-09-05", "2026-12-03", "2026-06-07", "2026-09-04"),
        ("90d", "2028-03-30", "2027-12-31", "2028-03-29", "2027-10-02", "2027-12-30"),
        # This month to date (today included), against the same days of the month before; a
        # day the shorter month lacks is its last day.
        ("this_month", "2026-12-04", "2026-12-01", "2026-12-04", "2026-11-01", "2026-11-04"),
        ("this_month", "2026-03-31", "2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28"),
        ("this_month", "2028-03-30", "2028-03-01", "2028-03-30", "2028-02-01", "2028-02-29"),
        ("this_month", "2028-02-29", "2028-02-01", "2028-02-29", "2028-01-01", "2028-01-29"),
        ("this_month", "2027-01-01", "2027-01-01", "2027-01-01", "2026-12-01", "2026-12-01"),
        # Last month: the whole month before, against the month before it.
        ("last_month", "2026-12-04", "2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31"),
        ("last_month", "2027-01-15", "2026-12-01", "2026-12-31", "2026-11-01", "2026-11-30"),
        ("last_month", "2028-03-01", "2028-02-01", "2028-02-29", "2028-01-01", "2028-01-31"),
        ("last_month", "2026-03-31", "2026-02-01", "2026-02-28", "2026-01-01", "2026-01-31"),
        # This year to date, against the same days of the year before (29 February → 28th).
        ("this_year", "2026-12-04", "2026-01-01", "2026-12-04", "2025-01-01", "2025-12-04"),
        ("this_year", "2028-02-29", "2028-01-01", "2028-02-29", "2027-01-01", "2027-02-28"),
        ("this_year", "2027-01-01", "2027-01-01", "2027-01-01", "2026-01-01", "2026-01-01"),
    ],
)  # fmt: skip
def test_preset_periods_and_their_comparison(preset, today, start, end, before_start, before_end):
    day = datetime.date.fromisoformat
    assert periods(preset, day(today)) == (
        (day(start), day(end)),
        (day(before_start), day(before_end)),
    )


def test_no_preset_period_includes_a_part_of_a_unit_except_the_to_date_ones():
    today = D(2026, 12, 4)
    for preset in ("7d", "30d", "90d", "12m", "last_month"):
        _start, end = preset_range(preset, today)
        assert end < today, preset  # today is not over
    for preset in ("this_month", "this_year"):
        assert preset_range(preset, today)[1] == today


@pytest.mark.parametrize(
    ("preset", "days"), [("7d", 7), ("30d", 30), ("90d", 90)]
)  # fmt: skip
def test_day_presets_compare_as_many_days(preset, days):
    for today in (D(2026, 1, 1), D(2026, 3, 1), D(2028, 2, 29), D(2028, 3, 1), D(2026, 12, 31)):
        (start, end), (before_start, before_end) = periods(preset, today)
        assert (end - start).days + 1 == days
        assert (before_end - before_start).days + 1 == days
        assert before_end == start - datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end", "compared_with"),
    [
        # Custom dates of whole months: as many whole months just before.
        (D(2026, 1, 1), D(2026, 3, 31), (D(2025, 10, 1), D(2025, 12, 31))),
        (D(2028, 3, 1), D(2028, 3, 31), (D(2028, 2, 1), D(2028, 2, 29))),
        (D(2028, 2, 1), D(2028, 2, 29), (D(2028, 1, 1), D(2028, 1, 31))),
        # Other custom dates: as many days just before.
        (D(2026, 10, 5), D(2026, 10, 11), (D(2026, 9, 28), D(2026, 10, 4))),
        (D(2028, 2, 28), D(2028, 3, 1), (D(2028, 2, 25), D(2028, 2, 27))),
        (D(2027, 1, 1), D(2027, 1, 10), (D(2026, 12, 22), D(2026, 12, 31))),
    ],
)  # fmt: skip
def test_custom_periods(start, end, compared_with):
    assert comparison_range("custom", start, end) == compared_with


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 3, 31), 1, D(2026, 2, 28)),
        (D(2028, 3, 31), 1, D(2028, 2, 29)),
        (D(2028, 2, 29), 12, D(2027, 2, 28)),
        (D(2026, 1, 15), 1, D(2025, 12, 15)),
        (D(2026, 12, 1), 12, D(2025, 12, 1)),
        (D(2026, 5, 31), 3, D(2026, 2, 28)),
        (D(2026, 1, 1), 25, D(2023, 12, 1)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError):
        preset_range("fortnight", D(2026, 12, 4))
