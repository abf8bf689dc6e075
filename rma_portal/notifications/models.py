"""Outbox rows: e-mails to send and webhook calls to make, with their delivery state."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import language_choices
from rma_portal.tenancy.models import TenantOwnedModel


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for a worker (or for its next attempt)
    # A worker holds the row until `lease_until` and is sending it now; past that time the
    # worker is taken for dead and the outbox sweep hands the row out again.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")  # delivered
    FAILED = "failed", _("Failed")  # gave up after the last attempt; can be retried by hand
    SKIPPED = "skipped", _("Skipped")  # nothing to send (recipient opted out, no address)


class OutboxRow(TenantOwnedModel):
    event = models.CharField(_("event"), max_length=60)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts started: counted when a worker takes the row's lease, before it sends.
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # While the row is `sending`: until when the worker sending it holds it (services.py).
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        abstract = True


class Notification(OutboxRow):
    """One e-mail to one person about one event."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    email = models.EmailField(_("e-mail address"))
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    context = models.JSONField(_("context"), default=dict, blank=True)
    is_essential = models.BooleanField(
        _("essential"),
        default=True,
        help_text=_("Essential e-mails are sent even to users who switched e-mails off."),
    )
    # The kind of e-mail the recipient chooses to receive or not (preferences.py); empty for
    # e-mails that are always sent (is_essential). Delivery checks the choice again.
    kind = models.CharField(_("kind of e-mail"), max_length=30, blank=True)
    # A stored file (its storage name, under the tenant's media folder) sent with the e-mail,
    # such as the monthly KPI report; read at delivery, so a retry sends the same file.
    attachment = models.CharField(_("attachment"), max_length=255, blank=True)
    attachment_name = models.CharField(_("attachment file name"), max_length=120, blank=True)
    # The case the e-mail is about ("returns.returnrequest:42"), empty for others (reports):
    # a case page lists the e-mails sent about it in its conversation.
    case = models.CharField(_("case"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="notification_idempotency_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "next_attempt_at"], name="notification_due_idx"
            ),
            models.Index(fields=["status", "next_attempt_at"], name="notification_sweep_idx"),
            models.Index(
                fields=["tenant", "case"],
                name="notification_case_idx",
                condition=~models.Q(case=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.email}"


class DigestItem(TenantOwnedModel):
    """An e-mail its recipient gets in the daily digest rather than on its own: what
    notification_enqueue() queued, kept until the digest that carries it (digests.py).

    `digest` is set in the transaction that queues the digest e-mail, so an item goes out in
    one digest only, whatever runs twice or stops half-way.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="digest_items",
        verbose_name=_("recipient"),
    )
    event = models.CharField(_("event"), max_length=60)
    kind = models.CharField(_("kind of e-mail"), max_length=30)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    context = models.JSONField(_("context"), default=dict, blank=True)
    case = models.CharField(_("case"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    digest = models.ForeignKey(
        Notification,
        on_delete=models.CASCADE,  # deleting a sent digest must not send its items again
        null=True,
        blank=True,
        related_name="digest_items",
        verbose_name=_("sent in"),
    )

    class Meta:
        verbose_name = _("digest item")
        verbose_name_plural = _("digest items")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="digest_item_idempotency_unique"
            ),
        ]
        indexes = [
            # The items still waiting for a digest, per tenant and recipient.
            models.Index(
                fields=["tenant", "recipient", "created_at"],
                name="digest_item_waiting_idx",
                condition=models.Q(digest__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient_id} (digest)"


class WebhookEndpoint(TenantOwnedModel):
    """Where a tenant's integration receives signed events."""

    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(
        _("description"), max_length=200, blank=True, help_text=_("What receives the calls.")
    )
    secret = models.CharField(
        _("signing secret"), max_length=200, help_text=_("Used for the X-Signature HMAC.")
    )
    # After a rotation the replaced secret signs too (a second v1 signature) until
    # `previous_secret_expires_at`, so the receiver can switch secrets without losing calls.
    previous_secret = models.CharField(
        _("previous signing secret"), max_length=200, blank=True, editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True, editable=False
    )
    secret_rotated_at = models.DateTimeField(
        _("secret rotated"), null=True, blank=True, editable=False
    )
    event_types = models.JSONField(
        _("event types"), default=list, blank=True, help_text=_("Empty means every event.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["url"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhook_endpoint_active_idx")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.event_types or event in self.event_types)

    def signing_secrets(self, now: datetime.datetime) -> list[str]:
        """The secrets that sign a call made at `now`: the current one first, then the one
        it replaced while its grace period lasts."""
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at is not None
            and self.previous_secret_expires_at > now
        ):
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(OutboxRow):
    """One signed POST of one event to one endpoint."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    payload = models.JSONField(_("payload"))
    last_status_code = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="webhook_delivery_idempotency_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_sweep_idx"),
            # The delivery log of one endpoint, newest first (API and back-office).
            models.Index(fields=["endpoint", "-created_at"], name="webhook_endpoint_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"
