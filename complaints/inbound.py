"""E-mail to complaints: the handler the inbound mail hands each message to
(rma_portal/inbound/handlers.py), and the reply address of complaint e-mails.

- A reply naming a complaint (its reply address or thread, checked by the platform) becomes
  a public message on it by the sender: a customer user who may write on it (its reporter,
  or a customer admin of its company), or a staff member of the tenant, whose message is a
  public reply like one written in the back-office (it is e-mailed to the customer). Anyone
  else, a complaint that is closed (or resolved, for a customer) or gone: held for staff.
- New mail (no complaint named) from an active customer user of the mailbox's tenant files
  a complaint for them: the subject, the new text (the whole text when nothing of it is
  new: a forward), channel e-mail, category "other", normal priority, through
  complaint_file like one filed in the portal (SLA clocks, numbering, e-mails, assignment).
  From an unknown sender, or from staff (a forward of a customer's mail): held, for staff to
  match it to the customer user (the back-office files it then) or to reject it.
- Attachments go through the upload checks (rma_portal/files/uploads.py) one by one; a file
  they refuse (too large, not a JPEG, PNG, WebP or PDF, active content) is left out and the
  message says so: the text matters more than one bad file, and nothing is lost, since the
  e-mail as received is kept for staff: an internal note "The e-mail as received" with the
  .eml file, beside the customer's message.

Mail naming a return is not taken here (returns/inbound.py).
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.cases import CaseChannel, filing_customer
from rma_portal.errors import ApplicationError
from rma_portal.files.uploads import CleanUpload, UploadRejected, clean_upload, safe_display_name
from rma_portal.inbound.handlers import Handled, register_handler, sender_user
from rma_portal.inbound.models import InboundMessage, MessageStatus
from rma_portal.inbound.replies import register_case_kind

from .models import (
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintMessage,
    Priority,
)
from .services import complaint_file, complaint_reply
from .services.complaints import MAX_FILES_PER_MESSAGE, MAX_TEXT

KIND = "complaint"
SUBJECT_LENGTH = 200


def _held(reason: str, complaint: Complaint | None = None) -> Handled:
    if complaint is None:
        return Handled(MessageStatus.HELD, reason)
    return Handled(MessageStatus.HELD, reason, KIND, complaint.pk, complaint.code)


def _files(message: InboundMessage) -> tuple[list[CleanUpload], list[str]]:
    """The attachments the upload checks accept, and a line for each one left out."""
    mail = message.mail
    accepted: list[CleanUpload] = []
    refused: list[str] = list(mail.dropped)
    for attachment in mail.attachments:
        name = safe_display_name(attachment.filename)
        if len(accepted) >= MAX_FILES_PER_MESSAGE:
            refused.append(
                _("%(name)s: more than %(count)d files in one message.")
                % {"name": name, "count": MAX_FILES_PER_MESSAGE}
            )
            continue
        try:
            accepted.append(clean_upload(ContentFile(attachment.data, name=attachment.filename)))
        except UploadRejected as rejected:
            refused.append(f"{name}: {rejected.message}")
    return accepted, refused


def _text(text: str, refused: list[str], *, placeholder: str) -> str:
    """The customer's text, cut to what a message holds, with the files left out named."""
    note = ""
    if refused:
        note = "\n\n" + _("Not attached (refused by the file checks):") + "\n"
        note += "\n".join(f"- {line}" for line in refused)
    text = text.strip() or placeholder
    room = MAX_TEXT - len(note)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + note


def _keep_original(complaint: Complaint, message: InboundMessage, *, author, now) -> None:
    """An internal note with the e-mail as received (.eml), for staff only; the customer's
    files are stored on the customer's message (or the complaint) by the caller."""
    raw = message.raw_bytes()
    note = ComplaintMessage.objects.create(
        tenant=complaint.tenant,
        complaint=complaint,
        author=author,
        body=_(
            "The e-mail as received, for staff (from %(sender)s, subject “%(subject)s”): "
            "inbound message %(id)d."
        )
        % {
            "sender": message.mail.sender or "?",
            "subject": message.mail.subject[:200],
            "id": message.pk,
        },
        is_internal=True,
        created_at=now,
    )
    if raw:
        original = CleanUpload(
            content=ContentFile(raw, name="message.eml"),
            content_type="message/rfc822",
            original_name=f"e-mail-{message.pk}.eml",
            size=len(raw),
        )
        ComplaintAttachment.store(
            original, uploaded_by=author, tenant=complaint.tenant, complaint=complaint, message=note
        )


