"""The small hand-built data set of the KPI tests: tenant A's deliveries, returns,
complaints and ratings in Oct–Nov 2026 (Europe/Warsaw), and a few rows of tenant B's."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

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


def build_dataset(world_a, world_b) -> SimpleNamespace:
    """Tenant A's data set and tenant B's few rows, as described in each comment."""
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
