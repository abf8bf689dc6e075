"""KPI definitions: read-only selectors computing each figure live from the source tables.

Every query names its tenant (`.objects.for_tenant(tenant)`); formulas and period rules are
written down in docs/kpis.md. Money is Decimal, rates are fractions 0..1 (None: nothing to
divide by), durations are hours.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext_lazy as _

from complaints.models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    SatisfactionRating,
)
from complaints.selectors import business_calendar
from complaints.sla import business_seconds_between
from customers.models import OrderLine
from returns.feedback_models import ReturnFeedback
from returns.models import (
    OPEN_STATUSES,
    Disposition,
    Resolution,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnResolution,
    ReturnStatus,
)
from returns.services import POLICY_OVERRIDDEN
from rma_portal.surveys import NPS_DETRACTOR_UNTIL, NPS_PROMOTER_FROM

from .periods import DurationStats, Period, duration_stats, ratio

ZERO = Decimal("0.00")
MONEY_OUT = DecimalField(max_digits=16, decimal_places=2)
# Returns that never became a return of goods: they count in no return-rate numerator.
NOT_RETURNED = (
    ReturnStatus.DRAFT,
    ReturnStatus.CANCELLED,
    ReturnStatus.REJECTED,
    ReturnStatus.EXPIRED,  # approved, but the goods never came
)
RESOLVED_RETURN = (ReturnStatus.RESOLVED, ReturnStatus.CLOSED)
REJECTED = "rejected"  # the last "resolution" of the returns-by-resolution KPI

# Age buckets of open cases, in whole days since the case was filed: (key, label, min, max).
AGE_BUCKETS = (
    ("0_2", _("0–2 days"), 0, 2),
    ("3_7", _("3–7 days"), 3, 7),
    ("8_14", _("8–14 days"), 8, 14),
    ("15_30", _("15–30 days"), 15, 30),
    ("over_30", _("over 30 days"), 31, None),
)


# How an account without a billing region shows in the region filter and table.
NO_REGION_LABEL = _("(no region)")


@dataclass(frozen=True, order=True)
class Region:
    """Where a customer account is billed: its country and the region of its billing address
    (voivodeship, state, province; "" for accounts without one), as the account says now."""

    country: str
    name: str = ""

    SEPARATOR = ":"

    @property
    def key(self) -> str:
        """The value in the dashboard's query string: "PL:mazowieckie", "PL:" (no region)."""
        return f"{self.country}{self.SEPARATOR}{self.name}"

    @classmethod
    def from_key(cls, key: str) -> Region | None:
        """The region of a query-string value; None when it is not one."""
        country, separator, name = key.partition(cls.SEPARATOR)
        if not separator or len(country) != 2 or not country.isascii() or not country.isalpha():
            return None
        return cls(country=country.upper(), name=name)

    @property
    def label(self) -> str:
        return f"{self.country} · {self.name or NO_REGION_LABEL}"


@dataclass(frozen=True)
class KpiFilters:
    """Optional narrowing; a filter that does not apply to a KPI's table is documented."""

    customer_account_id: int | None = None
    category_id: int | None = None
    product_id: int | None = None
    reason: str | None = None
    channel: str | None = None  # how the case came in (customers.cases.CaseChannel)
    region: Region | None = None  # the customer account's billing country and region

    def account_lookups(self, path: str) -> dict[str, str]:
        """The region filter on the customer account at `path` (e.g. "customer_account")."""
        if self.region is None:
            return {}
        return {
            f"{path}__billing_country": self.region.country,
            f"{path}__billing_region": self.region.name,
        }


NO_FILTERS = KpiFilters()


def tenant_period(tenant, start: datetime.date, end: datetime.date) -> Period:
    return Period(start=start, end=end, timezone=tenant.timezone)


def _money(value) -> Decimal:
    return Decimal(value if value is not None else ZERO).quantize(ZERO)


def _line_value(quantity: str = "quantity"):
    return Sum(F(quantity) * F("unit_price"), output_field=MONEY_OUT)


# --- base querysets -------------------------------------------------------------------------


def delivered_lines(*, tenant, start, end, filters: KpiFilters = NO_FILTERS):
    """Order lines whose order was delivered in the period (the return-rate denominator).

    `reason` and `channel` do not apply: a delivery has no return reason and came through
    no channel.
    """
    lines = OrderLine.objects.for_tenant(tenant).filter(
        order__delivery_date__gte=start, order__delivery_date__lte=end
    )
    if filters.customer_account_id:
        lines = lines.filter(order__customer_account_id=filters.customer_account_id)
    if filters.category_id:
        lines = lines.filter(product__category_id=filters.category_id)
    if filters.product_id:
        lines = lines.filter(product_id=filters.product_id)
    if filters.region:
        lines = lines.filter(**filters.account_lookups("order__customer_account"))
    return lines


