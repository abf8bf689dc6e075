from decimal import Decimal

import pytest

from customers.models import OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnStatus
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def test_services_flow_computes_money(world_a, delivered_order, file_return):
    line1, line2 = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    rma = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": line1.pk, "quantity": 2, "reason": "defective"},
            {"order_line_id": line2.pk, "quantity": 4, "reason": "wrong_size"},
        ],
    )
    assert rma.status == ReturnStatus.SUBMITTED
    assert rma.number.startswith("RMA-")
    agent = world_a.agent
    with tenant_context(world_a.tenant):
        rma = services.return_request_approve(return_request=rma, actor=agent)
        rma = services.return_request_mark_received(return_request=rma, actor=agent)
        lines = {line.order_line_id: line for line in rma.lines.all()}
        rma = services.return_request_inspect(
            return_request=rma,
            actor=agent,
            results={
                lines[line1.pk].pk: services.InspectionInput("damaged", "scrap", 2),
                lines[line2.pk].pk: services.InspectionInput("unopened", "restock", 3),
            },
        )
        rma = services.return_request_resolve(
            return_request=rma, actor=agent, resolution="credit_note", credit_note_number="KOR/1"
        )
    # 2×100 (defect, no fee) + 3×20 = 60 less 10 % fee (6) → 254
    assert rma.accepted_value == Decimal("260.00")
    assert rma.restocking_fee == Decimal("6.00")
    assert rma.refund_total == Decimal("254.00")
    actions = list(ReturnEvent.unscoped.filter(return_request=rma).values_list("action", flat=True))
    assert actions == ["created", "submitted", "approved", "received", "inspected", "resolved"]
