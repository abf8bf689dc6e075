"""Who an e-mail is from, where replies go, and the headers of its thread.

The platform's defaults: From is DEFAULT_FROM_EMAIL's address with the tenant's name as the
display name ("Alpha Tools <no-reply@rma-portal.example>"); Reply-To is the tenant's
support e-mail for e-mails to customers, when it has one. Every e-mail says it was sent by a
program (`Auto-Submitted: auto-generated`, RFC 3834, and Exchange's
`X-Auto-Response-Suppress`), so that out-of-office answers are not sent back to it, and
answers that still come carry `Auto-Submitted` and are ignored by the inbound mail.

Another platform app refines them by registering a provider (rma_portal.inbound: the
tenant's support mailbox as sender, and a reply address and thread per case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from django.conf import settings

AUTOMATIC_HEADERS = {
    "Auto-Submitted": "auto-generated",
    "X-Auto-Response-Suppress": "OOF, AutoReply",
}


@dataclass
class Addressing:
    from_email: str | None = None  # None: the platform's default
    reply_to: list[str] | None = None  # None: the default; []: no Reply-To
    headers: dict[str, str] = field(default_factory=dict)
    # Replying to the e-mail adds the answer to its case: the templates say so.
    reply_by_email: bool = False


_providers: list[Callable] = []


def register_addressing(provider: Callable) -> None:
    """`provider(notification)` answers an Addressing (its set fields win) or None."""
    if provider not in _providers:
        _providers.append(provider)


def _tenant_name(tenant) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in tenant.name).split())[:100]


def default_addressing(row) -> Addressing:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or settings.DEFAULT_FROM_EMAIL
    recipient = row.recipient
    support = row.tenant.support_email
    return Addressing(
        from_email=formataddr((_tenant_name(row.tenant), address)),
        reply_to=[support] if support and recipient is not None and recipient.is_customer else [],
    )


def addressing_for(row) -> Addressing:
    """The From, Reply-To and extra headers of the notification's e-mail."""
    result = default_addressing(row)
    for provider in _providers:
        found = provider(row)
        if found is None:
            continue
        if found.from_email is not None:
            result.from_email = found.from_email
        if found.reply_to is not None:
            result.reply_to = list(found.reply_to)
        result.headers.update(found.headers)
        result.reply_by_email = result.reply_by_email or found.reply_by_email
    result.headers = {**AUTOMATIC_HEADERS, **result.headers}
    return result
