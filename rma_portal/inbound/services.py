"""Fetching a mailbox and handing its messages to the registered handlers.

A fetch of one mailbox:

1. lease, one short transaction: lock the mailbox row (SKIP LOCKED); unless it is inactive
   or another worker's lease on it has not run out, lease it to this fetch until now +
   FETCH_LEASE under a fresh token; commit. A fetch that finds it leased answers `busy`, so
   two workers never fetch one mailbox at once;
2. connect (rma_portal/inbound/imap.py), SELECT the folder (read-only unless fetched
   messages are marked as read) and read its UIDVALIDITY. When it differs from the
   mailbox's, the server's UIDs now name other messages: the bookkeeping starts again at
   UID 0 (logged as a warning);
3. the UIDs above `last_uid`, oldest first, at most MAX_MESSAGES_PER_RUN (the next poll
   goes on): their RFC822.SIZE and INTERNALDATE are asked in batches of SIZE_BATCH; then
   each message on its own, in one transaction of its own that locks the mailbox row,
   checks the lease is still this fetch's, stores the message (the raw bytes as a file,
   deleted again if the transaction rolls back) and moves `last_uid` to its UID. A message
   larger than INBOUND_MAIL_MAX_BYTES is never downloaded: its first HEADER_BYTES of header
   are, and it is recorded as `refused`;
4. only after that commit, and only if the mailbox says so, the message is flagged \\Seen.
   Nothing else on the server ever changes: no message is moved, flagged otherwise or
   deleted;
5. the result (fetched time or error) is recorded and the lease released;
6. the mailbox's messages still `new` are handed to the handlers (handlers.py), once any
   are registered.

So a fetch that stops anywhere (an error, a killed worker, a time limit) loses nothing and
doubles nothing: a message whose transaction did not commit is above `last_uid` and is
fetched again, exactly once; one whose transaction committed is below it and is not. Should
the bookkeeping ever be behind (restored from a backup), storing is a no-op for a message
already there (checked under the mailbox lock; the unique (mailbox, UIDVALIDITY, UID)
constraint backs that up).

When UIDVALIDITY changed, the folder is read again from the start: a message whose
Message-ID was already fetched from this mailbox under an earlier UIDVALIDITY is stored as
`ignored` ("fetched before"), so the handlers never see the same e-mail twice.
"""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.parser import BytesHeaderParser

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from imapclient import SEEN

from rma_portal.files.transactions import save_file
from rma_portal.tenancy.context import tenant_context

from . import imap, replies
from .handlers import Handled, handler_name, registered_handlers
from .models import InboundMessage, Mailbox, MailboxKind, MessageStatus, inbound_raw_upload_to

logger = logging.getLogger(__name__)

# How long a fetch holds its mailbox; renewed at every stored message. Longer than the fetch
# task's hard time limit (tasks.py), so a running fetch never outlives its lease; a fetch
# whose worker died is taken over once it runs out.
FETCH_LEASE = datetime.timedelta(minutes=10)
SIZE_BATCH = 50
MAX_MESSAGES_PER_RUN = 500
# Of a refused message only this much of its header is downloaded (From, Subject, …).
HEADER_BYTES = 64 * 1024
MAX_PENDING_PER_RUN = 500
ERROR_LENGTH = 2000


class LeaseLost(Exception):
    """Another fetch took the mailbox over (this one's lease ran out), or it changed under
    this fetch: stop without writing anything more."""


@dataclass
class FetchResult:
    outcome: str  # fetched, busy, inactive, error; "pending" for a mailbox not read over IMAP
    stored: int = 0
    refused: int = 0
    already_stored: int = 0
    processed: int = 0
    error: str = ""

    def __str__(self) -> str:
        if self.outcome == "fetched":
            return f"fetched {self.stored} (refused {self.refused})"
        if self.outcome == "error":
            return f"error: {self.error}"
        if self.outcome == "pending":
            return f"processed {self.processed} waiting messages"
        return self.outcome


