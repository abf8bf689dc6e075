"""The real-worker fixture hands the process back as it found it: tasks run eagerly again in
every later test, even in a process where nothing had set Celery's eager flag explicitly
(Celery then reads it from Django's settings, which the fixture changes for its test).

The two tests run in this order, in one process."""

from __future__ import annotations

import pytest

from rma_portal.celery import app as celery_app


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_test_with_the_worker_environment(request):
    # As in a fresh process: no explicit eager flag, Celery reads Django's setting.
    if "task_always_eager" in celery_app.conf.changes:
        del celery_app.conf.changes["task_always_eager"]
    assert celery_app.conf.task_always_eager is True

    request.getfixturevalue("worker_env")

    assert celery_app.conf.task_always_eager is False


def test_the_next_test_runs_tasks_eagerly_again():
    assert celery_app.conf.task_always_eager is True
