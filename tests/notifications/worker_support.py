"""Code the worker subprocess of the worker tests loads (see `worker_settings`).

The worker reports what happens to it as events on a Redis list the test reads with a
blocking pop (`conftest.WorkerEnv.wait`): `ready` when it consumes, `finished` after each
task (with the outcome it logs), `sending` when the gated e-mail backend is inside a send,
`sent-to-server` when it has written the mail and is held after it, and `holding` when a task
has finished and is held before its message is acknowledged. A test therefore waits for what
happened, never for an amount of time.

Where a worker is held (each point blocks until the test pushes a token to its gate list, or
for ever, until the test kills the worker):

- RMA_TEST_MAIL_GATE_AT=before (the default, with RMA_TEST_MAIL_GATE_KEY): inside the send,
  before the mail is written: the delivery's lease is committed, nothing is sent yet;
- RMA_TEST_MAIL_GATE_AT=after: right after the mail was written (the server accepted it),
  before the delivery commits `sent`;
- RMA_TEST_HOLD_AFTER_TASK=<task name> (with RMA_TEST_HOLD_GATE_KEY): after that task has
  returned (its `finished` event is out, its result committed), before the worker
  acknowledges its message (late acknowledgement happens after `task_postrun`).
"""

from __future__ import annotations

import json
import os

import redis
from celery import shared_task, signals
from django.core.mail.backends.filebased import EmailBackend

from rma_portal.celery import task_outcome
from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import TenantNotSetError, current_scope

WORKER_NAME = os.environ.get("RMA_TEST_WORKER_NAME", "")
EVENTS_KEY = os.environ.get("RMA_TEST_EVENTS_KEY", "")
GATE_KEY = os.environ.get("RMA_TEST_MAIL_GATE_KEY", "")
GATE_AT = os.environ.get("RMA_TEST_MAIL_GATE_AT", "before")
HOLD_AFTER_TASK = os.environ.get("RMA_TEST_HOLD_AFTER_TASK", "")
HOLD_GATE_KEY = os.environ.get("RMA_TEST_HOLD_GATE_KEY", "")
if GATE_AT not in {"before", "after"}:
    raise ValueError(f"RMA_TEST_MAIL_GATE_AT={GATE_AT!r}: use before or after")

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client  # one connection per worker process
    if _client is None:
        _client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _client


def report(kind: str, **fields) -> None:
    if EVENTS_KEY:
        _redis().rpush(EVENTS_KEY, json.dumps({"kind": kind, "worker": WORKER_NAME, **fields}))


@signals.worker_ready.connect
def _ready(**_kwargs) -> None:
    report("ready")


@signals.task_postrun.connect
def _finished(task_id=None, task=None, retval=None, state=None, **_kwargs) -> None:
    report(
        "finished",
        task=task.name if task else "",
        task_id=task_id,
        outcome=task_outcome(state, retval),
    )


@signals.task_postrun.connect
def _hold_before_the_acknowledgement(task_id=None, task=None, **_kwargs) -> None:
    """Connected after `_finished`: the task's `finished` event is out when this blocks."""
    if HOLD_AFTER_TASK and task is not None and task.name == HOLD_AFTER_TASK:
        report("holding", task=task.name, task_id=task_id)
        _redis().blpop([HOLD_GATE_KEY], timeout=0)  # no timeout: the test decides


class GatedFileBackend(EmailBackend):
    """The file backend, held at one point of each send until the test pushes a token to the
    gate list (RMA_TEST_MAIL_GATE_AT):

    - `before`: report `sending` (the notifications' keys and Message-IDs), block, then write;
    - `after`: report `sending`, write the mail (flushed: it survives a SIGKILL, as a mail the
      SMTP server accepted would), report `sent-to-server`, then block.

    A test that never opens the gate holds the worker there for as long as it likes (to kill
    it there, or to let another worker find the row taken)."""

    def send_messages(self, email_messages):
        headers = {
            "keys": [m.extra_headers.get("X-RMA-Notification", "") for m in email_messages],
            "message_ids": [m.extra_headers.get("Message-ID", "") for m in email_messages],
        }
        report("sending", **headers)
        if GATE_AT == "before":
            _redis().blpop([GATE_KEY], timeout=0)  # no timeout: the test decides
            return super().send_messages(email_messages)
        sent = super().send_messages(email_messages)
        report("sent-to-server", **headers)
        _redis().blpop([GATE_KEY], timeout=0)
        return sent


@shared_task(name="tests.probe_tenant_scope")
def probe_tenant_scope() -> str:
    """A task that sets no tenant and reads a scoped manager: it must fail closed."""
    scope = current_scope()
    try:
        count = Notification.objects.count()
    except TenantNotSetError:
        return "fail-closed" if scope is None else f"scope-leaked:{scope!r}"
    return f"read-{count}-rows-as:{scope!r}"
