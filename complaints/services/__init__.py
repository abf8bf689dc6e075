"""Writes on complaints: every state change is a service that locks the row, re-checks the
state and the actor's role, and writes a timeline event in the same transaction."""

from .canned import canned_response_render
from .complaints import (
    ComplaintAccessDenied,
    ComplaintConflict,
    ComplaintInvalid,
    complaint_assign,
    complaint_change_priority,
    complaint_close,
    complaint_file,
    complaint_file_for_customer,
    complaint_link_return,
    complaint_rate,
    complaint_reject,
    complaint_reopen,
    complaint_reply,
    complaint_resolve,
    complaint_start,
    complaint_wait_for_customer,
    may_reassign,
    require_acting_for_customers,
)

__all__ = [
    "ComplaintAccessDenied",
    "ComplaintConflict",
    "ComplaintInvalid",
    "canned_response_render",
    "complaint_assign",
    "complaint_change_priority",
    "complaint_close",
    "complaint_file",
    "complaint_file_for_customer",
    "complaint_link_return",
    "complaint_rate",
    "complaint_reject",
    "complaint_reopen",
    "complaint_reply",
    "complaint_resolve",
    "complaint_start",
    "complaint_wait_for_customer",
    "may_reassign",
    "require_acting_for_customers",
]
