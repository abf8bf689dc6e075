"""The policy's lists: goods always returnable (before windows and non-returnable lists),
goods always reviewed (never approved automatically), and a customer listed as a whole by its
contract (always returnable, always reviewed, refused)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from customers.models import OrderLine
from returns import services
from returns.models import ReturnEvent, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import (
    LineFacts,
    PolicyLayer,
    PolicyRules,
    effective_rules,
    evaluate_line,
    evaluate_return,
)
from returns.selectors import return_rules_for
from rma_portal.tenancy.context import tenant_context
from tests.factories import ProductCategoryFactory, ProductFactory

from .conftest import return_state

DELIVERED = datetime.date(2026, 3, 2)
LATE = DELIVERED + datetime.timedelta(days=40)  # beyond every window below
RULES = PolicyRules(
    default_window_days=14,
    non_returnable_categories=frozenset({"personalised"}),
    auto_approve_enabled=True,
    auto_approve_reasons=frozenset({"defective"}),
    auto_approve_max_value=Decimal("1000"),
)


def facts(**overrides) -> LineFacts:
    values = {
        "sku": "MUG-1",
        "product_name": "Engraved mug",
        "category_code": "personalised",
        "category_name": "Personalised goods",
        "product_returnable": True,
        "delivered_on": DELIVERED,
        "quantity_delivered": 5,
        "quantity_claimed_elsewhere": 0,
        "quantity_requested": 2,
        "unit_price": Decimal("10.00"),
        "reason": "defective",
    }
    values.update(overrides)
    return LineFacts(**values)


def with_(**changes) -> PolicyRules:
    return PolicyRules(**{**RULES.__dict__, **changes})


# --- always returnable ------------------------------------------------------------------


def test_without_a_list_the_window_and_the_non_returnable_category_refuse():
    verdict = evaluate_line(RULES, facts(), today=LATE)
    assert not verdict.allowed
    assert len(verdict.refusals) == 2
    assert verdict.always_returnable is False


@pytest.mark.parametrize(
    "listed",
    [
        {"always_returnable_skus": frozenset({"MUG-1"})},
        {"always_returnable_categories": frozenset({"personalised"})},
        {"customer_listing": "allow"},
    ],
)
def test_always_returnable_goods_pass_the_window_and_the_non_returnable_lists(listed):
    verdict = evaluate_line(with_(**listed), facts(product_returnable=False), today=LATE)

    assert verdict.allowed, verdict.refusals
    assert verdict.always_returnable
    assert verdict.last_day is None


def test_always_returnable_goods_still_need_delivery_quantity_and_an_accepted_reason():
    rules = with_(
        always_returnable_skus=frozenset({"MUG-1"}),
        allowed_reasons=("defective",),
    )
    verdict = evaluate_line(
        rules,
        facts(quantity_requested=6, reason="wrong_size"),
        today=LATE,
    )
    assert not verdict.allowed
    assert any("Only 5 of 5" in text for text in verdict.refusals)
    assert any("reason is not accepted" in text for text in verdict.refusals)
    undelivered = evaluate_line(rules, facts(delivered_on=None), today=LATE)
    assert undelivered.refusals == ["This line has not been delivered yet."]


# --- always reviewed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "because"),
    [
        ({"review_skus": frozenset({"SAW-9"})}, "Goods that are always reviewed: SAW-9."),
        (
            {"review_categories": frozenset({"tools"})},
            "Goods that are always reviewed: SAW-9.",
        ),
        ({"customer_listing": "review"}, "The customer's returns are always reviewed."),
    ],
)
def test_always_reviewed_returns_are_never_approved_automatically(listed, because):
    saw = facts(sku="SAW-9", category_code="tools", category_name="Tools")
    assert evaluate_return(RULES, [saw], resolution="", today=DELIVERED).auto_approve

    verdict = evaluate_return(with_(**listed), [saw], resolution="", today=DELIVERED)

    assert verdict.allowed and not verdict.auto_approve
    assert verdict.auto_approve_reasons == [because]


# --- a customer refused ------------------------------------------------------------------


def test_a_refused_customer_returns_nothing_through_the_portal():
    line = facts(category_code="tools", category_name="Tools")

    verdict = evaluate_return(
        with_(customer_listing="refuse"), [line], resolution="", today=DELIVERED
    )

    assert not verdict.allowed
    assert verdict.lines[0].allowed  # the line itself is fine: the customer is refused
    assert verdict.refusals == [
        "Returns of your company are not accepted here: please contact us and we will "
        "handle the return with you."
    ]


# --- layers and snapshots -------------------------------------------------------------------


def test_the_lists_of_the_tenant_and_the_contract_add_up_and_the_contract_lists_the_customer():
    rules = effective_rules(
        [
            PolicyLayer(
                always_returnable_skus=frozenset({"A"}), review_categories=frozenset({"x"})
            ),
            PolicyLayer(
                always_returnable_skus=frozenset({"B"}),
                review_skus=frozenset({"C"}),
                customer_listing="review",
            ),
        ]
    )

    assert rules.always_returnable_skus == {"A", "B"}
    assert (rules.review_categories, rules.review_skus) == ({"x"}, {"C"})
    assert rules.customer_listing == "review"
    assert PolicyRules.from_snapshot(rules.to_snapshot()) == rules


def test_a_snapshot_from_before_the_lists_has_none():
    snapshot = RULES.to_snapshot()
    for name in (
        "always_returnable_categories",
        "always_returnable_skus",
        "review_categories",
        "review_skus",
        "customer_listing",
    ):
        del snapshot[name]

    assert PolicyRules.from_snapshot(snapshot) == RULES


# --- stored policies ------------------------------------------------------------------------


@pytest.mark.django_db
def test_stored_lists_reach_the_rules_of_each_customer(world_a, policy_a):
    tenant = world_a.tenant
    mug = ProductFactory(tenant=tenant, sku="MUG-1")
    tools = ProductCategoryFactory(tenant=tenant, code="tools", name="Tools")
    policy_a.always_returnable_products.add(mug)
    policy_a.review_categories.add(tools)
    ReturnPolicy.unscoped.create(
        tenant=tenant, customer_account=world_a.company, customer_listing="refuse"
    )

    with tenant_context(tenant):
        ours = return_rules_for(customer_account=world_a.company)
        theirs = return_rules_for(customer_account=world_a.other_company)

    assert ours.always_returnable_skus == theirs.always_returnable_skus == {"MUG-1"}
    assert ours.review_categories == theirs.review_categories == {"tools"}
    assert (ours.customer_listing, theirs.customer_listing) == ("refuse", "")


@pytest.mark.django_db
def test_only_a_customers_override_lists_the_customer(world_a, policy_a):
    policy_a.customer_listing = "allow"
    with tenant_context(world_a.tenant), pytest.raises(ValidationError) as refused:
        policy_a.full_clean()
    assert "customer_listing" in refused.value.message_dict


@pytest.mark.django_db
def test_a_refused_customers_return_is_refused_and_nothing_is_written(
    world_a, policy_a, delivered_order, file_return
):
    ReturnPolicy.unscoped.create(
        tenant=world_a.tenant, customer_account=world_a.company, customer_listing="refuse"
    )
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        submit=False,
    )
    before = return_state(draft)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid) as refused:
        services.return_request_submit(return_request=draft, actor=world_a.customer)

    assert refused.value.code == "policy_refused"
    assert "not accepted here" in refused.value.message
    assert return_state(draft) == before


@pytest.mark.django_db
def test_staff_file_for_a_refused_customer_with_a_reason(world_a, policy_a, delivered_order):
    ReturnPolicy.unscoped.create(
        tenant=world_a.tenant, customer_account=world_a.company, customer_listing="refuse"
    )
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)

    with tenant_context(world_a.tenant):
        rma = services.return_request_file_for_customer(
            actor=world_a.agent,
            customer_id=world_a.customer.pk,
            lines=[services.LineInput(order_line_id=line.pk, quantity=1, reason="defective")],
            requested_resolution="refund",
            return_method="drop_off",
            channel="phone",
            submit=True,
            override_reason="Agreed on the phone with the key account manager.",
        )

    assert rma.status == ReturnStatus.SUBMITTED
    note = ReturnEvent.unscoped.get(return_request=rma, action=services.POLICY_OVERRIDDEN).note
    assert "not accepted here" in note


@pytest.mark.django_db
def test_an_always_reviewed_product_waits_for_staff_though_auto_approval_would_take_it(
    world_a, policy_a, delivered_order, file_return
):
    policy_a.auto_approve_enabled = True
    policy_a.save()
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    policy_a.review_products.add(line.product)

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )

    assert ReturnRequest.unscoped.get(pk=rma.pk).status == ReturnStatus.SUBMITTED


@pytest.mark.django_db
def test_an_always_returnable_category_is_returned_after_its_window(
    world_a, policy_a, make_order_line, file_return
):
    late = make_order_line(world_a.company, delivered_days_ago=45, category=("workwear", "W"))
    policy_a.always_returnable_categories.add(late.product.category)

    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": late.pk, "quantity": 1, "reason": "wrong_size"}],
    )

    assert rma.status == ReturnStatus.SUBMITTED
