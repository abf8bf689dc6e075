"""Fixtures for returns: a tenant policy, delivered orders, helpers to file a return, walk it
through the state machine, compare its state before and after, and race services in threads."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from customers.models import OrderLine
from returns import services
from returns.models import (
    CategoryWindow,
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
)
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.concurrency import run_concurrently  # noqa: F401 - shared with the tests here
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductCategoryFactory,
    ProductFactory,
)


@pytest.fixture
def policy_a(world_a):
    """Tenant A: 14 days by default, workwear 30, 10 % restocking fee, no auto-approval."""
    tenant = world_a.tenant
    policy = ReturnPolicy.unscoped.create(
        tenant=tenant,
        default_window_days=14,
        restocking_fee_percent=Decimal("10"),
        auto_approve_enabled=False,
        auto_approve_reasons=["defective", "damaged_in_transport"],
        auto_approve_max_value=Decimal("1000"),
        conditions_text="Goods must be complete.",
    )
    workwear = ProductCategoryFactory(tenant=tenant, code="workwear", name="Workwear")
    CategoryWindow.unscoped.create(tenant=tenant, policy=policy, category=workwear, days=30)
    return policy


@pytest.fixture
def delivered_order(world_a, policy_a):
    """An order of company A delivered 5 days ago: line 1 electronics ×5 at 100, line 2
    workwear ×10 at 20."""
    tenant = world_a.tenant
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=world_a.company,
        order_date=today - datetime.timedelta(days=7),
        delivery_date=today - datetime.timedelta(days=5),
    )
    electronics = ProductFactory(tenant=tenant, unit_price=Decimal("100.00"))
    workwear = ProductFactory(
        tenant=tenant,
        category=ProductCategoryFactory(tenant=tenant, code="workwear", name="Workwear"),
        unit_price=Decimal("20.00"),
    )
    OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=electronics,
        quantity=5,
        unit_price=Decimal("100.00"),
    )
    OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=2,
        product=workwear,
        quantity=10,
        unit_price=Decimal("20.00"),
    )
    return order


@pytest.fixture
def file_return():
    """File (and by default submit) a return through the services, as the given customer."""

    def _file(customer, company, lines, *, submit=True, resolution="refund", method="drop_off"):
        with tenant_context(company.tenant):
            draft = services.return_request_create(
                customer_account=company,
                requester=customer,
                lines=[services.LineInput(**line) for line in lines],
                requested_resolution=resolution,
                return_method=method,
            )
            if submit:
                draft = services.return_request_submit(return_request=draft, actor=customer)
            return draft

    return _file


@pytest.fixture
def make_order_line():
    """A delivered order line of `company` with its own product (and order, unless given).

    Use for ledger and policy cases that need a particular product or delivery date.
    """

    def _make(
        company,
        *,
        quantity: int = 5,
        unit_price: Decimal = Decimal("100.00"),
        delivered_days_ago: int | None = 5,
        category: tuple[str, str] = ("electronics", "Electronics"),
        returnable: bool = True,
        serial_numbers: list[str] | None = None,
        order=None,
    ):
        tenant = company.tenant
        if order is None:
            today = tenant_today(tenant)
            delivered = (
                None
                if delivered_days_ago is None
                else today - datetime.timedelta(days=delivered_days_ago)
            )
            order = OrderFactory(
                tenant=tenant,
                customer_account=company,
                order_date=(delivered or today) - datetime.timedelta(days=2),
                delivery_date=delivered,
            )
        code, name = category
        product = ProductFactory(
            tenant=tenant,
            category=ProductCategoryFactory(tenant=tenant, code=code, name=name),
            unit_price=unit_price,
            is_returnable=returnable,
            is_serial_tracked=serial_numbers is not None,
        )
        return OrderLineFactory(
            tenant=tenant,
            order=order,
            line_number=OrderLine.unscoped.filter(order=order).count() + 1,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            serial_numbers=list(serial_numbers or []),
        )

    return _make


def return_state(return_request) -> dict:
    """Everything a refused service must leave alone: the row, its lines and its timeline."""
    row = ReturnRequest.unscoped.filter(pk=return_request.pk).values().get()
    return {
        "request": row,
        "lines": list(
            ReturnLine.unscoped.filter(return_request_id=return_request.pk).order_by("pk").values()
        ),
        "events": list(
            ReturnEvent.unscoped.filter(return_request_id=return_request.pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "attachments": ReturnAttachment.unscoped.filter(
            return_request_id=return_request.pk
        ).count(),
    }


def full_inspection(return_request, *, accept_all: bool = True) -> dict:
    lines = ReturnLine.unscoped.filter(return_request_id=return_request.pk).order_by("pk")
    return {
        line.pk: services.InspectionInput(
            condition="unopened",
            disposition="restock",
            accepted_quantity=line.quantity if accept_all else 0,
        )
        for line in lines
    }


# The services that take a return from draft to each state, in order.
PATH_TO = {
    ReturnStatus.DRAFT: [],
    ReturnStatus.SUBMITTED: ["submit"],
    ReturnStatus.NEEDS_INFO: ["submit", "request_info"],
    ReturnStatus.APPROVED: ["submit", "approve"],
    ReturnStatus.REJECTED: ["submit", "reject"],
    ReturnStatus.CANCELLED: ["submit", "cancel"],
    ReturnStatus.EXPIRED: ["submit", "approve", "expire"],
    ReturnStatus.AWAITING_APPROVAL: ["submit", "ask_approval"],
    ReturnStatus.RECEIVED: ["submit", "approve", "mark_received"],
    ReturnStatus.INSPECTED: ["submit", "approve", "mark_received", "inspect"],
    ReturnStatus.RESOLVED: ["submit", "approve", "mark_received", "inspect", "resolve"],
    ReturnStatus.CLOSED: ["submit", "approve", "mark_received", "inspect", "resolve", "close"],
}


def _needing_approval(return_request):
    ReturnRequest.unscoped.filter(pk=return_request.pk).update(approval_level="coordinator")
    return ReturnRequest.objects.get(pk=return_request.pk)


def advance(return_request, status: str, *, agent):
    """Walk a return on through the real services (customer steps as its requester) to
    `status`."""
    customer = return_request.requester
    steps = {
        "submit": lambda r: services.return_request_submit(return_request=r, actor=customer),
        "request_info": lambda r: services.return_request_request_info(
            return_request=r, actor=agent, question="Which pallet was it on?"
        ),
        "approve": lambda r: services.return_request_approve(return_request=r, actor=agent),
        "reject": lambda r: services.return_request_reject(
            return_request=r, actor=agent, reason="Not bought from us."
        ),
        "cancel": lambda r: services.return_request_cancel(return_request=r, actor=agent),
        "mark_received": lambda r: services.return_request_mark_received(
            return_request=r, actor=agent
        ),
        "inspect": lambda r: services.return_request_inspect(
            return_request=r, actor=agent, results=full_inspection(r)
        ),
        "resolve": lambda r: services.return_request_resolve(
            return_request=r, actor=agent, resolution="refund"
        ),
        "close": lambda r: services.return_request_close(return_request=r, actor=agent),
        # the value needs a coordinator (as if the policy said so): the agent asks
        "ask_approval": lambda r: services.return_request_ask_approval(
            return_request=_needing_approval(r), actor=agent, note="Good customer."
        ),
        # the goods never came: the system expires it a second after the last moment
        "expire": lambda r: (
            services.return_request_expire(
                return_request=r, now=r.ship_by + datetime.timedelta(seconds=1)
            )
            and ReturnRequest.objects.get(pk=r.pk)
        ),
    }
    done = PATH_TO[return_request.status]
    path = PATH_TO[status]
    assert path[: len(done)] == done, f"cannot go from {return_request.status} to {status}"
    with tenant_context(return_request.tenant):
        for step in path[len(done) :]:
            return_request = steps[step](return_request)
    assert return_request.status == status
    return return_request


@pytest.fixture
def return_in(world_a, delivered_order, file_return):
    """A return of world A's customer (1 × line 1 of `delivered_order`) in the given state."""

    def _make(status: str, *, quantity: int = 1):
        line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
        draft = file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": quantity, "reason": "defective"}],
            submit=False,
        )
        return advance(draft, status, agent=world_a.agent)

    return _make


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
