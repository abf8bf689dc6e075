"""What a return's timeline event causes outside the database: a webhook to the tenant's
integrations for every public event, status e-mails to the customer, and the return label once
the return is approved. Called inside the service's transaction (the outbox), so a rolled-back
change sends nothing.

The webhook events of returns are registered in the catalogue (rma_portal/notifications/
catalogue.py) by `register_webhook_events()`, from ReturnsConfig.ready(): each with the JSON
Schema of its `data`, an example and its builder. A payload carries what the customer may read
of the return (the portal and the API show the same), never an internal note or event, plus
the references an ERP matches on (order number, SKU, customer number). The customer, order and
product objects, shared with complaints, are the customers app's (customers/webhooks.py); the
actor and the timeline event the platform's (rma_portal/notifications/objects.py).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.webhooks import customer_data, order_data, order_line_data, product_data
from rma_portal.accounts.models import User
from rma_portal.notifications import catalogue
from rma_portal.notifications.catalogue import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    MONEY,
    STRING,
    EventType,
    array,
    described,
    enum,
    iso,
    money,
    nullable,
    obj,
    ref,
)
from rma_portal.notifications.links import portal_url
from rma_portal.notifications.objects import (
    api_url,
    timeline_event_data,
    timeline_event_schema,
)
from rma_portal.notifications.services import notification_enqueue

from .emails import send_status_emails
from .labels import request_label
from .models import (
    Disposition,
    DocumentKind,
    ItemCondition,
    Resolution,
    ResolutionDocument,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnResolution,
    ReturnStatus,
    ShippingPaidBy,
)


def on_return_event(event: ReturnEvent) -> None:
    rma = event.return_request
    if event.is_public:  # internal events (assignments, staff notes) stay inside
        catalogue.publish(
            f"return.{event.action}",
            event,
            tenant=rma.tenant,
            key=f"return-event:{event.pk}",
            created_at=event.created_at,
        )
    send_status_emails(event)
    if event.action in ("approved", "auto_approved"):
        request_label(rma)
    if event.action == "approval_requested":
        notify_approvers(event)


def notify_approvers(event: ReturnEvent) -> None:
    """E-mail each active member of the tenant's staff who may approve the return (its
    approval level) that an agent asks them to, with the agent's recommendation."""
    from .services.access import APPROVERS

    rma = event.return_request
    approvers = User.objects.filter(
        tenant=rma.tenant, is_active=True, role__in=APPROVERS[rma.approval_level or ""]
    ).order_by("pk")
    context = {
        "return_id": rma.pk,
        "number": rma.reference,
        "customer_name": rma.customer_account.name,
        "requested_value": str(rma.requested_value),
        "currency": rma.tenant.currency,
        "level": rma.approval_level,
        "asked_by": event.actor.get_full_name() if event.actor else "",
        "note": event.note,
        "url": portal_url(reverse("admin:returns_returnrequest_change", args=[rma.pk])),
    }
    for approver in approvers:
        notification_enqueue(
            tenant=rma.tenant,
            event="return.approval_requested",
            recipient=approver,
            context=context,
            key=f"return-event:{event.pk}:approver:{approver.pk}",
            case=rma,
        )


def on_label_rendered(return_request: ReturnRequest) -> None:
    """The return label was rendered (returns/labels.py): `return.label_ready`, once per
    return (later renders of a lost file publish nothing new: same key)."""
    catalogue.publish(
        "return.label_ready",
        return_request,
        tenant=return_request.tenant,
        key=f"return-label:{return_request.pk}",
        created_at=return_request.label_rendered_at,
    )


# --- the return --------------------------------------------------------------------------------


def line_resolution_data(line: ReturnLine, rma: ReturnRequest) -> dict | None:
    """What the resolution decided for one line; None until the return is resolved. The
    line's own resolution where lines are resolved one by one, else the return's."""
    if not rma.resolution:
        return None
    kind = getattr(line, "resolution", "") or rma.resolution
    replaced = kind == Resolution.REPLACEMENT and bool(line.replacement_sku)
    return {
        "type": kind,
        "accepted_quantity": line.accepted_quantity or 0,
        "amount": money(line.refund_amount),
        "replacement_sku": line.replacement_sku if replaced else None,
        "replacement_quantity": line.replacement_quantity if replaced else None,
    }