def _filtered_return_lines(tenant, filters: KpiFilters):
    lines = ReturnLine.objects.for_tenant(tenant)
    if filters.customer_account_id:
        lines = lines.filter(return_request__customer_account_id=filters.customer_account_id)
    if filters.category_id:
        lines = lines.filter(order_line__product__category_id=filters.category_id)
    if filters.product_id:
        lines = lines.filter(order_line__product_id=filters.product_id)
    if filters.reason:
        lines = lines.filter(reason=filters.reason)
    if filters.channel:
        lines = lines.filter(return_request__channel=filters.channel)
    if filters.region:
        lines = lines.filter(**filters.account_lookups("return_request__customer_account"))
    return lines


def returned_lines(*, tenant, start, end, filters: KpiFilters = NO_FILTERS):
    """Return lines of returns submitted in the period and not draft, cancelled or rejected."""
    period = tenant_period(tenant, start, end)
    return (
        _filtered_return_lines(tenant, filters)
        .filter(**period.instant_filter("return_request__submitted_at"))
        .exclude(return_request__status__in=NOT_RETURNED)
    )


def filtered_return_requests(tenant, filters: KpiFilters):
    """Return requests of the tenant; line filters keep requests with at least one such line."""
    requests = ReturnRequest.objects.for_tenant(tenant)
    if filters.customer_account_id:
        requests = requests.filter(customer_account_id=filters.customer_account_id)
    if filters.channel:
        requests = requests.filter(channel=filters.channel)
    if filters.region:
        requests = requests.filter(**filters.account_lookups("customer_account"))
    if filters.category_id or filters.product_id or filters.reason:
        # A subquery, not a join: a join would repeat a request once per matching line.
        line_filters = KpiFilters(
            category_id=filters.category_id, product_id=filters.product_id, reason=filters.reason
        )
        requests = requests.filter(
            pk__in=_filtered_return_lines(tenant, line_filters).values("return_request_id")
        )
    return requests


def filtered_complaints(tenant, filters: KpiFilters):
    """Complaints of the tenant; category/product filters use the complaint's product,
    `reason` does not apply."""
    complaints = Complaint.objects.for_tenant(tenant)
    if filters.customer_account_id:
        complaints = complaints.filter(customer_account_id=filters.customer_account_id)
    if filters.category_id:
        complaints = complaints.filter(product__category_id=filters.category_id)
    if filters.product_id:
        complaints = complaints.filter(product_id=filters.product_id)
    if filters.channel:
        complaints = complaints.filter(channel=filters.channel)
    if filters.region:
        complaints = complaints.filter(**filters.account_lookups("customer_account"))
    return complaints


# --- return rate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnRate:
    delivered_quantity: int
    returned_quantity: int
    delivered_value: Decimal
    returned_value: Decimal

    @property
    def by_quantity(self) -> float | None:
        return ratio(self.returned_quantity, self.delivered_quantity)

    @property
    def by_value(self) -> float | None:
        return ratio(self.returned_value, self.delivered_value)


RATE_GROUPS = {
    # group: (delivered order line column, returned return line column)
    "category": ("product__category_id", "order_line__product__category_id"),
    "product": ("product_id", "order_line__product_id"),
    "customer_account": ("order__customer_account_id", "return_request__customer_account_id"),
}


