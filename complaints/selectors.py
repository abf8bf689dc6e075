"""Reads of complaints: visibility per user, queues, SLA calendar and targets, SLA state, the
tenant's stages and a complaint's current stage."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.cases import CaseKind, OrderCase
from customers.selectors import cases_visible_to
from rma_portal.accounts.models import User
from rma_portal.cadence import Cadence

from .models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStage,
    ComplaintStageVisit,
    ComplaintStatus,
    Holiday,
    Priority,
    SlaPolicy,
    SupportSettings,
)
from .sla import BusinessCalendar, Clock, SlaState, clock_state, state_at

# Used when a tenant has not set its own targets: (first response, resolution) in hours.
DEFAULT_SLA_HOURS = {
    Priority.URGENT: (Decimal("2"), Decimal("8")),
    Priority.HIGH: (Decimal("4"), Decimal("16")),
    Priority.NORMAL: (Decimal("8"), Decimal("40")),
    Priority.LOW: (Decimal("16"), Decimal("80")),
}


S = ComplaintStatus

# The stages of a tenant that has none (the usual complaint procedure): (position, key, name,
# limit in working days, statuses covered). docs/complaint-stages.md explains the mapping.
DEFAULT_STAGES = (
    (10, "acknowledge", _("Acknowledge"), Decimal("1"), (S.NEW, S.OPEN)),
    (20, "analysis", _("Analysis"), Decimal("3"), (S.IN_PROGRESS,)),
    (30, "information", _("Information"), Decimal("1"), (S.AWAITING_CUSTOMER,)),
    (40, "resolution", pgettext_lazy("complaint stage", "Resolution"), Decimal("5"), (S.RESOLVED,)),
)


# The SLA clocks run in these statuses (awaiting the customer pauses them).
SLA_RUNNING_STATUSES = (ComplaintStatus.NEW, ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)


def sla_running() -> Q:
    return Q(status__in=SLA_RUNNING_STATUSES, sla_paused_at__isnull=True)


def sla_breached(now: datetime.datetime) -> Q:
    """The running clock (first response until given, then resolution) is past its due time:
    the back-office's "SLA breached" queue, the load per agent, the agents' dashboard."""
    return sla_running() & (
        Q(first_responded_at__isnull=True, first_response_due_at__lte=now)
        | Q(first_responded_at__isnull=False, resolution_due_at__lte=now)
    )


def sla_at_risk(now: datetime.datetime) -> Q:
    """The running clock has used most of its time (see sla.AT_RISK_SHARE) but is not due."""
    return sla_running() & (
        Q(
            first_responded_at__isnull=True,
            first_response_at_risk_at__lte=now,
            first_response_due_at__gt=now,
        )
        | Q(
            first_responded_at__isnull=False,
            resolution_at_risk_at__lte=now,
            resolution_due_at__gt=now,
        )
    )


def complaints_visible_to(*, user: User) -> QuerySet[Complaint]:
    """Staff see the tenant's complaints, customer admins their company's, users their own."""
    return cases_visible_to(Complaint.objects.all(), user=user, owner_field="reporter")


def complaint_for_user(*, user: User, complaint_id: int) -> Complaint | None:
    return (
        complaints_visible_to(user=user)
        .select_related("customer_account", "reporter", "assignee", "order", "product")
        .filter(pk=complaint_id)
        .first()
    )


def complaints_list(
    *,
    user: User,
    status: str = "",
    category: str = "",
    priority: str = "",
    search: str = "",
    created_from: datetime.date | None = None,
    created_to: datetime.date | None = None,
) -> QuerySet[Complaint]:
    queryset = complaints_visible_to(user=user).select_related(
        "customer_account", "reporter", "assignee"
    )
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if priority:
        queryset = queryset.filter(priority=priority)
    if created_from:
        queryset = queryset.filter(created_at__date__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__date__lte=created_to)
    if search:
        term = search.strip()
        queryset = queryset.filter(Q(code__icontains=term) | Q(subject__icontains=term))
    return queryset.order_by("-created_at", "-pk")


def order_cases(*, order, user: User) -> list[OrderCase]:
    """The complaints about `order` that `user` may see, of the order's company only (the
    portal's order page; registered with customers.cases): one query."""
    complaints = (
        complaints_visible_to(user=user)
        .filter(order_id=order.pk, customer_account_id=order.customer_account_id)
        .only("pk", "code", "status", "created_at")
        .order_by("-created_at", "-pk")
    )
    return [
        OrderCase(
            kind=CaseKind.COMPLAINT,
            kind_label=str(CaseKind.COMPLAINT.label),
            number=complaint.code,
            status=complaint.status,
            status_label=str(complaint.get_status_display()),
            url=reverse("portal:complaint_detail", args=[complaint.pk]),
            created_at=complaint.created_at,
        )
        for complaint in complaints
    ]


