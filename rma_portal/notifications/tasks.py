"""Thin Celery tasks around the outbox services: deliver one row, sweep for lost ones, send
the daily digests."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from rma_portal.tenancy.context import task_tenant_context
from rma_portal.tenancy.scheduling import for_each_active_tenant

from . import services
from .digests import digest_send_due
from .sweepers import run_sweepers


@shared_task(
    name="notifications.deliver_notification_task",
    bind=True,
    acks_late=True,
    max_retries=None,
    soft_time_limit=30,
    time_limit=60,
)
def deliver_notification_task(self, notification_id: int, tenant_id: int) -> str:
    with task_tenant_context(tenant_id):
        result = services.notification_deliver(notification_id=notification_id)
    if result.outcome == "retry" and not self.request.is_eager:
        # In embedded mode (eager tasks) a retry would run at once inside the web request;
        # the row keeps its next attempt time for the outbox sweep instead.
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(name="notifications.sweep_outbox_task", soft_time_limit=60, time_limit=120)
def sweep_outbox_task() -> int:
    """Re-enqueue rows left pending (broker was down, a worker died), and whatever the
    registered sweepers recover (return labels): nothing is lost."""
    notifications, webhooks = services.outbox_due()
    for row_id, tenant_id in notifications:
        deliver_notification_task.apply_async(args=[row_id, tenant_id])
    for row_id, tenant_id in webhooks:
        deliver_webhook_task.apply_async(args=[row_id, tenant_id])
    return len(notifications) + len(webhooks) + run_sweepers(now=timezone.now())


@shared_task(
    name="notifications.deliver_webhook_task",
    bind=True,
    acks_late=True,
    max_retries=None,
    soft_time_limit=30,
    time_limit=60,
)
def deliver_webhook_task(self, delivery_id: int, tenant_id: int) -> str:
    with task_tenant_context(tenant_id):
        result = services.webhook_deliver(delivery_id=delivery_id)
    if result.outcome == "retry" and not self.request.is_eager:
        # In embedded mode (eager tasks) a retry would run at once inside the web request;
        # the row keeps its next attempt time for the outbox sweep instead.
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task(name="notifications.send_digests_task", soft_time_limit=600, time_limit=660)
def send_digests_task() -> int:
    """Hourly: each user's daily digest, from the digest hour of their tenant's day, once
    (digests.py)."""
    return for_each_active_tenant(digest_send_due, "daily digest")
