"""Writing to the outbox (inside the caller's transaction) and delivering from it (workers).

Delivery locks the row with SELECT … FOR UPDATE SKIP LOCKED, so two workers (or a retry
and a sweep) never send the same row, sends, and marks it sent in the same transaction.
"""

from __future__ import annotations

import datetime
import logging
import mimetypes
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from rma_portal.tenancy.models import Tenant

from .models import DeliveryStatus, Notification, WebhookDelivery, WebhookEndpoint
from .rendering import render_email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)  # after attempt 1, 2, …; the last one repeats


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def _enqueue_on_commit(task_name: str, row_id: int, tenant_id: int) -> None:
    """After the caller's commit, hand the row to a worker (or run it now in embedded mode)."""

    def send() -> None:
        from . import tasks

        try:
            getattr(tasks, task_name).apply_async(args=[row_id, tenant_id])
        except Exception:  # broker down: the row stays pending and the sweeper sends it later
            logger.warning(
                "outbox enqueue failed; the sweeper will retry",
                extra={"task": task_name, "row_id": row_id, "tenant_id": tenant_id},
                exc_info=True,
            )

    transaction.on_commit(send)


# --- writing ----------------------------------------------------------------------------


def notification_enqueue(
    *,
    tenant: Tenant,
    event: str,
    recipient,
    context: dict,
    key: str,
    essential: bool = True,
    attachment: str = "",
    attachment_name: str = "",
) -> Notification | None:
    """Queue one e-mail in the caller's transaction; the same key never queues it twice.

    `context` must be JSON (ids, numbers, texts): templates receive it with `tenant` and
    `recipient` added at delivery time.
    """
    if recipient is None or not recipient.email or not recipient.is_active:
        return None
    if not essential and not getattr(recipient, "wants_status_emails", True):
        return None
    row, created = Notification.objects.get_or_create(
        tenant=tenant,
        idempotency_key=f"{key}:{recipient.pk}",
        defaults={
            "event": event,
            "recipient": recipient,
            "email": recipient.email,
            "language": recipient.preferred_language,
            "context": context,
            "is_essential": essential,
            "attachment": attachment,
            "attachment_name": attachment_name,
        },
    )
    if created:
        _enqueue_on_commit("deliver_notification_task", row.pk, tenant.pk)
    return row


def webhook_publish(
    *, tenant: Tenant, event: str, payload: dict, key: str
) -> list[WebhookDelivery]:
    """Queue the event for every active endpoint of the tenant that subscribed to it."""
    made = []
    for endpoint in WebhookEndpoint.objects.for_tenant(tenant).filter(is_active=True):
        if not endpoint.wants(event):
            continue
        row, created = WebhookDelivery.objects.get_or_create(
            tenant=tenant,
            idempotency_key=f"{key}:{endpoint.pk}",
            defaults={"endpoint": endpoint, "event": event, "payload": payload},
        )
        if created:
            _enqueue_on_commit("deliver_webhook_task", row.pk, tenant.pk)
            made.append(row)
    return made


# --- delivering -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str  # sent, failed, retry, skipped, busy (locked elsewhere), done (already sent)
    retry_in: float | None = None


def _record_failure(row, error: str, now: datetime.datetime) -> DeliveryResult:
    row.attempts += 1
    row.last_error = error[:2000]
    # A webhook row also keeps the HTTP status its caller set (None: no answer).
    fields = ["attempts", "last_error"] + (
        ["last_status_code"] if isinstance(row, WebhookDelivery) else []
    )
    if row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.FAILED
        row.save(update_fields=[*fields, "status"])
        return DeliveryResult("failed")
    row.next_attempt_at = now + backoff(row.attempts)
    row.save(update_fields=[*fields, "next_attempt_at"])
    return DeliveryResult("retry", retry_in=(row.next_attempt_at - now).total_seconds())


