"""KPIs on a small hand-built data set: every expected figure is worked out by hand below.

Period: 1 Oct – 30 Nov 2026 (Europe/Warsaw). Tenant A has the data set described in
`dataset`; tenant B has one delivery, one return and one complaint of its own, so any leak
between tenants changes a figure.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from analytics import kpis
from analytics.kpis import KpiFilters
from complaints.models import Complaint, ComplaintMessage, SatisfactionRating
from customers.models import Order, OrderLine
from returns.models import ReturnEvent, ReturnLine, ReturnRequest
from tests.factories import ProductCategoryFactory, ProductFactory

WARSAW = ZoneInfo("Europe/Warsaw")
START, END = datetime.date(2026, 10, 1), datetime.date(2026, 11, 30)
D = Decimal


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=WARSAW)


def make_order(tenant, company, number, delivered, lines):
    order = Order.unscoped.create(
        tenant=tenant,
        number=number,
        customer_account=company,
        order_date=delivered - datetime.timedelta(days=2),
        delivery_date=delivered,
    )
    return [
        OrderLine.unscoped.create(
            tenant=tenant,
            order=order,
            line_number=n,
            product=product,
            quantity=quantity,
            unit_price=D(price),
        )
        for n, (product, quantity, price) in enumerate(lines, start=1)
    ]


def make_return(tenant, company, requester, number, status, lines, **fields):
    request = ReturnRequest.unscoped.create(
        tenant=tenant,
        number=number,
        customer_account=company,
        requester=requester,
        status=status,
        **fields,
    )
    for order_line, quantity, reason, extra in lines:
        ReturnLine.unscoped.create(
            tenant=tenant,
            return_request=request,
            order_line=order_line,
            quantity=quantity,
            reason=reason,
            unit_price=order_line.unit_price,
            **extra,
        )
    return request


def make_complaint(tenant, company, reporter, code, **fields):
    return Complaint.unscoped.create(
        tenant=tenant,
        code=code,
        customer_account=company,
        reporter=reporter,
        subject=code,
        description="-",
        **fields,
    )


def message(complaint, author, *, internal=False):
    ComplaintMessage.unscoped.create(
        tenant=complaint.tenant, complaint=complaint, author=author, body="-", is_internal=internal
    )


def rate(complaint, user, score, when):
    rating = SatisfactionRating.unscoped.create(
        tenant=complaint.tenant, complaint=complaint, score=score, rated_by=user
    )
    SatisfactionRating.unscoped.filter(pk=rating.pk).update(created_at=when)  # auto_now_add


@pytest.fixture
def dataset(world_a, world_b):
    a, b = world_a, world_b
    ta = a.tenant
    electronics = ProductCategoryFactory(tenant=ta, code="electronics", name="Electronics")
    workwear = ProductCategoryFactory(tenant=ta, code="workwear", name="Workwear")
    p1 = ProductFactory(tenant=ta, category=electronics)
    p2 = ProductFactory(tenant=ta, category=workwear)
    p3 = ProductFactory(tenant=ta, category=electronics)
    c1, c2 = a.company, a.other_company

    # Deliveries in the period: L1 10×100, L2 20×10 (C1, 3 Oct); L3 5×100, L5 5×20 (C2, 10 Nov).
    l1, l2 = make_order(
        ta, c1, "A-1", datetime.date(2026, 10, 3), [(p1, 10, "100"), (p2, 20, "10")]
    )
    l3, _l5 = make_order(
        ta, c2, "A-2", datetime.date(2026, 11, 10), [(p1, 5, "100"), (p3, 5, "20")]
    )
    # Delivered after the period: never in a denominator.
    make_order(ta, c1, "A-3", datetime.date(2026, 12, 5), [(p2, 100, "10")])

    # R1: refund, resolved 14 Oct; S→A 24 h, A→R 48 h, R→Res 24 h, S→Res 96 h.
    make_return(
        ta, c1, a.customer, "R1", "resolved",
        [
            (l1, 2, "defective", {"accepted_quantity": 2, "disposition": "restock"}),
            (l2, 5, "wrong_size", {"accepted_quantity": 5, "disposition": "scrap"}),
        ],
        submitted_at=at(10, 10, 10), approved_at=at(10, 11, 10), received_at=at(10, 13, 10),
        resolved_at=at(10, 14, 10), resolution="refund", refund_total=D("270.00"),
        restocking_fee=D("30.00"),
    )  # fmt: skip
    # R2: credit note, closed; S→A 6 h, A→R 42 h, R→Res 24 h, S→Res 72 h.
    make_return(
        ta, c2, a.other_company_user, "R2", "closed",
        [(l3, 1, "defective", {"accepted_quantity": 1, "disposition": "refurbish"})],
        submitted_at=at(11, 12, 9), approved_at=at(11, 12, 15), received_at=at(11, 14, 9),
        resolved_at=at(11, 15, 9), resolution="credit_note", refund_total=D("100.00"),
        restocking_fee=D("0.00"),
    )  # fmt: skip
    # R3: approved, still open; S→A 36 h.
    make_return(
        ta, c1, a.customer, "R3", "approved", [(l1, 1, "damaged_in_transport", {})],
        submitted_at=at(11, 20, 12), approved_at=at(11, 22, 0),
    )  # fmt: skip
    # R4: rejected on 6 Nov: counts as "rejected", never as returned goods.
    r4 = make_return(
        ta, c1, a.customer, "R4", "rejected", [(l2, 3, "ordered_by_mistake", {})],
        submitted_at=at(11, 5, 9),
    )  # fmt: skip
    ReturnEvent.unscoped.create(
        tenant=ta, return_request=r4, action="reject", from_status="submitted",
        to_status="rejected", created_at=at(11, 6, 9),
    )  # fmt: skip
    # R5 draft and R6 submitted after the period: in no figure of the period.
    make_return(ta, c1, a.customer, "R5", "draft", [(l1, 4, "defective", {})])
    make_return(
        ta, c2, a.other_company_user, "R6", "submitted", [(l3, 1, "defective", {})],
        submitted_at=at(12, 2, 9),
    )  # fmt: skip

    # Complaints (calendar: Mon–Fri 08–16 Warsaw; 2 Nov 2026 is a Monday).
    k1 = make_complaint(
        ta, c1, a.customer, "K1", category="product_quality", priority="high", product=p1,
        status="resolved", assignee=a.agent, created_at=at(11, 2, 9),
        first_responded_at=at(11, 2, 11), first_response_due_at=at(11, 2, 13),
        resolved_at=at(11, 3, 9), resolution_due_at=at(11, 4, 9),
    )  # fmt: skip
    message(k1, a.customer)
    message(k1, a.agent)
    message(k1, a.agent, internal=True)
    k2 = make_complaint(
        ta, c2, a.other_company_user, "K2", category="delivery", priority="normal",
        status="closed", assignee=a.agent, created_at=at(11, 2, 15),
        first_responded_at=at(11, 3, 10), first_response_due_at=at(11, 3, 9),
        resolution_started_at=at(11, 5, 8), sla_paused_seconds=3600, reopen_count=1,
        resolved_at=at(11, 6, 12), resolution_due_at=at(11, 6, 10),
    )  # fmt: skip
    message(k2, a.agent)
    message(k2, a.agent)
    k3 = make_complaint(
        ta, c1, a.customer, "K3", category="delivery", priority="normal", status="resolved",
        assignee=a.coordinator, created_at=at(11, 9, 8), first_responded_at=at(11, 9, 12),
        first_response_due_at=at(11, 9, 16), resolved_at=at(11, 12, 8),
        resolution_due_at=at(11, 13, 8),
    )  # fmt: skip
    message(k3, a.coordinator)
    make_complaint(
        ta, c1, a.customer, "K4", category="billing", priority="low", status="in_progress",
        assignee=a.agent, created_at=at(11, 25, 10), first_responded_at=at(11, 25, 10, 30),
        first_response_due_at=at(11, 26, 10), resolution_due_at=at(11, 30, 10),
    )  # fmt: skip
    make_complaint(
        ta, c2, a.other_company_user, "K5", category="other", priority="urgent", status="new",
        created_at=at(10, 20, 9), first_response_due_at=at(10, 20, 11),
        resolution_due_at=at(10, 21, 9),
    )  # fmt: skip
    make_complaint(
        ta, c1, a.customer, "K6", category="other", priority="low", status="new",
        created_at=at(12, 3, 9), first_response_due_at=at(12, 3, 11),
        resolution_due_at=at(12, 4, 9),
    )  # fmt: skip
    rate(k1, a.customer, 5, at(11, 4, 9))
    rate(k2, a.other_company_user, 2, at(11, 7, 9))
    rate(k3, a.customer, 4, at(11, 13, 9))

    # Tenant B: 50×2 delivered 1 Nov; 10 returned 3 Nov (wrong item, refund 20); one complaint.
    tb = b.tenant
    b_category = ProductCategoryFactory(tenant=tb, code="tools", name="Tools")
    b_product = ProductFactory(tenant=tb, category=b_category)
    (b_line,) = make_order(tb, b.company, "B-1", datetime.date(2026, 11, 1), [(b_product, 50, "2")])
    make_return(
        tb, b.company, b.customer, "RB1", "resolved",
        [(b_line, 10, "wrong_item", {"accepted_quantity": 10, "disposition": "scrap"})],
        submitted_at=at(11, 3, 9), approved_at=at(11, 3, 10), received_at=at(11, 4, 9),
        resolved_at=at(11, 5, 9), resolution="refund", refund_total=D("20.00"),
    )  # fmt: skip
    kb = make_complaint(
        tb, b.company, b.customer, "KB1", category="service", priority="normal",
        status="resolved", assignee=b.agent, created_at=at(11, 2, 9),
        first_responded_at=at(11, 2, 9, 30), first_response_due_at=at(11, 2, 17),
        resolved_at=at(11, 2, 10), resolution_due_at=at(11, 3, 9),
    )  # fmt: skip
    rate(kb, b.customer, 1, at(11, 3, 9))

    return SimpleNamespace(
        a=a, b=b, ta=ta, tb=tb, c1=c1, c2=c2, p1=p1, p2=p2, p3=p3,
        electronics=electronics, workwear=workwear, b_category=b_category,
    )  # fmt: skip


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
