"""Warranty claims: a defect past the return window (or of goods not returnable) can still be
claimed while the warranty runs — the product's months, else its category's, else the
tenant policy's, replaced by a customer's contract — settled by repair or replacement."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from returns import services
from returns.models import ReturnPolicy, ReturnRequest
from returns.policies import LineFacts, PolicyRules, add_months, evaluate_line, evaluate_return
from rma_portal.tenancy.context import tenant_context

from .conftest import return_state

DELIVERED = datetime.date(2026, 1, 31)
RULES = PolicyRules(
    default_window_days=14,
    auto_approve_enabled=True,
    auto_approve_reasons=frozenset({"defective"}),
    auto_approve_max_value=Decimal("1000"),
)


def facts(**overrides) -> LineFacts:
    values = {
        "sku": "PMP-1",
        "product_name": "Pump",
        "category_code": "machine-parts",
        "category_name": "Machine parts",
        "product_returnable": True,
        "delivered_on": DELIVERED,
        "quantity_delivered": 2,
        "quantity_claimed_elsewhere": 0,
        "quantity_requested": 1,
        "unit_price": Decimal("400.00"),
        "reason": "defective",
        "warranty_months": 12,
    }
    values.update(overrides)
    return LineFacts(**values)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (datetime.date(2026, 1, 31), 1, datetime.date(2026, 2, 28)),
        (datetime.date(2027, 1, 31), 13, datetime.date(2028, 2, 29)),  # a leap year
        (datetime.date(2026, 11, 15), 2, datetime.date(2027, 1, 15)),
        (datetime.date(2026, 1, 31), 24, datetime.date(2028, 1, 31)),
    ],
)
def test_months_are_added_on_the_calendar(day, months, expected):
    assert add_months(day, months) == expected


def test_within_the_window_a_defect_is_an_ordinary_return():
    verdict = evaluate_line(RULES, facts(), today=DELIVERED + datetime.timedelta(days=14))
    assert verdict.allowed and not verdict.warranty
    assert verdict.rule == "window"
    assert verdict.warranty_until == datetime.date(2027, 1, 31)


def test_past_the_window_a_defect_is_a_warranty_claim_until_the_warranty_ends():
    last_day = datetime.date(2027, 1, 31)  # 12 months after 31 January 2026

    claimed = evaluate_line(RULES, facts(), today=last_day)
    too_late = evaluate_line(RULES, facts(), today=last_day + datetime.timedelta(days=1))

    assert claimed.allowed and claimed.warranty and claimed.rule == "warranty"
    assert claimed.refusals == []
    assert not too_late.allowed and not too_late.warranty
    assert too_late.refusals == [
        "The return window for the category “Machine parts” is 14 days; this line was delivered "
        "366 days ago."
    ]


def test_past_the_window_another_reason_is_refused_with_the_warranty_named():
    verdict = evaluate_line(RULES, facts(reason="wrong_size"), today=datetime.date(2026, 6, 1))

    assert not verdict.allowed
    assert verdict.refusals[-1] == (
        "It is under warranty until 31 Jan 2027: a defect can still be claimed (reason "
        "“Defective”)."
    )


def test_goods_not_returnable_are_still_under_warranty():
    rules = PolicyRules(**{**RULES.__dict__, "non_returnable_skus": frozenset({"PMP-1"})})
    verdict = evaluate_line(rules, facts(), today=DELIVERED + datetime.timedelta(days=3))
    assert verdict.allowed and verdict.warranty


@pytest.mark.parametrize(
    ("contract", "product", "default", "expected"),
    [
        (None, 12, 24, 12),  # the product's (or its category's) months
        (None, None, 24, 24),  # else the tenant's default
        (36, 12, 24, 36),  # a contract replaces them
        (0, 12, 24, None),  # ... even with none
        (None, None, None, None),
    ],
)
def test_whose_months_count(contract, product, default, expected):
    rules = PolicyRules(contract_warranty_months=contract, default_warranty_months=default)
    verdict = evaluate_line(rules, facts(warranty_months=product), today=DELIVERED)
    expected_day = add_months(DELIVERED, expected) if expected else None
    assert verdict.warranty_until == expected_day


def test_a_warranty_claim_is_repaired_or_replaced_and_reviewed_by_staff():
    today = datetime.date(2026, 6, 1)
    refund = evaluate_return(RULES, [facts()], resolution="refund", today=today)
    repair = evaluate_return(RULES, [facts()], resolution="repair", today=today)

    assert refund.warranty and not refund.allowed
    assert refund.refusals == ["A warranty claim is settled by Repair, Replacement."]
    assert repair.allowed and repair.warranty
    assert not repair.auto_approve
    assert "Warranty claims are always reviewed." in repair.auto_approve_reasons


def test_the_snapshot_keeps_the_warranty_rules():
    rules = PolicyRules(default_warranty_months=24, warranty_resolutions=("replacement",))
    assert PolicyRules.from_snapshot(rules.to_snapshot()) == rules
    old = rules.to_snapshot()
    for name in (
        "default_warranty_months",
        "contract_warranty_months",
        "warranty_reasons",
        "warranty_resolutions",
    ):
        del old[name]
    assert PolicyRules.from_snapshot(old) == PolicyRules()


# --- stored -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_claims_a_defect_past_the_window_and_the_return_says_so(
    world_a, policy_a, make_order_line, file_return
):
    line = make_order_line(world_a.company, delivered_days_ago=100)
    category = line.product.category
    category.warranty_months = 24
    category.save()

    with pytest.raises(services.ReturnInvalid) as refused:
        file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            resolution="refund",
        )
    assert "A warranty claim is settled by" in refused.value.message
    assert not ReturnRequest.unscoped.filter(is_warranty_claim=True).exists()

    claim = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        resolution="repair",
    )

    row = ReturnRequest.unscoped.get(pk=claim.pk)
    assert (row.status, row.is_warranty_claim) == ("submitted", True)
    assert row.policy_snapshot["warranty_resolutions"] == ["repair", "replacement"]


@pytest.mark.django_db
def test_a_contract_without_warranty_refuses_the_claim(
    world_a, policy_a, make_order_line, file_return
):
    line = make_order_line(world_a.company, delivered_days_ago=100)
    line.product.warranty_months = 24
    line.product.save()
    ReturnPolicy.unscoped.create(
        tenant=world_a.tenant, customer_account=world_a.company, warranty_months=0
    )
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
        resolution="repair",
        submit=False,
    )
    before = return_state(draft)

    with tenant_context(world_a.tenant), pytest.raises(services.ReturnInvalid):
        services.return_request_submit(return_request=draft, actor=world_a.customer)
    assert return_state(draft) == before
