"""Writing to the outbox (inside the caller's transaction) and delivering from it (workers).

Delivery leases the row in a short transaction (SELECT … FOR UPDATE SKIP LOCKED, then
`sending` until a time), sends outside any transaction, and marks it sent in a second short
one: two workers (or a retry and a sweep) never send the same row at once, and a worker that
dies mid-send leaves a row the sweep hands out again once its lease has run out.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import mimetypes
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.encoding import punycode
from django.utils.translation import gettext as _

from rma_portal.errors import ApplicationError
from rma_portal.security.audit import record
from rma_portal.security.models import ActorKind, AuditAction
from rma_portal.tenancy.models import Tenant

from . import preferences
from .addressing import addressing_for
from .models import DeliveryStatus, DigestItem, Notification, WebhookDelivery, WebhookEndpoint
from .rendering import render_email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)  # after attempt 1, 2, …; the last one repeats


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def _enqueue_on_commit(task_name: str, row_id: int, tenant_id: int) -> None:
    """After the caller's commit, hand the row to a worker (or run it now in embedded mode).

    Bounded and never raising (rma_portal/notifications/enqueue.py): if the broker does not
    take it, the row stays pending and the outbox sweep sends it later.
    """
    from . import tasks  # tasks imports this module
    from .enqueue import enqueue_after_commit

    enqueue_after_commit(
        getattr(tasks, task_name),
        args=[row_id, tenant_id],
        what="outbox enqueue failed; the sweeper will retry",
        extra={"row_id": row_id, "tenant_id": tenant_id},
    )


# --- writing ----------------------------------------------------------------------------


def case_ref(case) -> str:
    """How a notification names the case it is about: "<app>.<model>:<pk>"."""
    return f"{case._meta.label_lower}:{case.pk}"


def notification_enqueue(
    *,
    tenant: Tenant,
    event: str,
    recipient,
    context: dict,
    key: str,
    kind: str = "",
    attachment: str = "",
    attachment_name: str = "",
    case=None,
) -> Notification | DigestItem | None:
    """Queue one e-mail in the caller's transaction; the same key never queues it twice.

    `context` must be JSON (ids, numbers, texts): templates receive it with `tenant` and
    `recipient` added at delivery time. `case`, the return or complaint the e-mail is about,
    puts it in that case's conversation (case_ref()).

    `kind` (preferences.KINDS) is the kind of e-mail the recipient chooses to receive
    immediately (an outbox row, returned), in the daily digest (a DigestItem, returned) or
    never (nothing queued: None). Without a kind the e-mail is always sent immediately.
    """
    if recipient is None or not recipient.email or not recipient.is_active:
        return None
    if kind:
        preferences.kind(kind)  # KeyError for a kind that does not exist: a bug of the caller
    choice = preferences.choice_for(recipient, kind)
    if choice == preferences.Delivery.NEVER:
        return None
    if choice == preferences.Delivery.DIGEST:
        item, _created = DigestItem.objects.get_or_create(
            tenant=tenant,
            idempotency_key=f"{key}:{recipient.pk}",
            defaults={
                "event": event,
                "kind": kind,
                "recipient": recipient,
                "context": context,
                "case": case_ref(case) if case is not None else "",
            },
        )
        return item
    row, created = Notification.objects.get_or_create(
        tenant=tenant,
        idempotency_key=f"{key}:{recipient.pk}",
        defaults={
            "event": event,
            "recipient": recipient,
            "email": recipient.email,
            "language": recipient.preferred_language,
            "context": context,
            "is_essential": not kind,
            "kind": kind,
            "attachment": attachment,
            "attachment_name": attachment_name,
            "case": case_ref(case) if case is not None else "",
        },
    )
    if created:
        _enqueue_on_commit("deliver_notification_task", row.pk, tenant.pk)
    return row


def notification_withdraw(*, tenant: Tenant, key: str, recipient, reason: str) -> None:
    """Withdraw the e-mail `key` to `recipient` (notification_enqueue's key) while it has not
    gone out: its pending outbox row is skipped, its digest item dropped."""
    idempotency_key = f"{key}:{recipient.pk}"
    Notification.objects.for_tenant(tenant).filter(
        recipient=recipient, idempotency_key=idempotency_key, status=DeliveryStatus.PENDING
    ).update(status=DeliveryStatus.SKIPPED, last_error=reason)
    DigestItem.objects.for_tenant(tenant).filter(
        recipient=recipient, idempotency_key=idempotency_key, digest__isnull=True
    ).delete()


def webhook_publish(
    *, tenant: Tenant, event: str, payload: dict | Callable[[], dict], key: str
) -> list[WebhookDelivery]:
    """Queue the event for every active endpoint of the tenant that subscribed to it.

    `payload` is the body, or a function that builds it: called once, and only when an
    endpoint wants the event (catalogue.publish() passes one).
    """
    made = []
    built: dict | None = None
    for endpoint in WebhookEndpoint.objects.for_tenant(tenant).filter(is_active=True):
        if not endpoint.wants(event):
            continue
        if built is None:
            built = payload() if callable(payload) else payload
        row, created = WebhookDelivery.objects.get_or_create(
            tenant=tenant,
            idempotency_key=f"{key}:{endpoint.pk}",
            defaults={"endpoint": endpoint, "event": event, "payload": built},
        )
        if created:
            _enqueue_on_commit("deliver_webhook_task", row.pk, tenant.pk)
            made.append(row)
    return made


# --- delivering -------------------------------------------------------------------------
#
# A delivery holds no lock and no transaction while it talks to the network:
#
# 1. lease, one short transaction of its own: lock the row (SKIP LOCKED), check that it is
#    pending (or `sending` with a lease that ran out: its worker died mid-send), count the
#    attempt and mark the row `sending` until now + DELIVERY_LEASE; commit;
# 2. send, outside any transaction: the SMTP conversation, or the POST;
# 3. finish, one UPDATE: `sent`; or the error, with the next attempt (or `failed`).
#
# A delivery that finds the row `sending` under a lease that has not run out answers "busy"
# and leaves it alone; the outbox sweep hands out again the rows whose lease ran out. Nothing
# is lost, and a row is sent again only when its worker stops between the server's acceptance
# and step 3 (docs/architecture.md#outbox-and-workers).

# How long a worker holds a row it is sending. Longer than the delivery tasks' hard time
# limit (60 s, tasks.py), when the worker's pool kills the task: a send still running never
# outlives its lease, so two sends of one row never overlap. Short enough that a row whose
# worker died is sent again within minutes (the sweep runs every minute).
DELIVERY_LEASE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str  # sent, failed, retry, skipped, busy (being sent elsewhere), done (already sent)
    retry_in: float | None = None


def _lease(queryset, row_id: int, now: datetime.datetime, *, skip) -> object | DeliveryResult:
    """Step 1: take the row for one attempt, in a transaction of its own, and return it;
    or return what the delivery answers instead (busy, done, skipped, failed).

    `skip(row)` says whether there is nothing to send (the row is then marked skipped).
    """
    with transaction.atomic():
        # of=("self",): lock only the row, never a joined one (a webhook's endpoint), so that
        # deliveries of other rows are never taken for busy.
        row = queryset.select_for_update(skip_locked=True, of=("self",)).filter(pk=row_id).first()
        if row is None:  # in another delivery's lease or finish transaction (or not ours)
            return DeliveryResult("busy")
        if row.status == DeliveryStatus.SENDING:
            if row.lease_until is not None and row.lease_until > now:
                return DeliveryResult("busy")
            # The lease ran out: the worker sending it stopped, before or after the server
            # took the message. Sending again may repeat it (with the same Message-ID or
            # X-Delivery); never sending it could lose it.
            if row.attempts >= MAX_ATTEMPTS:
                row.status = DeliveryStatus.FAILED
                row.lease_until = None
                row.last_error = (
                    f"The worker stopped during attempt {row.attempts} (its lease ran out); "
                    "the message may have been delivered."
                )
                row.save(update_fields=["status", "lease_until", "last_error"])
                return DeliveryResult("failed")
            logger.warning(
                "outbox delivery lease ran out; sending again",
                extra={"model": row._meta.model_name, "id": row.pk, "attempts": row.attempts},
            )
        elif row.status != DeliveryStatus.PENDING:
            return DeliveryResult("done")
        if skip(row):
            row.status = DeliveryStatus.SKIPPED
            row.lease_until = None
            row.save(update_fields=["status", "lease_until"])
            return DeliveryResult("skipped")
        row.status = DeliveryStatus.SENDING
        row.attempts += 1
        row.lease_until = now + DELIVERY_LEASE
        row.save(update_fields=["status", "attempts", "lease_until"])
    return row


def _ours(row):
    """The row, as long as this delivery still holds it: `sending`, at the attempt it counted.
    A delivery that took the row over after the lease ran out counted a later attempt (the
    count only grows while a row is pending or sending; a staff "retry" resets it on a failed
    row)."""
    return type(row).objects.filter(pk=row.pk, status=DeliveryStatus.SENDING, attempts=row.attempts)


def _finish_sent(row, now: datetime.datetime, **fields) -> DeliveryResult:
    """Step 3 after a send the server accepted: one UPDATE, its own short transaction."""
    done = {"status": DeliveryStatus.SENT, "sent_at": now, "last_error": "", "lease_until": None}
    if not _ours(row).update(**done, **fields):
        # The lease ran out during the send and another delivery took the row: the message
        # went out all the same, so the row is sent, whatever that delivery does.
        logger.warning(
            "outbox delivery finished after its lease ran out",
            extra={"model": row._meta.model_name, "id": row.pk, "attempts": row.attempts},
        )
        type(row).objects.filter(pk=row.pk).exclude(status=DeliveryStatus.SENT).update(
            **done, **fields
        )
    return DeliveryResult("sent")


def _finish_failed(row, error: str, now: datetime.datetime, **fields) -> DeliveryResult:
    """Step 3 after a failed attempt (already counted by the lease): pending again with the
    next attempt's time, or failed after the last one. A delivery that lost its lease records
    nothing: the row is another delivery's now."""
    fields.update(last_error=error[:2000], lease_until=None)
    if row.attempts >= MAX_ATTEMPTS:
        result = DeliveryResult("failed")
        fields["status"] = DeliveryStatus.FAILED
    else:
        next_attempt_at = now + backoff(row.attempts)
        result = DeliveryResult("retry", retry_in=(next_attempt_at - now).total_seconds())
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=next_attempt_at)
    if not _ours(row).update(**fields):
        return DeliveryResult("busy")
    return result


