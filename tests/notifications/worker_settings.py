"""Settings of the Celery worker subprocess started by the worker tests: the project's own
settings (read from the environment the test passes), plus what only these tests need.

- the test e-mail templates (`emails/test.ping/`) in TEMPLATES DIRS;
- the gated file e-mail backend from `worker_support` when RMA_TEST_MAIL_GATE_KEY is set,
  so a test can hold the worker inside a send, before the mail is written or right after it
  (RMA_TEST_MAIL_GATE_AT), to kill it there or to contend for a row;
- the probe task, the event reports and the hold before a task's acknowledgement
  (RMA_TEST_HOLD_AFTER_TASK) from `worker_support`;
- the test's broker key prefix. The Redis visibility timeout stays the production default
  (3 hours): a test that needs an unacknowledged message handed out again ages the message
  itself instead of waiting for a short timeout a loaded machine may not honour.
"""

import os
from pathlib import Path

from rma_portal.settings import *  # noqa: F403
from rma_portal.settings import CELERY_BROKER_TRANSPORT_OPTIONS, TEMPLATES

TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]}
]

if os.environ.get("RMA_TEST_MAIL_GATE_KEY"):
    EMAIL_BACKEND = "tests.notifications.worker_support.GatedFileBackend"

CELERY_IMPORTS = ["tests.notifications.worker_support"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # The test's own broker keys (see conftest.py): parallel runs never share messages.
    "global_keyprefix": os.environ.get("RMA_TEST_BROKER_PREFIX", ""),
}
