"""Demo data of the returns app for `manage.py seed_demo`: the tenant's return policy and a
handful of returns in every stage of the process, filed through the real services.

The policy is found by its natural key (one per tenant); returns are only created while the
tenant has none, so a rerun creates nothing.
"""

from __future__ import annotations

import datetime
import math
import random
from decimal import Decimal

from django.utils import timezone

from customers.models import CustomerAccount, CustomerMembership, OrderLine, ProductCategory
from customers.update_cadence import start_missing
from rma_portal.accounts.models import Role, User
from rma_portal.tenancy.models import Tenant

from . import services
from .models import (
    UPDATE_CADENCE_STATUSES,
    ApprovalLevel,
    CategoryWindow,
    CustomerListing,
    ReturnPolicy,
    ReturnRequest,
)
from .selectors import claimed_quantities, tenant_today

CATEGORY_WINDOWS = {"electronics": 14, "workwear": 30, "office-supplies": 7, "machine-parts": 30}
AUTO_APPROVE_LIMIT = {"PLN": Decimal("2000"), "EUR": Decimal("500")}
CONDITIONS = (
    "Goods must be returned complete, in their original packaging where possible. "
    "Personalised goods cannot be returned. Defective goods and our mistakes are collected "
    "free of charge; other returns carry a 10 % restocking fee."
)
# (stage the return is taken to, reason, resolution wanted)
DEMO_RETURNS = (
    ("submitted", "wrong_size", "replacement"),
    ("submitted", "ordered_by_mistake", "credit_note"),
    ("needs_info", "not_as_described", "refund"),
    ("approved", "wrong_item", "replacement"),
    ("approved", "defective", "repair"),
    ("received", "wrong_size", "credit_note"),
    ("inspected", "damaged_in_transport", "refund"),
    ("resolved", "defective", "credit_note"),
)


def seed(*, tenant: Tenant, rng: random.Random) -> dict[str, int]:
    created = {"return policies": _seed_policy(tenant)}
    created["returns"] = 0 if ReturnRequest.objects.exists() else _seed_returns(tenant, rng)
    return created


# (coordinator approves from, manager approves from), by the tenant's currency (seed_last).
APPROVAL_LIMITS = {
    "PLN": (Decimal("3000.00"), Decimal("10000.00")),
    "EUR": (Decimal("750.00"), Decimal("2500.00")),
}
# Always reviewed in the demo tenants' policy (seed_last).
REVIEWED_CATEGORY = "electronics"


def seed_last(*, tenant: Tenant) -> dict[str, int]:
    """After the demo's history: the contract of the tenant's last customer company (by
    number) lists it as always reviewed and gives it 45 days to send the goods; electronics
    are always reviewed for everyone, and approval tiers apply (docs/returns-rules.md). The
    history's returns with the merchant get their customer-update cadence."""
    started = start_missing(
        ReturnRequest.objects.all(),
        tenant=tenant,
        now=timezone.now(),
        running_statuses=UPDATE_CADENCE_STATUSES,
    )
    cadence = {"customer-update clocks started": started}
    company = CustomerAccount.objects.order_by("-number").first()
    if company is None or ReturnPolicy.objects.filter(customer_account=company).exists():
        return cadence
    override = ReturnPolicy(
        tenant=tenant,
        customer_account=company,
        customer_listing=CustomerListing.REVIEW,
        ship_within_days=45,
        conditions_text=f"Framework contract {company.number}: every return is reviewed.",
    )
    override.full_clean()
    override.save()
    tenant_policy = ReturnPolicy.objects.filter(customer_account__isnull=True).first()
    reviewed = ProductCategory.objects.filter(code=REVIEWED_CATEGORY).first()
    if tenant_policy is not None and reviewed is not None:
        tenant_policy.review_categories.add(reviewed)
    if tenant_policy is not None:
        # Larger returns need a coordinator, the largest a manager (docs/returns-rules.md).
        coordinator, manager = APPROVAL_LIMITS.get(tenant.currency, APPROVAL_LIMITS["PLN"])
        tenant_policy.approval_coordinator_from = coordinator
        tenant_policy.approval_manager_from = manager
        tenant_policy.override_approval = ApprovalLevel.COORDINATOR
        tenant_policy.save()
    return {
        **cadence,
        "contract overrides": 1,
        "returns awaiting approval": _seed_awaiting_approval(tenant),
        "warranty claims": _seed_warranty_claim(tenant),
    }


