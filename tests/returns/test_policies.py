"""The pure return policy engine: windows, returnability, quantities, auto-approval, money.

No database: rules and line facts are built in memory, `today` is passed explicitly.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from returns.policies import (
    ALL_REASONS,
    ALL_RESOLUTIONS,
    DEFAULT_FREE_SHIPPING_REASONS,
    LineFacts,
    LineSettlement,
    PolicyLayer,
    PolicyRules,
    effective_rules,
    evaluate_line,
    evaluate_return,
    settle,
)

DELIVERED = datetime.date(2026, 3, 2)


def days_after(n: int) -> datetime.date:
    return DELIVERED + datetime.timedelta(days=n)


def facts(**overrides) -> LineFacts:
    values = {
        "sku": "WW-001",
        "product_name": "Work jacket",
        "category_code": "workwear",
        "category_name": "Workwear",
        "product_returnable": True,
        "delivered_on": DELIVERED,
        "quantity_delivered": 5,
        "quantity_claimed_elsewhere": 0,
        "quantity_requested": 2,
        "unit_price": Decimal("100.00"),
        "reason": "defective",
    }
    values.update(overrides)
    return LineFacts(**values)


RULES = PolicyRules(default_window_days=14, category_windows={"workwear": 30})


# --- return window ----------------------------------------------------------------------


def test_last_day_of_category_window_is_still_in():
    verdict = evaluate_line(RULES, facts(), today=days_after(30))

    assert verdict.allowed
    assert verdict.refusals == []
    assert verdict.window_days == 30
    assert verdict.last_day == days_after(30)


def test_day_after_category_window_is_refused_with_readable_reason():
    verdict = evaluate_line(RULES, facts(), today=days_after(31))

    assert not verdict.allowed
    assert verdict.refusals == [
        "The return window for the category “Workwear” is 30 days; this line was delivered 31 "
        "days ago."
    ]


def test_category_without_own_window_uses_default_window():
    line = facts(category_code="electronics", category_name="Electronics")

    assert evaluate_line(RULES, line, today=days_after(14)).allowed
    late = evaluate_line(RULES, line, today=days_after(15))
    assert late.window_days == 14
    assert late.refusals == [
        "The return window for the category “Electronics” is 14 days; this line was delivered 15 "
        "days ago."
    ]


def test_category_window_can_be_shorter_than_default():
    rules = PolicyRules(default_window_days=30, category_windows={"office": 7})
    line = facts(category_code="office", category_name="Office supplies")

    assert evaluate_line(rules, line, today=days_after(7)).allowed
    assert evaluate_line(rules, line, today=days_after(8)).refusals == [
        "The return window for the category “Office supplies” is 7 days; this line was delivered "
        "8 days ago."
    ]


def test_one_day_window_message_is_singular():
    rules = PolicyRules(default_window_days=1)

    verdict = evaluate_line(rules, facts(), today=days_after(2))

    assert verdict.refusals == [
        "The return window for the category “Workwear” is 1 day; this line was delivered 2 days "
        "ago."
    ]


def test_category_code_is_shown_when_category_has_no_name():
    verdict = evaluate_line(RULES, facts(category_name=""), today=days_after(31))

    assert verdict.refusals[0].startswith(
        "The return window for the category “workwear” is 30 days"
    )


# --- returnability ----------------------------------------------------------------------


def test_product_marked_not_returnable_is_refused():
    verdict = evaluate_line(RULES, facts(product_returnable=False), today=days_after(1))

    assert not verdict.allowed
    assert verdict.refusals == ["Work jacket (WW-001) cannot be returned."]


def test_product_listed_as_non_returnable_in_policy_is_refused():
    rules = PolicyRules(non_returnable_skus=frozenset({"WW-001"}))

    verdict = evaluate_line(rules, facts(), today=days_after(1))

    assert verdict.refusals == ["Work jacket (WW-001) cannot be returned."]


def test_non_returnable_category_is_refused_naming_the_category():
    rules = PolicyRules(non_returnable_categories=frozenset({"workwear"}))

    verdict = evaluate_line(rules, facts(), today=days_after(1))

    assert verdict.refusals == ["Goods in the category “Workwear” cannot be returned."]


def test_other_products_and_categories_stay_returnable():
    rules = PolicyRules(
        non_returnable_categories=frozenset({"personalised"}),
        non_returnable_skus=frozenset({"OTHER-SKU"}),
    )

    assert evaluate_line(rules, facts(), today=days_after(1)).allowed


def test_undelivered_line_is_refused():
    verdict = evaluate_line(RULES, facts(delivered_on=None), today=days_after(1))

    assert not verdict.allowed
    assert verdict.refusals == ["This line has not been delivered yet."]
    assert verdict.last_day is None


# --- reasons and resolutions ------------------------------------------------------------


def test_reason_outside_allowed_list_is_refused():
    rules = PolicyRules(allowed_reasons=("defective", "wrong_item"))

    verdict = evaluate_line(rules, facts(reason="ordered_by_mistake"), today=days_after(1))

    assert verdict.refusals == ["This reason is not accepted under your return policy."]
    assert evaluate_line(rules, facts(reason="wrong_item"), today=days_after(1)).allowed


def test_resolution_outside_allowed_list_refuses_the_return():
    rules = PolicyRules(allowed_resolutions=("credit_note", "repair"))

    refused = evaluate_return(rules, [facts()], resolution="refund", today=days_after(1))
    accepted = evaluate_return(rules, [facts()], resolution="credit_note", today=days_after(1))

    assert not refused.allowed
    assert refused.refusals == ["This resolution is not offered under your return policy."]
    assert refused.lines[0].allowed  # the line itself is fine: the refusal is about the return
    assert accepted.allowed


def test_return_without_lines_is_refused():
    verdict = evaluate_return(RULES, [], resolution="refund", today=days_after(1))

    assert not verdict.allowed
    assert verdict.refusals == ["Choose at least one line to return."]
    assert not verdict.free_shipping
    assert not verdict.auto_approve


def test_every_refusal_of_a_line_is_listed():
    rules = PolicyRules(default_window_days=10, allowed_reasons=("defective",))
    line = facts(
        category_code="tools",
        category_name="Tools",
        product_returnable=False,
        reason="wrong_size",
        quantity_requested=9,
    )

    verdict = evaluate_line(rules, line, today=days_after(12))

    assert verdict.refusals == [
        "Work jacket (WW-001) cannot be returned.",
        "The return window for the category “Tools” is 10 days; this line was delivered 12 days "
        "ago.",
        "This reason is not accepted under your return policy.",
        "Only 5 of 5 can still be returned (0 already in other returns); you asked for 9.",
    ]


# --- quantities -------------------------------------------------------------------------


def test_more_than_delivered_minus_claimed_is_refused_with_the_numbers():
    line = facts(quantity_delivered=5, quantity_claimed_elsewhere=3, quantity_requested=3)

    verdict = evaluate_line(RULES, line, today=days_after(1))

    assert not verdict.allowed
    assert verdict.returnable_quantity == 2
    assert verdict.refusals == [
        "Only 2 of 5 can still be returned (3 already in other returns); you asked for 3."
    ]


def test_exactly_the_remaining_quantity_is_allowed():
    line = facts(quantity_delivered=5, quantity_claimed_elsewhere=3, quantity_requested=2)

    assert evaluate_line(RULES, line, today=days_after(1)).allowed


def test_nothing_left_when_other_returns_claim_more_than_delivered():
    line = facts(quantity_delivered=5, quantity_claimed_elsewhere=7, quantity_requested=1)

    verdict = evaluate_line(RULES, line, today=days_after(1))

    assert verdict.returnable_quantity == 0
    assert not verdict.allowed


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_below_one_is_refused(quantity):
    verdict = evaluate_line(RULES, facts(quantity_requested=quantity), today=days_after(1))

    assert verdict.refusals == ["Quantity must be at least 1."]


# --- merging the tenant policy with a customer override ---------------------------------


def test_no_layers_give_the_defaults():
    assert effective_rules([]) == PolicyRules()
    assert effective_rules([PolicyLayer(), PolicyLayer()]) == PolicyRules()


def test_customer_override_wins_for_scalars_it_sets():
    tenant = PolicyLayer(
        default_window_days=14,
        restocking_fee_percent=Decimal("10"),
        auto_approve_enabled=False,
        auto_approve_max_value=Decimal("500"),
        conditions_text="Complete and clean.",
    )
    customer = PolicyLayer(
        default_window_days=60,
        restocking_fee_percent=Decimal("0"),
        auto_approve_enabled=True,
        auto_approve_max_value=Decimal("5000"),
        conditions_text="Contract 2026/7.",
    )

    rules = effective_rules([tenant, customer])

    assert rules.default_window_days == 60
    assert rules.restocking_fee_percent == Decimal("0")
    assert rules.auto_approve_enabled is True
    assert rules.auto_approve_max_value == Decimal("5000")
    assert rules.conditions_text == "Contract 2026/7."


def test_customer_override_inherits_what_it_leaves_empty():
    tenant = PolicyLayer(
        default_window_days=21,
        restocking_fee_percent=Decimal("15"),
        auto_approve_enabled=True,
        allowed_reasons=["defective", "wrong_item"],
        conditions_text="Complete and clean.",
    )

    rules = effective_rules([tenant, PolicyLayer()])

    assert rules.default_window_days == 21
    assert rules.restocking_fee_percent == Decimal("15")
    assert rules.auto_approve_enabled is True
    assert rules.allowed_reasons == ("defective", "wrong_item")
    assert rules.conditions_text == "Complete and clean."


def test_false_and_zero_in_an_override_are_values_not_inheritance():
    tenant = PolicyLayer(auto_approve_enabled=True, default_window_days=14)
    customer = PolicyLayer(auto_approve_enabled=False, default_window_days=0)

    rules = effective_rules([tenant, customer])

    assert rules.auto_approve_enabled is False
    assert rules.default_window_days == 0


def test_customer_override_replaces_lists():
    tenant = PolicyLayer(
        allowed_reasons=["defective", "wrong_item", "wrong_size"],
        allowed_resolutions=["refund", "credit_note"],
        free_shipping_reasons=["defective"],
        auto_approve_reasons=["defective"],
    )
    customer = PolicyLayer(
        allowed_reasons=["defective"],
        allowed_resolutions=["replacement"],
        free_shipping_reasons=["defective", "wrong_size"],
        auto_approve_reasons=["wrong_item"],
    )

    rules = effective_rules([tenant, customer])

    assert rules.allowed_reasons == ("defective",)
    assert rules.allowed_resolutions == ("replacement",)
    assert rules.free_shipping_reasons == frozenset({"defective", "wrong_size"})
    assert rules.auto_approve_reasons == frozenset({"wrong_item"})


def test_customer_category_window_overrides_that_category_only():
    tenant = PolicyLayer(category_windows={"workwear": 30, "electronics": 14})
    customer = PolicyLayer(category_windows={"workwear": 60, "office": 7})

    rules = effective_rules([tenant, customer])

    assert rules.category_windows == {"workwear": 60, "electronics": 14, "office": 7}
    assert rules.window_days("workwear") == 60
    assert rules.window_days("electronics") == 14
    assert rules.window_days("tools") == rules.default_window_days


def test_non_returnable_products_and_categories_add_up():
    tenant = PolicyLayer(
        non_returnable_categories=frozenset({"personalised"}),
        non_returnable_skus=frozenset({"SKU-1"}),
    )
    customer = PolicyLayer(
        non_returnable_categories=frozenset({"hazardous"}),
        non_returnable_skus=frozenset({"SKU-2"}),
    )

    rules = effective_rules([tenant, customer])

    assert rules.non_returnable_categories == frozenset({"personalised", "hazardous"})
    assert rules.non_returnable_skus == frozenset({"SKU-1", "SKU-2"})


def test_later_layer_wins_so_order_matters():
    tenant = PolicyLayer(default_window_days=14)
    customer = PolicyLayer(default_window_days=60)

    assert effective_rules([customer, tenant]).default_window_days == 14


# --- auto-approval ----------------------------------------------------------------------

AUTO = PolicyRules(
    auto_approve_enabled=True,
    auto_approve_reasons=frozenset({"defective", "damaged_in_transport"}),
    auto_approve_max_value=Decimal("1000"),
)


def test_auto_approval_when_every_condition_holds():
    verdict = evaluate_return(
        AUTO,
        [facts(reason="defective"), facts(reason="damaged_in_transport", sku="WW-002")],
        resolution="refund",
        today=days_after(1),
    )

    assert verdict.allowed
    assert verdict.auto_approve
    assert verdict.auto_approve_reasons == []


def test_value_equal_to_the_limit_is_auto_approved():
    line = facts(quantity_requested=4, quantity_delivered=10, unit_price=Decimal("250.00"))

    verdict = evaluate_return(AUTO, [line], resolution="refund", today=days_after(1))

    assert verdict.requested_value == Decimal("1000.00")
    assert verdict.auto_approve


def test_no_auto_approval_when_one_reason_is_not_in_the_list():
    verdict = evaluate_return(
        AUTO,
        [facts(reason="defective"), facts(reason="wrong_size", sku="WW-002")],
        resolution="refund",
        today=days_after(1),
    )

    assert verdict.allowed
    assert not verdict.auto_approve
    assert verdict.auto_approve_reasons == ["A reason is not in the auto-approval list."]


def test_no_auto_approval_above_the_value_limit():
    line = facts(quantity_requested=5, unit_price=Decimal("200.01"))

    verdict = evaluate_return(AUTO, [line], resolution="refund", today=days_after(1))

    assert verdict.requested_value == Decimal("1000.05")
    assert not verdict.auto_approve
    assert verdict.auto_approve_reasons == [
        "The value 1000.05 is above the auto-approval limit 1000."
    ]


def test_no_auto_approval_when_switched_off():
    rules = PolicyRules(
        auto_approve_enabled=False,
        auto_approve_reasons=AUTO.auto_approve_reasons,
        auto_approve_max_value=AUTO.auto_approve_max_value,
    )

    verdict = evaluate_return(rules, [facts()], resolution="refund", today=days_after(1))

    assert verdict.allowed
    assert not verdict.auto_approve
    assert verdict.auto_approve_reasons == ["Auto-approval is off."]


def test_refused_return_is_never_auto_approved():
    verdict = evaluate_return(AUTO, [facts()], resolution="refund", today=days_after(15))

    assert not verdict.allowed
    assert not verdict.auto_approve


# --- return shipping --------------------------------------------------------------------


def test_free_shipping_when_every_reason_is_a_defect_or_our_error():
    lines = [
        facts(reason=reason, sku=f"SKU-{i}")
        for i, reason in enumerate(DEFAULT_FREE_SHIPPING_REASONS)
    ]

    verdict = evaluate_return(PolicyRules(), lines, resolution="refund", today=days_after(1))

    assert verdict.free_shipping


@pytest.mark.parametrize("reason", sorted(set(ALL_REASONS) - set(DEFAULT_FREE_SHIPPING_REASONS)))
def test_customer_pays_shipping_when_one_reason_is_not_our_fault(reason):
    lines = [facts(reason="defective"), facts(reason=reason, sku="WW-002")]

    verdict = evaluate_return(PolicyRules(), lines, resolution="refund", today=days_after(1))

    assert not verdict.free_shipping


# --- settlement -------------------------------------------------------------------------


def test_restocking_fee_only_on_lines_the_customer_pays_shipping_for():
    rules = PolicyRules(restocking_fee_percent=Decimal("10"))

    settlement = settle(
        rules,
        [
            LineSettlement(accepted_quantity=2, unit_price=Decimal("100.00"), reason="defective"),
            LineSettlement(accepted_quantity=3, unit_price=Decimal("20.00"), reason="wrong_size"),
        ],
    )

    assert settlement.line_amounts == [Decimal("200.00"), Decimal("54.00")]
    assert settlement.accepted_value == Decimal("260.00")
    assert settlement.restocking_fee == Decimal("6.00")
    assert settlement.total == Decimal("254.00")


def test_fee_is_rounded_half_up_to_cents_and_amounts_add_up():
    rules = PolicyRules(restocking_fee_percent=Decimal("12.5"))
    lines = [
        # 12.5 % of 0.20 is 0.025: half up gives 0.03 (banker's rounding would give 0.02)
        LineSettlement(accepted_quantity=1, unit_price=Decimal("0.20"), reason="wrong_size"),
        # 12.5 % of 3 × 33.33 = 99.99 is 12.49875 → 12.50
        LineSettlement(accepted_quantity=3, unit_price=Decimal("33.33"), reason="other"),
    ]

    settlement = settle(rules, lines)

    assert settlement.line_amounts == [Decimal("0.17"), Decimal("87.49")]
    assert settlement.restocking_fee == Decimal("12.53")
    assert settlement.accepted_value == Decimal("100.19")
    assert settlement.total == Decimal("87.66")
    assert sum(settlement.line_amounts) == settlement.total
    for amount in [*settlement.line_amounts, settlement.total, settlement.restocking_fee]:
        assert amount.as_tuple().exponent == -2


def test_nothing_accepted_means_nothing_paid():
    rules = PolicyRules(restocking_fee_percent=Decimal("10"))

    settlement = settle(
        rules,
        [LineSettlement(accepted_quantity=0, unit_price=Decimal("99.99"), reason="wrong_size")],
    )

    assert settlement.line_amounts == [Decimal("0.00")]
    assert settlement.total == Decimal("0.00")
    assert settlement.restocking_fee == Decimal("0.00")


def test_no_fee_without_a_restocking_percentage():
    settlement = settle(
        PolicyRules(),
        [LineSettlement(accepted_quantity=2, unit_price=Decimal("19.99"), reason="wrong_size")],
    )

    assert settlement.restocking_fee == Decimal("0")
    assert settlement.total == Decimal("39.98")


def test_fee_follows_the_policy_list_of_free_shipping_reasons():
    rules = PolicyRules(
        restocking_fee_percent=Decimal("20"), free_shipping_reasons=frozenset({"wrong_size"})
    )

    settlement = settle(
        rules,
        [
            LineSettlement(accepted_quantity=1, unit_price=Decimal("50.00"), reason="wrong_size"),
            LineSettlement(accepted_quantity=1, unit_price=Decimal("50.00"), reason="defective"),
        ],
    )

    assert settlement.line_amounts == [Decimal("50.00"), Decimal("40.00")]


# --- snapshot ---------------------------------------------------------------------------


def test_snapshot_round_trip_keeps_every_rule():
    rules = PolicyRules(
        default_window_days=21,
        category_windows={"workwear": 30, "electronics": 14},
        non_returnable_categories=frozenset({"personalised"}),
        non_returnable_skus=frozenset({"SKU-1", "SKU-2"}),
        conditions_text="Complete, in original packaging.",
        restocking_fee_percent=Decimal("12.50"),
        free_shipping_reasons=frozenset({"defective"}),
        allowed_reasons=("defective", "wrong_item", "other"),
        allowed_resolutions=("credit_note", "repair"),
        auto_approve_enabled=True,
        auto_approve_reasons=frozenset({"defective"}),
        auto_approve_max_value=Decimal("750.00"),
    )

    snapshot = rules.to_snapshot()
    stored = json.loads(json.dumps(snapshot))  # as it comes back from a JSONField

    assert PolicyRules.from_snapshot(stored) == rules
    assert PolicyRules.from_snapshot(stored).to_snapshot() == snapshot


def test_snapshot_of_default_rules_round_trips():
    rules = PolicyRules()

    assert PolicyRules.from_snapshot(json.loads(json.dumps(rules.to_snapshot()))) == rules
    assert rules.allowed_reasons == ALL_REASONS
    assert rules.allowed_resolutions == ALL_RESOLUTIONS
