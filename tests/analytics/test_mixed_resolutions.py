"""A return whose lines were resolved differently ("mixed") is a resolution of its own in the
returns-by-resolution KPI, live and rolled up, in the dashboard's table and drill-down; its
money back is split into refunded and credited by its credit-note part."""

from __future__ import annotations

import pytest

from analytics import figures, kpis
from analytics.kpis import KpiFilters
from analytics.rollup_reader import RollupReader
from analytics.rollups import kpi_rollups_rebuild
from customers.models import OrderLine

from .dataset import END, START, D, at, make_return

pytestmark = pytest.mark.django_db

PERIOD = "period=custom&from=2026-10-01&to=2026-11-30"
AFTER = at(12, 1, 12)


@pytest.fixture
def mixed(dataset):
    """R7 of C1, resolved on 5 Nov line by line: 1 × 100.00 refunded, 5 × 10.00 credited less
    the 10 % fee (45.00)."""
    d = dataset
    l1, l2 = OrderLine.unscoped.filter(order__number="A-1").order_by("line_number")
    return make_return(
        d.ta, d.c1, d.a.customer, "R7", "resolved",
        [
            (l1, 1, "defective", {
                "accepted_quantity": 1, "disposition": "restock",
                "resolution": "refund", "refund_amount": D("100.00"),
            }),
            (l2, 5, "wrong_size", {
                "accepted_quantity": 5, "disposition": "restock",
                "resolution": "credit_note", "refund_amount": D("45.00"),
            }),
        ],
        submitted_at=at(11, 1, 8, 17), approved_at=at(11, 2, 9, 41),
        received_at=at(11, 4, 13, 3), resolved_at=at(11, 5, 16, 29),
        resolution="mixed", refund_total=D("145.00"), credit_note_total=D("45.00"),
        restocking_fee=D("5.00"),
    )  # fmt: skip


def test_a_mixed_return_counts_as_mixed_and_splits_its_money(dataset, mixed):
    live = {"tenant": dataset.ta, "start": START, "end": END}

    # R1 refund, R2 credit note, R7 mixed (5 Nov), R4 rejected: see dataset.py.
    assert kpis.returns_by_resolution(**live) == {
        "refund": 1,
        "credit_note": 1,
        "replacement": 0,
        "repair": 0,
        "mixed": 1,
        "rejected": 1,
    }
    money = kpis.return_money(**live)
    # Refunded: R1 270 + R7's refund line 100; credited: R2 100 + R7's credit-note line 45.
    assert (money.refunded, money.credited, money.restocking_fees) == (
        D("370.00"),
        D("145.00"),
        D("35.00"),
    )


def test_the_rollups_count_mixed_returns_as_the_live_figures_do(dataset, mixed):
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END, now=AFTER)
    for filters in (
        KpiFilters(),
        KpiFilters(customer_account_id=d.c1.pk),
        KpiFilters(customer_account_id=d.c2.pk),
        KpiFilters(product_id=d.p2.pk),
        KpiFilters(category_id=d.electronics.pk),
    ):
        reader = RollupReader(tenant=d.ta, start=START, end=END, filters=filters, now=AFTER)
        live = {"tenant": d.ta, "start": START, "end": END, "filters": filters}
        assert figures.returns_by_resolution(reader) == kpis.returns_by_resolution(**live)
        assert figures.return_money(reader) == kpis.return_money(**live), filters
    reader = RollupReader(tenant=d.ta, start=START, end=END, now=AFTER)
    assert figures.returns_by_resolution(reader)["mixed"] == 1


def test_the_dashboard_lists_mixed_returns_and_drills_down_to_them(client, dataset, mixed):
    d = dataset
    kpi_rollups_rebuild(tenant=d.ta, start=START, end=END)
    client.force_login(d.a.manager)

    html = client.get(f"/dashboard/kpis/returns/?{PERIOD}").content.decode()
    assert "Per line (mixed)" in html
    assert "resolution=mixed" in html
    listing = client.get(f"/dashboard/returns/?{PERIOD}&resolution=mixed")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert ">R7<" in page and ">R1<" not in page and ">R2<" not in page
