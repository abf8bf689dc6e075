"""Code the worker subprocess of the worker tests loads (see `worker_settings`).

The worker reports what happens to it as events on a Redis list the test reads with a
blocking pop (`conftest.WorkerEnv.wait`): `ready` when it consumes, `finished` after each
task (with the outcome it logs), `sending` when the gated e-mail backend is inside a send.
A test therefore waits for what happened, never for an amount of time.
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


class GatedFileBackend(EmailBackend):
    """The file backend, but each send first reports `sending` (with the notifications'
    keys) and then blocks until the test pushes a token to the gate list. A test that never
    opens the gate holds the worker inside the send for as long as it likes (to kill it
    there, or to let another worker find the row locked)."""

    def send_messages(self, email_messages):
        keys = [m.extra_headers.get("X-RMA-Notification", "") for m in email_messages]
        report("sending", keys=keys)
        _redis().blpop([GATE_KEY], timeout=0)  # no timeout: the test decides
        return super().send_messages(email_messages)


@shared_task(name="tests.probe_tenant_scope")
def probe_tenant_scope() -> str:
    """A task that sets no tenant and reads a scoped manager: it must fail closed."""
    scope = current_scope()
    try:
        count = Notification.objects.count()
    except TenantNotSetError:
        return "fail-closed" if scope is None else f"scope-leaked:{scope!r}"
    return f"read-{count}-rows-as:{scope!r}"
