"""Status e-mails to the customer who filed a return, one per customer-visible timeline event.

Queued through the outbox in the service's transaction; templates/emails/return.<kind>/ render
them in the recipient's language at delivery, so the context holds JSON only.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from rma_portal.notifications.links import portal_url
from rma_portal.notifications.objects import staff_first_name
from rma_portal.notifications.services import notification_enqueue

from .models import (
    MONEY_RESOLUTIONS,
    Resolution,
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnResolution,
)


@dataclass(frozen=True)
class StatusEmail:
    event: str  # the template folder under templates/emails/
    # The kind of e-mail the customer chooses to get immediately, in the daily digest or never
    # (rma_portal/notifications/preferences.py); "" for the e-mails that are always sent: a
    # question to answer, the reminder of the deadline to send the goods.
    kind: str


# Timeline action → the e-mail it sends to the requester. Actions not listed (drafts,
# the customer's own answer or cancellation, inspection, closing) send nothing. The reminder
# to send the goods and the expiry are the system's (returns.maintenance).
STATUS_EMAILS = {
    "submitted": StatusEmail("return.submitted", kind="return_progress"),
    "approved": StatusEmail("return.approved", kind="return_decisions"),
    "auto_approved": StatusEmail("return.approved", kind="return_decisions"),
    "info_requested": StatusEmail("return.info_requested", kind=""),
    "rejected": StatusEmail("return.rejected", kind="return_decisions"),
    "received": StatusEmail("return.received", kind="return_progress"),
    "resolved": StatusEmail("return.resolved", kind="return_resolutions"),
    "ship_reminder": StatusEmail("return.ship_reminder", kind=""),
    "expired": StatusEmail("return.expired", kind="return_decisions"),
    "comment": StatusEmail("return.message", kind="support_replies"),
}


def ship_by_day(rma: ReturnRequest) -> str | None:
    """The day (in the tenant's calendar, ISO) by which an approved return's goods must
    arrive, or None when it never expires."""
    if rma.ship_by is None:
        return None
    return (
        timezone.localtime(rma.ship_by, zoneinfo.ZoneInfo(rma.tenant.timezone)).date().isoformat()
    )


def _money(value) -> str | None:
    return None if value is None else str(value)


def return_email_context(return_request: ReturnRequest) -> dict:
    """What every return e-mail shows; JSON only (the outbox stores it)."""
    return {
        "return_id": return_request.pk,
        "number": return_request.reference,
        "customer_name": return_request.customer_account.name,
        "url": portal_url(reverse("portal:return_detail", args=[return_request.pk])),
        "settings_url": portal_url(reverse("portal:profile")),
    }


def inspection_findings(rma: ReturnRequest) -> dict:
    """What inspection found, as the customer may read it: the customer note of the whole
    inspection and of each line. Internal inspection notes are never read here
    (docs/security.md#inspection-notes)."""
    inspected = (
        ReturnEvent.objects.for_tenant(rma.tenant)
        .filter(return_request=rma, action="inspected", is_public=True)
        .order_by("-created_at", "-pk")
        .values_list("note", flat=True)
        .first()
    )
    lines = (
        ReturnLine.objects.for_tenant(rma.tenant)
        .filter(return_request=rma)
        .exclude(inspection_customer_note="")
        .select_related("order_line__product")
        .order_by("pk")
    )
    return {
        "inspection_note": inspected or "",
        "inspection_lines": [
            {
                "product": line.order_line.product.name,
                "sku": line.order_line.product.sku,
                "note": line.inspection_customer_note,
            }
            for line in lines
        ],
    }


def resolution_lines(rma: ReturnRequest) -> list[dict]:
    """What the resolution decided for each line, as the customer reads it in the portal: the
    amount a refund or a credit note pays, the SKU and quantity a replacement sends. The
    line's override reason is internal and never read here."""
    lines = (
        ReturnLine.objects.for_tenant(rma.tenant)
        .filter(return_request=rma)
        .select_related("order_line__product")
        .order_by("pk")
    )
    return [
        {
            "product": line.order_line.product.name,
            "sku": line.order_line.product.sku,
            "accepted_quantity": line.accepted_quantity or 0,
            "resolution": line.resolution,
            "amount": _money(line.refund_amount) if line.resolution in MONEY_RESOLUTIONS else None,
            "replacement_sku": line.replacement_sku,
            "replacement_quantity": line.replacement_quantity,
        }
        for line in lines
    ]


def _resolution_context(rma: ReturnRequest) -> dict:
    context = {
        "resolution": rma.resolution,
        "accepted_value": _money(rma.accepted_value),
        "restocking_fee": _money(rma.restocking_fee),
        "refund_total": _money(rma.refund_total),
        "currency": rma.tenant.currency,
        "credit_note_number": rma.credit_note_number,
        "replacement_order_ref": rma.replacement_order_ref,
        "note": rma.resolution_note,
    }
    if rma.resolution == ReturnResolution.MIXED:
        # Lines resolved differently: each says what happens to it, and the money back is
        # split into what is refunded and what is credited.
        lines = resolution_lines(rma)
        credited = rma.credit_note_total or Decimal("0.00")
        refunded = (rma.refund_total or Decimal("0.00")) - credited
        kinds = {line["resolution"] for line in lines}
        context.update(
            lines=lines,
            refunded=_money(refunded) if Resolution.REFUND in kinds else None,
            credited=_money(credited) if Resolution.CREDIT_NOTE in kinds else None,
        )
    return context


def _context_for(event: ReturnEvent, rma: ReturnRequest) -> dict:
    context = return_email_context(rma)
    action = event.action
    if action in ("approved", "auto_approved"):
        context.update(
            automatic=action == "auto_approved",
            # The automatic note is a fixed sentence in the system's language: the template
            # says it in the recipient's instead.
            note="" if action == "auto_approved" else event.note,
            return_method=rma.return_method,
            shipping_paid_by=rma.shipping_paid_by,
            ship_by=ship_by_day(rma),
        )
    elif action in ("ship_reminder", "expired"):
        context["ship_by"] = ship_by_day(rma)
    elif action == "resolved":
        # The survey's services import the returns' services, which import this module.
        from .feedback import survey_links

        context.update(
            **_resolution_context(rma),
            **inspection_findings(rma),
            # Five signed links, one per score, to the survey page (docs/feedback.md).
            survey=survey_links(rma, recipient=rma.requester),
        )
    else:
        # The question, the reason, the staff message, or the warehouse's note: all public.
        context["note"] = event.note
        if action == "comment":
            context["author_name"] = staff_first_name(event.actor)
    return context


def send_status_emails(event: ReturnEvent) -> None:
    """Queue the requester's e-mail about `event`, if it is one the customer hears about."""
    if not event.is_public:  # internal notes and assignments never leave the back-office
        return
    email = STATUS_EMAILS.get(event.action)
    if email is None:
        return
    if event.action == "comment" and (event.actor is None or event.actor.is_customer):
        return  # only staff messages are news to the customer; they wrote their own
    rma = event.return_request
    notification_enqueue(
        tenant=rma.tenant,
        event=email.event,
        recipient=rma.requester,
        context=_context_for(event, rma),
        key=f"return-event:{event.pk}",
        kind=email.kind,
        case=rma,
    )