# --- the lease ------------------------------------------------------------------------------


def _mailboxes(mailbox: Mailbox):
    return Mailbox.objects.for_tenant(mailbox.tenant)


def _claim(mailbox: Mailbox, now: datetime.datetime, *, even_inactive: bool) -> str:
    """Step 1: the lease's token, or "busy" / "inactive"."""
    with transaction.atomic():
        row = _mailboxes(mailbox).select_for_update(skip_locked=True).filter(pk=mailbox.pk).first()
        if row is None:  # another fetch is in its lease or store transaction
            return "busy"
        if not row.is_active and not even_inactive:
            return "inactive"
        if row.fetch_lease_until is not None and row.fetch_lease_until > now:
            return "busy"
        if row.fetch_lease_until is not None:
            logger.warning("mailbox fetch lease ran out; taking it over", extra=_log(row))
        token = uuid.uuid4().hex
        _mailboxes(mailbox).filter(pk=mailbox.pk).update(
            fetch_lease_until=now + FETCH_LEASE, fetch_lease_token=token
        )
    return token


def _locked(mailbox: Mailbox, token: str) -> Mailbox:
    """The mailbox row, locked until the end of the transaction, while it is still this
    fetch's."""
    row = _mailboxes(mailbox).select_for_update().get(pk=mailbox.pk)
    if row.fetch_lease_token != token:
        raise LeaseLost
    return row


def _ours(mailbox: Mailbox, token: str):
    return _mailboxes(mailbox).filter(pk=mailbox.pk, fetch_lease_token=token)


def _release(mailbox: Mailbox, token: str, **fields) -> None:
    _ours(mailbox, token).update(fetch_lease_until=None, fetch_lease_token="", **fields)


# --- fetching -------------------------------------------------------------------------------


def fetch_mailbox(mailbox: Mailbox, *, even_inactive: bool = False) -> FetchResult:
    """Fetch the mailbox's new messages and process them (see the module's docstring); an
    inactive mailbox only when `even_inactive` (manage.py fetch_mail --mailbox).

    A mailbox whose messages are posted or dropped is not fetched: its messages still `new`
    (their processing task lost, say) are processed."""
    if mailbox.kind != MailboxKind.IMAP:
        if not mailbox.is_active and not even_inactive:
            return FetchResult("inactive")
        return FetchResult("pending", processed=process_pending(mailbox))
    token = _claim(mailbox, timezone.now(), even_inactive=even_inactive)
    if token in ("busy", "inactive"):
        return FetchResult(token)
    result = FetchResult("fetched")
    try:
        with imap.connect(mailbox) as client:
            _fetch_folder(client, mailbox, token, result)
    except SoftTimeLimitExceeded:
        raise  # what is stored stays; the next poll goes on from there
    except LeaseLost:
        logger.warning("mailbox fetch lost its lease; stopped", extra=_log(mailbox))
        result.outcome = "busy"
    except Exception as error:
        result.outcome = "error"
        result.error = _describe(error)
        logger.warning(
            "mailbox fetch failed",
            extra={**_log(mailbox), "error": result.error, "stored": result.stored},
            exc_info=not isinstance(error, OSError | ValidationError | imap.IMAPClient.Error),
        )
        _release(mailbox, token, last_error=result.error, last_error_at=timezone.now())
    else:
        _release(mailbox, token, last_fetched_at=timezone.now(), last_error="")
        logger.info(
            "mailbox fetched",
            extra={
                **_log(mailbox),
                "stored": result.stored,
                "refused": result.refused,
                "already_stored": result.already_stored,
            },
        )
    finally:
        # Whatever happened (a time limit too), the lease is not held longer than the fetch;
        # a no-op when a branch above released it already.
        _release(mailbox, token)
    result.processed = process_pending(mailbox)
    return result


