"""The lists behind the dashboard's figures: the returns and complaints a chart bar, a table
row or a tile counts, with the same period and filters, for the page and the CSV export."""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, QuerySet
from django.utils.translation import gettext as _

from complaints.models import ComplaintCategory, Priority
from returns.models import ReturnLine, ReturnResolution
from rma_portal.accounts.models import User
from rma_portal.ids import parse_id

from .dashboard import UPDATES, DashboardInputError, DashboardQuery
from .kpis import (
    NOT_RETURNED,
    REJECTED,
    RESOLVED_RETURN,
    filtered_complaints,
    filtered_return_requests,
    tenant_period,
)

RESOLUTION_CHOICES = {*ReturnResolution.values, REJECTED}
# The clocks of returns whose late returns a list can show (docs/kpis.md#the-clocks-of-returns),
# and the customer-update cadence (docs/kpis.md#the-customer-update-cadence), which complaints
# have too.
MISSED_CLOCKS = ("decision", "refund", UPDATES)


def return_list_basis(params) -> str:
    """ "" (returns submitted in the period) or the resolution asked for; checked."""
    resolution = params.get("resolution", "")
    if resolution and resolution not in RESOLUTION_CHOICES:
        raise DashboardInputError({"resolution": _("Choose a resolution from the list.")})
    return resolution


def return_list_missed(params) -> str:
    """ "" or the clock whose late returns are asked for ("decision", "refund", "updates");
    checked."""
    missed = params.get("missed", "")
    if missed and missed not in MISSED_CLOCKS:
        raise DashboardInputError({"missed": _("Choose a clock from the list.")})
    return missed


def complaint_list_missed(params) -> str:
    """ "" or "updates" (the complaints whose customer-update cadence lapsed); checked."""
    missed = params.get("missed", "")
    if missed and missed != UPDATES:
        raise DashboardInputError({"missed": _("Choose a clock from the list.")})
    return missed


def returns_for_query(
    query: DashboardQuery, *, tenant, resolution: str = "", missed: str = ""
) -> QuerySet:
    """Returns counted by the dashboard's return figures: submitted in the period and not
    draft, cancelled or rejected; with `resolution`, those resolved (or rejected) in it; with
    `missed`, those whose decision (decided in the period) or refund / credit (resolved in it)
    came after its due moment, or ("updates") those resolved in it whose customer was owed an
    update past its due moment (`update_lapses` > 0)."""
    period = tenant_period(tenant, query.start, query.end)
    requests = filtered_return_requests(tenant, query.filters)
    if missed == "decision":
        requests = requests.filter(
            decision_due_at__isnull=False,
            decided_at__gt=F("decision_due_at"),
            **period.instant_filter("decided_at"),
        )
    elif missed == "refund":
        requests = requests.filter(
            status__in=RESOLVED_RETURN,
            refund_due_at__isnull=False,
            resolved_at__gt=F("refund_due_at"),
            **period.instant_filter("resolved_at"),
        )
    elif missed == UPDATES:
        requests = requests.filter(
            status__in=RESOLVED_RETURN,
            update_lapses__gt=0,
            **period.instant_filter("resolved_at"),
        )
    if resolution == REJECTED:
        from returns.models import ReturnEvent

        rejected = ReturnEvent.objects.for_tenant(tenant).filter(
            to_status="rejected", **period.instant_filter("created_at")
        )
        requests = requests.filter(status="rejected", pk__in=rejected.values("return_request_id"))
    elif resolution:
        requests = requests.filter(
            status__in=RESOLVED_RETURN,
            resolution=resolution,
            **period.instant_filter("resolved_at"),
        )
    elif not missed:
        requests = requests.filter(**period.instant_filter("submitted_at")).exclude(
            status__in=NOT_RETURNED
        )
    return requests.order_by("-submitted_at", "-pk")


def returns_page_rows(requests: QuerySet) -> QuerySet:
    """What a page of the list shows: the company, and the lines with their products."""
    return requests.select_related("customer_account").prefetch_related(
        Prefetch(
            "lines",
            queryset=ReturnLine.objects.select_related("order_line__product").order_by("pk"),
        )
    )