def return_line_data(line: ReturnLine, position: int, rma: ReturnRequest) -> dict:
    order_line = line.order_line
    inspected = bool(line.condition)
    return {
        "id": line.pk,
        "position": position,
        "order": order_data(order_line.order),
        "order_line": order_line_data(order_line),
        "product": product_data(order_line.product),
        "quantity": line.quantity,
        "unit_price": money(line.unit_price),
        "value": money(line.line_value),
        "reason": line.reason,
        "reason_text": line.reason_text,
        "customer_comment": line.customer_comment,
        "serial_numbers": [str(serial) for serial in line.serial_numbers or []],
        # The customer's inspection note only: `inspection_note` is internal, never sent.
        "inspection": {
            "condition": line.condition,
            "disposition": line.disposition or None,
            "accepted_quantity": line.accepted_quantity or 0,
            "note": line.inspection_customer_note,
        }
        if inspected
        else None,
        "resolution": line_resolution_data(line, rma),
    }


def return_resolution_data(rma: ReturnRequest) -> dict | None:
    if not rma.resolution:
        return None
    return {
        "type": rma.resolution,
        "accepted_value": money(rma.accepted_value),
        "restocking_fee": money(rma.restocking_fee),
        "refund_total": money(rma.refund_total),
        "credit_note_number": rma.credit_note_number or None,
        "replacement_order_ref": rma.replacement_order_ref or None,
        "note": rma.resolution_note,
        "resolved_at": iso(rma.resolved_at),
    }


def return_data(rma: ReturnRequest) -> dict:
    """The return as an integration needs it, without a second call: read fresh, with its
    lines, their order, order line and product. The one place that decides what a payload
    says about a return."""
    rma = (
        ReturnRequest.objects.for_tenant(rma.tenant)
        .select_related("tenant", "customer_account", "requester")
        .get(pk=rma.pk)
    )
    lines = (
        ReturnLine.objects.for_tenant(rma.tenant)
        .filter(return_request_id=rma.pk)
        .select_related("order_line__order", "order_line__product")
        .order_by("pk")
    )
    return {
        "id": rma.pk,
        "number": rma.number or None,
        "status": rma.status,
        "url": api_url("api:return-detail", rma.pk),
        "customer": customer_data(rma.customer_account, rma.requester),
        "requested_resolution": rma.requested_resolution or None,
        "return_method": rma.return_method or None,
        "pickup_date": iso(rma.pickup_date),
        "pickup_address": rma.pickup_address,
        "customer_note": rma.customer_note,
        "shipping_paid_by": rma.shipping_paid_by or None,
        "auto_approved": rma.auto_approved,
        "is_warranty_claim": rma.is_warranty_claim,
        "info_request": rma.info_request,
        "rejection_reason": rma.rejection_reason,
        "currency": rma.tenant.currency,
        "requested_value": money(rma.requested_value),
        "resolution": return_resolution_data(rma),
        "created_at": iso(rma.created_at),
        "submitted_at": iso(rma.submitted_at),
        "approved_at": iso(rma.approved_at),
        "received_at": iso(rma.received_at),
        "inspected_at": iso(rma.inspected_at),
        "resolved_at": iso(rma.resolved_at),
        "closed_at": iso(rma.closed_at),
        "ship_by": iso(rma.ship_by),
        "expired_at": iso(rma.expired_at),
        "lines": [return_line_data(line, position, rma) for position, line in enumerate(lines, 1)],
    }


def build_return_event(event: ReturnEvent) -> dict:
    return {"return": return_data(event.return_request), "event": timeline_event_data(event)}


def document_data(document: ResolutionDocument) -> dict:
    """An ERP document confirmed for a return, with the field names of the API's
    `documents` (and of the confirmation the ERP sends)."""
    return {
        "type": document.kind,
        "number": document.number,
        "date": iso(document.issued_on),
        "amount": money(document.amount),
        "confirmed_at": iso(document.confirmed_at),
    }


# Timeline action of a confirmation (returns/services/resolution.py) → the document's kind.
CONFIRMED_DOCUMENTS = {
    "credit_note_confirmed": DocumentKind.CREDIT_NOTE,
    "replacement_order_confirmed": DocumentKind.REPLACEMENT_ORDER,
}


