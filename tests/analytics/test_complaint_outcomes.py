"""Complaints accepted and rejected, repeat complaints (same customer and product within
90 days of an earlier one) and returns filed by exception: hand-computed over small sets, on
the tenant's local days."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from types import SimpleNamespace

import pytest

from analytics import figures, kpis
from analytics.dashboard import DashboardQuery, build_dashboard
from analytics.kpis import NO_FILTERS, KpiFilters
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from complaints.models import Complaint
from returns import services
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.factories import ProductFactory
from tests.returns import conftest as returns_fixtures

from .dataset import make_complaint

pytestmark = pytest.mark.django_db

# The returns tests' fixtures, shared rather than copied.
policy_a = returns_fixtures.policy_a
make_order_line = returns_fixtures.make_order_line

START, END = datetime.date(2026, 6, 1), datetime.date(2026, 6, 30)


def local(tenant, month: int, day: int, hour: int = 12) -> datetime.datetime:
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    return datetime.datetime(2026, month, day, hour, tzinfo=zone)


def filed(world, code, at, *, product=None, company=None, **fields) -> Complaint:
    complaint = make_complaint(
        world.tenant,
        company or world.company,
        world.customer,
        code,
        category="product_quality",
        product=product,
        first_response_due_at=at + datetime.timedelta(days=1),
        resolution_due_at=at + datetime.timedelta(days=5),
        **fields,
    )
    Complaint.unscoped.filter(pk=complaint.pk).update(created_at=at)  # auto_now_add
    return complaint


@pytest.fixture
def complaints(world_a, world_b):
    """Tenant A in June 2026 (and around it); tenant B's one complaint must count nowhere.

    | code | company | product | filed      | outcome                        |
    | C1   | A       | pump    | 10 March   | resolved 12 March              |
    | C2   | A       | pump    | 1 June     | resolved 3 June: repeats C1 (83 days) |
    | C3   | A       | pump    | 20 June    | rejected 21 June: repeat of C2 |
    | C4   | other   | pump    | 5 June     | resolved 30 June 23:30 local   |
    | C5   | A       | drill   | 6 June     | open                           |
    | C6   | A       | —       | 7 June     | resolved 1 July (next period)  |
    | C7   | A       | drill   | 1 Feb      | — (more than 90 days before C5)|
    | B1   | B's     | B's     | 10 June    | rejected 11 June               |
    """
    a, b = world_a, world_b
    tenant = a.tenant
    pump = ProductFactory(tenant=tenant, sku="PUMP")
    drill = ProductFactory(tenant=tenant, sku="DRILL")
    filed(
        a,
        "C1",
        local(tenant, 3, 10),
        product=pump,
        status="closed",
        resolved_at=local(tenant, 3, 12),
    )
    filed(
        a,
        "C2",
        local(tenant, 6, 1),
        product=pump,
        status="resolved",
        resolved_at=local(tenant, 6, 3),
    )
    filed(
        a,
        "C3",
        local(tenant, 6, 20),
        product=pump,
        status="rejected",
        closed_at=local(tenant, 6, 21),
    )
    filed(
        a,
        "C4",
        local(tenant, 6, 5),
        product=pump,
        company=a.other_company,
        status="resolved",
        resolved_at=local(tenant, 6, 30, 23),
    )
    filed(a, "C5", local(tenant, 6, 6), product=drill, status="open")
    filed(a, "C6", local(tenant, 6, 7), status="resolved", resolved_at=local(tenant, 7, 1, 9))
    filed(a, "C7", local(tenant, 2, 1), product=drill, status="closed")
    theirs = ProductFactory(tenant=b.tenant, sku="PUMP")
    filed(
        b,
        "B1",
        local(b.tenant, 6, 10),
        product=theirs,
        status="rejected",
        closed_at=local(b.tenant, 6, 11),
    )
    return SimpleNamespace(tenant=tenant, pump=pump)


def test_accepted_and_rejected_share_of_the_complaints_decided_in_the_period(complaints):
    # decided in June: C2 and C4 resolved, C3 rejected (C1 in March, C6 in July)
    outcomes = kpis.complaint_outcomes(tenant=complaints.tenant, start=START, end=END)

    assert (outcomes.accepted, outcomes.rejected, outcomes.decided) == (2, 1, 3)
    assert outcomes.rejected_share == pytest.approx(1 / 3)


def test_repeats_are_the_same_customer_and_product_within_90_days(complaints):
    # filed in June with a product: C2, C3, C4, C5 (C6 names none);
    # C2 repeats C1 (83 days), C3 repeats C2; C4 is another customer's; C5's earlier drill
    # complaint C7 is 125 days before it
    repeats = kpis.repeat_complaints(tenant=complaints.tenant, start=START, end=END)

    assert (repeats.with_product, repeats.repeats) == (4, 2)
    assert repeats.rate == pytest.approx(0.5)


def test_the_filters_narrow_both(complaints, world_a):
    mine = KpiFilters(customer_account_id=world_a.company.pk)
    assert (
        kpis.complaint_outcomes(
            tenant=complaints.tenant, start=START, end=END, filters=mine
        ).decided
        == 2
    )
    assert (
        kpis.repeat_complaints(
            tenant=complaints.tenant, start=START, end=END, filters=mine
        ).with_product
        == 3
    )


def test_the_dashboard_shows_both_tiles(complaints):
    # The dashboard reads repeats from the rollups: June's days are rolled up.
    kpi_rollups_rebuild(tenant=complaints.tenant, start=START, end=END)
    query = DashboardQuery(
        preset="custom", start=START, end=END, filters=NO_FILTERS, today=datetime.date(2026, 12, 1)
    )

    tiles = {tile.key: tile for tile in build_dashboard(query, tenant=complaints.tenant).tiles}

    assert tiles["complaints_rejected"].value == pytest.approx(1 / 3)
    assert tiles["repeat_complaints"].value == pytest.approx(0.5)


# --- returns by exception -------------------------------------------------------------------


def test_returns_filed_against_the_policy_are_counted_with_their_value(
    world_a, world_b, policy_a, make_order_line
):
    tenant = world_a.tenant
    late = make_order_line(world_a.company, delivered_days_ago=60, quantity=3)  # past 14 days
    fresh = make_order_line(world_a.company, delivered_days_ago=2, quantity=3)
    with tenant_context(tenant):
        for line, reason in ((late, "Goodwill for a key customer."), (fresh, "")):
            services.return_request_file_for_customer(
                actor=world_a.agent,
                customer_id=world_a.customer.pk,
                lines=[services.LineInput(order_line_id=line.pk, quantity=2, reason="defective")],
                requested_resolution="refund",
                return_method="drop_off",
                channel="phone",
                submit=True,
                override_reason=reason,
            )
    today = tenant_today(tenant)

    live = kpis.returns_by_exception(tenant=tenant, start=today, end=today)

    assert (live.returns, live.by_exception) == (2, 1)
    assert live.share == pytest.approx(0.5)
    assert live.by_exception_value == late.unit_price * 2 > Decimal("0")
    # The dashboard's figure, from today's cells (built by the rollups' code), agrees for
    # every filter: a channel, a customer, the product of the late line, a reason and a
    # reason with a customer (no exact slice: computed live).
    for filters in (
        NO_FILTERS,
        KpiFilters(channel="phone"),
        KpiFilters(channel="portal"),
        KpiFilters(customer_account_id=world_a.company.pk),
        KpiFilters(product_id=late.product_id),
        KpiFilters(reason="defective"),
        KpiFilters(customer_account_id=world_a.company.pk, reason="defective"),
    ):
        reader = RollupReader(tenant=tenant, start=today, end=today, filters=filters)
        expected = kpis.returns_by_exception(tenant=tenant, start=today, end=today, filters=filters)
        assert figures.returns_by_exception(reader) == expected, filters


def test_rolled_up_repeats_agree_with_the_live_figure(complaints, world_a):
    tenant = complaints.tenant
    kpi_rollups_rebuild(tenant=tenant, start=START, end=END)
    for filters in (
        NO_FILTERS,
        KpiFilters(customer_account_id=world_a.company.pk),
        KpiFilters(customer_account_id=world_a.other_company.pk),
        KpiFilters(product_id=complaints.pump.pk),
        KpiFilters(channel="portal"),
    ):
        reader = RollupReader(tenant=tenant, start=START, end=END, filters=filters)
        live = kpis.repeat_complaints(tenant=tenant, start=START, end=END, filters=filters)
        assert figures.repeat_complaints(reader) == live, filters
    whole = figures.repeat_complaints(RollupReader(tenant=tenant, start=START, end=END))
    assert (whole.with_product, whole.repeats) == (4, 2)
    # A day of June alone: C3 (20 June) repeats C2 (1 June), whenever that was rolled up.
    day = datetime.date(2026, 6, 20)
    assert figures.repeat_complaints(RollupReader(tenant=tenant, start=day, end=day)) == (
        kpis.RepeatComplaints(with_product=1, repeats=1)
    )
