"""`manage.py sweep_files [--dry-run] [--older-than HOURS] [--tenant SLUG] [--limit N]`:
delete stored files that no row names, tenant by tenant (`rma_portal.files.sweep`)."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from rma_portal.files.sweep import MIN_GRACE, grace_period, max_deletions, sweep_orphaned_files
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant


class Command(BaseCommand):
    help = (
        "Delete stored files under each tenant's folder that no row names and that are older "
        "than the grace period (FILES_ORPHAN_GRACE_HOURS, default 24 h)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--older-than",
            type=float,
            metavar="HOURS",
            help=f"Only files older than this (default: {grace_period().total_seconds() / 3600:g}"
            f" h; at least {MIN_GRACE.total_seconds() / 3600:g}).",
        )
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant (default: all).")
        parser.add_argument(
            "--limit",
            type=int,
            metavar="N",
            help=f"At most N deletions per tenant (default: {max_deletions()}).",
        )

    def handle(self, *args, **options) -> None:
        older_than = None
        if options["older_than"] is not None:
            older_than = datetime.timedelta(hours=options["older_than"])
            if older_than < MIN_GRACE:
                raise CommandError(
                    f"--older-than (hours) must be at least {MIN_GRACE.total_seconds() / 3600:g}"
                    ": younger files may belong to transactions still running."
                )
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        tenants = Tenant.objects.order_by("pk")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug {options['tenant']!r}.")
        dry_run = options["dry_run"]
        verb = "would delete" if dry_run else "deleted"
        for tenant in tenants:
            with tenant_context(tenant):
                result = sweep_orphaned_files(
                    tenant=tenant, older_than=older_than, dry_run=dry_run, limit=limit
                )
            for name in result.deleted:
                self.stdout.write(f"{tenant.slug}: {verb} {name}")
            for name in result.failed:
                self.stderr.write(f"{tenant.slug}: could not delete {name}")
            summary = (
                f"{tenant.slug}: {len(result.deleted)} {verb}, {result.referenced} in use, "
                f"{result.recent} younger than the grace period, {result.examined} examined"
            )
            if not result.complete:
                summary += " (limit reached: run again for the rest)"
            self.stdout.write(summary)
