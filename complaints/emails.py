"""E-mails about complaints: to the reporter on customer-visible events and staff replies, to
the assignee on assignment, plus the context of the SLA watch's notices to staff (the SLA
clocks' and the stages').

Queued through the outbox in the service's transaction; templates/emails/complaint.<kind>/
render them in the recipient's language at delivery, so the context holds JSON only.
Internal notes and internal events never produce a customer e-mail.
"""

from __future__ import annotations

import datetime

from django.urls import reverse

from rma_portal.notifications.links import portal_url
from rma_portal.notifications.objects import staff_first_name
from rma_portal.notifications.services import notification_enqueue, notification_withdraw
from rma_portal.sla import wall_clock

from .models import (
    Complaint,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStageVisit,
    SatisfactionRating,
)
from .selectors import support_settings
from .survey import survey_links

# Events the SLA watch enqueues itself (context: sla_email_context()).
SLA_AT_RISK_EVENT = "complaint.sla_at_risk"  # to the assignee
SLA_BREACHED_EVENT = "complaint.sla_breached"  # to the tenant's coordinators
# ... and for the complaint's current stage (context: stage_email_context()).
STAGE_AT_RISK_EVENT = "complaint.stage_at_risk"  # to the assignee
STAGE_BREACHED_EVENT = "complaint.stage_breached"  # to the tenant's coordinators


def _local(complaint: Complaint, moment: datetime.datetime | None) -> str:
    """A moment as the tenant's wall-clock time, e.g. "2026-11-17 09:00" (the same in every
    language, so it can be stored once for any recipient)."""
    return wall_clock(moment, complaint.tenant.timezone)


def complaint_email_context(complaint: Complaint) -> dict:
    """What every e-mail to the reporter shows; JSON only (the outbox stores it)."""
    return {
        "complaint_id": complaint.pk,
        "code": complaint.code,
        "subject": complaint.subject,
        "customer_name": complaint.customer_account.name,
        "url": portal_url(reverse("portal:complaint_detail", args=[complaint.pk])),
        "settings_url": portal_url(reverse("portal:profile")),
    }


def staff_email_context(complaint: Complaint) -> dict:
    """What every e-mail to staff shows: the case as the back-office sees it."""
    return {
        "complaint_id": complaint.pk,
        "code": complaint.code,
        "subject": complaint.subject,
        "customer_name": complaint.customer_account.name,
        "status": complaint.status,
        "priority": complaint.priority,
        "first_response_due_at": _local(complaint, complaint.first_response_due_at),
        "resolution_due_at": _local(complaint, complaint.resolution_due_at),
        "time_zone": complaint.tenant.timezone,
        "assignee_name": complaint.assignee.get_full_name() if complaint.assignee else "",
        "url": portal_url(reverse("admin:complaints_complaint_change", args=[complaint.pk])),
    }


def sla_email_context(complaint: Complaint, *, clock: str, due_at: datetime.datetime) -> dict:
    """Context of `complaint.sla_at_risk` / `complaint.sla_breached`; `clock` is
    "first_response" or "resolution", `due_at` when that clock is (was) due."""
    return {
        **staff_email_context(complaint),
        "clock": clock,
        "due_at": _local(complaint, due_at),
        "due_at_iso": due_at.isoformat(),
    }


def stage_email_context(complaint: Complaint, visit: ComplaintStageVisit) -> dict:
    """Context of `complaint.stage_at_risk` / `complaint.stage_breached`: the case as staff
    see it, the stage (its tenant's name for it) and when its visit is (was) due."""
    return {
        **staff_email_context(complaint),
        "stage": visit.stage.key,
        "stage_name": visit.stage.name,
        "stage_limit_days": format(visit.limit_days.normalize(), "f"),
        "stage_started_at": _local(complaint, visit.started_at),
        "due_at": _local(complaint, visit.due_at),
        "due_at_iso": visit.due_at.isoformat(),
    }


