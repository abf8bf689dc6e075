"""`manage.py reassign_absent [--tenant SLUG]`: re-assignment on absence, now.

What beat's `customers.reassign_absent_task` does: the cases not yet started of staff away on
each tenant's today are re-routed through the assignment rules (never to someone away). A
case no rule can give to anyone stays where it is.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.routing import reassign_away
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Re-route the cases not yet started of staff who are away today through the "
        "assignment rules, for every active tenant or one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="Slug of one tenant (default: every active one).")

    def handle(self, *args, tenant: str | None = None, **options):
        if tenant:
            tenants = list(Tenant.objects.filter(slug=tenant))
            if not tenants:
                raise CommandError(f"No tenant with slug '{tenant}'.")
        else:
            tenants = list(Tenant.objects.filter(is_active=True).order_by("pk"))
        total = 0
        for target in tenants:
            with tenant_context(target):
                moved = reassign_away(tenant=target)
            total += moved
            self.stdout.write(f"{target.slug}: {moved} case(s) re-assigned.")
        self.stdout.write(f"Re-assigned {total} case(s).")
