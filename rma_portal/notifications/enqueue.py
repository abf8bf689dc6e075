"""Handing a task to the broker from a request (or any code that must not wait for Redis): one
attempt, bounded by the broker's timeouts, that never raises.

What was committed stays committed whatever the broker does, so a failed enqueue must cost the
request neither an error nor a long wait. Each caller has its safety net and names it in the
warning it logs: the outbox sweep (`notifications.sweep_outbox_task`, every minute) sends rows
left pending; a return label is rendered on its first download.

- One connection attempt, no publish retries. Kombu would otherwise retry the connection with
  sleeps (up to `broker_connection_timeout`) and Celery would retry the publish three times.
- Each attempt waits at most the broker's connect and socket timeouts (REDIS_CONNECT_TIMEOUT,
  REDIS_SOCKET_TIMEOUT in settings, passed to Redis in CELERY_BROKER_TRANSPORT_OPTIONS).
- Once the broker failed one task of a transaction, the other tasks queued by the same
  transaction do not try again: a transition that queues an e-mail and several webhook calls
  waits for one timeout, not one per row.
- With eager tasks (embedded mode, most tests) the task runs here, in-process; its failure is
  logged the same way and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from django.db import transaction

logger = logging.getLogger(__name__)

# Set on a database connection: the enqueues registered by its current transaction.
_BATCH_ATTRIBUTE = "_rma_enqueue_batch"


class _Batch:
    """The enqueues one transaction registered, and whether the broker failed one of them."""

    __slots__ = ("broker_failed", "hooks")

    def __init__(self, hooks: list) -> None:
        # The connection's list of on-commit hooks when this transaction registered its first
        # enqueue; Django starts a new list after each commit or rollback.
        self.hooks = hooks
        self.broker_failed = False


def _batch(using: str | None) -> _Batch | None:
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None  # autocommit: on_commit runs the enqueue at once, alone
    batch = getattr(connection, _BATCH_ATTRIBUTE, None)
    if batch is None or batch.hooks is not connection.run_on_commit:
        batch = _Batch(connection.run_on_commit)
        setattr(connection, _BATCH_ATTRIBUTE, batch)
    return batch


def _send(task, args: list, what: str, extra: Mapping | None, batch: _Batch | None) -> bool:
    fields = {"task": task.name, **(extra or {})}
    if batch is not None and batch.broker_failed:
        logger.warning(what, extra={**fields, "reason": "the broker failed earlier in this commit"})
        return False
    app = task.app
    eager = app.conf.task_always_eager
    try:
        if eager:
            task.apply_async(args=args)
        else:
            with app.producer_or_acquire() as producer:
                # One attempt to connect (a pooled connection that is up is reused as is).
                producer.connection.ensure_connection(max_retries=0)
                task.apply_async(args=args, producer=producer, retry=False)
    except Exception:  # broker down or hung (or, when eager, the task failed): logged only
        if batch is not None and not eager:
            batch.broker_failed = True
        logger.warning(what, extra=fields, exc_info=True)
        return False
    return True


def enqueue_now(task, *, args: Sequence, what: str, extra: Mapping | None = None) -> bool:
    """Send `task` with `args` to the broker now, in one bounded attempt; never raises.

    `what` is the warning logged when the broker does not take the task; say what happens
    instead (e.g. "outbox enqueue failed; the sweeper will retry"). `extra` adds log fields.
    Returns whether the broker took the task (with eager tasks: whether it ran without error).
    """
    return _send(task, list(args), what, extra, None)


def enqueue_after_commit(
    task,
    *,
    args: Sequence,
    what: str,
    extra: Mapping | None = None,
    using: str | None = None,
) -> None:
    """After the caller's transaction commits, `enqueue_now(task, args=…, what=…)`.

    A rolled-back transaction enqueues nothing. Outside a transaction it enqueues at once.
    """
    batch = _batch(using)
    arguments = list(args)

    def enqueue_committed() -> None:
        _send(task, arguments, what, extra, batch)

    transaction.on_commit(enqueue_committed, using=using, robust=True)