def complaint_thread(*, complaint: Complaint, for_customer: bool) -> Complaint:
    """The complaint with its messages, attachments and events; customers get public ones."""
    messages = ComplaintMessage.objects.select_related("author").order_by("created_at", "pk")
    events = ComplaintEvent.objects.select_related("actor").order_by("created_at", "pk")
    attachments = ComplaintAttachment.objects.select_related("message").order_by("pk")
    if for_customer:
        messages = messages.filter(is_internal=False)
        events = events.filter(is_public=True)
        attachments = attachments.filter(Q(message__isnull=True) | Q(message__is_internal=False))
    return (
        Complaint.objects.filter(pk=complaint.pk)
        .select_related(
            "customer_account",
            "reporter",
            "assignee",
            "order",
            "order_line",
            "product",
            "return_request",
        )
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=messages.prefetch_related(Prefetch("attachments", queryset=attachments)),
            ),
            Prefetch("events", queryset=events),
            Prefetch("attachments", queryset=attachments, to_attr="visible_attachments"),
        )
        .get()
    )


# --- SLA --------------------------------------------------------------------------------


def business_calendar(tenant) -> BusinessCalendar:
    settings_row = SupportSettings.objects.for_tenant(tenant).first()
    holidays = frozenset(Holiday.objects.for_tenant(tenant).values_list("date", flat=True))
    if settings_row is None:
        return BusinessCalendar(timezone=tenant.timezone, holidays=holidays)
    return BusinessCalendar(
        timezone=tenant.timezone,
        day_start=settings_row.day_start,
        day_end=settings_row.day_end,
        weekdays=frozenset(settings_row.working_weekdays or [0, 1, 2, 3, 4]),
        holidays=holidays,
    )


def support_settings(tenant) -> SupportSettings:
    return SupportSettings.objects.for_tenant(tenant).first() or SupportSettings(tenant=tenant)


def auto_close_days(tenant) -> int:
    """After how many days the tenant's resolved cases close (customers/calendar.py)."""
    return support_settings(tenant).auto_close_days


def reopen_until(complaint: Complaint, settings: SupportSettings | None = None):
    """The last moment the customer may reopen the resolved `complaint` (its resolution plus
    the tenant's `reopen_window_days`); None when it is not resolved. The customer may reopen
    up to and including this moment; a rated complaint closes right after it."""
    if complaint.status != ComplaintStatus.RESOLVED or complaint.resolved_at is None:
        return None
    window = (settings or support_settings(complaint.tenant)).reopen_window_days
    return complaint.resolved_at + datetime.timedelta(days=window)


def rated_since_resolved(complaint: Complaint) -> bool:
    """Whether the customer rated the resolved `complaint`'s current resolution: it then only
    waits for the end of the reopen window. A rating given before a reopening belongs to the
    earlier resolution (the timeline's "rated" event tells when it was given)."""
    if complaint.status != ComplaintStatus.RESOLVED or complaint.resolved_at is None:
        return False
    return (
        ComplaintEvent.objects.for_tenant(complaint.tenant)
        .filter(complaint_id=complaint.pk, action="rated", created_at__gte=complaint.resolved_at)
        .exists()
    )


def update_cadence(tenant) -> Cadence:
    """The tenant's customer-update cadence (rma_portal/cadence.py), kept in its settings."""
    row = support_settings(tenant)
    return Cadence(hours=row.update_cadence_hours, status_emails=row.status_update_emails)


def sla_targets(*, customer_account, priority: str) -> tuple[Decimal, Decimal]:
    """(first response, resolution) in business hours: customer contract, tenant, default."""
    policies = {
        p.customer_account_id: p
        for p in SlaPolicy.objects.for_tenant(customer_account.tenant).filter(
            Q(customer_account__isnull=True) | Q(customer_account=customer_account),
            priority=priority,
        )
    }
    policy = policies.get(customer_account.pk) or policies.get(None)
    if policy is None:
        return DEFAULT_SLA_HOURS[Priority(priority)]
    return policy.first_response_hours, policy.resolution_hours