@dataclass
class Fetched:
    size: int
    received_at: datetime.datetime | None
    raw: bytes | None = None
    header: bytes | None = None  # of a refused message
    reason: str = ""


def _fetch_folder(client, mailbox: Mailbox, token: str, result: FetchResult) -> None:
    selected = client.select_folder(mailbox.folder, readonly=not mailbox.mark_seen)
    if b"UIDVALIDITY" not in selected:
        raise imap.IMAPClient.Error("The server named no UIDVALIDITY for the folder.")
    uidvalidity = int(selected[b"UIDVALIDITY"])
    last_uid = _start(mailbox, token, uidvalidity)
    # "n:*" always matches the folder's last message, even when its UID is below n.
    uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
    limit = settings.INBOUND_MAIL_MAX_BYTES
    for batch in _batches(uids[:MAX_MESSAGES_PER_RUN], SIZE_BATCH):
        sizes = client.fetch(batch, ["RFC822.SIZE", "INTERNALDATE"])
        for uid in batch:
            item = sizes.get(uid)
            if item is None:  # expunged since the search: that UID never comes back
                _store(mailbox, token, uidvalidity, uid, None)
                continue
            size = int(item[b"RFC822.SIZE"])
            fetched = Fetched(size=size, received_at=item.get(b"INTERNALDATE"))
            if size > limit:
                fetched.header = _fetch_part(client, uid, f"BODY.PEEK[HEADER]<0.{HEADER_BYTES}>")
                fetched.reason = _too_large(size, limit)
            else:
                fetched.raw = _fetch_part(client, uid, "BODY.PEEK[]")
                if fetched.raw is None:
                    _store(mailbox, token, uidvalidity, uid, None)
                    continue
                if len(fetched.raw) > limit:  # the server's size was wrong
                    fetched.size = len(fetched.raw)
                    fetched.header, fetched.raw = fetched.raw[:HEADER_BYTES], None
                    fetched.reason = _too_large(fetched.size, limit)
            outcome = _store(mailbox, token, uidvalidity, uid, fetched)
            if outcome == "stored":
                result.stored += 1
            elif outcome == "refused":
                result.refused += 1
            else:
                result.already_stored += 1
            if mailbox.mark_seen:
                client.add_flags([uid], [SEEN])


def _fetch_part(client, uid: int, item: str) -> bytes | None:
    answer = client.fetch([uid], [item]).get(uid)
    if not answer:
        return None
    # The answer's key is the item without PEEK and without the partial's length:
    # BODY.PEEK[] -> BODY[], BODY.PEEK[HEADER]<0.65536> -> BODY[HEADER]<0>.
    for key, value in answer.items():
        if key.startswith(b"BODY[") and isinstance(value, bytes):
            return value
    return b""


def _too_large(size: int, limit: int) -> str:
    return f"Larger than the limit of {limit} bytes ({size} bytes); not downloaded."


def _start(mailbox: Mailbox, token: str, uidvalidity: int) -> int:
    """The last UID fetched, after starting the bookkeeping again if UIDVALIDITY changed."""
    with transaction.atomic():
        row = _locked(mailbox, token)
        if row.uidvalidity != uidvalidity:
            if row.uidvalidity is not None:
                logger.warning(
                    "mailbox UIDVALIDITY changed; reading the folder again from its start",
                    extra={**_log(row), "old": row.uidvalidity, "new": uidvalidity},
                )
            _ours(mailbox, token).update(uidvalidity=uidvalidity, last_uid=0)
            row.uidvalidity, row.last_uid = uidvalidity, 0
    mailbox.uidvalidity, mailbox.last_uid = row.uidvalidity, row.last_uid
    return row.last_uid


