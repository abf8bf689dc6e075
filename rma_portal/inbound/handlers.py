"""What happens to a stored message: the handlers the domain apps register.

A handler is a callable taking the `InboundMessage` (locked, status `new`) and answering:

- `None`: not mine; the next handler is asked;
- `Handled(...)`: taken, with the status it leaves the message in: `processed` (the default),
  `ignored` (e.g. an auto-reply) or `held` (a person should look at it), a reason, and the
  case it made or continued.

Before any handler, the processing reads the message (`message.mail`,
rma_portal/inbound/parsing.py) and settles what never reaches one: malformed messages are
held, automatic ones (auto-replies, bounces) ignored, and those naming a case of another
tenant refused (services.classify). `message.mail.case` is then the case the message answers,
its token checked and of the message's tenant, or None for new mail; `message.matched_user`
the customer user staff matched a held message to.

Handlers are asked in the order they were registered, each in a savepoint of the one
transaction that also records the outcome: what a handler wrote and the message's new status
commit together, so a crash never leaves a case made for a message still marked `new`. A
handler that raises has its writes rolled back and leaves the message `held`, with the
error as the reason; it is never lost and can be processed again from the back-office.

With no handler registered a message stays `new` (and is processed once one is); when
handlers are registered but none takes it, it is `ignored`.

Register from an app's `AppConfig.ready()`:

    from rma_portal.inbound.handlers import register_handler
    register_handler(complaint_from_message)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import MessageStatus

if TYPE_CHECKING:
    from .models import InboundMessage


@dataclass(frozen=True)
class Handled:
    status: str = MessageStatus.PROCESSED
    reason: str = ""
    # The case the message filed or continued, kept on the message (its back-office page
    # names it): the kind a domain app registered, the case's id and its number.
    case_kind: str = ""
    case_id: int | None = None
    case_label: str = ""

    def __post_init__(self) -> None:
        allowed = {MessageStatus.PROCESSED, MessageStatus.IGNORED, MessageStatus.HELD}
        if self.status not in allowed:
            raise ValueError(
                f"A handler leaves a message processed, ignored or held, not {self.status!r}."
            )


Handler = Callable[["InboundMessage"], Handled | None]

_handlers: list[Handler] = []


def register_handler(handler: Handler) -> Handler:
    """Add `handler` (once; registering it again changes nothing). Returns it, so it also
    works as a decorator."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unregister_handler(handler: Handler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def registered_handlers() -> tuple[Handler, ...]:
    return tuple(_handlers)


def handler_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", "") or ""
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}.{name}" if module else name


def sender_user(message: InboundMessage):
    """The user who sent the message: the one staff matched it to, else the active user of
    the message's tenant whose e-mail address is its From address; None for a stranger.

    The From address is what the sender's mail program wrote: the receiving server's SPF,
    DKIM and DMARC checks are what vouch for it (a failed DMARC check holds the message
    before any handler). A reply's token adds that the sender got the case's e-mail."""
    from rma_portal.accounts.models import User

    if message.matched_user_id is not None:
        user = User.objects.filter(pk=message.matched_user_id, is_active=True).first()
        return user if user is not None and user.tenant_id == message.tenant_id else None
    address = message.mail.sender
    if not address:
        return None
    return User.objects.filter(email=address, tenant_id=message.tenant_id, is_active=True).first()
