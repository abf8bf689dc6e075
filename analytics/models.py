"""Daily KPI rollups: additive figures per tenant, day and slice of dimensions, filled by the
rollup task (analytics.rollups) and read by the dashboard instead of the raw rows.

A *slice* names the dimensions a row is broken down by; the other dimension columns hold
their "all" value (0 or ""). Whole past months are also stored compacted (span "month", day
= the month's first day), so a 12-month range reads a dozen rows per cell, not 365.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import language_choices
from rma_portal.tenancy.models import TenantOwnedModel


class Span(models.TextChoices):
    DAY = "day", _("Day")  # one local calendar day of the tenant
    MONTH = "month", _("Month")  # a whole past month, summed from its days


def _count(label):
    return models.PositiveIntegerField(label, default=0)


def _money(label):
    return models.DecimalField(label, max_digits=16, decimal_places=2, default=0)


def _hours(label):
    return models.FloatField(label, default=0)


class RollupRow(TenantOwnedModel):
    span = models.CharField(_("span"), max_length=5, choices=Span.choices)
    day = models.DateField(_("day"))
    slice = models.CharField(_("slice"), max_length=8)
    customer_account_id = models.BigIntegerField(_("customer account"), default=0)
    category_id = models.BigIntegerField(_("product category"), default=0)
    product_id = models.BigIntegerField(_("product"), default=0)
    # How the case came in (customers.cases.CaseChannel); "" on deliveries and "all" cells.
    channel = models.CharField(_("channel"), max_length=20, blank=True, default="")
    # The customer account's billing country and region (customers.CustomerAccount); "" in
    # "all" cells, and region "" for accounts without one.
    country = models.CharField(_("country"), max_length=2, blank=True, default="")
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    # Duration histograms ({stage: {bucket minutes: cases}}) and the slowest cases of the
    # cell ({stage: [[hours, id, number], …]}), on the slices that keep them.
    durations = models.JSONField(_("duration histograms"), default=dict, blank=True)
    slowest = models.JSONField(_("slowest cases"), default=dict, blank=True)

    class Meta:
        abstract = True


class ReturnRollup(RollupRow):
    """Returns' figures of one cell; slices and measures are described in docs/kpis.md."""

    reason = models.CharField(_("reason"), max_length=30, blank=True, default="")
    # deliveries (by delivery date; no reason)
    delivered_quantity = _count(_("delivered quantity"))
    delivered_value = _money(_("delivered value"))
    # return lines (by submission; returns not draft, cancelled or rejected)
    returned_lines = _count(_("returned lines"))
    returned_quantity = _count(_("returned quantity"))
    returned_value = _money(_("returned value"))
    # return requests touching the cell (each request once per cell)
    returns = _count(_("returns"))
    resolved_refund = _count(_("resolved with refund"))
    resolved_credit_note = _count(_("resolved with credit note"))
    resolved_replacement = _count(_("resolved with replacement"))
    resolved_repair = _count(_("resolved with repair"))
    resolved_mixed = _count(_("resolved differently per line"))
    rejected = _count(_("rejected"))
    # returns filed against the policy with an override reason (a "Return policy overridden"
    # timeline entry), by submission like `returns`, and the value they asked for
    by_exception = _count(_("returns by exception"))
    by_exception_value = _money(_("value returned by exception"))
    refunded_value = _money(_("refunded"))
    credited_value = _money(_("credited"))
    restocking_fees = _money(_("restocking fees"))
    submitted_to_approved_count = _count(_("approved (cases)"))
    submitted_to_approved_hours = _hours(_("submitted → approved (hours)"))
    approved_to_received_count = _count(_("received (cases)"))
    approved_to_received_hours = _hours(_("approved → received (hours)"))
    received_to_resolved_count = _count(_("resolved after receipt (cases)"))
    received_to_resolved_hours = _hours(_("received → resolved (hours)"))
    submitted_to_resolved_count = _count(_("resolved (cases)"))
    submitted_to_resolved_hours = _hours(_("submitted → resolved (hours)"))
    # the clocks of returns, by the day each stopped (decision: decided_at; refund: resolved_at)
    decision_met = _count(_("decided within SLA"))
    decision_missed = _count(_("decided after SLA"))
    refund_met = _count(_("refunded or credited within the promised days"))
    refund_missed = _count(_("refunded or credited late"))
    # the customer-update cadence of returns resolved that day (resolved_at): kept when the
    # customer was never owed an update past its due moment (update_lapses = 0)
    updates_kept = _count(_("resolved with every customer update on time"))
    updates_lapsed = _count(_("resolved after a customer update was overdue"))
    # lines of resolved returns, by disposition (by resolution date)
    restock_lines = _count(_("restocked lines"))
    restock_quantity = _count(_("restocked quantity"))
    restock_value = _money(_("restocked value"))
    refurbish_lines = _count(_("refurbished lines"))
    refurbish_quantity = _count(_("refurbished quantity"))
    refurbish_value = _money(_("refurbished value"))
    scrap_lines = _count(_("scrapped lines"))
    scrap_quantity = _count(_("scrapped quantity"))
    scrap_value = _money(_("scrapped value"))
    return_to_supplier_lines = _count(_("lines returned to supplier"))
    return_to_supplier_quantity = _count(_("quantity returned to supplier"))
    return_to_supplier_value = _money(_("value returned to supplier"))

    class Meta:
        verbose_name = _("return rollup")
        verbose_name_plural = _("return rollups")
        indexes = [
            models.Index(fields=["tenant", "slice", "span", "day"], name="return_rollup_slice_idx"),
            models.Index(
                fields=["tenant", "slice", "customer_account_id", "day"],
                name="return_rollup_customer_idx",
            ),
            models.Index(
                fields=["tenant", "slice", "product_id", "day"], name="return_rollup_product_idx"
            ),
            # Rebuilding a day deletes its rows of every slice.
            models.Index(fields=["tenant", "span", "day"], name="return_rollup_day_idx"),
        ]


