"""Photos and documents on a return, checked by content before anything is stored."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from rma_portal.accounts.models import User
from rma_portal.files.uploads import clean_upload

from ..models import ReturnAttachment, ReturnEvent, ReturnLine, ReturnRequest, ReturnStatus
from .access import require_customer_or_staff
from .errors import ReturnConflict, ReturnInvalid
from .transitions import return_request_comment

MAX_ATTACHMENTS_PER_RETURN = 30
CLOSED_FOR_UPLOADS = frozenset(
    {ReturnStatus.CLOSED, ReturnStatus.CANCELLED, ReturnStatus.REJECTED, ReturnStatus.EXPIRED}
)


def return_attachment_add(
    *,
    return_request: ReturnRequest,
    actor: User,
    upload,
    line: ReturnLine | None = None,
) -> ReturnAttachment:
    """Validate (type by content, size), re-encode images, store under the tenant's folder."""
    clean = clean_upload(upload)  # raises UploadRejected before any write
    with transaction.atomic():
        locked = ReturnRequest.objects.select_for_update().get(pk=return_request.pk)
        require_customer_or_staff(actor, locked)
        if locked.status in CLOSED_FOR_UPLOADS:
            raise ReturnConflict(
                _("Return %(number)s is %(status)s; no more files can be added.")
                % {"number": locked.reference, "status": locked.get_status_display().lower()}
            )
        if line is not None and line.return_request_id != locked.pk:
            raise ReturnInvalid(_("That line is not part of this return."))
        if locked.attachments.count() >= MAX_ATTACHMENTS_PER_RETURN:
            raise ReturnInvalid(
                _("A return can have at most %(count)d files.")
                % {"count": MAX_ATTACHMENTS_PER_RETURN}
            )
        # The event is part of the row: if it fails, the file is deleted again too.
        attachment = ReturnAttachment.store(
            clean,
            uploaded_by=actor,
            tenant=locked.tenant,
            return_request=locked,
            line=line,
            then=lambda _row: ReturnEvent.objects.create(
                tenant=locked.tenant,
                return_request=locked,
                actor=actor,
                action="attachment",
                from_status=locked.status,
                to_status=locked.status,
                note=clean.original_name,
            ),
        )
    return attachment


MAX_FILES_PER_MESSAGE = 10


def return_request_reply(
    *, return_request: ReturnRequest, actor: User, note: str, is_public: bool, uploads=()
):
    """A message with files, all or nothing: a refused file (type, size, the return's limit)
    or a refused text leaves neither the message nor any file. A return's files are the
    customer's to see, so they go with public messages only."""
    uploads = list(uploads)
    if uploads and not is_public:
        raise ReturnInvalid(
            _(
                "Files on a return are shown to the customer: send them with a reply to the "
                "customer, not with an internal note."
            )
        )
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        raise ReturnInvalid(
            _("Send at most %(count)d files with one message.") % {"count": MAX_FILES_PER_MESSAGE}
        )
    with transaction.atomic():
        event = return_request_comment(
            return_request=return_request, actor=actor, note=note, is_public=is_public
        )
        for upload in uploads:
            return_attachment_add(return_request=return_request, actor=actor, upload=upload)
    return event
