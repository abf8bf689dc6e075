"""Work the outbox sweep recovers besides its own rows: a domain app registers a function that
hands its lost after-commit work (a return label whose enqueue or worker was lost) to a
worker again, from its AppConfig.ready(). The platform never imports the domain apps."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

Sweeper = Callable[..., int]  # (*, now) -> how many items it handed out again
_sweepers: dict[str, Sweeper] = {}


def register_sweeper(name: str, sweeper: Sweeper) -> None:
    """Run `sweeper(now=...)` at every outbox sweep; registering a name again replaces it."""
    _sweepers[name] = sweeper


def run_sweepers(*, now: datetime.datetime) -> int:
    """Every registered sweeper once; one failing sweeper never stops the others."""
    handed_out = 0
    for name, sweeper in _sweepers.items():
        try:
            handed_out += sweeper(now=now)
        except Exception:
            logger.exception("outbox sweeper failed", extra={"sweeper": name})
    return handed_out
