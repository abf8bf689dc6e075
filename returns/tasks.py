"""Thin Celery tasks of the returns app: render a return's label PDF in a worker."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from rma_portal.tenancy.context import task_tenant_context

from . import labels
from .models import ReturnRequest

RETRY_DELAYS = (30, 120, 600)  # seconds before the 1st, 2nd and 3rd retry


@shared_task(
    name="returns.render_return_label_task",
    bind=True,
    acks_late=True,
    max_retries=len(RETRY_DELAYS),
    # A label renders in about 0.1 s; a document that takes seconds is broken, not slow.
    soft_time_limit=20,
    time_limit=30,
)
def render_return_label_task(self, return_id: int, tenant_id: int) -> str:
    with task_tenant_context(tenant_id):
        return_request = (
            ReturnRequest.objects.select_related("customer_account", "requester", "tenant")
            .filter(pk=return_id)
            .first()
        )
        if return_request is None:
            return "missing"
        if not labels.label_available(return_request):  # cancelled before the worker ran
            labels.label_request_drop(return_request=return_request)
            return "skipped"
        try:
            labels.return_label_render(return_request=return_request)
        except SoftTimeLimitExceeded:
            raise  # the same document would time out again; the download renders it
        except (OSError, OperationalError, InterfaceError) as error:
            # Storage full or unavailable, the database restarting or its connection lost:
            # try again later (and after the last retry, the outbox sweep does).
            raise self.retry(exc=error, countdown=RETRY_DELAYS[self.request.retries]) from error
    return "rendered"
