"""KPIs on a small hand-built data set: every expected figure is worked out by hand below.

Period: 1 Oct – 30 Nov 2026 (Europe/Warsaw). Tenant A has the data set described in
tests/analytics/dataset.py; tenant B has one delivery, one return and one complaint of its
own, so any leak between tenants changes a figure.
"""

from __future__ import annotations

import datetime

import pytest

from analytics import kpis
from analytics.kpis import KpiFilters

from .dataset import END, START, D


def period(tenant):
    return {"tenant": tenant, "start": START, "end": END}


def test_return_rate_overall_and_filtered(dataset):
    d = dataset
    # Delivered in period: 10 + 20 + 5 + 5 = 40 units; 1000 + 200 + 500 + 100 = 1800.
    # Returned (R1, R2, R3): 2 + 5 + 1 + 1 = 9 units; 200 + 50 + 100 + 100 = 450.
    overall = kpis.return_rate(**period(d.ta))
    assert (overall.delivered_quantity, overall.returned_quantity) == (40, 9)
    assert (overall.delivered_value, overall.returned_value) == (D("1800.00"), D("450.00"))
    assert overall.by_quantity == pytest.approx(9 / 40)
    assert overall.by_value == pytest.approx(0.25)  # 450 / 1800

    # Customer C2: delivered 5 + 5 = 10 units, 600; returned 1 unit, 100.
    c2 = kpis.return_rate(**period(d.ta), filters=KpiFilters(customer_account_id=d.c2.pk))
    assert c2.by_quantity == pytest.approx(0.1)
    assert c2.by_value == pytest.approx(100 / 600)
    # Reason "defective": 2 + 1 = 3 units, 300 returned over the same 40 / 1800 delivered.
    defective = kpis.return_rate(**period(d.ta), filters=KpiFilters(reason="defective"))
    assert (defective.returned_quantity, defective.returned_value) == (3, D("300.00"))
    # Nothing delivered in a December-only period of B: no rate, not 0.
    empty = kpis.return_rate(
        tenant=d.tb, start=datetime.date(2026, 12, 1), end=END.replace(month=12, day=31)
    )
    assert empty.by_quantity is None and empty.by_value is None


def test_return_rate_by_category_product_and_customer(dataset):
    d = dataset
    by_category = kpis.return_rate_by(**period(d.ta), group="category")
    # Electronics: delivered 10 + 5 + 5 = 20 units, 1600; returned 2 + 1 + 1 = 4 units, 400.
    # Workwear: delivered 20 units, 200; returned 5 units, 50.
    assert set(by_category) == {d.electronics.pk, d.workwear.pk}
    assert by_category[d.electronics.pk].by_quantity == pytest.approx(4 / 20)
    assert by_category[d.electronics.pk].by_value == pytest.approx(400 / 1600)
    assert by_category[d.workwear.pk].by_quantity == pytest.approx(5 / 20)
    assert by_category[d.workwear.pk].by_value == pytest.approx(50 / 200)

    by_product = kpis.return_rate_by(**period(d.ta), group="product")
    # P1: 15 units / 1500 delivered, 4 / 400 returned; P3: 5 / 100 delivered, none returned.
    assert by_product[d.p1.pk].by_quantity == pytest.approx(4 / 15)
    assert by_product[d.p1.pk].by_value == pytest.approx(400 / 1500)
    assert by_product[d.p3.pk].by_quantity == 0.0
    assert by_product[d.p2.pk].returned_quantity == 5

    by_customer = kpis.return_rate_by(**period(d.ta), group="customer_account")
    # C1: delivered 10 + 20 = 30 units, 1200; returned 2 + 5 + 1 = 8, 350. C2: 1/10, 100/600.
    assert by_customer[d.c1.pk].by_quantity == pytest.approx(8 / 30)
    assert by_customer[d.c1.pk].by_value == pytest.approx(350 / 1200)
    assert by_customer[d.c2.pk].by_quantity == pytest.approx(1 / 10)


