"""Beat tasks of returns' housekeeping (returns/tasks.py holds the label tasks): the daily
auto-close and the hourly shipping deadlines, once per active tenant in its context."""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.scheduling import for_each_active_tenant

from .maintenance import returns_auto_close, returns_ship_deadlines


@shared_task(name="returns.auto_close_returns_task", soft_time_limit=600, time_limit=660)
def auto_close_returns_task() -> int:
    """Close returns resolved longer ago than the tenant's auto-close days."""
    return for_each_active_tenant(returns_auto_close, "return auto-close")


@shared_task(name="returns.ship_deadlines_task", soft_time_limit=600, time_limit=660)
def ship_deadlines_task() -> int:
    """Remind customers to send the goods of approved returns, and expire those overdue."""
    return for_each_active_tenant(returns_ship_deadlines, "return shipping deadlines")
