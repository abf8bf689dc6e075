"""Filling a canned response's placeholders for one complaint."""

from __future__ import annotations

import re

from ..models import CannedResponse, Complaint

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def canned_response_render(*, canned: CannedResponse, complaint: Complaint, agent) -> str:
    """Placeholders: {customer_name}, {contact_name}, {complaint_code}, {agent_name},
    {subject}. Anything else in braces is left as written (no format-string evaluation)."""
    values = {
        "customer_name": complaint.customer_account.name,
        "contact_name": complaint.reporter.get_full_name(),
        "complaint_code": complaint.code,
        "agent_name": agent.get_full_name(),
        "subject": complaint.subject,
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), canned.body)