def first_response_clock(complaint: Complaint) -> Clock:
    return Clock(
        started_at=complaint.created_at,
        due_at=complaint.first_response_due_at,
        stopped_at=complaint.first_responded_at
        or (complaint.closed_at if complaint.status == ComplaintStatus.REJECTED else None),
        paused_at=complaint.sla_paused_at,
        paused_seconds=complaint.sla_paused_seconds,
    )


def resolution_clock(complaint: Complaint) -> Clock:
    return Clock(
        # A reopened complaint's clock runs from the reopening, with a fresh allowance.
        started_at=complaint.resolution_started_at or complaint.created_at,
        due_at=complaint.resolution_due_at,
        stopped_at=complaint.resolved_at or complaint.closed_at,
        paused_at=complaint.sla_paused_at,
        paused_seconds=complaint.sla_paused_seconds,
    )


def sla_states(
    complaint: Complaint, calendar: BusinessCalendar, *, now: datetime.datetime | None = None
) -> dict[str, SlaState]:
    now = now or timezone.now()
    return {
        "first_response": clock_state(calendar, first_response_clock(complaint), now=now),
        "resolution": clock_state(calendar, resolution_clock(complaint), now=now),
    }


def overall_sla_state(states: dict[str, SlaState]) -> SlaState:
    """The worst of the running clocks, for badges and queues; when all have stopped, the
    worst outcome. A first answer that came late does not hide a resolution clock at risk."""
    running = [SlaState.BREACHED, SlaState.AT_RISK, SlaState.ON_TRACK]
    stopped = [SlaState.MISSED, SlaState.MET]
    candidates = [state for state in states.values() if state in running] or list(states.values())
    order = running + stopped
    return min(candidates, key=order.index)


def open_complaints() -> QuerySet[Complaint]:
    return Complaint.objects.filter(status__in=OPEN_COMPLAINT_STATUSES)


# --- stages -------------------------------------------------------------------------------


def complaint_stages(tenant) -> list[ComplaintStage]:
    """The tenant's stages in their order, active or not (the services create the defaults
    for a tenant that has none: services.complaint_stages_ensure)."""
    return list(ComplaintStage.objects.for_tenant(tenant).order_by("position", "key"))


def stage_covering(stages, status: str) -> ComplaintStage | None:
    """The active stage covering `status`, if any (at most one: the editor refuses two)."""
    return next((stage for stage in stages if stage.covers(status)), None)


def stage_running() -> Q:
    """The complaint is in a stage whose clock runs (waiting for the customer pauses it)."""
    return Q(stage__isnull=False, stage_due_at__isnull=False, sla_paused_at__isnull=True)


def stage_breached(now: datetime.datetime) -> Q:
    """The current stage's clock runs and is past its due moment."""
    return stage_running() & Q(stage_due_at__lte=now)


def stage_at_risk(now: datetime.datetime) -> Q:
    """The current stage's clock has used most of its time (sla.AT_RISK_SHARE), not all."""
    return stage_running() & Q(stage_at_risk_at__lte=now, stage_due_at__gt=now)


def stage_state(complaint: Complaint, *, now: datetime.datetime) -> SlaState | None:
    """The current stage's state from the moments stored on the complaint; None when the
    complaint is in no stage (finished, or filed before stages existed)."""
    if complaint.stage_id is None or complaint.stage_due_at is None:
        return None
    return state_at(
        due_at=complaint.stage_due_at,
        at_risk_at=complaint.stage_at_risk_at,
        now=now,
        paused_at=complaint.sla_paused_at,
    )


def visit_state(visit: ComplaintStageVisit, *, now: datetime.datetime) -> SlaState:
    """A visit's state: met or missed once left, else on track, at risk or breached (a
    paused visit is judged at the moment it paused)."""
    if visit.left_at is not None:
        return SlaState.MET if visit.outcome == "met" else SlaState.MISSED
    return state_at(
        due_at=visit.due_at, at_risk_at=visit.at_risk_at, now=now, paused_at=visit.paused_at
    )


def complaint_stage_visits(complaint: Complaint) -> list[ComplaintStageVisit]:
    """The complaint's stage history, oldest first."""
    return list(
        ComplaintStageVisit.objects.for_tenant(complaint.tenant)
        .filter(complaint_id=complaint.pk)
        .select_related("stage")
        .order_by("started_at", "pk")
    )