def _store(
    mailbox: Mailbox, token: str, uidvalidity: int, uid: int, fetched: Fetched | None
) -> str:
    """One message in one transaction with the bookkeeping: "stored", "refused",
    "already stored", or "gone" (`fetched` None: expunged meanwhile, only skipped)."""
    with transaction.atomic():
        row = _locked(mailbox, token)
        if row.uidvalidity != uidvalidity:
            raise LeaseLost
        messages = InboundMessage.objects.for_tenant(mailbox.tenant)
        if fetched is None:
            outcome = "gone"
        elif messages.filter(mailbox=row, uidvalidity=uidvalidity, uid=uid).exists():
            outcome = "already stored"
        else:
            outcome = _create(row, messages, uidvalidity, uid, fetched)
        _ours(mailbox, token).update(
            last_uid=max(row.last_uid, uid), fetch_lease_until=timezone.now() + FETCH_LEASE
        )
    mailbox.last_uid = max(row.last_uid, uid)
    return outcome


def _create(row: Mailbox, messages, uidvalidity: int, uid: int, fetched: Fetched) -> str:
    message = InboundMessage(
        tenant_id=row.tenant_id,
        mailbox=row,
        uidvalidity=uidvalidity,
        uid=uid,
        size=fetched.size,
        received_at=fetched.received_at,
        **header_fields(fetched.raw if fetched.raw is not None else fetched.header or b""),
    )
    if fetched.raw is None:
        message.status, message.status_reason = MessageStatus.REFUSED, fetched.reason
    else:
        message.size = len(fetched.raw)
        if (
            message.message_id
            and messages.filter(mailbox=row, message_id=message.message_id)
            .exclude(uidvalidity=uidvalidity)
            .exists()
        ):
            message.status = MessageStatus.IGNORED
            message.status_reason = (
                "Fetched before the folder's UIDVALIDITY changed (the same Message-ID)."
            )
            message.processed_at = timezone.now()
        field = InboundMessage._meta.get_field("raw")
        # Written inside the transaction: a rollback deletes the file again.
        message.raw = save_file(
            field.storage, inbound_raw_upload_to(message, ""), ContentFile(fetched.raw)
        )
    message.save()
    return "refused" if message.status == MessageStatus.REFUSED else "stored"


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- header fields --------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
HEADER_FIELDS = {
    "message_id": "Message-ID",
    "from_header": "From",
    "to_header": "To",
    "subject": "Subject",
}


def header_fields(data: bytes) -> dict[str, str]:
    """Message-ID, From, To and Subject of a message (or of its header alone), decoded, on
    one line and cut to their columns' lengths. Never raises: a header that cannot be
    decoded is taken as it stands, one that cannot be read at all is left empty."""
    try:
        parsed = BytesHeaderParser(policy=email_policy.default).parsebytes(data)
    except Exception:
        parsed = {}
    fields = {}
    for name, header in HEADER_FIELDS.items():
        try:
            value = str(parsed.get(header, ""))
        except Exception:
            try:
                value = str(message_from_bytes(data, policy=email_policy.compat32)[header] or "")
            except Exception:
                value = ""
        value = _SPACES.sub(" ", value.replace("\x00", "")).strip()
        max_length = InboundMessage._meta.get_field(name).max_length
        fields[name] = value[:max_length] if max_length else value
    return fields


# --- processing -----------------------------------------------------------------------------


