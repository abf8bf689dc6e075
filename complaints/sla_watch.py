"""The SLA watch: announces each running clock's "at risk" and "breached" moments once, and
the same of each stage visit (docs/complaint-stages.md), and closes resolved complaints the
customer left alone (both run from complaints/tasks.py).

Thresholds already announced are kept in `Complaint.sla_warned` ("first_response:at_risk",
"resolution:breached", …); a reopened complaint starts with an empty list (Complaint.reopen).
A stage visit keeps its own (`at_risk_notified_at`, `breach_notified_at`): each is announced
once per visit, and a complaint entering the stage again is a new visit.
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
from rma_portal.errors import ApplicationError
from rma_portal.notifications.links import portal_url
from rma_portal.notifications.services import notification_enqueue
from rma_portal.tenancy.models import Tenant

from .emails import (
    SLA_AT_RISK_EVENT,
    SLA_BREACHED_EVENT,
    STAGE_AT_RISK_EVENT,
    STAGE_BREACHED_EVENT,
    sla_email_context,
    stage_email_context,
)
from .models import (
    UPDATE_CADENCE_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintStageVisit,
    ComplaintStatus,
)
from .selectors import support_settings
from .services import complaint_close

logger = logging.getLogger(__name__)

# The clocks run in these statuses, unless paused (awaiting the customer pauses them).
RUNNING_STATUSES = (ComplaintStatus.NEW, ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)
AT_RISK = "at_risk"
BREACHED = "breached"
CLOCK_FIELDS = (
    "first_responded_at",
    "first_response_at_risk_at",
    "first_response_due_at",
    "resolution_at_risk_at",
    "resolution_due_at",
    "sla_warned",
)


@dataclass(frozen=True)
class Threshold:
    clock: str  # "first_response" or "resolution"
    level: str  # AT_RISK or BREACHED
    due_at: datetime.datetime

    @property
    def key(self) -> str:
        return f"{self.clock}:{self.level}"


def _crossed(complaint: Complaint, now: datetime.datetime) -> list[Threshold]:
    """The worst crossed threshold of each running clock (a breach makes "at risk" moot)."""
    clocks = [("resolution", complaint.resolution_at_risk_at, complaint.resolution_due_at)]
    if complaint.first_responded_at is None:
        clocks.insert(
            0,
            (
                "first_response",
                complaint.first_response_at_risk_at,
                complaint.first_response_due_at,
            ),
        )
    crossed = []
    for clock, at_risk_at, due_at in clocks:
        if due_at <= now:
            crossed.append(Threshold(clock, BREACHED, due_at))
        elif at_risk_at is not None and at_risk_at <= now:
            crossed.append(Threshold(clock, AT_RISK, due_at))
    return crossed


def _running(tenant: Tenant):
    return Complaint.objects.for_tenant(tenant).filter(
        status__in=RUNNING_STATUSES, sla_paused_at__isnull=True
    )


def _coordinators(tenant: Tenant) -> list[User]:
    return list(User.objects.filter(tenant=tenant, role=Role.COORDINATOR, is_active=True))


def sla_scan(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Announce every SLA threshold the tenant's running complaints crossed since the last
    scan; returns how many were announced. Safe to run twice at once: each complaint is
    handled under its row lock, and a threshold already in `sla_warned` is never announced
    again. The stage thresholds (stage_scan) and the customer updates owed (update_scan)
    are announced too, not counted here."""
    now = now or timezone.now()
    announced = _sla_scan(tenant=tenant, now=now)
    stages = stage_scan(tenant=tenant, now=now)
    if stages:
        logger.info("stage notices sent", extra={"tenant_id": tenant.pk, "count": stages})
    update_scan(tenant=tenant, now=now)
    return announced