def build_document_confirmed(event: ReturnEvent) -> dict:
    """`return.credit_note_confirmed` / `return.replacement_order_confirmed`: the return, the
    document the ERP confirmed (one of each kind per return, never changed once confirmed),
    and the timeline event."""
    rma = event.return_request
    document = ResolutionDocument.objects.for_tenant(rma.tenant).get(
        return_request_id=rma.pk, kind=CONFIRMED_DOCUMENTS[event.action]
    )
    return {
        "return": return_data(rma),
        "document": document_data(document),
        "event": timeline_event_data(event),
    }


def build_label_ready(rma: ReturnRequest) -> dict:
    return {
        "return": return_data(rma),
        "label": {
            "rendered_at": iso(rma.label_rendered_at),
            "download_url": api_url("api:return-label", rma.pk),
        },
    }


RETURN_STATUSES = list(ReturnStatus.values)
RESOLUTIONS = list(Resolution.values)  # of a line (and what a customer asks for)
# Of a whole return: a line's, or "mixed" when its lines were resolved differently.
RETURN_RESOLUTIONS = list(ReturnResolution.values)


def register_definitions() -> None:
    """The objects of return payloads in the catalogue's `$defs` (the customer, order and
    product are customers' (customers/webhooks.py), the actor the platform's
    (rma_portal/notifications/objects.py))."""
    catalogue.register_definition(
        "ReturnLineResolution",
        obj(
            {
                "type": enum(RESOLUTIONS),
                "accepted_quantity": INTEGER,
                "amount": described(
                    nullable(MONEY), "Refunded or credited for this line (0.00 for goods)."
                ),
                "replacement_sku": described(
                    nullable(STRING), "A replacement: the SKU sent (else null)."
                ),
                "replacement_quantity": described(
                    nullable(INTEGER), "A replacement: the units sent (else null)."
                ),
            },
            "What the resolution decided for this line.",
        ),
    )
    catalogue.register_definition(
        "ReturnLine",
        obj(
            {
                "id": INTEGER,
                "position": described(INTEGER, "1, 2, … in the return."),
                "order": ref("Order"),
                "order_line": ref("OrderLine"),
                "product": ref("Product"),
                "quantity": INTEGER,
                "unit_price": MONEY,
                "value": described(MONEY, "quantity × unit_price"),
                "reason": enum(ReturnReason.values),
                "reason_text": STRING,
                "customer_comment": STRING,
                "serial_numbers": array(STRING),
                "inspection": nullable(
                    obj(
                        {
                            "condition": enum(ItemCondition.values),
                            "disposition": nullable(enum(Disposition.values)),
                            "accepted_quantity": INTEGER,
                            "note": described(STRING, "The inspection note for the customer."),
                        },
                        "What inspection found; null until inspected.",
                    )
                ),
                "resolution": nullable(ref("ReturnLineResolution")),
            }
        ),
    )
    catalogue.register_definition(
        "ReturnResolution",
        obj(
            {
                "type": described(
                    enum(RETURN_RESOLUTIONS),
                    "The resolution of every line, or `mixed` when the lines were resolved "
                    "differently: each line's `resolution.type` says how.",
                ),
                "accepted_value": nullable(MONEY),
                "restocking_fee": nullable(MONEY),
                "refund_total": described(
                    nullable(MONEY),
                    "Refunded or credited in all (0.00 for a replacement or repair).",
                ),
                "credit_note_number": described(
                    nullable(STRING), "The credit note paying the money back, once known."
                ),
                "replacement_order_ref": described(
                    nullable(STRING), "The replacement / repair order, once known."
                ),
                "note": STRING,
                "resolved_at": nullable(DATETIME),
            },
            "How the return was settled.",
        ),
    )
    catalogue.register_definition(
        "Return",
        obj(
            {
                "id": INTEGER,
                "number": described(
                    nullable(STRING),
                    "The RMA number, given on submission; null for a draft never submitted.",
                ),
                "status": enum(RETURN_STATUSES),
                "url": described(STRING, "The return in the REST API."),
                "customer": ref("Customer"),
                "requested_resolution": nullable(enum(RESOLUTIONS)),
                "return_method": nullable(enum(ReturnMethod.values)),
                "pickup_date": nullable(DATE),
                "pickup_address": STRING,
                "customer_note": STRING,
                "shipping_paid_by": nullable(enum(ShippingPaidBy.values)),
                "auto_approved": BOOLEAN,
                "is_warranty_claim": described(
                    BOOLEAN,
                    "A defect claimed past the return window while the warranty runs.",
                ),
                "info_request": described(STRING, "The open question to the customer, if any."),
                "rejection_reason": STRING,
                "currency": described(STRING, "ISO 4217 code of every amount."),
                "requested_value": MONEY,
                "resolution": nullable(ref("ReturnResolution")),
                "created_at": DATETIME,
                "submitted_at": nullable(DATETIME),
                "approved_at": nullable(DATETIME),
                "received_at": nullable(DATETIME),
                "inspected_at": nullable(DATETIME),
                "resolved_at": nullable(DATETIME),
                "closed_at": nullable(DATETIME),
                "ship_by": described(
                    nullable(DATETIME),
                    "An approved return expires when its goods have not arrived by then "
                    "(null: never, or not approved).",
                ),
                "expired_at": nullable(DATETIME),
                "lines": array(ref("ReturnLine")),
            },
            "A return request (RMA) with its lines.",
        ),
    )
    catalogue.register_definition("ReturnTimelineEvent", timeline_event_schema(RETURN_STATUSES))
    catalogue.register_definition(
        "ResolutionDocument",
        obj(
            {
                "type": described(
                    enum(DocumentKind.values),
                    "`credit_note`: the correcting invoice paying back all the money of the "
                    "return (its refund and credit-note lines); `replacement_order`: the order "
                    "sending its replacement and repair lines.",
                ),
                "number": described(STRING, "The document's number in the ERP."),
                "date": described(nullable(DATE), "The date of issue (always for a credit note)."),
                "amount": described(
                    nullable(MONEY),
                    "A credit note's amount (the return's refund total); null for an order.",
                ),
                "confirmed_at": DATETIME,
            },
            "A document of the ERP that carries out the resolution, as confirmed.",
        ),
    )


