"""A case page's conversation (docs/backoffice.md#case-page): the customer's messages, the
staff's public replies and internal notes, the status events and the e-mails sent about the
case, as one list in the order they happened.

The case apps turn their own rows into `Entry`s (returns: events and comments; complaints:
messages and events); the e-mails come from the outbox, which names the case of each
(Notification.case). The template renders every entry the same way, whatever its app.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from rma_portal.notifications.models import DeliveryStatus, Notification
from rma_portal.notifications.rendering import render_subject
from rma_portal.notifications.services import case_ref

# Entry kinds, each drawn its own way (static/css/backoffice.css .conversation).
CUSTOMER = "customer"  # the customer wrote it
REPLY = "reply"  # staff (or an integration) wrote it to the customer
INTERNAL = "internal"  # staff only
EVENT = "event"  # a status change or another step, one line
EMAIL = "email"  # an e-mail the outbox sent (or tried to) about the case

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True)
class File:
    name: str
    size: int
    url: str
    content_type: str

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES

    @property
    def thumbnail_url(self) -> str:
        return f"{self.url}?size=thumb" if self.is_image else ""


@dataclass(frozen=True)
class Entry:
    kind: str
    at: datetime.datetime
    author: str
    title: str  # what happened: "Public reply", "Approved", "E-mail to …"
    body: str = ""
    status: str = ""  # "New → In progress", for events that changed it
    is_public: bool = True
    files: tuple[File, ...] = field(default_factory=tuple)
    anchor: str = ""  # the element id (message-12), for links to one entry
    state: str = ""  # an e-mail's delivery status, as read
    failed: bool = False


def message_kind(*, from_customer: bool, is_public: bool) -> str:
    if not is_public:
        return INTERNAL
    return CUSTOMER if from_customer else REPLY


def message_title(kind: str) -> str:
    return {
        CUSTOMER: _("Customer"),
        REPLY: _("Public reply"),
        INTERNAL: _("Internal note — staff only"),
    }[kind]


def email_entries(case) -> list[Entry]:
    """The e-mails queued about the case (one query), each with its subject in the
    recipient's language and whether it went out."""
    rows = (
        Notification.objects.filter(tenant_id=case.tenant_id, case=case_ref(case))
        .select_related("recipient", "tenant")
        .order_by("created_at", "pk")
    )
    labels = dict(DeliveryStatus.choices)
    entries = []
    for row in rows:
        recipient = row.recipient
        name = recipient.get_full_name() if recipient is not None else ""
        who = f"{name} <{row.email}>" if name else row.email
        subject = render_subject(
            event=row.event,
            language=row.language,
            context={**row.context, "tenant": row.tenant, "recipient": recipient},
        )
        to_customer = recipient is not None and recipient.is_customer
        entries.append(
            Entry(
                kind=EMAIL,
                at=row.sent_at or row.created_at,
                author=_("E-mail"),
                title=(
                    _("E-mail to the customer, %(who)s") if to_customer else _("E-mail to %(who)s")
                )
                % {"who": who},
                body=subject,
                is_public=to_customer,
                anchor=f"email-{row.pk}",
                state=str(labels.get(row.status, row.status)),
                failed=row.status == DeliveryStatus.FAILED,
            )
        )
    return entries


def conversation(*parts: list[Entry]) -> list[Entry]:
    """The entries of every part in the order they happened (ties: in the parts' order)."""
    merged = [
        (entry.at, index, position, entry)
        for index, part in enumerate(parts)
        for position, entry in enumerate(part)
    ]
    merged.sort(key=lambda item: item[:3])
    return [entry for *_key, entry in merged]