def message_id_domain() -> str:
    """The domain of Message-IDs: DEFAULT_FROM_EMAIL's, else SITE_URL's host."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    domain = domain or urlsplit(settings.SITE_URL).hostname or "localhost"
    return punycode(domain.strip("[]"))


def notification_message_id(row: Notification) -> str:
    """The Message-ID of every e-mail of the notification, the same at every attempt: a mail
    store that drops a Message-ID it already holds keeps one copy of a resend. 128 bits of
    the key's hash: unique enough, and short enough to keep the header on one line."""
    digest = hashlib.sha256(f"{row.tenant_id}:{row.idempotency_key}".encode()).hexdigest()
    return f"<notification-{digest[:32]}@{message_id_domain()}>"


def _email_of(row: Notification) -> EmailMultiAlternatives:
    # The tenant's name or support address as the sender, where replies go, the case's
    # thread (rma_portal/notifications/addressing.py).
    addressing = addressing_for(row)
    email = render_email(
        event=row.event,
        language=row.language,
        context={
            **row.context,
            "tenant": row.tenant,
            "recipient": row.recipient,
            "reply_by_email": addressing.reply_by_email,
        },
    )
    message = EmailMultiAlternatives(
        email.subject,
        email.text,
        addressing.from_email,
        [row.email],
        reply_to=addressing.reply_to or None,
        headers={
            **addressing.headers,
            "Message-ID": notification_message_id(row),
            "X-RMA-Notification": row.idempotency_key,
        },
    )
    message.attach_alternative(email.html, "text/html")
    if row.attachment:
        with default_storage.open(row.attachment, "rb") as attached:
            message.attach(
                row.attachment_name or "attachment",
                attached.read(),
                mimetypes.guess_type(row.attachment_name)[0] or "application/octet-stream",
            )
    return message


