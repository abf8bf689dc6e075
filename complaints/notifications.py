"""What a complaint's timeline event causes outside the database: a webhook for every public
event and the e-mails to customers and staff. Called inside the service's transaction (the
outbox), so a rolled-back change sends nothing. Internal notes never reach either."""

from __future__ import annotations

from rma_portal.notifications.services import webhook_publish

from .emails import send_complaint_emails
from .models import ComplaintEvent


def webhook_payload(event: ComplaintEvent) -> dict:
    complaint = event.complaint
    return {
        "event": f"complaint.{event.action}",
        "event_id": event.pk,
        "occurred_at": event.created_at.isoformat(),
        "complaint": {
            "id": complaint.pk,
            "code": complaint.code,
            "status": complaint.status,
            "category": complaint.category,
            "priority": complaint.priority,
            "customer_account": {
                "id": complaint.customer_account_id,
                "number": complaint.customer_account.number,
            },
        },
        "from_status": event.from_status,
        "to_status": event.to_status,
    }


def on_complaint_event(event: ComplaintEvent) -> None:
    complaint = event.complaint
    if event.is_public:
        webhook_publish(
            tenant=complaint.tenant,
            event=f"complaint.{event.action}",
            payload=webhook_payload(event),
            key=f"complaint-event:{event.pk}",
        )
    send_complaint_emails(event)