# --- examples ----------------------------------------------------------------------------------

_TIMES = {
    "submitted": ("submitted_at", "2026-11-10T09:12:00+01:00"),
    "approved": ("approved_at", "2026-11-10T11:40:00+01:00"),
    "received": ("received_at", "2026-11-13T08:05:00+01:00"),
    "inspected": ("inspected_at", "2026-11-13T14:30:00+01:00"),
    "resolved": ("resolved_at", "2026-11-16T10:15:00+01:00"),
    "closed": ("closed_at", "2026-11-30T03:00:00+01:00"),
    "expired": ("expired_at", "2026-12-10T11:40:00+01:00"),
}
_REACHED = {
    ReturnStatus.DRAFT: [],
    ReturnStatus.SUBMITTED: ["submitted"],
    ReturnStatus.NEEDS_INFO: ["submitted"],
    ReturnStatus.REJECTED: ["submitted"],
    ReturnStatus.CANCELLED: ["submitted"],
    ReturnStatus.APPROVED: ["submitted", "approved"],
    ReturnStatus.RECEIVED: ["submitted", "approved", "received"],
    ReturnStatus.INSPECTED: ["submitted", "approved", "received", "inspected"],
    ReturnStatus.RESOLVED: ["submitted", "approved", "received", "inspected", "resolved"],
    ReturnStatus.CLOSED: ["submitted", "approved", "received", "inspected", "resolved", "closed"],
    ReturnStatus.EXPIRED: ["submitted", "approved", "expired"],
}