def _send_email(message: EmailMultiAlternatives) -> None:
    """Send on a connection opened here and closed apart: once the server has accepted the
    message, a failure to close the connection (QUIT) is logged, not taken for a failed send
    that would send the message again."""
    connection = get_connection()
    connection.open()
    try:
        connection.send_messages([message])
    finally:
        try:
            connection.close()
        except Exception:
            logger.warning("closing the mail connection failed", exc_info=True)


def notification_deliver(*, notification_id: int, now: datetime.datetime | None = None):
    """Send one pending e-mail: lease, send, finish (see above); failures are recorded with
    the next attempt."""
    now = now or timezone.now()

    def opted_out(row: Notification) -> bool:
        # The choice as it is now: the recipient may have switched the kind off since.
        return bool(
            row.kind
            and row.recipient
            and preferences.choice_for(row.recipient, row.kind) == preferences.Delivery.NEVER
        )

    row = _lease(Notification.objects, notification_id, now, skip=opted_out)
    if isinstance(row, DeliveryResult):
        return row
    try:
        _send_email(_email_of(row))
    except Exception as error:  # SMTP down, template bug: record and retry
        logger.warning("notification delivery failed", extra={"id": row.pk}, exc_info=True)
        return _finish_failed(row, f"{type(error).__name__}: {error}", now)
    return _finish_sent(row, now)


