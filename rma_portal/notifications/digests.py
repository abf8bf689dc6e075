"""The daily digest: one e-mail a day to each user with the e-mails of the kinds they chose to
get in a digest (preferences.py), in their language, each with its link.

notification_enqueue() keeps such an e-mail as a DigestItem. Every hour the beat task
`notifications.send_digests_task` runs digest_send_due() for each active tenant: from
settings.NOTIFICATION_DIGEST_HOUR in the tenant's time zone (07:00 by default), the items
created before that hour of the tenant's day go into that day's digest, one per user:

- one transaction per user locks the user's waiting items (SKIP LOCKED), queues the digest as
  an ordinary outbox row (event `notifications.digest`, key "digest:<day>:<user>"), and marks
  each item with it. An item is in one digest only: a second run (or two at once) finds it
  marked or locked; a run that stops half-way rolled back and leaves the items waiting. The
  outbox delivers the digest as any e-mail: leases, retries, the sweep.
- a day's digest is made once: items that arrive after it was made (a transaction that
  committed late) wait for the next day's.
- items of a kind the user switched off since, or of a user who can no longer receive
  e-mails, are dropped; a user with nothing left gets no digest.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation

from rma_portal.sla import wall_clock

from . import preferences
from .models import DigestItem, Notification
from .rendering import render_subject
from .services import _enqueue_on_commit

DIGEST_EVENT = "notifications.digest"


def digest_moment(tenant, now: datetime.datetime) -> datetime.datetime:
    """The latest digest hour of the tenant's calendar at or before `now` (aware)."""
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    local = timezone.localtime(now, zone)
    day = local.date()
    moment = datetime.datetime.combine(
        day, datetime.time(settings.NOTIFICATION_DIGEST_HOUR), tzinfo=zone
    )
    if moment > local:
        moment = datetime.datetime.combine(
            day - datetime.timedelta(days=1),
            datetime.time(settings.NOTIFICATION_DIGEST_HOUR),
            tzinfo=zone,
        )
    return moment


def digest_send_due(*, tenant, now: datetime.datetime | None = None) -> int:
    """The hourly run for one tenant: queue the digest of the latest digest hour to every user
    with items waiting from before it; returns how many digests were queued."""
    moment = digest_moment(tenant, now or timezone.now())
    recipients = (
        DigestItem.objects.for_tenant(tenant)
        .filter(digest__isnull=True, created_at__lt=moment)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(_digest_one(tenant, recipient_id, moment) for recipient_id in list(recipients))


def _digest_one(tenant, recipient_id: int, moment: datetime.datetime) -> bool:
    day = moment.date()
    with transaction.atomic():
        items = list(
            DigestItem.objects.for_tenant(tenant)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(recipient_id=recipient_id, digest__isnull=True, created_at__lt=moment)
            .select_related("recipient")
            .order_by("created_at", "pk")
        )
        if not items:  # taken by a run in progress, or already in a digest
            return False
        recipient = items[0].recipient
        key = f"digest:{day.isoformat()}:{recipient.pk}"
        if Notification.objects.for_tenant(tenant).filter(idempotency_key=key).exists():
            return False  # the day's digest went out: these wait for the next one
        can_receive = recipient.is_active and bool(recipient.email)
        wanted = [
            item
            for item in items
            if can_receive
            and preferences.choice_for(recipient, item.kind) != preferences.Delivery.NEVER
        ]
        dropped = [item.pk for item in items if item not in wanted]
        if dropped:
            DigestItem.objects.for_tenant(tenant).filter(pk__in=dropped).delete()
        if not wanted:
            return False
        row = Notification.objects.create(
            tenant=tenant,
            idempotency_key=key,
            event=DIGEST_EVENT,
            recipient=recipient,
            email=recipient.email,
            language=recipient.preferred_language,
            context=digest_context(tenant, recipient, wanted, day),
            is_essential=True,  # its items were checked against the choices just now
        )
        DigestItem.objects.for_tenant(tenant).filter(pk__in=[item.pk for item in wanted]).update(
            digest=row
        )
        _enqueue_on_commit("deliver_notification_task", row.pk, tenant.pk)
    return True


def digest_context(tenant, recipient, items: list[DigestItem], day: datetime.date) -> dict:
    """What the digest shows, JSON only (the outbox stores it): the items grouped by kind in
    the settings page's order, each with its subject in the recipient's language, its time on
    the tenant's clock and its link."""
    language = recipient.preferred_language
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(
            {
                "subject": render_subject(
                    event=item.event,
                    language=language,
                    context={**item.context, "tenant": tenant, "recipient": recipient},
                ),
                "url": item.context.get("url", ""),
                "at": wall_clock(item.created_at, tenant.timezone),
            }
        )
    # Customer e-mails carry the link to the settings page (templates/emails/base.*).
    settings_url = next(
        (item.context["settings_url"] for item in items if item.context.get("settings_url")), ""
    )
    with translation.override(language):
        shown = [
            {"kind": kind.key, "label": str(kind.label), "items": groups[kind.key]}
            for kind in preferences.KINDS
            if kind.key in groups
        ]
        return {
            "day": day.isoformat(),
            "day_label": formats.date_format(day, "DATE_FORMAT"),
            "count": sum(len(group["items"]) for group in shown),
            "time_zone": tenant.timezone,
            "groups": shown,
            "settings_url": settings_url,
        }