def example_return(status: str, **changes) -> dict:
    """An example return in `status`, consistent with it (times, inspection, resolution)."""
    reached = _REACHED[status]
    inspected = "inspected" in reached
    resolved = "resolved" in reached

    def line(position, pk, sku, name, quantity, accepted, price, amount, condition, note):
        return {
            "id": pk,
            "position": position,
            "order": {
                "id": 41,
                "number": "ZAM/2026/000041",
                "invoice_number": "FV/2026/11/0041",
                "order_date": "2026-10-28",
                "delivery_date": "2026-10-31",
            },
            "order_line": {"id": 88 + position, "line_number": position, "lot_number": ""},
            "product": {"id": 11 + position, "sku": sku, "name": name},
            "quantity": quantity,
            "unit_price": price,
            "value": f"{quantity * float(price):.2f}",
            "reason": "defective" if position == 1 else "wrong_item",
            "reason_text": "",
            "customer_comment": "Does not start." if position == 1 else "",
            "serial_numbers": ["DR-7731-0042"] if position == 1 else [],
            "inspection": {
                "condition": condition,
                "disposition": "refurbish" if position == 1 else "restock",
                "accepted_quantity": accepted,
                "note": note,
            }
            if inspected
            else None,
            "resolution": {
                "type": "refund",
                "accepted_quantity": accepted,
                "amount": amount,
                "replacement_sku": None,
                "replacement_quantity": None,
            }
            if resolved
            else None,
        }

    data = {
        "id": 15,
        "number": "RMA-2026-000015",
        "status": status,
        "url": "https://rma.example.com/api/v1/returns/15/",
        "customer": {
            "account": {
                "id": 7,
                "number": "C00007",
                "name": "Buyer Sp. z o.o.",
                "vat_number": "5260250274",
            },
            "user": {"id": 23, "email": "anna@buyer.example", "name": "Anna Nowak"},
        },
        "requested_resolution": "refund",
        "return_method": "courier_pickup",
        "pickup_date": "2026-11-12",
        "pickup_address": "ul. Magazynowa 5, 00-950 Warszawa",
        "customer_note": "Please pick up after 10:00.",
        "shipping_paid_by": "merchant",
        "auto_approved": False,
        "is_warranty_claim": False,
        "info_request": "",
        "rejection_reason": "",
        "currency": "PLN",
        "requested_value": "649.00",
        "resolution": {
            "type": "refund",
            "accepted_value": "599.00",
            "restocking_fee": "0.00",
            "refund_total": "599.00",
            "credit_note_number": None,
            "replacement_order_ref": None,
            "note": "Refund to the original payment method.",
            "resolved_at": _TIMES["resolved"][1],
        }
        if resolved
        else None,
        "created_at": "2026-11-10T09:05:00+01:00",
        **{field: (time if step in reached else None) for step, (field, time) in _TIMES.items()},
        # 30 days after approval (the default policy).
        "ship_by": "2026-12-10T11:40:00+01:00" if "approved" in reached else None,
        "lines": [
            line(
                1,
                301,
                "SKU-00012",
                "Cordless drill",
                1,
                1,
                "599.00",
                "599.00",
                "used",
                "Motor fault confirmed.",
            ),
            line(2, 302, "SKU-00031", "Drill bit set", 1, 0, "50.00", "0.00", "opened", ""),
        ],
    }
    data.update(changes)
    return data


def example_mixed_return(*, order_confirmed: bool) -> dict:
    """An example resolved return whose lines were resolved differently: the drill replaced,
    the bit set credited (less the restocking fee); the credit note confirmed, and the
    replacement order too when `order_confirmed`."""
    data = example_return(ReturnStatus.RESOLVED)
    drill, bits = data["lines"]
    drill["resolution"] = {
        "type": "replacement",
        "accepted_quantity": 1,
        "amount": "0.00",
        "replacement_sku": "SKU-00012",
        "replacement_quantity": 1,
    }
    bits["inspection"] = {**bits["inspection"], "accepted_quantity": 1}
    bits["resolution"] = {
        "type": "credit_note",
        "accepted_quantity": 1,
        "amount": "45.00",
        "replacement_sku": None,
        "replacement_quantity": None,
    }
    data["requested_resolution"] = "replacement"
    data["resolution"] = {
        **data["resolution"],
        "type": "mixed",
        "accepted_value": "649.00",
        "restocking_fee": "5.00",
        "refund_total": "45.00",
        "credit_note_number": "KOR/2026/11/0007",
        "replacement_order_ref": "ZAM/2026/000093" if order_confirmed else None,
        "note": "The drill is replaced; the bit set is credited.",
    }
    return data


def example_event(action: str, from_status: str | None, to_status: str, **changes) -> dict:
    actor = (
        {"type": "customer", "id": 23, "name": "Anna Nowak"}
        if action in ("submitted", "info_provided", "cancelled")
        else {"type": "staff", "id": 4, "name": "Piotr Kowalski"}
    )
    return {
        "id": 512,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "occurred_at": "2026-11-16T10:15:00+01:00",
        "actor": None if action == "auto_approved" else actor,
        "note": "",
        **changes,
    }


# --- the events --------------------------------------------------------------------------------