def _seed_warranty_claim(tenant: Tenant) -> int:
    """A defect found months after delivery, past the return window but under the category's
    warranty: filed as a warranty claim for repair (docs/returns-rules.md#warranty-claims)."""
    today = tenant_today(tenant)
    lines = (
        OrderLine.objects.filter(
            order__delivery_date__gte=today - datetime.timedelta(days=300),
            order__delivery_date__lte=today - datetime.timedelta(days=60),
            product__is_returnable=True,
            product__is_serial_tracked=False,
            product__category__warranty_months__gte=12,
        )
        .exclude(product__category__code__in=["personalised", REVIEWED_CATEGORY])
        .select_related("order")
        .order_by("-order__delivery_date", "pk")[:50]
    )
    lines = list(lines)
    claimed = claimed_quantities(order_line_ids=[line.pk for line in lines])
    requesters = {
        m.customer_account_id: m.user
        for m in CustomerMembership.objects.select_related("user").order_by("user__email")
    }
    for line in lines:
        requester = requesters.get(line.order.customer_account_id)
        if requester is None or claimed[line.pk] >= line.quantity:
            continue
        draft = services.return_request_create(
            customer_account=line.order.customer_account,
            requester=requester,
            lines=[
                services.LineInput(
                    order_line_id=line.pk,
                    quantity=1,
                    reason="defective",
                    comment="Demo: stopped working after four months of normal use.",
                )
            ],
            requested_resolution="repair",
            return_method="drop_off",
        )
        rma = services.return_request_submit(return_request=draft, actor=requester)
        return int(rma.is_warranty_claim)
    return 0


def _seed_awaiting_approval(tenant: Tenant) -> int:
    """One return worth the coordinators' limit, filed now under the approval tiers, which the
    agent recommends: it waits in the "Awaiting approval" queue (docs/returns-rules.md)."""
    agent = User.objects.filter(tenant=tenant, role=Role.AGENT, is_active=True).first()
    limit = APPROVAL_LIMITS.get(tenant.currency, APPROVAL_LIMITS["PLN"])[0]
    today = tenant_today(tenant)
    lines = list(
        OrderLine.objects.filter(
            order__delivery_date__gte=today - datetime.timedelta(days=6),
            order__delivery_date__lte=today,
            product__is_returnable=True,
            product__is_serial_tracked=False,
            unit_price__gt=0,
        )
        .exclude(product__category__code__in=["personalised", REVIEWED_CATEGORY])
        .select_related("order")
        .order_by("-unit_price", "pk")
    )
    claimed = claimed_quantities(order_line_ids=[line.pk for line in lines])
    requesters = {
        m.customer_account_id: m.user
        for m in CustomerMembership.objects.select_related("user").order_by("user__email")
    }
    for line in lines:
        quantity = math.ceil(limit / line.unit_price)
        requester = requesters.get(line.order.customer_account_id)
        if requester is not None and quantity <= line.quantity - claimed[line.pk]:
            break
    else:
        return 0
    if agent is None:
        return 0
    draft = services.return_request_create(
        customer_account=line.order.customer_account,
        requester=requester,
        lines=[
            services.LineInput(
                order_line_id=line.pk, quantity=quantity, reason="ordered_by_mistake"
            )
        ],
        requested_resolution="credit_note",
        return_method="drop_off",
    )
    rma = services.return_request_submit(return_request=draft, actor=requester)
    if rma.status != "submitted" or not rma.approval_level:
        return 0
    services.return_request_ask_approval(
        return_request=rma,
        actor=agent,
        note="Demo: a regular customer who ordered twice by mistake; I recommend approval.",
    )
    return 1


