"""The monthly KPI report: a PDF per tenant and month (tiles, charts drawn as SVG, top
tables, the biggest changes against the month before), stored once rendered, mailed to the
tenant's managers and admins through the outbox on the 1st, downloadable from the dashboard."""

from __future__ import annotations

import datetime
import logging
import zoneinfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from returns.models import ReturnReason
from returns.selectors import tenant_today
from rma_portal.accounts.models import Role, User
from rma_portal.documents.pdf import html_to_pdf
from rma_portal.files.transactions import delete_on_rollback
from rma_portal.notifications.models import Notification
from rma_portal.notifications.services import notification_enqueue

from .charts import bar_chart_svg, line_chart_svg
from .dashboard import Dashboard, DashboardQuery, Tile, build_dashboard
from .kpis import NO_FILTERS
from .models import MonthlyReport, RollupMonth, RollupState
from .rollups import month_end, month_start
from .templatetags.kpi_format import format_kpi

logger = logging.getLogger(__name__)

TEMPLATE = "documents/monthly_report.html"
EVENT = "analytics.monthly_report"
REPORT_RECIPIENT_ROLES = (Role.MANAGER, Role.TENANT_ADMIN)
# How many of the largest changes the commentary names.
COMMENTARY_ITEMS = 5
# Months offered in the dashboard's report picker (any past month can be asked for by URL).
PICKER_MONTHS = 24
FIRST_MONTH = datetime.date(2000, 1, 1)
REPORT_TABLES = (
    "reasons",
    "categories",
    "top_products",
    "top_customers",
    "slowest",
    "times",
    "resolutions",
    "dispositions",
    "sla",
    "complaint_volume",
    "regions",
    "csat_agents",
    "return_satisfaction",
)


def previous_month(day: datetime.date) -> datetime.date:
    return month_start(month_start(day) - datetime.timedelta(days=1))


def is_past_month(*, tenant, month: datetime.date) -> bool:
    return FIRST_MONTH <= month < month_start(tenant_today(tenant))


def downloadable_months(*, tenant) -> list[datetime.date]:
    """The last PICKER_MONTHS months before the current one, newest first."""
    months, month = [], month_start(tenant_today(tenant))
    for _n in range(PICKER_MONTHS):
        month = previous_month(month)
        months.append(month)
    return months


def report_filename(tenant, month: datetime.date) -> str:
    return f"kpi-report-{tenant.slug}-{month:%Y-%m}.pdf"


# --- what the report says -------------------------------------------------------------------


def commentary(tiles: list[Tile], *, currency: str) -> list[str]:
    """Sentences on the largest changes against the previous month, largest first."""
    scored = []
    for tile in tiles:
        change = tile.change
        if change is None or abs(change) < 1e-9:
            continue
        # Rates change in points; a 1-point move weighs like a 10 % change of a count.
        weight = abs(change) * 10 if tile.kind == "rate" else abs(change)
        scored.append((weight, tile))
    scored.sort(key=lambda item: -item[0])
    sentences = []
    for _weight, tile in scored[:COMMENTARY_ITEMS]:
        values = {
            "kpi": tile.label,
            "before": format_kpi(tile.previous, tile.kind, currency),
            "after": format_kpi(tile.value, tile.kind, currency),
        }
        if tile.change > 0:
            sentence = _("%(kpi)s rose from %(before)s to %(after)s.") % values
        else:
            sentence = _("%(kpi)s fell from %(before)s to %(after)s.") % values
        verdict = _("an improvement") if tile.trend == "good" else _("a deterioration")
        sentences.append(f"{sentence} ({verdict})")
    return sentences


def _charts(board: Dashboard) -> dict[str, str]:
    days = list(board.trend)
    reasons = board.tables["reasons"]
    categories = board.tables["categories"]
    sla = board.tables["sla"]
    agents = board.tables["csat_agents"]
    no_data = _("No data")
    return {
        "daily": line_chart_svg(
            labels=[f"{point.bucket.day}" for point in days],
            series=[
                (_("Returns"), [point.returns for point in days]),
                (_("Complaints filed"), [point.complaints for point in days]),
            ],
            title=_("Returns and complaints per day"),
            empty_text=no_data,
        ),
        "reasons": bar_chart_svg(
            labels=[row[0] for row in reasons.rows],
            values=[row[1] for row in reasons.rows],
            horizontal=True,
            title=_("Return reasons (lines)"),
            empty_text=no_data,
        ),
        "categories": bar_chart_svg(
            labels=[row[0] for row in categories.rows],
            values=[round((row[3] or 0) * 100, 1) for row in categories.rows],
            title=_("Return rate by category (% of quantity)"),
            empty_text=no_data,
        ),
        "sla": bar_chart_svg(
            labels=[row[0] for row in sla.rows],
            values=[round((row[3] or 0) * 100, 1) for row in sla.rows],
            title=_("SLA compliance (%)"),
            empty_text=no_data,
        ),
        "csat": bar_chart_svg(
            labels=[row[0] for row in agents.rows],
            values=[round(row[2] or 0, 2) for row in agents.rows],
            horizontal=True,
            title=_("CSAT per agent (1–5)"),
            empty_text=no_data,
        ),
    }


