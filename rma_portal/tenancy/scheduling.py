"""Running a periodic job once per active tenant, each in that tenant's context."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded

from .context import tenant_context
from .models import Tenant

logger = logging.getLogger(__name__)


def for_each_active_tenant(service: Callable[..., int], name: str) -> int:
    """Run `service(tenant=…)` as each active tenant and sum what it returns; one tenant's
    failure is logged and does not stop the others (a time limit still stops the task)."""
    total = 0
    for tenant in Tenant.objects.filter(is_active=True).order_by("pk"):
        with tenant_context(tenant):
            try:
                total += service(tenant=tenant)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                logger.exception(f"{name} failed", extra={"tenant": tenant.pk})
    return total


def queue_per_tenant(task, name: str, *, active_only: bool = True) -> int:
    """Queue `task(tenant_id)` once per tenant (only active ones unless told otherwise), so
    one large tenant never holds up the others; returns how many were queued. When tasks run
    in-process, one tenant's failure is logged and does not stop the others."""
    tenants = Tenant.objects.filter(is_active=True) if active_only else Tenant.objects.all()
    queued = 0
    for tenant_id in tenants.order_by("pk").values_list("pk", flat=True):
        try:
            task.apply_async(args=[tenant_id])
        except Exception:
            logger.exception(f"{name} failed", extra={"tenant": tenant_id})
            continue
        queued += 1
    return queued
