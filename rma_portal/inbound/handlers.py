"""What happens to a stored message: the handlers the domain apps register.

A handler is a callable taking the `InboundMessage` (locked, status `new`) and answering:

- `None`: not mine; the next handler is asked;
- `Handled(...)`: taken, with the status it leaves the message in: `processed` (the default),
  `ignored` (e.g. an auto-reply) or `held` (a person should look at it), and a reason.

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
