"""Thin Celery tasks of inbound mail: beat's poll queues one fetch per active mailbox, so one
slow server never holds up the others (a mailbox whose mail is posted or dropped has its
waiting messages processed instead); a posted message is processed by a task of its own."""

from __future__ import annotations

import logging

from celery import shared_task

from rma_portal.tenancy.context import task_tenant_context

from .models import InboundMessage, Mailbox
from .services import fetch_mailbox, process_message

logger = logging.getLogger(__name__)


@shared_task(name="inbound.poll_mailboxes_task", soft_time_limit=60, time_limit=120)
def poll_mailboxes_task() -> int:
    """Queue a fetch of every active mailbox of every active tenant; returns how many."""
    # The platform's own job across tenants (a worker, not a request): each fetch then runs
    # in its mailbox's tenant.
    mailboxes = Mailbox.unscoped.filter(is_active=True, tenant__is_active=True).order_by("pk")
    queued = 0
    for mailbox_id, tenant_id in mailboxes.values_list("pk", "tenant_id"):
        try:
            fetch_mailbox_task.apply_async(args=[mailbox_id, tenant_id])
        except Exception:
            logger.exception("mailbox fetch not queued", extra={"tenant": tenant_id})
            continue
        queued += 1
    return queued


# The lease on the mailbox (services.FETCH_LEASE, 10 minutes) outlasts the hard limit: a
# fetch is never taken over while it runs. One run stores at most MAX_MESSAGES_PER_RUN
# messages, and a time limit loses nothing (the next poll goes on from the last stored one).
@shared_task(name="inbound.fetch_mailbox_task", soft_time_limit=240, time_limit=300)
def fetch_mailbox_task(mailbox_id: int, tenant_id: int) -> str:
    """Fetch one mailbox: "fetched N (refused M)", "busy" (another worker fetches it),
    "inactive", "missing" or "error: …" (also kept on the mailbox as its last error)."""
    with task_tenant_context(tenant_id):
        mailbox = Mailbox.objects.select_related("tenant").filter(pk=mailbox_id).first()
        if mailbox is None:
            return "missing"
        return str(fetch_mailbox(mailbox))


@shared_task(name="inbound.process_message_task", soft_time_limit=240, time_limit=300)
def process_message_task(message_id: int, tenant_id: int) -> str:
    """Hand one stored message (posted by a provider) to the handlers; its status after, or
    "missing". A lost task leaves the message `new`: the next poll of its mailbox processes
    it (fetch_mailbox_task)."""
    with task_tenant_context(tenant_id):
        message = InboundMessage.objects.select_related("mailbox", "tenant").filter(pk=message_id)
        found = message.first()
        if found is None:
            return "missing"
        return process_message(found)