def _reply(message: InboundMessage, complaint_id: int) -> Handled:
    mail = message.mail
    complaint = (
        Complaint.objects.for_tenant(message.tenant)
        .select_related("tenant", "customer_account")
        .filter(pk=complaint_id)
        .first()
    )
    if complaint is None:
        return _held(f"It answers complaint {complaint_id}, which does not exist (any more).")
    sender = sender_user(message)
    if sender is None:
        return _held(
            f"Unknown sender {mail.sender or '(none)'} answering complaint {complaint.code}: "
            "match it to a customer user, or reject it.",
            complaint,
        )
    files, refused = _files(message)
    if not mail.new_text and not files:
        return _held(
            f"The answer to complaint {complaint.code} has no new text and no files.", complaint
        )
    now = timezone.now()
    body = _text(mail.new_text, refused, placeholder=_("(Files sent by e-mail.)"))
    try:
        with transaction.atomic():
            reply = complaint_reply(complaint=complaint, actor=sender, body=body, now=now)
            for clean in files:
                ComplaintAttachment.store(
                    clean,
                    uploaded_by=sender,
                    tenant=complaint.tenant,
                    complaint=complaint,
                    message=reply,
                )
            _keep_original(complaint, message, author=sender, now=now)
    except ApplicationError as refusal:
        return _held(
            f"Not added to complaint {complaint.code} as {sender.email}: {refusal.message}",
            complaint,
        )
    return Handled(
        MessageStatus.PROCESSED,
        f"Added to complaint {complaint.code} as {sender.email}"
        + (f"; {len(refused)} file(s) left out." if refused else "."),
        KIND,
        complaint.pk,
        complaint.code,
    )


def _new_complaint(message: InboundMessage) -> Handled:
    mail = message.mail
    sender = sender_user(message)
    if sender is None:
        return _held(
            f"Unknown sender {mail.sender or '(none)'}: match it to a customer user (a "
            "complaint is filed for them), or reject it."
        )
    if not sender.is_customer:
        return _held(
            f"Sent by {sender.email}, who is not a customer user (a forward?): match it to "
            "the customer user it is for, or reject it."
        )
    membership = filing_customer(tenant=message.tenant, user_id=sender.pk)
    if membership is None:
        return _held(
            f"{sender.email} is not an active customer user of an active company: match it "
            "to another customer user, or reject it."
        )
    files, refused = _files(message)
    subject = " ".join(mail.subject.split()) or _("E-mail without a subject")
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1].rstrip() + "…"
    description = _text(
        mail.reply_text,
        refused,
        placeholder=_("(Files sent by e-mail.)") if files else _("(The e-mail had no text.)"),
    )
    # Matched by staff: they filed it for the customer (the timeline names them).
    filed_by = message.matched_by if message.matched_by_id else None
    now = timezone.now()
    try:
        with transaction.atomic():
            complaint = complaint_file(
                customer_account=membership.customer_account,
                reporter=membership.user,
                category=ComplaintCategory.OTHER,
                priority=Priority.NORMAL,
                subject=subject,
                description=description,
                channel=CaseChannel.EMAIL,
                filed_by=filed_by if filed_by is not None and filed_by.is_staff else None,
                now=now,
            )
            for clean in files:
                ComplaintAttachment.store(
                    clean, uploaded_by=sender, tenant=complaint.tenant, complaint=complaint
                )
            _keep_original(complaint, message, author=sender, now=now)
    except ApplicationError as refusal:
        return _held(f"No complaint filed for {sender.email}: {refusal.message}")
    return Handled(
        MessageStatus.PROCESSED,
        f"Filed as complaint {complaint.code} for {sender.email}"
        + (f"; {len(refused)} file(s) left out." if refused else "."),
        KIND,
        complaint.pk,
        complaint.code,
    )


def complaint_from_message(message: InboundMessage) -> Handled | None:
    """The handler (see the module's docstring); None for mail naming another kind of case."""
    case = message.mail.case
    if case is not None and case.kind != KIND:
        return None
    # What is written into the case (placeholders, notes) is in the tenant's language.
    with translation.override(message.tenant.default_language):
        if case is not None:
            return _reply(message, case.case_id)
        return _new_complaint(message)


# Complaint e-mails to the customer carry the complaint's reply address and thread.
register_case_kind(name=KIND, letter="c", event_prefix="complaint.", context_key="complaint_id")
register_handler(complaint_from_message)