def update_scan(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Flag the tenant's complaints whose customer is owed an update (rma_portal/cadence.py):
    the assignee told, the lapse counted, the customer e-mailed when the tenant wishes."""
    return flag_lapsed(
        Complaint.objects.for_tenant(tenant).select_related(
            "tenant", "customer_account", "assignee", "reporter"
        ),
        tenant=tenant,
        now=now or timezone.now(),
        running_statuses=UPDATE_CADENCE_STATUSES,
        mail=lambda complaint: CaseMail(
            kind="complaint",
            number=complaint.code,
            customer_name=complaint.customer_account.name,
            customer=complaint.reporter,
            stage="complaint",
            staff_url=portal_url(reverse("admin:complaints_complaint_change", args=[complaint.pk])),
            portal_url=portal_url(reverse("portal:complaint_detail", args=[complaint.pk])),
        ),
        timeline=(ComplaintEvent, "complaint"),
    )


def _sla_scan(*, tenant: Tenant, now: datetime.datetime) -> int:
    first_response_crossed = Q(first_responded_at__isnull=True) & (
        Q(first_response_at_risk_at__lte=now) | Q(first_response_due_at__lte=now)
    )
    resolution_crossed = Q(resolution_at_risk_at__lte=now) | Q(resolution_due_at__lte=now)
    candidates = (
        _running(tenant)
        .filter(first_response_crossed | resolution_crossed)
        .only("status", *CLOCK_FIELDS)  # status: read by ConcurrentTransitionMixin
        .order_by("pk")
    )
    coordinators = None
    announced = 0
    for candidate in candidates:
        # `sla_warned` is compared here rather than in SQL: JSON containment is not available
        # on SQLite (the embedded mode), and the candidates are open cases past 80 % anyway.
        if all(t.key in candidate.sla_warned for t in _crossed(candidate, now)):
            continue
        with transaction.atomic():
            complaint = (
                _running(tenant)
                .select_for_update(of=("self",))
                .select_related("tenant", "customer_account", "assignee")
                .filter(pk=candidate.pk)
                .first()
            )
            if complaint is None:  # resolved or paused since the candidates were read
                continue
            # Re-read under the lock: a parallel scan may have announced some meanwhile.
            new = [t for t in _crossed(complaint, now) if t.key not in complaint.sla_warned]
            if not new:
                continue
            if coordinators is None and any(t.level == BREACHED for t in new):
                coordinators = _coordinators(tenant)
            for threshold in new:
                _announce(complaint, threshold, now=now, coordinators=coordinators or [])
            complaint.sla_warned = [*complaint.sla_warned, *(t.key for t in new)]
            # update_fields without updated_at: a notice is not a change the customer sees.
            complaint.save(update_fields=["sla_warned"])
            announced += len(new)
    return announced


def _announce(
    complaint: Complaint, threshold: Threshold, *, now: datetime.datetime, coordinators
) -> None:
    if threshold.level == AT_RISK:
        event, recipients = SLA_AT_RISK_EVENT, [complaint.assignee] if complaint.assignee else []
    else:
        event, recipients = SLA_BREACHED_EVENT, coordinators
    context = sla_email_context(complaint, clock=threshold.clock, due_at=threshold.due_at)
    # The reopen count is in the key: a reopened complaint's fresh clock is announced anew.
    key = f"complaint-sla:{complaint.pk}:{complaint.reopen_count}:{threshold.key}"
    for recipient in recipients:
        notification_enqueue(
            tenant=complaint.tenant,
            event=event,
            recipient=recipient,
            context=context,
            key=key,
            case=complaint,
        )
    ComplaintEvent.objects.create(
        tenant=complaint.tenant,
        complaint=complaint,
        actor=None,
        action=f"sla_{threshold.level}",
        from_status=complaint.status,
        to_status=complaint.status,
        note=threshold.clock,
        is_public=False,  # staff business: the customer is not told about our deadlines
        created_at=now,
    )


# --- stages -----------------------------------------------------------------------------


def _stage_level(visit: ComplaintStageVisit, now: datetime.datetime) -> str | None:
    """The threshold of the running visit to announce now, if any: the breach once due (a
    breach makes "at risk" moot), else "at risk" once its at-risk moment has come."""
    if visit.due_at <= now:
        return BREACHED if visit.breach_notified_at is None else None
    if visit.at_risk_at <= now and visit.at_risk_notified_at is None:
        return AT_RISK
    return None


def _running_visits(tenant: Tenant):
    """Visits whose clock runs: not left, not paused (waiting for the customer)."""
    return ComplaintStageVisit.objects.for_tenant(tenant).filter(
        left_at__isnull=True, paused_at__isnull=True
    )


def stage_scan(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Announce the at-risk and breached moments of the tenant's running stage visits: an
    e-mail to the assignee when at risk, to every active coordinator when breached, and an
    internal timeline entry. Returns how many were announced. Each visit is announced once
    per threshold: its complaint is locked, the visit re-read and its notice stamped in the
    transaction that queues the e-mails (whose outbox keys name the visit too)."""
    now = now or timezone.now()
    candidates = (
        _running_visits(tenant)
        .filter(
            Q(due_at__lte=now, breach_notified_at__isnull=True)
            | Q(due_at__gt=now, at_risk_at__lte=now, at_risk_notified_at__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", "complaint_id")
    )
    coordinators = None
    announced = 0
    for visit_id, complaint_id in list(candidates):
        with transaction.atomic():
            complaint = (
                Complaint.objects.for_tenant(tenant)
                .select_for_update(of=("self",))
                .select_related("tenant", "customer_account", "assignee")
                .filter(pk=complaint_id)
                .first()
            )
            if complaint is None:
                continue
            # Re-read under the complaint's lock: the services change visits under it, and a
            # parallel scan may have announced this one meanwhile.
            visit = _running_visits(tenant).select_related("stage").filter(pk=visit_id).first()
            if visit is None:  # left or paused since the candidates were read
                continue
            level = _stage_level(visit, now)
            if level is None:
                continue
            if level == AT_RISK:
                event = STAGE_AT_RISK_EVENT
                recipients = [complaint.assignee] if complaint.assignee else []
                visit.at_risk_notified_at = now
                stamped = "at_risk_notified_at"
            else:
                if coordinators is None:
                    coordinators = _coordinators(tenant)
                event, recipients = STAGE_BREACHED_EVENT, coordinators
                visit.breach_notified_at = now
                stamped = "breach_notified_at"
            context = stage_email_context(complaint, visit)
            for recipient in recipients:
                notification_enqueue(
                    tenant=tenant,
                    event=event,
                    recipient=recipient,
                    context=context,
                    key=f"complaint-stage:{visit.pk}:{level}",
                    case=complaint,
                )
            ComplaintEvent.objects.create(
                tenant=tenant,
                complaint=complaint,
                actor=None,
                action=f"stage_{level}",
                from_status=complaint.status,
                to_status=complaint.status,
                note=visit.stage.name,
                is_public=False,  # staff business, like the SLA notices
                created_at=now,
            )
            visit.save(update_fields=[stamped])
            announced += 1
    return announced


def complaints_auto_close(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Close the tenant's resolved complaints the customer is done with; returns how many
    were closed. Unrated: resolved `SupportSettings.auto_close_days` ago or more (the
    customer neither reopened nor rated them). Rated: once their reopen window
    (`reopen_window_days` from the resolution) has ended, not before, whatever the
    auto-close days; the customer may reopen up to its last moment (services.complaint_rate,
    selectors.reopen_until)."""
    now = now or timezone.now()
    settings = support_settings(tenant)
    cutoff = now - datetime.timedelta(days=settings.auto_close_days)
    window_cutoff = now - datetime.timedelta(days=settings.reopen_window_days)
    due = Complaint.objects.for_tenant(tenant).filter(
        Q(rating__isnull=True, resolved_at__lte=cutoff)
        | Q(rating__isnull=False, resolved_at__lt=window_cutoff),
        status=ComplaintStatus.RESOLVED,
    )
    closed = 0
    for complaint in due.order_by("pk"):
        try:
            complaint_close(complaint=complaint, actor=None, now=now)
        except ApplicationError:
            # Reopened or closed by someone between the query and the lock: not ours now.
            logger.info("auto-close skipped", extra={"complaint_id": complaint.pk})
            continue
        closed += 1
    return closed
