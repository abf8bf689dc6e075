"""Staff (and integrations' API keys) filing a return for a customer user of the tenant.

The return is the customer's in every way (they are its requester: they get its e-mails and
see it in the portal as their own) and passes the same checks as one they file themselves;
the staff member is named on the timeline and as `filed_by`, and the channel says how the
customer reached us. A refusal of the return policy may be overridden with a reason
(`return_request_submit_for_customer`).

Photos and documents (per line, or for the whole return) pass the upload checks of the portal
(`rma_portal.files.uploads.clean_upload`) before anything is written, and are stored in the
same transaction as the return: a refused file, a refused line or a policy refusal files
nothing and leaves no file behind.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from customers.cases import CaseChannel, filing_customer
from rma_portal.accounts.models import User
from rma_portal.files.uploads import CleanUpload, UploadRejected, clean_upload, safe_display_name

from ..models import ReturnAttachment, ReturnEvent, ReturnRequest
from .access import require_acting_for_customers
from .attachments import MAX_ATTACHMENTS_PER_RETURN
from .drafts import LineInput, return_request_create
from .errors import ReturnInvalid
from .transitions import return_request_submit_for_customer


def unknown_customer_error() -> ReturnInvalid:
    message = _("Unknown customer user: give the id of an active customer user of this tenant.")
    return ReturnInvalid(message, fields={"on_behalf_of": [message]})


def staff_channel(actor: User, channel: str) -> str:
    """The channel of a case filed for a customer: the one named; an integration's is the
    API unless it names another. A person must say how the customer reached them."""
    if channel:
        return channel
    if actor.is_integration:
        return CaseChannel.API
    message = _("Choose the channel the customer reached you through.")
    raise ReturnInvalid(message, fields={"channel": [message]})


def _cleaned_uploads(
    lines: Sequence[LineInput], line_uploads: Sequence[Sequence], uploads: Sequence
) -> tuple[list[tuple[int, CleanUpload]], list[CleanUpload]]:
    """Every file checked (type by content, size, PDF contents) before anything is written:
    (line index, file) pairs and the whole return's files. Errors name the line's field
    (`lines[<i>].files`) or `files`."""
    if len(line_uploads) > len(lines):
        message = _("Files were sent for a line that is not part of the return.")
        raise ReturnInvalid(message, fields={"files": [message]})
    count = sum(len(files or ()) for files in line_uploads) + len(uploads or ())
    if count > MAX_ATTACHMENTS_PER_RETURN:
        message = _("A return can have at most %(count)d files.") % {
            "count": MAX_ATTACHMENTS_PER_RETURN
        }
        raise ReturnInvalid(message, fields={"files": [message]})

    def clean(upload, field: str) -> CleanUpload:
        try:
            return clean_upload(upload)
        except UploadRejected as exc:
            message = _("%(name)s was not accepted: %(reason)s") % {
                "name": safe_display_name(getattr(upload, "name", "")),
                "reason": exc.message,
            }
            raise UploadRejected(message, code=exc.code, fields={field: [message]}) from exc

    per_line = [
        (index, clean(upload, f"lines[{index}].files"))
        for index, files in enumerate(line_uploads)
        for upload in files or ()
    ]
    whole = [clean(upload, "files") for upload in uploads or ()]
    return per_line, whole


def _store(return_request: ReturnRequest, actor: User, clean: CleanUpload, line) -> None:
    """One checked file on the return (and its line), with the timeline's "file added"."""
    ReturnAttachment.store(
        clean,
        uploaded_by=actor,
        tenant=return_request.tenant,
        return_request=return_request,
        line=line,
        then=lambda _row: ReturnEvent.objects.create(
            tenant=return_request.tenant,
            return_request=return_request,
            actor=actor,
            action="attachment",
            from_status=return_request.status,
            to_status=return_request.status,
            note=clean.original_name,
        ),
    )


def return_request_file_for_customer(
    *,
    actor: User,
    customer_id: int | None,
    channel: str = "",
    lines: Sequence[LineInput],
    requested_resolution: str,
    return_method: str,
    pickup_date: datetime.date | None = None,
    pickup_address: str = "",
    customer_note: str = "",
    submit: bool = False,
    override_reason: str = "",
    line_uploads: Sequence[Sequence] = (),
    uploads: Sequence = (),
) -> ReturnRequest:
    """File a return for the customer user `customer_id` (a draft, or submitted at once);
    all or nothing.

    An id that is not an active customer user of the actor's tenant (another tenant's user,
    a staff user, no such user) answers the same error. `override_reason` only counts when
    the return is submitted at once. `line_uploads[i]` are the photos or documents of
    `lines[i]`, `uploads` those of the whole return.
    """
    require_acting_for_customers(actor)
    if customer_id is None:
        message = _("Name the customer user you file the return for (on_behalf_of).")
        raise ReturnInvalid(message, fields={"on_behalf_of": [message]})
    membership = (
        filing_customer(tenant=actor.tenant, user_id=customer_id) if actor.tenant_id else None
    )
    if membership is None:
        raise unknown_customer_error()
    channel = staff_channel(actor, channel)
    override_reason = (override_reason or "").strip()
    if override_reason and not submit:
        message = _("A policy override is given when the return is submitted at once (submit).")
        raise ReturnInvalid(message, fields={"override_reason": [message]})
    line_files, return_files = _cleaned_uploads(lines, line_uploads, uploads)
    with transaction.atomic():
        return_request = return_request_create(
            customer_account=membership.customer_account,
            requester=membership.user,
            lines=lines,
            requested_resolution=requested_resolution,
            return_method=return_method,
            pickup_date=pickup_date,
            pickup_address=pickup_address,
            customer_note=customer_note,
            filed_by=actor,
            channel=channel,
        )
        if line_files or return_files:
            # The draft's lines, in the order they were given (ReturnLine is ordered by pk).
            saved = list(return_request.lines.all())
            for index, clean in line_files:
                _store(return_request, actor, clean, saved[index])
            for clean in return_files:
                _store(return_request, actor, clean, None)
        if submit:
            return_request = return_request_submit_for_customer(
                return_request=return_request, actor=actor, override_reason=override_reason
            )
    return return_request
