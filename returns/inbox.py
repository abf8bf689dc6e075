"""Returns in the agents' inbox (rma_portal/backoffice/inbox.py): how a return reads as an
inbox row and which returns each view holds. Registered from ReturnsConfig.ready()."""

from __future__ import annotations

from django.db.models import Case as SqlCase
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.update_cadence import update_owed
from rma_portal.backoffice.actions import ButtonAction
from rma_portal.backoffice.inbox import InboxSource, register_inbox_source

from .models import (
    DECISION_RUNNING_STATUSES,
    OPEN_STATUSES,
    REFUND_CLOCK_STATUSES,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)
from .services import ReturnConflict, return_request_assign
from .sla_watch import sla_at_risk, sla_breached


def _columns() -> dict:
    first_line = ReturnLine.objects.filter(return_request=OuterRef("pk")).order_by("pk")
    lines = (
        ReturnLine.objects.filter(return_request=OuterRef("pk"))
        .order_by()
        .values("return_request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {
        "number": F("number"),
        "customer_name": F("customer_account__name"),
        # What is being returned: the first line's product, and how many lines more.
        "summary": Subquery(first_line.values("order_line__product__name")[:1]),
        "more": Coalesce(Subquery(lines, output_field=IntegerField()), Value(1)) - Value(1),
        "priority": Value(None, output_field=CharField()),
        "status": F("status"),
        "assignee_id": F("assignee_id"),
        "due_at": SqlCase(
            When(status__in=DECISION_RUNNING_STATUSES, then=F("decision_due_at")),
            When(status=ReturnStatus.NEEDS_INFO, then=F("decision_due_at")),
            When(status__in=REFUND_CLOCK_STATUSES, then=F("refund_due_at")),
            default=None,
            output_field=DateTimeField(),
        ),
        "at_risk_at": SqlCase(
            When(status__in=REFUND_CLOCK_STATUSES, then=F("refund_at_risk_at")),
            default=F("decision_at_risk_at"),
            output_field=DateTimeField(),
        ),
        "paused": SqlCase(
            When(status=ReturnStatus.NEEDS_INFO, then=F("decision_paused_at")),
            default=None,
            output_field=DateTimeField(),
        ),
        "created_at": F("created_at"),
    }


def _assign(return_request: ReturnRequest, actor, assignee) -> None:
    """My work's bulk assignment: return_request_assign, refusing a return nobody works on
    any more (its page offers no assignment then) and saying so when it is already that
    person's."""
    from .admin import FINISHED

    if return_request.status in FINISHED:
        raise ReturnConflict(
            _("Return %(number)s cannot be assigned: its status is “%(status)s”.")
            % {"number": return_request.reference, "status": return_request.get_status_display()}
        )
    if return_request.assignee_id == assignee.pk:
        raise ReturnConflict(
            _("Return %(number)s is already assigned to %(name)s.")
            % {"number": return_request.reference, "name": assignee.get_full_name()}
        )
    return_request_assign(return_request=return_request, actor=actor, assignee=assignee)


ASSIGN_BUTTON: ButtonAction[ReturnRequest] = ButtonAction(
    "assign",
    "",  # no transition: the return stays in its status
    gettext_lazy("Assign"),
    _assign,
    gettext_lazy("Return %(number)s assigned."),
)


def _bulk_actions() -> dict[str, ButtonAction]:
    """My work's bulk actions on returns: the buttons of the returns' admin (imported here,
    late: the admin is not loaded when the source registers). Returns have no priority."""
    from .admin import BUTTONS_BY_NAME

    return {
        "assign": ASSIGN_BUTTON,
        "request_info": BUTTONS_BY_NAME["request-info"],
        "reject": BUTTONS_BY_NAME["reject"],
        "close": BUTTONS_BY_NAME["close"],
    }


def register() -> None:
    open_statuses = sorted(OPEN_STATUSES - {ReturnStatus.DRAFT})
    register_inbox_source(
        InboxSource(
            kind="return",
            label=gettext_lazy("Return"),
            change_url_name="admin:returns_returnrequest_change",
            cases=lambda: ReturnRequest.objects.all(),
            open=Q(status__in=open_statuses),
            views={
                "mine": lambda user, now: Q(assignee_id=user.pk),
                "unassigned": lambda user, now: Q(assignee__isnull=True),
                "at_risk": lambda user, now: sla_at_risk(now),
                "breached": lambda user, now: sla_breached(now),
                "update_owed": lambda user, now: update_owed(now),
                "waiting": lambda user, now: Q(status=ReturnStatus.NEEDS_INFO),
                "awaiting_approval": lambda user, now: Q(status=ReturnStatus.AWAITING_APPROVAL),
            },
            columns=_columns,
            status_labels=dict(ReturnStatus.choices),
            priority_labels={},
            search_fields=("number", "customer_account__name", "customer_account__number"),
            bulk_actions=_bulk_actions,
            bulk_refusals={"priority": gettext_lazy("Returns have no priority.")},
        )
    )