RETURN_EXPORT_HEADER = (
    "RMA",
    "status",
    "customer_number",
    "customer",
    "submitted_at",
    "resolved_at",
    "resolution",
    "refund_total",
    "restocking_fee",
    "sku",
    "product",
    "category",
    "quantity",
    "reason",
    "reason_text",
    "unit_price",
    "line_value",
    "accepted_quantity",
    "disposition",
    # A staff export: both inspection texts, each named for who may read it
    # (docs/security.md#inspection-notes).
    "inspection_note_for_customer",
    "inspection_note_internal",
    # The requester's answer to the survey (docs/feedback.md); its comment is not exported.
    "survey_csat",
    "survey_nps",
    # The clocks of returns (docs/returns-rules.md#clocks-of-returns): due and stopped.
    "decision_due_at",
    "decided_at",
    "refund_due_at",
    # The customer-update cadence: how often the customer was owed an update past its due
    # moment (docs/returns-rules.md#customer-update-cadence).
    "update_lapses",
)


def return_export_rows(requests: QuerySet, *, tenant):
    """One row per return line, streamed from the database in chunks."""
    lines = (
        ReturnLine.objects.for_tenant(tenant)
        .filter(return_request__in=requests.values("pk"))
        .order_by("-return_request__submitted_at", "return_request_id", "pk")
        .values_list(
            "return_request__number",
            "return_request__status",
            "return_request__customer_account__number",
            "return_request__customer_account__name",
            "return_request__submitted_at",
            "return_request__resolved_at",
            "return_request__resolution",
            "return_request__refund_total",
            "return_request__restocking_fee",
            "order_line__product__sku",
            "order_line__product__name",
            "order_line__product__category__name",
            "quantity",
            "reason",
            "reason_text",
            "unit_price",
            "accepted_quantity",
            "disposition",
            "inspection_customer_note",
            "inspection_note",
            "return_request__feedback__csat",
            "return_request__feedback__nps",
            "return_request__decision_due_at",
            "return_request__decided_at",
            "return_request__refund_due_at",
            "return_request__update_lapses",
        )
    )
    for row in lines.iterator(chunk_size=2000):
        *head, quantity, reason, reason_text, price = row[:16]
        # line_value follows the unit price; accepted quantity, disposition and notes after it.
        yield [*head, quantity, reason, reason_text, price, price * quantity, *row[16:]]


# --- complaints -----------------------------------------------------------------------------


def complaint_list_narrowing(params, *, tenant) -> dict:
    """Extra narrowing a complaint drill-down may ask for, checked."""
    narrowing, errors = {}, {}
    category = params.get("complaint_category", "")
    if category:
        if category in ComplaintCategory.values:
            narrowing["category"] = category
        else:
            errors["complaint_category"] = _("Choose a complaint category from the list.")
    priority = params.get("priority", "")
    if priority:
        if priority in Priority.values:
            narrowing["priority"] = priority
        else:
            errors["priority"] = _("Choose a priority from the list.")
    agent = params.get("agent", "")
    if agent:
        agent_id = parse_id(agent)
        if agent_id is not None and User.objects.filter(tenant=tenant, pk=agent_id).exists():
            narrowing["assignee_id"] = agent_id
        else:
            errors["agent"] = _("Choose an agent from the list.")
    if errors:
        raise DashboardInputError(errors)
    return narrowing


def complaints_for_query(
    query: DashboardQuery, *, tenant, narrowing: dict, missed: str = ""
) -> QuerySet:
    """Complaints filed in the period, with the dashboard's filters (reason does not apply);
    with `missed` ("updates"), those resolved in it whose customer was owed an update past its
    due moment (`update_lapses` > 0)."""
    period = tenant_period(tenant, query.start, query.end)
    complaints = filtered_complaints(tenant, query.filters).filter(**narrowing)
    if missed == UPDATES:
        complaints = complaints.filter(update_lapses__gt=0, **period.instant_filter("resolved_at"))
    else:
        complaints = complaints.filter(**period.instant_filter("created_at"))
    return complaints.order_by("-created_at", "-pk")


def complaints_page_rows(complaints: QuerySet) -> QuerySet:
    return complaints.select_related("customer_account", "assignee", "product").annotate(
        message_count=Count("messages")
    )


COMPLAINT_EXPORT_HEADER = (
    "complaint",
    "status",
    "category",
    "priority",
    "customer_number",
    "customer",
    "sku",
    "product",
    "subject",
    "assignee",
    "created_at",
    "first_responded_at",
    "first_response_due_at",
    "resolved_at",
    "resolution_due_at",
    "reopen_count",
    "update_lapses",
)


def complaint_export_rows(complaints: QuerySet):
    rows = complaints.values_list(
        "code",
        "status",
        "category",
        "priority",
        "customer_account__number",
        "customer_account__name",
        "product__sku",
        "product__name",
        "subject",
        "assignee__email",
        "created_at",
        "first_responded_at",
        "first_response_due_at",
        "resolved_at",
        "resolution_due_at",
        "reopen_count",
        "update_lapses",
    )
    yield from rows.iterator(chunk_size=2000)