def outbox_due(*, now: datetime.datetime | None = None, stale_after: int = 120):
    """Rows a sweep should enqueue again: pending, due, and not just created (whose own
    on-commit enqueue is probably still on its way); and rows whose delivery lease ran out
    (the worker sending them stopped)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=stale_after)
    waiting = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, created_at__lte=cutoff)
    abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lte=now)
    due = waiting | abandoned
    return (
        list(Notification.unscoped.filter(due).values_list("pk", "tenant_id")[:1000]),
        list(WebhookDelivery.unscoped.filter(due).values_list("pk", "tenant_id")[:1000]),
    )


def outbox_retry(*, row: Notification | WebhookDelivery) -> None:
    """A staff member's "retry" on a failed row: pending again, with fresh attempts."""
    with transaction.atomic():
        row.status = DeliveryStatus.PENDING
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
        task = (
            "deliver_notification_task" if isinstance(row, Notification) else "deliver_webhook_task"
        )
        _enqueue_on_commit(task, row.pk, row.tenant_id)


def webhook_deliver(*, delivery_id: int, now: datetime.datetime | None = None) -> DeliveryResult:
    """POST one pending delivery: lease, POST, finish (see above); 2xx is success, anything
    else is retried with backoff. Every attempt carries the row's key as X-Delivery."""
    from django.core.exceptions import ValidationError

    from . import webhooks

    now = now or timezone.now()
    row = _lease(
        WebhookDelivery.objects.select_related("endpoint"),
        delivery_id,
        now,
        skip=lambda row: not row.endpoint.is_active,
    )
    if isinstance(row, DeliveryResult):
        return row
    try:
        secret, *old_secrets = row.endpoint.signing_secrets(now)
        status = webhooks.post(
            row.endpoint.url,
            secret=secret,
            event=row.event,
            delivery_key=row.idempotency_key,
            payload=row.payload,
            old_secrets=old_secrets,
        )
    except (OSError, ValidationError) as error:
        # No answer: an earlier attempt's status would mislead.
        detail = "; ".join(error.messages) if isinstance(error, ValidationError) else error
        return _finish_failed(row, f"{type(error).__name__}: {detail}", now, last_status_code=None)
    if not 200 <= status < 300:
        return _finish_failed(row, f"HTTP {status}", now, last_status_code=status)
    return _finish_sent(row, now, last_status_code=status)


# --- endpoints, managed by tenant admins (API) and in the back-office -------------------------

SECRET_PREFIX = "whsec_"  # noqa: S105 - what a secret starts with, not a secret
# After a rotation the replaced secret keeps signing (a second signature) for this long unless
# the caller chooses otherwise, within SECRET_GRACE_MAX (docs/webhooks.md#rotating-the-secret).
SECRET_GRACE_DEFAULT = datetime.timedelta(hours=24)
SECRET_GRACE_MAX = datetime.timedelta(days=7)


class WebhookConflict(ApplicationError):
    """The endpoint or delivery is not in a state that allows this (HTTP 409)."""

    code = "conflict"


