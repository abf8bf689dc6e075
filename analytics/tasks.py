"""Thin Celery tasks of analytics: the nightly KPI rollup, a rebuild of a date range on
demand, and the monthly report on the 1st; each runs in its tenant's context."""

from __future__ import annotations

import datetime

from celery import shared_task

from rma_portal.tenancy.context import task_tenant_context
from rma_portal.tenancy.scheduling import for_each_active_tenant

from .reports import monthly_report_send
from .rollups import kpi_rollups_nightly, kpi_rollups_rebuild


@shared_task(name="analytics.nightly_rollups_task", soft_time_limit=3300, time_limit=3600)
def nightly_rollups_task() -> int:
    """Yesterday's rollups, the days whose cases changed since, and days never built."""
    return for_each_active_tenant(kpi_rollups_nightly, "KPI rollup")


@shared_task(name="analytics.rebuild_rollups_task", soft_time_limit=3300, time_limit=3600)
def rebuild_rollups_task(tenant_id: int, start: str, end: str) -> str:
    with task_tenant_context(tenant_id) as tenant:
        result = kpi_rollups_rebuild(
            tenant=tenant,
            start=datetime.date.fromisoformat(start),
            end=datetime.date.fromisoformat(end),
        )
    return f"{result.days} days"


@shared_task(name="analytics.monthly_reports_task", soft_time_limit=1800, time_limit=1900)
def monthly_reports_task() -> int:
    """Last month's report to every tenant's managers and admins (run on the 1st)."""
    return for_each_active_tenant(monthly_report_send, "monthly report")
