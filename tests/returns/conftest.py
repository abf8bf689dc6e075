"""Fixtures for returns: a tenant policy, delivered orders, and a helper to file a return."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from returns import services
from returns.models import CategoryWindow, ReturnPolicy
from returns.selectors import tenant_today
from rma_portal.tenancy.context import tenant_context
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
