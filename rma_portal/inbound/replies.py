"""Replies by e-mail: the per-case reply address and thread of outgoing e-mails, and finding
the case an inbound message answers.

A case is named by a token: the case kind's letter, the tenant's and the case's ids (base 36)
and an HMAC of those (SECRET_KEY, salted; SECRET_KEY_FALLBACKS still verify), 80 bits in
base 32, lower case throughout (some servers lower-case addresses):

    c1-2s-k4xq7m2ab3cd5efg     complaint 100 of tenant 1

E-mails about a case to its customer carry it twice:

- `Reply-To: support+c-c1-2s-k4xq7m2ab3cd5efg@alpha.example` — plus-addressing on the
  tenant's reply mailbox (`Mailbox.reply_address`, else its first active one): most mail
  servers deliver it to `support@…`, and the token comes back in the To header;
- `In-Reply-To` and `References: <case-c1-2s-k4xq7m2ab3cd5efg@…>` — one thread per case, so
  a reply whose address lost the token (typed again, forwarded) still names the case.

The token only says which case; whether the sender may write on it is the handler's
decision. A valid token of another tenant is refused; one whose HMAC does not match is
treated as no token when it is in a References header (anybody can write one), and holds
the message when it is in an address.

Domain apps register the kinds of case that e-mails are about (`register_case_kind`): the
letter, the notification events about such a case, and the context key of its id.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .parsing import CaseReference, InboundMail

TOKEN_SALT = "rma_portal.inbound.replies.case-token"  # noqa: S105 - a salt, not a secret
MAC_LENGTH = 16  # base-32 characters: 80 bits
PLUS_PREFIX = "c-"
THREAD_PREFIX = "case-"
_TOKEN = rf"([a-z])([0-9a-z]{{1,13}})-([0-9a-z]{{1,13}})-([a-z2-7]{{{MAC_LENGTH}}})"
_IN_ADDRESS = re.compile(r"\+" + re.escape(PLUS_PREFIX) + _TOKEN + r"@", re.IGNORECASE)
_LOOKS_LIKE_TOKEN = re.compile(r"\+" + re.escape(PLUS_PREFIX) + r"[^@]*@", re.IGNORECASE)
_IN_THREAD = re.compile("^" + re.escape(THREAD_PREFIX) + _TOKEN + "@", re.IGNORECASE)


@dataclass(frozen=True)
class CaseKind:
    name: str  # "complaint"
    letter: str  # one lower-case letter in tokens: "c"
    event_prefix: str  # the notification events about such a case: "complaint."
    context_key: str  # where the notification's context keeps the case's id: "complaint_id"


_kinds: dict[str, CaseKind] = {}


def register_case_kind(*, name: str, letter: str, event_prefix: str, context_key: str) -> None:
    """Called by a domain app (at import of its inbound module): e-mails of `event_prefix`
    to the case's customer carry its reply address, and replies name `name` cases."""
    if not re.fullmatch(r"[a-z]", letter):
        raise ValueError("A case kind's letter is one lower-case letter.")
    taken = _kinds.get(letter)
    if taken is not None and taken.name != name:
        raise ValueError(f"The letter {letter!r} already names {taken.name} cases.")
    _kinds[letter] = CaseKind(name, letter, event_prefix, context_key)


def case_kinds() -> tuple[CaseKind, ...]:
    return tuple(_kinds.values())


def _kind_named(name: str) -> CaseKind:
    for kind in _kinds.values():
        if kind.name == name:
            return kind
    raise LookupError(f"No case kind {name!r} is registered.")


# --- tokens ---------------------------------------------------------------------------------


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def _mac(body: str, secret: str) -> str:
    digest = salted_hmac(TOKEN_SALT, body, secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:MAC_LENGTH]


def case_token(*, tenant_id: int, kind: str, case_id: int) -> str:
    """The token naming case `case_id` of kind `kind` (a registered name) of the tenant."""
    body = f"{_kind_named(kind).letter}{_base36(tenant_id)}-{_base36(case_id)}"
    return f"{body}-{_mac(body, settings.SECRET_KEY)}"


