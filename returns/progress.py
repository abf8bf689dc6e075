"""Where a return stands, for the customer: the stages of its way (submitted → approved →
goods received → inspected → resolved / closed), the branch it may have taken instead
(needs information, rejected, cancelled, expired), what happens next and what the customer
must do. No database: read from the return's status and timestamps (the portal's return
page shows it; docs/returns-rules.md#where-a-return-stands).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ReturnMethod, ReturnRequest, ReturnStatus

DONE = "done"
CURRENT = "current"
UPCOMING = "upcoming"
# The return left the way at this stage (rejected, cancelled, expired), or is held there
# waiting for the customer (needs information); stages after a stop are never reached.
HELD = "held"
STOPPED = "stopped"
NOT_REACHED = "not_reached"

# (key, label, the timestamp that says it was reached)
STAGES = (
    ("submitted", gettext_lazy("Submitted"), "submitted_at"),
    ("approved", gettext_lazy("Approved"), "approved_at"),
    ("received", gettext_lazy("Goods received"), "received_at"),
    ("inspected", gettext_lazy("Inspected"), "inspected_at"),
    ("resolved", gettext_lazy("Resolved"), "resolved_at"),
)
# The stage each status is at (the one being worked on, or the last one reached).
STATUS_STAGE = {
    ReturnStatus.DRAFT: "submitted",
    ReturnStatus.SUBMITTED: "approved",
    ReturnStatus.AWAITING_APPROVAL: "approved",
    ReturnStatus.NEEDS_INFO: "approved",
    ReturnStatus.REJECTED: "approved",
    ReturnStatus.APPROVED: "received",
    ReturnStatus.EXPIRED: "received",
    ReturnStatus.RECEIVED: "inspected",
    ReturnStatus.INSPECTED: "resolved",
}
BRANCHES = {
    ReturnStatus.NEEDS_INFO: (HELD, gettext_lazy("Needs information")),
    ReturnStatus.REJECTED: (STOPPED, gettext_lazy("Rejected")),
    ReturnStatus.CANCELLED: (STOPPED, gettext_lazy("Cancelled")),
    ReturnStatus.EXPIRED: (STOPPED, gettext_lazy("Expired")),
}

# What the customer does next: the portal's return page turns each into its main button.
ACTION_CONTINUE_DRAFT = "continue_draft"
ACTION_ANSWER = "answer"
ACTION_SEND_GOODS = "send_goods"


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    state: str  # DONE, CURRENT, UPCOMING, HELD, STOPPED, NOT_REACHED
    when: datetime.datetime | None = None

    @property
    def state_label(self) -> str:
        """The stage's state in words, for screen readers (the page shows it by style)."""
        return str(
            {
                DONE: _("done"),
                CURRENT: _("in progress"),
                UPCOMING: _("to come"),
                HELD: _("waiting for you"),
                STOPPED: _("stopped here"),
                NOT_REACHED: _("not reached"),
            }[self.state]
        )


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    next_step: str  # what happens next
    your_part: str  # what the customer must do ("" when nothing)
    action: str = ""  # ACTION_*: the main button of the page ("" for none)


