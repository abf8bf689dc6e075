"""What a complaint's timeline event causes outside the database: a webhook for every public
event (and for assignments) and the e-mails to customers and staff. Called inside the
service's transaction (the outbox), so a rolled-back change sends nothing. Internal notes
never reach either.

The webhook events of complaints are registered in the catalogue (rma_portal/notifications/
catalogue.py) by `register_webhook_events()`, from ComplaintsConfig.ready(). A payload carries
what the customer may read of the complaint, as the API shows it to customers
(docs/api.md#what-customers-see-and-what-only-staff-see): no internal note, no SLA clock, no
internal event's note.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from customers.webhooks import customer_data, order_data, order_line_data, product_data
from rma_portal.notifications import catalogue
from rma_portal.notifications.catalogue import (
    DATETIME,
    INTEGER,
    STRING,
    EventType,
    described,
    enum,
    iso,
    nullable,
    obj,
    ref,
)
from rma_portal.notifications.objects import (
    actor_data,
    api_url,
    timeline_event_data,
    timeline_event_schema,
)

from .emails import send_complaint_emails
from .models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    Priority,
    SatisfactionRating,
)

# Internal timeline events an integration still hears of: who handles a complaint is no
# secret (customers see the name), only the event's note is (it is not sent).
PUBLISHED_INTERNAL_ACTIONS = frozenset({"assigned"})


def on_complaint_event(event: ComplaintEvent) -> None:
    complaint = event.complaint
    if event.is_public or event.action in PUBLISHED_INTERNAL_ACTIONS:
        catalogue.publish(
            f"complaint.{event.action}",
            event,
            tenant=complaint.tenant,
            key=f"complaint-event:{event.pk}",
            created_at=event.created_at,
        )
    send_complaint_emails(event)


def on_message_saved(sender, instance: ComplaintMessage, created: bool, raw: bool, **kwargs):
    """post_save of ComplaintMessage (connected in ComplaintsConfig.ready()): a new message
    of the thread that the customer reads is `complaint.message_added`; an internal note is
    never published. In the transaction of the service that wrote it (the outbox)."""
    if not created or raw or instance.is_internal:
        return
    catalogue.publish(
        "complaint.message_added",
        instance,
        tenant=instance.complaint.tenant,
        key=f"complaint-message:{instance.pk}",
        created_at=instance.created_at,
    )


# --- payloads ----------------------------------------------------------------------------------


def rating_data(complaint: Complaint) -> dict | None:
    rating = SatisfactionRating.objects.for_tenant(complaint.tenant).filter(complaint=complaint)
    rating = rating.first()
    if rating is None:
        return None
    return {
        "score": rating.score,
        "nps": rating.nps,
        "comment": rating.comment,
        "created_at": iso(rating.created_at),
    }


def complaint_data(complaint: Complaint) -> dict:
    """The complaint as an integration needs it, read fresh: what the customer may read of it
    (no SLA clocks, no internal notes), with the order, line, product and return it is about.
    The one place that decides what a payload says about a complaint."""
    complaint = (
        Complaint.objects.for_tenant(complaint.tenant)
        .select_related(
            "tenant",
            "customer_account",
            "reporter",
            "assignee",
            "order",
            "order_line",
            "product",
            "return_request",
        )
        .get(pk=complaint.pk)
    )
    return {
        "id": complaint.pk,
        "code": complaint.code,
        "status": complaint.status,
        "url": api_url("api:complaint-detail", complaint.pk),
        "category": complaint.category,
        "priority": complaint.priority,
        "subject": complaint.subject,
        "description": complaint.description,
        "customer": customer_data(complaint.customer_account, complaint.reporter),
        "assignee_name": complaint.assignee.get_full_name() if complaint.assignee else None,
        "order": order_data(complaint.order) if complaint.order else None,
        "order_line": order_line_data(complaint.order_line) if complaint.order_line else None,
        "product": product_data(complaint.product) if complaint.product else None,
        "return": {
            "id": complaint.return_request.pk,
            "number": complaint.return_request.number or None,
        }
        if complaint.return_request
        else None,
        "resolution": complaint.resolution,
        "rejection_reason": complaint.rejection_reason,
        "reopen_count": complaint.reopen_count,
        "rating": rating_data(complaint),
        "created_at": iso(complaint.created_at),
        "resolved_at": iso(complaint.resolved_at),
        "closed_at": iso(complaint.closed_at),
    }


def build_complaint_event(event: ComplaintEvent) -> dict:
    return {"complaint": complaint_data(event.complaint), "event": timeline_event_data(event)}


def build_message_added(message: ComplaintMessage) -> dict:
    return {
        "complaint": complaint_data(message.complaint),
        "message": {
            "id": message.pk,
            "body": message.body,
            "author": actor_data(message.author),
            "created_at": iso(message.created_at),
        },
    }


COMPLAINT_STATUSES = list(ComplaintStatus.values)


def register_definitions() -> None:
    """The objects of complaint payloads, in the catalogue's `$defs`."""
    catalogue.register_definition(
        "Complaint",
        obj(
            {
                "id": INTEGER,
                "code": described(STRING, "The complaint number."),
                "status": enum(COMPLAINT_STATUSES),
                "url": described(STRING, "The complaint in the REST API."),
                "category": enum(ComplaintCategory.values),
                "priority": enum(Priority.values),
                "subject": STRING,
                "description": STRING,
                "customer": ref("Customer"),
                "assignee_name": described(
                    nullable(STRING), "Who handles the complaint; null while nobody does."
                ),
                "order": nullable(ref("Order")),
                "order_line": nullable(ref("OrderLine")),
                "product": nullable(ref("Product")),
                "return": nullable(
                    obj(
                        {
                            "id": INTEGER,
                            "number": described(
                                nullable(STRING),
                                "The RMA number; null for a draft never submitted.",
                            ),
                        },
                        "The return linked to it.",
                    )
                ),
                "resolution": described(STRING, "The answer, once resolved."),
                "rejection_reason": STRING,
                "reopen_count": INTEGER,
                "rating": nullable(
                    obj(
                        {
                            "score": {"type": "integer", "minimum": 1, "maximum": 5},
                            "nps": described(
                                nullable({"type": "integer", "minimum": 0, "maximum": 10}),
                                "How likely the customer is to recommend the merchant; null "
                                "when left out.",
                            ),
                            "comment": STRING,
                            "created_at": DATETIME,
                        },
                        "The customer's rating, once given.",
                    )
                ),
                "created_at": DATETIME,
                "resolved_at": nullable(DATETIME),
                "closed_at": nullable(DATETIME),
            },
            "A complaint, as its customer may read it (no SLA clocks, no internal notes).",
        ),
    )
    catalogue.register_definition(
        "ComplaintTimelineEvent", timeline_event_schema(COMPLAINT_STATUSES)
    )


