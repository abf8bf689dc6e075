"""The inbound HTTP endpoint: a mail provider posts each message it received for a mailbox.

One format: Mailgun's route action `forward("https://<portal>/inbound/mailgun/<tenant
slug>/<mailbox id>/mime")`. A destination URL ending in `mime` makes Mailgun post the
message as it arrived (`body-mime`) beside its signature: `timestamp`, `token` (random, 50
characters) and `signature`, the hex HMAC-SHA256 of timestamp + token under the Mailgun
account's HTTP webhook signing key, which the tenant enters on the mailbox (kind HTTP).

A request is taken when its signature is right under the mailbox's key, its timestamp is
within INBOUND_MAIL_HTTP_MAX_AGE_SECONDS of now, and its token has not been seen in that
time (the cache remembers it); the message is then stored (services.store_message) and its
processing queued after the commit, so the answer does not wait for the handlers. Mailgun
retries anything but 200 and 406 for hours; so:

- 200: stored, or a message it already holds (same Message-ID, or the same token again);
- 401: not signed by the mailbox's key, or signed too long ago (or in the future);
- 404: no such active HTTP mailbox of an active tenant;
- 406: larger than the portal takes (never retried: it will not fit later either);
- 422: no `body-mime` (the route must forward to a URL ending in `mime`): retried, so the
  messages wait at Mailgun while the route is corrected.

CSRF does not apply (no cookie, no session: the signature is the authentication).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rma_portal.notifications.enqueue import enqueue_after_commit
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .models import Mailbox, MailboxKind, MessageStatus
from .services import store_message

logger = logging.getLogger(__name__)

# Room around the message for the form's other fields and its encoding (urlencoded: up to 3×).
FORM_OVERHEAD = 1024 * 1024
TOKEN_SEEN_PREFIX = "inbound:mailgun-token:"  # noqa: S105 - a cache key, not a secret


def _answer(status: int, detail: str, **fields) -> JsonResponse:
    return JsonResponse({"detail": detail, **fields}, status=status)


def request_limit() -> int:
    """The largest request body read: a message of INBOUND_MAIL_MAX_BYTES, urlencoded."""
    return 3 * settings.INBOUND_MAIL_MAX_BYTES + FORM_OVERHEAD


def form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data or urlencoded body, as bytes (the message's bytes
    exactly as sent). Read here rather than by Django's request.POST, whose field size limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE) is far below a message with attachments."""
    fields: dict[str, bytes] = {}
    if content_type.lower().startswith("multipart/form-data"):
        header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", errors="replace")
        form = BytesParser(policy=policy.HTTP).parsebytes(header + body)
        if not form.is_multipart():
            return fields
        for part in form.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or name in fields:
                continue
            payload = part.get_payload(decode=True)
            fields[name] = payload if isinstance(payload, bytes) else b""
    else:
        for name, value in parse_qsl(body, keep_blank_values=True):
            fields.setdefault(name.decode("utf-8", errors="replace"), value)
    return fields


def signature_valid(key: str, timestamp: str, token: str, signature: str) -> bool:
    expected = hmac.new(
        key.encode(), f"{timestamp}{token}".encode(), digestmod=hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


@csrf_exempt
@require_POST
def mailgun_mime(request: HttpRequest, tenant_slug: str, mailbox_id: int) -> JsonResponse:
    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None:
        return _answer(404, "No such mailbox.")
    with tenant_context(tenant):
        mailbox = (
            Mailbox.objects.select_related("tenant")
            .filter(pk=mailbox_id, kind=MailboxKind.HTTP, is_active=True)
            .first()
        )
        if mailbox is None:
            return _answer(404, "No such mailbox.")
        return _receive(request, mailbox)


def _receive(request: HttpRequest, mailbox: Mailbox) -> JsonResponse:
    log = {"tenant": mailbox.tenant_id, "mailbox": mailbox.pk}
    limit = request_limit()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = b"" if length > limit else request.read(limit + 1)
    if length > limit or len(body) > limit:
        logger.warning("inbound post refused: too large", extra={**log, "bytes": length})
        return _answer(406, "The message is larger than the portal takes.")
    fields = form_fields(request.META.get("CONTENT_TYPE", ""), body)

    def text(name: str) -> str:
        return fields.get(name, b"").decode("ascii", errors="replace").strip()

    timestamp, token, signature = text("timestamp"), text("token"), text("signature")
    if not (timestamp and token and signature) or not signature_valid(
        mailbox.signing_key, timestamp, token, signature
    ):
        logger.warning("inbound post refused: bad signature", extra=log)
        return _answer(401, "Not signed with the mailbox's signing key.")
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        age = float("inf")
    if age > settings.INBOUND_MAIL_HTTP_MAX_AGE_SECONDS:
        logger.warning("inbound post refused: timestamp out of range", extra=log)
        return _answer(401, "Signed too long ago.")
    seen_key = f"{TOKEN_SEEN_PREFIX}{mailbox.pk}:{hashlib.sha256(token.encode()).hexdigest()}"
    if cache.get(seen_key):
        logger.info("inbound post seen before (same token)", extra=log)
        return _answer(200, "Received before.", stored=False)
    raw = fields.get("body-mime")
    if not raw:
        logger.warning("inbound post without body-mime: the route must end in /mime", extra=log)
        return _answer(422, "No body-mime: forward the route to a URL ending in /mime.")
    message, created = store_message(mailbox, raw)
    # Remembered for longer than a timestamp is accepted: a replay is older by then.
    cache.set(seen_key, 1, timeout=2 * settings.INBOUND_MAIL_HTTP_MAX_AGE_SECONDS + 60)
    if created and message.status == MessageStatus.NEW:
        from .tasks import process_message_task

        enqueue_after_commit(
            process_message_task,
            args=[message.pk, mailbox.tenant_id],
            what="inbound message processing not queued; the next poll processes it",
            extra={**log, "inbound_message": message.pk},
        )
    return _answer(200, "Stored." if created else "Received before.", stored=created)