def notification_deliver(*, notification_id: int, now: datetime.datetime | None = None):
    """Send one pending e-mail exactly once; failures are recorded with the next attempt."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id)
            .first()
        )
        if row is None:
            return DeliveryResult("busy")
        if row.status != DeliveryStatus.PENDING:
            return DeliveryResult("done")
        recipient = row.recipient
        if not row.is_essential and recipient and not recipient.wants_status_emails:
            row.status = DeliveryStatus.SKIPPED
            row.save(update_fields=["status"])
            return DeliveryResult("skipped")
        try:
            email = render_email(
                event=row.event,
                language=row.language,
                context={**row.context, "tenant": row.tenant, "recipient": recipient},
            )
            message = EmailMultiAlternatives(
                email.subject,
                email.text,
                settings.DEFAULT_FROM_EMAIL,
                [row.email],
                headers={"X-RMA-Notification": row.idempotency_key},
            )
            message.attach_alternative(email.html, "text/html")
            if row.attachment:
                with default_storage.open(row.attachment, "rb") as attached:
                    message.attach(
                        row.attachment_name or "attachment",
                        attached.read(),
                        mimetypes.guess_type(row.attachment_name)[0] or "application/octet-stream",
                    )
            message.send()
        except Exception as error:  # SMTP down, template bug: record and retry
            logger.warning("notification delivery failed", extra={"id": row.pk}, exc_info=True)
            return _record_failure(row, f"{type(error).__name__}: {error}", now)
        row.status = DeliveryStatus.SENT
        row.attempts += 1
        row.sent_at = now
        row.last_error = ""
        row.save(update_fields=["status", "attempts", "sent_at", "last_error"])
    return DeliveryResult("sent")


def outbox_due(*, now: datetime.datetime | None = None, stale_after: int = 120):
    """Rows a sweep should enqueue again: pending, due, and not just created (whose own
    on-commit enqueue is probably still on its way)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=stale_after)
    due = {"status": DeliveryStatus.PENDING, "next_attempt_at__lte": now, "created_at__lte": cutoff}
    return (
        list(Notification.unscoped.filter(**due).values_list("pk", "tenant_id")[:1000]),
        list(WebhookDelivery.unscoped.filter(**due).values_list("pk", "tenant_id")[:1000]),
    )


def outbox_retry(*, row: Notification | WebhookDelivery) -> None:
    """A staff member's "retry" on a failed row: pending again, with fresh attempts."""
    with transaction.atomic():
        row.status = DeliveryStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        task = (
            "deliver_notification_task" if isinstance(row, Notification) else "deliver_webhook_task"
        )
        _enqueue_on_commit(task, row.pk, row.tenant_id)


def webhook_deliver(*, delivery_id: int, now: datetime.datetime | None = None) -> DeliveryResult:
    """POST one pending delivery; 2xx is success, anything else is retried with backoff."""
    from django.core.exceptions import ValidationError

    from . import webhooks

    now = now or timezone.now()
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            return DeliveryResult("busy")
        if row.status != DeliveryStatus.PENDING:
            return DeliveryResult("done")
        if not row.endpoint.is_active:
            row.status = DeliveryStatus.SKIPPED
            row.save(update_fields=["status"])
            return DeliveryResult("skipped")
        try:
            status = webhooks.post(
                row.endpoint.url,
                secret=row.endpoint.secret,
                event=row.event,
                delivery_key=row.idempotency_key,
                payload=row.payload,
            )
        except (OSError, ValidationError) as error:
            row.last_status_code = None  # no answer: an earlier attempt's status would mislead
            detail = "; ".join(error.messages) if isinstance(error, ValidationError) else error
            return _record_failure(row, f"{type(error).__name__}: {detail}", now)
        row.last_status_code = status
        if not 200 <= status < 300:
            return _record_failure(row, f"HTTP {status}", now)
        row.status = DeliveryStatus.SENT
        row.attempts += 1
        row.sent_at = now
        row.last_error = ""
        row.save(update_fields=["status", "attempts", "sent_at", "last_error", "last_status_code"])
    return DeliveryResult("sent")
