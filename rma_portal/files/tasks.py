"""Thin Celery tasks of stored files: the periodic sweep of orphaned files, one task per
tenant so that one large tenant never holds up the others."""

from __future__ import annotations

from celery import shared_task

from rma_portal.tenancy.context import task_tenant_context
from rma_portal.tenancy.scheduling import queue_per_tenant

from .sweep import sweep_orphaned_files


@shared_task(name="files.sweep_orphaned_files_task", soft_time_limit=60, time_limit=120)
def sweep_orphaned_files_task() -> int:
    """Queue one sweep per tenant (inactive ones too: their folders keep files); returns how
    many were queued."""
    return queue_per_tenant(sweep_tenant_files_task, "orphaned file sweep", active_only=False)


@shared_task(name="files.sweep_tenant_files_task", soft_time_limit=1700, time_limit=1800)
def sweep_tenant_files_task(tenant_id: int) -> str:
    """Delete the tenant's files that no row names, older than the grace period."""
    with task_tenant_context(tenant_id) as tenant:
        result = sweep_orphaned_files(tenant=tenant)
    return f"{len(result.deleted)} deleted"