def webhook_secret_new() -> str:
    """A new signing secret: generated, never typed (a guessable secret would let anyone forge
    our calls); 256 random bits, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _checked_url(url: str) -> str:
    """The URL, if calls may go there: http(s) to a public address unless
    WEBHOOKS_ALLOW_PRIVATE_ADDRESSES (the check every delivery repeats)."""
    from django.core.exceptions import ValidationError

    from . import webhooks

    try:
        webhooks.check_url(url)
    except ValidationError as error:
        raise ApplicationError(error.messages[0], fields={"url": error.messages}) from None
    return url


def _checked_event_types(event_types) -> list[str]:
    """Names of events an endpoint may choose, without repeats; empty means every event."""
    from . import catalogue

    chosen = list(dict.fromkeys(event_types or ()))
    known = set(catalogue.subscribable_names())
    unknown = [name for name in chosen if name not in known]
    if unknown:
        message = _("Unknown event type: %(name)s.") % {"name": unknown[0]}
        raise ApplicationError(message, fields={"event_types": [message]})
    return chosen


# --- the audit log of endpoints ---------------------------------------------------------------

# What an endpoint's audit rows show of it: never a secret (the signing secrets are not even
# named), and the URL with what may be a credential masked (audit_url).
AUDITED_FIELDS = ("url", "description", "event_types", "is_active")
MASK = "***"


def audit_url(url: str) -> str:
    """The URL as the audit log keeps it: a password in it and the values of its query
    string (receivers often take a token there) replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(name, MASK) for name, _value in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def audit_state(endpoint: WebhookEndpoint) -> dict:
    """The audited fields of an endpoint, as its audit rows show them."""
    return {
        "url": audit_url(endpoint.url),
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "is_active": endpoint.is_active,
    }


def _audit(action: str, endpoint: WebhookEndpoint, *, actor, request, via: str, details: dict):
    """One audit row about `endpoint`, by `actor` (a user, or the integration user of the API
    key the request carries: the row then names the key); without an actor, the system."""
    record(
        action,
        request=request,
        user=actor,
        tenant=endpoint.tenant,
        actor_kind=ActorKind.SYSTEM if actor is None and request is None else None,
        target=endpoint,
        target_label=audit_url(endpoint.url),
        details={**details, "via": via},
    )


def audit_endpoint_created(endpoint: WebhookEndpoint, *, actor=None, request=None, via=""):
    _audit(
        AuditAction.WEBHOOK_ENDPOINT_CREATED,
        endpoint,
        actor=actor,
        request=request,
        via=via,
        details=audit_state(endpoint),
    )


def audit_endpoint_changed(
    before: dict, endpoint: WebhookEndpoint, *, actor=None, request=None, via=""
) -> bool:
    """The row of a change: each audited field that changed, from what to what (`before`:
    `audit_state()` read before the change); turning the endpoint off is its own action.
    Nothing changed: no row, False."""
    after = audit_state(endpoint)
    changes = {
        name: {"from": before[name], "to": after[name]}
        for name in AUDITED_FIELDS
        if before[name] != after[name]
    }
    if not changes:
        return False
    turned_off = before["is_active"] and not after["is_active"]
    _audit(
        AuditAction.WEBHOOK_ENDPOINT_DISABLED
        if turned_off
        else AuditAction.WEBHOOK_ENDPOINT_CHANGED,
        endpoint,
        actor=actor,
        request=request,
        via=via,
        details={"url": after["url"], "changes": changes},
    )
    return True


def audit_endpoint_deleted(endpoint: WebhookEndpoint, *, actor=None, request=None, via=""):
    """Written before the endpoint is deleted, in the same transaction (the row keeps its
    id and what it was)."""
    _audit(
        AuditAction.WEBHOOK_ENDPOINT_DELETED,
        endpoint,
        actor=actor,
        request=request,
        via=via,
        details=audit_state(endpoint),
    )


# --- managing endpoints --------------------------------------------------------------------------


