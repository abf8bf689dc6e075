"""What a return's timeline event causes outside the database: a webhook to the tenant's
integrations for every event, status e-mails to the customer, and the return label once the
return is approved. Called inside the service's transaction (the outbox), so a rolled-back
change sends nothing."""

from __future__ import annotations

from rma_portal.notifications.services import webhook_publish

from .emails import send_status_emails
from .labels import request_label
from .models import ReturnEvent


def webhook_payload(event: ReturnEvent) -> dict:
    rma = event.return_request
    return {
        "event": f"return.{event.action}",
        "event_id": event.pk,
        "occurred_at": event.created_at.isoformat(),
        "return": {
            "id": rma.pk,
            "number": rma.number,
            "status": rma.status,
            "customer_account": {
                "id": rma.customer_account_id,
                "number": rma.customer_account.number,
            },
            "requested_resolution": rma.requested_resolution,
            "requested_value": str(rma.requested_value),
            "refund_total": None if rma.refund_total is None else str(rma.refund_total),
        },
        "from_status": event.from_status,
        "to_status": event.to_status,
    }


def on_return_event(event: ReturnEvent) -> None:
    rma = event.return_request
    if event.is_public:  # internal events (assignments, staff notes) stay inside
        webhook_publish(
            tenant=rma.tenant,
            event=f"return.{event.action}",
            payload=webhook_payload(event),
            key=f"return-event:{event.pk}",
        )
    send_status_emails(event)
    if event.action in ("approved", "auto_approved"):
        request_label(rma)