def _to_reporter(complaint: Complaint, *, event: str, context: dict, key: str, kind: str):
    """`kind`: the kind of e-mail the reporter chooses to receive or not
    (rma_portal/notifications/preferences.py); "" for the e-mails that are always sent."""
    notification_enqueue(
        tenant=complaint.tenant,
        event=event,
        recipient=complaint.reporter,
        context=context,
        key=key,
        kind=kind,
        case=complaint,
    )


def _question_asked_with(event: ComplaintEvent) -> ComplaintMessage | None:
    """The public question posted in the same service call that started waiting for the
    customer (complaint_wait_for_customer stamps both with the same moment)."""
    return (
        ComplaintMessage.objects.for_tenant(event.complaint.tenant)
        .filter(
            complaint_id=event.complaint_id,
            author_id=event.actor_id,
            is_internal=False,
            created_at=event.created_at,
        )
        .order_by("-pk")
        .first()
    )


def _withdraw_reply_email(message: ComplaintMessage, recipient) -> None:
    """The question travels in the "awaiting your answer" e-mail: the customer should not
    get it twice. The reply's row (or digest item) was queued in this same transaction and is
    not sent yet (delivery runs after commit and sends pending rows only)."""
    notification_withdraw(
        tenant=message.tenant,
        key=f"complaint-message:{message.pk}",
        recipient=recipient,
        reason="sent within complaint.awaiting_customer",
    )


def send_complaint_emails(event: ComplaintEvent) -> None:
    """Queue the e-mails `event` causes: the reporter's for public events, the assignee's
    for an assignment by someone else."""
    complaint = event.complaint
    key = f"complaint-event:{event.pk}"
    action = event.action
    if action == "assigned":
        assignee = complaint.assignee
        if assignee is not None and assignee.pk != event.actor_id:
            context = staff_email_context(complaint)
            context["assigned_by"] = event.actor.get_full_name() if event.actor else ""
            notification_enqueue(
                tenant=complaint.tenant,
                event="complaint.assigned",
                recipient=assignee,
                context=context,
                key=key,
                case=complaint,
            )
        return
    if not event.is_public:
        return
    context = complaint_email_context(complaint)
    if action == "filed":
        _to_reporter(
            complaint,
            event="complaint.filed",
            context=context,
            key=key,
            kind="complaint_progress",
        )
    elif action == "awaiting_customer":
        question = _question_asked_with(event)
        context["question"] = question.body if question else ""
        _to_reporter(
            complaint,
            event="complaint.awaiting_customer",
            context=context,
            key=key,
            kind="",  # a question to answer: always sent at once
        )
        if question is not None:
            _withdraw_reply_email(question, complaint.reporter)
    elif action == "resolved":
        # Resolved again after a reopening: a complaint is rated once, and its rating stays
        # (docs/feedback.md), so the customer is not asked again.
        ratings = SatisfactionRating.objects.for_tenant(complaint.tenant)
        rated = ratings.filter(complaint=complaint).exists()
        context.update(
            resolution=event.note,
            rate_url=context["url"] + "#rate",
            rated=rated,
            reopen_window_days=support_settings(complaint.tenant).reopen_window_days,
            # Five signed links, one per score, to the survey page (docs/feedback.md).
            survey=[] if rated else survey_links(complaint, recipient=complaint.reporter),
        )
        _to_reporter(
            complaint,
            event="complaint.resolved",
            context=context,
            key=key,
            kind="complaint_decisions",
        )
    elif action == "rejected":
        context["reason"] = event.note
        _to_reporter(
            complaint,
            event="complaint.rejected",
            context=context,
            key=key,
            kind="complaint_decisions",
        )


def send_complaint_reply_email(message: ComplaintMessage) -> None:
    """Queue the reporter's e-mail about a staff reply; internal notes send nothing."""
    if message.is_internal:
        return
    complaint = message.complaint
    if message.author_id == complaint.reporter_id:
        return
    context = complaint_email_context(complaint)
    context.update(
        body=message.body,
        author_name=staff_first_name(message.author),
        # The files themselves stay behind the portal's permission checks.
        attachment_count=message.attachments.count(),
    )
    _to_reporter(
        complaint,
        event="complaint.reply",
        context=context,
        key=f"complaint-message:{message.pk}",
        kind="support_replies",
    )
