"""`manage.py kpi_report --tenant SLUG --month YYYY-MM` or `--quarter YYYY-QN`: render a past
month's or quarter's KPI report PDF and store it (as the download and beat do), or show that
its rollups are incomplete. Nothing is mailed."""

from __future__ import annotations

import datetime
import re

from django.core.management.base import BaseCommand, CommandError

from analytics import reports
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

MONTH = re.compile(r"(\d{4})-(\d{2})")
QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")


def _month(value: str) -> datetime.date:
    match = MONTH.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return datetime.date(int(match[1]), int(match[2]), 1)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a month; write it as YYYY-MM.") from error


def _quarter(value: str) -> datetime.date:
    match = QUARTER.fullmatch(value)
    if match is None:
        raise CommandError(f"{value!r} is not a quarter; write it as YYYY-QN, e.g. 2026-Q3.")
    return reports.quarter_of(int(match[1]), int(match[2]))


class Command(BaseCommand):
    help = (
        "Render and store the KPI report PDF of a past month (--month) or calendar quarter "
        "(--quarter) for one tenant, or all with --tenant all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug, or 'all'")
        period = parser.add_mutually_exclusive_group(required=True)
        period.add_argument("--month", help="the month, YYYY-MM")
        period.add_argument("--quarter", help="the quarter, YYYY-QN (Q1 = January–March)")

    def handle(self, *args, tenant: str, month: str | None, quarter: str | None, **options):
        first = _month(month) if month else _quarter(quarter)
        if tenant == "all":
            tenants = list(Tenant.objects.filter(is_active=True).order_by("pk"))
        else:
            tenants = list(Tenant.objects.filter(slug=tenant))
            if not tenants:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        for each in tenants:
            with tenant_context(each):
                self._generate(each, first, quarterly=quarter is not None)

    def _generate(self, tenant, first: datetime.date, *, quarterly: bool) -> None:
        if quarterly:
            label = f"{first.year}-Q{reports.quarter_number(first)}"
            past = reports.is_past_quarter(tenant=tenant, quarter=first)
        else:
            label = f"{first:%Y-%m}"
            past = reports.is_past_month(tenant=tenant, month=first)
        if not past:
            self.stdout.write(f"{tenant.slug}: {label} is not over yet; no report.")
            return
        if quarterly:
            report, _pdf = reports.quarterly_report_get_or_render(tenant=tenant, quarter=first)
        else:
            report, _pdf = reports.monthly_report_get_or_render(tenant=tenant, month=first)
        if report.pk is None:
            self.stdout.write(
                f"{tenant.slug}: {label} not stored: its rollups are incomplete "
                "(run manage.py rebuild_kpis for its days first)."
            )
            return
        self.stdout.write(f"{tenant.slug}: {label} stored as {report.file.name}")