# --- examples ----------------------------------------------------------------------------------


def example_complaint(status: str, **changes) -> dict:
    finished = status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
    data = {
        "id": 31,
        "code": "CMP-2026-000031",
        "status": status,
        "url": "https://rma.example.com/api/v1/complaints/31/",
        "category": "product_quality",
        "priority": "high",
        "subject": "Drill does not start",
        "description": "Dead on arrival.",
        "customer": {
            "account": {
                "id": 7,
                "number": "C00007",
                "name": "Buyer Sp. z o.o.",
                "vat_number": "5260250274",
            },
            "user": {"id": 23, "email": "anna@buyer.example", "name": "Anna Nowak"},
        },
        "assignee_name": None if status == ComplaintStatus.NEW else "Piotr Kowalski",
        "order": {
            "id": 41,
            "number": "ZAM/2026/000041",
            "invoice_number": "FV/2026/11/0041",
            "order_date": "2026-10-28",
            "delivery_date": "2026-10-31",
        },
        "order_line": {"id": 89, "line_number": 1, "lot_number": ""},
        "product": {"id": 12, "sku": "SKU-00012", "name": "Cordless drill"},
        "return": None,
        "resolution": "A replacement was sent with order ZAM/2026/000077." if finished else "",
        "rejection_reason": "",
        "reopen_count": 0,
        "rating": None,
        "created_at": "2026-11-16T09:00:00+01:00",
        "resolved_at": "2026-11-17T15:20:00+01:00" if finished else None,
        "closed_at": "2026-11-18T08:00:00+01:00" if status == ComplaintStatus.CLOSED else None,
    }
    data.update(changes)
    return data


def example_event(action: str, from_status: str, to_status: str, note: str = "") -> dict:
    customer = action in ("filed", "customer_replied", "reopened", "rated", "return_linked")
    return {
        "id": 640,
        "action": action,
        "from_status": from_status or None,
        "to_status": to_status,
        "occurred_at": "2026-11-16T10:15:00+01:00",
        "actor": {"type": "customer", "id": 23, "name": "Anna Nowak"}
        if customer
        else {"type": "staff", "id": 4, "name": "Piotr Kowalski"},
        "note": note,
    }