def test_returns_count(dataset):
    d = dataset
    # Submitted in the period and not draft/cancelled/rejected: R1, R2, R3 (R4 rejected,
    # R5 a draft, R6 submitted in December).
    assert kpis.returns_count(**period(d.ta)) == 3
    # With a defective line: R1 and R2; of customer C2: R2; with a product P2 line: R1.
    assert kpis.returns_count(**period(d.ta), filters=KpiFilters(reason="defective")) == 2
    assert kpis.returns_count(**period(d.ta), filters=KpiFilters(customer_account_id=d.c2.pk)) == 1
    assert kpis.returns_count(**period(d.ta), filters=KpiFilters(product_id=d.p2.pk)) == 1
    # A request with two matching lines counts once: R1 has two lines of the period.
    assert kpis.returns_count(**period(d.ta), filters=KpiFilters(customer_account_id=d.c1.pk)) == 2
    assert kpis.returns_count(**period(d.tb)) == 1  # RB1


def test_return_reasons_share_and_monthly_trend(dataset):
    d = dataset
    reasons = kpis.return_reasons(**period(d.ta))
    # Lines: defective (R1, R2), wrong_size (R1), damaged_in_transport (R3): 4 in all.
    assert {key: figure.lines for key, figure in reasons.items()} == {
        "defective": 2,
        "wrong_size": 1,
        "damaged_in_transport": 1,
    }
    assert reasons["defective"].quantity == 3  # 2 + 1
    assert reasons["defective"].share == pytest.approx(0.5)  # 2 / 4
    assert reasons["wrong_size"].share == pytest.approx(0.25)  # 1 / 4

    trend = kpis.return_reasons_by_month(**period(d.ta))
    assert trend == {
        datetime.date(2026, 10, 1): {"defective": 1, "wrong_size": 1},  # R1
        datetime.date(2026, 11, 1): {"defective": 1, "damaged_in_transport": 1},  # R2, R3
    }


def test_returns_by_resolution_and_disposition(dataset):
    d = dataset
    # R1 refund (14 Oct), R2 credit note (15 Nov), R4 rejected (6 Nov).
    assert kpis.returns_by_resolution(**period(d.ta)) == {
        "refund": 1,
        "credit_note": 1,
        "replacement": 0,
        "repair": 0,
        "mixed": 0,
        "rejected": 1,
    }
    dispositions = kpis.returns_by_disposition(**period(d.ta))
    # restock: R1/L1 2 × 100; scrap: R1/L2 5 × 10; refurbish: R2/L3 1 × 100.
    assert dispositions["restock"] == kpis.DispositionFigure(1, 2, D("200.00"))
    assert dispositions["scrap"] == kpis.DispositionFigure(1, 5, D("50.00"))
    assert dispositions["refurbish"] == kpis.DispositionFigure(1, 1, D("100.00"))
    assert dispositions["return_to_supplier"] == kpis.DispositionFigure(0, 0, D("0.00"))


def test_return_money(dataset):
    money = kpis.return_money(**period(dataset.ta))
    # Refund R1 270; credit note R2 100; fees 30 + 0; restocked 2 × 100; scrapped 5 × 10.
    assert money == kpis.ReturnMoney(
        refunded=D("270.00"),
        credited=D("100.00"),
        restocking_fees=D("30.00"),
        restocked_value=D("200.00"),
        scrapped_value=D("50.00"),
    )
    only_c2 = kpis.return_money(
        **period(dataset.ta), filters=KpiFilters(customer_account_id=dataset.c2.pk)
    )
    assert (only_c2.refunded, only_c2.credited) == (D("0.00"), D("100.00"))


