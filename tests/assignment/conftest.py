"""Fixtures for automatic assignment: three agents of tenant A, teams and rules made as the
back-office makes them, absences around the tenant's today, and complaints and returns filed
through the real services (which route them)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from complaints import services as complaint_services
from complaints.models import Complaint
from customers.models import AssignmentRule, OrderLine
from returns import services as return_services
from returns.models import ReturnRequest
from rma_portal.accounts.models import Absence, Role, Team, TeamMembership, User
from rma_portal.accounts.services import tenant_today
from rma_portal.tenancy.context import tenant_context
from tests.factories import OrderFactory, OrderLineFactory, ProductCategoryFactory, ProductFactory


def make_agent(tenant, name: str, *, role: str = Role.AGENT, **kwargs) -> User:
    from tests.factories import UserFactory

    return UserFactory(tenant=tenant, role=role, full_name=name, **kwargs)


@pytest.fixture
def agents(world_a) -> list[User]:
    """Three agents of tenant A, in the order of their ids (the round-robin order)."""
    made = [make_agent(world_a.tenant, f"Agent {name}") for name in ("Ann", "Bob", "Cid")]
    assert [a.pk for a in made] == sorted(a.pk for a in made)
    return made


def make_team(tenant, members, *, name: str = "Support", strategy: str = "round_robin") -> Team:
    team = Team.unscoped.create(tenant=tenant, name=name, strategy=strategy)
    for member in members:
        TeamMembership.unscoped.create(tenant=tenant, team=team, user=member)
    return team


_positions = iter(range(10, 100_000, 10))


def make_rule(tenant, *, team=None, agent=None, name: str = "", **conditions) -> AssignmentRule:
    """An active rule after every rule made before it (unless `position` is given)."""
    conditions.setdefault("position", next(_positions))
    rule = AssignmentRule(
        tenant=tenant,
        name=name or f"Rule {conditions['position']}",
        team=team,
        agent=agent,
        **conditions,
    )
    rule.full_clean()
    rule.save()
    return rule


def make_absence(user, *, first_day=None, last_day=None, day=None) -> Absence:
    """An absence of `user`: from the day before the tenant's today (or `day`) to the day
    after, unless the days are given (so the test does not depend on the clock's minute)."""
    center = day or tenant_today(user.tenant)
    return Absence.unscoped.create(
        tenant=user.tenant,
        user=user,
        first_day=first_day or center - datetime.timedelta(days=1),
        last_day=last_day or center + datetime.timedelta(days=1),
    )


def file_complaint(world, *, customer=None, company=None, **kwargs) -> Complaint:
    """A complaint of world's customer, filed through the service (now, unless `now`)."""
    arguments = {
        "category": "product_quality",
        "priority": "normal",
        "subject": "Cracked housings",
        "description": "Three housings of the last delivery arrived cracked.",
        **kwargs,
    }
    company = company or world.company
    customer = customer or world.customer
    with tenant_context(company.tenant):
        complaint = complaint_services.complaint_file(
            customer_account=company, reporter=customer, **arguments
        )
    return Complaint.unscoped.select_related("assignee").get(pk=complaint.pk)


def delivered_line(
    company,
    *,
    category: tuple[str, str] = ("electronics", "Electronics"),
    unit_price: Decimal = Decimal("100.00"),
    quantity: int = 5,
) -> OrderLine:
    """A line delivered five days ago, of its own order and product."""
    tenant = company.tenant
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=company,
        order_date=today - datetime.timedelta(days=7),
        delivery_date=today - datetime.timedelta(days=5),
    )
    code, name = category
    product = ProductFactory(
        tenant=tenant,
        category=ProductCategoryFactory(tenant=tenant, code=code, name=name),
        unit_price=unit_price,
    )
    return OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=product,
        quantity=quantity,
        unit_price=unit_price,
    )


def draft_return(
    world, *, customer=None, company=None, line=None, quantity=1, reason="defective", **kwargs
) -> ReturnRequest:
    company = company or world.company
    customer = customer or world.customer
    line = line or delivered_line(company)
    with tenant_context(company.tenant):
        return return_services.return_request_create(
            customer_account=company,
            requester=customer,
            lines=[
                return_services.LineInput(order_line_id=line.pk, quantity=quantity, reason=reason)
            ],
            requested_resolution="refund",
            return_method="drop_off",
            **kwargs,
        )


def submit_return(world, draft=None, **kwargs) -> ReturnRequest:
    """A return of world's customer, submitted through the service (drafted first unless
    given)."""
    draft = draft or draft_return(world, **kwargs)
    with tenant_context(draft.tenant):
        submitted = return_services.return_request_submit(
            return_request=draft, actor=draft.requester
        )
    return ReturnRequest.unscoped.select_related("assignee").get(pk=submitted.pk)