def _seed_policy(tenant: Tenant) -> int:
    if ReturnPolicy.objects.filter(customer_account__isnull=True).exists():
        return 0
    policy = ReturnPolicy.objects.create(
        tenant=tenant,
        default_window_days=14,
        conditions_text=CONDITIONS,
        restocking_fee_percent=Decimal("10"),
        free_shipping_reasons=["damaged_in_transport", "defective", "wrong_item"],
        auto_approve_enabled=True,
        auto_approve_reasons=["damaged_in_transport", "defective"],
        auto_approve_max_value=AUTO_APPROVE_LIMIT.get(tenant.currency, Decimal("1000")),
    )
    categories = {c.code: c for c in ProductCategory.objects.all()}
    CategoryWindow.objects.bulk_create(
        CategoryWindow(tenant=tenant, policy=policy, category=categories[code], days=days)
        for code, days in CATEGORY_WINDOWS.items()
        if code in categories
    )
    if "personalised" in categories:
        policy.non_returnable_categories.add(categories["personalised"])
    return 1


def _seed_returns(tenant: Tenant, rng: random.Random) -> int:
    today = tenant_today(tenant)
    agent = User.objects.filter(tenant=tenant, role=Role.AGENT, is_active=True).first()
    requesters = {
        m.customer_account_id: m.user
        for m in CustomerMembership.objects.select_related("user").order_by("user__email")
    }
    lines = list(
        OrderLine.objects.filter(
            order__delivery_date__gte=today - datetime.timedelta(days=6),
            order__delivery_date__lte=today,
            product__is_returnable=True,
        )
        .exclude(product__category__code="personalised")
        .select_related("order", "product")
        .order_by("order__number", "line_number")
    )
    if agent is None or not lines:
        return 0
    rng.shuffle(lines)
    claimed = claimed_quantities(order_line_ids=[line.pk for line in lines])
    made = 0
    for stage, reason, resolution in DEMO_RETURNS:
        line = next((x for x in lines if claimed[x.pk] < x.quantity), None)
        if line is None:
            break
        lines.remove(line)
        quantity = min(line.quantity - claimed[line.pk], rng.randint(1, 3))
        requester = requesters[line.order.customer_account_id]
        serials = (line.serial_numbers or [])[:quantity] if line.product.is_serial_tracked else ()
        draft = services.return_request_create(
            customer_account=line.order.customer_account,
            requester=requester,
            lines=[
                services.LineInput(
                    order_line_id=line.pk,
                    quantity=quantity,
                    reason=reason,
                    comment="Demo: see the photos in the e-mail from our warehouse.",
                    serial_numbers=serials,
                )
            ],
            requested_resolution=resolution,
            return_method="drop_off",
        )
        _advance(draft, stage, requester=requester, agent=agent, resolution=resolution)
        made += 1
    return made


def _advance(draft, stage: str, *, requester, agent, resolution: str) -> None:
    rma = services.return_request_submit(return_request=draft, actor=requester)
    if stage == "submitted" or (stage == "needs_info" and rma.status != "submitted"):
        return
    if stage == "needs_info":
        services.return_request_request_info(
            return_request=rma, actor=agent, question="Could you send a photo of the label?"
        )
        return
    if rma.status == "submitted":
        rma = services.return_request_approve(return_request=rma, actor=agent)
    if stage == "approved":
        return
    rma = services.return_request_mark_received(return_request=rma, actor=agent)
    if stage == "received":
        return
    results = {
        line.pk: services.InspectionInput(
            condition="opened", disposition="restock", accepted_quantity=line.quantity
        )
        for line in rma.lines.all()
    }
    rma = services.return_request_inspect(return_request=rma, actor=agent, results=results)
    if stage == "inspected":
        return
    services.return_request_resolve(
        return_request=rma,
        actor=agent,
        resolution=resolution,
        credit_note_number=f"KOR/{rma.number[-6:]}" if resolution == "credit_note" else "",
        replacement_order_ref=f"ZAM/R/{rma.number[-6:]}" if resolution != "credit_note" else "",
    )