RETURN_EVENT_DATA = obj(
    {"return": ref("Return"), "event": ref("ReturnTimelineEvent")},
    "The return as it is after the event, and the event.",
)
# `return.resolved` and the confirmations of the ERP's documents promise what the other
# events may not: the resolution of the return and of each line (the base schema allows null
# before resolution).
RESOLVED_RETURN = {
    "properties": {
        "return": {
            "properties": {
                "resolution": ref("ReturnResolution"),
                "lines": {"items": {"properties": {"resolution": ref("ReturnLineResolution")}}},
            }
        }
    }
}
RESOLVED_DATA = {"allOf": [RETURN_EVENT_DATA, RESOLVED_RETURN]}
DOCUMENT_CONFIRMED_DATA = {
    "allOf": [
        obj(
            {
                "return": ref("Return"),
                "document": ref("ResolutionDocument"),
                "event": ref("ReturnTimelineEvent"),
            },
            "The return as it is after the confirmation, the document confirmed, and the "
            "timeline event that records it.",
        ),
        RESOLVED_RETURN,
    ],
}

# (action, label, from status, to status, description, example changes)
RETURN_EVENTS = [
    (
        "submitted",
        _("Return submitted"),
        ReturnStatus.DRAFT,
        ReturnStatus.SUBMITTED,
        "The customer submitted a return; it waits for a decision (or is approved at once "
        "by the return policy: then `return.auto_approved` follows).",
        {},
    ),
    (
        "auto_approved",
        _("Return approved automatically"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.APPROVED,
        "The return policy approved the return on submission; the label follows "
        "(`return.label_ready`).",
        {"auto_approved": True},
    ),
    (
        "approved",
        _("Return approved"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.APPROVED,
        "Staff approved the return: the goods may be sent back; the label follows "
        "(`return.label_ready`).",
        {},
    ),
    (
        "info_requested",
        _("Return: question to the customer"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.NEEDS_INFO,
        "Staff asked the customer a question (`return.info_request`, also the event's note).",
        {"info_request": "Please send a photo of the serial number plate."},
    ),
    (
        "info_provided",
        _("Return: customer answered"),
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.SUBMITTED,
        "The customer answered the question; the return waits for a decision again.",
        {},
    ),
    (
        "rejected",
        _("Return rejected"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.REJECTED,
        "Staff rejected the return, with a reason (`return.rejection_reason`).",
        {"rejection_reason": "The return window ended on 2026-11-05."},
    ),
    (
        "cancelled",
        _("Return cancelled"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.CANCELLED,
        "The return was withdrawn before the goods arrived.",
        {},
    ),
    (
        "received",
        _("Return received"),
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        "The goods arrived at the warehouse.",
        {},
    ),
    (
        "inspected",
        _("Return inspected"),
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        "Every line has its condition, disposition and accepted quantity (`lines[].inspection`).",
        {},
    ),
    (
        "resolved",
        _("Return resolved"),
        ReturnStatus.INSPECTED,
        ReturnStatus.RESOLVED,
        "The return is settled: `return.resolution` (type, accepted value, restocking fee, "
        "refund total, credit note number or replacement order) and, per line, "
        "`lines[].resolution` (type, accepted quantity, amount, replacement SKU and "
        "quantity) are always present. The return's type is `mixed` when its lines were "
        "resolved differently.",
        {},
    ),
    (
        "closed",
        _("Return closed"),
        ReturnStatus.RESOLVED,
        ReturnStatus.CLOSED,
        "The return is finished (by staff, or automatically some days after resolution).",
        {},
    ),
    (
        "reopened",
        _("Return taken back to be changed"),
        ReturnStatus.SUBMITTED,
        ReturnStatus.DRAFT,
        "The customer took a submitted return (or one with a question open) back to change "
        "its lines, files or details before staff decided; `return.submitted` follows when "
        "they submit it again. The event's note lists the lines as they were.",
        {},
    ),
    (
        "expired",
        _("Return expired"),
        ReturnStatus.APPROVED,
        ReturnStatus.EXPIRED,
        "The goods of an approved return did not arrive by `return.ship_by` (the return "
        "policy's days after approval): the return is finished and its quantities can be "
        "returned again. The customer was told by e-mail.",
        {},
    ),
    (
        "ship_reminder",
        _("Return: reminder to send the goods"),
        None,
        None,
        "The goods of an approved return have not arrived some days after approval (the "
        "return policy says how many): the customer was reminded by e-mail to send them "
        "before `return.ship_by`. Sent once per return.",
        {},
    ),
    (
        "comment",
        _("Return: public comment"),
        None,
        None,
        "A message on the return's timeline that the customer reads (the event's note), "
        "written by the customer or by staff. Internal notes are never sent.",
        {},
    ),
]

# (action, label, description, example document, example note, the order already confirmed)
DOCUMENT_EVENTS = [
    (
        "credit_note_confirmed",
        _("Return: credit note confirmed"),
        "The ERP confirmed the credit note paying back the money of a resolved (or closed) "
        "return. It came through `POST /api/v1/returns/{id}/resolution/confirm/`, or staff "
        "typed it in; `document` carries its number, date and amount (the return's refund "
        "total), and `return.resolution.credit_note_number` is its number. Sent once per "
        "return: confirming the same document again sends nothing.",
        {
            "type": "credit_note",
            "number": "KOR/2026/11/0007",
            "date": "2026-11-17",
            "amount": "45.00",
            "confirmed_at": "2026-11-17T08:30:00+01:00",
        },
        "Credit note KOR/2026/11/0007 of 2026-11-17: 45.00 PLN",
        False,
    ),
    (
        "replacement_order_confirmed",
        _("Return: replacement order confirmed"),
        "The ERP confirmed the order sending the replacement and repair lines of a resolved "
        "(or closed) return. It came through `POST /api/v1/returns/{id}/resolution/confirm/`, "
        "or staff typed it in; `document` carries its number (`amount` is null), and "
        "`return.resolution.replacement_order_ref` is its number. Sent once per return: "
        "confirming the same document again sends nothing.",
        {
            "type": "replacement_order",
            "number": "ZAM/2026/000093",
            "date": "2026-11-17",
            "amount": None,
            "confirmed_at": "2026-11-17T08:31:00+01:00",
        },
        "Replacement / repair order ZAM/2026/000093",
        True,
    ),
]


def register_webhook_events() -> None:
    """ReturnsConfig.ready(): the events of returns, in the catalogue."""
    register_definitions()
    for action, label, from_status, to_status, description, changes in RETURN_EVENTS:
        status = to_status or ReturnStatus.APPROVED
        note = {
            "info_requested": "Please send a photo of the serial number plate.",
            "rejected": "The return window ended on 2026-11-05.",
            "comment": "The courier comes on Thursday.",
        }.get(action, "")
        catalogue.register_event(
            EventType(
                name=f"return.{action}",
                version=1,
                label=label,
                description=description,
                data_schema=RESOLVED_DATA if action == "resolved" else RETURN_EVENT_DATA,
                example={
                    "return": example_return(status, **changes),
                    "event": example_event(action, from_status or status, status, note=note),
                },
                build=build_return_event,
                group="returns",
            )
        )
    for action, label, description, document, note, order_confirmed in DOCUMENT_EVENTS:
        catalogue.register_event(
            EventType(
                name=f"return.{action}",
                version=1,
                label=label,
                description=description,
                data_schema=DOCUMENT_CONFIRMED_DATA,
                example={
                    "return": example_mixed_return(order_confirmed=order_confirmed),
                    "document": document,
                    "event": example_event(
                        action,
                        ReturnStatus.RESOLVED,
                        ReturnStatus.RESOLVED,
                        actor={"type": "staff", "id": 2, "name": "Integration"},
                        occurred_at=document["confirmed_at"],
                        note=note,
                    ),
                },
                build=build_document_confirmed,
                group="returns",
            )
        )
    catalogue.register_event(
        EventType(
            name="return.label_ready",
            version=1,
            label=_("Return label ready"),
            description="The return label and packing slip (PDF) of an approved return can be "
            "downloaded (`label.download_url`, with an API token). Sent once per return.",
            data_schema=obj(
                {
                    "return": ref("Return"),
                    "label": obj(
                        {
                            "rendered_at": DATETIME,
                            "download_url": described(STRING, "GET it with an API token."),
                        }
                    ),
                }
            ),
            example={
                "return": example_return(ReturnStatus.APPROVED),
                "label": {
                    "rendered_at": "2026-11-10T11:40:09+01:00",
                    "download_url": "https://rma.example.com/api/v1/returns/15/label/",
                },
            },
            build=build_label_ready,
            group="returns",
        )
    )