def _verified(letter: str, tenant: str, case: str, mac: str) -> CaseReference | None:
    """The case a token's parts name, if its HMAC is right and its kind registered."""
    letter, tenant, case, mac = letter.lower(), tenant.lower(), case.lower(), mac.lower()
    body = f"{letter}{tenant}-{case}"
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(_mac(body, secret), mac) for secret in secrets):
        return None
    kind = _kinds.get(letter)
    if kind is None:
        return None
    return CaseReference(kind.name, int(tenant, 36), int(case, 36), via="")


def reply_address(mailbox_address: str, token: str) -> str:
    """support@example.com → support+c-<token>@example.com"""
    local, _at, domain = mailbox_address.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{PLUS_PREFIX}{token}@{domain}"


def thread_message_id(token: str) -> str:
    """The Message-ID every e-mail about the case refers to (In-Reply-To, References)."""
    from rma_portal.notifications.services import message_id_domain

    return f"<{THREAD_PREFIX}{token}@{message_id_domain()}>"


@dataclass(frozen=True)
class Found:
    case: CaseReference | None = None
    # A recipient address carried something shaped like a token that is not one of ours.
    forged_address: str = ""


def find_case(mail: InboundMail) -> Found:
    """The case the message answers: by a token in an address it was sent to, else by one
    in its In-Reply-To or References."""
    forged = ""
    for address in mail.recipients:
        match = _IN_ADDRESS.search(address)
        if match:
            case = _verified(*match.groups())
            if case is not None:
                return Found(CaseReference(case.kind, case.tenant_id, case.case_id, "address"))
        if not forged and _LOOKS_LIKE_TOKEN.search(address):
            forged = address
    for identifier in mail.references:
        match = _IN_THREAD.match(identifier)
        if match:
            case = _verified(*match.groups())
            if case is not None:
                return Found(
                    CaseReference(case.kind, case.tenant_id, case.case_id, "references"),
                    forged,
                )
    return Found(None, forged)


# --- outgoing e-mails -----------------------------------------------------------------------


def reply_mailbox(tenant):
    """The mailbox that receives the replies to the tenant's e-mails: the active one chosen
    for it, else the first active one; None when the tenant has none."""
    from .models import Mailbox

    mailboxes = Mailbox.objects.for_tenant(tenant).filter(is_active=True)
    return mailboxes.order_by("-reply_address", "pk").first()


def _kind_of_event(event: str) -> CaseKind | None:
    for kind in _kinds.values():
        if event.startswith(kind.event_prefix):
            return kind
    return None


def addressing(row):
    """The sender, reply address and thread of a notification e-mail (registered with
    rma_portal.notifications.addressing); None leaves the platform's defaults."""
    from rma_portal.notifications.addressing import Addressing

    tenant = row.tenant
    mailbox = reply_mailbox(tenant)
    if mailbox is None:
        return None
    result = Addressing()
    if mailbox.send_as:
        result.from_email = formataddr((display_name(tenant.name), mailbox.address))
    recipient = row.recipient
    if recipient is None or not recipient.is_customer:
        # Staff e-mails (assignments, SLA notices) carry no case token: a reply to one must
        # never become a public answer to the customer.
        result.reply_to = []
        return result
    kind = _kind_of_event(row.event)
    case_id = (row.context or {}).get(kind.context_key) if kind else None
    if kind is None or not isinstance(case_id, int) or isinstance(case_id, bool):
        result.reply_to = [mailbox.address]
        return result
    token = case_token(tenant_id=tenant.pk, kind=kind.name, case_id=case_id)
    thread = thread_message_id(token)
    result.reply_to = [reply_address(mailbox.address, token)]
    result.headers = {"In-Reply-To": thread, "References": thread}
    result.reply_by_email = True
    return result


def display_name(name: str) -> str:
    """A tenant's name as a display name: one line, no control characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())[:100]