def process_message(message: InboundMessage) -> str:
    """Hand a `new` message to the handlers (handlers.py); returns its status afterwards
    ("busy" while another process handles it). With no handler registered it stays new."""
    handlers = registered_handlers()
    if not handlers:
        return message.status
    messages = InboundMessage.objects.for_tenant(message.tenant)
    with transaction.atomic():
        locked = (
            messages.select_for_update(skip_locked=True, of=("self",))
            .select_related("mailbox", "tenant")
            .filter(pk=message.pk)
            .first()
        )
        if locked is None:
            return "busy"
        if locked.status != MessageStatus.NEW:
            return locked.status
        # The handlers act as the message's tenant, whoever called (a task, a command, a
        # back-office action of a platform superuser).
        with tenant_context(locked.tenant):
            outcome = classify(locked) or _run_handlers(locked, handlers)
        locked.status = outcome.status
        locked.status_reason = outcome.reason[:ERROR_LENGTH]
        locked.processed_at = timezone.now()
        fields = ["status", "status_reason", "processed_at"]
        if outcome.case_kind:
            locked.case_kind, locked.case_id = outcome.case_kind, outcome.case_id
            locked.case_label = outcome.case_label[:60]
            fields += ["case_kind", "case_id", "case_label"]
        locked.save(update_fields=fields)
    message.status, message.status_reason = locked.status, locked.status_reason
    message.processed_at = locked.processed_at
    logger.info(
        "inbound message processed",
        extra={**_log(locked.mailbox), "inbound_message": locked.pk, "status": locked.status},
    )
    return locked.status


@dataclass(frozen=True)
class Settled:
    """What the processing decided before the handlers (classify): also `refused`, which
    handlers cannot answer."""

    status: str
    reason: str
    case_kind: str = ""
    case_id: int | None = None
    case_label: str = ""


def classify(message: InboundMessage) -> Settled | None:
    """Settle what never reaches a handler; None hands the message to them, with
    `message.mail.case` set to the case it answers (its token checked, of the message's
    tenant) or None.

    - malformed (unreadable MIME, no sender): held, for a person to look at the file;
    - automatic (Auto-Submitted other than "no", X-Autoreply, X-Autorespond, Precedence
      bulk/auto_reply/junk, multipart/report, MAILER-DAEMON or postmaster, an empty return
      path): ignored, never a case nor an answer, so no loop between two programs;
    - a token of another tenant (a valid one: that tenant made it): refused;
    - a token-shaped reply address the portal did not make: held;
    - a From domain whose DMARC check failed at the receiving server (its
      Authentication-Results): held, as the sender may be forged, unless staff matched it.
    """
    mail = message.mail
    log = {**_log(message.mailbox), "inbound_message": message.pk}
    if mail.malformed:
        logger.warning("inbound message held: malformed", extra={**log, "reason": mail.malformed})
        return Settled(MessageStatus.HELD, mail.malformed)
    if mail.automatic:
        logger.info("inbound message ignored: automatic", extra={**log, "reason": mail.automatic})
        return Settled(
            MessageStatus.IGNORED, f"An automatic message ({mail.automatic}): never answered."
        )
    found = replies.find_case(mail)
    if found.case is not None and found.case.tenant_id != message.tenant_id:
        logger.warning(
            "inbound message refused: it names a case of another tenant",
            extra={**log, "named_tenant": found.case.tenant_id, "via": found.case.via},
        )
        return Settled(
            MessageStatus.REFUSED,
            f"It names a {found.case.kind} of another tenant (its reply "
            f"{'address' if found.case.via == 'address' else 'thread'}); nothing was done.",
        )
    if found.case is None and found.forged_address:
        logger.warning("inbound message held: a reply address the portal did not make", extra=log)
        return Settled(
            MessageStatus.HELD,
            f"Sent to {found.forged_address[:200]}, a reply address the portal did not make "
            "(changed, or of an old key).",
        )
    mail.case = found.case
    if mail.dmarc_failed and message.matched_user_id is None:
        logger.warning("inbound message held: the sender's DMARC check failed", extra=log)
        return Settled(
            MessageStatus.HELD,
            "The receiving server says the sender's domain failed its DMARC check: the From "
            "address may be forged.",
        )
    return None