S = ComplaintStatus
# (action, label, from status, to status, description, note, example complaint changes)
COMPLAINT_EVENTS = [
    (
        "filed",
        _("Complaint filed"),
        "",
        S.NEW,
        "A customer filed a complaint; SLA clocks start.",
        "",
        {},
    ),
    (
        "assigned",
        _("Complaint assigned"),
        S.NEW,
        S.OPEN,
        "Someone now handles the complaint (`complaint.assignee_name`): the first assignment "
        "(`new` → `open`) or a reassignment (the status stays). The event's note is not sent.",
        "",
        {},
    ),
    (
        "started",
        _("Complaint: work started"),
        S.OPEN,
        S.IN_PROGRESS,
        "Work on the complaint started (also when staff answer a new complaint).",
        "",
        {},
    ),
    (
        "awaiting_customer",
        _("Complaint awaiting the customer"),
        S.IN_PROGRESS,
        S.AWAITING_CUSTOMER,
        "Staff asked the customer something; the SLA clocks pause.",
        "Which batch number is on the box?",
        {},
    ),
    (
        "customer_replied",
        _("Complaint: customer replied"),
        S.AWAITING_CUSTOMER,
        S.IN_PROGRESS,
        "The customer answered; the SLA clocks run again. The answer itself is "
        "`complaint.message_added`.",
        "",
        {},
    ),
    (
        "resolved",
        _("Complaint resolved"),
        S.IN_PROGRESS,
        S.RESOLVED,
        "Staff resolved the complaint (`complaint.resolution`); the customer may reopen it "
        "within the tenant's window, or rate it.",
        "",
        {},
    ),
    (
        "rejected",
        _("Complaint rejected"),
        S.IN_PROGRESS,
        S.REJECTED,
        "Staff rejected the complaint as unfounded (`complaint.rejection_reason`).",
        "",
        {
            "rejection_reason": "The damage was caused by improper use.",
            "closed_at": "2026-11-17T15:20:00+01:00",
        },
    ),
    (
        "closed",
        _("Complaint closed"),
        S.RESOLVED,
        S.CLOSED,
        "The complaint is finished: closed by staff, or automatically: after the tenant's "
        "auto-close days, or for a rated complaint when its reopen window ends.",
        "",
        {},
    ),
    (
        "reopened",
        _("Complaint reopened"),
        S.RESOLVED,
        S.IN_PROGRESS,
        "The customer reopened a resolved complaint (the reason is the event's note, and also "
        "a `complaint.message_added`).",
        "Still does not start.",
        {"reopen_count": 1},
    ),
    (
        "rated",
        _("Complaint rated"),
        S.RESOLVED,
        S.RESOLVED,
        "The customer rated the resolution (`complaint.rating`); a resolved complaint stays "
        "resolved, and may still be reopened, until its reopen window ends, when "
        "`complaint.closed` follows (at once when rated after the window).",
        "5",
        {
            "rating": {
                "score": 5,
                "nps": 9,
                "comment": "Quick.",
                "created_at": "2026-11-17T16:00:00+01:00",
            }
        },
    ),
    (
        "return_linked",
        _("Complaint linked to a return"),
        S.IN_PROGRESS,
        S.IN_PROGRESS,
        "A return was linked to the complaint (`complaint.return`).",
        "RMA-2026-000015",
        {"return": {"id": 15, "number": "RMA-2026-000015"}},
    ),
    (
        "priority_changed",
        _("Complaint priority changed"),
        S.IN_PROGRESS,
        S.IN_PROGRESS,
        "Staff changed the priority of an open complaint (`complaint.priority`); the event's "
        "note is the old and the new value (`high → urgent`). The status stays.",
        "high → urgent",
        {"priority": "urgent"},
    ),
]


def register_webhook_events() -> None:
    """ComplaintsConfig.ready(): the events of complaints, in the catalogue."""
    register_definitions()
    data_schema = obj(
        {"complaint": ref("Complaint"), "event": ref("ComplaintTimelineEvent")},
        "The complaint as it is after the event, and the event.",
    )
    for action, label, from_status, to_status, description, note, changes in COMPLAINT_EVENTS:
        catalogue.register_event(
            EventType(
                name=f"complaint.{action}",
                version=1,
                label=label,
                description=description,
                data_schema=data_schema,
                example={
                    "complaint": example_complaint(to_status, **changes),
                    "event": example_event(action, from_status, to_status, note),
                },
                build=build_complaint_event,
                group="complaints",
            )
        )
    catalogue.register_event(
        EventType(
            name="complaint.message_added",
            version=1,
            label=_("Complaint: new message"),
            description="A message the customer reads was added to the thread, by the "
            "customer or by staff. Internal notes are never sent. Files of the message are "
            "listed by the complaint's API detail (`complaint.url`).",
            data_schema=obj(
                {
                    "complaint": ref("Complaint"),
                    "message": obj(
                        {
                            "id": INTEGER,
                            "body": STRING,
                            "author": ref("Actor"),
                            "created_at": DATETIME,
                        }
                    ),
                }
            ),
            example={
                "complaint": example_complaint(S.IN_PROGRESS),
                "message": {
                    "id": 57,
                    "body": "We are sending a replacement today.",
                    "author": {"type": "staff", "id": 4, "name": "Piotr Kowalski"},
                    "created_at": "2026-11-16T10:02:11+01:00",
                },
            },
            build=build_message_added,
            group="complaints",
        )
    )
