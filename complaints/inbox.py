"""Complaints in the agents' inbox (rma_portal/backoffice/inbox.py): how a complaint reads as
an inbox row and which complaints each view holds. Registered from ComplaintsConfig.ready()."""

from __future__ import annotations

from django.db.models import Case as SqlCase
from django.db.models import DateTimeField, F, Q, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.update_cadence import update_owed
from rma_portal.backoffice.actions import ButtonAction
from rma_portal.backoffice.inbox import InboxSource, register_inbox_source

from . import services
from .models import OPEN_COMPLAINT_STATUSES, Complaint, ComplaintStatus, Priority
from .selectors import sla_at_risk, sla_breached


def _columns() -> dict:
    # The running clock: the first response until it is given, then the resolution.
    awaiting_answer = Q(first_responded_at__isnull=True)
    return {
        "number": F("code"),
        "customer_name": F("customer_account__name"),
        "summary": F("subject"),
        "more": Value(0),
        "priority": F("priority"),
        "status": F("status"),
        "assignee_id": F("assignee_id"),
        "due_at": SqlCase(
            When(awaiting_answer, then=F("first_response_due_at")),
            default=F("resolution_due_at"),
            output_field=DateTimeField(),
        ),
        "at_risk_at": SqlCase(
            When(awaiting_answer, then=F("first_response_at_risk_at")),
            default=F("resolution_at_risk_at"),
            output_field=DateTimeField(),
        ),
        "paused": F("sla_paused_at"),
        "created_at": F("created_at"),
    }


def _assign(complaint: Complaint, actor, assignee) -> None:
    """My work's bulk assignment: complaint_assign, saying so when the complaint is already
    that person's (the service accepts that, changing nothing)."""
    if complaint.assignee_id == assignee.pk and complaint.status != ComplaintStatus.NEW:
        raise services.ComplaintConflict(
            _("Complaint %(code)s is already assigned to %(name)s.")
            % {"code": complaint.code, "name": assignee.get_full_name()}
        )
    services.complaint_assign(complaint=complaint, actor=actor, assignee=assignee)


ASSIGN_BUTTON: ButtonAction[Complaint] = ButtonAction(
    "assign",
    "",  # a reassignment is no transition; the service checks the status
    gettext_lazy("Assign"),
    _assign,
    gettext_lazy("Complaint %(code)s assigned."),
)


def _bulk_actions() -> dict[str, ButtonAction]:
    """My work's bulk actions on complaints: the buttons of the complaints' admin (imported
    here, late: the admin is not loaded when the source registers)."""
    from .admin import BUTTONS_BY_NAME, PRIORITY_BUTTON

    return {
        "assign": ASSIGN_BUTTON,
        "priority": PRIORITY_BUTTON,
        "request_info": BUTTONS_BY_NAME["wait"],
        "reject": BUTTONS_BY_NAME["reject"],
        "close": BUTTONS_BY_NAME["close"],
    }


def register() -> None:
    register_inbox_source(
        InboxSource(
            kind="complaint",
            label=gettext_lazy("Complaint"),
            change_url_name="admin:complaints_complaint_change",
            cases=lambda: Complaint.objects.all(),
            open=Q(status__in=sorted(OPEN_COMPLAINT_STATUSES)),
            views={
                "mine": lambda user, now: Q(assignee_id=user.pk),
                "unassigned": lambda user, now: Q(assignee__isnull=True),
                "at_risk": lambda user, now: sla_at_risk(now),
                "breached": lambda user, now: sla_breached(now),
                "update_owed": lambda user, now: update_owed(now),
                "waiting": lambda user, now: Q(status=ComplaintStatus.AWAITING_CUSTOMER),
            },
            columns=_columns,
            status_labels=dict(ComplaintStatus.choices),
            priority_labels=dict(Priority.choices),
            search_fields=("code", "subject", "customer_account__name", "customer_account__number"),
            bulk_actions=_bulk_actions,
        )
    )
