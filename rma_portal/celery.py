"""The Celery application, configured from Django settings (CELERY_ namespace), with one
structured log line per task (tenant, task, id, outcome, duration)."""

from __future__ import annotations

import logging
import logging.config
import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rma_portal.settings")

app = Celery("rma_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["rma_portal.notifications"])
# Returns' housekeeping lives beside returns/tasks.py (the label tasks), in maintenance_tasks.
app.autodiscover_tasks(related_name="maintenance_tasks")

logger = logging.getLogger("rma_portal.tasks")
_started: dict[str, float] = {}


@signals.setup_logging.connect
def _use_django_logging(**_kwargs) -> None:
    """Workers and beat log through Django's LOGGING (key=value lines on stderr).

    Without a receiver here Celery replaces the root logger's handlers with its own plain
    format, which drops the `extra` fields (tenant, task, outcome, …) of every line.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


def _tenant_of(args, kwargs) -> str:
    if "tenant_id" in (kwargs or {}):
        return str(kwargs["tenant_id"])
    return str(args[-1]) if args else ""


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, args=None, kwargs=None, **_extra) -> None:
    _started[task_id] = time.monotonic()


def task_outcome(state: str | None, retval) -> str:
    """What a finished task's log line reports: a string the task returned (e.g. "sent",
    "busy"), else its Celery state."""
    if state == "SUCCESS" and isinstance(retval, str):
        return retval
    return state or ""


@signals.task_postrun.connect
def _task_finished(
    task_id=None, task=None, args=None, kwargs=None, retval=None, state=None, **_extra
) -> None:
    started = _started.pop(task_id, None)
    logger.info(
        "task finished",
        extra={
            "task": task.name if task else "",
            "task_id": task_id,
            "tenant": _tenant_of(args, kwargs),
            "outcome": task_outcome(state, retval),
            "duration_ms": round((time.monotonic() - started) * 1000) if started else "",
        },
    )
