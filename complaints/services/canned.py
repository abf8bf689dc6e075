"""Filling a canned response's placeholders for one complaint (customers/canned.py)."""

from __future__ import annotations

from customers.canned import canned_response_render as render
from customers.models import CannedResponse

from ..models import Complaint


def canned_response_render(*, canned: CannedResponse, complaint: Complaint, agent) -> str:
    """{case_number} and {complaint_code} are the complaint's code, {subject} its subject."""
    return render(
        canned=canned,
        case_number=complaint.code,
        subject=complaint.subject,
        customer_name=complaint.customer_account.name,
        contact=complaint.reporter,
        agent=agent,
    )
