"""Beat tasks of returns' housekeeping (returns/tasks.py holds the label tasks): the daily
auto-close, the hourly shipping deadlines and removal of empty drafts, and the five-minute
SLA watch of the clocks (returns/sla_watch.py), once per active tenant in its context."""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.scheduling import for_each_active_tenant

from .maintenance import returns_auto_close, returns_delete_empty_drafts, returns_ship_deadlines
from .sla_watch import return_sla_scan


@shared_task(name="returns.auto_close_returns_task", soft_time_limit=600, time_limit=660)
def auto_close_returns_task() -> int:
    """Close returns resolved longer ago than the tenant's auto-close days."""
    return for_each_active_tenant(returns_auto_close, "return auto-close")


@shared_task(name="returns.ship_deadlines_task", soft_time_limit=600, time_limit=660)
def ship_deadlines_task() -> int:
    """Remind customers to send the goods of approved returns, and expire those overdue."""
    return for_each_active_tenant(returns_ship_deadlines, "return shipping deadlines")


@shared_task(name="returns.scan_sla_task", soft_time_limit=240, time_limit=280)
def scan_return_sla_task() -> int:
    """Announce the returns' clocks at risk (to the assignee) and breached (to coordinators)."""
    return for_each_active_tenant(return_sla_scan, "return SLA scan")


@shared_task(name="returns.delete_empty_drafts_task", soft_time_limit=600, time_limit=660)
def delete_empty_drafts_task() -> int:
    """Delete drafts left without lines for more than a day."""
    return for_each_active_tenant(returns_delete_empty_drafts, "empty return drafts")