def monthly_report_context(*, tenant, month: datetime.date, now=None) -> dict:
    first, last = month_start(month), month_end(month)
    query = DashboardQuery(
        preset="custom", start=first, end=last, filters=NO_FILTERS, today=tenant_today(tenant)
    )
    board = build_dashboard(query, tenant=tenant, now=now)
    returns_tile = next(tile for tile in board.tiles if tile.key == "returns")
    return {
        "tenant": tenant,
        "month": first,
        "month_label": formats.date_format(first, "F Y"),
        "board": board,
        "returns_count": returns_tile.value,
        "currency": tenant.currency,
        "charts": _charts(board),
        "commentary": commentary(board.tiles, currency=tenant.currency),
        "reason_labels": dict(ReturnReason.choices),
        "generated_at": timezone.localtime(now or timezone.now()),
        "brand_colour": tenant.brand_colour,
        "report_tables": REPORT_TABLES,
    }


def monthly_report_render(
    *, tenant, month: datetime.date, language: str = ""
) -> tuple[bytes, bool]:
    """The PDF, and whether its figures are complete: every day of the month rolled up and
    the month compacted (only a complete report is stored and mailed)."""
    from django.template.loader import render_to_string

    with translation.override(language or tenant.default_language):
        context = monthly_report_context(tenant=tenant, month=month)
        html = render_to_string(TEMPLATE, context)
    complete = not context["board"].missing_days and (
        RollupMonth.objects.for_tenant(tenant).filter(month=month_start(month)).exists()
    )
    return html_to_pdf(html), complete


def monthly_report_get_or_render(*, tenant, month: datetime.date) -> tuple[MonthlyReport, bytes]:
    """The month's report and its PDF: the stored one, or rendered now and stored when its
    figures are complete (a rebuild of the month's rollups removes the stored one)."""
    month = month_start(month)
    report = MonthlyReport.objects.for_tenant(tenant).filter(month=month).first()
    if report is not None and report.file and report.file.storage.exists(report.file.name):
        with report.file.open("rb") as stored:
            return report, stored.read()
    pdf, complete = monthly_report_render(tenant=tenant, month=month)
    if report is None:
        report = MonthlyReport(tenant=tenant, month=month)
    if not complete:
        return report, pdf
    report.generated_at = timezone.now()
    try:
        with transaction.atomic():
            report.file.save(report_filename(tenant, month), ContentFile(pdf), save=False)
            # Whatever rolls this back (the same month rendered at once elsewhere, or any
            # other failure) deletes the file again.
            delete_on_rollback(report.file.storage, report.file.name)
            report.save()
    except IntegrityError:  # rendered at the same moment elsewhere: keep that one
        report = MonthlyReport.objects.for_tenant(tenant).get(month=month)
    return report, pdf


def report_recipients(tenant):
    return User.objects.filter(tenant=tenant, role__in=REPORT_RECIPIENT_ROLES, is_active=True)


def _queued(tenant, key: str) -> int:
    return (
        Notification.objects.for_tenant(tenant)
        .filter(event=EVENT, idempotency_key__startswith=f"{key}:")
        .count()
    )


def monthly_report_send(*, tenant, month: datetime.date | None = None) -> int:
    """Render last month's report (or `month`'s) and queue it by e-mail to every manager and
    tenant admin; the same month is never queued twice to the same person."""
    month = month_start(month or previous_month(tenant_today(tenant)))
    report, _pdf = monthly_report_get_or_render(tenant=tenant, month=month)
    if report.pk is None:  # figures incomplete (rollups not built yet): mail it later
        logger.warning(
            "monthly report not sent: its rollups are incomplete",
            extra={"tenant": tenant.pk, "month": month.isoformat()},
        )
        return 0
    site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    url = site + reverse("dashboard:report", args=[month.year, month.month])
    key = f"monthly-report:{month:%Y-%m}"
    sent_before = _queued(tenant, key)
    with transaction.atomic():
        for user in report_recipients(tenant).order_by("pk"):
            with translation.override(user.preferred_language):
                month_label = formats.date_format(month, "F Y")
            notification_enqueue(
                tenant=tenant,
                event=EVENT,
                recipient=user,
                context={"month": month.isoformat(), "month_label": month_label, "url": url},
                key=key,
                attachment=report.file.name,
                attachment_name=report_filename(tenant, month),
            )
    queued = _queued(tenant, key) - sent_before
    logger.info(
        "monthly report queued",
        extra={"tenant": tenant.pk, "month": month.isoformat(), "recipients": queued},
    )
    return queued


# Local hour of the 1st from which last month's report goes out: the night's rollups are done.
REPORT_HOUR = 6


def monthly_report_send_due(*, tenant, now: datetime.datetime | None = None) -> int:
    """The hourly check: last month's report is mailed once, from REPORT_HOUR on the 1st of
    the tenant's own calendar, as soon as its rollups are complete."""
    local = timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(tenant.timezone))
    month = previous_month(local.date())
    if local.day == 1 and local.hour < REPORT_HOUR:
        return 0
    state = RollupState.objects.for_tenant(tenant).first()
    if state is not None and state.report_sent_for and state.report_sent_for >= month:
        return 0
    if not RollupMonth.objects.for_tenant(tenant).filter(month=month).exists():
        return 0
    queued = monthly_report_send(tenant=tenant, month=month)
    if MonthlyReport.objects.for_tenant(tenant).filter(month=month).exists():
        RollupState.objects.for_tenant(tenant).update_or_create(
            tenant=tenant, defaults={"report_sent_for": month}
        )
    return queued