def return_rate(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> ReturnRate:
    delivered = delivered_lines(tenant=tenant, start=start, end=end, filters=filters).aggregate(
        units=Sum("quantity"), value=_line_value()
    )
    returned = returned_lines(tenant=tenant, start=start, end=end, filters=filters).aggregate(
        units=Sum("quantity"), value=_line_value()
    )
    return ReturnRate(
        delivered_quantity=delivered["units"] or 0,
        returned_quantity=returned["units"] or 0,
        delivered_value=_money(delivered["value"]),
        returned_value=_money(returned["value"]),
    )


def return_rate_by(
    *, tenant, start, end, group: str, filters: KpiFilters = NO_FILTERS
) -> dict[int, ReturnRate]:
    """Return rate per category, product or customer account (key: its id).

    A key appears when it had deliveries or returns in the period.
    """
    delivered_key, returned_key = RATE_GROUPS[group]
    delivered = {
        row[delivered_key]: row
        for row in delivered_lines(tenant=tenant, start=start, end=end, filters=filters)
        .values(delivered_key)
        .annotate(units=Sum("quantity"), value=_line_value())
        .order_by()
    }
    returned = {
        row[returned_key]: row
        for row in returned_lines(tenant=tenant, start=start, end=end, filters=filters)
        .values(returned_key)
        .annotate(units=Sum("quantity"), value=_line_value())
        .order_by()
    }
    empty = {"units": 0, "value": ZERO}
    return {
        key: ReturnRate(
            delivered_quantity=delivered.get(key, empty)["units"] or 0,
            returned_quantity=returned.get(key, empty)["units"] or 0,
            delivered_value=_money(delivered.get(key, empty)["value"]),
            returned_value=_money(returned.get(key, empty)["value"]),
        )
        for key in delivered.keys() | returned.keys()
    }


def returns_count(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> int:
    """Return requests submitted in the period and not draft, cancelled or rejected (with
    line filters: those with at least one matching line)."""
    period = tenant_period(tenant, start, end)
    return (
        filtered_return_requests(tenant, filters)
        .filter(**period.instant_filter("submitted_at"))
        .exclude(status__in=NOT_RETURNED)
        .count()
    )


@dataclass(frozen=True)
class Exceptions:
    """Returns submitted in the period, and those filed against the policy (by exception)."""

    returns: int
    by_exception: int
    by_exception_value: Decimal

    @property
    def share(self) -> float | None:
        return ratio(self.by_exception, self.returns)


def returns_by_exception(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> Exceptions:
    """Over the returns of `returns_count`: those staff or the integration filed against the
    policy with an override reason (a "Return policy overridden" timeline entry), how many
    and the value they asked for."""
    period = tenant_period(tenant, start, end)
    overridden = ReturnEvent.objects.for_tenant(tenant).filter(
        return_request_id=OuterRef("pk"), action=POLICY_OVERRIDDEN
    )
    counts = (
        filtered_return_requests(tenant, filters)
        .filter(**period.instant_filter("submitted_at"))
        .exclude(status__in=NOT_RETURNED)
        .annotate(overridden=Exists(overridden))
        .aggregate(
            returns=Count("id"),
            by_exception=Count("id", filter=Q(overridden=True)),
            value=Coalesce(Sum("requested_value", filter=Q(overridden=True)), ZERO),
        )
    )
    return Exceptions(
        returns=counts["returns"],
        by_exception=counts["by_exception"],
        by_exception_value=_money(counts["value"]),
    )


def returns_by_channel(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> dict[str, int]:
    """The returns of `returns_count`, per channel they came through (only channels with
    returns)."""
    period = tenant_period(tenant, start, end)
    rows = (
        filtered_return_requests(tenant, filters)
        .filter(**period.instant_filter("submitted_at"))
        .exclude(status__in=NOT_RETURNED)
        .values("channel")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["channel"]: row["count"] for row in rows if row["count"]}


REGION_OF_REQUEST = ("customer_account__billing_country", "customer_account__billing_region")


def returns_by_region(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> dict[Region, int]:
    """The returns of `returns_count`, per region of the customer account (only regions with
    returns)."""
    period = tenant_period(tenant, start, end)
    rows = (
        filtered_return_requests(tenant, filters)
        .filter(**period.instant_filter("submitted_at"))
        .exclude(status__in=NOT_RETURNED)
        .values_list(*REGION_OF_REQUEST)
        .annotate(count=Count("id"))
        .order_by()
    )
    return {Region(country, name): count for country, name, count in rows if count}


def returned_value_by_region(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[Region, Decimal]:
    """The value of `returned_lines` per region of the returns' customer accounts."""
    rows = (
        returned_lines(tenant=tenant, start=start, end=end, filters=filters)
        .values_list(*(f"return_request__{column}" for column in REGION_OF_REQUEST))
        .annotate(value=_line_value())
        .order_by()
    )
    return {Region(country, name): _money(value) for country, name, value in rows}


def complaints_by_region(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[Region, int]:
    """Complaints filed in the period (created_at), per region of the customer account."""
    period = tenant_period(tenant, start, end)
    rows = (
        filtered_complaints(tenant, filters)
        .filter(**period.instant_filter("created_at"))
        .values_list(*REGION_OF_REQUEST)
        .annotate(count=Count("id"))
        .order_by()
    )
    return {Region(country, name): count for country, name, count in rows if count}


# --- return reasons -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonFigure:
    lines: int  # return lines giving the reason
    quantity: int
    share: float | None  # of all return lines in the period


def return_reasons(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, ReasonFigure]:
    rows = list(
        returned_lines(tenant=tenant, start=start, end=end, filters=filters)
        .values("reason")
        .annotate(lines=Count("id"), units=Sum("quantity"))
        .order_by()
    )
    total = sum(row["lines"] for row in rows)
    return {
        row["reason"]: ReasonFigure(
            lines=row["lines"], quantity=row["units"], share=ratio(row["lines"], total)
        )
        for row in rows
    }


def return_reasons_by_month(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[datetime.date, dict[str, int]]:
    """Return lines per reason per month of submission (month key: its first day, local)."""
    period = tenant_period(tenant, start, end)
    rows = (
        returned_lines(tenant=tenant, start=start, end=end, filters=filters)
        .annotate(month=TruncMonth("return_request__submitted_at", tzinfo=period.zone))
        .values("month", "reason")
        .annotate(lines=Count("id"))
        .order_by()
    )
    trend: dict[datetime.date, dict[str, int]] = {}
    for row in rows:  # one row per (month, reason), not per return line
        month = row["month"]
        month = month.astimezone(period.zone).date() if hasattr(month, "hour") else month
        trend.setdefault(month, {})[row["reason"]] = row["lines"]
    return dict(sorted(trend.items()))


# --- resolution, disposition, money ----------------------------------------------------------


def returns_by_resolution(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, int]:
    """Returns resolved in the period per resolution of the whole return ("mixed": its lines
    were resolved differently), plus "rejected": returns rejected in the period (the moment of
    the `rejected` timeline event)."""
    period = tenant_period(tenant, start, end)
    requests = filtered_return_requests(tenant, filters)
    counts = dict.fromkeys(ReturnResolution.values, 0)
    for row in (
        requests.filter(status__in=RESOLVED_RETURN, **period.instant_filter("resolved_at"))
        .values("resolution")
        .annotate(count=Count("id"))
        .order_by()
    ):
        counts[row["resolution"]] = row["count"]
    rejections = ReturnEvent.objects.for_tenant(tenant).filter(
        to_status=ReturnStatus.REJECTED, **period.instant_filter("created_at")
    )
    counts[REJECTED] = requests.filter(
        status=ReturnStatus.REJECTED, pk__in=rejections.values("return_request_id")
    ).count()
    return counts


def _resolved_lines(tenant, start, end, filters: KpiFilters):
    period = tenant_period(tenant, start, end)
    return _filtered_return_lines(tenant, filters).filter(
        return_request__status__in=RESOLVED_RETURN,
        **period.instant_filter("return_request__resolved_at"),
    )


@dataclass(frozen=True)
class DispositionFigure:
    lines: int
    accepted_quantity: int
    value: Decimal  # accepted quantity × unit price


def returns_by_disposition(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, DispositionFigure]:
    """Lines of returns resolved in the period, per disposition set at inspection."""
    figures = {
        choice: DispositionFigure(lines=0, accepted_quantity=0, value=ZERO)
        for choice in Disposition.values
    }
    for row in (
        _resolved_lines(tenant, start, end, filters)
        .exclude(disposition="")
        .values("disposition")
        .annotate(
            lines=Count("id"),
            accepted=Coalesce(Sum("accepted_quantity"), 0),
            value=_line_value("accepted_quantity"),
        )
        .order_by()
    ):
        figures[row["disposition"]] = DispositionFigure(
            lines=row["lines"], accepted_quantity=row["accepted"], value=_money(row["value"])
        )
    return figures


@dataclass(frozen=True)
class ReturnMoney:
    refunded: Decimal
    credited: Decimal
    restocking_fees: Decimal
    restocked_value: Decimal
    scrapped_value: Decimal


def return_money(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> ReturnMoney:
    """Money of returns resolved in the period (resolved_at). A return resolved per line
    ("mixed") counts its credit-note lines as credited and the rest of its money back as
    refunded."""
    period = tenant_period(tenant, start, end)
    mixed = Q(resolution=ReturnResolution.MIXED)
    credit_part = Coalesce("credit_note_total", ZERO, output_field=MONEY_OUT)
    totals = (
        filtered_return_requests(tenant, filters)
        .filter(status__in=RESOLVED_RETURN, **period.instant_filter("resolved_at"))
        .aggregate(
            refunded=Sum("refund_total", filter=Q(resolution=Resolution.REFUND)),
            credited=Sum("refund_total", filter=Q(resolution=Resolution.CREDIT_NOTE)),
            mixed_refunded=Sum(
                Coalesce("refund_total", ZERO, output_field=MONEY_OUT) - credit_part,
                filter=mixed,
                output_field=MONEY_OUT,
            ),
            mixed_credited=Sum(credit_part, filter=mixed, output_field=MONEY_OUT),
            fees=Sum("restocking_fee"),
        )
    )
    goods = _resolved_lines(tenant, start, end, filters).aggregate(
        restocked=Sum(
            F("accepted_quantity") * F("unit_price"),
            filter=Q(disposition=Disposition.RESTOCK),
            output_field=MONEY_OUT,
        ),
        scrapped=Sum(
            F("accepted_quantity") * F("unit_price"),
            filter=Q(disposition=Disposition.SCRAP),
            output_field=MONEY_OUT,
        ),
    )
    return ReturnMoney(
        refunded=_money(totals["refunded"]) + _money(totals["mixed_refunded"]),
        credited=_money(totals["credited"]) + _money(totals["mixed_credited"]),
        restocking_fees=_money(totals["fees"]),
        restocked_value=_money(goods["restocked"]),
        scrapped_value=_money(goods["scrapped"]),
    )


# --- return cycle times ---------------------------------------------------------------------

RETURN_STAGES = {
    "submitted_to_approved": ("submitted_at", "approved_at"),
    "approved_to_received": ("approved_at", "received_at"),
    "received_to_resolved": ("received_at", "resolved_at"),
    "submitted_to_resolved": ("submitted_at", "resolved_at"),
}


def return_cycle_times(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, DurationStats]:
    """Calendar hours between status timestamps; a return counts in a stage when the stage's
    later timestamp falls in the period.

    Percentiles are computed in Python over `values_list` of the two timestamps of the
    filtered returns (portable to SQLite; same interpolation as percentile_cont).
    """
    period = tenant_period(tenant, start, end)
    requests = filtered_return_requests(tenant, filters)
    stats = {}
    for stage, (begin, finish) in RETURN_STAGES.items():
        pairs = requests.filter(
            **{f"{begin}__isnull": False}, **period.instant_filter(finish)
        ).values_list(begin, finish)
        stats[stage] = duration_stats([(b - a).total_seconds() / 3600 for a, b in pairs])
    return stats


def return_decision_times(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> DurationStats:
    """Calendar hours from submission to the decision (`decided_at`: an approval, automatic
    ones too, or a rejection), over the returns decided in the period. Computed in Python
    over `values_list` of the two timestamps, like return_cycle_times."""
    period = tenant_period(tenant, start, end)
    pairs = (
        filtered_return_requests(tenant, filters)
        .filter(submitted_at__isnull=False, **period.instant_filter("decided_at"))
        .values_list("submitted_at", "decided_at")
    )
    return duration_stats([(b - a).total_seconds() / 3600 for a, b in pairs])


# --- the clocks of returns -----------------------------------------------------------------


def return_sla_compliance(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, SlaCompliance]:
    """The two clocks of returns (docs/returns-rules.md#clocks-of-returns), over the clocks
    that stopped in the period; met when they stopped at or before their due moment.

    decision: returns decided (approved or rejected) in the period (`decided_at`) that had a
    decision clock (`decision_due_at`). refund: returns resolved in the period (status
    resolved or closed, `resolved_at`) that had a refund / credit clock (`refund_due_at`).
    """
    period = tenant_period(tenant, start, end)
    requests = filtered_return_requests(tenant, filters)
    decision = requests.filter(
        decision_due_at__isnull=False, **period.instant_filter("decided_at")
    ).aggregate(
        met=Count("id", filter=Q(decided_at__lte=F("decision_due_at"))),
        missed=Count("id", filter=Q(decided_at__gt=F("decision_due_at"))),
    )
    refund = requests.filter(
        status__in=RESOLVED_RETURN,
        refund_due_at__isnull=False,
        **period.instant_filter("resolved_at"),
    ).aggregate(
        met=Count("id", filter=Q(resolved_at__lte=F("refund_due_at"))),
        missed=Count("id", filter=Q(resolved_at__gt=F("refund_due_at"))),
    )
    return {
        "decision": SlaCompliance(met=decision["met"], missed=decision["missed"]),
        "refund": SlaCompliance(met=refund["met"], missed=refund["missed"]),
    }


# --- the customer-update cadence -------------------------------------------------------------


def _cadence_kept(cases) -> SlaCompliance:
    """Kept (met): cases whose customer was never owed an update past its due moment
    (`update_lapses` = 0); lapsed (missed): the others."""
    counts = cases.aggregate(
        kept=Count("id", filter=Q(update_lapses=0)),
        lapsed=Count("id", filter=Q(update_lapses__gt=0)),
    )
    return SlaCompliance(met=counts["kept"], missed=counts["lapsed"])


def cadence_together(returns: SlaCompliance, complaints: SlaCompliance) -> SlaCompliance:
    return SlaCompliance(
        met=returns.met + complaints.met, missed=returns.missed + complaints.missed
    )


def update_cadence(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, SlaCompliance]:
    """The customer-update cadence kept (docs/returns-rules.md#customer-update-cadence) over
    the cases resolved in the period: met = kept (`update_lapses` = 0), missed = lapsed (the
    customer was owed an update past its due moment at least once, reopenings included).

    returns: status resolved or closed with `resolved_at` in the period (as the refund /
    credit clock); complaints: `resolved_at` in the period (as the resolution SLA); all: both.
    """
    period = tenant_period(tenant, start, end)
    returns = _cadence_kept(
        filtered_return_requests(tenant, filters).filter(
            status__in=RESOLVED_RETURN, **period.instant_filter("resolved_at")
        )
    )
    complaints = _cadence_kept(
        filtered_complaints(tenant, filters).filter(**period.instant_filter("resolved_at"))
    )
    return {
        "returns": returns,
        "complaints": complaints,
        "all": cadence_together(returns, complaints),
    }


# --- complaints -----------------------------------------------------------------------------


def complaints_by_channel(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, int]:
    """Complaints filed in the period (created_at), per channel (only channels with any)."""
    period = tenant_period(tenant, start, end)
    rows = (
        filtered_complaints(tenant, filters)
        .filter(**period.instant_filter("created_at"))
        .values("channel")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["channel"]: row["count"] for row in rows if row["count"]}


def complaint_volume(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, dict[str, int]]:
    """Complaints filed in the period (created_at), by category and by priority."""
    period = tenant_period(tenant, start, end)
    filed = filtered_complaints(tenant, filters).filter(**period.instant_filter("created_at"))
    return {
        "category": {
            row["category"]: row["count"]
            for row in filed.values("category").annotate(count=Count("id")).order_by()
        },
        "priority": {
            row["priority"]: row["count"]
            for row in filed.values("priority").annotate(count=Count("id")).order_by()
        },
    }


def complaint_response_times(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, DurationStats]:
    """Business hours (tenant calendar) to first response and to resolution.

    First response: created_at → first_responded_at, for first responses in the period.
    Resolution: resolution clock start (resolution_started_at after a reopen, else
    created_at) → resolved_at, minus the business time the clock spent paused, for
    resolutions in the period. Computed in Python over `values_list` of the needed columns.
    """
    period = tenant_period(tenant, start, end)
    calendar = business_calendar(tenant)
    complaints = filtered_complaints(tenant, filters)
    first = complaints.filter(**period.instant_filter("first_responded_at")).values_list(
        "created_at", "first_responded_at"
    )
    resolved = complaints.filter(**period.instant_filter("resolved_at")).values_list(
        "created_at", "resolution_started_at", "resolved_at", "sla_paused_seconds"
    )
    return {
        "first_response": duration_stats(
            [complaint_first_response_hours(calendar, a, b) for a, b in first]
        ),
        "resolution": duration_stats(
            [complaint_resolution_hours(calendar, *row) for row in resolved]
        ),
    }


def complaint_first_response_hours(calendar, created, responded) -> float:
    return business_seconds_between(calendar, created, responded) / 3600


def complaint_resolution_hours(calendar, created, restarted, resolved, paused_seconds) -> float:
    """Business hours of the resolution clock: from its (re)start, less the paused time."""
    seconds = business_seconds_between(calendar, restarted or created, resolved) - paused_seconds
    return max(seconds, 0) / 3600


@dataclass(frozen=True)
class SlaCompliance:
    met: int
    missed: int

    @property
    def rate(self) -> float | None:
        return ratio(self.met, self.met + self.missed)


def complaint_sla_compliance(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> dict[str, SlaCompliance]:
    """Clocks that stopped in the period: met when they stopped at or before their due time."""
    period = tenant_period(tenant, start, end)
    complaints = filtered_complaints(tenant, filters)
    first = complaints.filter(**period.instant_filter("first_responded_at")).aggregate(
        met=Count("id", filter=Q(first_responded_at__lte=F("first_response_due_at"))),
        missed=Count("id", filter=Q(first_responded_at__gt=F("first_response_due_at"))),
    )
    resolution = complaints.filter(**period.instant_filter("resolved_at")).aggregate(
        met=Count("id", filter=Q(resolved_at__lte=F("resolution_due_at"))),
        missed=Count("id", filter=Q(resolved_at__gt=F("resolution_due_at"))),
    )
    return {
        "first_response": SlaCompliance(met=first["met"], missed=first["missed"]),
        "resolution": SlaCompliance(met=resolution["met"], missed=resolution["missed"]),
    }


@dataclass(frozen=True)
class ResolutionQuality:
    resolved: int
    reopened: int
    first_contact: int

    @property
    def reopen_rate(self) -> float | None:
        return ratio(self.reopened, self.resolved)

    @property
    def first_contact_resolution_rate(self) -> float | None:
        return ratio(self.first_contact, self.resolved)


def complaint_resolution_quality(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> ResolutionQuality:
    """Over complaints resolved in the period (resolved_at): reopened ones (reopen_count > 0)
    and those resolved with exactly one public message from staff."""
    period = tenant_period(tenant, start, end)
    resolved = filtered_complaints(tenant, filters).filter(**period.instant_filter("resolved_at"))
    counts = resolved.aggregate(
        resolved=Count("id"), reopened=Count("id", filter=Q(reopen_count__gt=0))
    )
    first_contact = (
        ComplaintMessage.objects.for_tenant(tenant)
        .filter(complaint__in=resolved.values("pk"), is_internal=False, author__is_staff=True)
        .values("complaint_id")
        .annotate(replies=Count("id"))
        .filter(replies=1)
        .count()
    )
    return ResolutionQuality(
        resolved=counts["resolved"], reopened=counts["reopened"], first_contact=first_contact
    )


# A complaint about the same product from the same customer within this many days of an
# earlier one is a repeat.
REPEAT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class ComplaintOutcomes:
    """Complaints decided in the period: accepted (resolved) or rejected."""

    accepted: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def accepted_share(self) -> float | None:
        return ratio(self.accepted, self.decided)

    @property
    def rejected_share(self) -> float | None:
        return ratio(self.rejected, self.decided)


def complaint_outcomes(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> ComplaintOutcomes:
    """Accepted: resolved in the period (`resolved_at`, the last resolution of a reopened
    complaint); rejected: rejected in the period (a rejection closes the complaint:
    `closed_at` with status rejected)."""
    period = tenant_period(tenant, start, end)
    complaints = filtered_complaints(tenant, filters)
    accepted = (
        complaints.filter(**period.instant_filter("resolved_at"))
        .exclude(status=ComplaintStatus.REJECTED)
        .count()
    )
    rejected = complaints.filter(
        status=ComplaintStatus.REJECTED, **period.instant_filter("closed_at")
    ).count()
    return ComplaintOutcomes(accepted=accepted, rejected=rejected)


@dataclass(frozen=True)
class RepeatComplaints:
    """Complaints about a product filed in the period, and those that repeat an earlier one."""

    with_product: int
    repeats: int

    @property
    def rate(self) -> float | None:
        return ratio(self.repeats, self.with_product)


def repeat_complaints(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> RepeatComplaints:
    """Over complaints filed in the period that name a product: a repeat is one whose
    customer filed another complaint about the same product in the REPEAT_WINDOW_DAYS before
    it (filed at that moment or earlier, whenever in the past that was). Complaints without a
    product count in neither figure."""
    period = tenant_period(tenant, start, end)
    filed = filtered_complaints(tenant, filters).filter(
        product__isnull=False, **period.instant_filter("created_at")
    )
    counts = filed.annotate(is_repeat=repeats_earlier(tenant)).aggregate(
        with_product=Count("id"), repeats=Count("id", filter=Q(is_repeat=True))
    )
    return RepeatComplaints(with_product=counts["with_product"], repeats=counts["repeats"])


def repeats_earlier(tenant) -> Exists:
    """True for a complaint whose customer filed another about the same product in the
    REPEAT_WINDOW_DAYS before it (at that moment or earlier): for annotating complaints."""
    earlier = (
        Complaint.objects.for_tenant(tenant)
        .filter(
            customer_account_id=OuterRef("customer_account_id"),
            product_id=OuterRef("product_id"),
            created_at__lte=OuterRef("created_at"),
            created_at__gte=OuterRef("created_at") - datetime.timedelta(days=REPEAT_WINDOW_DAYS),
        )
        .exclude(pk=OuterRef("pk"))
    )
    return Exists(earlier)


@dataclass(frozen=True)
class Backlog:
    open_cases: int
    age_buckets: dict[str, int] = field(default_factory=dict)  # AGE_BUCKETS key → cases


def _backlog(cases, filed_field: str, as_of: datetime.datetime) -> Backlog:
    cases = cases.filter(**{f"{filed_field}__lt": as_of})
    aggregates = {}
    for key, _label, low, high in AGE_BUCKETS:
        # Age in whole days: filed in (as_of − (high+1) d, as_of − low d].
        condition = Q(**{f"{filed_field}__lte": as_of - datetime.timedelta(days=low)})
        if high is not None:
            condition &= Q(**{f"{filed_field}__gt": as_of - datetime.timedelta(days=high + 1)})
        aggregates[key] = Count("id", filter=condition)
    counts = cases.aggregate(total=Count("id"), **aggregates)
    return Backlog(
        open_cases=counts.pop("total"), age_buckets={key: counts[key] for key, *_ in AGE_BUCKETS}
    )


def backlog(*, tenant, end, filters: KpiFilters = NO_FILTERS) -> dict[str, Backlog]:
    """Cases open now (current status) that were filed by the end of `end`; age measured at
    the end of `end`. Returns age from submitted_at, complaints from created_at."""
    as_of = tenant_period(tenant, end, end).ends_before
    returns = filtered_return_requests(tenant, filters).filter(status__in=OPEN_STATUSES)
    complaints = filtered_complaints(tenant, filters).filter(status__in=OPEN_COMPLAINT_STATUSES)
    return {
        "returns": _backlog(returns, "submitted_at", as_of),
        "complaints": _backlog(complaints, "created_at", as_of),
    }


# --- satisfaction ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Csat:
    ratings: int
    average: float | None
    satisfied_share: float | None  # ratings of 4 or 5


def _csat(row) -> Csat:
    return Csat(
        ratings=row["ratings"],
        average=float(row["average"]) if row["average"] is not None else None,
        satisfied_share=ratio(row["satisfied"], row["ratings"]),
    )


CSAT_GROUPS = {
    "agent": "complaint__assignee_id",
    "customer_account": "complaint__customer_account_id",
}
_CSAT_AGGREGATES = {
    "ratings": Count("id"),
    "average": Avg("score"),
    "satisfied": Count("id", filter=Q(score__gte=4)),
}


def _ratings(tenant, start, end, filters: KpiFilters):
    period = tenant_period(tenant, start, end)
    return SatisfactionRating.objects.for_tenant(tenant).filter(
        complaint__in=filtered_complaints(tenant, filters).values("pk"),
        **period.instant_filter("created_at"),
    )


def csat(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> Csat:
    """Ratings given in the period (created_at)."""
    return _csat(_ratings(tenant, start, end, filters).aggregate(**_CSAT_AGGREGATES))


def csat_by(
    *, tenant, start, end, group: str, filters: KpiFilters = NO_FILTERS
) -> dict[int | None, Csat]:
    """CSAT per agent (the complaint's assignee; None: unassigned) or per customer account."""
    column = CSAT_GROUPS[group]
    return {
        row[column]: _csat(row)
        for row in _ratings(tenant, start, end, filters)
        .values(column)
        .annotate(**_CSAT_AGGREGATES)
        .order_by()
    }


# --- returns' satisfaction survey ------------------------------------------------------------


@dataclass(frozen=True)
class Nps:
    """Net Promoter Score over the survey answers that scored the 0–10 question."""

    answers: int
    promoters: int  # 9–10
    detractors: int  # 0–6

    @property
    def passives(self) -> int:  # 7–8
        return self.answers - self.promoters - self.detractors

    @property
    def share(self) -> float | None:
        """Promoters' share less detractors' share, a fraction −1..1 (shown as a percentage)."""
        if not self.answers:
            return None
        return (self.promoters - self.detractors) / self.answers

    @property
    def score(self) -> float | None:
        """The NPS as usually quoted, −100..100."""
        share = self.share
        return None if share is None else share * 100


@dataclass(frozen=True)
class ReturnSatisfaction:
    csat: Csat  # ratings = answers, average of 1–5, share of 4–5
    nps: Nps


FEEDBACK_GROUPS = {
    "resolution": "return_request__resolution",
    "customer_account": "return_request__customer_account_id",
}
_FEEDBACK_AGGREGATES = {
    "ratings": Count("id"),
    "score_total": Coalesce(Sum("csat"), 0),
    "satisfied": Count("id", filter=Q(csat__gte=4)),
    "nps_answers": Count("id", filter=Q(nps__isnull=False)),
    "promoters": Count("id", filter=Q(nps__gte=NPS_PROMOTER_FROM)),
    "detractors": Count("id", filter=Q(nps__lte=NPS_DETRACTOR_UNTIL)),
}
FEEDBACK_MEASURES = tuple(_FEEDBACK_AGGREGATES)


def return_satisfaction_from_sums(values: dict) -> ReturnSatisfaction:
    """CSAT and NPS from the sums of FEEDBACK_MEASURES (which add up across groups)."""
    ratings = values["ratings"]
    return ReturnSatisfaction(
        csat=Csat(
            ratings=ratings,
            average=values["score_total"] / ratings if ratings else None,
            satisfied_share=ratio(values["satisfied"], ratings),
        ),
        nps=Nps(
            answers=values["nps_answers"],
            promoters=values["promoters"],
            detractors=values["detractors"],
        ),
    )


def return_feedback_answers(*, tenant, start, end, filters: KpiFilters = NO_FILTERS):
    """Survey answers given in the period (answered_at) about returns of the filters (a
    subquery, as for every return figure; the channel is the return's)."""
    period = tenant_period(tenant, start, end)
    answers = ReturnFeedback.objects.for_tenant(tenant).filter(
        **period.instant_filter("answered_at")
    )
    if filters != NO_FILTERS:
        answers = answers.filter(
            return_request__in=filtered_return_requests(tenant, filters).values("pk")
        )
    return answers


def return_satisfaction(
    *, tenant, start, end, filters: KpiFilters = NO_FILTERS
) -> ReturnSatisfaction:
    """CSAT (average of 1–5, share of 4–5) and NPS (promoters 9–10 less detractors 0–6) of
    the answers given in the period."""
    answers = return_feedback_answers(tenant=tenant, start=start, end=end, filters=filters)
    return return_satisfaction_from_sums(answers.aggregate(**_FEEDBACK_AGGREGATES))


def return_satisfaction_by(
    *, tenant, start, end, group: str, filters: KpiFilters = NO_FILTERS
) -> dict:
    """The same per resolution of the return or per customer account (key: its id)."""
    column = FEEDBACK_GROUPS[group]
    answers = return_feedback_answers(tenant=tenant, start=start, end=end, filters=filters)
    return {
        row[column]: return_satisfaction_from_sums(row)
        for row in answers.values(column).annotate(**_FEEDBACK_AGGREGATES).order_by()
    }


# --- complaints' NPS ------------------------------------------------------------------------

_NPS_AGGREGATES = {
    "answers": Count("id", filter=Q(nps__isnull=False)),
    "promoters": Count("id", filter=Q(nps__gte=NPS_PROMOTER_FROM)),
    "detractors": Count("id", filter=Q(nps__lte=NPS_DETRACTOR_UNTIL)),
}


def complaint_nps(*, tenant, start, end, filters: KpiFilters = NO_FILTERS) -> Nps:
    """NPS of the complaints' ratings given in the period (`created_at`) that scored the 0–10
    question (a rating without it counts for CSAT only), read like the returns' NPS:
    promoters 9–10 less detractors 0–6 over those ratings; empty (share None) when none."""
    return Nps(**_ratings(tenant, start, end, filters).aggregate(**_NPS_AGGREGATES))


__all__ = [
    "AGE_BUCKETS",
    "Backlog",
    "Csat",
    "KpiFilters",
    "Nps",
    "Region",
    "ReturnSatisfaction",
    "backlog",
    "complaint_nps",
    "complaint_outcomes",
    "complaint_resolution_quality",
    "complaint_response_times",
    "complaint_sla_compliance",
    "complaint_volume",
    "complaints_by_region",
    "csat",
    "csat_by",
    "repeat_complaints",
    "return_cycle_times",
    "return_money",
    "return_rate",
    "return_rate_by",
    "return_reasons",
    "return_reasons_by_month",
    "return_satisfaction",
    "return_satisfaction_by",
    "return_sla_compliance",
    "returned_value_by_region",
    "returns_by_disposition",
    "returns_by_exception",
    "returns_by_region",
    "returns_by_resolution",
    "returns_count",
    "update_cadence",
]