def _day(value: datetime.date | datetime.datetime | None) -> str:
    """A day as the page shows dates; a moment's day in the current (the tenant's) zone."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return date_format(value, "SHORT_DATE_FORMAT")


def _stages(return_request: ReturnRequest) -> list[Stage]:
    status = return_request.status
    branch = BRANCHES.get(status)
    if status == ReturnStatus.CANCELLED:
        # Cancelled at the first stage it had not reached.
        at = next(
            (key for key, _label, field in STAGES if getattr(return_request, field) is None),
            "resolved",
        )
    else:
        at = STATUS_STAGE.get(status)
    stages, past = [], False
    for key, label, field in STAGES:
        reached = getattr(return_request, field)
        if status == ReturnStatus.DRAFT:
            # A draft (also one taken back to be changed) is not with us until submitted.
            stages.append(Stage(key, str(label), CURRENT if key == at else UPCOMING))
            continue
        if past:
            state = NOT_REACHED if branch and branch[0] == STOPPED else UPCOMING
            stages.append(Stage(key, str(label), state))
            continue
        if key == at:
            past = True
            if branch:
                stages.append(Stage(key, str(branch[1]), branch[0]))
            else:
                stages.append(Stage(key, str(label), CURRENT))
            continue
        stages.append(Stage(key, str(label), DONE, reached))
    if status == ReturnStatus.CLOSED:
        last = stages[-1]
        stages[-1] = Stage(last.key, str(gettext_lazy("Closed")), DONE, return_request.closed_at)
    return stages


def return_progress(return_request: ReturnRequest) -> Progress:
    """The stages, what happens next and the customer's part, for the return's status."""
    status = return_request.status
    stages = _stages(return_request)
    nothing = _("Nothing for now: we will e-mail you when something changes.")
    if status == ReturnStatus.DRAFT:
        return Progress(
            stages,
            _("This return is a draft: our team does not see it yet."),
            _("Continue the draft and submit it."),
            ACTION_CONTINUE_DRAFT,
        )
    if status in (ReturnStatus.SUBMITTED, ReturnStatus.AWAITING_APPROVAL):
        due = return_request.decision_due_at
        text = (
            _("Our team checks your return and approves or rejects it, by %(date)s.")
            % {"date": _day(due)}
            if due and return_request.decision_paused_at is None
            else _("Our team checks your return and approves or rejects it.")
        )
        return Progress(stages, text, nothing)
    if status == ReturnStatus.NEEDS_INFO:
        return Progress(
            stages,
            _("Our team needs more information before deciding; the decision waits for you."),
            _("Answer the question below."),
            ACTION_ANSWER,
        )
    if status == ReturnStatus.APPROVED:
        if return_request.return_method == ReturnMethod.COURIER_PICKUP and (
            return_request.pickup_date
        ):
            your_part = _(
                "Pack the goods and put the return label on the parcel: a courier picks it "
                "up on %(date)s."
            ) % {"date": _day(return_request.pickup_date)}
        else:
            your_part = _("Pack the goods, put the return label on the parcel and send it.")
        if return_request.ship_by:
            your_part += " " + _("The goods must reach us by %(date)s.") % {
                "date": _day(return_request.ship_by)
            }
        return Progress(
            stages,
            _("We wait for the goods; when they arrive we inspect them."),
            your_part,
            ACTION_SEND_GOODS,
        )
    if status == ReturnStatus.RECEIVED:
        return Progress(
            stages, _("The goods arrived; we inspect them and tell you the outcome."), nothing
        )
    if status == ReturnStatus.INSPECTED:
        due = return_request.refund_due_at
        text = (
            _(
                "The goods are inspected; we settle the return (refund, credit note, "
                "replacement or repair) by %(date)s."
            )
            % {"date": _day(due)}
            if due
            else _(
                "The goods are inspected; we settle the return (refund, credit note, "
                "replacement or repair)."
            )
        )
        return Progress(stages, text, nothing)
    if status == ReturnStatus.RESOLVED:
        return Progress(
            stages,
            _("The return is settled: the outcome is below. It closes on its own."),
            _("Nothing, unless something is wrong: then send us a message."),
        )
    if status == ReturnStatus.CLOSED:
        return Progress(stages, _("The return is closed; nothing more happens."), "")
    if status == ReturnStatus.REJECTED:
        return Progress(
            stages,
            _("The return was rejected; the reason is below. Nothing more happens."),
            _("Please do not send the goods. If you disagree, send us a message."),
        )
    if status == ReturnStatus.CANCELLED:
        return Progress(stages, _("The return was cancelled; nothing more happens."), "")
    # Expired: approved, but the goods did not arrive in time.
    return Progress(
        stages,
        _("The goods did not reach us in time, so the return expired."),
        _(
            "Please do not send the goods for this return any more; file a new one if you "
            "still want to return them."
        ),
    )