class ComplaintRollup(RollupRow):
    """Complaints' figures of one cell (agent = the complaint's assignee, 0: unassigned)."""

    agent_id = models.BigIntegerField(_("agent"), default=0)
    complaint_category = models.CharField(_("complaint category"), max_length=20, default="")
    priority = models.CharField(_("priority"), max_length=10, default="")
    filed = _count(_("complaints filed"))
    # of those, the complaints about a product, and those repeating one of their customer's
    # about the same product in the 90 days before (analytics.kpis.repeat_complaints)
    filed_with_product = _count(_("complaints filed about a product"))
    repeats = _count(_("repeat complaints"))
    first_responses = _count(_("first responses"))
    first_response_hours = _hours(_("first response (business hours)"))
    first_response_met = _count(_("first response within SLA"))
    first_response_missed = _count(_("first response after SLA"))
    resolved = _count(_("resolved"))
    resolution_hours = _hours(_("resolution (business hours)"))
    resolution_met = _count(_("resolved within SLA"))
    resolution_missed = _count(_("resolved after SLA"))
    reopened = _count(_("resolved after a reopen"))
    first_contact = _count(_("resolved with one staff reply"))
    ratings = _count(_("ratings"))
    score_total = _count(_("sum of scores"))
    satisfied = _count(_("ratings of 4 or 5"))
    # the customer-update cadence of complaints resolved that day, as for returns
    updates_kept = _count(_("resolved with every customer update on time"))
    updates_lapsed = _count(_("resolved after a customer update was overdue"))

    class Meta:
        verbose_name = _("complaint rollup")
        verbose_name_plural = _("complaint rollups")
        indexes = [
            models.Index(
                fields=["tenant", "slice", "span", "day"], name="complaint_rollup_slice_idx"
            ),
            models.Index(
                fields=["tenant", "slice", "customer_account_id", "day"],
                name="complaint_rollup_customer_idx",
            ),
            models.Index(fields=["tenant", "span", "day"], name="complaint_rollup_day_idx"),
        ]


class RollupDay(TenantOwnedModel):
    """A local day whose rollup rows are built; the dashboard warns about days missing."""

    day = models.DateField(_("day"))
    built_at = models.DateTimeField(_("built"))

    class Meta:
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="rollup_day_unique"),
        ]


class RollupMonth(TenantOwnedModel):
    """A whole past month whose compacted (span "month") rows are built; until then the
    dashboard reads the month's day rows."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    built_at = models.DateTimeField(_("built"))

    class Meta:
        verbose_name = _("rolled-up month")
        verbose_name_plural = _("rolled-up months")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month"], name="rollup_month_unique"),
        ]


class RollupState(TenantOwnedModel):
    """Per tenant: since when the next rollup run looks for changed cases, and the last
    month whose report was mailed."""

    changes_seen_at = models.DateTimeField(_("changes looked for up to"), null=True, blank=True)
    report_sent_for = models.DateField(_("last monthly report mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="rollup_state_one_per_tenant"),
        ]


def monthly_report_upload_to(instance, filename: str) -> str:
    from rma_portal.tenancy.storage import tenant_media_path

    return tenant_media_path(instance.tenant_id, "reports", filename)


class MonthlyReport(TenantOwnedModel):
    """The monthly KPI report PDF of one month in one language (the reader's: whoever downloads
    or is mailed it), kept so it is mailed and downloaded as sent."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    file = models.FileField(_("file"), upload_to=monthly_report_upload_to, max_length=255)
    generated_at = models.DateTimeField(_("generated"))

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "language"], name="monthly_report_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.language})"


class QuarterlyReport(TenantOwnedModel):
    """The KPI report PDF of one calendar quarter (the monthly report's content over its three
    months), kept once its figures are complete; downloaded from the dashboard."""

    quarter = models.DateField(
        _("quarter"), help_text=_("The first day of the quarter (1 January, 1 April, …).")
    )
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    file = models.FileField(_("file"), upload_to=monthly_report_upload_to, max_length=255)
    generated_at = models.DateTimeField(_("generated"))

    class Meta:
        verbose_name = _("quarterly report")
        verbose_name_plural = _("quarterly reports")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "quarter", "language"], name="quarterly_report_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quarter.year}-Q{(self.quarter.month - 1) // 3 + 1} ({self.language})"