def _run_handlers(message: InboundMessage, handlers) -> Handled:
    for handler in handlers:
        try:
            with transaction.atomic():
                outcome = handler(message)
        except SoftTimeLimitExceeded:
            raise  # the message stays new; the next run hands it out again
        except Exception as error:
            logger.exception(
                "inbound message handler failed; the message is held",
                extra={"inbound_message": message.pk, "handler": handler_name(handler)},
            )
            return Handled(MessageStatus.HELD, f"{handler_name(handler)}: {_describe(error)}")
        if outcome is None:
            continue
        if not isinstance(outcome, Handled):
            return Handled(
                MessageStatus.HELD,
                f"{handler_name(handler)} answered {outcome!r}, not Handled or None.",
            )
        return outcome
    return Handled(MessageStatus.IGNORED, "No handler took the message.")


def process_pending(mailbox: Mailbox, *, limit: int = MAX_PENDING_PER_RUN) -> int:
    """Process the mailbox's messages still `new` (stored by this fetch, or left by one
    that stopped before processing), oldest first; returns how many were processed."""
    if not registered_handlers():
        return 0
    pending = (
        InboundMessage.objects.for_tenant(mailbox.tenant)
        .filter(mailbox=mailbox, status=MessageStatus.NEW)
        .order_by("pk")[:limit]
    )
    done = 0
    for message in pending:
        if process_message(message) not in (MessageStatus.NEW, "busy"):
            done += 1
    return done


def store_message(
    mailbox: Mailbox, raw: bytes, *, received_at: datetime.datetime | None = None
) -> tuple[InboundMessage, bool]:
    """Store a message that was posted (HTTP) or dropped (the drop folder), not fetched:
    UIDVALIDITY 0 and the mailbox's next such UID, under the mailbox's lock. Returns the
    message and whether it is new: one with the Message-ID of a message posted or dropped
    before in the mailbox is that message (a provider's retry, a file read again). A message
    larger than INBOUND_MAIL_MAX_BYTES keeps only its header and is refused."""
    limit = settings.INBOUND_MAIL_MAX_BYTES
    too_large = len(raw) > limit
    fields = header_fields(raw[:HEADER_BYTES] if too_large else raw)
    with transaction.atomic():
        row = _mailboxes(mailbox).select_for_update().get(pk=mailbox.pk)
        messages = InboundMessage.objects.for_tenant(mailbox.tenant).filter(
            mailbox=row, uidvalidity=0
        )
        if fields["message_id"]:
            existing = messages.filter(message_id=fields["message_id"]).first()
            if existing is not None:
                return existing, False
        last = messages.aggregate(last=Max("uid"))["last"] or 0
        message = InboundMessage(
            tenant_id=row.tenant_id,
            mailbox=row,
            uidvalidity=0,
            uid=last + 1,
            size=len(raw),
            received_at=received_at or timezone.now(),
            **fields,
        )
        if too_large:
            message.status = MessageStatus.REFUSED
            message.status_reason = _too_large(len(raw), limit)
        else:
            field = InboundMessage._meta.get_field("raw")
            message.raw = save_file(
                field.storage, inbound_raw_upload_to(message, ""), ContentFile(raw)
            )
        message.save()
    logger.info(
        "inbound message stored",
        extra={**_log(mailbox), "inbound_message": message.pk, "status": message.status},
    )
    return message, True


def process_again(message: InboundMessage) -> str:
    """Hand a held or ignored message to the handlers again (the back-office's action)."""
    InboundMessage.objects.for_tenant(message.tenant).filter(
        pk=message.pk, status__in=[MessageStatus.HELD, MessageStatus.IGNORED]
    ).update(status=MessageStatus.NEW, status_reason="", processed_at=None)
    message.refresh_from_db(fields=["status", "status_reason", "processed_at"])
    return process_message(message)


# --- helpers --------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)[:ERROR_LENGTH]
    args = getattr(error, "args", ())
    if len(args) == 1 and isinstance(args[0], bytes):  # IMAPClient's errors: the server's words
        text = args[0].decode(errors="replace")
    else:
        text = str(error)
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:ERROR_LENGTH]


def _log(mailbox: Mailbox) -> dict:
    return {"tenant": mailbox.tenant_id, "mailbox": mailbox.pk}
