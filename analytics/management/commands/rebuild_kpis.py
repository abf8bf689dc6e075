"""`manage.py rebuild_kpis --tenant SLUG --from YYYY-MM-DD --to YYYY-MM-DD`: rebuild the KPI
rollups of a date range (days before today), replacing what was there."""

from __future__ import annotations

import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import kpi_rollups_rebuild
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date; write it as YYYY-MM-DD.") from error


class Command(BaseCommand):
    help = "Rebuild the KPI rollups of one tenant (or all, with --tenant all) for a date range."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug, or 'all'")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")

    def handle(self, *args, tenant: str, start: str, end: str, **options) -> None:
        first, last = _date(start), _date(end)
        if last < first:
            raise CommandError("--to must not be before --from.")
        if tenant == "all":
            tenants = list(Tenant.objects.filter(is_active=True).order_by("pk"))
        else:
            tenants = list(Tenant.objects.filter(slug=tenant))
            if not tenants:
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        for each in tenants:
            began = time.monotonic()
            with tenant_context(each):
                result = kpi_rollups_rebuild(tenant=each, start=first, end=last)
            self.stdout.write(
                f"{each.slug}: {result.days} days rebuilt ({result.return_rows} return and "
                f"{result.complaint_rows} complaint rollup rows, {result.months} whole months) "
                f"in {time.monotonic() - began:.1f} s"
            )
            if result.days < (last - first).days + 1:
                self.stdout.write("  (today and later days are computed live, not stored)")
