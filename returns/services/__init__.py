"""Writes on return requests. Every state change is a service: lock, re-check, transition,
event row, all in one transaction (docs/architecture.md#state-machines)."""

from .attachments import return_attachment_add
from .drafts import (
    LineInput,
    return_draft_create,
    return_draft_set_details,
    return_draft_set_lines,
    return_request_create,
)
from .errors import ReturnAccessDenied, ReturnConflict, ReturnInvalid
from .transitions import (
    INTERNAL_INSPECTION_NOTE,
    InspectionInput,
    return_request_approve,
    return_request_assign,
    return_request_cancel,
    return_request_close,
    return_request_comment,
    return_request_inspect,
    return_request_mark_received,
    return_request_provide_info,
    return_request_reject,
    return_request_request_info,
    return_request_resolve,
    return_request_submit,
)

__all__ = [
    "INTERNAL_INSPECTION_NOTE",
    "InspectionInput",
    "LineInput",
    "ReturnAccessDenied",
    "ReturnConflict",
    "ReturnInvalid",
    "return_attachment_add",
    "return_draft_create",
    "return_draft_set_details",
    "return_draft_set_lines",
    "return_request_approve",
    "return_request_assign",
    "return_request_cancel",
    "return_request_close",
    "return_request_comment",
    "return_request_create",
    "return_request_inspect",
    "return_request_mark_received",
    "return_request_provide_info",
    "return_request_reject",
    "return_request_request_info",
    "return_request_resolve",
    "return_request_submit",
]
