"""The return policy as stored: merging tenant and customer rules, the snapshot taken at
submission, auto-approval and refusals at submit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import OrderLine
from returns import services
from returns.models import CategoryWindow, ReturnEvent, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import PolicyRules
from returns.selectors import return_rules_applied, return_rules_for
from rma_portal.tenancy.context import dangerously_all_tenants, tenant_context
from tests.factories import ProductCategoryFactory, ProductFactory

from .conftest import advance, return_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_override(world_a, policy_a):
    """World A's company has a contract: 30 days, workwear 60, no fee, credit notes only,
    auto-approval on, and one more product it may not return."""
    tenant = world_a.tenant
    override = ReturnPolicy.unscoped.create(
        tenant=tenant,
        customer_account=world_a.company,
        default_window_days=30,
        restocking_fee_percent=Decimal("0"),
        allowed_resolutions=["credit_note"],
        auto_approve_enabled=True,
    )
    workwear = ProductCategoryFactory(tenant=tenant, code="workwear", name="Workwear")
    CategoryWindow.unscoped.create(tenant=tenant, policy=override, category=workwear, days=60)
    override.non_returnable_products.add(ProductFactory(tenant=tenant, sku="ENGRAVED-1"))
    return override


def test_rules_merge_tenant_policy_and_customer_override(world_a, policy_a, customer_override):
    # given: the tenant also refuses personalised goods
    personalised = ProductCategoryFactory(
        tenant=world_a.tenant, code="personalised", name="Personalised"
    )
    policy_a.non_returnable_categories.add(personalised)

    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.company)

    # then: what the override sets wins, the rest comes from the tenant
    assert rules.default_window_days == 30
    assert rules.window_days("workwear") == 60
    assert rules.restocking_fee_percent == Decimal("0")
    assert rules.allowed_resolutions == ("credit_note",)
    assert rules.auto_approve_enabled is True
    assert rules.auto_approve_reasons == frozenset({"defective", "damaged_in_transport"})
    assert rules.auto_approve_max_value == Decimal("1000")
    assert rules.conditions_text == "Goods must be complete."
    # non-returnables add up
    assert rules.non_returnable_categories == frozenset({"personalised"})
    assert rules.non_returnable_skus == frozenset({"ENGRAVED-1"})


def test_another_company_gets_the_tenant_rules(world_a, policy_a, customer_override):
    with tenant_context(world_a.tenant):
        rules = return_rules_for(customer_account=world_a.other_company)

    assert rules.default_window_days == 14
    assert rules.window_days("workwear") == 30
    assert rules.restocking_fee_percent == Decimal("10")
    assert rules.auto_approve_enabled is False
    assert rules.non_returnable_skus == frozenset()


def test_without_a_stored_policy_the_defaults_apply(world_a):
    with tenant_context(world_a.tenant):
        assert return_rules_for(customer_account=world_a.company) == PolicyRules()


def test_rules_never_come_from_another_tenant(world_a, world_b, policy_a):
    # given: tenant B has a very different policy
    ReturnPolicy.unscoped.create(
        tenant=world_b.tenant, default_window_days=365, restocking_fee_percent=Decimal("50")
    )

    with tenant_context(world_a.tenant):
        in_own_context = return_rules_for(customer_account=world_a.company)
    # platform code (rollups, platform admin) runs across all tenants
    with dangerously_all_tenants():
        across_tenants = return_rules_for(customer_account=world_a.company)
        for_b = return_rules_for(customer_account=world_b.company)

    assert in_own_context.default_window_days == 14
    assert across_tenants == in_own_context
    assert for_b.default_window_days == 365
    assert for_b.restocking_fee_percent == Decimal("50")


def test_override_lets_the_contract_customer_return_what_others_cannot(
    world_a, policy_a, customer_override, make_order_line, file_return
):
    # given: workwear delivered 45 days ago to both companies (tenant window 30, contract 60)
    ours = make_order_line(world_a.company, delivered_days_ago=45, category=("workwear", "W"))
    theirs = make_order_line(
        world_a.other_company, delivered_days_ago=45, category=("workwear", "W")
    )

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": ours.pk, "quantity": 1, "reason": "wrong_size"}],
        resolution="credit_note",
    )
    with pytest.raises(services.ReturnInvalid) as refused:
        file_return(
            world_a.other_company_user,
            world_a.other_company,
            [{"order_line_id": theirs.pk, "quantity": 1, "reason": "wrong_size"}],
        )

    assert rma.status == ReturnStatus.SUBMITTED
    assert refused.value.code == "policy_refused"
    assert "is 30 days; this line was delivered 45 days ago." in refused.value.message


# --- the snapshot -----------------------------------------------------------------------


def test_submitted_return_keeps_the_policy_it_was_submitted_under(
    world_a, policy_a, delivered_order, file_return
):
    # given: 4 workwear items returned for a reason that carries the 10 % restocking fee
    workwear_line = OrderLine.unscoped.get(order=delivered_order, line_number=2)
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": workwear_line.pk, "quantity": 4, "reason": "wrong_size"}],
    )
    with tenant_context(world_a.tenant):
        submitted_rules = return_rules_applied(return_request=rma)

    # when: the tenant changes its policy afterwards
    policy_a.restocking_fee_percent = Decimal("50")
    policy_a.default_window_days = 1
    policy_a.free_shipping_reasons = ["wrong_size"]
    policy_a.allowed_resolutions = ["repair"]
    policy_a.save()
    CategoryWindow.unscoped.filter(policy=policy_a).update(days=1)

    # then: the return still answers to the rules of the day it was submitted
    rma.refresh_from_db()
    with tenant_context(world_a.tenant):
        assert return_rules_applied(return_request=rma) == submitted_rules
        assert return_rules_for(customer_account=world_a.company).restocking_fee_percent == 50
    assert submitted_rules.restocking_fee_percent == Decimal("10")
    assert submitted_rules.window_days("workwear") == 30

    rma = advance(rma, ReturnStatus.INSPECTED, agent=world_a.agent)
    with tenant_context(world_a.tenant):
        rma = services.return_request_resolve(
            return_request=rma, actor=world_a.agent, resolution="refund"
        )
    # 4 × 20 = 80, 10 % fee = 8 (today's policy would take 40 or nothing)
    assert rma.accepted_value == Decimal("80.00")
    assert rma.restocking_fee == Decimal("8.00")
    assert rma.refund_total == Decimal("72.00")


def test_policy_edit_applies_to_returns_submitted_afterwards(
    world_a, policy_a, delivered_order, file_return
):
    workwear_line = OrderLine.unscoped.get(order=delivered_order, line_number=2)
    policy_a.restocking_fee_percent = Decimal("50")
    policy_a.save()

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": workwear_line.pk, "quantity": 4, "reason": "wrong_size"}],
    )
    rma = advance(rma, ReturnStatus.RESOLVED, agent=world_a.agent)

    assert rma.policy_snapshot["restocking_fee_percent"] == "50.00"
    # 4 × 20 = 80, half of it kept as the restocking fee
    assert rma.restocking_fee == Decimal("40.00")
    assert rma.refund_total == Decimal("40.00")


# --- auto-approval ----------------------------------------------------------------------


def test_qualifying_return_is_approved_automatically_by_nobody(
    world_a, policy_a, delivered_order, file_return
):
    policy_a.auto_approve_enabled = True
    policy_a.save()
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "defective"}],
    )

    row = ReturnRequest.unscoped.get(pk=rma.pk)
    assert row.status == ReturnStatus.APPROVED
    assert row.auto_approved is True
    assert row.approved_at is not None
    assert row.shipping_paid_by == "merchant"
    events = list(ReturnEvent.unscoped.filter(return_request=rma).order_by("pk"))
    assert [e.action for e in events] == ["created", "submitted", "auto_approved"]
    auto = events[-1]
    assert auto.actor is None
    assert (auto.from_status, auto.to_status) == ("submitted", "approved")
    assert events[1].actor == world_a.customer


def test_without_auto_approval_the_return_waits_for_staff(
    world_a, policy_a, delivered_order, file_return
):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "defective"}],
    )

    row = ReturnRequest.unscoped.get(pk=rma.pk)
    assert row.status == ReturnStatus.SUBMITTED
    assert row.auto_approved is False
    assert list(
        ReturnEvent.unscoped.filter(return_request=rma).values_list("action", flat=True)
    ) == ["created", "submitted"]


@pytest.mark.parametrize(
    ("reason", "quantity"),
    [("wrong_size", 1), ("defective", 5)],  # reason not in the list; 500 > limit 400
)
def test_auto_approval_needs_listed_reason_and_value_under_limit(
    world_a, policy_a, delivered_order, file_return, reason, quantity
):
    policy_a.auto_approve_enabled = True
    policy_a.auto_approve_max_value = Decimal("400")
    policy_a.save()
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": quantity, "reason": reason}],
    )

    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.SUBMITTED


# --- refusals at submit -----------------------------------------------------------------


def test_line_outside_the_window_is_refused_at_submit_and_nothing_changes(
    world_a, policy_a, make_order_line, file_return
):
    # given: a draft for workwear delivered 31 days ago (workwear window: 30 days)
    line = make_order_line(
        world_a.company, delivered_days_ago=31, category=("workwear", "Workwear")
    )
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        submit=False,
    )
    before = return_state(draft)

    # when
    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid) as refused:
        services.return_request_submit(return_request=draft, actor=world_a.customer)

    # then
    error = refused.value
    assert error.code == "policy_refused"
    reason = (
        "The return window for the category “Workwear” is 30 days; this line was delivered 31 "
        "days ago."
    )
    assert f"{line.order.number}/{line.line_number}: {reason}" in error.message
    assert error.fields == {"lines[0]": [reason]}
    assert return_state(draft) == before
    row = ReturnRequest.unscoped.get(pk=draft.pk)
    assert row.status == ReturnStatus.DRAFT
    assert row.policy_snapshot is None


def test_last_day_of_the_window_is_accepted_at_submit(
    world_a, policy_a, make_order_line, file_return
):
    line = make_order_line(
        world_a.company, delivered_days_ago=30, category=("workwear", "Workwear")
    )

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )

    assert rma.status == ReturnStatus.SUBMITTED


def test_non_returnable_and_undelivered_lines_are_refused_at_submit(
    world_a, policy_a, make_order_line, file_return
):
    personalised = make_order_line(world_a.company, returnable=False)
    undelivered = make_order_line(world_a.company, delivered_days_ago=None)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": personalised.pk, "quantity": 1, "reason": "defective"},
            {"order_line_id": undelivered.pk, "quantity": 1, "reason": "defective"},
        ],
        submit=False,
    )
    before = return_state(draft)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid) as refused:
        services.return_request_submit(return_request=draft, actor=world_a.customer)

    product = personalised.product
    assert refused.value.fields == {
        "lines[0]": [f"{product.name} ({product.sku}) cannot be returned."],
        "lines[1]": ["This line has not been delivered yet."],
    }
    assert return_state(draft) == before


def test_resolution_not_offered_to_the_customer_is_refused_at_submit(
    world_a, policy_a, customer_override, delivered_order, file_return
):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        resolution="refund",
        submit=False,
    )
    before = return_state(draft)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid) as refused:
        services.return_request_submit(return_request=draft, actor=world_a.customer)

    assert refused.value.message == "This resolution is not offered under your return policy."
    assert return_state(draft) == before


def test_customer_pays_return_shipping_unless_every_reason_is_our_fault(
    world_a, policy_a, delivered_order, file_return
):
    line1, line2 = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")

    free = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line1.pk, "quantity": 1, "reason": "wrong_item"}],
    )
    paid = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": line1.pk, "quantity": 1, "reason": "defective"},
            {"order_line_id": line2.pk, "quantity": 1, "reason": "ordered_by_mistake"},
        ],
    )

    assert free.shipping_paid_by == "merchant"
    assert paid.shipping_paid_by == "customer"