def webhook_endpoint_create(
    *,
    tenant: Tenant,
    url: str,
    description: str = "",
    event_types=(),
    is_active: bool = True,
    actor=None,
    request=None,
    via: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint with a generated secret; returns it with the secret, which the caller
    shows once. Audited as done by `actor` (`via`: "api", "backoffice")."""
    url = _checked_url(url)
    event_types = _checked_event_types(event_types)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            tenant=tenant,
            url=url,
            description=description.strip(),
            event_types=event_types,
            is_active=is_active,
            secret=webhook_secret_new(),
        )
        audit_endpoint_created(endpoint, actor=actor, request=request, via=via)
    return endpoint, endpoint.secret


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, actor=None, request=None, via: str = "", **changes
) -> WebhookEndpoint:
    """Change `url`, `description`, `event_types` or `is_active`; everything is checked before
    anything is saved. Calls still queued go to the URL the endpoint has when they are
    attempted; an inactive endpoint's are skipped. What changed is audited (nothing when
    nothing did)."""
    allowed = {"url", "description", "event_types", "is_active"}
    if set(changes) - allowed:
        raise TypeError(f"webhook_endpoint_update() cannot change {set(changes) - allowed}")
    if "url" in changes:
        changes["url"] = _checked_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _checked_event_types(changes["event_types"])
    if "description" in changes:
        changes["description"] = changes["description"].strip()
    before = audit_state(endpoint)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes:
        with transaction.atomic():
            endpoint.save(update_fields=list(changes))
            audit_endpoint_changed(before, endpoint, actor=actor, request=request, via=via)
    return endpoint


def webhook_endpoint_delete(
    *, endpoint: WebhookEndpoint, actor=None, request=None, via: str = ""
) -> None:
    """Remove the endpoint with its delivery log; calls still queued for it are not sent."""
    with transaction.atomic():
        audit_endpoint_deleted(endpoint, actor=actor, request=request, via=via)
        endpoint.delete()


def webhook_secret_rotate(
    *,
    endpoint: WebhookEndpoint,
    grace: datetime.timedelta = SECRET_GRACE_DEFAULT,
    now: datetime.datetime | None = None,
    actor=None,
    request=None,
    via: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; the one it replaces still signs (a second `v1` signature) for
    `grace`, so the receiver can switch without refusing calls. A zero grace switches at
    once. Returns the endpoint and the new secret, which the caller shows once. The audit row
    says until when the old secret signs, never a secret."""
    if not datetime.timedelta(0) <= grace <= SECRET_GRACE_MAX:
        hours = int(SECRET_GRACE_MAX.total_seconds() // 3600)
        message = _("Keep the previous secret for 0 to %(hours)d hours.") % {"hours": hours}
        raise ApplicationError(message, fields={"previous_secret_hours": [message]})
    now = now or timezone.now()
    with transaction.atomic():
        # Locked: two rotations at once must not leave a secret nobody was shown.
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if grace:
            locked.previous_secret = locked.secret
            locked.previous_secret_expires_at = now + grace
        else:
            locked.previous_secret = ""
            locked.previous_secret_expires_at = None
        locked.secret = webhook_secret_new()
        locked.secret_rotated_at = now
        locked.save(
            update_fields=[
                "secret",
                "previous_secret",
                "previous_secret_expires_at",
                "secret_rotated_at",
            ]
        )
        expires = locked.previous_secret_expires_at
        _audit(
            AuditAction.WEBHOOK_SECRET_ROTATED,
            locked,
            actor=actor,
            request=request,
            via=via,
            details={
                "url": audit_url(locked.url),
                "previous_secret_signs_until": expires.isoformat() if expires else None,
            },
        )
    return locked, locked.secret


def _queue_delivery(
    *, endpoint: WebhookEndpoint, event: str, key: str, payload: dict
) -> WebhookDelivery:
    row = WebhookDelivery.objects.create(
        tenant=endpoint.tenant,
        endpoint=endpoint,
        event=event,
        idempotency_key=f"{key}:{endpoint.pk}",
        payload=payload,
    )
    _enqueue_on_commit("deliver_webhook_task", row.pk, endpoint.tenant_id)
    return row


def webhook_ping(
    *, endpoint: WebhookEndpoint, now: datetime.datetime | None = None
) -> WebhookDelivery:
    """Queue a `webhook.ping` to this endpoint only, through the outbox like any event: it
    shows in the delivery log with its answer."""
    from . import catalogue

    if not endpoint.is_active:
        raise WebhookConflict(
            _("This endpoint is inactive: activate it before sending it a test event.")
        )
    event = catalogue.event_type(catalogue.PING)
    key = f"ping:{uuid.uuid4().hex}"
    with catalogue.tenant_time(endpoint.tenant):
        payload = catalogue.envelope(
            event=event,
            tenant=endpoint.tenant,
            key=key,
            created_at=now or timezone.now(),
            data=event.build(endpoint),
        )
    return _queue_delivery(endpoint=endpoint, event=event.name, key=key, payload=payload)


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's call again as a new delivery (its own X-Delivery and attempts; the
    same body, so the same event id): after a failure, or when the receiver lost what it got.
    The original row keeps its history."""
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise WebhookConflict(
            _("This delivery has not finished yet: it is sent or retried on its own.")
        )
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        raise WebhookConflict(
            _("This endpoint is inactive: activate it before sending it calls again.")
        )
    return _queue_delivery(
        endpoint=endpoint,
        event=delivery.event,
        key=f"redelivery:{uuid.uuid4().hex}",
        payload=delivery.payload,
    )