def test_return_cycle_times(dataset):
    times = kpis.return_cycle_times(**period(dataset.ta))
    # S→A: R1 24, R2 6, R3 36 → sorted 6, 24, 36: mean 22, median 24,
    # p90 at rank 0.9 × 2 = 1.8: 24 + 0.8 × (36 − 24) = 33.6.
    assert times["submitted_to_approved"] == kpis.DurationStats(3, 22.0, 24.0, pytest.approx(33.6))
    # A→R: 48, 42 → mean 45, median 45, p90 at rank 0.9: 42 + 0.9 × 6 = 47.4.
    assert times["approved_to_received"] == kpis.DurationStats(2, 45.0, 45.0, pytest.approx(47.4))
    # R→Res: 24, 24.
    assert times["received_to_resolved"] == kpis.DurationStats(2, 24.0, 24.0, 24.0)
    # S→Res: 96, 72 → mean 84, median 84, p90 72 + 0.9 × 24 = 93.6.
    assert times["submitted_to_resolved"] == kpis.DurationStats(2, 84.0, 84.0, pytest.approx(93.6))


def test_complaint_volume(dataset):
    # Filed 1 Oct – 30 Nov: K1–K5 (K6 was filed on 3 Dec).
    assert kpis.complaint_volume(**period(dataset.ta)) == {
        "category": {"product_quality": 1, "delivery": 2, "billing": 1, "other": 1},
        "priority": {"high": 1, "normal": 2, "low": 1, "urgent": 1},
    }
    only_p1 = kpis.complaint_volume(
        **period(dataset.ta), filters=KpiFilters(product_id=dataset.p1.pk)
    )
    assert only_p1["category"] == {"product_quality": 1}


def test_complaint_times_in_business_hours(dataset):
    times = kpis.complaint_response_times(**period(dataset.ta))
    # First response (business hours, Mon–Fri 08–16): K1 09→11 = 2; K2 Mon 15→Tue 10 = 1 + 2
    # = 3; K3 08→12 = 4; K4 10:00→10:30 = 0.5. Sorted 0.5, 2, 3, 4: mean 9.5 / 4 = 2.375,
    # median (2 + 3) / 2 = 2.5, p90 at rank 2.7: 3 + 0.7 × 1 = 3.7.
    first = times["first_response"]
    assert (first.count, first.average, first.median) == (4, 2.375, 2.5)
    assert first.p90 == pytest.approx(3.7)
    # Resolution: K1 Mon 09→Tue 09 = 7 + 1 = 8; K2 restarted Thu 08→Fri 12 = 8 + 4 = 12,
    # minus 1 h paused = 11; K3 Mon 08→Thu 08 = 3 × 8 = 24. Mean 43 / 3, median 11,
    # p90 at rank 1.8: 11 + 0.8 × 13 = 21.4.
    resolution = times["resolution"]
    assert resolution.average == pytest.approx(43 / 3)
    assert resolution.median == 11.0
    assert resolution.p90 == pytest.approx(21.4)


def test_complaint_sla_reopen_and_first_contact_resolution(dataset):
    sla = kpis.complaint_sla_compliance(**period(dataset.ta))
    # First response met by K1, K3, K4; missed by K2 (10:00 > 09:00 due): 3 / 4.
    assert sla["first_response"] == kpis.SlaCompliance(met=3, missed=1)
    assert sla["first_response"].rate == pytest.approx(0.75)
    # Resolution met by K1, K3; missed by K2 (Fri 12:00 > 10:00 due): 2 / 3.
    assert sla["resolution"].rate == pytest.approx(2 / 3)

    quality = kpis.complaint_resolution_quality(**period(dataset.ta))
    # Resolved in period: K1, K2, K3. Reopened: K2 → 1 / 3. One public staff reply: K1 (the
    # internal note and the customer's message do not count) and K3; K2 had two → 2 / 3.
    assert quality == kpis.ResolutionQuality(resolved=3, reopened=1, first_contact=2)
    assert quality.reopen_rate == pytest.approx(1 / 3)
    assert quality.first_contact_resolution_rate == pytest.approx(2 / 3)


