"""Settings of the Celery worker subprocess started by the worker tests: the project's own
settings (read from the environment the test passes), plus what only these tests need.

- the test e-mail templates (`emails/test.ping/`) in TEMPLATES DIRS;
- the slow file e-mail backend from `worker_support` when RMA_TEST_MAIL_DELAY is set, so a
  test can kill the worker while it is inside the send;
- the probe task from `worker_support`;
- the test's broker key prefix, and a short Redis visibility timeout checked every
  second, so an unacknowledged message of a killed worker is redelivered within seconds
  (production keeps the default hour).
"""

import os
from pathlib import Path

from rma_portal.settings import *  # noqa: F403
from rma_portal.settings import TEMPLATES

TEMPLATES = [
    {**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]}
]

if os.environ.get("RMA_TEST_MAIL_DELAY"):
    EMAIL_BACKEND = "tests.notifications.worker_support.SlowFileBackend"

CELERY_IMPORTS = ["tests.notifications.worker_support"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # The test's own broker keys (see conftest.py): parallel runs never share messages.
    "global_keyprefix": os.environ.get("RMA_TEST_BROKER_PREFIX", ""),
    "visibility_timeout": int(os.environ.get("RMA_TEST_VISIBILITY_TIMEOUT", "5")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
