"""The parts of notifications that every case app shares and that belong to no case app: in
webhook payloads, an object's API address, who acted, and the timeline event that caused the
call; in e-mails, the name customers know a staff member by.

Returns and complaints build their payloads and e-mails with these (returns/notifications.py,
complaints/notifications.py) and never import each other; the customer, order and product
objects are the customers app's (customers/webhooks.py). The `Actor` definition is registered
in the catalogue from NotificationsConfig.ready().
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from . import catalogue
from .catalogue import DATETIME, INTEGER, STRING, described, enum, iso, nullable, obj, ref


def api_url(name: str, pk: int) -> str:
    """The absolute API URL of an object (SITE_URL + path), for a receiver that wants more."""
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[pk])


def actor_data(user) -> dict | None:
    """Who did it, as the case's timeline shows it to the customer; None: the system."""
    if user is None:
        return None
    return {
        "type": "customer" if user.is_customer else "staff",
        "id": user.pk,
        "name": user.get_full_name(),
    }


def staff_first_name(user) -> str:
    """Customers know our staff as "Support · <first name>", as in the portal's timeline."""
    if user is None or not user.full_name:
        return ""
    return user.full_name.split(" ")[0]


def timeline_event_data(event) -> dict:
    """A timeline event that is published: public ones carry their note (what the customer
    reads: a question, a reason, a comment); any other carries none."""
    return {
        "id": event.pk,
        "action": event.action,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,
        "occurred_at": iso(event.created_at),
        "actor": actor_data(event.actor),
        "note": event.note if event.is_public else "",
    }


def timeline_event_schema(statuses) -> dict:
    return obj(
        {
            "id": INTEGER,
            "action": STRING,
            "from_status": nullable(enum(statuses)),
            "to_status": nullable(enum(statuses)),
            "occurred_at": DATETIME,
            "actor": ref("Actor"),
            "note": described(STRING, "What the customer reads with the event; may be empty."),
        },
        "The timeline event that caused the call.",
    )


def register_definitions() -> None:
    """The shared `Actor` object in the catalogue's `$defs`."""
    catalogue.register_definition(
        "Actor",
        nullable(
            obj(
                {
                    "type": enum(["customer", "staff"]),
                    "id": INTEGER,
                    "name": STRING,
                },
                "Who acted: a customer user or a staff member; null when the system did "
                "(policy, schedule).",
            )
        ),
    )
