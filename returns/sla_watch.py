"""The SLA watch of returns (docs/returns-rules.md#clocks-of-returns): announces each running
clock's "at risk" and "breached" moments once, by e-mail (the assignee when at risk, the
tenant's coordinators when breached) and as an internal timeline entry. Run on beat every five
minutes (returns/maintenance_tasks.py).

The clocks: "decision" from submission to approval or rejection (paused while the return waits
for the customer), "refund" from the goods' arrival to the resolution. Notices already sent are
kept in `ReturnRequest.sla_warned` ("decision:at_risk", "refund:breached", ...); a breach makes
"at risk" moot, so a clock first seen past its due moment is announced only as breached.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from customers.update_cadence import CaseMail, flag_lapsed
from rma_portal.accounts.models import Role, User
from rma_portal.notifications.links import portal_url
from rma_portal.notifications.services import notification_enqueue
from rma_portal.sla import wall_clock
from rma_portal.tenancy.models import Tenant

from .models import (
    DECISION_RUNNING_STATUSES,
    REFUND_CLOCK_STATUSES,
    UPDATE_CADENCE_STATUSES,
    ReturnEvent,
    ReturnRequest,
)
from .notifications import on_return_event

logger = logging.getLogger(__name__)

DECISION = "decision"
REFUND = "refund"
AT_RISK = "at_risk"
BREACHED = "breached"
# The e-mails (templates/emails/<event>/): at risk to the assignee, breached to coordinators.
SLA_AT_RISK_EVENT = "return.sla_at_risk"
SLA_BREACHED_EVENT = "return.sla_breached"
CLOCK_FIELDS = (
    "status",  # read by ConcurrentTransitionMixin
    "decision_due_at",
    "decision_at_risk_at",
    "decision_paused_at",
    "refund_due_at",
    "refund_at_risk_at",
    "sla_warned",
)


def decision_running() -> Q:
    """Returns whose decision clock runs: waiting for a decision, not for the customer."""
    return Q(
        status__in=DECISION_RUNNING_STATUSES,
        decision_due_at__isnull=False,
        decision_paused_at__isnull=True,
    )


def refund_running() -> Q:
    return Q(status__in=REFUND_CLOCK_STATUSES, refund_due_at__isnull=False)


def sla_breached(now: datetime.datetime) -> Q:
    """A running clock is past its due moment (the back-office's "SLA breached" queue)."""
    return (decision_running() & Q(decision_due_at__lte=now)) | (
        refund_running() & Q(refund_due_at__lte=now)
    )


def sla_at_risk(now: datetime.datetime) -> Q:
    """A running clock has used most of its time (rma_portal.sla.AT_RISK_SHARE), not due."""
    return (decision_running() & Q(decision_at_risk_at__lte=now, decision_due_at__gt=now)) | (
        refund_running() & Q(refund_at_risk_at__lte=now, refund_due_at__gt=now)
    )


def _crossed_condition(now: datetime.datetime) -> Q:
    return (
        decision_running() & (Q(decision_at_risk_at__lte=now) | Q(decision_due_at__lte=now))
    ) | (refund_running() & (Q(refund_at_risk_at__lte=now) | Q(refund_due_at__lte=now)))


@dataclass(frozen=True)
class Threshold:
    clock: str  # DECISION or REFUND
    level: str  # AT_RISK or BREACHED
    due_at: datetime.datetime

    @property
    def key(self) -> str:
        return f"{self.clock}:{self.level}"


def crossed(rma: ReturnRequest, now: datetime.datetime) -> list[Threshold]:
    """The worst crossed threshold of each running clock; the due moment itself is breached."""
    clocks = []
    if (
        rma.status in DECISION_RUNNING_STATUSES
        and rma.decision_due_at is not None
        and rma.decision_paused_at is None
    ):
        clocks.append((DECISION, rma.decision_at_risk_at, rma.decision_due_at))
    if rma.status in REFUND_CLOCK_STATUSES and rma.refund_due_at is not None:
        clocks.append((REFUND, rma.refund_at_risk_at, rma.refund_due_at))
    found = []
    for clock, at_risk_at, due_at in clocks:
        if due_at <= now:
            found.append(Threshold(clock, BREACHED, due_at))
        elif at_risk_at is not None and at_risk_at <= now:
            found.append(Threshold(clock, AT_RISK, due_at))
    return found


def _coordinators(tenant: Tenant) -> list[User]:
    return list(
        User.objects.filter(tenant=tenant, role=Role.COORDINATOR, is_active=True).order_by("pk")
    )


def return_sla_scan(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Announce every threshold the tenant's running return clocks crossed since the last scan;
    returns how many were announced. Safe to run twice at once: each return is handled under
    its row lock, and a threshold already in `sla_warned` is never announced again (the outbox
    keys name the return and the threshold too)."""
    now = now or timezone.now()
    candidates = (
        ReturnRequest.objects.for_tenant(tenant)
        .filter(_crossed_condition(now))
        .only(*CLOCK_FIELDS)
        .order_by("pk")
    )
    coordinators = None
    announced = 0
    for candidate in candidates:
        # `sla_warned` is compared here, not in SQL (JSON containment differs per database);
        # the candidates are open returns past 80 % of a clock, few.
        if all(t.key in candidate.sla_warned for t in crossed(candidate, now)):
            continue
        with transaction.atomic():
            rma = (
                ReturnRequest.objects.for_tenant(tenant)
                .select_for_update(of=("self",))
                .select_related("tenant", "customer_account", "assignee")
                .filter(pk=candidate.pk)
                .first()
            )
            if rma is None:
                continue
            # Re-read under the lock: decided, resolved or announced by a parallel scan.
            new = [t for t in crossed(rma, now) if t.key not in rma.sla_warned]
            if not new:
                continue
            if coordinators is None and any(t.level == BREACHED for t in new):
                coordinators = _coordinators(tenant)
            for threshold in new:
                _announce(rma, threshold, now=now, coordinators=coordinators or [])
            rma.sla_warned = [*rma.sla_warned, *(t.key for t in new)]
            # Bookkeeping, not a change of the return: the version stays (staff with the
            # return open are not told it changed), and so does updated_at.
            ReturnRequest.objects.filter(pk=rma.pk).update(sla_warned=rma.sla_warned)
            announced += len(new)
    if announced:
        logger.info("return SLA notices sent", extra={"tenant_id": tenant.pk, "count": announced})
    update_scan(tenant=tenant, now=now)
    return announced


def update_scan(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Flag the tenant's returns whose customer is owed an update (rma_portal/cadence.py):
    the assignee told, the lapse counted, the customer e-mailed when the tenant wishes."""
    return flag_lapsed(
        ReturnRequest.objects.for_tenant(tenant).select_related(
            "tenant", "customer_account", "assignee", "requester"
        ),
        tenant=tenant,
        now=now or timezone.now(),
        running_statuses=UPDATE_CADENCE_STATUSES,
        mail=lambda rma: CaseMail(
            kind="return",
            number=rma.number,
            customer_name=rma.customer_account.name,
            customer=rma.requester,
            stage="goods" if rma.status in REFUND_CLOCK_STATUSES else "review",
            staff_url=portal_url(reverse("admin:returns_returnrequest_change", args=[rma.pk])),
            portal_url=portal_url(reverse("portal:return_detail", args=[rma.pk])),
        ),
        timeline=(ReturnEvent, "return_request"),
    )


def _local(rma: ReturnRequest, moment: datetime.datetime) -> str:
    """The tenant's wall-clock time, e.g. "2026-11-17 09:00" (the same in every language)."""
    return wall_clock(moment, rma.tenant.timezone)


def sla_email_context(rma: ReturnRequest, *, clock: str, due_at: datetime.datetime) -> dict:
    """Context of `return.sla_at_risk` / `return.sla_breached`; JSON only (the outbox)."""
    return {
        "return_id": rma.pk,
        "number": rma.reference,
        "customer_name": rma.customer_account.name,
        "status": rma.status,
        "clock": clock,
        "due_at": _local(rma, due_at),
        "due_at_iso": due_at.isoformat(),
        "time_zone": rma.tenant.timezone,
        "assignee_name": rma.assignee.get_full_name() if rma.assignee else "",
        "url": portal_url(reverse("admin:returns_returnrequest_change", args=[rma.pk])),
    }


def _announce(
    rma: ReturnRequest, threshold: Threshold, *, now: datetime.datetime, coordinators
) -> None:
    if threshold.level == AT_RISK:
        event, recipients = SLA_AT_RISK_EVENT, [rma.assignee] if rma.assignee else []
    else:
        event, recipients = SLA_BREACHED_EVENT, coordinators
    context = sla_email_context(rma, clock=threshold.clock, due_at=threshold.due_at)
    for recipient in recipients:
        notification_enqueue(
            tenant=rma.tenant,
            event=event,
            recipient=recipient,
            context=context,
            key=f"return-sla:{rma.pk}:{threshold.key}",
            case=rma,
        )
    # Internal: the customer is not told about our deadlines (no webhook, no e-mail).
    event_row = ReturnEvent.objects.create(
        tenant=rma.tenant,
        return_request=rma,
        actor=None,
        action=f"sla_{threshold.level}",
        from_status=rma.status,
        to_status=rma.status,
        note=threshold.clock,
        is_public=False,
        created_at=now,
    )
    on_return_event(event_row)
