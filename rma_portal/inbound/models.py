"""Support mailboxes of a tenant, and the messages received in them, each kept as the raw
RFC 822 bytes as they arrived: fetched over IMAP, posted by a mail provider (HTTP), or dropped
as files into a local folder (development and demos)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from rma_portal.tenancy.models import TenantOwnedModel
from rma_portal.tenancy.storage import tenant_media_path


class TlsMode(models.TextChoices):
    IMPLICIT = "tls", _("TLS from the start (port 993)")
    STARTTLS = "starttls", _("STARTTLS (port 143)")
    NONE = "none", _("None: plain text, password readable on the network")


class MailboxKind(models.TextChoices):
    IMAP = "imap", _("IMAP: the workers fetch the folder")
    HTTP = "http", _("HTTP: the mail provider posts each message (Mailgun)")
    FOLDER = "folder", _("Drop folder: .eml files in a local folder (development, demos)")


class Mailbox(TenantOwnedModel):
    """A support address of the tenant and where its mail comes from (`kind`): one IMAP
    folder the workers poll, a mail provider that posts each message to the portal, or the
    local drop folder. For IMAP, how far the workers got in the folder.

    `uidvalidity` and `last_uid` are the bookkeeping: every message of the folder with a UID
    above `last_uid` is new, as long as the server's UIDVALIDITY is still `uidvalidity`
    (when it changes, the UIDs mean other messages and the bookkeeping starts again).
    `fetch_lease_until` and `fetch_lease_token` say that a worker is fetching it now
    (rma_portal/inbound/services.py)."""

    name = models.CharField(_("name"), max_length=100, help_text=_("E.g. Complaints inbox."))
    address = models.EmailField(
        _("support address"), help_text=_("The address customers write to.")
    )
    kind = models.CharField(
        _("mail comes"), max_length=10, choices=MailboxKind.choices, default=MailboxKind.IMAP
    )
    host = models.CharField(
        _("IMAP server"), max_length=255, blank=True, help_text=_("E.g. imap.example.com")
    )
    port = models.PositiveIntegerField(
        _("port"), default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    tls_mode = models.CharField(
        _("encryption"), max_length=10, choices=TlsMode.choices, default=TlsMode.IMPLICIT
    )
    username = models.CharField(_("user name"), max_length=255, blank=True)
    # Stored as given, like webhook signing secrets (WebhookEndpoint.secret): the workers
    # that fetch the mail read it to sign in. Never shown again after it is saved.
    password = models.CharField(_("password"), max_length=255, blank=True)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    mark_seen = models.BooleanField(
        _("mark fetched messages as read"),
        default=False,
        help_text=_("Nothing else on the server is changed: messages are never moved or deleted."),
    )
    # The provider's key that signs what it posts (Mailgun's HTTP webhook signing key);
    # stored as given, like the IMAP password, and never shown again.
    signing_key = models.CharField(_("signing key"), max_length=255, blank=True)
    reply_address = models.BooleanField(
        _("receives replies to the portal's e-mails"),
        default=False,
        help_text=_(
            "E-mails about a case carry a reply address of this mailbox "
            "(support+c-…@example.com) that threads the customer's answer into the case. "
            "Without a chosen mailbox, the tenant's first active one."
        ),
    )
    send_as = models.BooleanField(
        _("send the portal's e-mails from this address"),
        default=False,
        help_text=_(
            "Only once the domain's SPF and DKIM records allow the platform's mail server to "
            "send for it; otherwise the e-mails come from the platform's address with the "
            "tenant's name."
        ),
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
                condition=models.Q(kind="imap"),
                name="inbound_mailbox_imap_folder_unique",
                violation_error_message=_("This folder is already fetched by another mailbox."),
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(reply_address=True),
                name="inbound_mailbox_one_reply_address",
                violation_error_message=_(
                    "Another mailbox already receives the replies to the portal's e-mails."
                ),
            ),
        ]
        indexes = [models.Index(fields=["is_active"], name="inbound_mailbox_active_idx")]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"

    def clean(self) -> None:
        super().clean()
        if self.kind == MailboxKind.IMAP:
            missing = {
                name: _("Needed to fetch the mail over IMAP.")
                for name in ("host", "username")
                if not getattr(self, name)
            }
            if missing:
                raise ValidationError(missing)
        if self.kind == MailboxKind.HTTP and not self.signing_key:
            raise ValidationError(
                {"signing_key": _("Needed to check that the provider sent what it posts.")}
            )


class MessageStatus(models.TextChoices):
    NEW = "new", _("New")  # stored; no handler has looked at it (yet)
    PROCESSED = "processed", _("Processed")  # a handler took it (a case made or updated)
    HELD = "held", _("Held")  # a handler failed or asked for a person to look at it
    IGNORED = "ignored", _("Ignored")  # no handler wanted it (auto-replies, spam, …)
    # Not handed to the handlers: larger than INBOUND_MAIL_MAX_BYTES (not stored), or naming
    # a case of another tenant.
    REFUSED = "refused", _("Refused")


def inbound_raw_upload_to(instance, filename: str) -> str:
    return tenant_media_path(instance.tenant_id, "inbound", "message.eml")


class InboundMessage(TenantOwnedModel):
    """One message of a mailbox's folder, identified by (UIDVALIDITY, UID) on the server;
    a message posted by a provider or dropped in the folder has UIDVALIDITY 0 and the next
    UID of its mailbox's such messages.

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
    # Set by staff for a held message: the customer user who sent it (the handlers take it for
    # the sender), and who said so.
    matched_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender matched to"),
    )
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matched by"),
    )
    # What a handler made of it: the case it filed or continued.
    case_kind = models.CharField(_("case kind"), max_length=20, blank=True)
    case_id = models.PositiveBigIntegerField(_("case id"), null=True, blank=True)
    case_label = models.CharField(_("case"), max_length=60, blank=True)

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

    @cached_property
    def mail(self):
        """What the handlers read (parsing.InboundMail): sender, subject, text, the new text
        of a reply, attachments, and the case it answers (set by the processing, which
        checked its token)."""
        from .parsing import parse_mail

        return parse_mail(self.raw_bytes())

    @property
    def via_imap(self) -> bool:
        """Fetched over IMAP; posted or dropped messages have UIDVALIDITY 0 (never a server's
        value) and UIDs of their own mailbox's count."""
        return self.uidvalidity != 0