def test_backlog_with_age_buckets(dataset):
    backlog = kpis.backlog(tenant=dataset.ta, end=END)
    # Ages at the end of 30 Nov (1 Dec 00:00): K4 filed 25 Nov 10:00 → 5 days (3–7);
    # K5 filed 20 Oct → 41 days (over 30). K6 filed in December is not counted.
    assert backlog["complaints"] == kpis.Backlog(
        open_cases=2, age_buckets={"0_2": 0, "3_7": 1, "8_14": 0, "15_30": 0, "over_30": 1}
    )
    # R3 (approved) submitted 20 Nov 12:00 → 10 days (8–14); R6 was submitted in December.
    assert backlog["returns"] == kpis.Backlog(
        open_cases=1, age_buckets={"0_2": 0, "3_7": 0, "8_14": 1, "15_30": 0, "over_30": 0}
    )


def test_csat_overall_per_agent_and_per_customer(dataset):
    d = dataset
    overall = kpis.csat(**period(d.ta))
    # Scores 5, 2, 4: mean 11 / 3; 4–5 ratings: 2 of 3.
    assert overall.ratings == 3
    assert overall.average == pytest.approx(11 / 3)
    assert overall.satisfied_share == pytest.approx(2 / 3)

    by_agent = kpis.csat_by(**period(d.ta), group="agent")
    # Agent: K1 5, K2 2 → 3.5, 1 / 2. Coordinator: K3 4 → 4.0, 1 / 1.
    assert by_agent == {
        d.a.agent.pk: kpis.Csat(ratings=2, average=3.5, satisfied_share=0.5),
        d.a.coordinator.pk: kpis.Csat(ratings=1, average=4.0, satisfied_share=1.0),
    }
    by_customer = kpis.csat_by(**period(d.ta), group="customer_account")
    # C1: K1 5, K3 4 → 4.5, 2 / 2. C2: K2 2 → 2.0, 0 / 1.
    assert by_customer == {
        d.c1.pk: kpis.Csat(ratings=2, average=4.5, satisfied_share=1.0),
        d.c2.pk: kpis.Csat(ratings=1, average=2.0, satisfied_share=0.0),
    }


def test_tenant_b_figures_hold_only_tenant_b_rows(dataset):
    d = dataset
    # B: 50 × 2 delivered (100), 10 × 2 returned (20): 0.2 by quantity and by value.
    rate_b = kpis.return_rate(**period(d.tb))
    assert (rate_b.delivered_quantity, rate_b.returned_quantity) == (50, 10)
    assert rate_b.by_value == pytest.approx(0.2)
    assert set(kpis.return_rate_by(**period(d.tb), group="category")) == {d.b_category.pk}
    assert set(kpis.return_reasons(**period(d.tb))) == {"wrong_item"}
    assert kpis.return_money(**period(d.tb)).refunded == D("20.00")
    assert kpis.returns_by_resolution(**period(d.tb))["rejected"] == 0
    assert kpis.returns_by_disposition(**period(d.tb))["scrap"].accepted_quantity == 10
    assert kpis.return_money(**period(d.tb)).scrapped_value == D("20.00")  # 10 × 2, not A's 50
    assert kpis.return_cycle_times(**period(d.tb))["submitted_to_approved"].count == 1
    assert kpis.complaint_volume(**period(d.tb)) == {
        "category": {"service": 1},
        "priority": {"normal": 1},
    }
    assert kpis.complaint_sla_compliance(**period(d.tb))["resolution"].rate == 1.0
    assert kpis.complaint_resolution_quality(**period(d.tb)).resolved == 1
    assert kpis.backlog(tenant=d.tb, end=END)["complaints"].open_cases == 0
    assert kpis.csat(**period(d.tb)) == kpis.Csat(ratings=1, average=1.0, satisfied_share=0.0)
    # A tenant-A filter value on tenant B finds nothing rather than A's rows.
    assert (
        kpis.return_rate(
            **period(d.tb), filters=KpiFilters(customer_account_id=d.c1.pk)
        ).returned_quantity
        == 0
    )
