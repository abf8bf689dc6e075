"""The returns' part of the tenant's public policy page (customers/policy_page.py): the tenant's
return rules as the policy engine applies them to a customer without a contract override, per
product category, read at each request so the page never says anything else than the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from customers.models import Product, ProductCategory
from customers.policy_page import PolicySection, plain_number

from .models import MONEY_RESOLUTIONS, Resolution, ReturnReason
from .policies import PolicyRules
from .selectors import tenant_return_rules

TEMPLATE = "policy/_returns.html"


@dataclass(frozen=True)
class CategoryTerms:
    name: str
    window_days: int | None  # None: not returnable, or returnable whatever the window
    always_returnable: bool
    not_returnable: bool
    always_reviewed: bool
    warranty_months: int | None  # None or 0: no warranty


@dataclass(frozen=True)
class ReasonTerms:
    label: str
    free_shipping: bool
    restocking_fee: bool


def _labels(choices, values) -> list[str]:
    labels = dict(choices)
    return [str(labels[value]) for value in values if value in labels]


def category_terms(rules: PolicyRules, categories) -> list[CategoryTerms]:
    rows = []
    for category in categories:
        listed = category.code in rules.always_returnable_categories
        blocked = not listed and category.code in rules.non_returnable_categories
        months = category.warranty_months
        if months is None:
            months = rules.default_warranty_months
        rows.append(
            CategoryTerms(
                name=category.name,
                window_days=None if listed or blocked else rules.window_days(category.code),
                always_returnable=listed,
                not_returnable=blocked,
                always_reviewed=category.code in rules.review_categories,
                warranty_months=months or None,
            )
        )
    return rows


def returns_section(tenant) -> PolicySection:
    rules = tenant_return_rules(tenant=tenant)
    categories = list(ProductCategory.objects.for_tenant(tenant).order_by("name", "pk"))
    # Products with a rule of their own: listed by the policy, not returnable, or with their
    # own warranty.
    listed_skus = rules.non_returnable_skus | rules.always_returnable_skus | rules.review_skus
    products = list(
        Product.objects.for_tenant(tenant)
        .filter(is_active=True)
        .filter(
            Q(sku__in=sorted(listed_skus))
            | Q(is_returnable=False)
            | Q(warranty_months__isnull=False)
        )
        .order_by("name", "sku")
    )
    always_returnable_products = [p for p in products if p.sku in rules.always_returnable_skus]
    not_returnable_products = [
        p
        for p in products
        if p.sku not in rules.always_returnable_skus
        and (not p.is_returnable or p.sku in rules.non_returnable_skus)
    ]
    reviewed_products = [p for p in products if p.sku in rules.review_skus]
    warranty_products = [p for p in products if p.warranty_months is not None]
    reasons = [
        ReasonTerms(
            label=label,
            free_shipping=reason in rules.free_shipping_reasons,
            restocking_fee=bool(rules.restocking_fee_percent)
            and reason not in rules.free_shipping_reasons,
        )
        for reason, label in ReturnReason.choices
        if reason in rules.allowed_reasons
    ]
    category_rows = category_terms(rules, categories)
    any_warranty = (
        bool(rules.default_warranty_months)
        or any(row.warranty_months for row in category_rows)
        or any(p.warranty_months for p in warranty_products)
    )
    money_resolutions = [r for r in rules.allowed_resolutions if r in MONEY_RESOLUTIONS]
    return PolicySection(
        template=TEMPLATE,
        context={
            "rules": rules,
            "default_window_days": rules.default_window_days,
            "categories": category_rows,
            "any_warranty": any_warranty,
            "always_returnable_products": always_returnable_products,
            "not_returnable_products": not_returnable_products,
            "reviewed_products": reviewed_products,
            "warranty_products": warranty_products,
            "conditions_text": rules.conditions_text,
            "reasons": reasons,
            "any_free_shipping": any(reason.free_shipping for reason in reasons),
            "restocking_fee_percent": plain_number(rules.restocking_fee_percent)
            if rules.restocking_fee_percent
            else "",
            "resolutions": _labels(Resolution.choices, rules.allowed_resolutions),
            "money_resolutions": _labels(Resolution.choices, money_resolutions),
            "ship_within_days": rules.ship_within_days,
            "decision_hours": rules.decision_hours,
            "refund_days": rules.refund_days,
            "default_warranty_months": rules.default_warranty_months or None,
            "warranty_reasons": _labels(ReturnReason.choices, rules.warranty_reasons),
            "warranty_resolutions": _labels(Resolution.choices, rules.warranty_resolutions),
        },
    )
