"""E-mail to returns: the handler the inbound mail hands each message to
(rma_portal/inbound/handlers.py), and the reply address of return e-mails.

A reply naming a return (its reply address or thread, checked by the platform) becomes a
public comment on it (return_request_comment) by the sender: its requester, a customer
admin of its company, or a staff member of the tenant (a public message, e-mailed to the
customer like one written in the back-office). Its attachments are added through
return_attachment_add, which runs the upload checks; a file refused is left out and the
comment says so. Anyone else, or a return that is gone: held for staff.

The e-mail as received stays with the inbound message (its back-office page downloads
it); an internal timeline note names that message. Every file of a return is shown to its
customer, so the .eml is not attached to the return itself.

New mail that names no return is not taken here: it is for complaints/inbound.py.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from rma_portal.errors import ApplicationError
from rma_portal.files.uploads import safe_display_name
from rma_portal.inbound.handlers import Handled, register_handler, sender_user
from rma_portal.inbound.models import InboundMessage, MessageStatus
from rma_portal.inbound.replies import register_case_kind

from .models import ReturnEvent, ReturnRequest
from .services import return_attachment_add, return_request_comment

KIND = "return"
MAX_NOTE = 4000  # what return_request_comment takes


def _held(reason: str, return_request: ReturnRequest | None = None) -> Handled:
    if return_request is None:
        return Handled(MessageStatus.HELD, reason)
    return Handled(MessageStatus.HELD, reason, KIND, return_request.pk, return_request.reference)


def _comment_text(text: str, refused: list[str]) -> str:
    note = ""
    if refused:
        note = "\n\n" + _("Not attached (refused by the file checks):") + "\n"
        note += "\n".join(f"- {line}" for line in refused)
    text = text.strip() or _("(Files sent by e-mail.)")
    room = MAX_NOTE - len(note)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + note


def _reply(message: InboundMessage, return_id: int) -> Handled:
    mail = message.mail
    return_request = (
        ReturnRequest.objects.for_tenant(message.tenant)
        .select_related("tenant", "customer_account")
        .filter(pk=return_id)
        .first()
    )
    if return_request is None:
        return _held(f"It answers return {return_id}, which does not exist (any more).")
    number = return_request.reference
    sender = sender_user(message)
    if sender is None:
        return _held(
            f"Unknown sender {mail.sender or '(none)'} answering return {number}: match it "
            "to a customer user, or reject it.",
            return_request,
        )
    if not mail.new_text and not mail.attachments:
        return _held(f"The answer to return {number} has no new text and no files.", return_request)
    try:
        with transaction.atomic():
            refused = list(mail.dropped)
            for attachment in mail.attachments:
                upload = ContentFile(attachment.data, name=attachment.filename)
                try:
                    with transaction.atomic():
                        return_attachment_add(
                            return_request=return_request, actor=sender, upload=upload
                        )
                except ApplicationError as rejected:
                    refused.append(f"{safe_display_name(attachment.filename)}: {rejected.message}")
            return_request_comment(
                return_request=return_request,
                actor=sender,
                note=_comment_text(mail.new_text, refused),
                is_public=True,
            )
            ReturnEvent.objects.create(
                tenant=return_request.tenant,
                return_request=return_request,
                actor=None,
                action="comment",
                from_status=return_request.status,
                to_status=return_request.status,
                note=_(
                    "The comment above came by e-mail from %(sender)s; the e-mail as received "
                    "is inbound message %(id)d."
                )
                % {"sender": mail.sender, "id": message.pk},
                is_public=False,
            )
    except ApplicationError as refusal:
        return _held(
            f"Not added to return {number} as {sender.email}: {refusal.message}", return_request
        )
    return Handled(
        MessageStatus.PROCESSED,
        f"Added to return {number} as {sender.email}"
        + (f"; {len(refused)} file(s) left out." if refused else "."),
        KIND,
        return_request.pk,
        number,
    )


def return_reply_from_message(message: InboundMessage) -> Handled | None:
    """The handler (see the module's docstring); None unless the mail names a return."""
    case = message.mail.case
    if case is None or case.kind != KIND:
        return None
    with translation.override(message.tenant.default_language):
        return _reply(message, case.case_id)


# Return e-mails to the customer carry the return's reply address and thread.
register_case_kind(name=KIND, letter="r", event_prefix="return.", context_key="return_id")
register_handler(return_reply_from_message)
