"""The complaints' part of the tenant's public policy page (customers/policy_page.py): how fast
a complaint is answered and resolved per priority, the support calendar those hours count in,
and how long a resolved complaint may be reopened, all read from the tenant's settings at each
request."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.dates import WEEKDAYS

from customers.policy_page import PolicySection, plain_number

from .models import Priority, SlaPolicy
from .selectors import DEFAULT_SLA_HOURS, support_settings

TEMPLATE = "policy/_complaints.html"


@dataclass(frozen=True)
class PriorityTerms:
    label: str
    first_response_hours: str  # business hours, formatted
    resolution_hours: str


def complaints_section(tenant) -> PolicySection:
    settings_row = support_settings(tenant)
    tenant_targets = {
        policy.priority: policy
        for policy in SlaPolicy.objects.for_tenant(tenant).filter(customer_account__isnull=True)
    }
    priorities = []
    # Most urgent first, as agents see them.
    for priority in (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW):
        policy = tenant_targets.get(priority.value)
        first, resolution = (
            (policy.first_response_hours, policy.resolution_hours)
            if policy is not None
            else DEFAULT_SLA_HOURS[priority]
        )
        priorities.append(
            PriorityTerms(
                label=str(priority.label),
                first_response_hours=plain_number(first),
                resolution_hours=plain_number(resolution),
            )
        )
    weekdays = sorted(settings_row.working_weekdays or [])
    return PolicySection(
        template=TEMPLATE,
        context={
            "priorities": priorities,
            "day_start": settings_row.day_start,
            "day_end": settings_row.day_end,
            "working_days": [str(WEEKDAYS[day]) for day in weekdays if day in WEEKDAYS],
            "reopen_window_days": settings_row.reopen_window_days,
            "auto_close_days": settings_row.auto_close_days,
        },
    )
