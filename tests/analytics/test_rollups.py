"""Rollups: a rebuild replaces a day's rows (idempotent), and figures read from the rollups
agree with the live computation (analytics.kpis) over the same period and filters."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics import figures, kpis
from analytics.kpis import KpiFilters
from analytics.models import ComplaintRollup, ReturnRollup, RollupDay, RollupMonth, Span
from analytics.rollup_reader import RollupReader
from analytics.rollups import days_to_rebuild, kpi_rollups_nightly, kpi_rollups_rebuild
from returns.models import ReturnRequest

from .dataset import END, START, at

# The day after the period, at noon: every day of the period is in the past.
AFTER = at(12, 1, 12)
# In this data set no two durations of a stage share a histogram bucket, so the median and
# p90 read from the rollups' histograms are exact (analytics.histograms; the general bound is
# tested in test_histograms.py).
HISTOGRAM_TOLERANCE = 1e-6


def rows(model, tenant):
    return sorted(
        model.unscoped.filter(tenant=tenant)
        .exclude(span="")
        .values_list("span", "day", "slice", *[f.name for f in model._meta.concrete_fields][7:]),
        key=repr,
    )


def filter_sets(d):
    return [
        KpiFilters(),
        KpiFilters(customer_account_id=d.c1.pk),
        KpiFilters(customer_account_id=d.c2.pk),
        KpiFilters(category_id=d.electronics.pk),
        KpiFilters(product_id=d.p1.pk),
        KpiFilters(reason="defective"),
        KpiFilters(category_id=d.electronics.pk, reason="defective"),
        KpiFilters(customer_account_id=d.c1.pk, reason="wrong_size"),  # no exact slice: live
        KpiFilters(customer_account_id=d.c1.pk, product_id=d.p2.pk, reason="wrong_size"),
        KpiFilters(customer_account_id=d.c1.pk, category_id=d.electronics.pk),
    ]


def assert_stats_close(rolled, live):
    assert rolled.count == live.count
    if live.count == 0:
        assert rolled.average is None and rolled.median is None
        return
    assert rolled.average == pytest.approx(live.average)
    assert rolled.median == pytest.approx(live.median, abs=HISTOGRAM_TOLERANCE)
    assert rolled.p90 == pytest.approx(live.p90, abs=HISTOGRAM_TOLERANCE)


def assert_agree(reader: RollupReader, tenant, start, end, filters: KpiFilters):
    live = {"tenant": tenant, "start": start, "end": end, "filters": filters}
    assert figures.return_rate(reader) == kpis.return_rate(**live)
    assert figures.returns_count(reader) == kpis.returns_count(**live)
    assert figures.return_reasons(reader) == kpis.return_reasons(**live)
    assert figures.returns_by_resolution(reader) == kpis.returns_by_resolution(**live)
    assert figures.returns_by_disposition(reader) == kpis.returns_by_disposition(**live)
    assert figures.return_money(reader) == kpis.return_money(**live)
    for group in ("category", "product", "customer_account"):
        live_rates = {
            key: rate
            for key, rate in kpis.return_rate_by(**live, group=group).items()
            if rate.returned_quantity or rate.delivered_quantity
        }
        assert figures.return_rate_by(reader, group) == live_rates, group
    stages, _slowest = figures.return_cycle_times(reader)
    for stage, stats in kpis.return_cycle_times(**live).items():
        assert_stats_close(stages[stage], stats)
    assert figures.complaint_volume(reader) == kpis.complaint_volume(**live)
    assert figures.complaint_sla_compliance(reader) == kpis.complaint_sla_compliance(**live)
    assert figures.complaint_resolution_quality(reader) == kpis.complaint_resolution_quality(**live)
    times, _slowest = figures.complaint_response_times(reader)
    for stage, stats in kpis.complaint_response_times(**live).items():
        assert_stats_close(times[stage], stats)
    assert figures.csat(reader) == kpis.csat(**live)
    # The trend's returns per day add up to the live count of each day.
    for point in figures.trend(reader):
        day = {**live, "start": point.bucket, "end": point.bucket}
        assert point.returns == kpis.returns_count(**day), (filters, point.bucket)
    for group in ("agent", "customer_account"):
        assert figures.csat_by(reader, group) == kpis.csat_by(**live, group=group)
    assert figures.return_sla_compliance(reader) == kpis.return_sla_compliance(**live)
    assert figures.by_region(reader) == live_by_region(live), filters
    assert figures.update_cadence(reader) == kpis.update_cadence(**live), filters
    assert figures.complaint_nps(reader) == kpis.complaint_nps(**live)
    assert figures.returns_by_exception(reader) == kpis.returns_by_exception(**live), filters
    assert figures.repeat_complaints(reader) == kpis.repeat_complaints(**live), filters


def live_by_region(live: dict) -> dict:
    """The dashboard's region table computed live (kpis), in figures.by_region's shape."""
    returns = kpis.returns_by_region(**live)
    values = {
        region: value for region, value in kpis.returned_value_by_region(**live).items() if value
    }
    complaints = kpis.complaints_by_region(**live)
    return {
        region: figures.RegionFigure(
            returns=returns.get(region, 0),
            returned_value=values.get(region, kpis.ZERO),
            complaints=complaints.get(region, 0),
        )
        for region in returns.keys() | values.keys() | complaints.keys()
    }


@pytest.mark.django_db
def test_rollups_agree_with_the_live_figures_for_every_filter(dataset):
    d = dataset
    for tenant in (d.ta, d.tb):
        kpi_rollups_rebuild(tenant=tenant, start=START, end=END, now=AFTER)
    for filters in filter_sets(d):
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        assert_agree(reader, d.ta, START, END, filters)
    reader = RollupReader(tenant=d.tb, start=START, end=END, now=AFTER)
    assert_agree(reader, d.tb, START, END, KpiFilters())


@pytest.mark.django_db
def test_today_is_computed_live_and_added_to_the_rolled_up_days(dataset):
    # given: days up to 19 Nov rolled up; "now" is 20 Nov, 18:00 (R3 is submitted that day)
    d = dataset
    now = at(11, 20, 18)
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=now)
    assert not RollupDay.unscoped.filter(tenant=d.ta, day__gte=datetime.date(2026, 11, 20))
    # when / then: a period ending today still agrees with the live figures
    end = datetime.date(2026, 11, 20)
    for filters in filter_sets(d):
        reader = RollupReader(tenant=d.ta, start=START, end=end, filters=filters, now=now)
        assert_agree(reader, d.ta, START, end, filters)
    reader = RollupReader(tenant=d.ta, start=START, end=end, now=now)
    assert figures.returns_count(reader) == 3  # R1, R2 and R3 (today, live)


@pytest.mark.django_db
def test_rebuilding_a_range_replaces_its_rows(dataset):
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    first = rows(ReturnRollup, d.ta), rows(ComplaintRollup, d.ta)
    assert first[0] and first[1]
    assert ReturnRollup.unscoped.filter(tenant=d.ta, span=Span.MONTH).exists()

    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    kpi_rollups_rebuild(
        tenant=d.ta, start=datetime.date(2026, 10, 14), end=datetime.date(2026, 11, 3), now=AFTER
    )
    assert (rows(ReturnRollup, d.ta), rows(ComplaintRollup, d.ta)) == first
    assert RollupDay.unscoped.filter(tenant=d.ta).count() == 61  # 1 Oct – 30 Nov
    # Tenant B's rows are its own, and untouched by A's rebuild.
    assert not ReturnRollup.unscoped.filter(tenant=d.tb).exists()


@pytest.mark.django_db
def test_a_change_to_a_past_case_is_rebuilt_by_the_next_nightly_run(dataset):
    # given: everything rolled up; then R3 (submitted 20 Nov) is cancelled on 1 Dec
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    ReturnRequest.unscoped.filter(tenant=d.ta, number="R3").update(
        status="cancelled", updated_at=at(12, 1, 13)
    )
    # when: the night after
    night = at(12, 2, 2)
    assert datetime.date(2026, 11, 20) in days_to_rebuild(tenant=d.ta, now=night)
    kpi_rollups_nightly(tenant=d.ta, now=night)
    # then: the rollups no longer count R3 as returned goods
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=night)
    assert figures.returns_count(reader) == 2
    assert figures.return_rate(reader) == kpis.return_rate(tenant=d.ta, start=START, end=END)


@pytest.mark.django_db
def test_rebuild_kpis_command(dataset, capsys):
    d = dataset
    call_command(
        "rebuild_kpis", "--tenant", d.ta.slug, "--from", "2026-10-01", "--to", "2026-11-30"
    )
    assert "61 days" in capsys.readouterr().out
    assert RollupDay.unscoped.filter(tenant=d.ta).count() == 61
    with pytest.raises(CommandError, match="before"):
        call_command(
            "rebuild_kpis", "--tenant", d.ta.slug, "--from", "2026-11-30", "--to", "2026-10-01"
        )
    with pytest.raises(CommandError, match="No tenant"):
        call_command(
            "rebuild_kpis", "--tenant", "nope", "--from", "2026-10-01", "--to", "2026-10-02"
        )
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_kpis", "--tenant", d.ta.slug, "--from", "1.10.2026", "--to", "x")


@pytest.mark.django_db
def test_todays_cells_are_kept_for_the_configured_seconds(dataset, settings, monkeypatch):
    from analytics import rollup_reader

    d = dataset
    settings.KPI_TODAY_CACHE_SECONDS = 60
    rollup_reader._TODAY.clear()
    clock = [1000.0]
    monkeypatch.setattr(rollup_reader.time, "monotonic", lambda: clock[0])
    now = at(11, 20, 18)  # R3 was submitted today, 20 Nov

    def returns_today() -> int:
        reader = RollupReader(tenant=d.ta, start=now.date(), end=now.date(), now=now)
        return figures.returns_count(reader)

    assert returns_today() == 1
    ReturnRequest.unscoped.filter(tenant=d.ta, number="R3").update(status="cancelled")
    clock[0] += 59
    assert returns_today() == 1  # still the cells built a minute ago
    clock[0] += 2
    assert returns_today() == 0  # built again from the source tables
    rollup_reader._TODAY.clear()


@pytest.mark.django_db
def test_a_reopened_complaint_brings_back_the_day_it_was_resolved(dataset):
    from complaints.models import Complaint, ComplaintEvent

    # given: K3 resolved on 12 Nov (its timeline says so), everything rolled up
    d = dataset
    k3 = Complaint.unscoped.get(tenant=d.ta, code="K3")
    ComplaintEvent.unscoped.create(
        tenant=d.ta, complaint=k3, action="resolved", from_status="in_progress",
        to_status="resolved", created_at=k3.resolved_at,
    )  # fmt: skip
    kpi_rollups_nightly(tenant=d.ta, now=AFTER, catch_up=None)
    # when: the customer reopens it on 1 Dec (resolved_at is cleared)
    Complaint.unscoped.filter(pk=k3.pk).update(
        status="in_progress", resolved_at=None, reopen_count=1, updated_at=at(12, 1, 13)
    )
    # then: the next run rebuilds 12 Nov, and the rollups agree with the live figures again
    night = at(12, 2, 2)
    assert datetime.date(2026, 11, 12) in days_to_rebuild(tenant=d.ta, now=night)
    kpi_rollups_nightly(tenant=d.ta, now=night)
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=night)
    live = kpis.complaint_resolution_quality(tenant=d.ta, start=START, end=END)
    assert figures.complaint_resolution_quality(reader) == live


@pytest.mark.django_db
def test_a_month_not_yet_compacted_is_read_from_its_days(dataset):
    # given: November's days built on the 30th (the month was not over: no month rows), and
    # it is now 1 Dec, before the night's run
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=at(11, 30, 12))
    assert not RollupMonth.unscoped.filter(tenant=d.ta, month=datetime.date(2026, 11, 1))
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=AFTER)
    assert reader.whole_months() == [datetime.date(2026, 10, 1)]
    # then: November still counts (R2 and R3), and one day is reported missing
    assert figures.returns_count(reader) == 3
    assert reader.missing_days() == 1


@pytest.mark.django_db
def test_a_new_tenant_catches_up_a_few_weeks_a_run(dataset):
    from analytics.rollups import CATCH_UP_PER_RUN

    d = dataset
    first = kpi_rollups_nightly(tenant=d.ta)
    assert first == CATCH_UP_PER_RUN  # yesterday is among the most recent days
    second = kpi_rollups_nightly(tenant=d.ta)
    assert second == CATCH_UP_PER_RUN
    assert RollupDay.unscoped.filter(tenant=d.ta).count() == 2 * CATCH_UP_PER_RUN
