"""Support mailboxes a tenant has the portal read over IMAP, and the messages fetched from
them, each kept as the raw RFC 822 bytes the server sent (docs: inbound e-mail)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.tenancy.models import TenantOwnedModel
from rma_portal.tenancy.storage import tenant_media_path


class TlsMode(models.TextChoices):
    IMPLICIT = "tls", _("TLS from the start (port 993)")
    STARTTLS = "starttls", _("STARTTLS (port 143)")
    NONE = "none", _("None: plain text, password readable on the network")


class Mailbox(TenantOwnedModel):
    """One IMAP folder the workers poll, and how far they got in it.

    `uidvalidity` and `last_uid` are the bookkeeping: every message of the folder with a UID
    above `last_uid` is new, as long as the server's UIDVALIDITY is still `uidvalidity`
    (when it changes, the UIDs mean other messages and the bookkeeping starts again).
    `fetch_lease_until` and `fetch_lease_token` say that a worker is fetching it now
    (rma_portal/inbound/services.py)."""

    name = models.CharField(_("name"), max_length=100, help_text=_("E.g. Complaints inbox."))
    address = models.EmailField(
        _("support address"), help_text=_("The address customers write to.")
    )
    host = models.CharField(_("IMAP server"), max_length=255, help_text=_("E.g. imap.example.com"))
    port = models.PositiveIntegerField(
        _("port"), default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    tls_mode = models.CharField(
        _("encryption"), max_length=10, choices=TlsMode.choices, default=TlsMode.IMPLICIT
    )
    username = models.CharField(_("user name"), max_length=255)
    # Stored as given, like webhook signing secrets (WebhookEndpoint.secret): the workers
    # that fetch the mail read it to sign in. Never shown again after it is saved.
    password = models.CharField(_("password"), max_length=255)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    mark_seen = models.BooleanField(
        _("mark fetched messages as read"),
        default=False,
        help_text=_("Nothing else on the server is changed: messages are never moved or deleted."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    uidvalidity = models.PositiveBigIntegerField(
        _("UIDVALIDITY"), null=True, blank=True, editable=False
    )
    last_uid = models.PositiveBigIntegerField(_("last fetched UID"), default=0, editable=False)
    last_fetched_at = models.DateTimeField(_("last fetched"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True, editable=False)
    fetch_lease_until = models.DateTimeField(
        _("being fetched until"), null=True, blank=True, editable=False
    )
    fetch_lease_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "host", "port", "username", "folder"],
                name="inbound_mailbox_folder_unique",
                violation_error_message=_("This folder is already fetched by another mailbox."),
            ),
        ]
        indexes = [models.Index(fields=["is_active"], name="inbound_mailbox_active_idx")]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class MessageStatus(models.TextChoices):
    NEW = "new", _("New")  # stored; no handler has looked at it (yet)
    PROCESSED = "processed", _("Processed")  # a handler took it (a case made or updated)
    HELD = "held", _("Held")  # a handler failed or asked for a person to look at it
    IGNORED = "ignored", _("Ignored")  # no handler wanted it (auto-replies, spam, …)
    REFUSED = "refused", _("Refused")  # not stored: larger than INBOUND_MAIL_MAX_BYTES


def inbound_raw_upload_to(instance, filename: str) -> str:
    return tenant_media_path(instance.tenant_id, "inbound", "message.eml")


class InboundMessage(TenantOwnedModel):
    """One message of a mailbox's folder, identified by (UIDVALIDITY, UID) on the server.

    `raw` holds the message exactly as fetched; the header fields are copies for listing
    and searching (shortened, never used to rebuild the message). A refused message has no
    `raw`; `size` is then what the server said it was."""

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, related_name="messages", verbose_name=_("mailbox")
    )
    uidvalidity = models.PositiveBigIntegerField(_("UIDVALIDITY"))
    uid = models.PositiveBigIntegerField(_("UID"))
    # 500: the index on it takes at most 2,000 bytes a row, below PostgreSQL's B-tree limit.
    message_id = models.CharField(_("Message-ID"), max_length=500, blank=True)
    from_header = models.CharField(_("from"), max_length=998, blank=True)
    to_header = models.TextField(_("to"), blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    raw = models.FileField(
        _("message file"), upload_to=inbound_raw_upload_to, max_length=255, blank=True
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.NEW
    )
    status_reason = models.TextField(_("reason"), blank=True)
    fetched_at = models.DateTimeField(_("fetched"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-fetched_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"], name="inbound_message_uid_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="inbound_message_status_idx"),
            models.Index(fields=["mailbox", "status"], name="inbound_message_pending_idx"),
            models.Index(fields=["mailbox", "message_id"], name="inbound_message_msgid_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"UID {self.uid}"

    def raw_bytes(self) -> bytes:
        """The message as fetched (empty for a refused one)."""
        if not self.raw:
            return b""
        with self.raw.open("rb") as handle:
            return handle.read()

    def parsed(self) -> EmailMessage:
        """The message parsed by the standard library (`email.policy.default`), for
        handlers: `.get_body()`, `.iter_attachments()`, headers."""
        return message_from_bytes(self.raw_bytes(), policy=policy.default)
