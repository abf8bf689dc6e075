"""Thin Celery tasks of analytics: the hourly rollup run (one task per tenant, so one large
tenant never holds up the others; each tenant's night brings its yesterday), a rebuild of a
date range on demand, the monthly report, mailed on the 1st of each tenant's calendar, and
the quarterly report, generated and stored once each tenant's quarter is over."""

from __future__ import annotations

import datetime

from celery import shared_task

from rma_portal.tenancy.context import task_tenant_context
from rma_portal.tenancy.scheduling import for_each_active_tenant, queue_per_tenant

from .reports import monthly_report_send_due, quarterly_report_generate_due
from .rollups import kpi_rollups_nightly, kpi_rollups_rebuild


@shared_task(name="analytics.rollups_task")
def rollups_task() -> int:
    """Queue one rollup run per active tenant; returns how many were queued."""
    return queue_per_tenant(tenant_rollups_task, "KPI rollup")


@shared_task(name="analytics.tenant_rollups_task", soft_time_limit=1700, time_limit=1800)
def tenant_rollups_task(tenant_id: int) -> str:
    """Yesterday, the days changed since the last run, and some days never built."""
    with task_tenant_context(tenant_id) as tenant:
        days = kpi_rollups_nightly(tenant=tenant)
    return f"{days} days"


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
    """Hourly: last month's report to the managers and admins of each tenant whose 1st has
    come (from 06:00 local) and whose rollups of that month are complete, once."""
    return for_each_active_tenant(monthly_report_send_due, "monthly report")


@shared_task(name="analytics.quarterly_reports_task", soft_time_limit=1800, time_limit=1900)
def quarterly_reports_task() -> int:
    """Hourly: the last quarter's report of each tenant whose new quarter has come (from 06:00
    local on its first day) and whose rollups of that quarter are complete, stored once."""
    return for_each_active_tenant(quarterly_report_generate_due, "quarterly report")
