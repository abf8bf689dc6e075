"""The customer-update cadence kept on a case of either app (rma_portal/cadence.py), with the
tenant's calendar and cadence from customers/calendar.py. The case services call
`track_update` in the transaction of each change; the SLA watches call `lapsed`."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from rma_portal import cadence
from rma_portal.accounts.models import Role, User
from rma_portal.notifications.links import portal_url
from rma_portal.notifications.services import notification_enqueue
from rma_portal.sla import wall_clock

from .calendar import business_calendar, update_cadence

logger = logging.getLogger(__name__)


def track_update(
    case,
    *,
    at: datetime.datetime,
    from_status: str,
    running_statuses: Collection[str],
    told_customer: bool,
) -> None:
    """Keep the cadence of `case` (a locked row, already saved) after a change at `at` from
    `from_status` ("" when the status did not change). Stored with an UPDATE of its own
    fields: bookkeeping, like the SLA notices, which changes neither the case's version nor
    its `updated_at`."""
    running = case.status in running_statuses
    was_running = from_status in running_statuses if from_status else running
    changed = cadence.track(
        case,
        rule=lambda: (business_calendar(case.tenant), update_cadence(case.tenant)),
        at=at,
        running=running,
        was_running=was_running,
        told_customer=told_customer,
    )
    if changed:
        type(case).objects.filter(pk=case.pk).update(**changed)


def update_owed(now: datetime.datetime) -> Q:
    """Cases whose customer is owed an update now (the "update owed" queues)."""
    return Q(update_due_at__lte=now)


def lapsed(now: datetime.datetime) -> Q:
    """Cases owing an update that the SLA watch has not flagged yet."""
    return Q(update_due_at__lte=now, update_flagged_at__isnull=True)


# The e-mails, "<kind>.update_due" to the assignee (coordinators when nobody has the case)
# that the customer is owed an update and, when the tenant wishes, "<kind>.status_update" to
# the customer with the case's status; one text for both kinds (templates/emails/_case_*/),
# an event per kind so that replies to the status update thread into the case.
UPDATE_DUE_EVENT = "{kind}.update_due"
STATUS_UPDATE_EVENT = "{kind}.status_update"


@dataclass(frozen=True)
class CaseMail:
    """What the cadence's e-mails say of one case (JSON-ready but `customer`)."""

    kind: str  # "return" or "complaint"
    number: str
    customer_name: str
    customer: User  # the customer user who filed it: the status update's recipient
    stage: str  # what the status update says is happening: "review", "goods", "complaint"
    staff_url: str
    portal_url: str


def start_missing(
    cases: QuerySet, *, tenant, now: datetime.datetime, running_statuses: Collection[str]
) -> int:
    """Start the cadence of the tenant's cases that are with the merchant but have none (open
    before the cadence existed, or loaded in bulk): owed an update `hours` from `now`, not
    at once for their history. Answers how many were started."""
    rule = update_cadence(tenant)
    if not rule.hours:
        return 0
    due = cadence.due_moment(business_calendar(tenant), now, rule.hours)
    return cases.filter(status__in=running_statuses, update_due_at__isnull=True).update(
        update_due_at=due
    )


def flag_lapsed(
    cases: QuerySet,
    *,
    tenant,
    now: datetime.datetime,
    running_statuses: Collection[str],
    mail: Callable[[object], CaseMail],
    timeline: tuple[type, str],
) -> int:
    """Flag once each case of `cases` (the tenant's, of one model) whose customer is owed an
    update: its assignee is e-mailed (coordinators when nobody has it), the lapse is counted,
    `timeline(case, action)` writes the app's internal timeline entry ("update_overdue",
    then "status_update_sent" when the tenant e-mails the customer, which restarts the
    clock). Answers how many were flagged. Safe to run twice at once: each case is handled
    under its row lock and flagged only while `update_flagged_at` is empty. Cases with the
    merchant but without a cadence get one first (`start_missing`)."""
    start_missing(cases, tenant=tenant, now=now, running_statuses=running_statuses)
    candidates = list(cases.filter(lapsed(now)).order_by("pk").values_list("pk", flat=True))
    if not candidates:
        return 0
    rule = update_cadence(tenant)
    coordinators = None
    flagged = 0
    for pk in candidates:
        with transaction.atomic():
            case = cases.select_for_update(of=("self",)).filter(lapsed(now), pk=pk).first()
            if case is None or case.status not in running_statuses:
                continue  # updated, decided or flagged by a parallel scan meanwhile
            facts = mail(case)
            if case.assignee_id is not None:
                recipients = [case.assignee]
            else:
                if coordinators is None:
                    coordinators = list(
                        User.objects.filter(
                            tenant=tenant, role=Role.COORDINATOR, is_active=True
                        ).order_by("pk")
                    )
                recipients = coordinators
            due = case.update_due_at
            context = {
                "kind": facts.kind,
                f"{facts.kind}_id": case.pk,
                "number": facts.number,
                "customer_name": facts.customer_name,
                "updated_at": wall_clock(case.customer_updated_at, tenant.timezone),
                "due_at": wall_clock(due, tenant.timezone),
                "time_zone": tenant.timezone,
                "hours": rule.hours,
                "assignee_name": case.assignee.get_full_name() if case.assignee else "",
                "url": facts.staff_url,
            }
            key = f"update-due:{facts.kind}:{case.pk}:{due.isoformat()}"
            for recipient in recipients:
                notification_enqueue(
                    tenant=tenant,
                    event=UPDATE_DUE_EVENT.format(kind=facts.kind),
                    recipient=recipient,
                    context=context,
                    key=key,
                    case=case,
                )
            type(case).objects.filter(pk=pk).update(
                update_flagged_at=now, update_lapses=F("update_lapses") + 1
            )
            case.update_flagged_at, case.update_lapses = now, case.update_lapses + 1
            _timeline(timeline, case, "update_overdue", now)
            if rule.status_emails and _status_update(tenant, case, facts, due):
                _timeline(timeline, case, "status_update_sent", now)
                track_update(
                    case,
                    at=now,
                    from_status="",
                    running_statuses=running_statuses,
                    told_customer=True,
                )
            flagged += 1
    if flagged:
        logger.info("customer updates overdue", extra={"tenant_id": tenant.pk, "count": flagged})
    return flagged


def _timeline(timeline: tuple[type, str], case, action: str, now: datetime.datetime) -> None:
    event_model, case_field = timeline
    event_model.objects.create(
        tenant=case.tenant,
        **{case_field: case},
        actor=None,
        action=action,
        from_status=case.status,
        to_status=case.status,
        is_public=False,  # the customer sees the e-mail, not our bookkeeping
        created_at=now,
    )


def _status_update(tenant, case, facts: CaseMail, due: datetime.datetime) -> bool:
    """E-mail the customer where their case stands (now or in their daily digest); False when
    they switched these e-mails off."""
    sent = notification_enqueue(
        tenant=tenant,
        event=STATUS_UPDATE_EVENT.format(kind=facts.kind),
        recipient=facts.customer,
        context={
            "kind": facts.kind,
            f"{facts.kind}_id": case.pk,
            "number": facts.number,
            "stage": facts.stage,
            "url": facts.portal_url,
            "settings_url": portal_url(reverse("portal:profile")),
        },
        key=f"status-update:{facts.kind}:{case.pk}:{due.isoformat()}",
        kind=f"{facts.kind}_progress",
        case=case,
    )
    return sent is not None
