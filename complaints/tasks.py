"""Beat tasks of complaints: the SLA watch and the auto-close (each every 5 minutes).

Each runs the service once per active tenant, in that tenant's context; one tenant's failure
is logged and does not stop the others.
"""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.scheduling import for_each_active_tenant

from .sla_watch import complaints_auto_close, sla_scan


@shared_task(name="complaints.scan_sla_task", soft_time_limit=240, time_limit=280)
def scan_sla_task() -> int:
    """Announce SLA thresholds crossed since the last run (each one once)."""
    return for_each_active_tenant(sla_scan, "SLA scan")


@shared_task(name="complaints.auto_close_complaints_task", soft_time_limit=240, time_limit=280)
def auto_close_complaints_task() -> int:
    """Close resolved complaints: rated ones whose reopen window has ended, the others
    resolved longer ago than the tenant's auto-close days."""
    return for_each_active_tenant(complaints_auto_close, "complaint auto-close")
