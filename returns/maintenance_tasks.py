"""Beat task of returns' housekeeping (returns/tasks.py holds the label tasks): the daily
auto-close, once per active tenant in that tenant's context."""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.scheduling import for_each_active_tenant

from .maintenance import returns_auto_close


@shared_task(name="returns.auto_close_returns_task", soft_time_limit=600, time_limit=660)
def auto_close_returns_task() -> int:
    """Close returns resolved longer ago than the tenant's auto-close days."""
    return for_each_active_tenant(returns_auto_close, "return auto-close")
