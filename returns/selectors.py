"""Reads of return requests: visibility per user, queues, the quantity ledger, policies."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from customers.cases import CaseKind, OrderCase
from customers.models import CustomerAccount, OrderLine
from customers.selectors import cases_visible_to
from rma_portal.accounts.models import User

from .models import (
    CLAIMING_STATUSES,
    CategoryWindow,
    ReturnEvent,
    ReturnLine,
    ReturnPolicy,
    ReturnRequest,
    ReturnStatus,
)
from .policies import LineFacts, PolicyLayer, PolicyRules, effective_rules

# --- visibility -------------------------------------------------------------------------


def return_requests_visible_to(*, user: User) -> QuerySet[ReturnRequest]:
    """Staff see the tenant's returns, customer admins their company's, customer users their own."""
    return cases_visible_to(ReturnRequest.objects.all(), user=user, owner_field="requester")


def return_request_for_user(*, user: User, return_id: int) -> ReturnRequest | None:
    return (
        return_requests_visible_to(user=user)
        .select_related("customer_account", "requester", "assignee")
        .filter(pk=return_id)
        .first()
    )


def order_cases(*, order, user: User) -> list[OrderCase]:
    """The returns with a line of `order` that `user` may see, of the order's company only
    (the portal's order page; registered with customers.cases): one query."""
    of_order = ReturnLine.objects.filter(
        return_request=OuterRef("pk"), order_line__order_id=order.pk
    )
    returns = (
        return_requests_visible_to(user=user)
        .filter(Exists(of_order), customer_account_id=order.customer_account_id)
        .only("pk", "number", "status", "created_at")
        .order_by("-created_at", "-pk")
    )
    return [
        OrderCase(
            kind=CaseKind.RETURN,
            kind_label=str(CaseKind.RETURN.label),
            number=return_request.reference,
            status=return_request.status,
            status_label=str(return_request.get_status_display()),
            url=reverse("portal:return_detail", args=[return_request.pk]),
            created_at=return_request.created_at,
        )
        for return_request in returns
    ]


def return_requests_list(
    *,
    user: User,
    status: str = "",
    created_from: datetime.date | None = None,
    created_to: datetime.date | None = None,
    order_number: str = "",
    search: str = "",
) -> QuerySet[ReturnRequest]:
    queryset = return_requests_visible_to(user=user).select_related(
        "customer_account", "requester", "assignee"
    )
    if status:
        queryset = queryset.filter(status=status)
    if created_from:
        queryset = queryset.filter(created_at__date__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__date__lte=created_to)
    if order_number:
        queryset = queryset.filter(
            lines__order_line__order__number__icontains=order_number.strip()
        ).distinct()
    if search:
        queryset = queryset.filter(number__icontains=search.strip())
    return queryset.order_by("-created_at", "-pk")


def empty_drafts_of(*, user: User, limit: int = 5) -> list[ReturnRequest]:
    """The user's own drafts without lines, newest first: the portal lists no empty draft,
    its "New return" page offers to continue these (the housekeeping removes them after a
    day, returns/maintenance.py)."""
    return list(
        ReturnRequest.objects.filter(requester=user, status=ReturnStatus.DRAFT)
        .exclude(Exists(ReturnLine.objects.filter(return_request=OuterRef("pk"))))
        .order_by("-updated_at", "-pk")[:limit]
    )


def return_request_detail(*, return_request: ReturnRequest, public_only: bool) -> ReturnRequest:
    """The return with lines, timeline and attachments loaded (customers: public events)."""
    events = ReturnEvent.objects.select_related("actor").order_by("created_at", "pk")
    if public_only:
        events = events.filter(is_public=True)
    lines = ReturnLine.objects.select_related(
        "order_line__order", "order_line__product__category"
    ).prefetch_related("attachments")
    return (
        ReturnRequest.objects.filter(pk=return_request.pk)
        .select_related("customer_account", "requester", "assignee")
        .prefetch_related(
            Prefetch("lines", queryset=lines),
            Prefetch("events", queryset=events),
            "attachments",
        )
        .get()
    )


# --- quantity ledger --------------------------------------------------------------------


def claimed_quantities(
    *, order_line_ids: Iterable[int], exclude_return_id: int | None = None
) -> dict[int, int]:
    """Quantity of each order line held by returns that are open or were accepted.

    Open returns hold what they ask for; resolved and closed returns hold what inspection
    accepted; drafts, rejected and cancelled returns hold nothing.
    """
    ids = list(order_line_ids)
    if not ids:
        return {}
    lines = ReturnLine.objects.filter(
        order_line_id__in=ids, return_request__status__in=CLAIMING_STATUSES
    )
    if exclude_return_id is not None:
        lines = lines.exclude(return_request_id=exclude_return_id)
    finished = Q(
        return_request__status__in=[ReturnStatus.RESOLVED, ReturnStatus.CLOSED],
        accepted_quantity__isnull=False,
    )
    claimed: dict[int, int] = dict.fromkeys(ids, 0)
    for row in (
        lines.filter(finished).values("order_line_id").annotate(total=Sum("accepted_quantity"))
    ):
        claimed[row["order_line_id"]] += row["total"] or 0
    for row in lines.exclude(finished).values("order_line_id").annotate(total=Sum("quantity")):
        claimed[row["order_line_id"]] += row["total"] or 0
    return claimed


def returnable_order_lines(
    *, customer_account: CustomerAccount, order_ids: Iterable[int] | None = None
) -> QuerySet[OrderLine]:
    queryset = OrderLine.objects.filter(order__customer_account=customer_account).select_related(
        "order", "product__category"
    )
    if order_ids is not None:
        queryset = queryset.filter(order_id__in=list(order_ids))
    return queryset.order_by("order__order_date", "order__number", "line_number")


# --- policy -----------------------------------------------------------------------------


def _layer(policy: ReturnPolicy | None, windows: list[CategoryWindow]) -> PolicyLayer:
    if policy is None:
        return PolicyLayer()
    return PolicyLayer(
        default_window_days=policy.default_window_days,
        category_windows={w.category.code: w.days for w in windows},
        non_returnable_categories=frozenset(c.code for c in policy.non_returnable_categories.all()),
        non_returnable_skus=frozenset(p.sku for p in policy.non_returnable_products.all()),
        conditions_text=policy.conditions_text,
        restocking_fee_percent=policy.restocking_fee_percent,
        free_shipping_reasons=policy.free_shipping_reasons,
        allowed_reasons=policy.allowed_reasons,
        allowed_resolutions=policy.allowed_resolutions,
        auto_approve_enabled=policy.auto_approve_enabled,
        auto_approve_reasons=policy.auto_approve_reasons,
        auto_approve_max_value=policy.auto_approve_max_value,
        ship_reminder_days=policy.ship_reminder_days,
        ship_within_days=policy.ship_within_days,
        decision_hours=policy.decision_hours,
        refund_days=policy.refund_days,
        always_returnable_categories=frozenset(
            c.code for c in policy.always_returnable_categories.all()
        ),
        always_returnable_skus=frozenset(p.sku for p in policy.always_returnable_products.all()),
        review_categories=frozenset(c.code for c in policy.review_categories.all()),
        review_skus=frozenset(p.sku for p in policy.review_products.all()),
        customer_listing=policy.customer_listing if policy.customer_account_id else "",
        approval_coordinator_from=policy.approval_coordinator_from,
        approval_manager_from=policy.approval_manager_from,
        override_approval=policy.override_approval or None,
        default_warranty_months=None if policy.customer_account_id else policy.warranty_months,
        contract_warranty_months=policy.warranty_months if policy.customer_account_id else None,
        warranty_reasons=policy.warranty_reasons,
        warranty_resolutions=policy.warranty_resolutions,
    )


def _policy_prefetches() -> list:
    return [
        "non_returnable_categories",
        "non_returnable_products",
        "always_returnable_categories",
        "always_returnable_products",
        "review_categories",
        "review_products",
        Prefetch("category_windows", queryset=CategoryWindow.objects.select_related("category")),
    ]


def tenant_return_rules(*, tenant) -> PolicyRules:
    """The rules of the tenant's own policy, for a customer without a contract override (the
    public policy page): merged as `return_rules_for` merges them; the engine's defaults when
    the tenant has no policy."""
    policy = (
        ReturnPolicy.objects.for_tenant(tenant)
        .filter(customer_account__isnull=True)
        .prefetch_related(*_policy_prefetches())
        .first()
    )
    windows = list(policy.category_windows.all()) if policy is not None else []
    return effective_rules([_layer(policy, windows)])


def return_rules_for(*, customer_account: CustomerAccount) -> PolicyRules:
    """The rules in force today for this customer: tenant policy, then the customer's override."""
    # Filtered by the customer's tenant explicitly: under the all-tenants scope (platform admin,
    # rollups) the scoped manager alone would also return every other tenant's policy.
    policies = list(
        ReturnPolicy.objects.filter(tenant_id=customer_account.tenant_id)
        .filter(Q(customer_account__isnull=True) | Q(customer_account=customer_account))
        .prefetch_related(*_policy_prefetches())
    )
    tenant_policy = next((p for p in policies if p.customer_account_id is None), None)
    override = next((p for p in policies if p.customer_account_id is not None), None)
    layers = [
        _layer(policy, list(policy.category_windows.all()) if policy else [])
        for policy in (tenant_policy, override)
    ]
    return effective_rules(layers)


def return_rules_applied(*, return_request: ReturnRequest) -> PolicyRules:
    """The snapshot taken at submission, or today's rules for a draft."""
    if return_request.policy_snapshot:
        return PolicyRules.from_snapshot(return_request.policy_snapshot)
    return return_rules_for(customer_account=return_request.customer_account)


def returnable_at_most(order_line: OrderLine) -> int:
    """The most of the line that can ever be returned: the quantity the ERP reported delivered
    (0: nothing delivered yet), else, for a line without delivery data, the quantity ordered
    (whether the order was delivered is the return policy's check)."""
    if order_line.delivered_quantity is not None:
        return order_line.delivered_quantity
    return order_line.quantity


def line_facts(
    *,
    order_line: OrderLine,
    quantity: int,
    reason: str,
    claimed_elsewhere: int,
) -> LineFacts:
    """What the policy engine needs of a line: the return window counts from the line's own
    delivery date when the ERP reported one, else from the order's."""
    product = order_line.product
    return LineFacts(
        sku=product.sku,
        product_name=product.name,
        category_code=product.category.code,
        category_name=product.category.name,
        product_returnable=product.is_returnable,
        delivered_on=order_line.effective_delivery_date,
        quantity_delivered=returnable_at_most(order_line),
        quantity_claimed_elsewhere=claimed_elsewhere,
        quantity_requested=quantity,
        unit_price=order_line.unit_price,
        reason=reason,
        warranty_months=(
            product.warranty_months
            if product.warranty_months is not None
            else product.category.warranty_months
        ),
    )


def lines_facts(
    lines: Sequence[tuple[OrderLine, int, str]], *, exclude_return_id: int | None
) -> list[LineFacts]:
    """The policy engine's facts of (order line, quantity, reason) triples, with what other
    returns hold of each order line (the ledger, without `exclude_return_id`): the one way the
    wizard's steps, the review and submission put a return's lines to the engine."""
    claimed = claimed_quantities(
        order_line_ids=[order_line.pk for order_line, _quantity, _reason in lines],
        exclude_return_id=exclude_return_id,
    )
    return [
        line_facts(
            order_line=order_line,
            quantity=quantity,
            reason=reason,
            claimed_elsewhere=claimed.get(order_line.pk, 0),
        )
        for order_line, quantity, reason in lines
    ]


def tenant_today(tenant) -> datetime.date:
    import zoneinfo

    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(tenant.timezone)).date()
